"""Reminders pause with the migration: while it is on hold (and once it is cancelled) no digest
mentions its items, escalation included, no sign-off request goes out for its gates, and the
calendar feed leaves it out. Resumed, it is reminded of again."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from migrations_app.models import Delivery, ReminderPreference
from migrations_app.reminders import due, sign_offs
from tests.reminders import PM_ITEMS, dated, digests_to, london, titles_in

pytestmark = pytest.mark.django_db

TUESDAY = date(2025, 6, 3)
HOLD_REASON = "Waiting for the new supplier to agree a go-live date"


def pause(migration, how: str, by) -> None:
    if how == "on hold":
        migration.hold(by, HOLD_REASON)
    else:
        migration.cancel(by, "The practice merged with its neighbour")


def sign_off_requests() -> list:
    return [message for message in mail.outbox if message.subject.startswith("Ready to sign off")]


@pytest.mark.parametrize("how", ["on hold", "cancelled"])
def test_no_digest_mentions_a_paused_migrations_items(how, quiet, practice_manager, delivery_partner_user, sweep_at):
    dated(quiet, PM_ITEMS[0], TUESDAY - timedelta(days=14))  # overdue, and escalated to the delivery partner
    dated(quiet, PM_ITEMS[1], TUESDAY + timedelta(days=7))  # reaching its lead time
    pause(quiet, how, delivery_partner_user)

    sweep_at(london(TUESDAY))

    assert digests_to(practice_manager) == []
    assert digests_to(delivery_partner_user) == []
    assert not Delivery.objects.exists()
    assert not due.open_items().filter(migration=quiet).exists()


def test_a_resumed_migration_is_in_the_next_digest(quiet, practice_manager, delivery_partner_user, sweep_at):
    overdue = dated(quiet, PM_ITEMS[0], TUESDAY - timedelta(days=1))
    quiet.hold(delivery_partner_user, HOLD_REASON)
    quiet.resume(delivery_partner_user)

    sweep_at(london(TUESDAY))

    [digest] = digests_to(practice_manager)
    assert titles_in(digest) == {overdue.title}


def test_no_sign_off_request_goes_out_for_a_gate_of_a_migration_on_hold(
    migration, practice_manager, clinical_lead, delivery_partner_user, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="data-checking-sign-off")
    *done, last = list(gate.open_dependencies().order_by("position"))
    for item in done:
        item.complete(practice_manager)
    migration.hold(delivery_partner_user, HOLD_REASON)

    with django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_manager)
        requested = sign_offs.request_sign_off(gate.pk)

    assert requested == ()
    assert sign_off_requests() == []
    assert due.gates_made_ready_by(last.pk) == []


@pytest.mark.parametrize("how", ["on hold", "cancelled"])
def test_the_calendar_feed_leaves_a_paused_migration_out(how, quiet, practice_manager, delivery_partner_user, client):
    dated(quiet, PM_ITEMS[0], date(2025, 6, 10))
    preference = ReminderPreference.objects.create(user=practice_manager)
    preference.new_calendar_token()
    url = reverse("migrations:calendar_feed", kwargs={"token": preference.calendar_token})
    before = Calendar.from_ical(client.get(url).content).walk("VEVENT")
    pause(quiet, how, delivery_partner_user)

    after = Calendar.from_ical(client.get(url).content).walk("VEVENT")

    assert len(before) == 10  # nine milestones and the item
    assert after == []
