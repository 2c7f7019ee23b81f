"""Reminder e-mails: the sweep that claims them, the send that records them, and sign-off
requests. What a digest says is decided in digests.py; how an e-mail reads, in reminder_emails.py.

Exactly once, in practice:

1. **Claim.** Every e-mail is first a `Delivery` row, inserted under the unique constraint
   (recipient, kind, key) with INSERT ... ON CONFLICT DO NOTHING. Each claimer stamps its rows
   with its own token and queues only the rows that carry it, so a sweep run twice, two sweeps
   that overlap (a second beat) or a duplicated task claim each e-mail once between them.
2. **Queue** a `send_deliveries` task per batch of claimed rows with `transaction.on_commit`,
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
import smtplib
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from migrations_app import access, digests, reminder_emails, working_days
from migrations_app.models import (
    ChecklistItem,
    Delivery,
    ItemKind,
    ItemStatus,
    PracticeMigration,
    User,
)

logger = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
# The longest wait between two attempts: below the broker's visibility timeout (an hour), so a
# retry waiting in a worker is not handed to a second one.
MAX_RETRY_WAIT = 30 * 60


class DeliveryDeferred(Exception):
    """A temporary failure was recorded; `delivery_ids` are to be tried again in `retry_in` seconds."""

    def __init__(self, delivery_ids: list[int], retry_in: int, error: str) -> None:
        super().__init__(f"Deliveries {delivery_ids}: {error}; next attempt in {retry_in}s")
        self.delivery_ids, self.retry_in, self.error = delivery_ids, retry_in, error


# --- the sweep -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    digest_day: date | None
    claimed: int
    requeued: int
    given_up: int
    queued: tuple[int, ...]


def digest_day(now: datetime) -> date | None:
    """The local date whose digests are due at `now`, or None: on a working day in England (not
    a bank holiday) from REMINDER_DIGEST_HOUR, Europe/London time. The beat runs the sweep by the
    UTC clock; deciding here by local time means a clock change neither skips nor doubles a day."""
    local = timezone.localtime(now, LONDON)
    if working_days.is_working_day(local.date()) and local.hour >= settings.REMINDER_DIGEST_HOUR:
        return local.date()
    return None


def sweep(now: datetime | None = None) -> SweepResult:
    """The periodic job. Claims the day's digests once digest time has come, queues again the
    claimed rows no worker reported on, and queues a send for each row it claimed (after commit).

    Safe to run twice or to overlap: every e-mail is claimed under the unique constraint, and a
    row stuck in "claimed" is taken by one sweep only (SKIP LOCKED, then a conditional update)."""
    now = now or timezone.now()
    token = uuid4().hex
    on = digest_day(now)
    recipients: dict[int, date] = {}
    # The day's digests are claimed by the first sweep from digest time (all in one transaction):
    # the sweeps after it only look for lost e-mails. Two sweeps that overlap both claim, and the
    # unique constraint keeps one row per person.
    if on and not Delivery.objects.filter(on=on, kind=Delivery.Kind.DIGEST).exists():
        # Read before the transaction: it is the long query. Each person's window start goes on
        # their row, for the send to use (see digests.window_start).
        recipients = digests.due_digests(on)
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
        _queue_sends(queued)
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


def _queue_sends(delivery_ids) -> None:
    """Queue the sends in batches of REMINDER_BATCH_SIZE once the transaction commits."""
    from migrations_app import tasks  # the tasks module imports this one

    delivery_ids = list(delivery_ids)
    size = settings.REMINDER_BATCH_SIZE
    for start in range(0, len(delivery_ids), size):
        # robust: a broker that is down must not stop the other batches; the rows stay claimed
        # and a later sweep queues them again.
        batch = delivery_ids[start : start + size]
        transaction.on_commit(lambda batch=batch: tasks.send_deliveries.delay(batch), robust=True)


def retry_deliveries(delivery_ids) -> int:
    """Queue failed deliveries again (the admin's "Send again"): their attempts start afresh."""
    token = uuid4().hex
    with transaction.atomic():
        count = Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.CLAIMED, attempts=0, claim_token=token, next_attempt_at=timezone.now()
        )
        _queue_sends(Delivery.objects.filter(claim_token=token).values_list("pk", flat=True))
    return count


# --- sending ---------------------------------------------------------------------------------------------


def send_deliveries(delivery_ids: list[int]) -> Counter:
    """Send a batch of claimed e-mails one at a time, recording each outcome as it goes; returns
    how many were sent, had nothing to say, failed, or were skipped.

    What each e-mail says is read once for the batch, now - not when it was claimed - so an item
    done after the sweep is not mentioned. Then each row in turn is locked while still claimed
    (SELECT ... FOR UPDATE SKIP LOCKED), sent over the batch's one SMTP connection, and its outcome
    committed before the next: a worker killed mid-batch leaves only uncommitted rows claimed, for
    a later sweep to queue again, and a copy of the task running at the same time skips the rows
    the other holds or has recorded. A temporary failure stops the batch: DeliveryDeferred carries
    the rows still to send, for the task to retry after the backoff."""
    pending = list(
        Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.CLAIMED)
        .select_related("recipient__reminder_preference")
        .order_by("pk")
    )
    outcomes: Counter = Counter()
    if not pending:
        return outcomes
    messages = compose(pending)
    connection = get_connection()
    try:
        for position, delivery in enumerate(pending):
            outcome, deferred = _send_one(delivery.pk, messages[delivery.pk], connection)
            outcomes[outcome] += 1
            if deferred is not None:
                remaining = [each.pk for each in pending[position:]]
                # Rows not tried yet wait for the retry too, rather than look lost to the sweep.
                Delivery.objects.filter(pk__in=remaining[1:], status=Delivery.Status.CLAIMED).update(
                    next_attempt_at=timezone.now() + timedelta(seconds=deferred.retry_in)
                )
                raise DeliveryDeferred(remaining, deferred.retry_in, deferred.error)
    finally:
        _close_quietly(connection)
    return outcomes


def _send_one(delivery_id: int, composed: "Composed", connection) -> tuple[str, DeliveryDeferred | None]:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status=Delivery.Status.CLAIMED)
            .first()
        )
        if delivery is None:
            return "skipped", None
        if composed.message is None:
            delivery.status, delivery.last_error = Delivery.Status.NOTHING_DUE, ""
            delivery.save(update_fields=["status", "last_error"])
            return delivery.status, None
        # "Sent" is written before the message goes and committed as soon as the server accepts
        # it: a worker that dies between the two is the one way an e-mail goes twice, so the gap is
        # kept to the COMMIT alone. (last_error stays: "sent at the third attempt, after 421 ...".)
        delivery.attempts += 1
        delivery.status, delivery.sent_at = Delivery.Status.SENT, timezone.now()
        delivery.items_listed = composed.items_listed
        delivery.save(update_fields=["status", "sent_at", "attempts", "items_listed"])
        try:
            connection.open()
            connection.send_messages([composed.message])
        except Exception as error:
            delivery.status, delivery.sent_at = Delivery.Status.CLAIMED, None
            deferred = _record_failure(delivery, error)
            return (delivery.status if deferred is None else "deferred"), deferred
        return delivery.status, None


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # the server went away: nothing to close cleanly
        logger.warning("Closing the SMTP connection failed", exc_info=True)


def _record_failure(delivery: Delivery, error: Exception) -> DeliveryDeferred | None:
    delivery.last_error = f"{type(error).__name__}: {error}"[:2000]
    if is_temporary(error) and delivery.attempts < settings.REMINDER_MAX_ATTEMPTS:
        retry_in = min(settings.REMINDER_RETRY_BACKOFF * 2 ** (delivery.attempts - 1), MAX_RETRY_WAIT)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        delivery.save(update_fields=["status", "sent_at", "attempts", "last_error", "next_attempt_at"])
        logger.warning("Reminder %s not sent, retrying in %ss: %s", delivery.pk, retry_in, delivery.last_error)
        return DeliveryDeferred([delivery.pk], retry_in, delivery.last_error)
    delivery.status = Delivery.Status.FAILED
    delivery.save(update_fields=["status", "sent_at", "attempts", "last_error"])
    logger.error("Reminder %s failed: %s", delivery.pk, delivery.last_error)
    return None


def is_temporary(error: Exception) -> bool:
    """Worth trying again later: a 4xx reply, a refused, dropped or timed-out connection. A 5xx
    reply (mailbox unknown, message refused) and anything unexpected are permanent."""
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | SoftTimeLimitExceeded):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPException):
        return False
    return isinstance(error, OSError)  # ConnectionError, TimeoutError, socket errors


# --- composing e-mails -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Composed:
    """An e-mail ready to send, or None when there is nothing to say any more."""

    message: EmailMultiAlternatives | None
    items_listed: int = 0


def compose(deliveries: list[Delivery]) -> dict[int, Composed]:
    """The e-mail of each delivery as things stand now, keyed by delivery id: nothing when the
    items were done since the sweep, the gate was signed, or the person unsubscribed. The digests
    of a batch cost two queries whatever its size (digests.build_digests); `deliveries` come with
    their recipient and preference."""
    composed: dict[int, Composed] = {}
    by_day: dict[date, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        if delivery.kind == Delivery.Kind.DIGEST:
            by_day[delivery.on].append(delivery)
        else:
            composed[delivery.pk] = _sign_off_composed(delivery)
    for on, group in by_day.items():
        built = digests.build_digests(
            [delivery.recipient for delivery in group],
            on,
            covers_from={delivery.recipient_id: delivery.covers_from for delivery in group},
        )
        for delivery in group:
            digest = built[delivery.recipient_id]
            composed[delivery.pk] = (
                Composed(None)
                if digest.is_empty
                else Composed(reminder_emails.digest_message(delivery, digest), digest.item_count)
            )
    return composed


def _sign_off_composed(delivery: Delivery) -> Composed:
    gate = ChecklistItem.objects.select_related("migration__practice", "phase").filter(pk=delivery.item_id).first()
    recipient = delivery.recipient
    if gate is None or not is_ready_to_sign(gate) or not signers_of(gate).filter(pk=recipient.pk).exists():
        return Composed(None)
    return Composed(reminder_emails.sign_off_message(delivery, recipient, gate), 1)


# --- sign-off requests ---------------------------------------------------------------------------------------


def is_ready_to_sign(gate: ChecklistItem) -> bool:
    """An open gate of an unfinished migration whose earlier items are all closed."""
    return (
        gate.is_gate
        and gate.is_open
        and gate.migration.status == PracticeMigration.Status.ACTIVE
        and not gate.open_dependencies().exists()
    )


def signers_of(gate: ChecklistItem) -> QuerySet[User]:
    """The people who may sign the gate (access.signers_of), less those who unsubscribed."""
    return access.signers_of(gate).exclude(reminder_preference__unsubscribed_at__isnull=False)


def gates_made_ready_by(item_id: int) -> list[int]:
    """Open gates of the item's phase, after it, with no open item before them: the gates that
    closing this item (now done or not applicable) made ready to sign. One query."""
    completed = ChecklistItem.objects.filter(pk=item_id, status__in=[ItemStatus.DONE, ItemStatus.NOT_APPLICABLE])
    earlier_open = ChecklistItem.objects.open().filter(phase_id=OuterRef("phase_id"), position__lt=OuterRef("position"))
    return list(
        ChecklistItem.objects.open()
        .filter(
            kind=ItemKind.GATE,
            migration__status=PracticeMigration.Status.ACTIVE,
            phase_id=Subquery(completed.values("phase_id")),
            position__gt=Subquery(completed.values("position")),
        )
        .exclude(Exists(earlier_open))
        .values_list("pk", flat=True)
    )


def queue_sign_off_requests(item_id: int) -> None:
    """Run once the transaction that closed an item (ChecklistItem.complete(), mark_not_applicable()
    or sign_off()) has committed: queue a sign-off request for each gate this made ready."""
    from migrations_app import tasks  # the tasks module imports this one

    for gate_id in gates_made_ready_by(item_id):
        tasks.request_sign_off.delay(gate_id)


def request_sign_off(gate_id: int, now: datetime | None = None) -> tuple[int, ...]:
    """Claim a sign-off request e-mail to each person who may sign the gate - at most one per
    gate, person and day - and queue them after commit. Returns the rows claimed."""
    gate = ChecklistItem.objects.select_related("migration__practice").filter(pk=gate_id).first()
    if gate is None or not is_ready_to_sign(gate):
        return ()
    now = now or timezone.now()
    on = timezone.localtime(now, LONDON).date()
    token = uuid4().hex
    signers = list(signers_of(gate).values_list("pk", flat=True))
    with transaction.atomic():
        claim(
            Delivery.Kind.SIGN_OFF_REQUEST,
            signers,
            key=f"{gate.pk}:{on.isoformat()}",
            on=on,
            token=token,
            now=now,
            item_id=gate.pk,
        )
        claimed = tuple(Delivery.objects.filter(claim_token=token).values_list("pk", flat=True))
        _queue_sends(claimed)
    return claimed
