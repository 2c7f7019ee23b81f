"""Who is in an organisation, as pages list them: the People section of a migration page (the
practice's people by role, its delivery partner's project managers and its ICB's leads, pending
invitations) and a delivery partner's or ICB's "Your team" page. Each carries the links to invite,
send again, cancel and remove for the person looking, as `access` allows them: two queries.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from migrations_app import access
from migrations_app.models import ICB, DeliveryPartner, Invitation, Membership, PracticeMigration, Role, User
from migrations_app.models.invitations import InvitationState

ROLE_PHRASES = {
    Role.PRACTICE_MANAGER: "a practice manager",
    Role.CLINICAL_LEAD: "a clinical lead",
    Role.PRACTICE_STAFF: "practice staff",
    Role.DELIVERY_PARTNER: "a delivery partner project manager",
    Role.ICB_LEAD: "an ICB lead",
}


def role_phrase(role: str) -> str:
    """A role as a sentence names it: "is already a practice manager", "as practice staff"."""
    return ROLE_PHRASES[role]


@dataclass(frozen=True)
class Person:
    """One row: a role and who holds it (no membership: nobody yet)."""

    role_label: str
    membership: Membership | None = None
    is_you: bool = False
    remove_url: str = ""


@dataclass(frozen=True)
class PendingInvitation:
    invitation: Invitation
    expired: bool
    resend_url: str = ""
    cancel_url: str = ""


@dataclass(frozen=True)
class People:
    people: list[Person]
    invitations: list[PendingInvitation]
    invite_url: str = ""
    # The person looking belongs to this practice's delivery partner or ICB: link to their team's page.
    in_team: bool = False


def practice_people(user: User, migration: PracticeMigration, user_access: access.Access) -> People:
    """The People section of `migration`'s page for `user`: its practice's people by role (practice
    manager, clinical lead, practice staff; "nobody yet" for a role nobody holds), its delivery
    partner's project managers and its ICB's leads; the practice's pending invitations. Links to
    invite, send again, cancel and remove as `user` may (their `user_access` at the practice)."""
    practice = migration.practice
    roles = access.roles_to_invite(user, practice, user_access.relations)
    memberships = list(
        access.memberships_at(practice).select_related("user").order_by("user__full_name", "user__email")
    )
    people = []
    for role in access.roles_in(practice):
        holders = [each for each in memberships if each.practice_id and each.role == role]
        label = Role(role).label
        people += [
            Person(
                label,
                each,
                is_you=each.user_id == user.pk,
                remove_url=(
                    reverse("migrations:member_remove", kwargs={"pk": migration.pk, "membership_pk": each.pk})
                    if access.may_remove(user, each, roles)
                    else ""
                ),
            )
            for each in holders
        ] or [Person(label)]
    for role in (Role.DELIVERY_PARTNER, Role.ICB_LEAD):
        people += [
            Person(Role(role).label, each, is_you=each.user_id == user.pk)
            for each in memberships
            if not each.practice_id and each.role == role
        ]
    relations = user_access.relations
    return People(
        people,
        _pending(Invitation.objects.filter(practice=practice), roles, "migrations:invitation_", pk=migration.pk),
        invite_url=reverse("migrations:people_invite", kwargs={"pk": migration.pk}) if roles else "",
        in_team=practice.delivery_partner_id in relations.partner_ids or practice.icb_id in relations.icb_ids,
    )


def team_people(user: User, team: DeliveryPartner | ICB) -> People:
    """A delivery partner's or an ICB's members and pending invitations, for one of them (`user`)
    on their "Your team" page, with the links they may use."""
    roles = access.roles_to_invite(user, team)
    where = {"delivery_partner": team} if isinstance(team, DeliveryPartner) else {"icb": team}
    memberships = Membership.objects.filter(**where).select_related("user").order_by("user__full_name", "user__email")
    people = [
        Person(
            each.get_role_display(),
            each,
            is_you=each.user_id == user.pk,
            remove_url=(
                reverse("migrations:team_member_remove", kwargs={"membership_pk": each.pk})
                if access.may_remove(user, each, roles)
                else ""
            ),
        )
        for each in memberships
    ]
    return People(people, _pending(Invitation.objects.filter(**where), roles, "migrations:team_invitation_"))


def _pending(invitations, roles: tuple[str, ...], url_prefix: str, **url_kwargs) -> list[PendingInvitation]:
    """The pending ones of `invitations`, with their send-again and cancel links where the role is one
    of `roles` (URL names `url_prefix` + "resend" / "cancel")."""
    now = timezone.now()
    pending = []
    for invitation in invitations.pending().select_related("invited_by"):
        urls = {}
        if invitation.role in roles:
            kwargs = url_kwargs | {"invitation_pk": invitation.pk}
            urls = {
                "resend_url": reverse(f"{url_prefix}resend", kwargs=kwargs),
                "cancel_url": reverse(f"{url_prefix}cancel", kwargs=kwargs),
            }
        pending.append(PendingInvitation(invitation, expired=invitation.state(now) == InvitationState.EXPIRED, **urls))
    return pending
