"""What makes the sign-in limits hold however many attempts arrive at once.

An attempt is checked, and counted, under a lock on its account and its address (SignInLock):
django-axes' recorded failures plus the attempts already in flight (SignInInFlight) must stay
under each limit. The lock is held only for that check, not while the password is hashed, so
honest sign-ins from one shared NHS network address run side by side rather than one by one.
"""

import hashlib
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

# A bounded set of lock rows: attempts on unrelated accounts share a slot now and then, which
# only makes them wait for each other a moment, and no one can grow the table.
SLOTS = 4096


class SignInLock(models.Model):
    slot = models.CharField(max_length=24, unique=True)

    def __str__(self) -> str:
        return self.slot

    @classmethod
    def hold(cls, *, account: str, address: str) -> None:
        """Lock the slots of this account and this address until the current transaction ends."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("SignInLock.hold() must run inside transaction.atomic().")
        slots = sorted({_slot("account", account.strip().lower()), _slot("address", address)})
        for slot in slots:
            cls.objects.get_or_create(slot=slot)
        # Always in the same order, so two attempts never wait for each other in a circle.
        list(cls.objects.select_for_update().filter(slot__in=slots).order_by("slot"))


class SignInInFlight(models.Model):
    """A sign-in attempt between its check and its answer: counted as a failure meanwhile, so that
    attempts running together cannot pass the limits. Deleted when the attempt is answered; one
    left by a worker that died is ignored, and deleted, after STALE_AFTER."""

    STALE_AFTER = timedelta(seconds=60)

    account = models.CharField(max_length=254, help_text="The e-mail address tried, in lower case.")
    address = models.CharField(max_length=45)
    started_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "sign-in in flight"
        verbose_name_plural = "sign-ins in flight"
        indexes = [
            models.Index(fields=["account"], name="signininflight_account"),
            models.Index(fields=["address"], name="signininflight_address"),
        ]

    def __str__(self) -> str:
        return f"{self.account} from {self.address}"

    @classmethod
    def counts(cls, *, account: str, address: str) -> tuple[int, int]:
        """Attempts in flight on `account` and from `address`, after forgetting stale ones."""
        cls.objects.filter(started_at__lt=timezone.now() - cls.STALE_AFTER).delete()
        return cls.objects.filter(account=account).count(), cls.objects.filter(address=address).count()


def _slot(kind: str, value: str) -> str:
    digest = int(hashlib.sha256(value.encode()).hexdigest(), 16)
    return f"{kind}:{digest % SLOTS}"
