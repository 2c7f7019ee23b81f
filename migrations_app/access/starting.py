"""Starting migrations, one by one or from an order tracker: for which practices a person may start
them, who may be named a migration's project manager, and who may open an upload (its delivery partner's)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from migrations_app.access.standing import standing_of
from migrations_app.models import DeliveryPartner, Membership, MigrationImport, Practice, Role, User


@dataclass(frozen=True)
class Starter:
    """For which practices a person may start migrations, one by one or from an order tracker.

    A delivery partner's member: the practices one of their delivery partners supports, and new
    practices, which get one of those delivery partners. Someone who acts on every migration
    (support admins, superusers): any practice, choosing the delivery partner of a new one.
    """

    every_practice: bool
    partner_ids: frozenset[int]

    def practices(self) -> QuerySet[Practice]:
        if self.every_practice:
            return Practice.objects.all()
        return Practice.objects.filter(delivery_partner_id__in=self.partner_ids)

    def may_start_for(self, practice: Practice) -> bool:
        return self.every_practice or practice.delivery_partner_id in self.partner_ids

    def may_act_for(self, partner_id: int) -> bool:
        """Whether new practices may be given this delivery partner (an order tracker may be its)."""
        return self.every_practice or partner_id in self.partner_ids

    def partners(self) -> QuerySet[DeliveryPartner]:
        """The delivery partners a new practice (or an order tracker) may be given."""
        if self.every_practice:
            return DeliveryPartner.objects.all()
        return DeliveryPartner.objects.filter(pk__in=self.partner_ids)


STARTED_BY = (
    "Migrations are started and imported by the practices' delivery partners. To have one started, "
    "ask the practice's delivery partner."
)


def may_start_migrations(user) -> bool:
    standing = standing_of(user)
    return standing.is_delivery_partner or standing.acts_on_every_migration


def starter(user) -> Starter:
    """What `user` may start migrations for, or a 403 for anyone who may not (an outsider too: these
    pages are about no one migration, so there is nothing to hide)."""
    if not may_start_migrations(user):
        raise PermissionDenied(STARTED_BY)
    partner_ids = Membership.objects.filter(user=user, role=Role.DELIVERY_PARTNER).values_list(
        "delivery_partner_id", flat=True
    )
    return Starter(every_practice=standing_of(user).acts_on_every_migration, partner_ids=frozenset(partner_ids))


def project_manager_memberships() -> QuerySet[Membership]:
    """The memberships that let a person be named a migration's project manager: an active person's
    membership of the delivery partner that supports the practice."""
    return Membership.objects.filter(role=Role.DELIVERY_PARTNER, user__is_active=True)


def project_managers(partner_ids: Iterable[int]) -> QuerySet[User]:
    """Who may be named the project manager of a migration at a practice one of `partner_ids` supports."""
    memberships = project_manager_memberships().filter(delivery_partner_id__in=list(partner_ids))
    return User.objects.filter(pk__in=memberships.values("user_id"))


def get_import(user, pk: int) -> tuple[MigrationImport, Starter]:
    """An uploaded order tracker, for someone who may start migrations (else 403). It is its
    delivery partner's work: whoever uploaded it, and anyone who may import for that delivery
    partner (Starter.may_act_for), may open it and apply it if it is still pending (apply() locks
    the row, so two colleagues confirming at once apply it once). To anyone else it is a 404, as if
    it did not exist. An upload from before the delivery partner was kept is its uploader's only."""
    may_start = starter(user)
    uploads = MigrationImport.objects.select_related("delivery_partner", "uploaded_by")
    if not may_start.every_practice:
        uploads = uploads.filter(Q(uploaded_by=user) | Q(delivery_partner_id__in=may_start.partner_ids))
    return get_object_or_404(uploads, pk=pk), may_start
