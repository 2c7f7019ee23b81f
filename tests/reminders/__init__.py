"""Reminders in process: what is due (test_due), what a digest says and to whom (test_digests,
test_catch_up), claiming and sending (test_delivery), the e-mail and the reminder settings
(test_emails), sign-off requests and the calendar feed. The sweep runs under time-machine at a
London time, its on-commit callbacks are executed, and the Celery tasks they queue run eagerly
(conftest.py), so each test goes sweep -> claim -> task -> e-mail as in production, with the e-mail
caught by Django's test outbox. The links' expiry is in tests/test_reminder_links.py; the real
worker, beat and SMTP server in tests/test_reminders_e2e.py.

This module holds what the tests share besides fixtures: the guide's items by role, a London
clock, dating an item, and reading the outbox.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core import mail

from migrations_app.models import ChecklistItem, PracticeMigration

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
