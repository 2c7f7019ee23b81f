"""Inviting people to a practice, a delivery partner or an ICB, and removing them: the verbs.

Each runs in one transaction and writes an Event of kind PEOPLE about the organisation (who did
it, and the person and role in its old and new values); `invite` and `resend` queue the e-mail
once that transaction has committed. Who may call them is for the views to ask `access`
(`roles_to_invite`, `may_remove`); these functions refuse what the data does not allow
(InvitationRefused, with the message for the person who asked): an address already holding a
role there or with an invitation pending, an invitation no longer open, removing oneself.
Addresses arrive normalised as sign-in normalises them (the forms do it).
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from migrations_app import access
from migrations_app.invitations import tasks
from migrations_app.invitations.people import role_phrase
from migrations_app.models import (
    ICB,
    ChecklistItem,
    DeliveryPartner,
    Event,
    Invitation,
    Membership,
    Practice,
    PracticeMigration,
    Role,
    User,
)
from migrations_app.models.choices import ItemKind
from migrations_app.models.invitations import InvitationState, new_nonce


class InvitationRefused(ValidationError):
    """Nothing was changed; the message says why, to the person who asked."""


def organisation_fields(organisation: Practice | DeliveryPartner | ICB) -> dict:
    """The one field naming `organisation` on a membership, an invitation or an event."""
    if isinstance(organisation, Practice):
        return {"practice": organisation}
    if isinstance(organisation, DeliveryPartner):
        return {"delivery_partner": organisation}
    return {"icb": organisation}


def refusal(email: str, role: str, organisation: Practice | DeliveryPartner | ICB) -> str:
    """Why `email` cannot be invited to `organisation` as `role` ("" if it can): the address holds
    that role there already, or another one (to be removed first), or has an invitation there
    waiting (to be sent again or cancelled); or it works for another side of the same migrations
    (other_side)."""
    where = organisation_fields(organisation)
    if reason := other_side_refusal(email, organisation):
        return reason
    waiting = (
        Invitation.objects.pending()
        .filter(_sides(organisation), email__iexact=email)
        .select_related("practice", "delivery_partner", "icb")
        .order_by("pk")
        .first()
    )
    if waiting is not None:
        # Accepting both would be refused at the second (accept): say so now, not in an e-mail.
        return (
            f"{email} already has an invitation to {waiting.organisation} as {role_phrase(waiting.role)}, which "
            f"works with {organisation}. One person cannot work for two sides of the same migrations: cancel "
            "that invitation first, or invite someone else."
        )
    held = Membership.objects.filter(user__email__iexact=email, **where).first()
    if held is not None and held.role == role:
        return f"{email} is already {role_phrase(role)} at {organisation}."
    if held is not None:
        if isinstance(organisation, Practice):
            # A practice member's role is changed in place (change_role), keeping their account.
            return (
                f"{email} is already {role_phrase(held.role)} at {organisation}. To give them another role, "
                "choose Change role beside their name in the list of people."
            )
        return (
            f"{email} is already {role_phrase(held.role)} at {organisation}. To give them another role, "
            "remove them first, then invite them again."
        )
    pending = Invitation.objects.pending().filter(email=email, **where).first()
    if pending is not None:
        return (
            f"{email} already has an invitation to {organisation} as {role_phrase(pending.role)}. Send it "
            "again from the list of pending invitations, or cancel it to invite them with another role."
        )
    return ""


def other_side_refusal(email: str, organisation: Practice | DeliveryPartner | ICB) -> str:
    """Why `email` may not hold a role at `organisation` because it holds one on another side of
    the same migrations ("" if it may not be refused for that): see other_side."""
    held = other_side(email, organisation)
    if held is None:
        return ""
    where = f"{email} is already {role_phrase(held.role)} at {held.organisation}, which works with {organisation}."
    if isinstance(organisation, Practice):
        return (
            f"{where} Someone from the delivery partner or the ICB cannot also hold a role at the practice: "
            "each side signs off its own gates."
        )
    return (
        f"{where} One person cannot work for two sides of the same migrations (a practice, its delivery "
        "partner and its ICB): each side signs off its own gates."
    )


def other_side(email: str, organisation: Practice | DeliveryPartner | ICB) -> Membership | None:
    """A membership of `email` on another side of `organisation`'s migrations, if it has one. A
    migration has three sides, which sign off their own gates: the practice, its delivery partner
    and its ICB. One person on two of them could sign for both. So, for a practice: a role at its
    delivery partner or its ICB; for a delivery partner: a role at a practice it supports, or at
    the ICB of one; for an ICB: a role at one of its practices, or at the delivery partner of one."""
    return (
        Membership.objects.filter(_sides(organisation), user__email__iexact=email)
        .select_related("practice", "delivery_partner", "icb")
        .order_by("pk")
        .first()
    )


def _sides(organisation: Practice | DeliveryPartner | ICB) -> Q:
    """The organisations on the other sides of `organisation`'s migrations (other_side), as a
    condition on a membership's or an invitation's practice, delivery partner and ICB."""
    if isinstance(organisation, Practice):
        return Q(delivery_partner__isnull=False, delivery_partner_id=organisation.delivery_partner_id) | Q(
            icb__isnull=False, icb_id=organisation.icb_id
        )
    if isinstance(organisation, DeliveryPartner):
        practices = Practice.objects.filter(delivery_partner=organisation)
        return Q(practice__in=practices) | Q(icb__in=practices.values("icb_id"))
    practices = Practice.objects.filter(icb=organisation)
    return Q(practice__in=practices) | Q(delivery_partner__in=practices.values("delivery_partner_id"))


def invite(*, by: User, email: str, role: str, organisation: Practice | DeliveryPartner | ICB) -> Invitation:
    """Invite `email` to `organisation` as `role`; the e-mail with the link goes after commit."""
    reason = refusal(email, role, organisation)
    if reason:
        raise InvitationRefused(reason)
    now = timezone.now()
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                email=email,
                role=role,
                invited_by=by,
                created_at=now,
                sent_at=now,
                expires_at=Invitation.expiry_from(now),
                token_hash=new_nonce(),
                **organisation_fields(organisation),
            )
            _record(by, invitation, "invitation", "", _described(invitation))
            _send_after_commit(invitation)
    except IntegrityError as error:
        # The same address invited to the same organisation twice at once: the constraint
        # invitation_one_pending_per_* kept the first.
        raise InvitationRefused(refusal(email, role, organisation) or "That invitation was just sent.") from error
    return invitation


def resend(invitation: Invitation, *, by: User) -> Invitation:
    """Send an invitation again, expired or not, with a new link (the earlier one stops working)
    valid for INVITATION_DAYS from now; the e-mail goes after commit."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_open(invitation)
        old = f"{_described(locked)}, link valid until {_day(locked.expires_at)}"
        locked.new_link(now)
        locked.save(update_fields=["token_hash", "sent_at", "expires_at"])
        new = f"{_described(locked)}, sent again, valid until {_day(locked.expires_at)}"
        _record(by, locked, "invitation", old, new)
        _send_after_commit(locked)
    return locked


def cancel(invitation: Invitation, *, by: User) -> Invitation:
    """Cancel a pending invitation: its link then says so."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_open(invitation)
        locked.cancelled_at, locked.cancelled_by = now, by
        locked.save(update_fields=["cancelled_at", "cancelled_by"])
        _record(by, locked, "invitation", _described(locked), "Cancelled")
    return locked


def accept(invitation: Invitation, *, user: User) -> Membership:
    """`user`, signed in as the invitation's address (the view checks it), takes the role: a new
    membership of their account, or the one they already have if it is that role. Refused once the
    invitation is accepted, cancelled or expired, or when they hold another role there."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_open(invitation, now)
        if user.email.strip().lower() != locked.email:
            raise InvitationRefused("This invitation is for another e-mail address.")
        # Roles may have been taken since it was sent (another invitation accepted meanwhile).
        if reason := other_side_refusal(locked.email, invitation.organisation):
            raise InvitationRefused(reason)
        where = _organisation_ids(locked)
        membership = Membership.objects.select_for_update().filter(user=user, **where).first()
        if membership is not None and membership.role != locked.role:
            raise InvitationRefused(
                f"You are already {role_phrase(membership.role)} at {invitation.organisation}. Ask "
                f"{locked.invited_by} to remove you first, then to send the invitation again."
            )
        if membership is None:
            membership = Membership.objects.create(user=user, role=locked.role, created_at=now, **where)
        locked.accepted_at, locked.accepted_by = now, user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        _record(
            user,
            locked,
            "membership",
            "",
            _member_text(user, locked.get_role_display()),
            reason=f"Accepted the invitation from {locked.invited_by}",
        )
    # What they may read has changed: the rest of this request (their landing page) goes by it.
    access.forget_standing(user)
    return membership


def accept_as_new_person(invitation: Invitation, *, full_name: str, password: str) -> tuple[User, Membership]:
    """Make the account of someone invited at an address nobody uses yet, with their name and
    password (checked by the form against Django's validators), and accept the invitation for it:
    one transaction, so a refused invitation leaves no account behind."""
    with transaction.atomic():
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationRefused("There is already an account with this e-mail address. Sign in to accept.")
        user = User.objects.create_user(invitation.email, password, full_name=full_name)
        return user, accept(invitation, user=user)


def remove_member(membership: Membership, *, by: User) -> bool:
    """End `membership`: the person loses that role there; they, their events and what they did
    stay. Items they own at the organisation's migrations go back to the role
    (`hand_back_to_role`), except at practices they still relate to some other way. Nobody
    removes themselves. False when the membership was already gone (removed in another tab)."""
    if membership.user_id == by.pk:
        raise InvitationRefused("You cannot remove yourself.")
    organisation = membership.organisation
    person = membership.user
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(pk=membership.pk).delete()
        if not deleted:
            return False
        still_related = PracticeMigration.objects.filter(access.Relations.of(person).migrations())
        ChecklistItem.objects.filter(_items_of(organisation)).exclude(migration__in=still_related).hand_back_to_role(
            by=by, owner=person, reason=f"No longer a member of {organisation}"
        )
        Event.objects.create(
            kind=Event.Kind.PEOPLE,
            actor=by,
            field="membership",
            old_value=_member_text(person, membership.get_role_display()),
            **organisation_fields(organisation),
        )
    return True


def is_only_practice_manager(membership: Membership) -> bool:
    """Whether `membership` is its practice's only practice manager: without one, nobody signs the
    practice manager's gates, gives the practice's check-in or invites its people."""
    return (
        membership.role == Role.PRACTICE_MANAGER
        and not Membership.objects.filter(practice_id=membership.practice_id, role=Role.PRACTICE_MANAGER)
        .exclude(pk=membership.pk)
        .exists()
    )


def change_role(membership: Membership, role: str, *, by: User) -> bool:
    """Give the holder of `membership` (a practice's) `role` there instead of the one they hold:
    what they did stays theirs, and the items they own stay theirs, but for the sign-off gates of
    a role that signs (access.GRANTS) other than the new one, which go back to that role for whoever
    holds it (a gate's owner must be able to sign it: access.owner_memberships). Nobody changes
    their own role. False when the membership is gone (removed in another tab) or already holds
    `role` (changed in another tab)."""
    if membership.user_id == by.pk:
        raise InvitationRefused("You cannot change your own role.")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().filter(pk=membership.pk, practice__isnull=False).first()
        if locked is None or locked.role == role:
            return False
        old_label = locked.get_role_display()
        locked.role = role
        locked.save(update_fields=["role"])
        person = membership.user
        organisation = membership.organisation
        signing_roles = [each for each in access.GRANTS if access.Permission.SIGN_GATES in access.GRANTS[each]]
        ChecklistItem.objects.filter(
            _items_of(organisation),
            kind=ItemKind.GATE,
            responsible_role__in=[each for each in signing_roles if each != role],
        ).hand_back_to_role(by=by, owner=person, reason=f"No longer {role_phrase(membership.role)} at {organisation}")
        Event.objects.create(
            kind=Event.Kind.PEOPLE,
            actor=by,
            field="membership",
            old_value=_member_text(person, old_label),
            new_value=_member_text(person, locked.get_role_display()),
            **organisation_fields(organisation),
        )
        membership.role = role
    return True


def _lock_open(invitation: Invitation, now: datetime | None = None) -> Invitation:
    """The invitation's row, locked, if it is still open (pending; not expired either, when `now`
    is given); else InvitationRefused."""
    locked = Invitation.objects.select_for_update().select_related("invited_by").get(pk=invitation.pk)
    state = locked.state(now)
    if state == InvitationState.ACCEPTED:
        raise InvitationRefused(f"{locked.email} has already accepted this invitation.")
    if state == InvitationState.CANCELLED:
        raise InvitationRefused(f"The invitation to {locked.email} was cancelled.")
    if now is not None and state == InvitationState.EXPIRED:
        raise InvitationRefused(f"The invitation to {locked.email} has expired.")
    return locked


def _send_after_commit(invitation: Invitation) -> None:
    invitation_id = invitation.pk
    transaction.on_commit(lambda: tasks.send_invitation.delay(invitation_id))


def _record(by: User, invitation: Invitation, field: str, old: str, new: str, reason: str = "") -> None:
    Event.objects.create(
        kind=Event.Kind.PEOPLE,
        actor=by,
        field=field,
        old_value=old,
        new_value=new,
        reason=reason,
        **_organisation_ids(invitation),
    )


def _organisation_ids(invitation: Invitation) -> dict:
    return {
        "practice_id": invitation.practice_id,
        "delivery_partner_id": invitation.delivery_partner_id,
        "icb_id": invitation.icb_id,
    }


def _items_of(organisation: Practice | DeliveryPartner | ICB) -> Q:
    """The items of the migrations of `organisation`'s practices."""
    if isinstance(organisation, Practice):
        return Q(migration__practice=organisation)
    if isinstance(organisation, DeliveryPartner):
        return Q(migration__practice__delivery_partner=organisation)
    return Q(migration__practice__icb=organisation)


def _described(invitation: Invitation) -> str:
    return f"Invitation to {invitation.email} as {role_phrase(invitation.role)}"


def _member_text(person: User, role_label: str) -> str:
    return f"{person.full_name} ({person.email}), {role_label}"


def _day(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%-d %B %Y}"
