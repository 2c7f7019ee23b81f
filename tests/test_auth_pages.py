"""Sign-in, password reset and change, sign-out, and the error pages, in NHS.UK style."""

import logging
import re

import pytest
from django.contrib import auth
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from migrations_app.models import User
from tests.pages import text

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"
NEW_PASSWORD = "another-long-password-2"
GENERIC_LOGIN_ERROR = "Enter a correct e-mail address and password"


@pytest.fixture
def user() -> User:
    return User.objects.create_user("sam.user@example.nhs.uk", PASSWORD, full_name="Sam User")


def sign_in(client: Client, email: str, password: str):
    return client.post(reverse("login"), {"username": email, "password": password})


def error_summary_items(html: str) -> str:
    match = re.search(r'<ul class="nhsuk-list nhsuk-error-summary__list">(.*?)</ul>', html, re.DOTALL)
    assert match, "no error summary on the page"
    return match.group(1)


def title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.DOTALL).group(1)


def reset_link(message: mail.EmailMessage) -> str:
    return re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body).group(1)


# --- sign in --------------------------------------------------------------------------------------


def test_sign_in_page_shows_the_form(client):
    response = client.get(reverse("login"))

    html = response.content.decode()
    assert response.status_code == 200
    assert title(html) == "Sign in - GP migration tracker - NHS"
    assert html.count("<h1") == 1
    assert 'name="username" type="email"' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert f'<a href="{reverse("password_reset")}">Forgotten your password?</a>' in html


def test_correct_sign_in_redirects_and_starts_a_session(client, user):
    response = sign_in(client, "sam.user@example.nhs.uk", PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("migrations:home")
    assert auth.get_user(client) == user


def test_sign_in_ignores_the_case_of_the_email_address(client, user):
    response = sign_in(client, "  Sam.User@Example.NHS.uk ", PASSWORD)

    assert response.status_code == 302
    assert auth.get_user(client) == user


def test_wrong_password_shows_a_generic_error_and_no_session(client, user):
    response = sign_in(client, "sam.user@example.nhs.uk", "not-the-password")

    html = response.content.decode()
    assert response.status_code == 200
    assert title(html).startswith("Error: Sign in - ")
    assert GENERIC_LOGIN_ERROR in error_summary_items(html)
    assert not auth.get_user(client).is_authenticated


def test_unknown_email_gets_the_identical_message(client, user):
    wrong_password = sign_in(client, "sam.user@example.nhs.uk", "not-the-password")
    unknown_email = sign_in(client, "nobody@example.nhs.uk", PASSWORD)

    assert error_summary_items(unknown_email.content.decode()) == error_summary_items(wrong_password.content.decode())
    assert not auth.get_user(client).is_authenticated


def test_blank_fields_are_marked_and_linked_from_the_error_summary(client):
    response = client.post(reverse("login"), {"username": "", "password": ""})

    html = response.content.decode()
    summary = error_summary_items(html)
    assert '<a href="#id_username">Enter your e-mail address</a>' in summary
    assert '<a href="#id_password">Enter your password</a>' in summary
    assert html.count("nhsuk-form-group--error") == 2
    assert 'class="nhsuk-input nhsuk-input--error nhsuk-u-width-two-thirds" id="id_username"' in html
    assert 'aria-describedby="id_username-error"' in html


# --- password reset ------------------------------------------------------------------------------


def test_password_reset_sends_one_email_with_a_link(client, user):
    response = client.post(reverse("password_reset"), {"email": "sam.user@example.nhs.uk"})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam.user@example.nhs.uk"]
    assert "GP migration tracker" in message.subject
    assert reset_link(message).startswith("/accounts/reset/")


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter your e-mail address"),
        ("not an address", "Enter an e-mail address in the correct format, like name@nhs.net"),
        ("a" * 250 + "@nhs.net", "The e-mail address must be 254 characters or fewer"),
    ],
)
def test_password_reset_names_the_address_as_the_service_does_and_says_what_is_wrong(client, user, email, message):
    assert re.search(r'for="id_email">\s*E-mail address\s*<', client.get(reverse("password_reset")).text)

    response = client.post(reverse("password_reset"), {"email": email})

    assert response.status_code == 200
    assert message in response.text
    assert mail.outbox == []


def test_password_reset_for_an_unknown_address_sends_nothing_but_looks_the_same(client, user):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.nhs.uk"})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_reset_link_sets_a_new_password_that_signs_in(client, user):
    client.post(reverse("password_reset"), {"email": "sam.user@example.nhs.uk"})
    # The link redirects to a URL without the token, which Django keeps in the session.
    set_password_page = client.get(reset_link(mail.outbox[0]), follow=True)
    assert "Set a new password" in set_password_page.content.decode()

    response = client.post(
        set_password_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    sign_in(client, "sam.user@example.nhs.uk", NEW_PASSWORD)
    assert auth.get_user(client) == user


def test_used_reset_link_does_not_work_again(client, user):
    client.post(reverse("password_reset"), {"email": "sam.user@example.nhs.uk"})
    link = reset_link(mail.outbox[0])
    set_password_url = client.get(link).url
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.get(link, follow=True)

    assert "This link does not work" in response.content.decode()


def test_mismatched_new_passwords_are_shown_on_the_second_field(client, user):
    client.post(reverse("password_reset"), {"email": "sam.user@example.nhs.uk"})
    set_password_url = client.get(reset_link(mail.outbox[0])).url

    response = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": PASSWORD})

    html = response.content.decode()
    assert title(html).startswith("Error: Set a new password - ")
    assert '<a href="#id_new_password2">' in error_summary_items(html)
    assert html.count('autocomplete="new-password"') == 2
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- sign out ------------------------------------------------------------------------------------


def test_sign_out_is_a_post_and_the_address_opened_as_a_page_asks_first(client, user):
    client.force_login(user)

    asked = client.get(reverse("logout"))

    assert asked.status_code == 200
    page = text(asked.content.decode())
    assert f"Sign out You are signed in as {user.email}." in page
    assert f'<form method="post" action="{reverse("logout")}"' in asked.content.decode()
    assert auth.get_user(client) == user

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert not auth.get_user(client).is_authenticated


def test_the_sign_out_address_opened_when_signed_out_leads_to_the_sign_in_not_back_to_itself(client):
    response = client.get(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")


@pytest.mark.parametrize("url", ["logout", "admin:logout"])
def test_signing_out_here_or_from_the_admin_says_so_on_the_sign_in_page_and_is_logged(client, admin_user, url, caplog):
    client.force_login(admin_user)

    with caplog.at_level(logging.INFO, logger="security"):
        response = client.post(reverse(url), follow=True)

    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You have signed out." in response.content.decode()
    assert not auth.get_user(client).is_authenticated
    assert [record.security["event"] for record in caplog.records if hasattr(record, "security")] == ["sign_out"]


# --- error pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["migration_cancel", "migration_hold", "milestones_edit"])
def test_a_page_of_a_cancelled_migration_says_it_can_no_longer_change_not_that_the_role_is_wrong(
    client, migration, delivery_partner_user, page
):
    migration.cancel(delivery_partner_user, reason="Practice merged")
    client.force_login(delivery_partner_user)

    response = client.get(reverse(f"migrations:{page}", kwargs={"pk": migration.pk}))

    assert response.status_code == 403
    shown = text(response.content.decode())
    assert "This migration can no longer change This migration is cancelled, so it is read-only" in shown
    assert "Your role does not let you do this" not in shown


@pytest.mark.parametrize("url", ["migrations:migration_start", "migrations:import_upload"])
def test_a_refusal_tells_anyone_whom_to_ask_not_a_practice_manager_an_icb_lead_does_not_have(client, icb_user, url):
    client.force_login(icb_user)

    response = client.get(reverse(url))

    assert response.status_code == 403
    page = response.content.decode()
    assert "Migrations are started and imported by the practices&#x27; delivery partners" in page
    assert "ask your practice manager" not in page


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_url_shows_page_not_found(client, user, settings, debug):
    # In development too: not Django's technical page, which lists every route.
    settings.DEBUG = debug
    client.force_login(user)

    response = client.get("/no-such-page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert title(html) == "Page not found - GP migration tracker - NHS"
    assert "<h1>Page not found</h1>" in html
    assert "If you entered a web address, check it was correct." in html
    assert "URLconf" not in html


@pytest.mark.parametrize("debug", [False, True])
def test_a_migration_someone_may_not_see_is_the_services_page_not_found_in_development_too(
    client, user, migration, settings, debug
):
    # In development (make run), as in use: not Django's technical page, which lists every route.
    settings.DEBUG = debug
    client.force_login(user)

    response = client.get(reverse("migrations:migration_detail", kwargs={"pk": migration.pk}))

    html = response.content.decode()
    assert response.status_code == 404
    assert title(html) == "Page not found - GP migration tracker - NHS"
    assert "URLconf" not in html


def test_form_without_a_csrf_token_shows_the_expired_form_page(user):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("login"), {"username": "sam.user@example.nhs.uk", "password": PASSWORD})

    assert response.status_code == 403
    assert "<h1>This form has expired</h1>" in response.content.decode()
    assert not auth.get_user(client).is_authenticated


def test_server_error_page_renders_without_a_request_or_context():
    html = render_to_string("500.html")

    assert "<h1>Sorry, there is a problem with the service</h1>" in html
    assert html.count("<h1") == 1
