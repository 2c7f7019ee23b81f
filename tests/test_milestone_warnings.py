"""Milestone dates that are allowed but worth a second look (scheduling.milestone_warnings): a date
on a weekend or a bank holiday, a cutover planning meeting less than four weeks before FDP, go-live
on the day of FDP. Each is shown where dates are typed or read (the milestones and resume previews,
the migration page, the start form, the import preview) and none ever stops a save."""

import csv
import io
import re
from datetime import date

import pytest
from django.urls import reverse

from migrations_app import access
from migrations_app.models import MigrationImport, Milestone, PracticeMigration
from migrations_app.portfolio import importing
from migrations_app.portfolio.importing import RowKind
from migrations_app.portfolio.tracker_file import TrackerFile
from migrations_app.scheduling import MilestoneWarning, milestone_warnings
from tests.factories import MILESTONE_DATES, PracticeFactory
from tests.pages import detail_url, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

SATURDAY = date(2025, 6, 14)  # the demo migration's FDP is Friday 6 June, its go-live Monday 9 June
WEEKEND_GO_LIVE = "Go-live is on Saturday 14 June 2025, a weekend."
SAME_DAY = "Go-live is on the same day as final data production (FDP)."
# The demo's own dates have one: old system access ends on Sunday 7 September 2025 (go-live + 90).
DEMO_ACCESS_END = "The end of old system access is on Sunday 7 September 2025, a weekend."


# --- the rule -------------------------------------------------------------------------------------------


def messages(dates: dict) -> list[str]:
    return [warning.message for warning in milestone_warnings(dates)]


def test_a_milestone_on_a_weekend_gets_a_warning_naming_the_day():
    assert milestone_warnings({"go_live": date(2026, 12, 19)}) == [
        MilestoneWarning(Milestone.GO_LIVE, "Go-live is on Saturday 19 December 2026, a weekend.")
    ]


def test_a_milestone_on_a_bank_holiday_gets_a_warning_naming_the_bank_holiday():
    assert messages({"go_live": date(2026, 12, 28), "fdp": date(2026, 12, 25)}) == [
        "Final data production (FDP) is on Friday 25 December 2026, Christmas Day, a bank holiday.",
        "Go-live is on Monday 28 December 2026, Boxing Day (substitute day), a bank holiday.",
    ]


def test_easter_monday_is_a_bank_holiday_too():
    assert messages({"kick_off": date(2027, 3, 29)}) == [
        "Kick-off is on Monday 29 March 2027, Easter Monday, a bank holiday."
    ]


def test_a_cutover_planning_meeting_less_than_four_weeks_before_fdp_gets_the_guides_advice():
    [warning] = milestone_warnings({"cutover_planning": date(2025, 5, 12), "fdp": date(2025, 6, 6)})

    assert warning.milestone == Milestone.CUTOVER_PLANNING
    assert warning.message.startswith("The cutover planning meeting is only 25 days before final data production")
    assert "four weeks or more before FDP" in warning.message


def test_a_cutover_planning_meeting_four_weeks_before_fdp_is_fine():
    assert messages({"cutover_planning": date(2025, 5, 9), "fdp": date(2025, 6, 6)}) == []


def test_go_live_on_the_day_of_fdp_gets_a_warning_on_go_live():
    [warning] = milestone_warnings({"fdp": date(2025, 6, 6), "go_live": date(2025, 6, 6)})

    assert warning.milestone == Milestone.GO_LIVE
    assert warning.message.startswith(SAME_DAY)
    assert "leave a few days" in warning.message


def test_milestones_more_than_a_year_apart_get_a_warning_on_the_later_one():
    dates = {"order_accepted": date(2026, 12, 1), "kick_off": date(2026, 12, 8), "go_live": date(2030, 3, 18)}

    assert messages(dates) == [
        "Go-live is on Monday 18 March 2030, more than a year after the order date (Tuesday 1 December 2026). "
        "In the guide a migration takes 12 to 16 weeks from its order: check the years."
    ]
    assert messages(dates | {"go_live": date(2027, 12, 1)}) == []  # a year to the day is not more than one
    assert messages({"go_live": date(2030, 3, 18)}) == []


def test_warnings_come_in_milestone_order():
    dates = {"cutover_planning": date(2025, 6, 2), "fdp": date(2025, 6, 7), "go_live": date(2025, 6, 7)}

    assert [warning.milestone for warning in milestone_warnings(dates)] == [
        Milestone.CUTOVER_PLANNING,
        Milestone.FDP,
        Milestone.GO_LIVE,
        Milestone.GO_LIVE,
    ]


def test_a_guide_shaped_plan_on_working_days_has_no_warning():
    dates = {Milestone(name.removesuffix("_on")).value: day for name, day in MILESTONE_DATES.items()}

    assert messages(dates | {"old_system_access_end": date(2025, 9, 8)}) == []


def test_an_end_of_old_system_access_only_expected_gets_no_warning():
    # Go-live + 90 days is Sunday 7 September 2025, but nobody has set that date.
    assert messages({"go_live": date(2025, 6, 9), "old_system_access_end": None}) == []


# --- never a refusal ------------------------------------------------------------------------------------


def test_dates_with_warnings_are_saved(migration, delivery_partner_user):
    changes = {"cutover_planning": date(2025, 6, 1), "fdp": date(2025, 6, 7), "go_live": date(2025, 6, 7)}
    assert len(milestone_warnings(migration.milestone_dates() | changes)) >= 4

    migration.change_milestones(changes, by=delivery_partner_user)

    migration.refresh_from_db()
    assert (migration.cutover_planning_on, migration.fdp_on, migration.go_live_on) == tuple(changes.values())


def test_a_migration_starts_with_dates_that_have_warnings(guide_version, source_supplier, target_supplier):
    practice = PracticeFactory()

    started = PracticeMigration.start(
        practice=practice,
        source_supplier=source_supplier,
        target_supplier=target_supplier,
        order_accepted_on=date(2025, 3, 1),  # a Saturday
        go_live_on=SATURDAY,
    )

    assert PracticeMigration.objects.get(pk=started.pk).go_live_on == SATURDAY
    assert len(milestone_warnings(started.milestone_dates())) == 2


# --- the milestones page and resuming ---------------------------------------------------------------------


def milestone_data(migration: PracticeMigration, **changed: date) -> dict:
    """Every milestone's boxes as the form shows them, with `changed` typed over."""
    data = {"reason": "The supplier moved the go-live"}
    for milestone in Milestone:
        day = changed.get(milestone.value, getattr(migration, milestone.field_name))
        data |= {
            f"{milestone.value}-{part}": str(getattr(day, part)) if day else "" for part in ("day", "month", "year")
        }
    return data


def callout(html: str) -> str:
    match = re.search(r'<div class="nhsuk-warning-callout">(.*?)</div>', html, re.DOTALL)
    assert match, "no warning callout on the page"
    return text(match.group(1))


def test_the_milestones_preview_warns_before_saving_and_saving_still_works(client, migration, practice_manager):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    client.force_login(practice_manager)
    data = milestone_data(migration, go_live=SATURDAY, cutover_planning=date(2025, 5, 20))

    preview = client.post(url, data, follow=True)
    saved = client.post(url, data | {"confirm": "yes"})

    warnings = callout(preview.content.decode())
    assert preview.status_code == 200
    assert "Check these dates" in warnings
    assert "The cutover planning meeting is only 17 days before final data production (FDP)." in warnings
    assert WEEKEND_GO_LIVE in warnings
    assert "You can still save them as they are." in warnings
    assert 'name="confirm" value="yes"' in preview.content.decode()
    assert saved.status_code == 302
    migration.refresh_from_db()
    assert (migration.go_live_on, migration.cutover_planning_on) == (SATURDAY, date(2025, 5, 20))


def test_the_milestones_preview_warns_of_go_live_on_the_day_of_fdp(client, migration, practice_manager):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    client.force_login(practice_manager)

    preview = client.post(url, milestone_data(migration, go_live=migration.fdp_on), follow=True)

    assert SAME_DAY in callout(preview.content.decode())


def test_a_technical_survey_after_go_live_gets_a_warning():
    assert messages({"technical_survey": date(2025, 6, 11), "go_live": date(2025, 6, 9)}) == [
        "The technical survey is on Wednesday 11 June 2025, after go-live (Monday 9 June 2025). In the guide it "
        "comes shortly after kick-off, to check the practice's hardware and software before the migration: check "
        "the date."
    ]
    assert messages({"technical_survey": date(2025, 6, 9), "go_live": date(2025, 6, 9)}) == [
        "The technical survey is on Monday 9 June 2025, on the day of go-live (Monday 9 June 2025). In the guide it "
        "comes shortly after kick-off, to check the practice's hardware and software before the migration: check "
        "the date."
    ]
    assert messages({"technical_survey": date(2025, 6, 6), "go_live": date(2025, 6, 9)}) == []


def test_the_milestones_preview_warns_of_a_date_moved_into_the_past_only(client, migration, practice_manager):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    client.force_login(practice_manager)
    yesterday = date(2025, 4, 9)  # the clock stands at 10 April 2025; the order date passed long ago, unchanged

    preview = client.post(url, milestone_data(migration, technical_survey=yesterday), follow=True)

    warnings = callout(preview.content.decode())
    assert (
        "The technical survey would be on Wednesday 9 April 2025, which has passed. That is right for something "
        "that has already happened; otherwise check the date: open items due from it count as overdue." in warnings
    )
    assert "The order date would be" not in warnings


def test_the_milestones_preview_has_no_callout_without_warnings(client, migration, practice_manager):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    client.force_login(practice_manager)

    preview = client.post(url, milestone_data(migration, old_system_access_end=date(2025, 9, 8)), follow=True)

    assert preview.status_code == 200
    assert "nhsuk-warning-callout" not in preview.content.decode()


def test_the_resume_preview_warns_and_resuming_still_works(client, migration, delivery_partner_user):
    migration.hold(delivery_partner_user, "Waiting for the new supplier")
    url = reverse("migrations:migration_resume", kwargs={"pk": migration.pk})
    client.force_login(delivery_partner_user)
    data = milestone_data(migration, go_live=SATURDAY)

    preview = client.post(url, data, follow=True)
    resumed = client.post(url, data | {"confirm": "yes"})

    assert WEEKEND_GO_LIVE in callout(preview.content.decode())
    assert resumed.status_code == 302
    migration.refresh_from_db()
    assert (migration.status, migration.go_live_on) == (PracticeMigration.Status.ACTIVE, SATURDAY)


# --- the migration page -----------------------------------------------------------------------------------


def milestone_row(html: str, label: str) -> str:
    match = re.search(
        rf'<dt class="nhsuk-summary-list__key">{re.escape(label)}</dt>\s*<dd[^>]*>(.*?)</dd>', html, re.DOTALL
    )
    assert match, f"no milestone row {label!r}"
    return text(match.group(1))


def test_the_migration_page_shows_each_warning_next_to_its_milestone(client, migration, practice_manager):
    migration.change_milestones({"go_live": SATURDAY}, by=practice_manager)
    client.force_login(practice_manager)

    html = client.get(detail_url(migration)).content.decode()

    assert milestone_row(html, "Go-live") == f"14 June 2025 Important: Check this date {WEEKEND_GO_LIVE}"
    assert (
        milestone_row(html, "Old system access ends")
        == f"7 September 2025 Important: Check this date {DEMO_ACCESS_END}"
    )
    assert milestone_row(html, "Final data production (FDP)") == "6 June 2025"


# --- the start form ---------------------------------------------------------------------------------------


def test_starting_a_migration_with_a_weekend_go_live_asks_to_check_it_then_lands_on_its_page_with_the_warning(
    client, delivery_partner_user, delivery_partner, source_supplier, target_supplier, guide_version
):
    hilltop = PracticeFactory(ods_code="K81002", name="Hilltop Surgery", delivery_partner=delivery_partner)
    client.force_login(delivery_partner_user)
    data = {"practice": hilltop.pk, "source_supplier": source_supplier.pk, "target_supplier": target_supplier.pk}
    for milestone, day in (("order_accepted", date(2025, 3, 3)), ("go_live", SATURDAY)):
        data |= {f"{milestone}-day": day.day, f"{milestone}-month": day.month, f"{milestone}-year": day.year}

    checking = client.post(reverse("migrations:migration_start"), data)
    assert not PracticeMigration.objects.filter(practice=hilltop).exists()
    assert WEEKEND_GO_LIVE in text(checking.content.decode())
    warned = re.search(r'name="warned_dates" value="([^"]+)"', checking.content.decode()).group(1)
    response = client.post(reverse("migrations:migration_start"), data | {"warned_dates": warned}, follow=True)

    started = PracticeMigration.objects.get(practice=hilltop)
    html = response.content.decode()
    assert response.redirect_chain == [(detail_url(started), 302)]
    assert started.go_live_on == SATURDAY
    assert "Check the milestone dates: 1 warning, shown under Milestones." in text(html)
    assert WEEKEND_GO_LIVE in milestone_row(html, "Go-live")


def test_starting_a_migration_without_warnings_says_nothing_of_them(
    client, delivery_partner_user, delivery_partner, source_supplier, target_supplier, guide_version
):
    hilltop = PracticeFactory(ods_code="K81002", name="Hilltop Surgery", delivery_partner=delivery_partner)
    client.force_login(delivery_partner_user)
    data = {"practice": hilltop.pk, "source_supplier": source_supplier.pk, "target_supplier": target_supplier.pk}
    for milestone, day in (("order_accepted", date(2025, 3, 3)), ("go_live", date(2025, 6, 9))):
        data |= {f"{milestone}-day": day.day, f"{milestone}-month": day.month, f"{milestone}-year": day.year}

    response = client.post(reverse("migrations:migration_start"), data, follow=True)

    assert PracticeMigration.objects.filter(practice=hilltop).exists()
    assert "Check the milestone dates" not in text(response.content.decode())


# --- the import preview -------------------------------------------------------------------------------------

HEADER = ["ODS code", "Practice name", "ICB code", "Current system", "New system", "Order date", "Planned go-live"]


def upload(*rows, user, partner) -> MigrationImport:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    content = buffer.getvalue().encode()
    with TrackerFile("orders.csv", content) as tracker:
        count = importing.count_rows(tracker)
    return MigrationImport.objects.create(
        uploaded_by=user, delivery_partner=partner, filename="orders.csv", content=content, sha256="x", row_count=count
    )


def test_the_import_preview_warns_of_a_weekend_go_live_and_the_file_still_imports(
    client, migration, delivery_partner_user, delivery_partner
):
    rows = [
        # The demo migration, its go-live moved to a Saturday; a new practice going live on a Saturday.
        ["H85001", "Riverside Medical Centre", "QWE", "EMIS Web", "SystmOne", "03/03/2025", "14/06/2025"],
        ["K82001", "New Road Surgery", "QWE", "EMIS Web", "SystmOne", "01/04/2025", "2025-07-26"],
    ]
    imported = upload(*rows, user=delivery_partner_user, partner=delivery_partner)
    client.force_login(delivery_partner_user)
    url = reverse("migrations:import_preview", kwargs={"pk": imported.pk})

    preview = importing.preview(imported, access.starter(delivery_partner_user))
    page = text(client.get(url).content.decode())
    applied = client.post(url)

    assert [(row.kind, row.warnings) for row in preview.rows] == [
        (RowKind.UPDATE, [WEEKEND_GO_LIVE, DEMO_ACCESS_END]),
        (RowKind.NEW, ["Go-live is on Saturday 26 July 2025, a weekend."]),
    ]
    assert preview.can_apply
    assert f"Warning: check the dates (the row still imports) {WEEKEND_GO_LIVE}" in page
    assert "Go-live is on Saturday 26 July 2025, a weekend." in page
    assert applied.status_code == 302
    migration.refresh_from_db()
    assert migration.go_live_on == SATURDAY
    assert PracticeMigration.objects.get(practice__ods_code="K82001").go_live_on == date(2025, 7, 26)
