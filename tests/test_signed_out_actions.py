"""A change sent after the session ended: nothing is saved, the person signs in and comes back to
the page they were on (not to the form's POST address), told that the change was not made."""

import pytest
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
