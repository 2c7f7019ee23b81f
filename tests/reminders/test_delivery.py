"""Claiming and sending: each e-mail once, whatever runs twice, overlaps or is lost (a sweep, a
task, a worker); SMTP failures retried or recorded; the beat schedule and the tasks it names; and
queries that grow with the recipients, never with the items."""

import smtplib
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.urls import reverse

from migrations_app.models import Delivery, ItemKind, Role
from migrations_app.reminders import claims, due, sending, tasks
from tests.factories import MembershipFactory, PracticeFactory, UserFactory, make_migration
from tests.reminders import PM_ITEMS, dated, digests_to, london, titles_in

pytestmark = pytest.mark.django_db


def test_the_beat_runs_the_sweep_every_five_minutes_by_the_utc_clock():
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-reminders"]

    assert entry["task"] == tasks.sweep_reminders.name
    assert entry["schedule"] == crontab(minute="*/5")
    assert settings.CELERY_TIMEZONE == "UTC" and settings.CELERY_TASK_SERIALIZER == "json"
    assert all(task.acks_late for task in (tasks.sweep_reminders, tasks.send_reminder_emails, tasks.request_sign_off))


# The names beat and the messages on the broker know the tasks by: those they had when every task was
# in migrations_app/tasks.py, kept when the module moved (migrations_app/reminders/README.md).
REGISTERED_NAMES = {
    "migrations_app.tasks.sweep_reminders",
    "migrations_app.tasks.send_deliveries",
    "migrations_app.tasks.request_sign_off",
    "migrations_app.tasks.forget_old_sign_in_failures",
}


def test_a_worker_finds_every_task_under_the_names_beat_and_queued_messages_use():
    # A fresh process, as a worker starts: Django set up, then Celery's autodiscovery.
    script = (
        "import django; django.setup(); from config.celery import app; "
        "app.loader.import_default_modules(); print(*sorted(app.tasks))"
    )
    project = Path(__file__).resolve().parents[2]
    found = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, check=True)

    registered = set(found.stdout.split())
    assert registered >= REGISTERED_NAMES
    assert registered >= {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {tasks.sweep_reminders.name, tasks.send_reminder_emails.name, tasks.request_sign_off.name} < REGISTERED_NAMES


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
    recipients = due.due_digests(tuesday)
    now = london(tuesday)

    for token in ("first-sweep", "second-sweep"):
        claims.claim(Delivery.Kind.DIGEST, recipients, key=tuesday.isoformat(), on=tuesday, token=token, now=now)

    assert sorted(recipients) == sorted([practice_manager.pk, delivery_partner_user.pk])
    assert Delivery.objects.filter(claim_token="first-sweep").count() == 2
    assert Delivery.objects.filter(claim_token="second-sweep").count() == 0


def test_a_duplicated_send_task_sends_nothing_twice(quiet, practice_manager, django_capture_on_commit_callbacks):
    tuesday = date(2025, 6, 3)
    dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    with time_machine.travel(london(tuesday), tick=False), django_capture_on_commit_callbacks() as queued:
        result = claims.sweep()

    for callback in queued * 2:  # the broker delivers the task twice
        callback()
    again = sending.send_deliveries(list(result.queued))

    assert len(mail.outbox) == 1
    assert sum(again.values()) == 0  # nothing left claimed: nothing even tried


def test_an_item_done_after_the_sweep_is_not_mentioned(quiet, practice_manager, django_capture_on_commit_callbacks):
    tuesday = date(2025, 6, 3)
    done_later = dated(quiet, PM_ITEMS[0], tuesday - timedelta(days=1))
    still_open = dated(quiet, PM_ITEMS[1], tuesday - timedelta(days=1))
    with time_machine.travel(london(tuesday), tick=False), django_capture_on_commit_callbacks() as queued:
        claims.sweep()

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
        claims.sweep()

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
        claims.sweep()  # claimed, but the queued task is lost (broker restarted, worker killed)

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
        claims.sweep()

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


def test_sending_again_e_mails_that_had_not_failed_says_none_was_sent(quiet, practice_manager, sweep_at, admin_client):
    dated(quiet, PM_ITEMS[0], date(2025, 6, 2))
    sweep_at(london(date(2025, 6, 3)))
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT

    page = admin_client.post(
        reverse("admin:migrations_app_delivery_changelist"),
        {"action": "send_again", "_selected_action": [delivery.pk]},
        follow=True,
    ).content.decode()

    assert "None of the selected e-mails had failed, so none was sent again." in page
    assert "messagelist" in page and 'class="warning"' in page
    assert len(digests_to(practice_manager)) == 1


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
# The batch's claimed rows with recipients (1), their memberships (1), all their items (1), the
# migrations whose weekly check-in they give (1); then for each e-mail a savepoint, the row locked,
# its outcome, and the savepoint released.
SEND_QUERIES_PER_BATCH = 4
SEND_QUERIES_PER_EMAIL = 4


@pytest.mark.parametrize(("recipients", "items_each"), [(1, 2), (1, 12), (4, 2), (4, 12)])
def test_sweep_and_send_queries_grow_with_recipients_not_items(
    recipients, items_each, guide_version, django_assert_num_queries, django_capture_on_commit_callbacks
):
    practices_with_overdue_items(guide_version, recipients, items_each)

    with time_machine.travel(london(date(2025, 6, 3)), tick=False):
        with django_assert_num_queries(SWEEP_QUERIES), django_capture_on_commit_callbacks() as queued:
            claims.sweep()
        with django_assert_num_queries(SEND_QUERIES_PER_BATCH + SEND_QUERIES_PER_EMAIL * recipients):
            for callback in queued:
                callback()

    assert len(mail.outbox) == recipients
    assert set(Delivery.objects.values_list("items_listed", flat=True)) == {items_each}
