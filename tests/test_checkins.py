"""Weekly check-ins: the week a check-in is for, who gives which side, the page and its form, the
event log, missed at its boundary (in memory and in SQL), the dashboard's flag and RAG effect, and
the check-in day. Today is tests.conftest.TODAY, Thursday 10 April 2025; the demo delivery
partner's check-ins are on Mondays (the default), so this week's is Monday 7 April."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from migrations_app import access
from migrations_app.dashboard import rows
from migrations_app.dashboard.rag import Rag
from migrations_app.models import CheckIn, ChecklistProgress, Event, PracticeMigration, checkins
from migrations_app.models.choices import CheckInRag, CheckInSide, Weekday
from tests.conftest import TODAY, going_live
from tests.factories import PracticeFactory
from tests.pages import CSV_URL, csv_rows, detail_url, element, error_summary, listed, open_dashboard, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2025, 4, 7)
NOTE = "Extract requested from the current supplier; waiting for the IDP date to be confirmed."


def check_ins_url(migration: PracticeMigration) -> str:
    return reverse("migrations:migration_check_ins", kwargs={"pk": migration.pk})


def move_to(time_machine, day: date) -> None:
    time_machine.move_to(datetime.combine(day, time(9, 30), tzinfo=LONDON), tick=False)


def practice_side(migration, user, rag=CheckInRag.GREEN, note=NOTE) -> CheckIn:
    check_in, _ = CheckIn.give(migration, side=CheckInSide.PRACTICE, rag=rag, note=note, by=user)
    return check_in


# --- the week, and the worst of the sides ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "weekday", "week_on"),
    [
        (MONDAY, Weekday.MONDAY, MONDAY),  # on the day
        (date(2025, 4, 13), Weekday.MONDAY, MONDAY),  # the Sunday after
        (date(2025, 4, 8), Weekday.WEDNESDAY, date(2025, 4, 2)),  # the day before next week's
        (date(2025, 4, 9), Weekday.WEDNESDAY, date(2025, 4, 9)),
    ],
)
def test_a_check_in_is_for_the_week_that_starts_on_the_last_check_in_day(day, weekday, week_on):
    assert checkins.week_of(day, weekday) == week_on


def test_the_worst_self_assessment_wins():
    assert checkins.worst(["green", "red", "amber"]) == "red"
    assert checkins.worst(["green", "amber"]) == "amber"
    assert checkins.worst([]) == ""


# --- giving one -----------------------------------------------------------------------------------------


def test_a_check_in_is_kept_with_its_event_and_the_dashboard_figures(migration, practice_manager):
    check_in = practice_side(migration, practice_manager, rag=CheckInRag.AMBER)

    assert (check_in.side, check_in.week_on, check_in.rag, check_in.given_by) == (
        "practice",
        MONDAY,
        "amber",
        practice_manager,
    )
    event = Event.objects.get(migration=migration, kind=Event.Kind.CHECK_IN)
    assert (event.actor, event.field, event.old_value, event.new_value, event.reason) == (
        practice_manager,
        "practice_check_in",
        "",
        "amber",
        NOTE,
    )
    progress = ChecklistProgress.objects.get(migration=migration)
    assert (progress.last_check_in_on, progress.check_in_rag) == (TODAY, "amber")


def test_a_second_check_in_the_same_week_replaces_the_first_and_both_are_in_the_event_log(
    migration, practice_manager, delivery_partner_user
):
    practice_side(migration, practice_manager, rag=CheckInRag.RED)
    CheckIn.give(migration, side=CheckInSide.DELIVERY_PARTNER, rag="green", note="On plan", by=delivery_partner_user)

    again, created = CheckIn.give(
        migration, side=CheckInSide.PRACTICE, rag=CheckInRag.GREEN, note="Sorted", by=practice_manager
    )

    assert not created
    assert migration.check_ins.count() == 2
    assert (again.rag, again.note) == ("green", "Sorted")
    events = Event.objects.filter(migration=migration, kind=Event.Kind.CHECK_IN, field="practice_check_in")
    assert list(events.values_list("old_value", "new_value")) == [("", "red"), ("red", "green")]
    assert ChecklistProgress.objects.get(migration=migration).check_in_rag == "green"


def test_the_self_assessment_is_the_worst_of_each_sides_latest(
    migration, practice_manager, delivery_partner_user, time_machine
):
    practice_side(migration, practice_manager, rag=CheckInRag.RED)
    move_to(time_machine, TODAY + timedelta(days=7))  # next week: the practice's red is still its latest
    CheckIn.give(migration, side=CheckInSide.DELIVERY_PARTNER, rag="amber", note="Chasing", by=delivery_partner_user)

    assert ChecklistProgress.objects.get(migration=migration).check_in_rag == "red"


@pytest.mark.parametrize("action", ["hold", "cancel"])
def test_a_migration_not_in_progress_takes_no_check_in(migration, practice_manager, admin_user, action):
    getattr(migration, action)(admin_user, "Practice merger")

    with pytest.raises(ValidationError):
        practice_side(migration, practice_manager)

    assert not migration.check_ins.exists()


def test_a_note_is_required(migration, practice_manager):
    with pytest.raises(ValidationError):
        practice_side(migration, practice_manager, note="   ")

    assert not migration.check_ins.exists()


# --- who gives which side -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "sides"),
    [
        ("practice_manager", ["practice"]),
        ("delivery_partner_user", ["delivery_partner"]),
        ("support_admin", ["practice", "delivery_partner"]),
        ("clinical_lead", []),
        ("practice_staff", []),
        ("icb_user", []),
        ("national_viewer", []),
    ],
)
def test_each_role_gives_its_own_side(request, migration, persona, sides):
    user = request.getfixturevalue(persona)

    assert access.check_in_sides(access.access_to(user, migration)) == sides


def test_nobody_gives_a_check_in_for_a_completed_migration(migration, support_admin):
    migration.status = PracticeMigration.Status.COMPLETED

    assert access.check_in_sides(access.access_to(support_admin, migration)) == []


# --- the page -------------------------------------------------------------------------------------------


def test_the_practice_manager_gives_a_check_in_through_the_page(client, migration, practice_manager):
    client.force_login(practice_manager)

    response = client.post(check_ins_url(migration), {"rag": "amber", "note": NOTE})

    assert response.status_code == 302
    assert response["Location"] == reverse("migrations:migration_detail", kwargs={"pk": migration.pk}) + "#check-ins"
    check_in = migration.check_ins.get()
    assert (check_in.side, check_in.rag, check_in.note, check_in.given_by) == (
        "practice",
        "amber",
        NOTE,
        practice_manager,
    )


def test_a_check_in_sent_again_unchanged_is_not_logged_again_and_says_so(client, migration, practice_manager):
    client.force_login(practice_manager)
    client.post(check_ins_url(migration), {"rag": "amber", "note": NOTE})
    given = migration.check_ins.get()

    response = client.post(check_ins_url(migration), {"rag": "amber", "note": f"  {NOTE}  "}, follow=True)

    page = text(response.content.decode())
    assert "This week's check-in as the practice manager is unchanged" in page
    assert "check-in updated" not in page
    assert Event.objects.filter(migration=migration, kind=Event.Kind.CHECK_IN).count() == 1
    assert migration.check_ins.get().given_at == given.given_at
    # A change of status alone is a change.
    client.post(check_ins_url(migration), {"rag": "red", "note": NOTE})
    assert Event.objects.filter(migration=migration, kind=Event.Kind.CHECK_IN).count() == 2


def test_a_check_in_notes_lines_are_kept_on_the_migration_page_and_the_check_ins_page(
    client, migration, practice_manager
):
    client.force_login(practice_manager)

    client.post(
        check_ins_url(migration), {"rag": "amber", "note": "Extract booked.\nTwo duplicates left <b>to merge</b>."}
    )

    for page in (detail_url(migration), check_ins_url(migration)):
        html = client.get(page).content.decode()
        assert "Extract booked.<br>Two duplicates left &lt;b&gt;to merge&lt;/b&gt;." in html, page


def test_once_given_the_page_offers_to_change_this_weeks_check_in(
    client, migration, practice_manager, delivery_partner_user
):
    client.force_login(practice_manager)
    before = text(client.get(detail_url(migration)).content.decode())
    client.post(check_ins_url(migration), {"rag": "amber", "note": NOTE})
    after = text(client.get(detail_url(migration)).content.decode())
    # The delivery partner's side is still to give: theirs is to give, not change.
    client.force_login(delivery_partner_user)
    partner = text(client.get(detail_url(migration)).content.decode())

    assert "Give this week's check-in" in before and "Change this week's check-in" not in before
    assert "Change this week's check-in" in after and "Give this week's check-in" not in after
    assert "Give this week's check-in" in partner


def test_the_check_ins_page_heads_its_form_as_the_link_to_it_says(
    client, migration, practice_manager, delivery_partner_user
):
    client.force_login(practice_manager)
    before = element(client.get(check_ins_url(migration)).content.decode(), "give-heading")
    client.post(check_ins_url(migration), {"rag": "amber", "note": NOTE})
    after = element(client.get(check_ins_url(migration)).content.decode(), "give-heading")
    client.force_login(delivery_partner_user)
    partner = element(client.get(check_ins_url(migration)).content.decode(), "give-heading")

    assert text(before) == "Give this week's check-in"
    assert text(after) == "Change this week's check-in"
    assert text(partner) == "Give this week's check-in"


def test_the_delivery_partner_gives_its_own_side_whatever_the_form_says(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)

    client.post(check_ins_url(migration), {"side": "practice", "rag": "green", "note": NOTE})

    assert migration.check_ins.get().side == "delivery_partner"


def test_a_support_admin_chooses_the_side(client, migration, support_admin):
    client.force_login(support_admin)

    missing = client.post(check_ins_url(migration), {"rag": "green", "note": NOTE})
    client.post(check_ins_url(migration), {"side": "delivery_partner", "rag": "green", "note": NOTE})

    assert missing.status_code == 400
    assert migration.check_ins.get().side == "delivery_partner"


def test_a_form_with_errors_saves_nothing_and_says_what_to_fix(client, migration, practice_manager):
    client.force_login(practice_manager)

    response = client.post(check_ins_url(migration), {"note": "x" * 1001})

    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html
    assert "Select red, amber or green" in html
    assert "The note must be 1,000 characters or fewer" in html
    assert '<a href="#id_rag_0">' in html
    assert not migration.check_ins.exists()


def test_the_form_starts_from_the_persons_own_check_in_this_week(client, migration, practice_manager):
    practice_side(migration, practice_manager, rag=CheckInRag.AMBER)
    client.force_login(practice_manager)

    html = client.get(check_ins_url(migration)).content.decode()

    assert 'value="amber" checked' in html
    assert "Saving again replaces it" in html


def test_readers_see_the_history_without_the_form(client, migration, practice_manager, practice_staff):
    practice_side(migration, practice_manager, rag=CheckInRag.RED)
    client.force_login(practice_staff)

    response = client.get(check_ins_url(migration))

    html = response.content.decode()
    assert response.status_code == 200
    assert NOTE in html
    assert "Give this week's check-in" not in html


@pytest.mark.parametrize(("persona", "status"), [("practice_staff", 403), ("icb_user", 403), ("outsider", 404)])
def test_others_may_not_give_one(client, migration, request, persona, status):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(check_ins_url(migration), {"rag": "green", "note": NOTE})

    assert response.status_code == status
    assert not migration.check_ins.exists()


def test_the_migration_page_shows_each_sides_latest_check_in(client, migration, practice_manager):
    practice_side(migration, practice_manager, rag=CheckInRag.AMBER)
    client.force_login(practice_manager)

    response = client.get(reverse("migrations:migration_detail", kwargs={"pk": migration.pk}))

    html = response.content.decode()
    assert 'id="check-ins"' in html
    assert "Check-ins are on Mondays" in html
    assert NOTE in html
    assert html.count("not given yet") == 1  # the delivery partner's side
    assert check_ins_url(migration) in html


# --- missed, at its boundary ----------------------------------------------------------------------------


def missed_in_sql(migration: PracticeMigration, today: date) -> bool:
    return PracticeMigration.objects.filter(pk=migration.pk).filter(checkins.missed_condition(today)).exists()


def missed_in_memory(migration: PracticeMigration, today: date) -> bool:
    progress = ChecklistProgress.objects.get(migration=migration)
    return checkins.is_missed(
        status=migration.status, last_on=progress.last_check_in_on, from_on=progress.check_ins_from_on, today=today
    )


@pytest.mark.parametrize(("days", "missed"), [(9, False), (10, True)])
def test_a_check_in_is_missed_after_more_than_9_days(migration, practice_manager, days, missed):
    practice_side(migration, practice_manager)
    later = TODAY + timedelta(days=days)

    assert missed_in_memory(migration, later) is missed
    assert missed_in_sql(migration, later) is missed


@pytest.mark.parametrize(("days", "missed"), [(9, False), (10, True)])
def test_a_migration_with_no_check_in_counts_from_its_start(migration, days, missed):
    assert ChecklistProgress.objects.get(migration=migration).check_ins_from_on == TODAY
    later = TODAY + timedelta(days=days)

    assert missed_in_memory(migration, later) is missed
    assert missed_in_sql(migration, later) is missed


def test_the_page_says_how_many_days_ago_a_missed_check_in_was(client, migration, practice_manager, time_machine):
    practice_side(migration, practice_manager)
    move_to(time_machine, TODAY + timedelta(days=12))
    client.force_login(practice_manager)

    page = text(client.get(reverse("migrations:migration_detail", kwargs={"pk": migration.pk})).content.decode())

    assert (
        f"Check-in missed The last check-in was on {TODAY:%-d %B %Y}, 12 days ago: a check-in is missed after 9."
    ) in page


def test_a_migration_on_hold_misses_no_check_in(migration, admin_user):
    migration.hold(admin_user, "Practice merger")
    later = TODAY + timedelta(days=30)

    assert not missed_in_memory(migration, later)
    assert not missed_in_sql(migration, later)


# --- the dashboard --------------------------------------------------------------------------------------


def dashboard_row(client, user) -> rows.Row:
    (row,) = open_dashboard(client, user).context["page"].object_list
    return row


def make_green(migration: PracticeMigration) -> None:
    """Arrange: nothing overdue today (every item due later), so that only check-ins move the RAG."""
    migration.items.update(due_on=TODAY + timedelta(days=30))
    ChecklistProgress.count_day(TODAY, [migration.pk])


def test_the_dashboard_shows_the_last_check_in_and_flags_a_missed_one(
    client, migration, practice_manager, delivery_partner_user, time_machine
):
    make_green(migration)
    practice_side(migration, practice_manager, rag=CheckInRag.GREEN)

    today = dashboard_row(client, delivery_partner_user)
    move_to(time_machine, TODAY + timedelta(days=10))
    ChecklistProgress.count_day(TODAY + timedelta(days=10), [migration.pk])
    later = dashboard_row(client, delivery_partner_user)

    assert (today.last_check_in_on, today.check_in_rag, today.check_in_missed, today.rag) == (
        TODAY,
        "green",
        False,
        Rag.GREEN,
    )
    assert (later.check_in_missed, later.rag, later.rag_reason) == (True, Rag.AMBER, "Check-in missed")
    html = open_dashboard(client, delivery_partner_user).content.decode()
    assert "Check-in missed</strong>" in html


def test_the_dashboard_names_the_worse_side_not_the_last_check_ins_status(
    client, migration, practice_manager, delivery_partner_user
):
    make_green(migration)
    practice_side(migration, practice_manager, rag=CheckInRag.AMBER)
    CheckIn.give(migration, side=CheckInSide.DELIVERY_PARTNER, rag="green", note=NOTE, by=delivery_partner_user)

    page = text(open_dashboard(client, delivery_partner_user).content.decode())

    day = f"{TODAY.day} {TODAY:%b}"
    assert f"Last check-in {day}; worse of the latest: amber" in page
    assert f"Last check-in {day}: amber" not in page


def test_the_dashboard_lists_the_migrations_whose_check_in_is_missed_or_red(
    client, migration, practice, guide_version, practice_manager, delivery_partner_user, time_machine
):
    other = going_live(
        TODAY + timedelta(days=90),
        practice=PracticeFactory(ods_code="Y55555", icb=practice.icb, delivery_partner=practice.delivery_partner),
        template_version=guide_version,
    )
    practice_side(migration, practice_manager, rag=CheckInRag.RED)
    move_to(time_machine, TODAY + timedelta(days=10))
    CheckIn.give(other, side=CheckInSide.PRACTICE, rag=CheckInRag.GREEN, note=NOTE, by=practice_manager)
    ChecklistProgress.count_day(TODAY + timedelta(days=10), [migration.pk, other.pk])

    missed = open_dashboard(client, delivery_partner_user, {"check_in": "missed"})
    red = open_dashboard(client, delivery_partner_user, {"check_in": "red"})
    every = open_dashboard(client, delivery_partner_user)
    wrong = open_dashboard(client, delivery_partner_user, {"check_in": "late"})
    csv_lines = csv_rows(open_dashboard(client, delivery_partner_user, {"check_in": "missed"}, url=CSV_URL))

    assert listed(missed) == [migration.pk]  # its last check-in 10 days ago; the other's today
    assert missed.context["summary"].total == 1
    assert listed(red) == [migration.pk]
    assert sorted(listed(every)) == sorted([migration.pk, other.pk])
    assert wrong.status_code == 400
    assert "Select a kind of check-in from the list" in error_summary(wrong.content.decode())
    assert sorted(listed(wrong)) == sorted([migration.pk, other.pk])  # the bad filter is ignored
    assert [line[1] for line in csv_lines[1:]] == [migration.practice.ods_code]
    assert 'name="check_in"' in every.content.decode()


def test_a_red_self_assessment_makes_a_green_migration_amber(
    client, migration, practice_manager, delivery_partner_user
):
    make_green(migration)
    practice_side(migration, practice_manager, rag=CheckInRag.RED)

    row = dashboard_row(client, delivery_partner_user)

    assert (row.rag, row.rag_reason) == (Rag.AMBER, "Last check-in rated red")


def test_the_rag_help_page_explains_the_check_ins(client, delivery_partner_user):
    client.force_login(delivery_partner_user)

    html = client.get(reverse("migrations:rag_help")).content.decode()

    assert "more than 9 days" in html
    assert "said red at its latest check-in" in html


# --- the check-in day -----------------------------------------------------------------------------------


def test_a_project_manager_sets_the_check_in_day_and_it_is_in_the_event_log(
    client, delivery_partner, delivery_partner_user
):
    client.force_login(delivery_partner_user)
    url = reverse("migrations:check_in_day", kwargs={"partner_pk": delivery_partner.pk})

    response = client.post(url, {"check_in_weekday": str(Weekday.WEDNESDAY)})

    assert response.status_code == 302
    delivery_partner.refresh_from_db()
    assert delivery_partner.check_in_weekday == Weekday.WEDNESDAY
    event = Event.objects.get(delivery_partner=delivery_partner, field="check_in_weekday")
    assert (event.actor, event.old_value, event.new_value) == (delivery_partner_user, "Monday", "Wednesday")


def test_a_check_in_on_the_new_day_is_for_that_week(migration, delivery_partner, delivery_partner_user):
    checkins.set_check_in_day(delivery_partner, Weekday.WEDNESDAY, by=delivery_partner_user)
    migration.practice.delivery_partner.refresh_from_db()

    check_in, _ = CheckIn.give(migration, side="delivery_partner", rag="green", note=NOTE, by=delivery_partner_user)

    assert check_in.week_on == date(2025, 4, 9)


def test_moving_the_day_mid_week_keeps_a_check_in_given_today_as_this_weeks(
    client, migration, delivery_partner, delivery_partner_user, practice_manager, time_machine
):
    # Monday's rule: the practice checks in on Monday 7 April, the delivery partner on Thursday 10th.
    move_to(time_machine, MONDAY)
    monday = practice_side(migration, practice_manager)
    move_to(time_machine, TODAY)
    today, _ = CheckIn.give(
        migration, side=CheckInSide.DELIVERY_PARTNER, rag="amber", note=NOTE, by=delivery_partner_user
    )
    earlier, _ = CheckIn.give(
        migration, side=CheckInSide.DELIVERY_PARTNER, rag="green", note=NOTE, by=delivery_partner_user
    )
    assert {monday.week_on, today.week_on} == {MONDAY}

    client.force_login(delivery_partner_user)
    client.post(
        reverse("migrations:check_in_day", kwargs={"partner_pk": delivery_partner.pk}),
        {"check_in_weekday": str(Weekday.WEDNESDAY)},
    )

    # Wednesday's rule: today's is for the week from Wednesday 9th, this week's; Monday's for the week before.
    today.refresh_from_db()
    monday.refresh_from_db()
    assert (today.week_on, monday.week_on) == (date(2025, 4, 9), date(2025, 4, 2))
    page = text(client.get(detail_url(migration)).content.decode())
    assert "Change this week's check-in" in page
    client.force_login(practice_manager)
    assert "Give this week's check-in" in text(client.get(detail_url(migration)).content.decode())


def test_moving_the_day_leaves_a_check_in_whose_new_week_has_one_of_its_side_already(
    migration, delivery_partner, delivery_partner_user, practice_manager, time_machine
):
    move_to(time_machine, TODAY)
    given = practice_side(migration, practice_manager)  # week of Monday 7 April
    # One already for the week from Wednesday 9 April (left by an earlier change of day).
    kept = CheckIn.objects.create(
        migration=migration,
        side=CheckInSide.PRACTICE,
        week_on=date(2025, 4, 9),
        rag="red",
        note=NOTE,
        given_by=practice_manager,
    )

    checkins.set_check_in_day(delivery_partner, Weekday.WEDNESDAY, by=delivery_partner_user)

    given.refresh_from_db()
    kept.refresh_from_db()
    assert (given.week_on, kept.week_on) == (MONDAY, date(2025, 4, 9))


def test_moving_the_day_leaves_earlier_weeks_and_other_partners_check_ins_alone(
    migration, delivery_partner, delivery_partner_user, practice_manager, time_machine, guide_version
):
    move_to(time_machine, MONDAY - timedelta(days=7))
    last_week = practice_side(migration, practice_manager)
    move_to(time_machine, TODAY)
    elsewhere = going_live(
        TODAY + timedelta(days=60), practice=PracticeFactory(delivery_partner=None), template_version=guide_version
    )
    other = practice_side(elsewhere, practice_manager)

    checkins.set_check_in_day(delivery_partner, Weekday.WEDNESDAY, by=delivery_partner_user)

    last_week.refresh_from_db()
    other.refresh_from_db()
    assert (last_week.week_on, other.week_on) == (MONDAY - timedelta(days=7), MONDAY)


@pytest.mark.parametrize("persona", ["practice_manager", "icb_user", "outsider"])
def test_only_the_delivery_partners_project_managers_set_its_day(client, delivery_partner, request, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(
        reverse("migrations:check_in_day", kwargs={"partner_pk": delivery_partner.pk}), {"check_in_weekday": "2"}
    )

    assert response.status_code == 404
    delivery_partner.refresh_from_db()
    assert delivery_partner.check_in_weekday == Weekday.MONDAY
