"""Sign-off requests: once closing an item leaves a gate ready to sign (due.gates_made_ready_by),
the people who may sign it are e-mailed at once, at most once per gate, person and day. Claimed
and sent as digests are (claims.py, sending.py).
"""

from datetime import datetime
from uuid import uuid4

from django.db import transaction
from django.utils import timezone

from migrations_app.models import ChecklistItem, Delivery
from migrations_app.reminders import claims, due


def queue_sign_off_requests(item_id: int, gate_ids: list[int] | None = None) -> None:
    """Run once the transaction that closed an item (ChecklistItem.complete(), mark_not_applicable()
    or sign_off()) has committed: queue a sign-off request for each gate this made ready, as the
    change's own transaction found them (`gate_ids`, ChecklistItem.gates_made_ready) or, without
    them, as the items now stand. The model reaches it through the app config (apps.py), as it
    cannot import this package. Each request checks again that its gate is ready (request_sign_off)."""
    from migrations_app.reminders import tasks  # the tasks call back into this package

    for gate_id in due.gates_made_ready_by(item_id) if gate_ids is None else gate_ids:
        tasks.request_sign_off.delay(gate_id)


def request_sign_off(gate_id: int, now: datetime | None = None) -> tuple[int, ...]:
    """Claim a sign-off request e-mail to each person who may sign the gate - at most one per
    gate, person and day - and queue them after commit. Returns the rows claimed."""
    gate = ChecklistItem.objects.select_related("migration__practice").filter(pk=gate_id).first()
    if gate is None or not due.is_ready_to_sign(gate):
        return ()
    now = now or timezone.now()
    on = timezone.localtime(now, due.LONDON).date()
    token = uuid4().hex
    signers = list(due.signers_of(gate).values_list("pk", flat=True))
    with transaction.atomic():
        claims.claim(
            Delivery.Kind.SIGN_OFF_REQUEST,
            signers,
            key=f"{gate.pk}:{on.isoformat()}",
            on=on,
            token=token,
            now=now,
            item_id=gate.pk,
        )
        claimed = tuple(Delivery.objects.filter(claim_token=token).values_list("pk", flat=True))
        claims.queue_sends(claimed)
    return claimed
