"""The two credentials in public reminder URLs stop working: the calendar link when the password
changes or the account is deactivated, the e-mails' unsubscribe link after
REMINDER_UNSUBSCRIBE_LINK_DAYS."""

import importlib
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection
from django.test import Client
from django.urls import reverse

from migrations_app.models import ReminderPreference
from migrations_app.reminders import emails
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

FINGERPRINT_MIGRATION = importlib.import_module("migrations_app.migrations.0011_calendar_token_fingerprint")

NEW_PASSWORD = "a-brand-new-passphrase-42"
SENT_AT = datetime(2025, 6, 3, 7, 5, tzinfo=ZoneInfo("Europe/London"))


def calendar_url(user) -> str:
    preference, _ = ReminderPreference.objects.get_or_create(user=user)
    preference.new_calendar_token()
    return reverse("migrations:calendar_feed", kwargs={"token": preference.calendar_token})


# --- the calendar link ----------------------------------------------------------------------------


def test_the_calendar_link_stops_working_when_the_password_is_set(practice_manager):
    url = calendar_url(practice_manager)
    before = Client().get(url).status_code

    practice_manager.set_password(NEW_PASSWORD)
    practice_manager.save()

    assert (before, Client().get(url).status_code) == (200, 404)


def test_changing_the_password_on_its_page_stops_the_calendar_link(client, practice_manager):
    client.force_login(practice_manager)
    client.post(reverse("migrations:calendar_link"), {"action": "new"})
    url = reverse(
        "migrations:calendar_feed",
        kwargs={"token": ReminderPreference.objects.get(user=practice_manager).calendar_token},
    )
    before = Client().get(url).status_code

    changed = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert (before, Client().get(url).status_code) == (200, 404)


def test_the_calendar_link_stops_working_when_the_account_is_deactivated(practice_manager):
    url = calendar_url(practice_manager)

    practice_manager.is_active = False
    practice_manager.save()

    assert Client().get(url).status_code == 404


def test_the_reminder_settings_say_the_calendar_link_stopped_and_a_new_one_works(client, practice_manager):
    old_url = calendar_url(practice_manager)
    practice_manager.set_password(NEW_PASSWORD)
    practice_manager.save()
    client.force_login(practice_manager)

    page = client.get(reverse("migrations:preferences")).content.decode()
    client.post(reverse("migrations:calendar_link"), {"action": "new"})
    new_token = ReminderPreference.objects.get(user=practice_manager).calendar_token
    new_url = reverse("migrations:calendar_feed", kwargs={"token": new_token})
    page_after = client.get(reverse("migrations:preferences")).content.decode()

    assert "Your calendar link no longer works" in page
    assert old_url not in page and "Make a new link" in page
    assert new_url in page_after and "Your calendar link no longer works" not in page_after
    assert (Client().get(old_url).status_code, Client().get(new_url).status_code) == (404, 200)


def test_a_calendar_link_made_before_links_were_bound_to_the_password_keeps_working_until_it_changes(
    practice_manager,
):
    url = calendar_url(practice_manager)
    ReminderPreference.objects.filter(user=practice_manager).update(calendar_token_fingerprint="")
    unbound = Client().get(url).status_code

    FINGERPRINT_MIGRATION.bind_existing_links(django_apps, SimpleNamespace(connection=connection))
    bound = Client().get(url).status_code
    practice_manager.set_password(NEW_PASSWORD)
    practice_manager.save()

    assert (unbound, bound, Client().get(url).status_code) == (404, 200, 404)


def test_the_calendar_link_survives_a_secret_key_rotation_only_with_the_old_key_in_the_fallbacks(
    settings, practice_manager
):
    url = calendar_url(practice_manager)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"

    settings.SECRET_KEY_FALLBACKS = [old_key]
    with_fallback = Client().get(url).status_code
    settings.SECRET_KEY_FALLBACKS = []
    without = Client().get(url).status_code

    assert (with_fallback, without) == (200, 404)


# --- the unsubscribe link -------------------------------------------------------------------------


def sent_unsubscribe_url(user) -> str:
    with time_machine.travel(SENT_AT, tick=False):
        return reverse("migrations:unsubscribe", kwargs={"token": emails.unsubscribe_token(user)})


def is_unsubscribed(user) -> bool:
    return ReminderPreference.objects.filter(user=user, unsubscribed_at__isnull=False).exists()


def test_an_unsubscribe_link_still_works_89_days_after_the_email(client, practice_manager):
    url = sent_unsubscribe_url(practice_manager)

    with time_machine.travel(SENT_AT + timedelta(days=89), tick=False):
        confirm = client.get(url)
        one_click = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert (confirm.status_code, one_click.status_code) == (200, 200)
    assert is_unsubscribed(practice_manager)


def test_an_unsubscribe_link_91_days_old_has_expired_and_sends_the_person_to_their_settings(client, practice_manager):
    url = sent_unsubscribe_url(practice_manager)

    with time_machine.travel(SENT_AT + timedelta(days=91), tick=False):
        page = client.get(url)
        one_click = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert (page.status_code, one_click.status_code) == (410, 410)
    text = page.content.decode()
    assert "This unsubscribe link has expired" in text
    assert f'href="{reverse("migrations:preferences")}"' in text
    assert practice_manager.email not in text
    assert not is_unsubscribed(practice_manager)


def test_the_unsubscribe_link_lifetime_is_a_setting(settings, client, practice_manager):
    settings.REMINDER_UNSUBSCRIBE_LINK_DAYS = 30
    url = sent_unsubscribe_url(practice_manager)

    with time_machine.travel(SENT_AT + timedelta(days=31), tick=False):
        response = client.get(url)

    assert response.status_code == 410


@pytest.mark.parametrize("days_later", [1, 91])
def test_a_tampered_unsubscribe_link_is_404_however_old(client, practice_manager, days_later):
    url = sent_unsubscribe_url(practice_manager)
    token = url.rstrip("/").rsplit("/", 1)[1]
    tampered = url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))

    with time_machine.travel(SENT_AT + timedelta(days=days_later), tick=False):
        page = client.get(tampered)
        one_click = client.post(tampered, {"List-Unsubscribe": "One-Click"})

    assert (page.status_code, one_click.status_code) == (404, 404)
    assert not is_unsubscribed(practice_manager)


def test_the_calendar_feed_answers_head_as_get_without_a_body(practice_manager):
    url = calendar_url(practice_manager)

    head, get = Client().head(url), Client().get(url)

    assert (head.status_code, get.status_code) == (200, 200)
    assert head["Content-Type"] == get["Content-Type"] == "text/calendar; charset=utf-8"
    assert head.content == b"" and get.content.startswith(b"BEGIN:VCALENDAR")
