"""End to end: a real Celery worker and beat, as separate processes, on the real broker (Redis) and
the test database (PostgreSQL), sending to an SMTP server this test starts. Due items must produce
exactly one digest per person, also when the worker is killed with SIGKILL in the middle of a
batch, and when two beat processes run at once.

These need PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL): the processes share the test
database, which SQLite keeps in memory. Without them the tests are skipped - unless
REQUIRE_REAL_SERVICES=1 (CI), where they fail instead.
"""

import os
import signal
from datetime import date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
import redis
import time_machine
from django.conf import settings
from django.db import connection

from migrations_app.models import Delivery, ItemKind, ItemStatus, Role, User
from migrations_app.reminders import due, tasks
from tests.factories import MembershipFactory, PracticeFactory, UserFactory, make_migration
from tests.reminder_harness import Celery, SmtpSink, database_url, forget_queue, shift_to, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# A Tuesday morning in London, just after the digests fall due.
DIGEST_DAY = date(2025, 6, 3)
MORNING = datetime(2025, 6, 3, 7, 0, 30, tzinfo=ZoneInfo("Europe/London"))
DIGEST = "Migration tasks"


@pytest.fixture
def real_services():
    """Skip (or, with REQUIRE_REAL_SERVICES=1, fail) unless on PostgreSQL and a reachable Redis."""
    problems = []
    if connection.vendor != "postgresql":
        problems.append(f"the database is {connection.vendor}, not PostgreSQL")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        problems.append(f"the broker is {settings.CELERY_BROKER_URL}, not Redis")
    else:
        try:
            redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping()
        except redis.RedisError as error:
            problems.append(f"Redis does not answer: {error}")
    if problems:
        message = "End-to-end reminder tests need PostgreSQL and Redis: " + "; ".join(problems)
        if os.environ.get("REQUIRE_REAL_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def celery(real_services, tmp_path):
    """Worker and beat processes (started by the test) on the test database and the broker of the
    settings, on a queue of their own, and an SMTP sink. Yields (processes, sink, queue);
    everything is stopped afterwards."""
    queue = f"reminders-e2e-{uuid4().hex[:8]}"
    sink = SmtpSink(delay=0.05)
    processes = Celery(
        {
            "DATABASE_URL": database_url(connection.settings_dict),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "EMAIL_URL": sink.url,
            "SHIFT_CLOCK_SECONDS": str(shift_to(MORNING)),
            "REMINDER_SWEEP_SECONDS": "1",
            "REMINDER_CLAIM_TIMEOUT": "4",
            "REMINDER_RETRY_BACKOFF": "1",
            "REMINDER_BATCH_SIZE": "4",
            "DATABASE_CONN_MAX_AGE": "0",
            "LOG_LEVEL": "INFO",
        },
        tmp_path,
    )
    with sink:
        try:
            yield processes, sink, queue
        finally:
            processes.stop()
            forget_queue(redis.Redis.from_url(settings.CELERY_BROKER_URL), queue)


@pytest.fixture
def due_people(guide_version, delivery_partner_user):
    """Twelve practices, each with a manager with two overdue items; one practice's are overdue a
    week, so the delivery partner's project manager gets a digest too. Returns who is due."""
    with time_machine.travel(MORNING):
        for number in range(12):
            practice = PracticeFactory(delivery_partner=delivery_partner_user.memberships.get().delivery_partner)
            MembershipFactory(user=UserFactory(), practice=practice, role=Role.PRACTICE_MANAGER)
            migration = make_migration(practice=practice, template_version=guide_version)
            migration.items.update(due_on=None)
            overdue_by = timedelta(days=9 if number == 0 else 1)
            keys = migration.items.filter(responsible_role=Role.PRACTICE_MANAGER, kind=ItemKind.TASK)
            migration.items.filter(pk__in=keys.values("pk")[:2]).update(due_on=DIGEST_DAY - overdue_by)
        recipients = due.due_digests(DIGEST_DAY)
    emails = set(User.objects.filter(pk__in=recipients).values_list("email", flat=True))
    assert len(emails) == 13
    return emails


def assert_exactly_one_each(sink: SmtpSink, emails: set[str]) -> None:
    counts = sink.per_recipient(DIGEST)
    assert set(counts) == emails, f"missing {emails - set(counts)}, unexpected {set(counts) - emails}"
    assert set(counts.values()) == {1}, f"duplicated: { {to: n for to, n in counts.items() if n > 1} }"
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_due_items_produce_exactly_one_digest_per_person(celery, due_people):
    processes, sink, _ = celery
    processes.worker()
    processes.beat()

    delivered = wait_for(lambda: set(sink.per_recipient(DIGEST)) >= due_people, timeout=60)
    # Beat keeps sweeping every second: a few more sweeps must send nothing more.
    swept_again = processes.wait_for_sweeps(3)

    assert delivered, processes.log("worker")[-3000:]
    assert swept_again, processes.log("worker")[-3000:]
    assert_exactly_one_each(sink, due_people)
    assert processes.log("beat").count("Sending due task sweep-reminders") >= 4


def test_a_sign_off_request_goes_out_at_once_through_the_worker(
    celery, migration, clinical_lead, practice_manager, monkeypatch
):
    processes, sink, queue = celery
    # This process queues the request: on the workers' queue.
    monkeypatch.setattr(
        tasks.request_sign_off, "delay", lambda gate_id: tasks.request_sign_off.apply_async((gate_id,), queue=queue)
    )
    processes.worker()
    gate = migration.items.get(key="data-checking-sign-off")
    earlier = list(gate.open_dependencies().order_by("position"))
    migration.items.filter(pk__in=[item.pk for item in earlier[:-1]]).update(
        status=ItemStatus.DONE, completed_by=practice_manager, completed_at=MORNING
    )

    earlier[-1].complete(practice_manager)  # autocommit here: on_commit runs at once

    assert wait_for(lambda: sink.caught("Ready to sign off"), timeout=45), processes.log("worker")[-3000:]
    [request] = sink.caught("Ready to sign off")
    assert request.to == clinical_lead.email


def test_a_worker_killed_mid_batch_still_delivers_every_digest_once(celery, due_people):
    processes, sink, _ = celery
    sink.delay = 0.3  # slow enough to kill the worker with batches in flight
    worker = processes.worker()
    processes.beat()

    # Killed with both pool processes in the middle of a batch, each waiting on the SMTP server
    # with a message not yet accepted.
    mid_batch = wait_for(lambda: len(sink.caught(DIGEST)) >= 2 and sink.in_rcpt == 2, timeout=60, interval=0.01)
    processes.kill(worker, signal.SIGKILL)
    assert mid_batch, processes.log("worker")[-3000:]
    left_claimed = Delivery.objects.filter(status=Delivery.Status.CLAIMED).count()
    sink.delay = 0.05
    processes.worker("worker-restarted")
    delivered = wait_for(lambda: set(sink.per_recipient(DIGEST)) >= due_people, timeout=60)
    swept_again = processes.wait_for_sweeps(3, worker="worker-restarted")

    assert left_claimed > 0, "the worker was killed after the last batch: nothing was left to send"
    assert delivered, processes.log("worker-restarted")[-3000:]
    assert swept_again, processes.log("worker-restarted")[-3000:]
    assert_exactly_one_each(sink, due_people)


def test_two_beat_processes_still_send_one_digest_each(celery, due_people):
    processes, sink, _ = celery
    processes.worker()
    processes.beat("beat-1")
    processes.beat("beat-2")

    delivered = wait_for(lambda: set(sink.per_recipient(DIGEST)) >= due_people, timeout=60)
    swept_again = processes.wait_for_sweeps(3)

    assert delivered, processes.log("worker")[-3000:]
    assert swept_again, processes.log("worker")[-3000:]
    assert_exactly_one_each(sink, due_people)
    # The worker's three sweeps may come from one beat's sends before the other's third: wait for both.
    assert wait_for(
        lambda: all(
            processes.log(beat).count("Sending due task sweep-reminders") >= 3 for beat in ("beat-1", "beat-2")
        ),
        timeout=60,
    )
