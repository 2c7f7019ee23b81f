"""The session store (migrations_app/sessions.py): a signed-in person's session is read by its key
until it expires, then not at all: an expired or unknown key signs nobody in and is replaced, as
with Django's own database store, whose sessions it reads."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from migrations_app.sessions import SessionStore

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
