"""A migration's milestones through the API (migrations_app/api/milestones.py): as they stand, a
preview of a change (the due dates that would move, what to check about the dates) that saves
nothing, and the change itself, checked as the milestones page checks it and refused to whoever
the page refuses. Every refusal changes nothing."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app import scheduling
from migrations_app.models import ChecklistItem, Event, PracticeMigration
from tests.access_routes import snapshot
from tests.factories import GO_LIVE_ON, MILESTONE_DATES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

PROBLEM = "application/problem+json"
WEEK_LATER = GO_LIVE_ON + timedelta(days=7)


def url(migration: PracticeMigration) -> str:
    return reverse("api:milestones", kwargs={"pk": migration.pk})


def change(client, migration: PracticeMigration, body):
    return client.patch(url(migration), body, content_type="application/json")


def iso(dates: dict) -> dict:
    return {name: value.isoformat() if value else None for name, value in dates.items()}


def go_live_items(migration: PracticeMigration) -> dict[int, date]:
    return dict(migration.items.filter(anchor="go_live").values_list("pk", "due_on"))


# --- as they stand ------------------------------------------------------------------------------------


def test_the_milestones_as_they_stand(client, practice_staff, migration):
    client.force_login(practice_staff)

    response = client.get(url(migration))

    body = response.json()
    assert response.status_code == 200
    assert body["milestones"] == iso(MILESTONE_DATES)
    assert body["old_system_access_end_expected_on"] is None  # agreed
    assert body["may_change"] is False  # practice staff work the checklist; the plan is the managers'
    # What the milestones page would point out too: the demo's end of old system access is on a Saturday.
    assert body["warnings"] == [
        {"milestone": warning.milestone.field_name, "message": warning.message}
        for warning in scheduling.milestone_warnings(migration.milestone_dates())
    ]
    assert body["warnings"][0]["milestone"] == "old_system_access_end_on"


def test_a_migration_the_caller_cannot_see_is_a_404(client, outsider, migration):
    client.force_login(outsider)

    responses = [client.get(url(migration)), change(client, migration, {"milestones": {"go_live_on": "2025-06-16"}})]

    assert [response.status_code for response in responses] == [404, 404]
    assert all(response.headers["Content-Type"] == PROBLEM for response in responses)


# --- preview ------------------------------------------------------------------------------------------


def test_a_preview_answers_what_would_move_and_saves_nothing(client, practice_manager, migration):
    client.force_login(practice_manager)
    before = snapshot()

    response = change(client, migration, {"milestones": {"go_live_on": WEEK_LATER.isoformat()}, "preview": True})

    body = response.json()
    expected = migration.preview_milestone_change({"go_live": WEEK_LATER})
    assert response.status_code == 200
    assert (body["preview"], body["saved"]) == (True, False)
    assert body["changes"] == [
        {"milestone": "go_live_on", "label": "Go-live", "old_on": GO_LIVE_ON.isoformat(), "new_on": "2025-06-16"}
    ]
    assert expected and body["moves"] == [
        {
            "item": move.item_id,
            "title": move.title,
            "old_due_on": move.old_due_on.isoformat(),
            "new_due_on": move.new_due_on.isoformat(),
        }
        for move in expected
    ]
    assert body["milestones"]["go_live_on"] == "2025-06-16"
    assert snapshot() == before


def test_a_preview_warns_as_the_page_warns(client, practice_manager, migration):
    client.force_login(practice_manager)
    fdp = MILESTONE_DATES["fdp_on"]

    # Go-live on the day of final data production: allowed, but the page asks for a second look.
    response = change(client, migration, {"milestones": {"go_live_on": fdp.isoformat()}, "preview": True})

    assert response.status_code == 200
    warned = [warning["milestone"] for warning in response.json()["warnings"]]
    assert "go_live_on" in warned
    assert "go_live_on" not in [warning["milestone"] for warning in client.get(url(migration)).json()["warnings"]]


# --- the change ---------------------------------------------------------------------------------------


def test_a_change_moves_the_milestone_and_replans_its_items(client, practice_manager, migration):
    client.force_login(practice_manager)
    before = go_live_items(migration)

    response = change(
        client, migration, {"milestones": {"go_live_on": WEEK_LATER.isoformat()}, "reason": "Supplier moved it"}
    )

    migration.refresh_from_db()
    body = response.json()
    assert response.status_code == 200
    assert (body["preview"], body["saved"]) == (False, True)
    assert migration.go_live_on == WEEK_LATER
    assert Event.objects.filter(
        migration=migration, kind=Event.Kind.MILESTONE, field="go_live_on", reason="Supplier moved it"
    ).exists()
    moved = {move["item"] for move in body["moves"]}
    assert moved and moved <= set(before)
    after = go_live_items(migration)
    assert all(after[pk] != before[pk] for pk in moved)
    assert client.get(url(migration)).json()["milestones"]["go_live_on"] == WEEK_LATER.isoformat()


def test_a_date_left_unagreed_again_is_null(client, delivery_partner_user, migration):
    client.force_login(delivery_partner_user)

    response = change(client, migration, {"milestones": {"old_system_access_end_on": None}})

    migration.refresh_from_db()
    assert response.status_code == 200
    assert migration.old_system_access_end_on is None
    expected = (GO_LIVE_ON + timedelta(days=90)).isoformat()  # settings.OLD_SYSTEM_ACCESS_DAYS
    assert client.get(url(migration)).json()["old_system_access_end_expected_on"] == expected


def test_the_same_dates_change_nothing(client, practice_manager, migration):
    client.force_login(practice_manager)
    before = snapshot()

    response = change(client, migration, {"milestones": {"go_live_on": GO_LIVE_ON.isoformat()}})

    assert response.status_code == 200
    assert (response.json()["saved"], response.json()["changes"], response.json()["moves"]) == (False, [], [])
    assert snapshot() == before


# --- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"milestones": {"go_live_on": "2025-05-01"}}, {"milestones.go_live_on"}),  # before FDP
        ({"milestones": {"go_live": "2025-06-16"}}, {"milestones.go_live"}),
        ({"milestones": {"go_live_on": "16/06/2025"}}, {"milestones.go_live_on"}),
        ({"milestones": {"go_live_on": "1999-06-16"}}, {"milestones.go_live_on"}),
        ({"milestones": {"go_live_on": 20250616}}, {"milestones.go_live_on"}),
        ({"milestones": ["go_live_on"]}, {"milestones.non_field_errors"}),
        ({"milestones": {"go_live_on": "2025-06-16"}, "confirm": "yes"}, {"confirm"}),
        ({"milestones": {"go_live_on": "2025-06-16"}, "preview": "perhaps"}, {"preview"}),
        ({"reason": "Supplier moved it"}, {"milestones"}),
        ({"milestones": {"go_live_on": "2025-06-16"}, "reason": "x" * 2001}, {"reason"}),
    ],
    ids=[
        "out of order",
        "an unknown milestone",
        "not an ISO 8601 date",
        "out of the date input's range",
        "a number",
        "not an object",
        "an unknown field",
        "preview not a boolean",
        "no milestones",
        "a reason too long",
    ],
)
def test_a_bad_change_gets_a_400_naming_each_field(body, fields, client, practice_manager, migration):
    client.force_login(practice_manager)
    before = snapshot()

    response = change(client, migration, body)

    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert set(response.json()["errors"]) == fields
    assert snapshot() == before


def test_the_order_is_checked_with_the_pages_message(client, practice_manager, migration):
    client.force_login(practice_manager)

    response = change(client, migration, {"milestones": {"fdp_on": "2025-06-20"}, "preview": True})

    dates = migration.milestone_dates() | {"fdp": date(2025, 6, 20)}
    [message] = scheduling.milestone_order_errors(dates).values()
    assert response.json()["errors"] == {"milestones.go_live_on": [message]}


@pytest.mark.parametrize("persona", ["practice_staff", "icb_user", "national_viewer"])
def test_only_those_who_may_change_them_on_the_page_may_change_them(persona, request, client, migration):
    client.force_login(request.getfixturevalue(persona))
    before = snapshot()

    preview = change(client, migration, {"milestones": {"go_live_on": WEEK_LATER.isoformat()}, "preview": True})
    saved = change(client, migration, {"milestones": {"go_live_on": WEEK_LATER.isoformat()}})
    page = client.get(reverse("migrations:milestones_edit", kwargs={"pk": migration.pk}))

    assert preview.status_code == saved.status_code == page.status_code == 403
    assert preview.headers["Content-Type"] == PROBLEM
    assert snapshot() == before


def test_a_finished_migration_keeps_its_milestones(client, delivery_partner_user, migration):
    migration.cancel(delivery_partner_user, "The practice merged")
    client.force_login(delivery_partner_user)
    before = snapshot()

    response = change(client, migration, {"milestones": {"go_live_on": WEEK_LATER.isoformat()}})

    assert response.status_code == 403
    assert client.get(url(migration)).json()["may_change"] is False
    assert snapshot() == before


def test_a_change_needs_the_csrf_token(practice_manager, migration):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(practice_manager)
    before = snapshot()

    refused = change(csrf_client, migration, {"milestones": {"go_live_on": WEEK_LATER.isoformat()}})

    assert refused.status_code == 403
    assert snapshot() == before
    csrf_client.get(reverse("migrations:migration_detail", kwargs={"pk": migration.pk}))
    token = csrf_client.cookies["csrftoken"].value
    accepted = csrf_client.patch(
        url(migration),
        {"milestones": {"go_live_on": WEEK_LATER.isoformat()}},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 200
    assert ChecklistItem.objects.filter(migration=migration, due_on__gt=GO_LIVE_ON).exists()
