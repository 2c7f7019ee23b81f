"""The dashboard's current phase, from the milestones (the phase whose dates contain today), how far
behind it the checklist is, days since go-live, and the CSV's reporting columns, through the client.
The demo migration's milestones are tests.factories.MILESTONE_DATES."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from migrations_app.checklist_templates import publishing
from migrations_app.dashboard.phases import phase_by_dates, phase_index_on
from migrations_app.models import ChecklistItem, ItemStatus, PracticeMigration
from tests.conftest import TODAY, going_live
from tests.factories import MILESTONE_DATES, PracticeFactory
from tests.pages import CSV_URL, csv_rows, names, open_dashboard, table_row, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

LONDON = ZoneInfo("Europe/London")


def on(time_machine, day) -> None:
    time_machine.move_to(datetime.combine(day, time(9, 30), tzinfo=LONDON), tick=False)


EARLY = "Early phases: decision to migrate to pre-migration tasks"


@pytest.mark.parametrize(
    ("milestone", "phase_title", "the_day_before"),
    [
        # Before the order is accepted a migration is still in the early phases (the decision to migrate).
        ("order_accepted_on", EARLY, EARLY),
        ("idp_on", "Initial data production", EARLY),
        ("data_checking_signoff_on", "Planning for the cutover", "Initial data production"),
        ("fdp_on", "Cutover and Go Live", "Planning for the cutover"),
        ("go_live_on", "Post Go Live", "Cutover and Go Live"),
    ],
)
def test_the_current_phase_starts_on_its_milestone(
    client, migration, delivery_partner_user, time_machine, milestone, phase_title, the_day_before
):
    on(time_machine, MILESTONE_DATES[milestone])
    (row,) = open_dashboard(client, delivery_partner_user).context["page"].object_list
    on(time_machine, MILESTONE_DATES[milestone] - timedelta(days=1))
    (day_before,) = client.get("/dashboard/").context["page"].object_list

    assert (row.phase_title, day_before.phase_title) == (phase_title, the_day_before)


def test_a_practice_past_idp_with_early_items_open_is_in_idp_and_its_checklist_one_phase_behind(
    client, migration, delivery_partner_user, time_machine
):
    on(time_machine, MILESTONE_DATES["idp_on"] + timedelta(days=2))

    response = open_dashboard(client, delivery_partner_user)

    (row,) = response.context["page"].object_list
    assert row.phase_title == "Initial data production"
    assert (row.checklist_behind, row.checklist_text) == (
        1,
        f"Checklist 1 phase behind: open items from {EARLY}",
    )
    assert "Initial data production Checklist 1 phase behind" in table_row(response.content.decode(), migration)


def test_a_migration_without_dates_says_dates_not_agreed_and_sorts_last_by_phase(
    client, migration, guide_version, admin_user
):
    going_live(None, practice=PracticeFactory(name="Undated Surgery"), template_version=guide_version)
    going_live(TODAY - timedelta(days=3), practice=PracticeFactory(name="Live Surgery"), template_version=guide_version)

    by_phase = open_dashboard(client, admin_user, {"sort": "phase"})
    descending = client.get("/dashboard/", {"sort": "-phase"})

    undated = next(row for row in by_phase.context["page"].object_list if row.practice_name == "Undated Surgery")
    assert (undated.phase_title, undated.checklist_behind) == ("Dates not agreed", None)
    assert undated.checklist_text == f"Open items from {EARLY}"
    assert names(by_phase) == ["Riverside Medical Centre", "Live Surgery", "Undated Surgery"]
    assert names(descending) == ["Live Surgery", "Riverside Medical Centre", "Undated Surgery"]


@pytest.mark.parametrize(
    ("days", "text"),
    [(14, "14"), (0, "Go-live today"), (-1, "Live 1 day"), (-20, "Live 20 days")],
)
def test_days_to_go_live_read_as_days_since_once_live(client, guide_version, admin_user, days, text):
    migration = going_live(TODAY + timedelta(days=days), practice=PracticeFactory(), template_version=guide_version)

    response = open_dashboard(client, admin_user)

    (row,) = response.context["page"].object_list
    assert row.days_to_go == days
    assert row.days_to_go_text == text
    assert f" {text} " in f" {table_row(response.content.decode(), migration)} "
    header, line = csv_rows(client.get(CSV_URL))
    # In the CSV a number a spreadsheet sorts by, negative once live.
    assert dict(zip(header, line, strict=True))["Days to go-live"] == str(days)


def test_the_csv_names_the_next_items_owner_and_the_date_of_the_last_change(
    client, migration, delivery_partner_user, practice_manager, time_machine
):
    # Named as every item's owner (as ChecklistItem.assign_owner would, without its events).
    ChecklistItem.objects.filter(migration=migration).update(owner=practice_manager)
    on(time_machine, TODAY + timedelta(days=1))
    migration.items.get(key="agree-go-live-date").complete(practice_manager)

    header, line = csv_rows(open_dashboard(client, delivery_partner_user, url=CSV_URL))

    values = dict(zip(header, line, strict=True))
    assert values["Next item owner"] == practice_manager.full_name
    assert values["Last change"] == (TODAY + timedelta(days=1)).isoformat()
    assert values["Delivery partner"] == migration.practice.delivery_partner.name
    assert (values["IDP"], values["FDP"], values["Old system access ends"]) == (
        "2025-04-14",
        "2025-06-06",
        "2025-09-07",
    )


def test_the_rag_help_page_explains_the_phase_by_dates_and_the_checklists_lag(client, delivery_partner_user):
    response = open_dashboard(client, delivery_partner_user, url="/dashboard/rag/")

    page = text(response.content.decode())
    assert 'Initial data production: from the "Initial data production (IDP)" date' in page
    assert 'Planning for the cutover: from the "Data-checking sign-off" date' in page
    assert "Checklist 2 phases behind: open items from Early phases" in page
    assert '"Dates not agreed"' in page and '"Live 20 days"' in page


def test_the_migration_page_gives_the_phase_by_dates_and_the_checklists_lag_as_the_dashboard_does(
    client, migration, delivery_partner_user, practice_manager, time_machine
):
    on(time_machine, MILESTONE_DATES["idp_on"] + timedelta(days=2))
    (row,) = open_dashboard(client, delivery_partner_user).context["page"].object_list
    client.force_login(practice_manager)

    page = text(client.get(f"/migrations/{migration.pk}/").content.decode()).replace(" .", ".")

    assert row.phase_title == "Initial data production"
    assert f"Current phase, by the milestone dates: Initial data production. {row.checklist_text}." in page


def test_the_migration_page_says_when_the_checklist_is_in_step_or_every_item_is_closed(
    client, migration, practice_manager
):
    client.force_login(practice_manager)
    url = f"/migrations/{migration.pk}/"

    on_track = text(client.get(url).content.decode()).replace(" .", ".")
    migration.items.update(status=ItemStatus.NOT_APPLICABLE, reason="Not needed here")
    closed = text(client.get(url).content.decode()).replace(" .", ".")

    assert f"Current phase, by the milestone dates: {EARLY}. The checklist is in step with the dates." in on_track
    assert f"Current phase, by the milestone dates: {EARLY}. Every item is closed." in closed


@pytest.mark.parametrize("milestone", list(MILESTONE_DATES))
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_the_phase_by_dates_in_python_agrees_with_the_database_on_every_boundary(migration, milestone, offset):
    day = MILESTONE_DATES[milestone] + timedelta(days=offset)
    in_sql = PracticeMigration.objects.annotate(phase=phase_by_dates(day)).get(pk=migration.pk).phase
    undated = dict.fromkeys(migration.milestone_dates())

    assert phase_index_on(migration.milestone_dates(), day) == in_sql
    assert phase_index_on(undated, day) is None


def test_a_phase_renamed_in_a_later_version_keeps_the_name_of_the_migrations_own_checklist(
    client, migration, delivery_partner_user, time_machine
):
    draft = migration.template_version.copy_as_draft()
    draft.phases.filter(key=migration.phases.get(title=EARLY).key).update(title="Early phases (renamed)")
    publishing.publish(draft, "Renamed the early phases")
    on(time_machine, MILESTONE_DATES["kick_off_on"])

    response = open_dashboard(client, delivery_partner_user)
    header, line = csv_rows(client.get(CSV_URL))

    (row,) = response.context["page"].object_list
    assert row.phase_title == EARLY
    assert EARLY in table_row(response.content.decode(), migration)
    assert dict(zip(header, line, strict=True))["Current phase"] == EARLY
