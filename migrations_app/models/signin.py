"""Rows that sign-in attempts lock, so that attempts on one account or from one address are
checked one at a time: django-axes counts failures exactly, and serialising the attempts makes
its limit hold even when an attacker sends many at once."""

import hashlib

from django.db import models, transaction

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


def _slot(kind: str, value: str) -> str:
    digest = int(hashlib.sha256(value.encode()).hexdigest(), 16)
    return f"{kind}:{digest % SLOTS}"
