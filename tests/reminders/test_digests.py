"""What a digest says and who gets one: overdue items and each lead time, weekends and bank
holidays, escalation to the delivery partner, each role's own items, and the person's preferences
(daily or weekly, their own lead times, none)."""

from datetime import date, timedelta

import pytest
from django.core import mail

from migrations_app import access
from migrations_app.models import Delivery, ReminderPreference, Role
from migrations_app.reminders import due
from tests.factories import MembershipFactory
from tests.reminders import DP_ITEM, ICB_ITEM, PM_ITEMS, dated, digests_to, london, titles_in

pytestmark = pytest.mark.django_db


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
    due.preference_for(clinical_lead).unsubscribe()
    delivery_partner_user.is_active = False
    delivery_partner_user.save()

    sweep_at(london(tuesday))

    assert mail.outbox == []


# --- named owners ----------------------------------------------------------------------------------------


def owned_by(item, owner, by):
    item.assign_owner(by, owner, memberships=access.owner_memberships(item))
    return item


def test_an_owned_item_goes_to_its_owner_and_not_to_the_others_in_its_role(
    quiet, practice_manager, practice_staff, sweep_at
):
    tuesday = date(2025, 6, 3)
    second_manager = MembershipFactory(practice=quiet.practice, role=Role.PRACTICE_MANAGER).user
    owned = owned_by(dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1)), practice_staff, practice_manager)
    unowned = dated(quiet, PM_ITEMS[1], tuesday + timedelta(days=7))

    sweep_at(london(tuesday))

    [staff_digest] = digests_to(practice_staff)
    assert titles_in(staff_digest) == {owned.title}
    assert "Overdue" in staff_digest.body
    for manager in (practice_manager, second_manager):
        [digest] = digests_to(manager)
        assert titles_in(digest) == {unowned.title}


def test_an_owned_item_is_still_escalated_to_the_delivery_partner(
    quiet, practice_manager, practice_staff, delivery_partner_user, sweep_at
):
    late = owned_by(dated(quiet, PM_ITEMS[0], date(2025, 5, 21)), practice_staff, practice_manager)

    sweep_at(london(date(2025, 5, 29)))  # 5 working days overdue

    [digest] = digests_to(delivery_partner_user)
    assert late.title in digest.body and "[ESCALATED]" in digest.body
    assert "Responsible: Practice manager (owner: Sam Staff)." in digest.body  # whom to chase
    assert len(digests_to(practice_staff)) == 1 and digests_to(practice_manager) == []


def test_an_owner_who_left_the_practice_hears_nothing_more_of_its_items(
    quiet, other_migration, practice_manager, practice_staff, sweep_at
):
    # Nobody of another practice can be named (tests/test_owners.py); someone who leaves without their
    # items being handed back (hand_back_to_role) is no longer told about them either.
    tuesday = date(2025, 6, 3)
    owned_by(dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1)), practice_staff, practice_manager)
    MembershipFactory(user=practice_staff, practice=other_migration.practice, role=Role.PRACTICE_MANAGER)
    practice_staff.memberships.filter(practice=quiet.practice).delete()

    sweep_at(london(tuesday))

    [digest] = digests_to(practice_staff)  # of the other practice's items, overdue by its milestones
    assert other_migration.practice.name in digest.body
    assert "Riverside Medical Centre" not in digest.subject + digest.body
