"""The invitation e-mail: who invites the person, to what, with which role, and the link. Links
are absolute (SITE_URL); the e-mail says how long the link works and what to do when it has expired.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from migrations_app.invitations.people import role_phrase
from migrations_app.models import Invitation
from migrations_app.models.invitations import InvitationState
from migrations_app.reminders.emails import absolute_url


def invitation_url(invitation: Invitation) -> str:
    return absolute_url(reverse("migrations:invitation", kwargs={"token": invitation.link_token()}))


def invitation_message(invitation: Invitation) -> EmailMultiAlternatives:
    organisation = invitation.organisation
    context = {
        "invitation": invitation,
        "inviter": invitation.invited_by,
        "organisation": organisation,
        "role": role_phrase(invitation.role),
        "url": invitation_url(invitation),
        "expires_at": timezone.localtime(invitation.expires_at),
    }
    message = EmailMultiAlternatives(
        subject=f"Join {organisation} on the GP migration tracker",
        body=render_to_string("emails/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    return message


def send_invitation(invitation_id: int) -> bool:
    """Send the invitation's e-mail with its current link; nothing (False) once it is no longer
    pending or has expired (sending again makes a new link and queues a new e-mail)."""
    invitation = (
        Invitation.objects.select_related("invited_by", "practice", "delivery_partner", "icb")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.state() != InvitationState.PENDING:
        return False
    invitation_message(invitation).send()
    return True
