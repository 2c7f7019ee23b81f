"""Two-factor sign-in follows the person's current roles: a role that needs it, granted during a
session, counts from the next page; and the session gets a new key once the second factor is in."""

import functools
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.middleware import is_verified
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.middleware import TwoFactorMiddleware
from migrations_app.models import Role, User
from migrations_app.views import migration_detail
from tests.conftest import in_group
from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def sign_in(client: Client, user: User) -> None:
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key):06d}"


def session_cookie(client: Client, settings) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def make_delivery_partner(user: User, delivery_partner) -> None:
    MembershipFactory(user=user, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=delivery_partner)


def make_staff(user: User, delivery_partner) -> None:
    user.is_staff = True
    user.save(update_fields=["is_staff"])


def make_national_viewer(user: User, delivery_partner) -> None:
    in_group(user, "National viewers")


@pytest.mark.parametrize(
    "grant", [make_delivery_partner, make_staff, make_national_viewer], ids=lambda grant: grant.__name__
)
def test_a_role_granted_during_a_session_needs_two_factor_from_the_next_page(
    client, practice_manager, migration, delivery_partner, grant
):
    page = reverse("migrations:migration_detail", args=[migration.pk])
    sign_in(client, practice_manager)
    assert client.get(page).status_code == 200

    grant(practice_manager, delivery_partner)
    response = client.get(page)

    assert response.status_code == 302
    assert response.url == f"{reverse('two_factor_setup')}?next={page}"
    assert not TOTPDevice.objects.filter(user=practice_manager, confirmed=True).exists()


def test_a_role_granted_to_someone_with_a_device_sends_them_to_enter_a_code(
    client, practice_manager, migration, delivery_partner
):
    # A device added in another session, after this one was let in without one.
    page = reverse("migrations:migration_detail", args=[migration.pk])
    sign_in(client, practice_manager)
    TOTPDevice.objects.create(user=practice_manager, name="Authenticator app", confirmed=True)
    assert client.get(page).status_code == 200

    make_delivery_partner(practice_manager, delivery_partner)
    response = client.get(page, follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("two_factor_verify"))
    assert response.status_code == 200


def test_a_device_removed_after_sign_in_does_not_trap_someone_who_may_do_without(client, practice_manager, migration):
    device = TOTPDevice.objects.create(user=practice_manager, name="Authenticator app", confirmed=True)
    page = reverse("migrations:migration_detail", args=[migration.pk])
    sign_in(client, practice_manager)
    assert client.get(page).url.startswith(reverse("two_factor_verify"))

    device.delete()  # by an admin, for a lost phone
    response = client.get(page, follow=True)

    assert response.status_code == 200
    assert response.request["PATH_INFO"] == page


def test_staff_whose_device_is_removed_after_sign_in_must_set_up_a_new_one(client, admin_user):
    sign_in(client, admin_user)
    TOTPDevice.objects.filter(user=admin_user).delete()

    response = client.get(reverse("migrations:home"), follow=True)

    assert response.request["PATH_INFO"] == reverse("two_factor_setup")


def test_entering_the_code_gives_the_session_a_new_key(client, delivery_partner_user, settings, time_machine):
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    device = TOTPDevice.objects.get(user=delivery_partner_user)
    sign_in(client, delivery_partner_user)
    before = session_cookie(client, settings)

    response = client.post(reverse("two_factor_verify"), {"code": code_for(device), "next": "/"})

    assert response.status_code == 302
    assert session_cookie(client, settings) != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get(reverse("migrations:home")).url == reverse("migrations:dashboard")


@pytest.mark.parametrize("typed", ["{0} {1}", " {0}{1} ", "{0}\t{1}"])
def test_a_code_typed_as_the_app_shows_it_with_a_space_is_accepted(client, delivery_partner_user, typed):
    device = TOTPDevice.objects.get(user=delivery_partner_user)
    sign_in(client, delivery_partner_user)
    code = code_for(device)

    response = client.post(reverse("two_factor_verify"), {"code": typed.format(code[:3], code[3:]), "next": "/"})

    assert response.status_code == 302
    assert client.get(reverse("migrations:home")).url == reverse("migrations:dashboard")


@pytest.mark.parametrize(
    ("typed", "message"),
    [("12345", "Enter all 6 digits"), ("1234567", "Enter the 6 digits only"), ("12a456", "with no letters")],
)
def test_a_code_of_the_wrong_length_or_with_letters_says_what_to_type(client, delivery_partner_user, typed, message):
    sign_in(client, delivery_partner_user)

    response = client.post(reverse("two_factor_verify"), {"code": typed})

    assert response.status_code == 400
    assert message in response.content.decode()


def test_after_wrong_codes_the_page_says_how_long_until_a_code_is_accepted(client, delivery_partner_user, time_machine):
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    device = TOTPDevice.objects.get(user=delivery_partner_user)
    sign_in(client, delivery_partner_user)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    first = client.post(reverse("two_factor_verify"), {"code": wrong}).content.decode()
    time_machine.move_to("2026-03-02 09:00:02+00:00", tick=False)
    second = client.post(reverse("two_factor_verify"), {"code": wrong}).content.decode()
    # Refused while it waits, even the right code, and said so.
    right_too_soon = client.post(reverse("two_factor_verify"), {"code": code_for(device)})

    assert "That code did not work. Wait 1 second, then enter the code your app shows now" in first
    assert "Until then no code is accepted, even a right one, and each wrong code makes the wait longer" in first
    assert "Wait 2 seconds, then enter the code your app shows now." in second
    assert right_too_soon.status_code == 400
    assert "Wait 2 seconds, then enter the code your app shows now." in right_too_soon.content.decode()
    time_machine.move_to("2026-03-02 09:00:05+00:00", tick=False)
    assert client.post(reverse("two_factor_verify"), {"code": code_for(device), "next": "/"}).status_code == 302


def test_setting_up_two_factor_gives_the_session_a_new_key(client, practice_manager, settings, time_machine):
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    sign_in(client, practice_manager)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=practice_manager, confirmed=False)
    before = session_cookie(client, settings)

    response = client.post(reverse("two_factor_setup"), {"code": code_for(device)})

    assert response.status_code == 302
    assert session_cookie(client, settings) != before
    assert not Session.objects.filter(session_key=before).exists()
    assert TOTPDevice.objects.filter(user=practice_manager, confirmed=True).count() == 1
    assert client.get(reverse("two_factor_manage")).status_code == 200


# --- what the check costs ------------------------------------------------------------------------


def request_for(user: User, state: str, rf, verified_with: TOTPDevice | None = None):
    """A request by `user` (loaded afresh, as on each request) whose session's two-factor state is
    `state`, set up as the middleware before TwoFactorMiddleware would set it up."""
    request = rf.get("/")
    request.user = User.objects.get(pk=user.pk)
    request.user.otp_device = verified_with
    request.user.is_verified = functools.partial(is_verified, request.user)
    request.session = SessionStore()
    request.session["two_factor"] = state
    return request


def check(request):
    return TwoFactorMiddleware(lambda request: None).process_view(request, migration_detail, (), {"pk": 1})


def test_a_verified_user_pays_no_query_for_the_check(rf, delivery_partner_user, django_assert_num_queries):
    request = request_for(delivery_partner_user, "device", rf, TOTPDevice.objects.get(user=delivery_partner_user))

    with django_assert_num_queries(0):
        assert check(request) is None


def test_an_unverified_practice_user_pays_one_query_for_the_check(rf, practice_manager, django_assert_num_queries):
    request = request_for(practice_manager, "none", rf)

    with django_assert_num_queries(1):
        assert check(request) is None


def test_a_user_who_had_a_device_at_sign_in_is_sent_to_enter_a_code_without_a_query(
    rf, practice_manager, django_assert_num_queries
):
    request = request_for(practice_manager, "device", rf)

    with django_assert_num_queries(0):
        response = check(request)

    assert response.url.startswith(reverse("two_factor_verify"))


def account_links(html: str) -> list[str]:
    return re.findall(r'class="nhsuk-header__account-link" href="[^"]*">([^<]+)</a>', html)


def test_the_header_offers_no_page_that_would_send_back_to_the_security_code(
    client, delivery_partner_user, admin_user, time_machine
):
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    device = TOTPDevice.objects.get(user=delivery_partner_user)
    sign_in(client, delivery_partner_user)

    waiting = client.get(reverse("two_factor_verify")).content.decode()
    client.post(reverse("two_factor_verify"), {"code": code_for(device), "next": "/"})
    signed_in = client.get(reverse("migrations:preferences")).content.decode()
    client.force_login(admin_user)
    staff = client.get(reverse("migrations:preferences")).content.decode()

    assert account_links(waiting) == []
    assert "Log out" in waiting
    assert account_links(signed_in) == ["Lessons", "Your team", "Reminders", "Sign-in security", "API tokens"]
    # Staff reach the administration from any page.
    assert account_links(staff)[0] == "Administration"


def test_a_page_reads_the_person_and_their_verified_device_itself_not_through_lazy_proxies(
    client, delivery_partner_user
):
    client.force_login(delivery_partner_user)

    response = client.get(reverse("migrations:dashboard"))

    assert response.status_code == 200
    user = response.wsgi_request.user
    assert type(user) is User
    assert user.pk == delivery_partner_user.pk
    assert user.is_verified()
    assert user.otp_device == TOTPDevice.objects.get(user=delivery_partner_user)


def test_a_page_reads_someone_signed_out_as_anonymous_itself(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert type(response.wsgi_request.user) is AnonymousUser
    assert not response.wsgi_request.user.is_verified()
