"""Who may do what to a migration: the one place the access rules live.

Reading goes through `PracticeMigration.objects.visible_to(user)`: a migration a user has no
relation to is a 404, so we never reveal that it exists. Writing needs a permission that the
user's roles on that migration grant; without it the answer is 403.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models import ChecklistItem, Membership, PracticeMigration, Role


class Permission(StrEnum):
    TICK = "tick"  # mark done, reopen, not applicable, blocked; write notes
    EDIT_MILESTONES = "edit_milestones"  # change milestone dates (replans items)
    SIGN_GATES = "sign_gates"  # sign off a gate item
    # Move the checklist to a later template version. The delivery partner runs the project plan
    # (and admins maintain the templates); practice users work the checklist they are given.
    UPGRADE_CHECKLIST = "upgrade_checklist"


EDITOR = frozenset({Permission.TICK, Permission.EDIT_MILESTONES, Permission.SIGN_GATES})
GRANTS: dict[str, frozenset[Permission]] = {
    Role.PRACTICE_MANAGER: EDITOR,
    Role.CLINICAL_LEAD: EDITOR,
    Role.PRACTICE_STAFF: frozenset({Permission.TICK}),
    Role.DELIVERY_PARTNER: EDITOR | {Permission.UPGRADE_CHECKLIST},
    Role.ICB_LEAD: frozenset(),
}


@dataclass(frozen=True)
class Access:
    """A user's roles on one migration and what they allow."""

    roles: frozenset[str]
    is_admin: bool

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.is_admin:
            return frozenset(Permission)
        return frozenset().union(*(GRANTS[role] for role in self.roles))

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def can_sign(self, item: ChecklistItem) -> bool:
        """Gates the guide gives to the lead clinician (the data sign-off) need a clinical lead."""
        if not item.is_gate or not self.can(Permission.SIGN_GATES):
            return False
        return self.is_admin or item.responsible_role != Role.CLINICAL_LEAD or Role.CLINICAL_LEAD in self.roles

    @property
    def can_tick(self) -> bool:
        return self.can(Permission.TICK)

    @property
    def can_edit_milestones(self) -> bool:
        return self.can(Permission.EDIT_MILESTONES)

    @property
    def can_upgrade_checklist(self) -> bool:
        return self.can(Permission.UPGRADE_CHECKLIST)


def two_factor_required(user) -> bool:
    """Staff admins and delivery-partner users must sign in with a second factor: they can see
    and change many practices' migrations. Everyone else may choose to."""
    return user.is_staff or Membership.objects.filter(user=user, role=Role.DELIVERY_PARTNER).exists()


def has_two_factor_device(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def access_to(user, migration: PracticeMigration) -> Access:
    """The roles `user` holds on `migration`'s practice, through any of their memberships."""
    practice = migration.practice
    roles = Membership.objects.filter(user=user).filter(
        Q(practice_id=practice.pk)
        | Q(delivery_partner_id=practice.delivery_partner_id, delivery_partner__isnull=False)
        | Q(icb_id=practice.icb_id)
    )
    return Access(roles=frozenset(roles.values_list("role", flat=True)), is_admin=user.is_staff)


def get_migration(user, pk: int, need: Permission | None = None) -> tuple[PracticeMigration, Access]:
    """The migration if `user` can see it (else 404) and, when `need` is given, holds that
    permission on it (else 403)."""
    migration = get_object_or_404(
        PracticeMigration.objects.visible_to(user).select_related(
            "practice__icb", "practice__delivery_partner", "source_supplier", "target_supplier"
        ),
        pk=pk,
    )
    access = access_to(user, migration)
    if need is not None and not access.can(need):
        raise PermissionDenied
    return migration, access


def get_item(user, migration_pk: int, item_pk: int, need: Permission | None = None):
    """An item of a migration `user` can see (else 404), with the permission `need` (else 403)."""
    migration, access = get_migration(user, migration_pk, need)
    item = get_object_or_404(migration.items.select_related("phase", "completed_by"), pk=item_pk)
    item.migration = migration
    return item, access
