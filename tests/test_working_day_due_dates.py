"""Due dates on working days in England: the rolling rule (scheduling.due_date), a whole checklist
around a Christmas go-live, the "moved from" text on the migration page and the item page, and the
end of old system access expected after go-live until it is agreed."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from migrations_app import scheduling, working_days
from migrations_app.management.commands.seed_demo import _milestones
from migrations_app.models import Event, ItemStatus, Milestone, PracticeMigration
from migrations_app.scheduling import calendar_due_date, due_date, moved_from_text
from tests.pages import detail_url, element, item, item_url, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

# Monday 21 December 2026: Christmas Day is on the Friday, Boxing Day on the Saturday and its
# substitute day on Monday 28 December.
CHRISTMAS_GO_LIVE = date(2026, 12, 21)


# --- the rule -------------------------------------------------------------------------------------------


def test_an_item_due_before_its_milestone_on_a_weekend_moves_to_the_friday_before():
    dates = {"go_live": CHRISTMAS_GO_LIVE}

    assert due_date(dates, "go_live", -1) == date(2026, 12, 18)


def test_an_item_due_after_its_milestone_on_a_weekend_moves_to_the_next_working_day():
    dates = {"go_live": date(2026, 12, 14)}

    assert due_date(dates, "go_live", 5) == date(2026, 12, 21)


def test_an_item_due_on_a_milestone_that_falls_on_a_bank_holiday_is_due_the_working_day_before():
    dates = {"fdp": date(2026, 12, 25)}

    assert due_date(dates, "fdp", 0) == date(2026, 12, 24)


def test_an_item_due_on_a_working_day_keeps_its_calendar_date():
    dates = {"go_live": CHRISTMAS_GO_LIVE}

    assert due_date(dates, "go_live", -4) == date(2026, 12, 17)
    assert due_date(dates, "go_live", 0) == CHRISTMAS_GO_LIVE
    assert due_date(dates, "go_live", 1) == date(2026, 12, 22)


def test_after_christmas_day_the_next_working_day_skips_boxing_day_and_its_substitute_day():
    dates = {"go_live": CHRISTMAS_GO_LIVE}

    assert due_date(dates, "go_live", 4) == date(2026, 12, 29)  # Christmas Day
    assert due_date(dates, "go_live", 5) == date(2026, 12, 29)  # Boxing Day, a Saturday
    assert due_date(dates, "go_live", 7) == date(2026, 12, 29)  # Boxing Day (substitute day)


def test_before_the_boxing_day_substitute_the_working_day_is_christmas_eve():
    dates = {"fdp": date(2027, 1, 4)}

    assert due_date(dates, "fdp", -7) == date(2026, 12, 24)


def test_easter_2027_moves_items_off_good_friday_and_easter_monday():
    dates = {"go_live": date(2027, 3, 22), "fdp": date(2027, 4, 1)}

    assert due_date(dates, "go_live", 4) == date(2027, 3, 30)  # Good Friday, 26 March: after Easter Monday
    assert due_date(dates, "fdp", -3) == date(2027, 3, 25)  # Easter Monday, 29 March: the Thursday before


def test_the_calendar_date_is_the_milestone_plus_the_offset():
    dates = {"go_live": CHRISTMAS_GO_LIVE}

    assert calendar_due_date(dates, "go_live", -1) == date(2026, 12, 20)
    assert calendar_due_date(dates, "fdp", -1) is None


def test_the_moved_from_text_names_the_weekend_or_the_bank_holiday():
    dates = {"go_live": CHRISTMAS_GO_LIVE}

    assert moved_from_text(date(2026, 12, 18), dates, "go_live", -1) == "moved from Sunday 20 December, a weekend"
    assert moved_from_text(date(2026, 12, 29), dates, "go_live", 4) == "moved from Friday 25 December, Christmas Day"
    assert (
        moved_from_text(date(2026, 12, 29), dates, "go_live", 7)
        == "moved from Monday 28 December, the substitute day for Boxing Day"
    )
    assert moved_from_text(date(2026, 12, 22), dates, "go_live", 1) == ""


def test_the_moved_from_text_gives_the_year_when_the_move_crosses_new_year():
    dates = {"fdp": date(2027, 1, 8)}

    assert moved_from_text(date(2026, 12, 31), dates, "fdp", -7) == "moved from Friday 1 January 2027, New Year's Day"


def test_the_moved_from_text_is_left_out_for_a_date_planned_before_dates_were_rolled():
    dates = {"go_live": CHRISTMAS_GO_LIVE}

    assert moved_from_text(date(2026, 12, 20), dates, "go_live", -1) == ""


# --- a whole checklist around a Christmas go-live ----------------------------------------------------------


def guide_shaped_plan(go_live: date) -> dict[str, date]:
    """seed_demo's plan around `go_live`, each milestone put on a working day: those before go-live
    earlier, those after it later."""
    plan = {}
    for milestone, days in _milestones(0).items():
        day = go_live + timedelta(days=days)
        if not working_days.is_working_day(day):
            day = working_days.previous_working_day(day) if days < 0 else working_days.next_working_day(day)
        plan[f"{milestone}_on"] = day
    return plan


@pytest.fixture
def start_christmas(guide_version, practice, source_supplier, target_supplier, delivery_partner_user):
    """Start the practice's migration from the guide with the Christmas plan, `changed` typed over."""

    def start(**changed) -> PracticeMigration:
        return PracticeMigration.start(
            practice=practice,
            source_supplier=source_supplier,
            target_supplier=target_supplier,
            template_version=guide_version,
            created_by=delivery_partner_user,
            **(guide_shaped_plan(CHRISTMAS_GO_LIVE) | changed),
        )

    return start


@pytest.fixture
def christmas_migration(start_christmas) -> PracticeMigration:
    return start_christmas()


def test_a_christmas_go_live_plan_has_no_open_item_due_on_a_non_working_day(christmas_migration):
    dates = christmas_migration.milestone_dates()
    open_items = list(christmas_migration.items.open())
    calendar = [dates[each.anchor] + timedelta(days=each.offset_days) for each in open_items]

    assert christmas_migration.go_live_on == CHRISTMAS_GO_LIVE
    assert sum(not working_days.is_working_day(day) for day in calendar) > 0
    assert [each.key for each in open_items if not working_days.is_working_day(each.due_on)] == []


def test_each_item_of_the_christmas_plan_moves_away_from_its_milestone_and_never_more_than_needed(
    christmas_migration,
):
    dates = christmas_migration.milestone_dates()

    for each in christmas_migration.items.all():
        calendar = dates[each.anchor] + timedelta(days=each.offset_days)
        if working_days.is_working_day(calendar):
            assert each.due_on == calendar
        elif each.offset_days > 0:
            assert each.due_on == working_days.next_working_day(calendar)
        else:
            assert each.due_on == working_days.previous_working_day(calendar)


# --- what the pages say -------------------------------------------------------------------------------


def due_on_christmas_plan(migration, user, key: str, anchor: str, offset_days: int):
    """The item `key` given a due rule of its own, and its date worked out again (set_due_date(None))."""
    task = item(migration, key)
    migration.items.filter(pk=task.pk).update(anchor=anchor, offset_days=offset_days)
    task.refresh_from_db()
    task.set_due_date(user, None)
    task.refresh_from_db()
    return task


def test_the_migration_page_says_where_a_due_date_moved_from(client, christmas_migration, practice_manager):
    weekend = due_on_christmas_plan(christmas_migration, practice_manager, "clean-up-current-data", "go_live", -1)
    christmas = due_on_christmas_plan(christmas_migration, practice_manager, "prepared-for-idp", "go_live", 4)
    client.force_login(practice_manager)

    page = client.get(detail_url(christmas_migration)).content.decode()

    assert (weekend.due_on, christmas.due_on) == (date(2026, 12, 18), date(2026, 12, 29))
    assert "Due 18 December 2026 (moved from Sunday 20 December, a weekend)." in text(
        element(page, f"item-{weekend.pk}-hint")
    )
    assert "Due 29 December 2026 (moved from Friday 25 December, Christmas Day)." in text(
        element(page, f"item-{christmas.pk}-hint")
    )


def test_the_item_page_says_where_its_due_date_moved_from(client, christmas_migration, practice_manager):
    task = due_on_christmas_plan(christmas_migration, practice_manager, "clean-up-current-data", "go_live", 7)
    client.force_login(practice_manager)

    page = text(client.get(item_url("item_detail", task)).content.decode())

    assert "29 December 2026" in page
    assert "moved from Monday 28 December, the substitute day for Boxing Day" in page


def test_a_due_date_set_by_hand_on_a_weekend_says_so_and_nothing_about_moving(
    client, christmas_migration, practice_manager
):
    task = due_on_christmas_plan(christmas_migration, practice_manager, "clean-up-current-data", "go_live", -1)
    task.set_due_date(practice_manager, date(2026, 12, 18), reason="Agreed at kick-off")
    client.force_login(practice_manager)

    row = text(element(client.get(detail_url(christmas_migration)).content.decode(), f"item-{task.pk}-hint"))
    item_page = text(client.get(item_url("item_detail", task)).content.decode())

    assert "Due 18 December 2026 (set by hand)." in row
    assert "moved from" not in row and "moved from" not in item_page


def test_clearing_a_date_set_by_hand_goes_back_to_the_rolled_date(christmas_migration, practice_manager):
    task = due_on_christmas_plan(christmas_migration, practice_manager, "clean-up-current-data", "go_live", -1)
    task.set_due_date(practice_manager, date(2026, 12, 20))

    task.set_due_date(practice_manager, None)

    task.refresh_from_db()
    assert (task.due_on, task.manual_due_on) == (date(2026, 12, 18), None)


# --- the end of old system access, expected until agreed ---------------------------------------------------


def access_end_items(migration):
    anchored = list(migration.items.filter(anchor=Milestone.OLD_SYSTEM_ACCESS_END))
    assert anchored, "the guide has items anchored on the end of old system access"
    return anchored


@pytest.fixture
def unagreed_end(start_christmas) -> PracticeMigration:
    """The Christmas plan started with the end of old system access not agreed yet."""
    return start_christmas(old_system_access_end_on=None)


def test_until_it_is_agreed_old_system_access_is_expected_to_end_90_days_after_go_live(unagreed_end):
    expected = CHRISTMAS_GO_LIVE + timedelta(days=90)  # Sunday 21 March 2027

    assert unagreed_end.old_system_access_end_on is None
    assert scheduling.expected_old_system_access_end(unagreed_end.milestone_dates()) == expected
    for each in access_end_items(unagreed_end):
        assert each.due_on == due_date({"old_system_access_end": expected}, each.anchor, each.offset_days)


def test_the_expected_end_of_old_system_access_is_a_setting(settings, start_christmas):
    settings.OLD_SYSTEM_ACCESS_DAYS = 45

    started = start_christmas(old_system_access_end_on=None)

    expected = CHRISTMAS_GO_LIVE + timedelta(days=45)  # Thursday 4 February 2027
    assert scheduling.expected_old_system_access_end(started.milestone_dates()) == expected
    for each in access_end_items(started):
        assert each.due_on == due_date({"old_system_access_end": expected}, each.anchor, each.offset_days)


def test_moving_go_live_replans_the_items_of_an_end_of_access_not_yet_agreed(unagreed_end, delivery_partner_user):
    new_go_live = date(2027, 1, 11)
    anchored = {each.pk: each for each in access_end_items(unagreed_end)}

    preview = unagreed_end.preview_milestone_change({"go_live": new_go_live})
    moves = unagreed_end.change_milestones({"go_live": new_go_live}, by=delivery_partner_user, reason="Slipped")

    expected = {"old_system_access_end": new_go_live + timedelta(days=90)}
    assert {move.item_id for move in preview} >= set(anchored)
    assert moves == preview
    unagreed_end.refresh_from_db()
    assert unagreed_end.old_system_access_end_on is None
    for pk, before in anchored.items():
        after = unagreed_end.items.get(pk=pk)
        assert after.due_on == due_date(expected, after.anchor, after.offset_days)
        replan = Event.objects.get(item_id=pk, kind=Event.Kind.REPLAN)
        assert (replan.old_value, replan.new_value) == (before.due_on.isoformat(), after.due_on.isoformat())
    assert list(
        Event.objects.filter(migration=unagreed_end, kind=Event.Kind.MILESTONE).values_list("field", flat=True)
    ) == ["go_live_on"]


def test_agreeing_the_end_of_old_system_access_plans_from_it_and_go_live_no_longer_moves_it(
    unagreed_end, delivery_partner_user
):
    agreed = date(2027, 4, 30)
    unagreed_end.change_milestones({"old_system_access_end": agreed}, by=delivery_partner_user)

    unagreed_end.change_milestones({"go_live": date(2027, 1, 11)}, by=delivery_partner_user)

    unagreed_end.refresh_from_db()
    assert unagreed_end.old_system_access_end_on == agreed
    for each in access_end_items(unagreed_end):
        assert each.due_on == due_date({"old_system_access_end": agreed}, each.anchor, each.offset_days)


def test_the_migration_page_shows_the_expected_end_of_old_system_access(client, unagreed_end, practice_manager):
    client.force_login(practice_manager)

    page = text(client.get(detail_url(unagreed_end)).content.decode())

    assert "Old system access ends 21 March 2027 (expected: 90 days after go-live, not agreed yet)" in page


def test_the_milestone_form_leaves_an_unagreed_end_of_old_system_access_empty(client, unagreed_end, practice_manager):
    client.force_login(practice_manager)

    page = client.get(reverse("migrations:milestones_edit", kwargs={"pk": unagreed_end.pk})).content.decode()

    for part in ("day", "month", "year"):
        assert f'name="old_system_access_end-{part}" type="text" inputmode="numeric" value=""' in page
    assert "expected 90 days after go-live" in text(page)


def test_done_items_on_the_end_of_old_system_access_keep_their_dates_when_go_live_moves(
    unagreed_end, delivery_partner_user, practice_manager
):
    done = next(each for each in access_end_items(unagreed_end) if not each.is_gate)
    done.complete(practice_manager)

    unagreed_end.change_milestones({"go_live": date(2027, 1, 11)}, by=delivery_partner_user)

    kept = unagreed_end.items.get(pk=done.pk)
    assert (kept.status, kept.due_on) == (ItemStatus.DONE, done.due_on)


def test_clearing_an_agreed_end_of_old_system_access_plans_its_items_from_the_expected_end_again(
    christmas_migration, delivery_partner_user
):
    moves = christmas_migration.change_milestones(
        {"old_system_access_end": None}, by=delivery_partner_user, reason="Not agreed after all."
    )

    expected = {"old_system_access_end": CHRISTMAS_GO_LIVE + timedelta(days=90)}
    assert {move.item_id for move in moves} == {each.pk for each in access_end_items(christmas_migration)}
    for each in access_end_items(christmas_migration):
        assert each.due_on == due_date(expected, each.anchor, each.offset_days)
