"""Changing one's password, and setting one from a reset link: the service's wording, not Django's,
and nothing changed on a mistake."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.factories import PASSWORD
from tests.pages import field_error, text

pytestmark = pytest.mark.django_db

NEW = "a-long-new-password-for-tests"


def errors(response) -> str:
    return text(response.content.decode())


def test_changing_a_password_with_two_different_new_ones_says_so_plainly_and_changes_nothing(client, practice_manager):
    client.force_login(practice_manager)

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW + "x"},
    )

    assert response.status_code == 200
    assert "The passwords do not match: type the same password in both boxes" in errors(response)
    assert "didn’t match" not in errors(response)
    practice_manager.refresh_from_db()
    assert practice_manager.check_password(PASSWORD)


def test_changing_a_password_names_each_missing_box_and_a_wrong_current_password(client, practice_manager):
    client.force_login(practice_manager)

    empty = errors(client.post(reverse("password_change"), {}))
    wrong = errors(
        client.post(reverse("password_change"), {"old_password": "not-it", "new_password1": NEW, "new_password2": NEW})
    )

    for message in ("Enter your current password", "Enter a new password", "Enter the new password again"):
        assert message in empty
    assert "This field is required" not in empty
    assert "Your current password is not right: enter it again" in wrong
    practice_manager.refresh_from_db()
    assert practice_manager.check_password(PASSWORD)


def test_a_password_changed_rightly_is_changed(client, practice_manager):
    client.force_login(practice_manager)

    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 302
    practice_manager.refresh_from_db()
    assert practice_manager.check_password(NEW)


def test_setting_a_password_from_a_reset_link_says_plainly_when_the_two_differ(client, practice_manager):
    uid = urlsafe_base64_encode(force_bytes(practice_manager.pk))
    link = reverse("password_reset_confirm", args=(uid, default_token_generator.make_token(practice_manager)))
    form_address = client.get(link).url  # Django swaps the token for one kept in the session

    mismatched = client.post(form_address, {"new_password1": NEW, "new_password2": NEW + "x"})
    empty = client.post(form_address, {})

    assert "The passwords do not match: type the same password in both boxes" in errors(mismatched)
    assert "Enter a new password" in errors(empty)
    assert "Enter the new password again" in errors(empty)
    practice_manager.refresh_from_db()
    assert practice_manager.check_password(PASSWORD)
    done = client.post(form_address, {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    practice_manager.refresh_from_db()
    assert practice_manager.check_password(NEW)


def test_the_sign_in_security_page_links_to_changing_the_password(client, practice_manager):
    client.force_login(practice_manager)

    page = client.get(reverse("two_factor_manage")).content.decode()

    assert "<h1>Sign-in security</h1>" in page
    assert f'<a href="{reverse("password_change")}">Change your password</a>' in page


def test_a_password_the_validators_refuse_is_named_at_the_box_where_it_is_chosen(client, practice_manager):
    client.force_login(practice_manager)
    changed = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"}
    ).content.decode()
    uid = urlsafe_base64_encode(force_bytes(practice_manager.pk))
    client.logout()
    link = reverse("password_reset_confirm", args=(uid, default_token_generator.make_token(practice_manager)))
    reset = client.post(client.get(link).url, {"new_password1": "short", "new_password2": "short"}).content.decode()

    for html in (changed, reset):
        assert "This password is too short" in field_error(html, "id_new_password1")
        assert field_error(html, "id_new_password2") == ""
    practice_manager.refresh_from_db()
    assert practice_manager.check_password(PASSWORD)
