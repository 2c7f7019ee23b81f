"""Reminder preferences, and the record of every reminder e-mail: claimed before it is sent.

A `Delivery` row is the unit of work of the reminder sweep. It is inserted under a unique
constraint (recipient, kind, key) before anything is sent, so a sweep that runs twice, two sweeps
that overlap or a task delivered twice can each claim it only once; the outcome (sent at, attempts,
last error) is then written on the same row.
"""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

MAX_LEAD_DAYS = 28
# Reminders 7 days and 1 day before an item is due, unless the person chooses otherwise.
DEFAULT_LEAD_DAYS = (7, 1)
CALENDAR_FINGERPRINT_SALT = "migrations_app.ReminderPreference.calendar_token"


# The models' choices are at module level, and named on their models (ReminderPreference.Frequency,
# Delivery.Kind, Delivery.Status), so that the constraints can read their values: a class nested
# in a model is out of its Meta's reach.
class ReminderFrequency(models.TextChoices):
    DAILY = "daily", "Every working day"
    WEEKLY = "weekly", "Once a week, on Monday"
    NONE = "none", "No digest"


class ReminderPreference(models.Model):
    """How a person wants to be reminded. A user without a row gets the defaults."""

    Frequency = ReminderFrequency

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_preference")
    frequency = models.CharField(max_length=16, choices=Frequency.choices, default=Frequency.DAILY)
    first_lead_days = models.PositiveSmallIntegerField(
        "first reminder, days before the due date",
        default=DEFAULT_LEAD_DAYS[0],
        validators=[MaxValueValidator(MAX_LEAD_DAYS)],
    )
    second_lead_days = models.PositiveSmallIntegerField(
        "second reminder, days before the due date",
        default=DEFAULT_LEAD_DAYS[1],
        validators=[MaxValueValidator(MAX_LEAD_DAYS)],
    )
    # Set by the one-click unsubscribe link: no reminder e-mail of any kind until the person saves
    # their preferences again.
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The credential of the private calendar feed: whoever has the URL can read it, so it is long,
    # random, and replaced (or removed) from the preferences page.
    calendar_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    calendar_token_created_at = models.DateTimeField(null=True, blank=True)
    # The account the link was made for, as it was then: an HMAC of the user's password hash (as
    # Django binds password-reset tokens). A password change or reset changes the hash, so the link
    # stops working with nothing to revoke it: no signal, no side effect in User.save(). Empty for
    # a link made before this existed, which therefore no longer works either.
    calendar_token_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=ReminderFrequency.values), name="reminderpreference_frequency_valid"
            ),
            models.CheckConstraint(
                condition=Q(first_lead_days__lte=MAX_LEAD_DAYS, second_lead_days__lte=MAX_LEAD_DAYS),
                name="reminderpreference_lead_days_in_range",
            ),
            models.CheckConstraint(
                condition=Q(calendar_token__isnull=True) | Q(calendar_token_created_at__isnull=False),
                name="reminderpreference_calendar_token_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Reminders for {self.user}: {self.get_frequency_display().lower()}"

    @property
    def lead_days(self) -> tuple[int, ...]:
        """The lead times, largest first, each once."""
        return tuple(sorted({self.first_lead_days, self.second_lead_days}, reverse=True))

    @property
    def is_unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None

    def unsubscribe(self) -> None:
        """Stop every reminder e-mail (the one-click link). Saves."""
        if self.unsubscribed_at is None:
            self.unsubscribed_at = timezone.now()
            self.save()

    def new_calendar_token(self) -> None:
        """Replace the calendar feed's token: the old URL stops working. Saves."""
        self.calendar_token = secrets.token_urlsafe(32)
        self.calendar_token_created_at = timezone.now()
        self.calendar_token_fingerprint = self._account_fingerprint(settings.SECRET_KEY)
        self.save()

    def revoke_calendar_token(self) -> None:
        self.calendar_token = None
        self.calendar_token_created_at = None
        self.calendar_token_fingerprint = ""
        self.save()

    @property
    def calendar_link_works(self) -> bool:
        """Whether the calendar link opens the feed: there is one, its user is active, and their
        password has not changed since it was made. A deactivated account's link works again if the
        account is reactivated with the same password."""
        if not self.calendar_token or not self.user.is_active:
            return False
        # Keys in SECRET_KEY_FALLBACKS still count, as for Django's own signed values, so that
        # rotating the secret key does not cut everyone's calendar off at once.
        return any(
            constant_time_compare(self.calendar_token_fingerprint, self._account_fingerprint(secret))
            for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        )

    def _account_fingerprint(self, secret: str) -> str:
        return salted_hmac(
            CALENDAR_FINGERPRINT_SALT, f"{self.user.pk}:{self.user.password}", secret=secret, algorithm="sha256"
        ).hexdigest()


class DeliveryKind(models.TextChoices):
    DIGEST = "digest", "Digest"
    SIGN_OFF_REQUEST = "sign_off_request", "Sign-off request"


class DeliveryStatus(models.TextChoices):
    CLAIMED = "claimed", "Claimed, not sent yet"
    SENT = "sent", "Sent"
    NOTHING_DUE = "nothing_due", "Nothing to send"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One reminder e-mail to one person, claimed before it is sent.

    `key` names what the e-mail is about, so that a second claim of the same thing conflicts: the
    local date for a digest ("2025-06-03"), the gate and the date for a sign-off request
    ("1234:2025-06-03", at most one request per gate, person and day).
    """

    Kind = DeliveryKind
    Status = DeliveryStatus

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(max_length=100)
    on = models.DateField(help_text="The local date the e-mail is for.")
    # Written when the digest is claimed, so that the send (minutes later, or a "Send again" days
    # later) announces exactly the lead-time reminders the claim decided on: see
    # digests.window_start. Empty for sign-off requests and for digests claimed before it existed.
    covers_from = models.DateField(
        null=True,
        blank=True,
        help_text="For a digest: the first day whose lead-time reminders it announces (before the "
        "digest's own day when a digest day was missed).",
    )
    item = models.ForeignKey(
        "migrations_app.ChecklistItem",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="The gate, for a sign-off request.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CLAIMED)
    # The sweep (or request) that claimed or last re-queued the row: it queues only its own rows.
    claim_token = models.CharField(max_length=32, db_index=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    # When a worker is expected to pick the row up; a claimed row long past it was lost (worker
    # killed, broker restarted) and is queued again by the next sweep.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    items_listed = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-claimed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "key"], name="delivery_one_per_recipient_kind_key"),
            models.CheckConstraint(condition=Q(kind__in=DeliveryKind.values), name="delivery_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"),
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False) | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="delivery_sent_at_with_status",
            ),
            models.CheckConstraint(
                condition=Q(kind="digest", item__isnull=True) | Q(kind="sign_off_request", item__isnull=False),
                name="delivery_item_with_kind",
            ),
            models.CheckConstraint(
                condition=Q(covers_from__isnull=True) | Q(kind="digest", covers_from__lte=F("on")),
                name="delivery_covers_from_digest_not_after_on",
            ),
        ]
        indexes = [
            # The sweep looks for claimed rows whose worker never reported back,
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_next_attempt"),
            # whether the day's digests were claimed already, and the last day before it on which
            # digests were (digests.previous_digest_day): kind first, so that the latter is one
            # descent of the index to the last digest row before the day, rather than a backward
            # walk over the sign-off requests of every day since (the table grows by thousands of
            # rows a working day).
            models.Index(fields=["kind", "on"], name="delivery_kind_on"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient} ({self.key}): {self.get_status_display().lower()}"
