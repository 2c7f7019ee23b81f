"""Reminder e-mails are claimed before they are sent: the sweep that claims the day's digests, the
claim itself, queueing the sends, and queueing again what was lost. Who is due is decided in
due.py; the send in sending.py; sign-off requests are claimed the same way (sign_offs.py).

Exactly once, in practice:

1. **Claim.** Every e-mail is first a `Delivery` row, inserted under the unique constraint
   (recipient, kind, key) with INSERT ... ON CONFLICT DO NOTHING. Each claimer stamps its rows
   with its own token and queues only the rows that carry it, so a sweep run twice, two sweeps
   that overlap (a second beat) or a duplicated task claim each e-mail once between them.
2. **Queue** a `send_reminder_emails` task per batch of claimed rows with `transaction.on_commit`,
   so no worker looks for a row before it is committed.
3. **Send.** The task re-reads what is due now, then for each row in turn locks it while still
   "claimed" (SELECT ... FOR UPDATE SKIP LOCKED), sends, and commits the outcome. A copy of the
   task finds the row locked or no longer claimed and does nothing. A worker killed mid-batch
   leaves its unsent rows claimed (the one in flight rolls back with the connection); so does a
   broker restart that loses queued tasks. The next sweep after REMINDER_CLAIM_TIMEOUT queues such
   rows again, and gives up on rows older than REMINDER_GIVE_UP_HOURS.
4. **Failures.** A temporary SMTP failure (4xx, a dropped or refused connection) is recorded and
   retried with exponential backoff, up to REMINDER_MAX_ATTEMPTS; a permanent one (5xx) marks the
   row failed, which the admin lists.

The window left open: the SMTP server accepted the message and the worker died before its
transaction committed (the row is marked sent before the message goes, so that is one COMMIT).
The e-mail then goes again, with the same Message-ID.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import uuid4

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from migrations_app.models import Delivery
from migrations_app.reminders import due

# The package's one logger, under the name its lines had before the package: log filters keep working.
logger = logging.getLogger("migrations_app.reminders")


@dataclass(frozen=True)
class SweepResult:
    digest_day: date | None
    claimed: int
    requeued: int
    given_up: int
    queued: tuple[int, ...]


def sweep(now: datetime | None = None) -> SweepResult:
    """The periodic job. Claims the day's digests once digest time has come, queues again the
    claimed rows no worker reported on, and queues a send for each row it claimed (after commit).

    Safe to run twice or to overlap: every e-mail is claimed under the unique constraint, and a
    row stuck in "claimed" is taken by one sweep only (SKIP LOCKED, then a conditional update)."""
    now = now or timezone.now()
    token = uuid4().hex
    on = due.digest_day(now)
    recipients: dict[int, date] = {}
    # The day's digests are claimed by the first sweep from digest time (all in one transaction):
    # the sweeps after it only look for lost e-mails. Two sweeps that overlap both claim, and the
    # unique constraint keeps one row per person.
    if on and not Delivery.objects.filter(on=on, kind=Delivery.Kind.DIGEST).exists():
        # Read before the transaction: it is the long query. Each person's window start goes on
        # their row, for the send to use (see due.window_start).
        recipients = due.due_digests(on)
    with transaction.atomic():
        if recipients:
            claim(
                Delivery.Kind.DIGEST,
                list(recipients),
                key=on.isoformat(),
                on=on,
                token=token,
                now=now,
                covers_from=recipients,
            )
        given_up = _give_up_stalled(now)
        requeued = _requeue_stalled(now, token)
        queued = tuple(
            Delivery.objects.filter(claim_token=token, status=Delivery.Status.CLAIMED).values_list("pk", flat=True)
        )
        queue_sends(queued)
    result = SweepResult(on, len(queued) - requeued, requeued, given_up, queued)
    logger.info(
        "Reminder sweep: %s claimed, %s queued again, %s given up", result.claimed, result.requeued, result.given_up
    )
    return result


def claim(
    kind: str,
    recipient_ids: list[int],
    *,
    key: str,
    on: date,
    token: str,
    now: datetime,
    item_id: int | None = None,
    covers_from: Mapping[int, date] | None = None,
) -> None:
    """Insert a claimed Delivery per recipient, skipping any that exists (ON CONFLICT DO NOTHING on
    the unique constraint). The rows inserted carry `token`; rows claimed before keep theirs (and
    their digest window, `covers_from`: a second sweep cannot widen or move it)."""
    covers_from = covers_from or {}
    Delivery.objects.bulk_create(
        (
            Delivery(
                recipient_id=recipient_id,
                kind=kind,
                key=key,
                on=on,
                covers_from=covers_from.get(recipient_id),
                item_id=item_id,
                claim_token=token,
                claimed_at=now,
                next_attempt_at=now,
            )
            for recipient_id in recipient_ids
        ),
        batch_size=1000,
        ignore_conflicts=True,
    )


def _stalled(now: datetime) -> QuerySet[Delivery]:
    """Claimed rows that a worker should have picked up a while ago and never reported on."""
    cutoff = now - timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT)
    return Delivery.objects.filter(status=Delivery.Status.CLAIMED, next_attempt_at__lt=cutoff)


def _give_up_stalled(now: datetime) -> int:
    too_old = now - timedelta(hours=settings.REMINDER_GIVE_UP_HOURS)
    ids = list(
        _stalled(now).filter(claimed_at__lt=too_old).select_for_update(skip_locked=True).values_list("pk", flat=True)
    )
    return Delivery.objects.filter(pk__in=ids, status=Delivery.Status.CLAIMED).update(
        status=Delivery.Status.FAILED,
        last_error=f"Gave up: not sent within {settings.REMINDER_GIVE_UP_HOURS} hours of being claimed.",
    )


def _requeue_stalled(now: datetime, token: str) -> int:
    # A row a worker is sending right now is locked: SKIP LOCKED leaves it to that worker.
    ids = list(_stalled(now).select_for_update(skip_locked=True).values_list("pk", flat=True))
    return Delivery.objects.filter(pk__in=ids, status=Delivery.Status.CLAIMED).update(
        claim_token=token, next_attempt_at=now
    )


def queue_sends(delivery_ids) -> None:
    """Queue the sends in batches of REMINDER_BATCH_SIZE once the transaction commits."""
    from migrations_app.reminders import tasks  # the tasks call back into this package

    delivery_ids = list(delivery_ids)
    size = settings.REMINDER_BATCH_SIZE
    for start in range(0, len(delivery_ids), size):
        # robust: a broker that is down must not stop the other batches; the rows stay claimed
        # and a later sweep queues them again.
        batch = delivery_ids[start : start + size]
        transaction.on_commit(lambda batch=batch: tasks.send_reminder_emails.delay(batch), robust=True)


def retry_deliveries(delivery_ids) -> int:
    """Queue failed deliveries again (the admin's "Send again"): their attempts start afresh."""
    token = uuid4().hex
    with transaction.atomic():
        count = Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.CLAIMED, attempts=0, claim_token=token, next_attempt_at=timezone.now()
        )
        queue_sends(Delivery.objects.filter(claim_token=token).values_list("pk", flat=True))
    return count
