"""People in a real browser: a delivery partner invites a practice manager, who opens the e-mail's
link (read from the test mail outbox), sets a password and lands on the migration; the link's error
pages; a team's page and removing a colleague. axe passes on every page and error state."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from config.celery import app as celery_app
from migrations_app.models import Invitation, Membership, Role
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.factories import MembershipFactory, UserFactory, make_invitation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_MANAGER = "new.manager@example.nhs.uk"
PASSWORD = "a-long-enough-passphrase-2025"


@pytest.fixture(autouse=True)
def eager_tasks():
    """The e-mail task runs in the live server's thread once the invitation is committed."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def invitation_path() -> str:
    """The path of the link in the one e-mail sent (its links are absolute, to SITE_URL)."""
    assert len(mail.outbox) == 1
    return urlsplit(re.search(r"https?://\S+/invitations/\S+/", mail.outbox[0].body)[0]).path


def test_a_delivery_partner_invites_a_practice_manager_who_joins_from_the_email(
    page, new_page, sign_in, current_migration, delivery_partner_user
):
    sign_in(page, delivery_partner_user)
    page.goto(f"/migrations/{current_migration.pk}/")
    people = page.locator("#people")
    expect(people).to_contain_text("Practice manager")
    expect(people).to_contain_text("Nobody yet")
    assert_no_axe_violations(page)

    people.get_by_role("link", name="Invite someone").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite someone")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select the role to give them")
    assert_no_axe_violations(page)

    page.get_by_label("E-mail address").fill(NEW_MANAGER)
    page.get_by_role("radio", name="Practice manager").check()
    page.get_by_role("button", name="Send invitation").click()
    page.wait_for_url(f"**/migrations/{current_migration.pk}/#people")
    # In the People section, where the page opens.
    expect(people.get_by_role("status")).to_contain_text(f"Invitation sent to {NEW_MANAGER}")
    expect(people.get_by_role("table")).to_contain_text(NEW_MANAGER)
    assert_no_axe_violations(page)

    invitee = new_page()
    invitee.goto(invitation_path())
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Join Riverside Medical Centre (H85001)")
    expect(invitee.locator("main")).to_contain_text("Dana Partner has invited you")
    assert_no_axe_violations(invitee)
    invitee.get_by_label("Full name").fill("Nia Manager")
    invitee.get_by_label("Create a password", exact=True).fill("short")
    invitee.get_by_label("Confirm your password", exact=True).fill("short")
    invitee.get_by_role("button", name="Create account and join").click()
    expect(invitee.locator(".nhsuk-error-summary")).to_contain_text("This password is too short")
    assert_no_axe_violations(invitee)

    invitee.get_by_label("Create a password", exact=True).fill(PASSWORD)
    invitee.get_by_label("Confirm your password", exact=True).fill(PASSWORD)
    invitee.get_by_role("button", name="Create account and join").click()

    invitee.wait_for_url(f"**/migrations/{current_migration.pk}/")
    expect(invitee.get_by_role("navigation", name="Account")).to_contain_text(NEW_MANAGER)
    expect(invitee.get_by_role("status").first).to_contain_text("You are now a practice manager")
    expect(invitee.locator("#people")).to_contain_text("Nia Manager (you)")
    assert_no_axe_violations(invitee)
    membership = Membership.objects.get(user__email=NEW_MANAGER)
    assert (membership.role, membership.practice_id) == (Role.PRACTICE_MANAGER, current_migration.practice_id)
    assert Invitation.objects.get(email=NEW_MANAGER).accepted_by == membership.user


def tampered(token):
    """The token with its last character changed, so it never matches."""
    return token[:-1] + ("1" if token.endswith("0") else "0")


def test_the_link_pages_say_what_is_wrong(
    page, new_page, sign_in, current_migration, delivery_partner_user, practice_manager
):
    expired = make_invitation(
        invited_by=delivery_partner_user, email="late@example.nhs.uk", practice=current_migration.practice
    )
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    used = make_invitation(
        invited_by=delivery_partner_user, email="done@example.nhs.uk", practice=current_migration.practice
    )
    Invitation.objects.filter(pk=used.pk).update(accepted_at=timezone.now(), accepted_by=practice_manager)
    pending = make_invitation(invited_by=delivery_partner_user, practice=current_migration.practice)
    cases = [
        (f"/invitations/{expired.link_token()}/", 410, "This invitation has expired"),
        (f"/invitations/{used.link_token()}/", 410, "This invitation has already been accepted"),
        (f"/invitations/{tampered(pending.link_token())}/", 404, "This invitation link does not work"),
    ]
    for path, status, heading in cases:
        response = page.goto(path)
        assert response.status == status
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_no_axe_violations(page)

    signed_in = new_page()
    sign_in(signed_in, practice_manager)
    response = signed_in.goto(f"/invitations/{pending.link_token()}/")
    assert response.status == 403
    expect(signed_in.get_by_role("heading", level=1)).to_have_text("This invitation is for another address")
    assert_no_axe_violations(signed_in)


def test_a_delivery_partner_manages_their_team(page, sign_in, delivery_partner, delivery_partner_user):
    colleague = UserFactory(email="colleague@example.nhs.uk", full_name="Col League")
    MembershipFactory(user=colleague, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=delivery_partner)
    sign_in(page, delivery_partner_user)
    page.goto("/team/")
    expect(page.get_by_role("heading", level=2, name=delivery_partner.name)).to_be_visible()
    assert_no_axe_violations(page)

    page.get_by_label("E-mail address").fill(delivery_partner_user.email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("is already a delivery partner project manager")
    assert_no_axe_violations(page)

    page.get_by_role("link", name="Remove Col League").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove Col League?")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Remove Col League").click()
    page.wait_for_url("**/team/")
    expect(page.get_by_role("status").first).to_contain_text("Col League is no longer")
    assert not Membership.objects.filter(user=colleague).exists()


def test_someone_with_an_account_signs_in_and_accepts(page, sign_in, current_migration, delivery_partner_user):
    elsewhere = MembershipFactory(user=UserFactory(email="has.account@example.nhs.uk", full_name="Hana Account"))
    invitation = make_invitation(
        invited_by=delivery_partner_user,
        email=elsewhere.user.email,
        role=Role.CLINICAL_LEAD,
        practice=current_migration.practice,
    )
    page.goto(f"/invitations/{invitation.link_token()}/")
    expect(page.locator("main")).to_contain_text("There is already an account with this address")
    assert_no_axe_violations(page)

    sign_in(page, elsewhere.user)
    page.goto(f"/invitations/{invitation.link_token()}/accept/")
    expect(page.get_by_role("button", name="Accept the invitation")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Accept the invitation").click()

    page.wait_for_url(f"**/migrations/{current_migration.pk}/")
    expect(page.get_by_role("status").first).to_contain_text("You are now a clinical lead")
    assert Membership.objects.filter(user=elsewhere.user).count() == 2
