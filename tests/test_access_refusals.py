"""What every route of the access matrix refuses, whoever asks: methods it does not declare (405,
and no GET changes anything), a POST without a CSRF token (403), and an unknown item, an item of
another migration or another practice's migration (404, so nobody learns that it exists).
"""

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import ChecklistItem
from tests.access_routes import (
    MATRIX,
    MEMBERS,
    NOTE,
    ON_ITEM,
    ON_MIGRATION,
    PERSONAL_NAMES,
    POSTS,
    REASON,
    allowed,
    api_url_names,
    migration_url_names,
    send,
    sign_in,
    snapshot,
    target_of,
    url_of,
)

pytestmark = pytest.mark.django_db


# --- methods: every POST view refuses GET, and no GET changes anything --------------------------------


@pytest.mark.parametrize("name", sorted((migration_url_names() | api_url_names()) - PERSONAL_NAMES))
def test_undeclared_methods_get_405_and_change_nothing(name, client, migration, clinical_lead):
    client.force_login(clinical_lead)
    declared = [route for route in MATRIX if route.name == name]
    route = declared[0]
    target = target_of(route, migration, finisher=clinical_lead)
    url = url_of(route, migration, target.pk)
    before = snapshot()

    methods = {"GET", "POST", "PUT", "DELETE"} - {route.method for route in declared}
    if name in ITEM_ACTIONS:
        # Opened as a page (left in the browser after a form's errors, or the sign-in's `next`
        # after a time-out), an item's action leads to the item's page.
        methods.discard("GET")
        opened = send(client, "GET", url, {})
        assert opened.status_code == 302
        assert opened.url == reverse("migrations:item_detail", kwargs={"pk": migration.pk, "item_pk": target.pk})
    refused = {method: send(client, method, url, route.data(target, migration)).status_code for method in methods}

    assert refused and set(refused.values()) == {405}, refused
    assert snapshot() == before


ITEM_ACTIONS = {
    f"migrations:item_{action}"
    for action in ("complete", "reopen", "note", "sign_off", "owner", "due_date", "not_applicable", "blocked")
}


@pytest.mark.parametrize("route", [route for route in MATRIX if route.method == "GET"], ids=str)
def test_get_changes_nothing_even_for_an_admin(route, client, migration, admin_user):
    client.force_login(admin_user)
    target = target_of(route, migration, finisher=admin_user)
    url = url_of(route, migration, target.pk)
    before = snapshot()

    response = client.get(url, {"confirm": "yes", "note": NOTE, "reason": REASON})

    # Staff land on the dashboard from the home page; the API's lists refuse parameters they do not know.
    expected = {
        "migrations:home": 302,
        "api:migration_list": 400,
        "api:item_list": 400,
        "api:event_list": 400,
        "api:organisation_list": 400,
    }
    assert response.status_code == expected.get(route.name, 200)
    assert snapshot() == before


# --- CSRF ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", POSTS, ids=str)
def test_post_without_csrf_token_gets_403_and_changes_nothing(route, request, migration):
    # Someone who may make the POST: the clinical lead most often, the practice manager for the
    # practice's gate, the ICB lead for the ICB's, the delivery partner for the rest (the upgrade).
    signers = ("clinical_lead", "practice_manager", "icb_user", "delivery_partner_user")
    user = request.getfixturevalue(next(persona for persona in signers if allowed(route, persona)))
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    target = target_of(route, migration, finisher=user)
    url = url_of(route, migration, target.pk)
    before = snapshot()

    # The API reads JSON, with the token in its header, as a page's script sends it.
    body = {"content_type": "application/json"} if route.is_api else {}

    refused = csrf_client.post(url, route.data(target, migration), **body)

    assert refused.status_code == 403
    assert snapshot() == before
    # The same request with the token from a page is accepted: the 403 above was the CSRF check.
    csrf_client.get(reverse("migrations:migration_detail", kwargs={"pk": migration.pk}))
    token = csrf_client.cookies["csrftoken"].value
    if route.is_api:
        accepted = csrf_client.post(url, route.data(target, migration), headers={"X-CSRFToken": token}, **body)
    else:
        accepted = csrf_client.post(url, route.data(target, migration) | {"csrfmiddlewaretoken": token})
    assert accepted.status_code == (200 if route.is_api else 302)
    assert snapshot() != before


# --- 404: unknown items, items of another migration, another practice's migration ---------------------


@pytest.mark.parametrize("route", ON_ITEM, ids=str)
def test_unknown_item_gets_404(route, client, migration, clinical_lead, admin_user):
    target = target_of(route, migration, finisher=clinical_lead)
    missing_pk = ChecklistItem.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    url = url_of(route, migration, missing_pk)
    before = snapshot()

    statuses = {}
    for user in (clinical_lead, admin_user):
        client.force_login(user)
        statuses[user.email] = send(client, route.method, url, route.data(target, migration)).status_code

    assert statuses == {clinical_lead.email: 404, admin_user.email: 404}
    assert snapshot() == before


@pytest.mark.parametrize("route", ON_ITEM, ids=str)
def test_item_of_another_migration_under_this_migrations_pk_gets_404(
    route, client, migration, other_migration, clinical_lead, admin_user
):
    # The admin can see both migrations: only the item-belongs-to-migration check stands in the way.
    foreign_item = target_of(route, other_migration, finisher=admin_user)
    url = url_of(route, migration, foreign_item.pk)
    before = snapshot()

    statuses = {}
    for user in (clinical_lead, admin_user):
        client.force_login(user)
        statuses[user.email] = send(client, route.method, url, route.data(foreign_item, other_migration)).status_code

    assert statuses == {clinical_lead.email: 404, admin_user.email: 404}
    assert snapshot() == before


@pytest.mark.parametrize("route", ON_MIGRATION, ids=str)
def test_another_practices_migration_gets_404(route, request, client, migration, other_migration):
    target = target_of(route, other_migration, finisher=request.getfixturevalue("admin_user"))
    url = url_of(route, other_migration, target.pk)
    before = snapshot()

    statuses = {}
    for persona in MEMBERS:
        sign_in(client, request, persona)
        statuses[persona] = send(client, route.method, url, route.data(target, other_migration)).status_code

    assert statuses == dict.fromkeys(MEMBERS, 404)
    assert snapshot() == before
