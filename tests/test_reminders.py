"""Reminder digests and sign-off requests, in process: what is due (lead times, weekends, bank
holidays, escalation, preferences), the claim rule, sending and its failures.

The sweep runs under time-machine at a London time, its on-commit callbacks are executed, and the
Celery tasks they queue run eagerly, so each test goes sweep -> claim -> task -> e-mail as in
production, with the e-mail caught by Django's test outbox. The real worker, beat and SMTP server
are in test_reminders_e2e.py.
"""

import smtplib
from datetime import date, datetime, timedelta
from email import message_from_bytes
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.urls import reverse
from icalendar import Calendar

from config.celery import app as celery_app
from migrations_app import digests, reminders, tasks, working_days
from migrations_app.models import (
    ChecklistItem,
    Delivery,
    ItemKind,
    ItemStatus,
    PracticeMigration,
    ReminderPreference,
    Role,
)
from tests.factories import MembershipFactory, PracticeFactory, UserFactory, make_migration

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")

# Items of the guide, by the role responsible for them.
PM_ITEMS = [
    "agree-go-live-date",
    "agree-provisional-go-live-date",
    "check-dates-against-availability",
    "secure-dates-and-peoples-time",
    "target-supplier-confirmed-go-live",
    "source-supplier-notified",
]
DP_ITEM = "dp-kick-off-meeting-held"
ICB_ITEM = "icb-delivery-partner-engaged"


def london(day: date, hour: int = 7, minute: int = 5) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def eager_tasks():
    """Tasks queued by the code under test run at once, in this process."""
    # Not propagating: a retry must run again (eagerly) rather than surface as an exception. The
    # tests look at what was sent and recorded, so a task that failed still fails the test.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def quiet(migration) -> PracticeMigration:
    """The demo migration with no item dated, so that each test dates only the items it is about."""
    migration.items.update(due_on=None)
    return migration


@pytest.fixture
def sweep_at(django_capture_on_commit_callbacks):
    """Run the sweep at a moment, with the tasks it queues after commit."""

    def run(moment: datetime) -> reminders.SweepResult:
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            return reminders.sweep()

    return run


def dated(migration: PracticeMigration, key: str, due_on: date) -> ChecklistItem:
    item = migration.items.get(key=key)
    item.due_on = due_on
    item.save(update_fields=["due_on"])
    return item


def digests_to(user) -> list:
    return [message for message in mail.outbox if message.to == [user.email] and "Migration tasks" in message.subject]


def titles_in(message) -> set[str]:
    """Which guide items' titles an e-mail mentions."""
    return {item.title for item in ChecklistItem.objects.all() if item.title in message.body}


# --- working days -------------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_englands_bank_holidays_with_substitute_days():
    assert working_days.is_working_day(date(2025, 6, 3))
    assert not working_days.is_working_day(date(2025, 6, 7))  # Saturday
    assert not working_days.is_working_day(date(2025, 5, 26))  # Spring bank holiday
    assert not working_days.is_working_day(date(2026, 12, 28))  # Boxing Day (substitute day)
    assert working_days.next_working_day(date(2025, 4, 17)) == date(2025, 4, 22)  # over Easter
    assert working_days.first_working_day_of_week(date(2025, 4, 23)) == date(2025, 4, 22)
    assert working_days.working_days_before(date(2025, 5, 29), 5) == date(2025, 5, 21)


# --- what a digest says --------------------------------------------------------------------------------


def test_digest_lists_overdue_items_and_items_reaching_each_lead_time(quiet, practice_manager, sweep_at):
    tuesday = date(2025, 6, 3)
    overdue = dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    week_ahead = dated(quiet, PM_ITEMS[1], tuesday + timedelta(days=7))
    tomorrow = dated(quiet, PM_ITEMS[2], tuesday + timedelta(days=1))
    dated(quiet, PM_ITEMS[3], tuesday + timedelta(days=3))  # between the lead times: not today
    dated(quiet, PM_ITEMS[4], tuesday + timedelta(days=8))  # its week-ahead reminder is tomorrow

    sweep_at(london(tuesday))

    [digest] = digests_to(practice_manager)
    assert titles_in(digest) == {overdue.title, week_ahead.title, tomorrow.title}
    assert "Overdue" in digest.body and "Coming up" in digest.body


def test_a_friday_digest_announces_what_reaches_its_lead_time_over_the_weekend(quiet, practice_manager, sweep_at):
    friday = date(2025, 6, 6)
    seven_from_saturday = dated(quiet, PM_ITEMS[0], date(2025, 6, 14))
    seven_from_sunday = dated(quiet, PM_ITEMS[1], date(2025, 6, 15))
    one_from_sunday = dated(quiet, PM_ITEMS[2], date(2025, 6, 9))  # Monday: reminded "a day before" on Friday
    dated(quiet, PM_ITEMS[3], date(2025, 6, 16))  # seven days from Monday: Monday's digest

    sweep_at(london(friday))
    sweep_at(london(date(2025, 6, 7)))  # Saturday: no digest
    sweep_at(london(date(2025, 6, 8)))  # Sunday: no digest

    [digest] = digests_to(practice_manager)
    assert titles_in(digest) == {seven_from_saturday.title, seven_from_sunday.title, one_from_sunday.title}


def test_no_digest_on_a_bank_holiday_and_the_working_day_before_covers_it(quiet, practice_manager, sweep_at):
    # Spring bank holiday, Monday 26 May 2025: Friday's digest covers Saturday to Monday.
    reminded_on_the_holiday = dated(quiet, PM_ITEMS[0], date(2025, 5, 27))

    sweep_at(london(date(2025, 5, 23)))
    sweep_at(london(date(2025, 5, 26)))

    [digest] = digests_to(practice_manager)
    assert digest.subject.startswith("Migration tasks for Riverside Medical Centre (H85001)")
    assert titles_in(digest) == {reminded_on_the_holiday.title}
    assert Delivery.objects.filter(on=date(2025, 5, 26)).count() == 0


@pytest.mark.parametrize(
    ("utc_moment", "due"),
    [
        (datetime(2025, 6, 3, 5, 59, tzinfo=ZoneInfo("UTC")), False),  # 06:59 British Summer Time
        (datetime(2025, 6, 3, 6, 0, tzinfo=ZoneInfo("UTC")), True),  # 07:00 BST
        (datetime(2025, 1, 7, 6, 30, tzinfo=ZoneInfo("UTC")), False),  # 06:30 GMT
        (datetime(2025, 1, 7, 7, 0, tzinfo=ZoneInfo("UTC")), True),  # 07:00 GMT
    ],
)
def test_digest_time_is_the_hour_in_london_summer_or_winter(utc_moment, due):
    assert (reminders.digest_day(utc_moment) is not None) is due


def test_the_beat_runs_the_sweep_every_five_minutes_by_the_utc_clock():
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-reminders"]

    assert entry["task"] == tasks.sweep_reminders.name
    assert entry["schedule"] == crontab(minute="*/5")
    assert settings.CELERY_TIMEZONE == "UTC" and settings.CELERY_TASK_SERIALIZER == "json"
    assert all(task.acks_late for task in (tasks.sweep_reminders, tasks.send_deliveries, tasks.request_sign_off))


def test_an_item_five_working_days_overdue_is_escalated_to_the_delivery_partner(
    quiet, practice_manager, delivery_partner_user, sweep_at
):
    # Due Wednesday 21 May 2025; the bank holiday on the 26th does not count.
    late = dated(quiet, PM_ITEMS[0], date(2025, 5, 21))

    sweep_at(london(date(2025, 5, 28)))  # 4 working days overdue
    not_yet = digests_to(delivery_partner_user)
    sweep_at(london(date(2025, 5, 29)))  # 5 working days overdue

    assert not_yet == []
    [digest] = digests_to(delivery_partner_user)
    assert late.title in digest.body
    assert "[ESCALATED]" in digest.body and "Responsible: Practice manager" in digest.body
    assert "1 escalated" in digest.subject
    assert len(digests_to(practice_manager)) == 2  # the manager hears of it every day it is overdue


def test_each_role_hears_only_of_its_own_items(
    quiet, practice_manager, practice_staff, clinical_lead, delivery_partner_user, icb_user, sweep_at
):
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    dated(quiet, DP_ITEM, tuesday - timedelta(days=1))
    icb_item = dated(quiet, ICB_ITEM, tuesday + timedelta(days=7))

    sweep_at(london(tuesday))

    assert len(digests_to(practice_manager)) == 1
    assert len(digests_to(delivery_partner_user)) == 1
    [icb_digest] = digests_to(icb_user)
    assert titles_in(icb_digest) == {icb_item.title}
    assert digests_to(practice_staff) == digests_to(clinical_lead) == []


def test_done_items_are_not_mentioned(quiet, practice_manager, sweep_at):
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=2)).complete(practice_manager)

    sweep_at(london(tuesday))

    assert digests_to(practice_manager) == []


def test_nothing_to_say_sends_nothing_and_claims_nothing(quiet, practice_manager, sweep_at):
    dated(quiet, PM_ITEMS[0], date(2025, 9, 1))

    result = sweep_at(london(date(2025, 6, 3)))

    assert mail.outbox == []
    assert result.claimed == 0 and Delivery.objects.count() == 0


# --- a day with no sweep at all is caught up ------------------------------------------------------------

# A week of June 2025 with no bank holiday: Tuesday 10 to Friday 13.
TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = (date(2025, 6, day) for day in (10, 11, 12, 13))


def covered_from_by_day() -> dict[date, date]:
    return dict(Delivery.objects.filter(kind=Delivery.Kind.DIGEST).values_list("on", "covers_from"))


def test_the_digest_after_a_day_without_a_sweep_announces_that_days_reminders_once(quiet, practice_manager, sweep_at):
    seven_from_tuesday = dated(quiet, PM_ITEMS[0], TUESDAY + timedelta(days=7))
    seven_from_wednesday = dated(quiet, PM_ITEMS[1], WEDNESDAY + timedelta(days=7))
    one_from_wednesday = dated(quiet, PM_ITEMS[2], THURSDAY)
    seven_from_thursday = dated(quiet, PM_ITEMS[3], THURSDAY + timedelta(days=7))
    seven_from_friday = dated(quiet, PM_ITEMS[4], FRIDAY + timedelta(days=7))

    sweep_at(london(TUESDAY))
    # Wednesday: beat down all day, no sweep.
    sweep_at(london(THURSDAY))
    one_from_wednesday.complete(practice_manager)  # done on the day it was due
    sweep_at(london(FRIDAY))

    tuesday, thursday, friday = digests_to(practice_manager)
    assert titles_in(tuesday) == {seven_from_tuesday.title}
    assert titles_in(thursday) == {seven_from_wednesday.title, one_from_wednesday.title, seven_from_thursday.title}
    assert titles_in(friday) == {seven_from_friday.title}
    assert "Due Wednesday 18 June 2025 (in 6 days)" in thursday.body
    assert "Due Thursday 12 June 2025 (today)" in thursday.body
    note = "No digest went out on Wednesday 11 June 2025, so this one also lists what it would have."
    assert note in thursday.body and note in thursday.alternatives[0][0]
    assert "No digest went out" not in tuesday.body + friday.body
    assert covered_from_by_day() == {TUESDAY: TUESDAY, THURSDAY: WEDNESDAY, FRIDAY: FRIDAY}


def test_the_sweep_run_twice_after_a_missed_day_sends_one_digest(quiet, practice_manager, sweep_at):
    dated(quiet, PM_ITEMS[0], TUESDAY + timedelta(days=7))
    seven_from_wednesday = dated(quiet, PM_ITEMS[1], WEDNESDAY + timedelta(days=7))

    sweep_at(london(TUESDAY))
    first = sweep_at(london(THURSDAY, 7, 5))
    second = sweep_at(london(THURSDAY, 7, 10))

    assert first.claimed == 1 and second.claimed == 0
    assert [seven_from_wednesday.title in message.body for message in digests_to(practice_manager)] == [False, True]


def test_the_first_digests_ever_do_not_reach_back(quiet, practice_manager, sweep_at):
    dated(quiet, PM_ITEMS[0], WEDNESDAY + timedelta(days=7))
    seven_from_thursday = dated(quiet, PM_ITEMS[1], THURSDAY + timedelta(days=7))

    sweep_at(london(THURSDAY))

    [digest] = digests_to(practice_manager)
    assert titles_in(digest) == {seven_from_thursday.title}
    assert covered_from_by_day() == {THURSDAY: THURSDAY}


def test_after_a_long_outage_the_digest_reaches_back_no_further_than_the_bound(quiet, practice_manager, sweep_at):
    ReminderPreference.objects.create(user=practice_manager, first_lead_days=14, second_lead_days=1)
    overdue_then = dated(quiet, PM_ITEMS[0], date(2025, 5, 21))
    bound = THURSDAY - timedelta(days=digests.CATCH_UP_DAYS)  # Monday 2 June
    dated(quiet, PM_ITEMS[1], bound - timedelta(days=1) + timedelta(days=14))  # reminded on the 1st: too long ago
    fourteen_from_the_bound = dated(quiet, PM_ITEMS[2], bound + timedelta(days=14))
    sweep_at(london(date(2025, 5, 22)))  # the last sweep before three weeks without one
    overdue_then.complete(practice_manager)

    sweep_at(london(THURSDAY))

    assert titles_in(digests_to(practice_manager)[-1]) == {fourteen_from_the_bound.title}
    assert covered_from_by_day()[THURSDAY] == bound


def test_a_missed_monday_sends_the_weekly_digest_on_the_next_day_with_a_sweep(
    quiet, practice_manager, delivery_partner_user, sweep_at
):
    ReminderPreference.objects.create(user=practice_manager, frequency=ReminderPreference.Frequency.WEEKLY)
    dated(quiet, DP_ITEM, date(2025, 6, 5))  # overdue: the delivery partner gets a daily digest
    seven_from_monday = dated(quiet, PM_ITEMS[0], date(2025, 6, 16))
    seven_from_tuesday = dated(quiet, PM_ITEMS[1], date(2025, 6, 17))

    sweep_at(london(date(2025, 6, 6)))  # Friday
    # Monday 9 June: no sweep.
    for day in (TUESDAY, WEDNESDAY, THURSDAY):
        sweep_at(london(day))

    [weekly] = digests_to(practice_manager)
    assert titles_in(weekly) == {seven_from_monday.title, seven_from_tuesday.title}
    assert "No digest went out on Monday 9 June 2025" in weekly.body
    assert Delivery.objects.get(recipient=practice_manager).covers_from == date(2025, 6, 9)
    assert len(digests_to(delivery_partner_user)) == 4


def test_a_weekend_and_bank_holiday_covered_by_fridays_digest_are_not_announced_again(
    quiet, practice_manager, sweep_at
):
    # Spring bank holiday, Monday 26 May 2025: Friday's digest covers Saturday to Monday.
    seven_from_the_holiday = dated(quiet, PM_ITEMS[0], date(2025, 6, 2))
    seven_from_tuesday = dated(quiet, PM_ITEMS[1], date(2025, 6, 3))

    sweep_at(london(date(2025, 5, 23)))
    sweep_at(london(date(2025, 5, 27)))

    friday, tuesday = digests_to(practice_manager)
    assert titles_in(friday) == {seven_from_the_holiday.title}
    assert titles_in(tuesday) == {seven_from_tuesday.title}
    assert "No digest went out" not in tuesday.body
    assert covered_from_by_day()[date(2025, 5, 27)] == date(2025, 5, 27)


def test_a_digest_claimed_without_a_window_start_works_it_out_when_sent(quiet, practice_manager, sweep_at):
    # A row claimed before Delivery.covers_from existed, sent after the upgrade.
    dated(quiet, PM_ITEMS[0], TUESDAY + timedelta(days=7))
    seven_from_wednesday = dated(quiet, PM_ITEMS[1], WEDNESDAY + timedelta(days=7))
    sweep_at(london(TUESDAY))
    reminders.claim(
        Delivery.Kind.DIGEST,
        [practice_manager.pk],
        key=THURSDAY.isoformat(),
        on=THURSDAY,
        token="before-the-upgrade",
        now=london(THURSDAY),
    )

    with time_machine.travel(london(THURSDAY), tick=False):
        reminders.send_deliveries(list(Delivery.objects.filter(on=THURSDAY).values_list("pk", flat=True)))

    assert titles_in(digests_to(practice_manager)[-1]) == {seven_from_wednesday.title}


# --- preferences ---------------------------------------------------------------------------------------


def test_weekly_digest_comes_on_monday_and_covers_the_week(quiet, practice_manager, sweep_at):
    ReminderPreference.objects.create(user=practice_manager, frequency=ReminderPreference.Frequency.WEEKLY)
    monday = date(2025, 6, 2)
    on_thursday_week = dated(quiet, PM_ITEMS[0], date(2025, 6, 12))  # its 7-day reminder falls on Thursday
    dated(quiet, PM_ITEMS[1], date(2025, 6, 16))  # 7 days from next Monday: next week's digest

    for day in range(5):
        sweep_at(london(monday + timedelta(days=day)))

    [digest] = digests_to(practice_manager)
    assert titles_in(digest) == {on_thursday_week.title}


def test_weekly_digest_comes_on_tuesday_after_a_bank_holiday_monday(quiet, practice_manager, sweep_at):
    ReminderPreference.objects.create(user=practice_manager, frequency=ReminderPreference.Frequency.WEEKLY)
    dated(quiet, PM_ITEMS[0], date(2025, 5, 20))  # overdue

    sweep_at(london(date(2025, 5, 26)))
    sweep_at(london(date(2025, 5, 27)))

    assert [message.body.count("Was due") for message in digests_to(practice_manager)] == [1]


def test_own_lead_times_are_used(quiet, practice_manager, sweep_at):
    ReminderPreference.objects.create(user=practice_manager, first_lead_days=3, second_lead_days=0)
    tuesday = date(2025, 6, 3)
    in_three_days = dated(quiet, PM_ITEMS[0], tuesday + timedelta(days=3))
    today = dated(quiet, PM_ITEMS[1], tuesday)
    dated(quiet, PM_ITEMS[2], tuesday + timedelta(days=7))

    sweep_at(london(tuesday))

    [digest] = digests_to(practice_manager)
    assert titles_in(digest) == {in_three_days.title, today.title}
    assert "(today)" in digest.body


def test_no_digest_for_someone_who_chose_none_or_unsubscribed_or_left(
    quiet, practice_manager, clinical_lead, delivery_partner_user, sweep_at
):
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=9))  # escalated to the delivery partner too
    dated(quiet, "dmd-mapping-checked", tuesday - timedelta(days=1))  # the clinical lead's
    ReminderPreference.objects.create(user=practice_manager, frequency=ReminderPreference.Frequency.NONE)
    digests.preference_for(clinical_lead).unsubscribe()
    delivery_partner_user.is_active = False
    delivery_partner_user.save()

    sweep_at(london(tuesday))

    assert mail.outbox == []


# --- exactly once ----------------------------------------------------------------------------------------


def test_the_sweep_run_twice_sends_one_email_per_person(quiet, practice_manager, delivery_partner_user, sweep_at):
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=10))

    first = sweep_at(london(tuesday, 7, 5))
    second = sweep_at(london(tuesday, 7, 10))

    assert first.claimed == 2 and second.claimed == 0
    assert len(digests_to(practice_manager)) == len(digests_to(delivery_partner_user)) == 1
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Delivery.Status.SENT, 1)}


def test_overlapping_sweeps_claim_each_person_once(quiet, practice_manager, delivery_partner_user):
    # Two sweeps that both read who is due before either inserted (two beats at the same moment).
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=10))
    recipients = digests.due_digests(tuesday)
    now = london(tuesday)

    for token in ("first-sweep", "second-sweep"):
        reminders.claim(Delivery.Kind.DIGEST, recipients, key=tuesday.isoformat(), on=tuesday, token=token, now=now)

    assert sorted(recipients) == sorted([practice_manager.pk, delivery_partner_user.pk])
    assert Delivery.objects.filter(claim_token="first-sweep").count() == 2
    assert Delivery.objects.filter(claim_token="second-sweep").count() == 0


def test_a_duplicated_send_task_sends_nothing_twice(quiet, practice_manager, django_capture_on_commit_callbacks):
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    with time_machine.travel(london(tuesday), tick=False), django_capture_on_commit_callbacks() as queued:
        result = reminders.sweep()

    for callback in queued * 2:  # the broker delivers the task twice
        callback()
    again = reminders.send_deliveries(list(result.queued))

    assert len(mail.outbox) == 1
    assert sum(again.values()) == 0  # nothing left claimed: nothing even tried


def test_an_item_done_after_the_sweep_is_not_mentioned(quiet, practice_manager, django_capture_on_commit_callbacks):
    tuesday = date(2025, 6, 3)
    done_later = dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    still_open = dated(quiet, PM_ITEMS[1], tuesday - timedelta(days=1))
    with time_machine.travel(london(tuesday), tick=False), django_capture_on_commit_callbacks() as queued:
        reminders.sweep()

    done_later.complete(practice_manager)
    for callback in queued:
        callback()

    [digest] = digests_to(practice_manager)
    assert titles_in(digest) == {still_open.title}
    assert Delivery.objects.get().items_listed == 1


def test_a_digest_with_everything_done_since_the_sweep_is_not_sent(
    quiet, practice_manager, django_capture_on_commit_callbacks
):
    tuesday = date(2025, 6, 3)
    item = dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    with time_machine.travel(london(tuesday), tick=False), django_capture_on_commit_callbacks() as queued:
        reminders.sweep()

    item.complete(practice_manager)
    for callback in queued:
        callback()

    assert mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.NOTHING_DUE


def test_a_claim_whose_task_was_lost_is_queued_again_by_a_later_sweep(
    quiet, practice_manager, django_capture_on_commit_callbacks, sweep_at
):
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    with time_machine.travel(london(tuesday), tick=False), django_capture_on_commit_callbacks():
        reminders.sweep()  # claimed, but the queued task is lost (broker restarted, worker killed)

    too_soon = sweep_at(london(tuesday, 7, 10))
    later = sweep_at(london(tuesday, 7, 20))

    assert too_soon.requeued == 0 and later.requeued == 1
    assert len(digests_to(practice_manager)) == 1
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_a_claim_never_sent_by_the_end_of_the_day_is_given_up(
    quiet, practice_manager, django_capture_on_commit_callbacks, sweep_at
):
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    with time_machine.travel(london(tuesday), tick=False), django_capture_on_commit_callbacks():
        reminders.sweep()

    result = sweep_at(london(tuesday, 19, 10))

    assert result.given_up == 1 and mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.FAILED


# --- SMTP failures -----------------------------------------------------------------------------------------


class FlakyBackend(LocmemBackend):
    """Refuses the first `failures` messages with `error`, then delivers to the test outbox."""

    failures = 0
    error: Exception = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise FlakyBackend.error
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    settings.REMINDER_RETRY_BACKOFF = 1
    return FlakyBackend


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPResponseException(421, b"Service not available, try later"),
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPRecipientsRefused({"practice.manager@example.nhs.uk": (450, b"Mailbox busy")}),
    ],
    ids=["disconnected", "421", "refused", "450"],
)
def test_a_temporary_smtp_failure_is_retried_until_delivered(error, quiet, practice_manager, flaky, sweep_at):
    flaky.failures, flaky.error = 2, error
    dated(quiet, PM_ITEMS[0], date(2025, 6, 2))

    sweep_at(london(date(2025, 6, 3)))

    assert len(digests_to(practice_manager)) == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 3)
    assert type(error).__name__ in delivery.last_error


def test_a_permanent_smtp_failure_is_marked_failed_and_listed_in_the_admin(
    quiet, practice_manager, flaky, sweep_at, admin_client
):
    flaky.failures = 1
    flaky.error = smtplib.SMTPRecipientsRefused({"practice.manager@example.nhs.uk": (550, b"No such user")})
    dated(quiet, PM_ITEMS[0], date(2025, 6, 2))

    sweep_at(london(date(2025, 6, 3)))

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)
    assert "550" in delivery.last_error
    page = admin_client.get(reverse("admin:migrations_app_delivery_changelist"), {"status__exact": "failed"})
    assert page.status_code == 200 and "practice.manager@example.nhs.uk" in page.content.decode()


def test_temporary_failures_stop_after_the_last_attempt(quiet, practice_manager, flaky, sweep_at, settings):
    flaky.failures, flaky.error = 100, smtplib.SMTPServerDisconnected("gone")
    dated(quiet, PM_ITEMS[0], date(2025, 6, 2))

    sweep_at(london(date(2025, 6, 3)))

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, settings.REMINDER_MAX_ATTEMPTS)
    assert mail.outbox == []


def test_the_admin_can_send_a_failed_email_again(
    quiet, practice_manager, flaky, sweep_at, admin_client, django_capture_on_commit_callbacks
):
    flaky.failures = 1
    flaky.error = smtplib.SMTPResponseException(554, b"Transaction failed")
    dated(quiet, PM_ITEMS[0], date(2025, 6, 2))
    sweep_at(london(date(2025, 6, 3)))
    delivery = Delivery.objects.get()

    with time_machine.travel(london(date(2025, 6, 3), 9)), django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:migrations_app_delivery_changelist"),
            {"action": "send_again", "_selected_action": [delivery.pk]},
        )

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert len(digests_to(practice_manager)) == 1


# --- the e-mail -----------------------------------------------------------------------------------------------


def test_the_digest_is_plain_text_and_html_links_to_the_item_and_carries_no_notes(quiet, practice_manager, sweep_at):
    item = dated(quiet, PM_ITEMS[0], date(2025, 6, 2))
    item.set_note(practice_manager, "Patient NHS number 943 476 5919 has a duplicate record")

    sweep_at(london(date(2025, 6, 3)))

    [digest] = digests_to(practice_manager)
    item_url = f"{settings.SITE_URL}/migrations/{quiet.pk}/items/{item.pk}/"
    html, mimetype = digest.alternatives[0]
    assert mimetype == "text/html"
    assert item_url in digest.body and f'href="{item_url}"' in html
    assert "Riverside Medical Centre (H85001)" in digest.body and "Riverside Medical Centre (H85001)" in html
    assert "943 476 5919" not in digest.body + html
    raw = message_from_bytes(digest.message().as_bytes())
    assert raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A long header is folded onto a second line, which mail clients join again.
    assert raw["List-Unsubscribe"].strip().startswith(f"<{settings.SITE_URL}/reminders/unsubscribe/")
    assert raw["Message-ID"].startswith("<delivery-")


def test_the_one_click_unsubscribe_link_stops_reminders(quiet, practice_manager, client, sweep_at):
    dated(quiet, PM_ITEMS[0], date(2025, 6, 2))
    sweep_at(london(date(2025, 6, 3)))
    [digest] = digests_to(practice_manager)
    link = digest.extra_headers["List-Unsubscribe"].strip("<>").removeprefix(settings.SITE_URL)

    unsubscribed = ReminderPreference.objects.filter(user=practice_manager, unsubscribed_at__isnull=False)
    # Followed the morning it came: the link expires (REMINDER_UNSUBSCRIBE_LINK_DAYS, test_reminder_links.py).
    with time_machine.travel(london(date(2025, 6, 3), hour=9), tick=False):
        confirm = client.get(link)
        subscribed_after_get = not unsubscribed.exists()
        one_click = client.post(link, {"List-Unsubscribe": "One-Click"})
    sweep_at(london(date(2025, 6, 4)))

    assert confirm.status_code == 200 and "Unsubscribe" in confirm.content.decode()
    assert subscribed_after_get
    assert one_click.status_code == 200
    assert unsubscribed.exists()
    assert len(digests_to(practice_manager)) == 1


def test_saving_preferences_subscribes_again(practice_manager, client):
    digests.preference_for(practice_manager).unsubscribe()
    client.force_login(practice_manager)

    page = client.get(reverse("migrations:preferences"))
    response = client.post(
        reverse("migrations:preferences"), {"frequency": "daily", "first_lead_days": "10", "second_lead_days": "2"}
    )

    assert "You unsubscribed" in page.content.decode()
    assert response.status_code == 302
    preference = ReminderPreference.objects.get(user=practice_manager)
    assert (preference.is_unsubscribed, preference.lead_days) == (False, (10, 2))


def test_preferences_refuse_lead_times_out_of_range(practice_manager, client):
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:preferences"), {"frequency": "daily", "first_lead_days": "99", "second_lead_days": "x"}
    )

    assert response.status_code == 400
    assert response.content.decode().count("Enter a whole number of days from 0 to 28") >= 2
    assert not ReminderPreference.objects.filter(user=practice_manager).exists()


# --- sign-off requests -------------------------------------------------------------------------------------------


def close_all_but_one_before(gate: ChecklistItem, by) -> ChecklistItem:
    """Mark every earlier item of the gate's phase done except the last open one, which is returned."""
    earlier = list(gate.open_dependencies().order_by("position"))
    ChecklistItem.objects.filter(pk__in=[item.pk for item in earlier[:-1]]).update(
        status=ItemStatus.DONE, completed_by=by, completed_at=datetime(2025, 4, 1, tzinfo=LONDON)
    )
    return earlier[-1]


def sign_off_requests() -> list:
    return [message for message in mail.outbox if message.subject.startswith("Ready to sign off")]


def test_completing_the_last_earlier_item_asks_the_gates_signers_at_once(
    migration,
    practice_manager,
    practice_staff,
    clinical_lead,
    delivery_partner_user,
    icb_user,
    django_capture_on_commit_callbacks,
):
    gate = migration.items.get(key="go-live-sign-off")
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_staff)

    requests = sign_off_requests()
    assert sorted(message.to[0] for message in requests) == sorted(
        [practice_manager.email, clinical_lead.email, delivery_partner_user.email]
    )
    assert gate.title[:40] in requests[0].body
    assert f"/migrations/{migration.pk}/items/{gate.pk}/" in requests[0].body


def test_the_data_sign_off_request_goes_to_the_clinical_lead_only(
    migration, practice_manager, clinical_lead, delivery_partner_user, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="data-checking-sign-off")
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_manager)

    assert [message.to for message in sign_off_requests()] == [[clinical_lead.email]]


def test_marking_the_last_earlier_item_not_applicable_asks_the_signers_at_once(
    migration, practice_manager, clinical_lead, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="data-checking-sign-off")
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.mark_not_applicable(practice_manager, "Not used at this practice.")

    assert [message.to for message in sign_off_requests()] == [[clinical_lead.email]]


def test_signing_a_gate_that_was_the_last_open_item_before_another_asks_for_the_next(
    migration, practice_manager, django_capture_on_commit_callbacks
):
    gates = list(migration.items.filter(phase__position=1, kind=ItemKind.GATE).order_by("position"))
    earlier_gate, later_gate = gates[-2], gates[-1]
    ChecklistItem.objects.filter(phase=later_gate.phase, position__lt=later_gate.position).exclude(
        pk=earlier_gate.pk
    ).update(status=ItemStatus.DONE, completed_by=practice_manager, completed_at=datetime(2025, 4, 1, tzinfo=LONDON))
    earlier_gate.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        earlier_gate.sign_off(practice_manager)

    requests = sign_off_requests()
    assert requests, "signing the earlier gate made the later one ready"
    assert all(later_gate.title[:40] in message.body for message in requests)


def test_completing_an_item_that_leaves_others_open_asks_nobody(
    migration, practice_manager, clinical_lead, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="go-live-sign-off")
    first_open = gate.open_dependencies().order_by("position").first()

    with django_capture_on_commit_callbacks(execute=True):
        first_open.complete(practice_manager)

    assert sign_off_requests() == []


def test_a_gate_is_requested_once_a_day_and_not_once_signed(
    migration, practice_manager, clinical_lead, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="data-checking-sign-off")
    last = close_all_but_one_before(gate, practice_manager)
    with time_machine.travel(london(date(2025, 4, 30), 10)), django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_manager)
        last.complete(practice_manager)  # done twice: the same day's request is not sent again

    gate.sign_off(clinical_lead)
    with django_capture_on_commit_callbacks(execute=True):
        reminders.request_sign_off(gate.pk, now=london(date(2025, 5, 1), 10))

    assert len(sign_off_requests()) == 1
    assert Delivery.objects.filter(kind=Delivery.Kind.SIGN_OFF_REQUEST).count() == 1


def test_an_unsubscribed_signer_is_not_asked(
    migration, practice_manager, clinical_lead, django_capture_on_commit_callbacks
):
    digests.preference_for(clinical_lead).unsubscribe()
    gate = migration.items.get(key="data-checking-sign-off")
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_manager)

    assert sign_off_requests() == []


# --- queries grow with recipients, not items ------------------------------------------------------------------


def practices_with_overdue_items(guide_version, count: int, items_each: int):
    """`count` practices, each with a manager and `items_each` overdue items of theirs."""
    managers = []
    for _ in range(count):
        practice = PracticeFactory()
        manager = UserFactory()
        MembershipFactory(user=manager, practice=practice, role=Role.PRACTICE_MANAGER)
        migration = make_migration(practice=practice, template_version=guide_version)
        migration.items.update(due_on=None)
        keys = list(
            migration.items.filter(responsible_role=Role.PRACTICE_MANAGER, kind=ItemKind.TASK).values_list(
                "key", flat=True
            )[:items_each]
        )
        migration.items.filter(key__in=keys).update(due_on=date(2025, 6, 2))
        managers.append(manager)
    return managers


# Digests claimed today already? (1); the last digest day before today (1); the preference plans
# in use (1); the people of the one plan (1); then in a savepoint (2): the claims (1 insert), the
# stalled rows to give up and to queue again (1 select each: none here, so no update), and the rows
# this sweep claimed (1).
SWEEP_QUERIES = 10
# The batch's claimed rows with recipients (1), their memberships (1), all their items (1); then for
# each e-mail a savepoint, the row locked, its outcome, and the savepoint released.
SEND_QUERIES_PER_BATCH = 3
SEND_QUERIES_PER_EMAIL = 4


@pytest.mark.parametrize(("recipients", "items_each"), [(1, 2), (1, 12), (4, 2), (4, 12)])
def test_sweep_and_send_queries_grow_with_recipients_not_items(
    recipients, items_each, guide_version, django_assert_num_queries, django_capture_on_commit_callbacks
):
    practices_with_overdue_items(guide_version, recipients, items_each)

    with time_machine.travel(london(date(2025, 6, 3)), tick=False):
        with django_assert_num_queries(SWEEP_QUERIES), django_capture_on_commit_callbacks() as queued:
            reminders.sweep()
        with django_assert_num_queries(SEND_QUERIES_PER_BATCH + SEND_QUERIES_PER_EMAIL * recipients):
            for callback in queued:
                callback()

    assert len(mail.outbox) == recipients
    assert set(Delivery.objects.values_list("items_listed", flat=True)) == {items_each}


# --- the calendar feed --------------------------------------------------------------------------------------------


def test_the_calendar_feed_has_the_milestones_and_the_persons_due_items(quiet, practice_manager, client, guide_version):
    own = dated(quiet, PM_ITEMS[0], date(2025, 6, 10))
    dated(quiet, DP_ITEM, date(2025, 6, 11))  # the delivery partner's, not the manager's
    make_migration(template_version=guide_version)  # another practice's
    preference = ReminderPreference.objects.create(user=practice_manager)
    preference.new_calendar_token()

    response = client.get(reverse("migrations:calendar_feed", kwargs={"token": preference.calendar_token}))

    events = Calendar.from_ical(response.content).walk("VEVENT")
    summaries = {str(event["SUMMARY"]) for event in events}
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "Go-live: Riverside Medical Centre (H85001)" in summaries
    assert f"Due: {own.title} (Riverside Medical Centre, H85001)" in summaries
    assert len(summaries) == 10  # nine milestones and the one item
    assert all(str(event["URL"]).startswith(settings.SITE_URL) for event in events)
