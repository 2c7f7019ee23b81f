"""Invitations: a person asked by e-mail to join a practice, a delivery partner or an ICB with one
role. Single use, and valid for INVITATION_DAYS from when it was last sent.

The link's token is an HMAC, keyed with SECRET_KEY, of the invitation's id and a random nonce
stored on the row (as Django's password reset tokens are made): the Celery task that sends the
e-mail gets only the id and can make the link again, no token goes through the broker, and the
table alone (a backup, say) cannot be used to accept anyone's invitation. Sending again draws a new
nonce, so earlier links stop working. The nonce is kept in the column `token_hash` (its name from
migration 0012, which first stored a hash of a random token there).
"""

import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from migrations_app.models.choices import Role
from migrations_app.models.people import ICB, DeliveryPartner, Practice, role_matches_organisation

INVITATION_DAYS = 7

PENDING = Q(accepted_at__isnull=True, cancelled_at__isnull=True)

LINK_SALT = "migrations_app.invitations.link"
# "<id>-<64 hex digits>": the id in decimal, at most 18 digits so that it fits a database integer.
TOKEN_FORMAT = re.compile(r"([1-9][0-9]{0,17})-([0-9a-f]{64})")


def new_nonce() -> str:
    return secrets.token_hex(32)


class InvitationState(StrEnum):
    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> "InvitationQuerySet":
        """Neither accepted nor cancelled (an expired one is still pending: it can be resent)."""
        return self.filter(PENDING)

    def for_token(self, token: str) -> "Invitation | None":
        """The invitation a link's token was made for, in whatever state; None for a token we did
        not make, or made for an earlier sending of a resent invitation (the two look alike)."""
        match = TOKEN_FORMAT.fullmatch(token)
        if match is None:
            return None
        invitation = self.filter(pk=int(match[1])).first()
        if invitation is None or not invitation.has_token(token):
            return None
        return invitation


class Invitation(models.Model):
    email = models.EmailField("e-mail address")
    role = models.CharField(max_length=32, choices=Role.choices)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations")
    delivery_partner = models.ForeignKey(
        DeliveryPartner, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    icb = models.ForeignKey(ICB, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations")

    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The nonce: what the link's token is an HMAC of, with the id (see the module's docstring).
    # Resending draws a new one and a new expiry: the earlier link stops working.
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
            models.CheckConstraint(condition=role_matches_organisation(), name="invitation_role_matches_organisation"),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(cancelled_at__isnull=True),
                name="invitation_not_accepted_and_cancelled",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True, accepted_by__isnull=True)
                | Q(accepted_at__isnull=False, accepted_by__isnull=False),
                name="invitation_accepted_has_who_and_when",
            ),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=True, cancelled_by__isnull=True)
                | Q(cancelled_at__isnull=False, cancelled_by__isnull=False),
                name="invitation_cancelled_has_who_and_when",
            ),
            # One pending invitation per address and organisation (NULLs never clash, so one per kind).
            models.UniqueConstraint(
                fields=["email", "practice"],
                condition=PENDING & Q(practice__isnull=False),
                name="invitation_one_pending_per_practice",
            ),
            models.UniqueConstraint(
                fields=["email", "delivery_partner"],
                condition=PENDING & Q(delivery_partner__isnull=False),
                name="invitation_one_pending_per_delivery_partner",
            ),
            models.UniqueConstraint(
                fields=["email", "icb"], condition=PENDING & Q(icb__isnull=False), name="invitation_one_pending_per_icb"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()} at {self.organisation}"

    @property
    def organisation(self) -> Practice | DeliveryPartner | ICB | None:
        return self.practice or self.delivery_partner or self.icb

    @staticmethod
    def expiry_from(sent_at: datetime) -> datetime:
        return sent_at + timedelta(days=INVITATION_DAYS)

    def state(self, now: datetime | None = None) -> InvitationState:
        if self.accepted_at is not None:
            return InvitationState.ACCEPTED
        if self.cancelled_at is not None:
            return InvitationState.CANCELLED
        if (now or timezone.now()) >= self.expires_at:
            return InvitationState.EXPIRED
        return InvitationState.PENDING

    def new_link(self, now: datetime) -> None:
        """A new nonce and expiry, for sending again (not saved): earlier links stop working."""
        self.token_hash = new_nonce()
        self.sent_at = now
        self.expires_at = self.expiry_from(now)

    def link_token(self) -> str:
        """The token of the link in the e-mail, made again from the row whenever it is needed."""
        return f"{self.pk}-{self._mac(settings.SECRET_KEY)}"

    def has_token(self, token: str) -> bool:
        """Whether `token` is this invitation's, under the secret key or one it replaced (a link sent
        before the key was rotated still works). Compared in constant time."""
        secrets_in_use = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        return any(constant_time_compare(token, f"{self.pk}-{self._mac(secret)}") for secret in secrets_in_use)

    def _mac(self, secret: str) -> str:
        return salted_hmac(LINK_SALT, f"{self.pk}:{self.token_hash}", secret=secret, algorithm="sha256").hexdigest()
