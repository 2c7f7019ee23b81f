"""The migration record: the page and its PDF hold the migration's facts (checked against its data,
the PDF's text read back with pypdf), who may read them, and the queries they take."""

import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from pypdf import PdfReader

from migrations_app import record, record_pdf
from migrations_app.checklist_templates import guide_file as loader
from migrations_app.checklist_templates import publishing, upgrades
from migrations_app.models import ItemStatus, Milestone, PracticeMigration
from tests.factories import MILESTONE_DATES
from tests.pages import text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

LONDON = ZoneInfo("Europe/London")
TASK_KEY = "agree-go-live-date"
GATE_KEY = "technical-requirements-signed-off"
OVERRIDE = "Agreed at the project board – Llŷr’s call"
NOTE = "Rang the new supplier about the extract"
# The view's queries: the session, the user, the person's standing (with their roles), the
# migration, then the record's own (record.RECORD_QUERIES).
PAGE_QUERIES = 4 + record.RECORD_QUERIES


def page_url(migration: PracticeMigration) -> str:
    return reverse("migrations:migration_record", kwargs={"pk": migration.pk})


def pdf_url(migration: PracticeMigration) -> str:
    return reverse("migrations:migration_record_pdf", kwargs={"pk": migration.pk})


def squashed(value: str) -> str:
    """Without white space: the PDF wraps text in its table cells wherever the width says."""
    return re.sub(r"\s+", "", value)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def page_and_pdf(client, migration: PracticeMigration) -> tuple[str, str]:
    """The page's text as a person reads it at full width (without the headings its tables repeat in
    each cell on small screens) and the PDF's, both squashed: a table row reads the same in both."""
    page = client.get(page_url(migration))
    assert page.status_code == 200
    pdf = client.get(pdf_url(migration))
    assert pdf.status_code == 200
    markup = re.sub(r'<span class="nhsuk-table-responsive__heading"[^>]*>[^<]*</span>', "", page.content.decode())
    return squashed(text(markup)), squashed(pdf_text(pdf.content))


def day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def at(on: date, hour: int, minute: int) -> datetime:
    return datetime(on.year, on.month, on.day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def sian(practice_manager):
    practice_manager.full_name = "Siân O'Brien"
    practice_manager.save()
    return practice_manager


def test_the_page_and_the_pdf_hold_every_fact_of_the_migration(client, migration, sian, clinical_lead):
    migration.items.get(key=TASK_KEY).complete(sian)
    migration.items.get(key=TASK_KEY).set_note(sian, NOTE)
    client.force_login(clinical_lead)

    page, pdf = page_and_pdf(client, migration)

    practice = migration.practice
    facts = [
        practice.name,
        practice.ods_code,
        practice.icb.name,
        migration.source_supplier.system_name,
        migration.target_supplier.system_name,
        "Migrationrecord(sofar)",
        "Inprogress",
        str(migration.template_version),
    ]
    for milestone in Milestone:
        facts.append(milestone.label + day(MILESTONE_DATES[milestone.field_name]) * 2 + "0")
    items = list(migration.items.order_by("phase__position", "position"))
    for phase_title in {item.phase.title for item in items}:
        facts.append(phase_title)
    for item in items:
        facts.append(item.title + item.get_status_display())
        if item.reason:
            facts.append(item.reason)
    facts += [f"Note:{NOTE}", "Siân O'Brien", "Migrationcreated1", "Statuschanged1", "Notechanged1"]
    for fact in facts:
        assert squashed(fact) in page, fact
        assert squashed(fact) in pdf, fact
    assert len(items) > 100


def test_an_item_closed_by_someone_shows_who_and_when(client, migration, sian, clinical_lead, time_machine):
    time_machine.move_to(at(date(2025, 4, 11), 14, 5), tick=False)
    item = migration.items.get(key=TASK_KEY)
    item.complete(sian)
    client.force_login(clinical_lead)

    page, pdf = page_and_pdf(client, migration)

    row = squashed(f"{item.title} Done Siân O'Brien 11 April 2025, 14:05")
    assert row in page
    assert row in pdf


def test_an_item_marked_not_applicable_shows_who_when_and_why(client, migration, sian, clinical_lead):
    item = migration.items.get(key=TASK_KEY)
    item.mark_not_applicable(sian, "The practice has no branch surgery")
    client.force_login(clinical_lead)

    page, pdf = page_and_pdf(client, migration)

    row = squashed(f"{item.title} Not applicable Siân O'Brien 10 April 2025, 09:30 Reason: The practice has no branch")
    assert row in page
    assert row in pdf


def test_a_gate_signed_with_an_override_shows_the_signer_and_the_reason(client, migration, sian, clinical_lead):
    gate = migration.items.get(key=GATE_KEY)
    gate.sign_off(sian, override_reason=OVERRIDE)
    client.force_login(clinical_lead)

    page, pdf = page_and_pdf(client, migration)

    for content in (page, pdf):
        # In the gates' table, and in its phase's.
        assert squashed(f"{gate.title} Signed off Siân O'Brien 10 April 2025, 09:30 {OVERRIDE}") in content
        assert squashed(f"Siân O'Brien 10 April 2025, 09:30 Override reason: {OVERRIDE}") in content


def test_a_replanned_milestone_shows_its_first_planned_and_final_dates(client, migration, sian, clinical_lead):
    first = MILESTONE_DATES["go_live_on"]
    migration.change_milestones({"go_live": date(2025, 6, 16)}, by=sian, reason="Supplier moved it")
    migration.change_milestones({"go_live": date(2025, 6, 23)}, by=sian, reason="And again")
    client.force_login(clinical_lead)

    page, pdf = page_and_pdf(client, migration)

    for content in (page, pdf):
        assert squashed(f"Go-live {day(first)} 23 June 2025 2") in content
        assert squashed(f"Final data production (FDP) {day(MILESTONE_DATES['fdp_on'])}") in content
        assert squashed("Milestone changed 2") in content
        # Each change of date, with who, when, from, to and why.
        assert squashed(f"Siân O'Brien Go-live {day(first)} 16 June 2025 Supplier moved it") in content
        assert squashed("Siân O'Brien Go-live 16 June 2025 23 June 2025 And again") in content


def test_a_change_of_date_without_a_reason_says_so(client, migration, sian):
    migration.change_milestones({"go_live": date(2025, 6, 16)}, by=sian)
    client.force_login(sian)

    page, pdf = page_and_pdf(client, migration)

    for content in (page, pdf):
        assert (
            squashed(f"Siân O'Brien Go-live {day(MILESTONE_DATES['go_live_on'])} 16 June 2025 No reason given")
            in content
        )


def test_a_record_with_no_change_of_date_says_so(client, migration, sian):
    client.force_login(sian)

    page, pdf = page_and_pdf(client, migration)
    detail = client.get(f"/migrations/{migration.pk}/").content.decode()

    for content in (page, pdf):
        assert squashed("No milestone's date has changed since the migration was started.") in content
    assert f'href="/migrations/{migration.pk}/record/#milestone-changes"' in detail
    assert "How the dates changed, by whom and why" in detail


def test_a_cancelled_migration_has_its_final_record_with_the_reason(client, migration, delivery_partner_user, sian):
    migration.cancel(delivery_partner_user, "The practice merged with its neighbour")
    client.force_login(sian)

    page, pdf = page_and_pdf(client, migration)

    for content in (page, pdf):
        assert "Migrationrecord(sofar)" not in content
        assert content.count(squashed("The practice merged with its neighbour")) == 2  # the summary, the change
        assert squashed("Status Cancelled Reason The practice merged with its neighbour") in content
        assert squashed(f"{delivery_partner_user} In progress Cancelled The practice merged with its") in content


def test_an_upgrade_shows_from_and_to_which_version(client, migration, delivery_partner_user, sian):
    data = loader.export(migration.template_version)
    data["phases"][0]["items"][0]["title"] += " (revised)"
    version = loader.create_draft(data)
    publishing.publish(version, "Revised wording")
    old = str(migration.template_version)
    upgrades.apply([migration], version, delivery_partner_user)
    client.force_login(sian)

    page, pdf = page_and_pdf(client, migration)

    for content in (page, pdf):
        assert squashed(f"{old}") in content
        assert squashed(f"{version}") in content
        assert squashed(f"From {old} to {version}: 0 items added, 1 item changed") in content
        assert squashed("Checklist upgraded") in content
        assert squashed("No checklist upgrades were applied.") not in content


def test_the_pdf_is_an_attachment_named_for_the_practice_and_day_and_never_cached(client, migration, sian):
    client.force_login(sian)

    response = client.get(pdf_url(migration))

    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="migration-record-H85001-2025-04-10.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    reader = PdfReader(io.BytesIO(response.content))
    assert reader.metadata.title == "Migration record (so far): Riverside Medical Centre (H85001)"
    assert "Page 1 of" in reader.pages[0].extract_text()


def test_an_unchanged_record_is_drawn_once_and_a_change_draws_it_again(client, migration, sian, monkeypatch):
    drawn = []
    draw = record_pdf.RecordPDF.draw
    monkeypatch.setattr(record_pdf.RecordPDF, "draw", lambda self: drawn.append(1) or draw(self))
    client.force_login(sian)

    first = client.get(pdf_url(migration)).content
    again = client.get(pdf_url(migration)).content
    task = migration.items.filter(status=ItemStatus.TO_DO).order_by("pk").first()
    task.set_note(sian, "Rang the supplier about the extract")
    changed = client.get(pdf_url(migration)).content

    assert again == first
    assert len(drawn) == 2
    assert squashed("Rang the supplier about the extract") not in squashed(pdf_text(first))
    assert squashed("Rang the supplier about the extract") in squashed(pdf_text(changed))


def test_someone_who_cannot_read_the_migration_gets_404_for_both(client, migration, other_migration, sian, outsider):
    client.force_login(outsider)
    assert client.get(page_url(migration)).status_code == 404
    assert client.get(pdf_url(migration)).status_code == 404
    client.force_login(sian)
    assert client.get(page_url(other_migration)).status_code == 404
    assert client.get(pdf_url(other_migration)).status_code == 404


def test_a_viewer_who_changes_nothing_may_read_it(client, migration, national_viewer):
    client.force_login(national_viewer)

    assert client.get(page_url(migration)).status_code == 200
    assert client.get(pdf_url(migration)).status_code == 200


def test_the_record_is_not_a_form(client, migration, sian):
    client.force_login(sian)

    assert client.post(page_url(migration)).status_code == 405
    assert client.post(pdf_url(migration)).status_code == 405


@pytest.mark.parametrize("changes", [0, 30])
def test_the_record_takes_the_same_queries_whatever_the_size_of_the_log(
    changes, client, migration, sian, django_assert_num_queries
):
    items = list(migration.items.filter(status=ItemStatus.TO_DO).order_by("pk")[:changes])
    for item in items:
        item.complete(sian)
        item.set_note(sian, NOTE)
    client.force_login(sian)
    client.get(page_url(migration))  # the session's first request records the sign-in time

    with django_assert_num_queries(record.RECORD_QUERIES):
        built = record.build(migration)
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(page_url(migration))

    assert response.status_code == 200
    assert built.items_done == changes
    assert built.event_total == 1 + 2 * changes


def test_the_migration_page_links_the_record_prominently_once_finished(client, migration, sian, delivery_partner_user):
    client.force_login(sian)
    detail = reverse("migrations:migration_detail", kwargs={"pk": migration.pk})

    under_way = client.get(detail).content.decode()
    migration.cancel(delivery_partner_user, "The practice merged with its neighbour")
    finished = client.get(detail).content.decode()

    assert f'href="{page_url(migration)}">Migration record (so far)</a>' in under_way
    assert "nhsuk-action-link" in finished and page_url(migration) in finished
