"""The REST API (migrations_app/api/): the list is the dashboard's rows for the same person, its
filters are the dashboard's and a bad one is a 400 problem; a migration nobody may see is a 404;
every answer is kept by no cache; the schema is valid OpenAPI; the documentation page loads its
own files. Who may use which route is in the access matrix (tests/access_routes.py)."""

import json

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from openapi_spec_validator import validate
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from migrations_app.api.serializers import MigrationRow, row_data
from migrations_app.api.throttles import AddressRateThrottle, PersonRateThrottle
from migrations_app.dashboard import rows
from migrations_app.models import ChecklistItem
from tests.conftest import TODAY
from tests.factories import PASSWORD
from tests.pages import OVERDUE_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

LIST_URL = reverse("api:migration_list")
PROBLEM = "application/problem+json"


def detail_url(pk: int) -> str:
    return reverse("api:migration_detail", kwargs={"pk": pk})


def dashboard_rows(user, **filters) -> list[rows.Row]:
    options = rows.options_for(user)
    return rows.find(user, rows.Filters(**filters), TODAY, options)


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",") if part.strip()}


# --- the list is the dashboard's ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["delivery_partner_user", "icb_user", "national_viewer", "practice_manager"])
def test_the_list_is_the_dashboards_rows_for_the_same_person(persona, request, client, world):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    response = client.get(LIST_URL)

    expected = dashboard_rows(user)
    results = response.json()["results"]
    assert response.status_code == 200
    assert [row["id"] for row in results] == [row.pk for row in expected]
    for got, row in zip(results, expected, strict=True):
        assert (got["practice"], got["ods_code"], got["icb"]) == (row.practice_name, row.ods_code, row.icb_name)
        assert got["delivery_partner"] == row.delivery_partner_name
        assert got["systems"] == {"source": row.source, "target": row.target}
        assert got["milestones"]["go_live_on"] == (row.go_live_on.isoformat() if row.go_live_on else None)
        assert got["milestones"]["fdp_on"] == (row.fdp_on.isoformat() if row.fdp_on else None)
        assert got["milestones"]["idp_on"] == (row.idp_on.isoformat() if row.idp_on else None)
        assert got["status"]["key"] == row.status
        assert got["current_phase"] == {"key": row.phase_key, "title": row.phase_title}
        assert got["progress"] == {"done": row.done, "applicable": row.applicable, "percent": row.percent}
        assert (got["overdue"], got["blocked"]) == (row.overdue, row.blocked)
        assert got["rag"] == {
            "status": row.rag.value if row.rag else None,
            "label": row.rag_label,
            "reason": row.rag_reason,
        }
        if row.next_item_pk is None:
            assert got["next_item_due"] is None
        else:
            assert got["next_item_due"] == {
                "due_on": row.next_due_on.isoformat(),
                "title": row.next_item_title,
                "id": row.next_item_pk,
            }


def test_a_row_carries_the_demo_migrations_figures(client, delivery_partner_user, migration):
    client.force_login(delivery_partner_user)

    row = client.get(LIST_URL).json()["results"][0]

    overdue = ChecklistItem.objects.get(migration=migration, key=OVERDUE_KEY)  # due 7 April
    assert row["id"] == migration.pk
    assert row["practice"] == "Riverside Medical Centre"
    assert row["ods_code"] == "H85001"
    assert row["milestones"]["go_live_on"] == "2025-06-09"
    assert row["overdue"] >= 1 and overdue.due_on.isoformat() == "2025-04-07"
    # The next item due is the next one to come, as on the dashboard: on IDP, 14 April.
    assert row["next_item_due"]["due_on"] == "2025-04-14"
    assert row["url"].endswith(detail_url(migration.pk))


def test_the_rows_built_directly_answer_what_their_schema_serializer_answers(
    rf, national_viewer, delivery_partner_user, world
):
    """The list builds its rows without DRF's fields (serializers.row_data); MigrationRow is its
    schema. Every kind of row: on hold (no RAG, a reason), cancelled, with and without dates, with
    and without an item due next."""
    world["hilltop"].hold(delivery_partner_user, "Practice merger under review")
    world["faraway"].cancel(delivery_partner_user, "Practice closing")
    request = Request(rf.get(LIST_URL))
    found = dashboard_rows(national_viewer, status="all")
    assert len(found) == 4
    assert {row.status for row in found} >= {"on_hold", "cancelled"}
    assert any(row.next_item_pk is None for row in found) and any(row.next_item_pk for row in found)

    direct = row_data(found, request)
    through_fields = MigrationRow(found, many=True, context={"request": request}).data

    assert json.loads(JSONRenderer().render(direct)) == json.loads(JSONRenderer().render(through_fields))


def test_a_filter_uses_the_dashboards_parameter_names(client, delivery_partner_user, world):
    client.force_login(delivery_partner_user)

    response = client.get(LIST_URL, {"search": "hilltop"})

    assert response.status_code == 200
    assert [row["practice"] for row in response.json()["results"]] == ["Hilltop Surgery"]


def test_the_sort_uses_the_dashboards_columns(client, national_viewer, world):
    client.force_login(national_viewer)

    response = client.get(LIST_URL, {"sort": "-practice", "status": "all"})

    expected = dashboard_rows(national_viewer, sort="-practice", status="all")
    assert [row["id"] for row in response.json()["results"]] == [row.pk for row in expected]


def test_bad_filters_get_a_problem_naming_each_bad_parameter(client, delivery_partner_user, world):
    client.force_login(delivery_partner_user)

    response = client.get(LIST_URL, {"rag": "purple", "icb": "999999", "sort": "colour", "page": "2"})

    problem = response.json()
    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert (problem["type"], problem["title"], problem["status"]) == ("about:blank", "Bad Request", 400)
    assert problem["detail"]
    # The page is a cursor here: the dashboard's page number is no parameter of the list.
    assert set(problem["errors"]) == {"rag", "icb", "sort", "page"}
    assert problem["errors"]["page"] == ["Not a parameter of this list"]


def test_bad_filter_values_are_named_with_the_dashboards_messages(client, delivery_partner_user, world):
    client.force_login(delivery_partner_user)

    response = client.get(LIST_URL, {"rag": "purple", "icb": "999999", "sort": "colour"})

    errors = response.json()["errors"]
    assert response.status_code == 400
    assert errors == {
        "icb": ["Select an ICB from the list"],
        "rag": ["Select red, amber or green"],
        "sort": ["Sort by one of the table's columns"],
    }


# --- pages ----------------------------------------------------------------------------------------------


def test_pages_follow_each_other_with_a_cursor(client, national_viewer, world, settings, monkeypatch):
    monkeypatch.setattr("migrations_app.api.pagination.SignedCursorPagination.page_size", 3)
    client.force_login(national_viewer)

    first = client.get(LIST_URL, {"status": "all"}).json()
    second = client.get(first["next"]).json()

    expected = [row.pk for row in dashboard_rows(national_viewer, status="all")]
    assert len(expected) == 4
    assert [row["id"] for row in first["results"] + second["results"]] == expected
    assert first["previous"] is None and second["next"] is None
    assert client.get(second["previous"]).json()["results"] == first["results"]


def test_a_tampered_cursor_gets_a_problem(client, national_viewer, world, monkeypatch):
    monkeypatch.setattr("migrations_app.api.pagination.SignedCursorPagination.page_size", 3)
    client.force_login(national_viewer)
    cursor = client.get(LIST_URL, {"status": "all"}).json()["next"].split("cursor=")[1]

    tampered = client.get(LIST_URL, {"status": "all", "cursor": cursor[:-2] + "xx"})
    other_filters = client.get(LIST_URL, {"cursor": cursor})

    assert tampered.status_code == other_filters.status_code == 400
    assert set(tampered.json()["errors"]) == set(other_filters.json()["errors"]) == {"cursor"}


# --- one migration -------------------------------------------------------------------------------------


def test_the_detail_is_the_row_and_its_phases(client, practice_manager, migration):
    client.force_login(practice_manager)

    response = client.get(detail_url(migration.pk))

    body = response.json()
    listed = client.get(LIST_URL).json()["results"][0]
    assert response.status_code == 200
    assert {key: value for key, value in body.items() if key != "phases"} == listed
    phases = migration.phases.order_by("position")
    assert [phase["key"] for phase in body["phases"]] == [phase.key for phase in phases]
    assert sum(phase["progress"]["applicable"] for phase in body["phases"]) == listed["progress"]["applicable"]
    assert sum(phase["open"] for phase in body["phases"]) > 0


def test_each_migrations_detail_is_its_own_row_for_a_reader_of_every_migration(
    client, admin_user, settings, world, migration, other_migration
):
    # Unchecked, as in production: a statement kept for another migration's detail would be run.
    settings.CHECK_REMEMBERED_SQL = False
    client.force_login(admin_user)

    details = [client.get(detail_url(pk)).json() for pk in (migration.pk, other_migration.pk, migration.pk)]

    assert [detail["id"] for detail in details] == [migration.pk, other_migration.pk, migration.pk]
    assert details[1]["ods_code"] == other_migration.practice.ods_code


def test_a_migration_the_caller_cannot_see_is_a_404_problem(client, delivery_partner_user, other_migration):
    client.force_login(delivery_partner_user)

    hidden = client.get(detail_url(other_migration.pk))
    missing = client.get(detail_url(other_migration.pk + 1000))

    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["Content-Type"] == PROBLEM
    assert hidden.json() == missing.json()
    assert hidden.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not found.",
    }


def test_nobody_signed_in_gets_a_problem_not_a_sign_in_page(client, migration):
    response = client.get(LIST_URL)

    # 401 with the scheme to use: a personal API token (tests/test_api_tokens.py), or a session.
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.json()["title"] == "Unauthorized"


def test_a_session_without_its_two_factor_code_is_refused(client, delivery_partner_user, migration):
    # Signed in with the password only: the pages ask for the code, and the API refuses the session.
    client.post(reverse("login"), {"username": delivery_partner_user.email, "password": PASSWORD})

    response = client.get(LIST_URL)

    assert response.status_code == 401
    assert response.json()["detail"] == "Finish signing in with your two-factor code first."


@pytest.mark.parametrize("url", [LIST_URL, "detail", reverse("api:schema")])
def test_every_answer_is_kept_by_no_cache(url, client, delivery_partner_user, migration, other_migration):
    client.force_login(delivery_partner_user)
    paths = {"detail": detail_url(migration.pk)}

    response = client.get(paths.get(url, url))
    refused = client.get(detail_url(other_migration.pk))

    assert response.status_code == 200
    assert {"no-store", "private"} <= cache_directives(response)
    assert {"no-store", "private"} <= cache_directives(refused)


def test_a_throttled_caller_gets_a_429_problem(client, delivery_partner_user, migration, monkeypatch):
    monkeypatch.setitem(PersonRateThrottle.THROTTLE_RATES, "user", "2/minute")
    client.force_login(delivery_partner_user)

    answers = [client.get(LIST_URL) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].headers["Content-Type"] == PROBLEM
    assert int(answers[2].headers["Retry-After"]) > 0


def test_an_address_is_throttled_whoever_asks(client, delivery_partner_user, national_viewer, migration, monkeypatch):
    monkeypatch.setitem(AddressRateThrottle.THROTTLE_RATES, "address", "2/minute")
    client.force_login(delivery_partner_user)
    first = client.get(LIST_URL)
    second = client.get(LIST_URL)
    client.force_login(national_viewer)

    third = client.get(LIST_URL)

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)


# --- schema and documentation --------------------------------------------------------------------------


def test_the_schema_is_valid_openapi(client, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")

    schema = response.json()
    validate(schema)
    assert {"/api/v1/migrations/", "/api/v1/migrations/{id}/"} <= set(schema["paths"])


def test_the_documentation_page_loads_its_files_from_the_app(client, delivery_partner_user, settings):
    client.force_login(delivery_partner_user)

    page = client.get(reverse("api:docs"))
    script = client.get(reverse("api:docs"), {"script": ""})

    html = page.content.decode()
    assert page.status_code == script.status_code == 200
    assert "<style>" not in html and "<script>" not in html  # the CSP allows neither inline
    assert script.headers["Content-Type"].startswith("application/javascript")
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "api_docs.css"):
        url = next(part.split('"')[0] for part in html.split('="')[1:] if part.split('"')[0].endswith(asset))
        assert url.startswith(settings.STATIC_URL) or url.startswith("/" + settings.STATIC_URL)
        assert finders.find(url.split(settings.STATIC_URL, 1)[1]) is not None, asset
    # A way back to the service and to the tokens the page talks of.
    assert f'<a href="{reverse("migrations:home")}">GP migration tracker</a>' in html
    assert f'<a href="{reverse("migrations:api_tokens")}">Your API tokens</a>' in html


def test_the_documentation_page_sends_people_to_sign_in(client):
    response = client.get(reverse("api:docs"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
