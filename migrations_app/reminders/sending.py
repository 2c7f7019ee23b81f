"""Sending claimed reminder e-mails (see claims.py for the protocol): each row locked while still
claimed, sent, and its outcome committed; temporary SMTP failures retried, permanent ones recorded.
What each e-mail says is read again at send time, by due.py's rule.
"""

import logging
import smtplib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from migrations_app.models import ChecklistItem, Delivery
from migrations_app.reminders import digests, due, emails

# The package's one logger, under the name its lines had before the package: log filters keep working.
logger = logging.getLogger("migrations_app.reminders")

# The longest wait between two attempts: below the broker's visibility timeout (an hour), so a
# retry waiting in a worker is not handed to a second one.
MAX_RETRY_WAIT = 30 * 60


class DeliveryDeferred(Exception):
    """A temporary failure was recorded; `delivery_ids` are to be tried again in `retry_in` seconds."""

    def __init__(self, delivery_ids: list[int], retry_in: int, error: str) -> None:
        super().__init__(f"Deliveries {delivery_ids}: {error}; next attempt in {retry_in}s")
        self.delivery_ids, self.retry_in, self.error = delivery_ids, retry_in, error


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
                else Composed(emails.digest_message(delivery, digest), digest.item_count)
            )
    return composed


def _sign_off_composed(delivery: Delivery) -> Composed:
    gate = ChecklistItem.objects.select_related("migration__practice", "phase").filter(pk=delivery.item_id).first()
    recipient = delivery.recipient
    if gate is None or not due.is_ready_to_sign(gate) or not due.signers_of(gate).filter(pk=recipient.pk).exists():
        return Composed(None)
    return Composed(emails.sign_off_message(delivery, recipient, gate), 1)
