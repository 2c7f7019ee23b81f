"""A change sent after the session ended: nothing is saved, the person signs in and comes back to
the page they were on (not to the form's POST address), told that the change was not made."""

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import Event, ItemStatus
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TASK_KEY = "agree-go-live-date"


def urls(migration) -> tuple[str, str, str]:
    item = migration.items.get(key=TASK_KEY)
    page = reverse("migrations:migration_detail", kwargs={"pk": migration.pk})
    tick = reverse("migrations:item_complete", kwargs={"pk": migration.pk, "item_pk": item.pk})
    return page, tick, f"{reverse('login')}?next={page}"


def test_an_htmx_tick_after_the_session_ended_sends_the_whole_page_to_the_sign_in(client, migration):
    page, tick, sign_in = urls(migration)

    response = client.post(tick, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{page}")

    assert response.status_code == 200
    assert response["HX-Redirect"] == sign_in
    assert response.content == b""
    assert migration.items.get(key=TASK_KEY).status == ItemStatus.TO_DO
    assert not Event.objects.filter(kind=Event.Kind.STATUS).exists()


def test_a_plain_tick_after_the_session_ended_comes_back_to_the_page_after_signing_in(
    client, migration, practice_manager
):
    page, tick, sign_in = urls(migration)

    refused = client.post(tick, HTTP_REFERER=f"http://testserver{page}")
    signed_in = client.post(sign_in, {"username": practice_manager.email, "password": PASSWORD}, follow=True)

    assert refused.status_code == 302
    assert refused.url == sign_in
    assert signed_in.redirect_chain[-1][0] == page
    assert "You were signed out, so that change was not saved" in signed_in.content.decode()
    assert migration.items.get(key=TASK_KEY).status == ItemStatus.TO_DO


def test_a_page_on_another_site_is_never_where_the_sign_in_returns(client, migration):
    _, tick, _ = urls(migration)

    plain = client.post(tick, HTTP_REFERER="https://elsewhere.example/phish")
    htmx = client.post(tick, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="https://elsewhere.example/phish")

    assert plain.url == reverse("login")
    assert htmx["HX-Redirect"] == reverse("login")


def test_a_page_asked_for_after_the_session_ended_is_where_the_sign_in_returns(client, migration):
    page, _, sign_in = urls(migration)

    response = client.get(page)

    assert response.status_code == 302
    assert response.url == sign_in


# Cookies gone with the session (a browser closed, cookies cleared): the CSRF check refuses the
# change before the sign-in rule sees it, and it is still a time-out, not an expired form.


def test_a_change_sent_with_every_cookie_gone_goes_to_the_sign_in_and_is_not_saved(migration, practice_manager):
    page, tick, sign_in = urls(migration)
    client = Client(enforce_csrf_checks=True)

    refused = client.post(tick, HTTP_REFERER=f"http://testserver{page}")
    htmx = client.post(tick, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{page}")
    signed_in = client.get(sign_in)

    assert refused.status_code == 302
    assert refused.url == sign_in
    assert htmx["HX-Redirect"] == sign_in
    assert "You were signed out, so that change was not saved" in signed_in.content.decode()
    assert migration.items.get(key=TASK_KEY).status == ItemStatus.TO_DO


def test_a_change_refused_by_the_csrf_check_while_signed_in_shows_the_expired_form_page(migration, practice_manager):
    page, tick, _ = urls(migration)
    client = Client(enforce_csrf_checks=True)
    client.force_login(practice_manager)

    response = client.post(tick, HTTP_REFERER=f"http://testserver{page}")

    html = response.content.decode()
    assert response.status_code == 403
    assert "<h1>This form has expired</h1>" in html
    # The page keeps what was typed for the page reloaded (static/js/tracker.js), as the sign-in's does.
    assert " data-sign-in-flow" in html and " data-not-saved " in html
    assert migration.items.get(key=TASK_KEY).status == ItemStatus.TO_DO
