"""Who gives a migration's weekly check-ins (`GIVES_CHECK_IN`, `check_in_sides`), who hears that one
is due or missed (`check_in_memberships`), who sets a delivery partner's check-in day, and the
fetch-for-user helpers of the check-in pages. Everyone who may read a migration reads its check-ins."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from migrations_app.access.migration_rules import Access, get_migration
from migrations_app.access.standing import standing_of
from migrations_app.models import DeliveryPartner, Membership, PracticeMigration, Role
from migrations_app.models.choices import CheckInSide

# The side of a check-in each role gives, for the practices it relates to: the practice manager of
# the practice, and the delivery partner's project managers (members of the practice's delivery
# partner) for the partner. People who act on every migration (support admins) may record either,
# for someone who gave it by phone: the check-in names them as who recorded it.
GIVES_CHECK_IN: dict[str, str] = {
    Role.PRACTICE_MANAGER: CheckInSide.PRACTICE,
    Role.DELIVERY_PARTNER: CheckInSide.DELIVERY_PARTNER,
}


def check_in_sides(access: Access) -> list[str]:
    """The sides a person may give check-ins for on a migration, in CheckInSide's order: none unless
    the migration is in progress (on hold, completed and cancelled ones have none)."""
    if access.status != PracticeMigration.Status.ACTIVE:
        return []
    if access.acts_on_every_migration:
        return list(CheckInSide.values)
    given = {GIVES_CHECK_IN[role] for role in access.roles if role in GIVES_CHECK_IN}
    return [side for side in CheckInSide.values if side in given]


def get_migration_to_check_in(user, pk: int) -> tuple[PracticeMigration, Access, list[str]]:
    """The migration with the sides `user` may give: 404 if they cannot read it, 403 if they may
    give none (or it is not in progress)."""
    migration, access = get_migration(user, pk)
    sides = check_in_sides(access)
    if not sides:
        raise PermissionDenied(
            "Check-ins are given by the practice manager and the delivery partner's project manager, while the"
            " migration is in progress."
        )
    return migration, access, sides


def check_in_memberships(migrations: QuerySet[PracticeMigration], side: str) -> QuerySet[Membership]:
    """The memberships through which people give `side`'s check-in of one of `migrations` (for
    the reminder digest): the practice managers of their practices, or the members of their
    practices' delivery partners."""
    role = next(role for role, given in GIVES_CHECK_IN.items() if given == side)
    if role == Role.PRACTICE_MANAGER:
        return Membership.objects.filter(role=role, practice_id__in=migrations.values("practice_id"))
    return Membership.objects.filter(
        role=role, delivery_partner_id__in=migrations.values("practice__delivery_partner_id")
    )


def gives_check_in(role: str, side: str) -> bool:
    return GIVES_CHECK_IN.get(role) == side


def partners_to_set_check_in_day(user) -> QuerySet[DeliveryPartner]:
    """The delivery partners whose check-in day `user` may set: those they are a project manager of
    (as they manage its team), or any, for people who act on every migration."""
    if not user.is_authenticated or not user.is_active:
        return DeliveryPartner.objects.none()
    if standing_of(user).acts_on_every_migration:
        return DeliveryPartner.objects.all()
    return DeliveryPartner.objects.filter(
        pk__in=Membership.objects.filter(user=user, role=Role.DELIVERY_PARTNER).values("delivery_partner_id")
    )


def get_partner_to_set_check_in_day(user, pk: int) -> DeliveryPartner:
    """A delivery partner whose check-in day `user` may set; a 404 otherwise (as a team page)."""
    partner = partners_to_set_check_in_day(user).filter(pk=pk).first()
    if partner is None:
        raise Http404("Not one of your teams.")
    return partner
