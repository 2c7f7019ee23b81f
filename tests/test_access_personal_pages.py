"""The pages that are not about a migration: the sign-in and password pages (public, or sending
anonymous people to sign in), and a person's own pages, their API tokens, the reminder settings,
the one-click unsubscribe and the calendar feed, a delivery partner's or ICB's team and the link in
an invitation e-mail, for every persona; public ones are keyed by their token.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import ApiToken, DeliveryPartner, Invitation, Membership, ReminderPreference, Role, User
from migrations_app.reminders import emails as reminder_emails
from tests.access_routes import (
    AUTH_KWARGS,
    AUTH_PUBLIC,
    AUTH_SIGNED_IN,
    HAS_MEMBERSHIPS,
    PERSONAL,
    PERSONAL_NAMES,
    PERSONAS,
    SEES_NOTHING,
    TEAM_MANAGERS,
    TEAM_MEMBERS,
    PersonalRoute,
    login_url,
    send,
    sign_in,
    sign_in_redirect,
)
from tests.factories import MembershipFactory, PracticeFactory, UserFactory, make_invitation

pytestmark = pytest.mark.django_db


# --- the sign-in and password pages -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(AUTH_PUBLIC | AUTH_SIGNED_IN))
def test_accounts_pages_are_public_or_send_anonymous_users_to_sign_in(name, client):
    url = reverse(name, kwargs=AUTH_KWARGS.get(name))

    response = client.get(url)

    if name in AUTH_PUBLIC:
        assert response.status_code == 200
    elif name == "logout":
        # Signed out already: to the sign-in, not back to sign out once signed in.
        assert (response.status_code, response.url) == (302, reverse("login"))
    else:
        assert response.status_code == 302
        assert response.url == login_url(url)


# --- personal pages: reminder settings, one-click unsubscribe, calendar feed ---------------------------


def personal_url(route: PersonalRoute, owner: User) -> str:
    """The route's URL; one with a token carries `owner`'s (an invitation: to their address, to a
    practice they are not in); a team route's, its target at the demo delivery partner."""
    if route.target == "own token":
        token, _ = ApiToken.issue(
            owner, name="Reports", scope="read", expires_on=timezone.localdate() + timedelta(days=30)
        )
        return reverse(route.name, kwargs={"pk": token.pk})
    if route.token == "invitation":
        invitation = make_invitation(
            invited_by=UserFactory(full_name="Ivy Inviter"), email=owner.email, practice=PracticeFactory()
        )
        return reverse(route.name, kwargs={"token": invitation.link_token()})
    partner = DeliveryPartner.objects.get(practices__ods_code="H85001")  # the demo practice's (tests.conftest)
    if route.target == "own team":  # the team's own settings (its check-in day)
        return reverse(route.name, kwargs={"partner_pk": partner.pk})
    if route.target == "team invitation":
        invitation = make_invitation(
            invited_by=owner, email=COLLEAGUE, role=Role.DELIVERY_PARTNER, delivery_partner=partner
        )
        return reverse(route.name, kwargs={"invitation_pk": invitation.pk})
    if route.target == "team member":
        colleague = UserFactory(email=COLLEAGUE, full_name="Cal Colleague")
        membership = MembershipFactory(
            user=colleague, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=partner
        )
        return reverse(route.name, kwargs={"membership_pk": membership.pk})
    if route.token == "unsubscribe":
        return reverse(route.name, kwargs={"token": reminder_emails.unsubscribe_token(owner)})
    if route.token == "calendar":
        preference, _ = ReminderPreference.objects.get_or_create(user=owner)
        preference.new_calendar_token()
        return reverse(route.name, kwargs={"token": preference.calendar_token})
    return reverse(route.name)


def preferences_of(user: User) -> tuple:
    preference = ReminderPreference.objects.filter(user=user).first()
    if preference is None:
        return ()
    return (
        preference.frequency,
        preference.first_lead_days,
        preference.unsubscribed_at is not None,
        preference.calendar_token,
    )


def tokens_of(user: User) -> list[tuple]:
    return list(ApiToken.objects.filter(user=user).order_by("pk").values_list("pk", "name", "revoked_at"))


PREFERENCES_DATA = {"frequency": "weekly", "first_lead_days": "5", "second_lead_days": "2"}


def token_data() -> dict:
    """A new personal API token, for the API tokens page's form (the other pages ignore it)."""
    expires_on = timezone.localdate() + timedelta(days=30)
    return {
        "name": "Weekly report",
        "scope": "read",
        "expires_on-day": str(expires_on.day),
        "expires_on-month": str(expires_on.month),
        "expires_on-year": str(expires_on.year),
    }


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", [route for route in PERSONAL if not route.about_people], ids=str)
def test_personal_pages(route, persona, request, client, practice_manager):
    user = sign_in(client, request, persona)
    # A public URL's token is the credential whoever follows it: the anonymous visitor uses the
    # practice manager's, as a mail client posting the one-click unsubscribe would.
    owner = user or practice_manager
    url = personal_url(route, owner)
    before = preferences_of(owner)
    tokens_before = tokens_of(owner)

    data = PREFERENCES_DATA | token_data() | {"check_in_weekday": "2"}
    response = send(client, route.method, url, data if route.method == "POST" else {})

    owner.refresh_from_db()
    if persona == "anonymous" and not route.public:
        assert response.status_code == 302
        assert response.url == sign_in_redirect(route.method, url)
        assert preferences_of(owner) == before
        assert tokens_of(owner) == tokens_before
    elif route.name == "migrations:api_tokens" and route.method == "POST" and persona in SEES_NOTHING:
        assert response.status_code == 403
        assert tokens_of(owner) == tokens_before
    elif (
        route.name in ("migrations:preferences", "migrations:calendar_link")
        and route.method == "POST"
        and persona not in HAS_MEMBERSHIPS
    ):
        assert response.status_code == 403
        assert preferences_of(owner) == before
    elif route.name == "migrations:api_tokens" and route.method == "POST":
        # The new token is shown in the answer itself, and it is theirs.
        assert response.status_code == 200
        assert [name for _, name, _ in tokens_of(owner)] == ["Weekly report"]
        assert preferences_of(owner) == before
    elif route.name == "migrations:api_token_revoke" and route.method == "POST":
        assert response.status_code == 302
        assert response.url == reverse("migrations:api_tokens")
        assert [revoked_at is not None for _, _, revoked_at in tokens_of(owner)] == [True]
    elif route.name == "migrations:preferences" and route.method == "POST":
        assert response.status_code == 302
        assert preferences_of(owner)[:3] == ("weekly", 5, False)
    elif route.name == "migrations:calendar_link":
        assert response.status_code == 302
        assert preferences_of(owner)[3] not in (None, before[3] if before else None)
    elif route.name == "migrations:check_in_day":
        # The demo delivery partner's check-in day: its team's managers set it; to anyone else it is not found.
        weekday = DeliveryPartner.objects.get(practices__ods_code="H85001").check_in_weekday
        if persona not in TEAM_MANAGERS:
            assert response.status_code == 404
            assert weekday == 0
        elif route.method == "POST":
            assert response.status_code == 302
            assert weekday == 2
        else:
            assert response.status_code == 200
    elif route.name == "migrations:unsubscribe" and route.method == "POST":
        assert response.status_code == 200
        assert preferences_of(owner)[2] is True
    else:
        assert response.status_code == 200
        assert preferences_of(owner) == before
        assert tokens_of(owner) == tokens_before
        if route.name == "migrations:calendar_feed":
            assert response["Content-Type"] == "text/calendar; charset=utf-8"


# --- a team's pages, and the link in an invitation e-mail ---------------------------------------------

COLLEAGUE = "new.colleague@example.nhs.uk"
PEOPLE_DATA = {
    "email": COLLEAGUE,
    "full_name": "Nat New",
    "new_password1": "a-long-enough-passphrase-2025",
    "new_password2": "a-long-enough-passphrase-2025",
}


def people_state() -> tuple:
    invitations = Invitation.objects.order_by("pk").values_list("pk", "token_hash", "accepted_at", "cancelled_at")
    memberships = Membership.objects.order_by("pk").values_list("pk", "user_id", "role")
    return list(invitations), list(memberships), User.objects.count()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", [route for route in PERSONAL if route.about_people], ids=str)
def test_team_pages_and_invitation_links(route, persona, request, client, practice_manager):
    user = sign_in(client, request, persona)
    owner = user or practice_manager
    url = personal_url(route, owner)
    before = people_state()

    response = send(client, route.method, url, PEOPLE_DATA if route.method == "POST" else {})

    if route.target:  # the demo delivery partner's invitation or member
        refused = persona not in TEAM_MANAGERS
    else:  # inviting a colleague needs a team; the team page says when there is none
        refused = route.name == "migrations:team" and route.method == "POST" and persona not in TEAM_MEMBERS
    if persona == "anonymous" and not route.public:
        assert response.status_code == 302
        assert response.url == sign_in_redirect(route.method, url)
        assert people_state() == before
    elif refused:
        # Not their team: its invitations and members are not found, and nothing changes.
        assert response.status_code == 404
        assert people_state() == before
    elif route.method == "GET" and route.name != "migrations:invitation":
        assert response.status_code == 200
        assert people_state() == before
    elif route.name.startswith("migrations:team"):
        assert response.status_code == 302
        assert response.url == reverse("migrations:team")
        assert people_state() != before
    elif route.name == "migrations:invitation":
        # Someone signed in goes on to accept it there; the invited address has an account, so an
        # anonymous visitor signs in first (the page says so; a POST goes to the sign-in).
        accept_url = url + "accept/"
        if persona != "anonymous":
            assert (response.status_code, response.url) == (302, accept_url)
        elif route.method == "GET":
            assert response.status_code == 200
            assert "Sign in to accept" in response.content.decode()
        else:
            assert (response.status_code, response.url) == (302, login_url(accept_url))
        assert people_state() == before
    else:
        # Accepted by the account signed in to the invited address: a membership, and no new account.
        assert response.status_code == 302
        invitations, memberships, users = people_state()
        assert [row[2] is not None for row in invitations] == [True]
        assert len(memberships) == len(before[1]) + 1
        assert users == before[2]


@pytest.mark.parametrize("route", [route for route in PERSONAL if route.public], ids=str)
def test_public_personal_pages_with_a_wrong_token_get_404(route, client, practice_manager):
    good = personal_url(route, practice_manager)
    wrong = [
        good.replace(good.rstrip("/").rsplit("/", 1)[1][:8], "AAAAAAAA"),
        reverse(route.name, kwargs={"token": reminder_emails.unsubscribe_token(practice_manager) + "x"}),
    ]
    before = preferences_of(practice_manager)

    statuses = {url: send(client, route.method, url).status_code for url in wrong}

    assert set(statuses.values()) == {404}, statuses
    assert preferences_of(practice_manager) == before


def test_a_new_calendar_link_stops_the_old_one(client, practice_manager):
    old_url = personal_url(PERSONAL[-1], practice_manager)
    client.force_login(practice_manager)

    client.post(reverse("migrations:calendar_link"), {"action": "new"})
    turned_off = client.post(reverse("migrations:calendar_link"), {"action": "turn_off"})

    assert turned_off.status_code == 302
    assert Client().get(old_url).status_code == 404
    assert preferences_of(practice_manager)[3] is None


@pytest.mark.parametrize("name", sorted(PERSONAL_NAMES))
def test_undeclared_methods_on_personal_pages_get_405_and_change_nothing(name, client, practice_manager):
    client.force_login(practice_manager)
    declared = {route.method for route in PERSONAL if route.name == name}
    url = personal_url(next(route for route in PERSONAL if route.name == name), practice_manager)
    before = preferences_of(practice_manager)

    refused = {
        method: send(client, method, url, PREFERENCES_DATA).status_code
        for method in ("GET", "POST", "PUT", "DELETE")
        if method not in declared
    }

    assert refused and set(refused.values()) == {405}, refused
    assert preferences_of(practice_manager) == before


@pytest.mark.parametrize("route", [route for route in PERSONAL if route.method == "POST"], ids=str)
def test_personal_posts_need_a_csrf_token_except_the_one_click_unsubscribe(route, practice_manager):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(practice_manager)
    url = personal_url(route, practice_manager)
    before = preferences_of(practice_manager)
    tokens_before = tokens_of(practice_manager)

    response = csrf_client.post(url, PREFERENCES_DATA | token_data() | {"List-Unsubscribe": "One-Click"})

    if route.name == "migrations:unsubscribe":
        # RFC 8058: the mail client posts without a session or a form; the signed token is the key.
        assert response.status_code == 200
        assert preferences_of(practice_manager)[2] is True
    else:
        assert response.status_code == 403
        assert preferences_of(practice_manager) == before
        assert tokens_of(practice_manager) == tokens_before


@pytest.mark.parametrize("persona", [persona for persona in PERSONAS if persona != "anonymous"])
def test_the_header_offers_the_team_reminders_and_api_tokens_only_to_those_they_can_serve(persona, request, client):
    sign_in(client, request, persona)

    page = client.get(reverse("migrations:preferences")).content.decode()
    header = page.split("</header>", 1)[0]

    assert (f'href="{reverse("migrations:preferences")}"' in header) == (persona in HAS_MEMBERSHIPS)
    assert (f'href="{reverse("migrations:api_tokens")}"' in header) == (persona not in SEES_NOTHING)
    assert (f'href="{reverse("migrations:team")}"' in header) == (persona in TEAM_MEMBERS)
    # The page itself says why there is nothing to set, rather than offering settings that do nothing.
    assert ("there is nothing to remind you of" in page) == (persona not in HAS_MEMBERSHIPS)
    assert ('name="frequency"' in page) == (persona in HAS_MEMBERSHIPS)
    tokens = client.get(reverse("migrations:api_tokens")).content.decode()
    assert ("A token could read nothing, so none can be made." in tokens) == (persona in SEES_NOTHING)
    assert ('name="scope"' in tokens) == (persona not in SEES_NOTHING)
