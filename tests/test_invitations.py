"""People: invitations in each state (pending, sent again, cancelled, expired, accepted), accepting
with a new or an existing account, the wrong account, two-factor for roles that need it, what the
invite form refuses, removing a member, who may invite whom (access.INVITES), the People section
and a team's page. The e-mails are sent by the Celery task, run eagerly after commit."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from migrations_app import access
from migrations_app.invitations import emails, inviting
from migrations_app.models import ChecklistItem, Event, Invitation, ItemKind, Membership, Role, User
from migrations_app.models.invitations import INVITATION_DAYS, InvitationState
from tests.conftest import NOW, with_two_factor_device
from tests.factories import PASSWORD, MembershipFactory, PracticeFactory, UserFactory, make_invitation
from tests.pages import detail_url, error_summary, field_error, text

pytestmark = pytest.mark.django_db

NEW_ADDRESS = "new.person@example.nhs.uk"  # make_invitation's
NEW_PASSWORD = "a-long-enough-passphrase-2025"
NEW_ACCOUNT = {"full_name": "Jo Bloggs", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}


@pytest.fixture(autouse=True)
def eager_tasks():
    """Tasks queued by the code under test run at once, in this process."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """Invite someone as a person would, the e-mail sent once the transaction commits."""

    def send(by: User, organisation, email: str = NEW_ADDRESS, role: str = Role.PRACTICE_MANAGER) -> Invitation:
        with django_capture_on_commit_callbacks(execute=True):
            return inviting.invite(by=by, email=email, role=role, organisation=organisation)

    return send


def link_in(message) -> str:
    """The path of the invitation link in an e-mail (its links are absolute, to SITE_URL)."""
    url = re.search(r"https?://\S+/invitations/\S+/", message.body)[0]
    return urlsplit(url).path


def people_events(**organisation) -> list[tuple]:
    return list(
        Event.objects.filter(kind=Event.Kind.PEOPLE, **organisation).values_list("actor__email", "field", "new_value")
    )


# --- pending: the e-mail and the page its link opens -----------------------------------------------


def test_an_invitation_is_one_email_whose_link_opens_it(client, invite, migration, delivery_partner_user):
    invitation = invite(delivery_partner_user, migration.practice)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [NEW_ADDRESS]
    assert message.subject == "Join Riverside Medical Centre (H85001) on the GP migration tracker"
    assert "Dana Partner (project.manager@example.nhs.uk) has invited you" in message.body
    assert "as a practice manager at Riverside Medical Centre (H85001)" in message.body
    assert link_in(message) == reverse("migrations:invitation", kwargs={"token": invitation.link_token()})
    page = client.get(link_in(message))
    assert page.status_code == 200
    assert "Create your account" in text(page.content.decode())
    assert invitation.state() == InvitationState.PENDING
    assert invitation.expires_at == invitation.sent_at + timedelta(days=INVITATION_DAYS)
    assert people_events(practice=migration.practice) == [
        (delivery_partner_user.email, "invitation", f"Invitation to {NEW_ADDRESS} as a practice manager")
    ]


def test_the_email_goes_only_once_the_invitation_is_committed(
    migration, delivery_partner_user, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as queued,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        inviting.invite(
            by=delivery_partner_user, email=NEW_ADDRESS, role=Role.PRACTICE_STAFF, organisation=migration.practice
        )
        raise RuntimeError("rolled back")

    assert queued == []
    assert mail.outbox == []
    assert not Invitation.objects.exists()


def test_the_task_sends_nothing_for_an_invitation_no_longer_pending(migration, delivery_partner_user):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    inviting.cancel(invitation, by=delivery_partner_user)

    assert emails.send_invitation(invitation.pk) is False
    assert emails.send_invitation(invitation.pk + 1000) is False
    assert mail.outbox == []


def test_the_task_is_registered_for_the_worker_under_its_name():
    celery_app.loader.import_default_modules()

    assert "migrations_app.invitations.send_invitation" in celery_app.tasks


# --- accepting with a new account ---------------------------------------------------------------------


def test_a_new_person_sets_name_and_password_is_signed_in_and_lands_on_the_migration(
    client, invite, migration, delivery_partner_user
):
    invitation = invite(delivery_partner_user, migration.practice)

    response = client.post(link_in(mail.outbox[0]), NEW_ACCOUNT)

    assert response.status_code == 302
    assert response.url == detail_url(migration)
    person = User.objects.get(email=NEW_ADDRESS)
    assert person.full_name == "Jo Bloggs"
    assert person.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=person).role == Role.PRACTICE_MANAGER
    invitation.refresh_from_db()
    assert (invitation.state(), invitation.accepted_by) == (InvitationState.ACCEPTED, person)
    assert client.get(detail_url(migration)).status_code == 200  # signed in, with nothing more to do
    assert people_events(practice=migration.practice)[-1] == (
        NEW_ADDRESS,
        "membership",
        f"Jo Bloggs ({NEW_ADDRESS}), Practice manager",
    )


@pytest.mark.parametrize(
    ("password1", "password2", "message"),
    [
        ("password1234", "password1234", "This password is too common."),
        ("short", "short", "This password is too short. It must contain at least 12 characters."),
        ("joblogs-example", "joblogs-example", "The password is too similar to the e-mail address."),
        ("Bloggs-2026-Sunny", "Bloggs-2026-Sunny", "The password holds your name: choose one that does not."),
        ("x-joblogs@work-99", "x-joblogs@work-99", "The password holds your e-mail address: choose one that does not."),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The passwords do not match: type the same password in both boxes"),
    ],
)
def test_the_password_meets_djangos_validators(client, migration, delivery_partner_user, password1, password2, message):
    invitation = make_invitation(
        invited_by=delivery_partner_user, email="joblogs@example.nhs.uk", practice=migration.practice
    )
    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})

    response = client.post(link, {"full_name": "Jo Bloggs", "new_password1": password1, "new_password2": password2})

    assert response.status_code == 400
    assert message in error_summary(response.content.decode())
    # At the box to change: the first, where the password is chosen; the second for a mismatch.
    at, other = (
        ("id_new_password2", "id_new_password1") if password1 != password2 else ("id_new_password1", "id_new_password2")
    )
    assert message in field_error(response.content.decode(), at)
    assert message not in field_error(response.content.decode(), other)
    assert not User.objects.filter(email=invitation.email).exists()
    invitation.refresh_from_db()
    assert invitation.state() == InvitationState.PENDING


def test_a_delivery_partner_invited_as_a_new_person_sets_up_two_factor_before_anything_else(
    client, invite, delivery_partner, delivery_partner_user, migration
):
    invite(delivery_partner_user, delivery_partner, role=Role.DELIVERY_PARTNER)

    response = client.post(link_in(mail.outbox[0]), NEW_ACCOUNT, follow=True)

    assert response.redirect_chain[0] == (reverse("migrations:home"), 302)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor_setup"))
    assert access.two_factor_required(User.objects.get(email=NEW_ADDRESS))


# --- accepting with an existing account ---------------------------------------------------------------


def test_someone_with_an_account_signs_in_to_accept_and_gets_the_membership_with_no_second_account(
    client, invite, migration, delivery_partner_user, outsider
):
    invite(delivery_partner_user, migration.practice, email=outsider.email, role=Role.CLINICAL_LEAD)
    link = link_in(mail.outbox[0])
    accept_url = link + "accept/"
    users = User.objects.count()

    page = client.get(link)
    signed_in = client.post(f"{reverse('login')}?next={accept_url}", {"username": outsider.email, "password": PASSWORD})
    confirm = client.get(accept_url)
    accepted = client.post(accept_url)

    assert "Sign in to accept" in text(page.content.decode())
    assert signed_in.url == accept_url
    assert confirm.status_code == 200
    assert "Accept the invitation" in text(confirm.content.decode())
    assert accepted.url == detail_url(migration)
    assert User.objects.count() == users
    assert Membership.objects.get(user=outsider).role == Role.CLINICAL_LEAD


def test_a_new_account_is_not_made_for_an_address_that_has_one(client, migration, delivery_partner_user, outsider):
    invitation = make_invitation(invited_by=delivery_partner_user, email=outsider.email, practice=migration.practice)
    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})

    response = client.post(link, NEW_ACCOUNT)

    assert response.url == f"{reverse('login')}?next={link}accept/"
    assert not Membership.objects.filter(user=outsider).exists()
    assert not outsider.check_password(NEW_PASSWORD) and User.objects.get(pk=outsider.pk).check_password(PASSWORD)


def test_signed_in_as_another_address_the_page_says_so_and_nothing_changes(
    client, migration, delivery_partner_user, practice_manager
):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})
    client.force_login(practice_manager)

    opened = client.get(link)
    page = client.get(opened.url)
    posted = client.post(opened.url)

    assert opened.url == link + "accept/"
    assert (page.status_code, posted.status_code) == (403, 403)
    assert f"The invitation is for {NEW_ADDRESS}, and you are signed in as {practice_manager.email}" in text(
        page.content.decode()
    )
    invitation.refresh_from_db()
    assert invitation.state() == InvitationState.PENDING
    assert Membership.objects.filter(user=practice_manager).count() == 1


def test_accepting_signed_in_needs_the_second_factor_too(client, migration, delivery_partner_user, admin_user):
    invitation = make_invitation(invited_by=delivery_partner_user, email=admin_user.email, practice=migration.practice)
    accept_url = reverse("migrations:invitation_accept", kwargs={"token": invitation.link_token()})
    client.post(reverse("login"), {"username": admin_user.email, "password": PASSWORD})  # no code yet

    response = client.post(accept_url)

    assert response.url.startswith(reverse("two_factor_verify"))
    assert not Membership.objects.filter(user=admin_user).exists()


def test_someone_holding_another_role_there_cannot_accept(client, migration, delivery_partner_user, practice_staff):
    invitation = make_invitation(
        invited_by=delivery_partner_user,
        email=practice_staff.email,
        role=Role.CLINICAL_LEAD,
        practice=migration.practice,
    )
    client.force_login(practice_staff)

    response = client.post(reverse("migrations:invitation_accept", kwargs={"token": invitation.link_token()}))

    assert response.status_code == 409
    assert "You are already practice staff at Riverside Medical Centre (H85001)" in text(response.content.decode())
    assert Membership.objects.get(user=practice_staff).role == Role.PRACTICE_STAFF


# --- sent again, cancelled, expired, used, tampered --------------------------------------------------------


def test_sending_again_gives_a_new_link_and_the_old_one_stops_working(
    client, invite, migration, delivery_partner_user, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW, tick=False)
    invitation = invite(delivery_partner_user, migration.practice)
    old_link = link_in(mail.outbox[0])
    time_machine.move_to(NOW + timedelta(days=6), tick=False)

    client.force_login(delivery_partner_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("migrations:invitation_resend", kwargs={"pk": migration.pk, "invitation_pk": invitation.pk})
        )

    assert response.url == detail_url(migration) + "#people"
    assert len(mail.outbox) == 2
    new_link = link_in(mail.outbox[1])
    assert new_link != old_link
    anonymous = Client()
    assert anonymous.get(old_link).status_code == 404
    assert anonymous.get(new_link).status_code == 200
    invitation.refresh_from_db()
    assert invitation.expires_at == NOW + timedelta(days=6 + INVITATION_DAYS)
    assert people_events(practice=migration.practice)[-1][1:] == (
        "invitation",
        f"Invitation to {NEW_ADDRESS} as a practice manager, sent again, valid until 23 April 2025",
    )


def test_a_cancelled_invitation_link_gets_410(client, migration, delivery_partner_user, practice_manager):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})
    client.force_login(practice_manager)

    cancelled = client.post(
        reverse("migrations:invitation_cancel", kwargs={"pk": migration.pk, "invitation_pk": invitation.pk})
    )
    anonymous = Client()
    page = anonymous.get(link)
    posted = anonymous.post(link, NEW_ACCOUNT)

    assert cancelled.url == detail_url(migration) + "#people"
    assert (page.status_code, posted.status_code) == (410, 410)
    assert "This invitation was cancelled" in text(page.content.decode())
    invitation.refresh_from_db()
    assert (
        f"{practice_manager} cancelled it on {timezone.localtime(invitation.cancelled_at):%-d %B %Y}. "
        f"If you should still join {migration.practice}, "
        f"ask {delivery_partner_user}, who invited you, to send you a new invitation."
    ) in text(page.content.decode())
    assert not User.objects.filter(email=NEW_ADDRESS).exists()
    invitation.refresh_from_db()
    assert (invitation.state(), invitation.cancelled_by) == (InvitationState.CANCELLED, practice_manager)
    assert people_events(practice=migration.practice)[-1] == (practice_manager.email, "invitation", "Cancelled")


def test_cancelling_an_invitation_asks_first_and_changes_nothing_until_confirmed(
    client, migration, delivery_partner_user, practice_manager
):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    url = reverse("migrations:invitation_cancel", kwargs={"pk": migration.pk, "invitation_pk": invitation.pk})
    client.force_login(practice_manager)

    people = client.get(detail_url(migration)).content.decode()
    confirm = client.get(url)

    assert f'href="{url}"' in people  # a link to the question, not a button that cancels
    page = text(confirm.content.decode())
    assert f"Cancel the invitation to {invitation.email}?" in page
    assert "Keep it" in page
    invitation.refresh_from_db()
    assert invitation.state() == InvitationState.PENDING

    client.post(url)
    again = client.get(url, follow=True)

    assert again.redirect_chain == [(detail_url(migration) + "#people", 302)]
    assert f"The invitation to {invitation.email} was cancelled already." in text(again.content.decode())


def test_a_team_invitation_is_cancelled_after_a_confirmation_too(client, delivery_partner, delivery_partner_user):
    invitation = make_invitation(
        invited_by=delivery_partner_user, practice=None, delivery_partner=delivery_partner, role=Role.DELIVERY_PARTNER
    )
    url = reverse("migrations:team_invitation_cancel", kwargs={"invitation_pk": invitation.pk})
    client.force_login(delivery_partner_user)

    confirm = client.get(url)
    invitation.refresh_from_db()
    state_after_question = invitation.state()
    cancelled = client.post(url)

    assert f"Cancel the invitation to {invitation.email}?" in text(confirm.content.decode())
    assert state_after_question == InvitationState.PENDING
    assert cancelled.url == reverse("migrations:team")
    invitation.refresh_from_db()
    assert invitation.state() == InvitationState.CANCELLED


def test_an_expired_invitation_link_gets_410_and_says_who_to_ask(
    client, migration, delivery_partner_user, time_machine
):
    time_machine.move_to(NOW, tick=False)
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})
    time_machine.move_to(NOW + timedelta(days=INVITATION_DAYS), tick=False)

    page = client.get(link)
    posted = client.post(link, NEW_ACCOUNT)

    assert (page.status_code, posted.status_code) == (410, 410)
    assert "Ask Dana Partner, who invited you, to send it again" in text(page.content.decode())
    assert not User.objects.filter(email=NEW_ADDRESS).exists()
    assert invitation.state() == InvitationState.EXPIRED
    assert Invitation.objects.pending().filter(pk=invitation.pk).exists()  # it can still be sent again


def test_an_invitation_link_works_once(client, migration, delivery_partner_user):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})
    client.post(link, NEW_ACCOUNT)

    again = Client().post(link, NEW_ACCOUNT | {"full_name": "Someone Else"})
    page = Client().get(link)

    assert (again.status_code, page.status_code) == (410, 410)
    assert "This invitation has already been accepted" in text(page.content.decode())
    assert User.objects.get(email=NEW_ADDRESS).full_name == "Jo Bloggs"
    assert Membership.objects.filter(user__email=NEW_ADDRESS).count() == 1


def test_a_used_link_opened_while_signed_in_says_what_fits_who_opens_it(client, migration, delivery_partner_user):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})
    client.post(link, NEW_ACCOUNT)  # accepted, and signed in as the new account

    theirs = text(client.get(link).content.decode())
    inviter = Client()
    inviter.force_login(delivery_partner_user)
    inviters = text(inviter.get(link).content.decode())

    assert "You accepted it on" in theirs and "Go to your migrations" in theirs
    assert "Sign in to the tracker" not in theirs
    joined = User.objects.get(email=NEW_ADDRESS)
    assert f"{joined} accepted it on" in inviters
    assert "If that is not the person you invited, remove the account from the list of people" in inviters
    assert f"tell {delivery_partner_user}, who invited you" not in inviters


def test_the_inviter_opening_a_link_they_sent_is_told_it_is_theirs_not_asked_to_sign_out(
    client, migration, delivery_partner_user
):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    client.force_login(delivery_partner_user)

    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})
    page = text(client.get(link, follow=True).content.decode())

    assert "An invitation you sent" in page
    assert f"It is for {invitation.email}, to join {migration.practice}" in page
    assert "Sign out and open the invitation" not in page
    assert invitation.state() == InvitationState.PENDING


def test_a_tampered_or_unknown_link_gets_404_and_reveals_nothing(client, migration, delivery_partner_user):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    token = invitation.link_token()
    other = make_invitation(invited_by=delivery_partner_user, email="other@example.nhs.uk", practice=migration.practice)
    pk, mac = token.split("-")
    tampered = [
        f"{pk}-{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",
        f"{other.pk}-{mac}",  # another invitation's id with this one's code
        f"{int(pk) + 1000}-{mac}",
        f"{'9' * 18}-{mac}",
        "not-a-token",
        mac,
    ]

    responses = [client.get(reverse("migrations:invitation", kwargs={"token": each})) for each in tampered]

    assert [response.status_code for response in responses] == [404] * len(tampered)
    assert all(NEW_ADDRESS not in response.content.decode() for response in responses)
    assert all("Dana Partner" not in response.content.decode() for response in responses)


def test_a_link_made_before_the_secret_key_was_rotated_still_works(client, settings, migration, delivery_partner_user):
    invitation = make_invitation(invited_by=delivery_partner_user, practice=migration.practice)
    token = invitation.link_token()
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-test-" + "x" * 30

    assert Invitation.objects.for_token(token) == invitation
    assert invitation.link_token() != token


# --- what the invite form refuses ----------------------------------------------------------------------


def invite_page(migration) -> str:
    return reverse("migrations:people_invite", kwargs={"pk": migration.pk})


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        (
            "practice.manager@example.nhs.uk",
            Role.PRACTICE_MANAGER,
            "practice.manager@example.nhs.uk is already a practice manager at Riverside Medical Centre (H85001).",
        ),
        (
            " Practice.Manager@Example.NHS.uk ",
            Role.CLINICAL_LEAD,
            "practice.manager@example.nhs.uk is already a practice manager at Riverside Medical Centre (H85001). "
            "To give them another role, choose Change role beside their name in the list of people.",
        ),
        (
            "waiting@example.nhs.uk",
            Role.PRACTICE_STAFF,
            "waiting@example.nhs.uk already has an invitation to Riverside Medical Centre (H85001) as a clinical "
            "lead. Send it again from the list of pending invitations, or cancel it to invite them with another role.",
        ),
        (
            "project.manager@example.nhs.uk",
            Role.PRACTICE_STAFF,
            "project.manager@example.nhs.uk is already a delivery partner project manager at South West London "
            "Commissioning Support Unit, which works with Riverside Medical Centre (H85001). Someone from the "
            "delivery partner or the ICB cannot also hold a role at the practice: each side signs off its own gates.",
        ),
        (
            "icb.lead@example.nhs.uk",
            Role.CLINICAL_LEAD,
            "icb.lead@example.nhs.uk is already an ICB lead at ",
        ),
        ("not an address", Role.PRACTICE_STAFF, "Enter an e-mail address in the correct format, like name@nhs.net"),
        ("", Role.PRACTICE_STAFF, "Enter their e-mail address"),
        ("someone@example.nhs.uk", "", "Select the role to give them"),
        ("someone@example.nhs.uk", Role.DELIVERY_PARTNER, "Select a valid choice."),
    ],
)
def test_the_invite_form_says_what_is_wrong(
    client, migration, delivery_partner_user, practice_manager, icb_user, email, role, message
):
    make_invitation(
        invited_by=delivery_partner_user,
        email="waiting@example.nhs.uk",
        role=Role.CLINICAL_LEAD,
        practice=migration.practice,
    )
    client.force_login(delivery_partner_user)

    response = client.post(invite_page(migration), {"email": email, "role": role})

    assert response.status_code == 400
    assert message in error_summary(response.content.decode())
    assert Invitation.objects.count() == 1
    assert mail.outbox == []


def test_addresses_are_stored_as_sign_in_reads_them(client, migration, practice_manager):
    client.force_login(practice_manager)

    response = client.post(
        invite_page(migration), {"email": "  New.Person@Example.NHS.uk ", "role": Role.PRACTICE_STAFF}
    )

    assert response.url == detail_url(migration) + "#people"
    assert Invitation.objects.get().email == NEW_ADDRESS


def test_the_invite_form_offers_the_roles_one_may_give(client, migration, practice_manager):
    client.force_login(practice_manager)

    response = client.get(invite_page(migration))

    labels = re.findall(r'class="nhsuk-label nhsuk-radios__label"[^>]*>([^<]+)<', response.content.decode())
    assert labels == ["Practice manager", "Clinical lead", "Practice staff"]


# --- removing a member -------------------------------------------------------------------------------


def test_removing_a_member_ends_the_membership_keeps_their_history_and_hands_their_items_back(
    client, migration, practice_manager, clinical_lead
):
    item = migration.items.filter(kind=ItemKind.TASK).first()
    item.complete(clinical_lead)
    ChecklistItem.objects.filter(pk=item.pk).update(owner=clinical_lead)
    membership = Membership.objects.get(user=clinical_lead)
    url = reverse("migrations:member_remove", kwargs={"pk": migration.pk, "membership_pk": membership.pk})
    client.force_login(practice_manager)

    confirm = client.get(url)
    removed = client.post(url)

    assert "Remove Dr Chris Lead?" in text(confirm.content.decode())
    assert removed.url == detail_url(migration) + "#people"
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert User.objects.filter(pk=clinical_lead.pk, is_active=True).exists()
    item.refresh_from_db()
    assert (item.owner, item.completed_by) == (None, clinical_lead)
    assert Event.objects.filter(item=item, kind=Event.Kind.OWNER, actor=practice_manager).exists()
    assert Event.objects.filter(item=item, actor=clinical_lead).exists()  # their tick stays in the history
    assert list(
        Event.objects.filter(practice=migration.practice, kind=Event.Kind.PEOPLE).values_list(
            "actor", "field", "old_value"
        )
    ) == [(practice_manager.pk, "membership", "Dr Chris Lead (clinical.lead@example.nhs.uk), Clinical lead")]
    client.force_login(clinical_lead)
    assert client.get(detail_url(migration)).status_code == 404


def test_nobody_removes_themselves(client, migration, practice_manager):
    membership = Membership.objects.get(user=practice_manager)
    url = reverse("migrations:member_remove", kwargs={"pk": migration.pk, "membership_pk": membership.pk})
    client.force_login(practice_manager)

    page = client.get(url)
    posted = client.post(url)

    assert (page.status_code, posted.status_code) == (403, 403)
    assert "You cannot remove yourself from Riverside Medical Centre (H85001)" in text(page.content.decode())
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_removing_from_a_delivery_partner_hands_back_only_where_they_no_longer_relate(
    migration, delivery_partner, delivery_partner_user, admin_user
):
    colleague = UserFactory(email="colleague@example.nhs.uk")
    membership = MembershipFactory(
        user=colleague, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=delivery_partner
    )
    MembershipFactory(user=colleague, role=Role.PRACTICE_STAFF, practice=migration.practice)
    item = migration.items.first()
    ChecklistItem.objects.filter(pk=item.pk).update(owner=colleague)

    assert inviting.remove_member(membership, by=delivery_partner_user)

    item.refresh_from_db()
    assert item.owner == colleague  # still practice staff there
    assert people_events(delivery_partner=delivery_partner) == [(delivery_partner_user.email, "membership", "")]
    assert inviting.remove_member(membership, by=admin_user) is False  # gone already


# --- unknown and foreign invitations and members ---------------------------------------------------------


def test_an_invitation_or_member_of_another_practice_is_not_found_under_this_migration(
    client, migration, other_migration, admin_user
):
    foreign = make_invitation(invited_by=admin_user, practice=other_migration.practice)
    member = MembershipFactory(practice=other_migration.practice)
    client.force_login(admin_user)
    urls = [
        reverse("migrations:invitation_resend", kwargs={"pk": migration.pk, "invitation_pk": foreign.pk}),
        reverse("migrations:invitation_cancel", kwargs={"pk": migration.pk, "invitation_pk": foreign.pk}),
        reverse("migrations:member_remove", kwargs={"pk": migration.pk, "membership_pk": member.pk}),
        reverse("migrations:member_remove", kwargs={"pk": migration.pk, "membership_pk": member.pk + 1000}),
    ]

    statuses = [client.post(url).status_code for url in urls]

    assert statuses == [404] * len(urls)
    foreign.refresh_from_db()
    assert foreign.state() == InvitationState.PENDING
    assert Membership.objects.filter(pk=member.pk).exists()


# --- who may invite whom -----------------------------------------------------------------------------


PRACTICE_ROLES = (Role.PRACTICE_MANAGER, Role.CLINICAL_LEAD, Role.PRACTICE_STAFF)


@pytest.mark.parametrize(
    ("persona", "at_practice", "at_partner", "at_icb"),
    [
        ("practice_manager", PRACTICE_ROLES, (), ()),
        ("clinical_lead", (), (), ()),
        ("practice_staff", (), (), ()),
        ("delivery_partner_user", PRACTICE_ROLES, (Role.DELIVERY_PARTNER,), ()),
        ("icb_user", (), (), (Role.ICB_LEAD,)),
        ("outsider", (), (), ()),
        ("national_viewer", (), (), ()),
        ("template_editor", (), (), ()),
        ("support_admin", PRACTICE_ROLES, (Role.DELIVERY_PARTNER,), (Role.ICB_LEAD,)),
        ("admin_user", PRACTICE_ROLES, (Role.DELIVERY_PARTNER,), (Role.ICB_LEAD,)),
    ],
)
def test_who_may_invite_whom_follows_invites(
    request, practice, delivery_partner, icb, persona, at_practice, at_partner, at_icb
):
    user = request.getfixturevalue(persona)
    elsewhere = PracticeFactory()

    assert access.roles_to_invite(user, practice) == at_practice
    assert access.roles_to_invite(user, delivery_partner) == at_partner
    assert access.roles_to_invite(user, icb) == at_icb
    everywhere = persona in ("support_admin", "admin_user")
    assert access.roles_to_invite(user, elsewhere) == (PRACTICE_ROLES if everywhere else ())
    assert access.roles_to_invite(user, elsewhere.delivery_partner) == ((Role.DELIVERY_PARTNER,) if everywhere else ())


def test_the_rules_follow_the_table_when_it_changes(monkeypatch, practice, practice_manager, clinical_lead):
    monkeypatch.setitem(access.INVITES, Role.CLINICAL_LEAD, {"practice": frozenset({Role.PRACTICE_STAFF})})

    assert access.roles_to_invite(clinical_lead, practice) == (Role.PRACTICE_STAFF,)
    staff = Membership.objects.create(user=UserFactory(), role=Role.PRACTICE_STAFF, practice=practice)
    manager = Membership.objects.get(user=practice_manager)
    assert access.may_remove(clinical_lead, staff)
    assert not access.may_remove(clinical_lead, manager)
    assert not access.may_remove(practice_manager, manager)


# --- the People section and a team's page ----------------------------------------------------------------


def people_section(response) -> str:
    return text(re.search(r'<section id="people".*?</section>', response.content.decode(), re.DOTALL)[0])


def test_the_people_section_lists_each_role_and_pending_invitations(
    client, migration, practice_manager, delivery_partner_user, icb_user, time_machine
):
    time_machine.move_to(NOW, tick=False)
    make_invitation(invited_by=practice_manager, email="expired@example.nhs.uk", practice=migration.practice)
    time_machine.move_to(NOW + timedelta(days=INVITATION_DAYS + 1), tick=False)
    make_invitation(invited_by=practice_manager, email="waiting@example.nhs.uk", practice=migration.practice)
    client.force_login(practice_manager)

    section = people_section(client.get(detail_url(migration)))

    assert "Practice manager Priya Manager (you) practice.manager@example.nhs.uk" in section
    assert "Clinical lead Nobody yet" in section
    assert "Delivery partner project manager Dana Partner project.manager@example.nhs.uk" in section
    assert "ICB lead Ivan Board icb.lead@example.nhs.uk" in section
    # Each cell with its heading before it, as a phone shows them (a responsive table).
    assert (
        "E-mail address expired@example.nhs.uk Invited by Priya Manager Role Practice staff "
        "Link works until Expired Send again"
    ) in section
    assert (
        "E-mail address waiting@example.nhs.uk Invited by Priya Manager Role Practice staff "
        "Link works until 25 April 2025 Send again"
    ) in section
    assert "Invite someone" in section
    assert "Remove Priya Manager" not in section


def test_the_people_section_has_no_actions_for_those_who_may_not_use_them(
    client, migration, practice_manager, practice_staff
):
    make_invitation(invited_by=practice_manager, practice=migration.practice)
    client.force_login(practice_staff)

    section = people_section(client.get(detail_url(migration)))

    assert NEW_ADDRESS in section
    assert "Practice manager Priya Manager" in section
    assert "Send again" not in section and "Cancel" not in section
    assert "Invite someone" not in section and "Remove" not in section


@pytest.mark.parametrize(
    ("persona", "team", "role"),
    [("delivery_partner_user", "delivery_partner", Role.DELIVERY_PARTNER), ("icb_user", "icb", Role.ICB_LEAD)],
)
def test_a_team_member_invites_a_colleague_from_their_team_page(
    client, request, persona, team, role, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(persona)
    organisation = request.getfixturevalue(team)
    client.force_login(user)

    page = client.get(reverse("migrations:team"))
    with django_capture_on_commit_callbacks(execute=True):
        invited = client.post(reverse("migrations:team"), {"email": "colleague@example.nhs.uk"})
    listed = client.get(reverse("migrations:team"))

    assert f"{user.full_name} (you)" in text(page.content.decode())
    assert invited.url == reverse("migrations:team")
    invitation = Invitation.objects.get(email="colleague@example.nhs.uk")
    assert (invitation.role, invitation.organisation) == (role, organisation)
    assert mail.outbox[0].to == ["colleague@example.nhs.uk"]
    assert "colleague@example.nhs.uk" in text(listed.content.decode())


def test_a_team_page_refuses_an_address_already_in_the_team(client, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = client.post(reverse("migrations:team"), {"email": delivery_partner_user.email})

    assert response.status_code == 400
    assert "is already a delivery partner project manager at South West London Commissioning Support Unit" in (
        error_summary(response.content.decode())
    )


@pytest.mark.parametrize(
    ("persona", "invited", "held"),
    [
        # The ICB lead of a practice the delivery partner supports, and a practice's manager.
        ("delivery_partner_user", "icb_user", "an ICB lead at "),
        ("delivery_partner_user", "practice_manager", "a practice manager at Riverside Medical Centre (H85001)"),
        # The delivery partner of one of the ICB's practices, and a practice's manager.
        ("icb_user", "delivery_partner_user", "a delivery partner project manager at South West London"),
        ("icb_user", "practice_manager", "a practice manager at Riverside Medical Centre (H85001)"),
    ],
)
def test_a_team_refuses_someone_from_another_side_of_its_migrations(client, request, migration, persona, invited, held):
    # One person for two sides (a practice, its delivery partner, its ICB) could sign both sides' gates.
    user, person = request.getfixturevalue(persona), request.getfixturevalue(invited)
    client.force_login(user)

    response = client.post(reverse("migrations:team"), {"email": person.email})

    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert f"{person.email} is already {held}" in summary
    assert "One person cannot work for two sides of the same migrations" in summary
    assert not Invitation.objects.filter(email=person.email).exists()


def test_a_team_refuses_someone_invited_to_another_side_and_not_yet_joined(
    client, migration, delivery_partner_user, icb_user
):
    # Invited to the practice as its manager, still to accept; then the ICB's team invites them too.
    email = "walk.pm@example.nhs.uk"
    make_invitation(
        invited_by=delivery_partner_user, email=email, role=Role.PRACTICE_MANAGER, practice=migration.practice
    )
    client.force_login(icb_user)

    response = client.post(reverse("migrations:team"), {"email": email.upper()})

    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert f"{email} already has an invitation to {migration.practice} as a practice manager" in summary
    assert "One person cannot work for two sides of the same migrations" in summary
    assert Invitation.objects.filter(email__iexact=email).count() == 1


def test_a_team_takes_someone_from_another_ICBs_practice(client, migration, delivery_partner_user):
    # Another ICB's practice, supported by another delivery partner: no side of this team's migrations.
    elsewhere = PracticeFactory(ods_code="Y77777")
    person = UserFactory(email="elsewhere@example.nhs.uk")
    MembershipFactory(user=person, role=Role.PRACTICE_MANAGER, practice=elsewhere)
    client.force_login(delivery_partner_user)

    response = client.post(reverse("migrations:team"), {"email": person.email})

    assert response.status_code == 302
    assert Invitation.objects.filter(email=person.email).exists()


def test_an_invitation_cannot_be_accepted_by_someone_who_since_took_another_side(
    client, migration, delivery_partner_user, icb, icb_user
):
    # Invited to the delivery partner's team, then made an ICB lead of a practice it supports.
    person = UserFactory(email="two.hats@example.nhs.uk")
    invitation = make_invitation(
        invited_by=delivery_partner_user,
        email=person.email,
        role=Role.DELIVERY_PARTNER,
        delivery_partner=migration.practice.delivery_partner,
    )
    MembershipFactory(user=person, role=Role.ICB_LEAD, practice=None, icb=icb)
    with_two_factor_device(person)  # as an ICB lead must
    client.force_login(person)

    response = client.post(reverse("migrations:invitation_accept", kwargs={"token": invitation.link_token()}))

    assert response.status_code == 409
    assert "One person cannot work for two sides of the same migrations" in text(response.content.decode())
    assert not Membership.objects.filter(user=person, delivery_partner__isnull=False).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_someone_without_a_team_is_told_so(client, practice_manager):
    client.force_login(practice_manager)

    response = client.get(reverse("migrations:team"))

    assert "you have no team here" in text(response.content.decode())


def test_a_new_account_without_a_name_is_asked_for_it(client, migration, delivery_partner_user):
    invitation = make_invitation(
        invited_by=delivery_partner_user, email="noname@example.nhs.uk", practice=migration.practice
    )
    link = reverse("migrations:invitation", kwargs={"token": invitation.link_token()})

    response = client.post(
        link, {"full_name": "  ", "new_password1": "A-long-pass-phrase-9", "new_password2": "A-long-pass-phrase-9"}
    )

    assert response.status_code == 400
    assert "Enter your full name" in error_summary(response.content.decode())
    assert not User.objects.filter(email="noname@example.nhs.uk").exists()
