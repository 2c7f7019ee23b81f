"""A person's standing across all migrations: what their Django permissions (through groups) and
memberships say about them beyond any one migration. Read once per request (`standing_of`); the
two-factor and landing-page rules go by it."""

from dataclasses import dataclass

from django.contrib.auth.models import Permission as DjangoPermission
from django.db.models import Exists, OuterRef, Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models import Membership, Role, User

# Django permissions (codenames in migrations_app) that reach beyond a person's memberships.
READ_EVERY_MIGRATION = "view_practicemigration"
ACT_ON_EVERY_MIGRATION = "change_practicemigration"


@dataclass(frozen=True)
class Standing:
    """What a person's permissions and memberships say about them beyond any one migration."""

    reads_every_migration: bool = False
    acts_on_every_migration: bool = False
    is_delivery_partner: bool = False


def standing_of(user) -> Standing:
    """Read from the database on each request (one query, kept on the user object for the rest of
    it), so a permission or a role granted or taken away counts from the next page on."""
    cached = getattr(user, "_access_standing", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        standing = Standing()
    else:
        granted = DjangoPermission.objects.filter(content_type__app_label="migrations_app").filter(
            Q(user=OuterRef("pk")) | Q(group__user=OuterRef("pk"))
        )
        row = (
            User.objects.filter(pk=user.pk, is_active=True)
            .annotate(
                reads=Exists(granted.filter(codename__in=[READ_EVERY_MIGRATION, ACT_ON_EVERY_MIGRATION])),
                acts=Exists(granted.filter(codename=ACT_ON_EVERY_MIGRATION)),
                partner=Exists(Membership.objects.filter(user=OuterRef("pk"), role=Role.DELIVERY_PARTNER)),
            )
            .values_list("is_superuser", "reads", "acts", "partner")
            .first()
        )
        if row is None:
            standing = Standing()
        else:
            superuser, reads, acts, partner = row
            standing = Standing(
                reads_every_migration=superuser or reads,
                acts_on_every_migration=superuser or acts,
                is_delivery_partner=partner,
            )
    user._access_standing = standing
    return standing


def two_factor_required(user) -> bool:
    """Who must sign in with a second factor: anyone who can see many practices' migrations
    (delivery-partner members, national viewers, support admins) or open the Django admin.
    Everyone else may choose to. Decided from the person's current roles on every request."""
    standing = standing_of(user)
    return bool(user.is_staff or standing.reads_every_migration or standing.is_delivery_partner)


def has_two_factor_device(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def lands_on_dashboard(user) -> bool:
    """People who look across practices (delivery partner, ICB, national viewers and support
    admins) start on the dashboard; a practice's people start on their migration."""
    if standing_of(user).reads_every_migration:
        return True
    return Membership.objects.filter(user=user, practice__isnull=True).exists()
