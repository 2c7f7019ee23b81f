"""Who may invite whom to a practice, a delivery partner or an ICB, and remove them again
(`INVITES`), and the fetch-for-user helpers of the people pages: an invitation or a member a person
may not manage is a 403 (of a practice they can see) or a 404 (of a team)."""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from migrations_app.access.migration_rules import get_migration
from migrations_app.access.relations import Relations
from migrations_app.access.standing import standing_of
from migrations_app.models import ICB, DeliveryPartner, Invitation, Membership, Practice, PracticeMigration, Role
from migrations_app.models.choices import PRACTICE_ROLES

# Who may invite whom, and remove them again: for each role a person holds, the roles they may give,
# in which organisation. "practice" is a practice they relate to through that membership (their own,
# or one their delivery partner supports), "own" is the organisation of that membership itself. People
# who act on every migration (support admins) may invite anyone to any organisation.
INVITES: dict[str, dict[str, frozenset[str]]] = {
    Role.PRACTICE_MANAGER: {"practice": frozenset(PRACTICE_ROLES)},
    Role.DELIVERY_PARTNER: {"practice": frozenset(PRACTICE_ROLES), "own": frozenset({Role.DELIVERY_PARTNER})},
    Role.ICB_LEAD: {"own": frozenset({Role.ICB_LEAD})},
    Role.CLINICAL_LEAD: {},
    Role.PRACTICE_STAFF: {},
}


Organisation = Practice | DeliveryPartner | ICB


def roles_in(organisation: Organisation) -> tuple[str, ...]:
    """The roles a membership of `organisation` can have (`role_matches_organisation`), in the
    order pages list them."""
    if isinstance(organisation, Practice):
        return (Role.PRACTICE_MANAGER, Role.CLINICAL_LEAD, Role.PRACTICE_STAFF)
    return (Role.DELIVERY_PARTNER,) if isinstance(organisation, DeliveryPartner) else (Role.ICB_LEAD,)


def roles_to_invite(user, organisation: Organisation, relations: Relations | None = None) -> tuple[str, ...]:
    """The roles `user` may give in `organisation` (a practice, a delivery partner or an ICB): invite
    people with, resend or cancel invitations with, and take away again (`may_remove`). INVITES, read
    for each of their memberships; every role for people who act on every migration. In the order of
    `roles_in`. `relations`: the person's memberships when already read (`Access.relations` has those
    relating them to a practice), else read here (one query)."""
    if not user.is_authenticated or not user.is_active:
        return ()
    if standing_of(user).acts_on_every_migration:
        return roles_in(organisation)
    if relations is None:
        relations = Relations.of(user)
    given: set[str] = set()
    if isinstance(organisation, Practice):
        for practice_id, role in relations.practice_roles:
            if practice_id == organisation.pk:
                given |= INVITES[role].get("practice", frozenset()) | INVITES[role].get("own", frozenset())
        if organisation.delivery_partner_id in relations.partner_ids:
            given |= INVITES[Role.DELIVERY_PARTNER].get("practice", frozenset())
        if organisation.icb_id in relations.icb_ids:
            given |= INVITES[Role.ICB_LEAD].get("practice", frozenset())
    elif isinstance(organisation, DeliveryPartner) and organisation.pk in relations.partner_ids:
        given |= INVITES[Role.DELIVERY_PARTNER].get("own", frozenset())
    elif isinstance(organisation, ICB) and organisation.pk in relations.icb_ids:
        given |= INVITES[Role.ICB_LEAD].get("own", frozenset())
    return tuple(role for role in roles_in(organisation) if role in given)


def may_remove(user, membership: Membership, roles: Iterable[str] | None = None) -> bool:
    """Whether `user` may end `membership`: one whose role they may give there (`roles_to_invite`,
    passed as `roles` when already known), and never their own."""
    if membership.user_id == user.pk:
        return False
    return membership.role in (roles_to_invite(user, membership.organisation) if roles is None else roles)


def teams_of(user) -> list[DeliveryPartner | ICB]:
    """The delivery partners and ICBs `user` belongs to and may invite colleagues to: their teams."""
    memberships = Membership.objects.filter(user=user, practice__isnull=True).select_related("delivery_partner", "icb")
    relations = Relations.of(user)
    return [each.organisation for each in memberships if roles_to_invite(user, each.organisation, relations)]


def get_people_of(user, pk: int) -> tuple[PracticeMigration, tuple[str, ...]]:
    """A migration `user` can see (else 404) and the roles they may give at its practice (none: 403)."""
    migration, access = get_migration(user, pk)
    roles = roles_to_invite(user, migration.practice, access.relations)
    if not roles:
        raise PermissionDenied
    return migration, roles


def get_practice_invitation(user, pk: int, invitation_pk: int) -> tuple[PracticeMigration, Invitation]:
    """An invitation to the practice of a migration `user` can see (else 404), whose role they may
    give (else 403)."""
    migration, roles = get_people_of(user, pk)
    invitation = get_object_or_404(Invitation, pk=invitation_pk, practice_id=migration.practice_id)
    if invitation.role not in roles:
        raise PermissionDenied
    invitation.practice = migration.practice
    return migration, invitation


def get_practice_member(user, pk: int, membership_pk: int) -> tuple[PracticeMigration, Membership]:
    """A membership of the practice of a migration `user` can see (else 404) that they may end (else 403)."""
    migration, membership, _ = _practice_member(user, pk, membership_pk, refuse_own=_refuse_removing_oneself)
    return migration, membership


def get_practice_member_to_change(user, pk: int, membership_pk: int) -> tuple[PracticeMigration, Membership, tuple]:
    """A membership of the practice of a migration `user` can see (else 404) whose role they may
    change (else 403): one they may end (`may_remove`), to one of the roles they may give there
    (returned with it). Nobody changes their own."""
    return _practice_member(user, pk, membership_pk, refuse_own=_refuse_changing_own_role)


def _practice_member(user, pk: int, membership_pk: int, *, refuse_own) -> tuple[PracticeMigration, Membership, tuple]:
    migration, roles = get_people_of(user, pk)
    members = Membership.objects.select_related("user")
    membership = get_object_or_404(members, pk=membership_pk, practice_id=migration.practice_id)
    membership.practice = migration.practice
    refuse_own(user, membership)
    if not may_remove(user, membership, roles):
        raise PermissionDenied
    return migration, membership, roles


def get_team_invitation(user, invitation_pk: int) -> Invitation:
    """An invitation to a delivery partner or an ICB whose role `user` may give there. To anyone
    else it is a 404: a team's invitations are nobody else's business."""
    invitation = get_object_or_404(
        Invitation.objects.filter(practice__isnull=True).select_related("delivery_partner", "icb"), pk=invitation_pk
    )
    if invitation.role not in roles_to_invite(user, invitation.organisation):
        raise Http404
    return invitation


def get_team_member(user, membership_pk: int) -> Membership:
    """A membership of a delivery partner or an ICB that `user` may end (their own: 403), else a 404."""
    membership = get_object_or_404(
        Membership.objects.filter(practice__isnull=True).select_related("user", "delivery_partner", "icb"),
        pk=membership_pk,
    )
    if membership.role not in roles_to_invite(user, membership.organisation):
        raise Http404
    _refuse_removing_oneself(user, membership)
    return membership


def _refuse_removing_oneself(user, membership: Membership) -> None:
    if membership.user_id == user.pk:
        raise PermissionDenied(
            f"You cannot remove yourself from {membership.organisation}. Ask someone else who manages its people."
        )


def _refuse_changing_own_role(user, membership: Membership) -> None:
    if membership.user_id == user.pk:
        raise PermissionDenied(
            f"You cannot change your own role at {membership.organisation}. Ask someone else who manages its people."
        )
