"""Refusals the API answers as problem details although DRF's views never see them: a path under
/api/ that is no route, a session past its absolute time-out, a body larger than the API reads."""

import json

import pytest
from django.urls import reverse

from migrations_app.models import Event
from tests.pages import OVERDUE_KEY, item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    "path", ["/api/", "/api/v1/", "/api/v1/nothing/", "/api/v2/migrations/", "/api/v1/migrations/x/"]
)
def test_a_path_under_api_that_is_no_route_is_a_404_problem(client, delivery_partner_user, path):
    client.force_login(delivery_partner_user)

    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert "/api/docs/" in body["detail"]
    assert "no-store" in response["Cache-Control"]


def test_a_path_under_api_that_is_no_route_is_a_problem_signed_out_too(client):
    response = client.get("/api/v1/nothing/")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_a_page_that_is_no_route_is_still_the_nhs_404_page(client, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Page not found" in response.content


def test_a_session_past_its_absolute_time_out_gets_a_401_problem_not_the_sign_in_page(
    client, delivery_partner_user, settings
):
    client.force_login(delivery_partner_user)
    assert client.get(reverse("api:migration_list")).status_code == 200
    session = client.session
    session["signed_in_at"] -= settings.SESSION_ABSOLUTE_SECONDS + 60
    session.save()

    response = client.get(reverse("api:migration_list"))

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert "Your session has ended" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer realm=")
    # Signed out for good: the next call is refused as anyone's with no credentials.
    assert client.get(reverse("api:migration_list")).status_code == 401


def test_the_documentation_past_the_time_out_goes_to_the_sign_in_page_as_every_page(
    client, delivery_partner_user, settings
):
    client.force_login(delivery_partner_user)
    assert client.get(reverse("api:docs")).status_code == 200
    session = client.session
    session["signed_in_at"] -= settings.SESSION_ABSOLUTE_SECONDS + 60
    session.save()

    response = client.get(reverse("api:docs"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def oversized(settings) -> str:
    return json.dumps({"note": "x" * (settings.API_MAX_BODY_BYTES + 1)})


def action_url(task) -> str:
    return reverse("api:item_action", kwargs={"pk": task.migration_id, "item_pk": task.pk})


def test_a_body_declared_larger_than_the_api_reads_is_a_413_problem_and_changes_nothing(
    client, migration, practice_manager, settings
):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)
    events = Event.objects.count()
    body = json.dumps({"action": "note", "revision": task.revision, "note": "x" * settings.API_MAX_BODY_BYTES})

    response = client.post(action_url(task), body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert f"{settings.API_MAX_BODY_BYTES:,} bytes" in response.json()["detail"]
    task.refresh_from_db()
    assert task.note == ""
    assert Event.objects.count() == events


def test_a_body_sent_without_its_length_is_not_read(client, migration, practice_manager, settings):
    """A chunked body declares no length, and the server reads none of it (WSGI gives the app no
    more than Content-Length): the change is refused for its missing fields."""
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)
    body = json.dumps({"action": "note", "revision": task.revision, "note": "y" * settings.API_MAX_BODY_BYTES})

    response = client.generic(
        "POST",
        action_url(task),
        body,
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert {"action", "revision"} <= set(response.json()["errors"])
    task.refresh_from_db()
    assert task.note == ""


def test_a_body_within_the_limit_is_read(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    response = client.post(
        action_url(task),
        json.dumps({"action": "note", "revision": task.revision, "note": "Rang the supplier"}),
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    task.refresh_from_db()
    assert task.note == "Rang the supplier"
