"""Who is in an organisation, as pages list them: the People section of a migration page (the
practice's people by role, its delivery partner's project managers and its ICB's leads, pending
invitations) and a delivery partner's or ICB's "Your team" page. Each carries the links to invite,
send again, cancel and remove for the person looking, as `access` allows them: two queries. A
migration page's two are written by the ORM once per process (models/compiled.py): every page of
a migration shows the section, and writing them took longer than running them.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from migrations_app import access
from migrations_app.models import ICB, DeliveryPartner, Invitation, Membership, Practice, PracticeMigration, Role, User
from migrations_app.models.compiled import CompiledSelect
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
    role_url: str = ""  # to change their role (a practice's people only)


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
    memberships = _MEMBERSHIPS_AT.objects(
        practice_id=practice.pk,
        # No delivery partner has the id 0: none of its memberships is read, as memberships_at
        # reads none for a practice without one.
        delivery_partner_id=practice.delivery_partner_id or 0,
        icb_id=practice.icb_id,
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
                **(
                    {
                        "remove_url": reverse(
                            "migrations:member_remove", kwargs={"pk": migration.pk, "membership_pk": each.pk}
                        ),
                        # Another role only if there is one they may give (a role of their own they may).
                        "role_url": reverse(
                            "migrations:member_role", kwargs={"pk": migration.pk, "membership_pk": each.pk}
                        )
                        if set(roles) - {each.role}
                        else "",
                    }
                    if access.may_remove(user, each, roles)
                    else {}
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
        _pending(_PENDING_AT.objects(practice_id=practice.pk), roles, "migrations:invitation_", pk=migration.pk),
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
    invitations = Invitation.objects.filter(**where).pending().select_related("invited_by")
    return People(people, _pending(invitations, roles, "migrations:team_invitation_"))


def _pending(invitations, roles: tuple[str, ...], url_prefix: str, **url_kwargs) -> list[PendingInvitation]:
    """`invitations` (pending ones, with who invited) with their send-again and cancel links where
    the role is one of `roles` (URL names `url_prefix` + "resend" / "cancel")."""
    now = timezone.now()
    pending = []
    for invitation in invitations:
        urls = {}
        if invitation.role in roles:
            kwargs = url_kwargs | {"invitation_pk": invitation.pk}
            urls = {
                "resend_url": reverse(f"{url_prefix}resend", kwargs=kwargs),
                "cancel_url": reverse(f"{url_prefix}cancel", kwargs=kwargs),
            }
        pending.append(PendingInvitation(invitation, expired=invitation.state(now) == InvitationState.EXPIRED, **urls))
    return pending


def _memberships_at(practice_id: int, delivery_partner_id: int, icb_id: int):
    practice = Practice(pk=practice_id, delivery_partner_id=delivery_partner_id, icb_id=icb_id)
    return access.memberships_at(practice).select_related("user").order_by("user__full_name", "user__email")


def _pending_at(practice_id: int):
    return Invitation.objects.filter(practice_id=practice_id).pending().select_related("invited_by")


_MEMBERSHIPS_AT = CompiledSelect(Membership, _memberships_at, practice_id=int, delivery_partner_id=int, icb_id=int)
_PENDING_AT = CompiledSelect(Invitation, _pending_at, practice_id=int)
