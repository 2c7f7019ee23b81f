"""The session store (migrations_app/sessions.py): a signed-in person's session is read by its key
until it expires, then not at all: an expired or unknown key signs nobody in and is replaced, as
with Django's own database store, whose sessions it reads."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models import User
from migrations_app.sessions import EARLIER_USER_BACKEND, USER_BACKEND, SessionStore
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_tracker_reads_its_sessions_with_its_own_store():
    assert settings.SESSION_ENGINE == "migrations_app.sessions"


def test_a_signed_in_session_is_read_until_it_expires_and_then_signs_nobody_in(client, practice_manager, migration):
    client.force_login(practice_manager)
    page = reverse("migrations:migration_detail", kwargs={"pk": migration.pk})
    assert client.get(page).status_code == 200
    key = client.session.session_key

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={page}"


def test_a_store_loads_what_was_saved_and_nothing_for_an_expired_or_unknown_key():
    saved = DjangoSessionStore()  # Django's own store writes the same table
    saved["signed_in_at"] = 1234
    saved.create()

    assert SessionStore(saved.session_key).load() == {"signed_in_at": 1234}

    Session.objects.filter(session_key=saved.session_key).update(expire_date=timezone.now())
    expired = SessionStore(saved.session_key)
    assert expired.load() == {}
    assert expired.session_key is None  # forgotten: a new key is made if the session is saved

    unknown = SessionStore("x" * 32)
    assert unknown.load() == {} and unknown.session_key is None
    assert SessionStore(None).load() == {}


def test_a_session_saved_by_the_store_is_read_back_by_it():
    store = SessionStore()
    store["seen_at"] = 99
    store.save()

    assert SessionStore(store.session_key).load() == {"seen_at": 99}
    assert Session.objects.filter(session_key=store.session_key).exists()


# The person and their second factor, read on every signed-in request (UserBackend, TwoFactorDeviceMiddleware).


def test_signing_in_names_the_tracker_s_own_reader_of_people(client, practice_manager):
    response = client.post(reverse("login"), {"username": practice_manager.email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == USER_BACKEND


def test_a_session_made_before_the_tracker_read_people_itself_still_signs_its_person_in(
    client, practice_manager, migration
):
    client.force_login(practice_manager, backend=EARLIER_USER_BACKEND)
    page = reverse("migrations:migration_detail", kwargs={"pk": migration.pk})

    response = client.get(page)

    assert response.status_code == 200
    assert response.wsgi_request.user == practice_manager


def test_someone_whose_account_is_closed_is_signed_out_on_their_next_page(client, practice_manager, migration):
    client.force_login(practice_manager)
    page = reverse("migrations:migration_detail", kwargs={"pk": migration.pk})
    assert client.get(page).status_code == 200

    User.objects.filter(pk=practice_manager.pk).update(is_active=False)
    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={page}"


def test_the_person_read_is_the_one_signed_in_with_what_they_hold_now(client, practice_manager, migration):
    client.force_login(practice_manager)
    User.objects.filter(pk=practice_manager.pk).update(full_name="Pat Renamed")

    response = client.get(reverse("migrations:migration_detail", kwargs={"pk": migration.pk}))

    user = response.wsgi_request.user
    assert (type(user), user.pk, user.full_name) == (User, practice_manager.pk, "Pat Renamed")


@pytest.mark.parametrize("device_id", ["{label}/{pk}0000", "{label}/x{pk}", "{label}/", "otp_static.staticdevice/{pk}"])
def test_a_second_factor_that_is_not_the_person_s_device_verifies_nothing(client, delivery_partner_user, device_id):
    client.force_login(delivery_partner_user)
    device = TOTPDevice.objects.get(user=delivery_partner_user)
    assert client.get(reverse("migrations:dashboard")).status_code == 200
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device_id.format(label=TOTPDevice._meta.label_lower, pk=device.pk)
    session.save()

    response = client.get(reverse("migrations:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_verify"))


def test_someone_else_s_device_verifies_nothing(client, delivery_partner_user, icb_user):
    client.force_login(delivery_partner_user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=icb_user).persistent_id
    session.save()

    response = client.get(reverse("migrations:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_verify"))
