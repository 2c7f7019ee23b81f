"""Personal API tokens: a person's own credential for the REST API, carrying exactly their access
(read only, or read and write), until it expires (at most a year), is revoked, or the account
changes under it.

The token is `gpmt_<prefix>_<secret>`: the prefix is public (it finds the row, and lets a person
tell their tokens apart), the secret is 32 random bytes of which only a SHA-256 hash is stored, so
the table alone (a backup, say) lets nobody in. The secret is shown once, when the token is made.

A token is bound to the account as it was when it was made, as the calendar link is
(ReminderPreference.calendar_link_works): an HMAC of the user's password hash, so a password change
or reset, however it is made (the password pages, the admin, set_password), stops every token with
nothing to revoke them, no signal and no side effect in User.save(). A deactivated account's tokens
stop at once (`works` asks is_active); deactivating someone in the admin also revokes them for good.
"""

import hashlib
import hmac
import re
import secrets
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

MAX_DAYS = 365
DEFAULT_DAYS = 90
# Written back at most once a minute per token: the time of use is for the person's list, and a
# write per request would double the API's database work for a figure nobody reads to the second.
LAST_USED_INTERVAL = timedelta(minutes=1)
FINGERPRINT_SALT = "migrations_app.ApiToken.account"
# "gpmt_" so that a leaked token is recognisable (secret scanners, logs); 12 hex digits of prefix,
# then 64 hex digits of secret: letters and digits only, so a double click selects all of it.
TOKEN_FORMAT = re.compile(r"gpmt_([0-9a-f]{12})_([0-9a-f]{64})")
# Anything that looks like one of our tokens, wherever it is in a longer text (a query string).
LOOKS_LIKE_A_TOKEN = re.compile(r"gpmt_[0-9A-Za-z]")


class ApiTokenScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


class ApiTokenStatus(StrEnum):
    ACTIVE = "Active"
    EXPIRED = "Expired"
    REVOKED = "Revoked"


class ApiTokenQuerySet(models.QuerySet):
    def owned_by(self, user) -> "ApiTokenQuerySet":
        """The one access rule for tokens: a person sees and revokes only their own; anyone
        else's is not found (404), as a record one may not see is everywhere else."""
        return self.filter(user=user)

    def unrevoked(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True)

    def revoke(self, at: datetime | None = None) -> list["ApiToken"]:
        """Revoke the tokens not revoked yet; returns them (for the audit log)."""
        at = at or timezone.now()
        with transaction.atomic():
            tokens = list(self.unrevoked().select_for_update())
            self.filter(pk__in=[token.pk for token in tokens]).update(revoked_at=at)
        for token in tokens:
            token.revoked_at = at
        return tokens


class ApiToken(models.Model):
    Scope = ApiTokenScope
    Status = ApiTokenStatus

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, in the person's words.")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the secret, in hex.")
    # The account the token was made for, as it was then: see the module's docstring.
    account_fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A person tells their tokens apart by name; a revoked one gives its name back.
            models.UniqueConstraint(
                fields=["user", "name"], condition=Q(revoked_at__isnull=True), name="apitoken_name_unique_unrevoked"
            ),
            models.CheckConstraint(condition=Q(scope__in=ApiTokenScope.values), name="apitoken_scope_valid"),
            # At most MAX_DAYS ahead is checked by clean() and the form: date arithmetic in a
            # constraint is written differently by each database (SQLite calls a Python function).
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="apitoken_expires_after_created"),
            models.CheckConstraint(condition=~Q(name=""), name="apitoken_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @classmethod
    def issue(cls, user, *, name: str, scope: str, expires_on: date) -> tuple["ApiToken", str]:
        """Make a token that works until the end of `expires_on` (London time); returns it and the
        token string, which exists nowhere else afterwards. Tokens stopped by a password change are
        marked revoked first, which gives their names back."""
        now = timezone.now()
        prefix, secret = secrets.token_hex(6), secrets.token_hex(32)
        token = cls(
            user=user,
            name=name,
            scope=scope,
            prefix=prefix,
            secret_hash=_hash(secret),
            created_at=now,
            expires_at=end_of(expires_on),
        )
        token.account_fingerprint = token._account_fingerprint(settings.SECRET_KEY)
        token.full_clean(exclude=["user"], validate_unique=False, validate_constraints=False)
        with transaction.atomic():
            stopped = [
                old.pk
                for old in cls.objects.owned_by(user).unrevoked().select_related("user")
                if not old.matches_account
            ]
            cls.objects.filter(pk__in=stopped).revoke(now)
            token.save()
        return token, f"gpmt_{prefix}_{secret}"

    @classmethod
    def find(cls, token: str) -> "ApiToken | None":
        """The token this string is, in whatever state; None for a string we did not make."""
        match = TOKEN_FORMAT.fullmatch(token)
        if match is None:
            return None
        found = cls.objects.select_related("user").filter(prefix=match[1]).first()
        if found is None or not hmac.compare_digest(found.secret_hash, _hash(match[2])):
            return None
        return found

    def clean(self) -> None:
        super().clean()
        created_at = self.created_at or timezone.now()
        if self.expires_at and self.expires_at > end_of(timezone.localdate(created_at) + timedelta(days=MAX_DAYS)):
            raise ValidationError({"expires_at": f"A token can last at most {MAX_DAYS} days."})
        if self.expires_at and self.expires_at <= created_at:
            raise ValidationError({"expires_at": "A token must expire after it is made."})

    @property
    def status(self) -> ApiTokenStatus:
        if self.revoked_at is not None or not self.matches_account:
            return ApiTokenStatus.REVOKED
        if self.expires_at <= timezone.now():
            return ApiTokenStatus.EXPIRED
        return ApiTokenStatus.ACTIVE

    @property
    def works(self) -> bool:
        return self.user.is_active and self.status == ApiTokenStatus.ACTIVE

    @property
    def refusal(self) -> str:
        """Why the token does not work, in a sentence for the caller; "" when it works."""
        if not self.user.is_active:
            return "This token's account is deactivated."
        if self.revoked_at is not None:
            return "This token was revoked."
        if not self.matches_account:
            return "This token stopped working when its account's password changed."
        if self.expires_at <= timezone.now():
            return "This token has expired."
        return ""

    @property
    def is_read_only(self) -> bool:
        return self.scope == ApiTokenScope.READ

    @property
    def expires_on(self) -> date:
        """The last day the token works, in London."""
        return timezone.localdate(self.expires_at - timedelta(microseconds=1))

    @property
    def matches_account(self) -> bool:
        """The account's password is the one the token was made under. Keys in
        SECRET_KEY_FALLBACKS still count, so rotating the secret key stops no token."""
        return any(
            constant_time_compare(self.account_fingerprint, self._account_fingerprint(secret))
            for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        )

    def record_use(self) -> None:
        """Note that the token was used now, unless that was noted less than a minute ago. The
        condition is in the UPDATE, so requests arriving together write it once."""
        now = timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_INTERVAL:
            return
        recent = Q(last_used_at__isnull=False, last_used_at__gt=now - LAST_USED_INTERVAL)
        if ApiToken.objects.filter(pk=self.pk).exclude(recent).update(last_used_at=now):
            self.last_used_at = now

    def _account_fingerprint(self, secret: str) -> str:
        return salted_hmac(
            FINGERPRINT_SALT, f"{self.user.pk}:{self.user.password}", secret=secret, algorithm="sha256"
        ).hexdigest()


def end_of(day: date) -> datetime:
    """The first moment after `day` in London: a token "until 9 April" works all of 9 April."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _hash(secret: str) -> str:
    # One SHA-256 is enough for 256 random bits: a slow hash is for guessable passwords.
    return hashlib.sha256(secret.encode()).hexdigest()
