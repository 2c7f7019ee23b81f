"""A working day with no sweep at all (beat down all day, a failed deploy) is caught up by the next
digest, once: each lead time is announced once, never skipped, never more than CATCH_UP_DAYS back
(due.window_start)."""

from datetime import date, timedelta

import pytest
import time_machine

from migrations_app.models import Delivery, ReminderPreference
from migrations_app.reminders import claims, due, sending
from tests.reminders import DP_ITEM, PM_ITEMS, dated, digests_to, london, titles_in

pytestmark = pytest.mark.django_db

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
    bound = THURSDAY - timedelta(days=due.CATCH_UP_DAYS)  # Monday 2 June
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
    claims.claim(
        Delivery.Kind.DIGEST,
        [practice_manager.pk],
        key=THURSDAY.isoformat(),
        on=THURSDAY,
        token="before-the-upgrade",
        now=london(THURSDAY),
    )

    with time_machine.travel(london(THURSDAY), tick=False):
        sending.send_deliveries(list(Delivery.objects.filter(on=THURSDAY).values_list("pk", flat=True)))

    assert titles_in(digests_to(practice_manager)[-1]) == {seven_from_wednesday.title}
