"""Organisations, users and who belongs to what."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from migrations_app.models.choices import PRACTICE_ROLES, Role, Weekday

ODS_PRACTICE_CODE_MESSAGE = "Enter a GP practice ODS code: one letter followed by five digits, for example A81001."
validate_ods_practice_code = RegexValidator(r"^[A-Z][0-9]{5}\Z", ODS_PRACTICE_CODE_MESSAGE, code="ods_code")


class OdsCodeField(models.CharField):
    """An ODS code, stored upper-case and trimmed whatever way it was typed."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().upper() if isinstance(value, str) else value


class ICB(models.Model):
    code = models.CharField("ODS code", max_length=5, unique=True)
    name = models.CharField(max_length=200, unique=True)

    class Meta:
        verbose_name = "ICB"
        verbose_name_plural = "ICBs"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeliveryPartner(models.Model):
    """An IT delivery partner, often a commissioning support unit (CSU)."""

    name = models.CharField(max_length=200, unique=True)
    # The day its practices' migrations hold their weekly check-in (models/checkins.py).
    check_in_weekday = models.PositiveSmallIntegerField("check-in day", choices=Weekday.choices, default=Weekday.MONDAY)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(check_in_weekday__in=Weekday.values), name="deliverypartner_check_in_weekday_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


APOSTROPHES = "'\u2019\u2018"
"""A straight apostrophe, and the typographic ones phones and Macs type for it (’ and ‘)."""


def name_contains(search: str, field: str = "name") -> Q:
    """`field` (a name, or a lookup to one such as "practice__name") containing `search` as people
    type it: any case, a run of spaces as one, and an apostrophe of any kind for either kind, so
    that "Walker’s" typed on a phone finds "Walker's" and the other way round."""
    text = " ".join(search.split())
    if not any(mark in text for mark in APOSTROPHES):
        return Q(**{f"{field}__icontains": text})
    variants = {text.translate(str.maketrans(dict.fromkeys(APOSTROPHES, each))) for each in APOSTROPHES}
    found = Q()
    for variant in sorted(variants):
        found |= Q(**{f"{field}__icontains": variant})
    return found


class Practice(models.Model):
    ods_code = OdsCodeField("ODS code", max_length=6, unique=True, validators=[validate_ods_practice_code])
    name = models.CharField(max_length=200)
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="practices", verbose_name="ICB")
    delivery_partner = models.ForeignKey(
        DeliveryPartner, on_delete=models.PROTECT, related_name="practices", null=True, blank=True
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(ods_code__regex=r"^[A-Z][0-9]{5}$"), name="practice_ods_code_format"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"

    def clean(self) -> None:
        # A name as pages show it and searches find it (name_contains): no run of spaces, none at the ends.
        self.name = " ".join(self.name.split())


class Supplier(models.Model):
    """A clinical system supplier and its system, e.g. EMIS Health's EMIS Web."""

    name = models.CharField(max_length=100, unique=True)
    system_name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.system_name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str) -> "User":
        # People type their address in any case; it is stored lower-case.
        return self.get(email__iexact=username.strip())

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their e-mail address. Admins are staff users."""

    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


def role_matches_organisation() -> Q:
    """The role says which kind of organisation a membership (or an invitation to one) is in, and
    only that one is set."""
    return (
        Q(role__in=PRACTICE_ROLES, practice__isnull=False, delivery_partner__isnull=True, icb__isnull=True)
        | Q(role=Role.DELIVERY_PARTNER, practice__isnull=True, delivery_partner__isnull=False, icb__isnull=True)
        | Q(role=Role.ICB_LEAD, practice__isnull=True, delivery_partner__isnull=True, icb__isnull=False)
    )


class Membership(models.Model):
    """A user's role in exactly one organisation: a practice, a delivery partner or an ICB."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships")
    delivery_partner = models.ForeignKey(
        DeliveryPartner, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    icb = models.ForeignKey(ICB, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
            models.CheckConstraint(condition=role_matches_organisation(), name="membership_role_matches_organisation"),
            models.UniqueConstraint(fields=["user", "practice"], name="membership_one_per_practice"),
            models.UniqueConstraint(fields=["user", "delivery_partner"], name="membership_one_per_delivery_partner"),
            models.UniqueConstraint(fields=["user", "icb"], name="membership_one_per_icb"),
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} at {self.organisation}"

    @property
    def organisation(self) -> Practice | DeliveryPartner | ICB | None:
        return self.practice or self.delivery_partner or self.icb
