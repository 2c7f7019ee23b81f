"""The weekly check-in in the reminder digest: "Check-in due" on the check-in day for each side that
has not given it, "Check-in missed" once more than 9 days have passed; no separate e-mail. The
demo delivery partner's check-ins are on Mondays (the default)."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from migrations_app.models import CheckIn, ChecklistProgress, ReminderPreference
from migrations_app.models.choices import Weekday
from tests.reminders import digests_to, london

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2025, 6, 2)
NOTE = "Data checking on plan."


def started(migration, on: date) -> None:
    """Arrange: check-ins count for the migration from `on` (it was made on the real clock's day)."""
    ChecklistProgress.objects.filter(migration=migration).update(check_ins_from_on=on)


def give(migration, side: str, user, on: date) -> None:
    with time_machine.travel(datetime.combine(on, time(12), tzinfo=LONDON), tick=False):
        CheckIn.give(migration, side=side, rag="green", note=NOTE, by=user)


def test_each_side_hears_its_check_in_is_due_on_the_check_in_day(
    quiet, practice_manager, delivery_partner_user, clinical_lead, sweep_at
):
    started(quiet, date(2025, 5, 30))

    sweep_at(london(MONDAY))

    [to_manager] = digests_to(practice_manager)
    [to_partner] = digests_to(delivery_partner_user)
    assert "Check-in due" in to_manager.body
    assert "Your check-in as the practice manager is due Monday 2 June 2025." in to_manager.body
    assert "Your check-in as the delivery partner's project manager is due Monday 2 June 2025." in to_partner.body
    assert "1 check-in due" in to_manager.subject
    assert f"/migrations/{quiet.pk}/check-ins/#give-heading" in to_manager.body
    assert not digests_to(clinical_lead)  # gives no check-in
    assert len(mail.outbox) == 2  # no separate e-mail


def test_a_side_that_checked_in_hears_nothing_of_it(quiet, practice_manager, delivery_partner_user, sweep_at):
    started(quiet, date(2025, 5, 30))
    give(quiet, "practice", practice_manager, MONDAY)  # at noon, before the day's first sweep

    sweep_at(london(MONDAY, hour=13))

    assert not digests_to(practice_manager)
    assert digests_to(delivery_partner_user)


def test_no_check_in_is_due_before_the_migration_started(quiet, practice_manager, sweep_at):
    started(quiet, date(2025, 6, 3))

    sweep_at(london(MONDAY))

    assert not digests_to(practice_manager)


def test_the_check_in_day_is_the_delivery_partners(quiet, practice_manager, delivery_partner, sweep_at):
    started(quiet, date(2025, 5, 30))
    delivery_partner.check_in_weekday = Weekday.WEDNESDAY
    delivery_partner.save()

    sweep_at(london(MONDAY))
    sweep_at(london(date(2025, 6, 4)))

    [digest] = digests_to(practice_manager)
    assert "is due Wednesday 4 June 2025" in digest.body


def test_a_weekly_digest_says_the_check_in_is_due_later_in_its_week(
    quiet, practice_manager, delivery_partner, sweep_at
):
    started(quiet, date(2025, 5, 30))
    delivery_partner.check_in_weekday = Weekday.THURSDAY
    delivery_partner.save()
    ReminderPreference.objects.create(user=practice_manager, frequency=ReminderPreference.Frequency.WEEKLY)

    sweep_at(london(MONDAY))

    [digest] = digests_to(practice_manager)
    assert "is due Thursday 5 June 2025" in digest.body


def test_a_missed_check_in_is_in_both_sides_digests(quiet, practice_manager, delivery_partner_user, sweep_at):
    started(quiet, date(2025, 5, 1))
    give(quiet, "delivery_partner", delivery_partner_user, date(2025, 5, 23))  # Friday: 11 days before Tuesday

    sweep_at(london(date(2025, 6, 3)))  # Tuesday: not a check-in day

    [to_manager] = digests_to(practice_manager)
    [to_partner] = digests_to(delivery_partner_user)
    for digest in (to_manager, to_partner):
        assert "Check-in missed" in digest.body
        assert "No check-in since 23 May 2025." in digest.body
        assert "1 check-in missed" in digest.subject


def test_nine_days_after_the_last_check_in_it_is_not_missed_yet(
    quiet, practice_manager, delivery_partner_user, sweep_at
):
    started(quiet, date(2025, 5, 1))
    give(quiet, "delivery_partner", delivery_partner_user, date(2025, 5, 25))  # Sunday, 9 days before

    sweep_at(london(date(2025, 6, 3)))

    assert not digests_to(practice_manager)
    assert not digests_to(delivery_partner_user)


def test_a_migration_on_hold_has_no_check_in_to_hear_of(quiet, practice_manager, admin_user, sweep_at):
    started(quiet, date(2025, 5, 1))
    quiet.hold(admin_user, "Practice merger")

    sweep_at(london(MONDAY))

    assert not digests_to(practice_manager)
