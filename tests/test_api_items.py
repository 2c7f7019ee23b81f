"""A migration's items through the API (migrations_app/api/items.py): the list in checklist order
with its filters and pages, one item, and each change the item's page makes, through the same
model methods and refused as the page refuses it. Every refusal changes nothing: the item's row
and the event log are read again after it. Who may use which route for each persona is in the
access matrix (tests/access_routes.py)."""

import pytest
from django.urls import reverse
from openapi_spec_validator import validate

from migrations_app import access
from migrations_app.models import ChecklistItem, Event, ItemStatus, Role
from tests.access_routes import GATE_KEY as PRACTICE_GATE_KEY
from tests.access_routes import TASK_KEY, icb_task
from tests.conftest import TODAY
from tests.factories import MembershipFactory, UserFactory
from tests.pages import DUE_SOON_KEY, GATE_KEY, OVERDUE_KEY, STAFF_TASK_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

PROBLEM = "application/problem+json"
REASON = "The practice does not dispense"
# The item pages' routes of the API's actions.
PAGE_ACTIONS = {
    "complete": "migrations:item_complete",
    "reopen": "migrations:item_reopen",
    "not-applicable": "migrations:item_not_applicable",
    "blocked": "migrations:item_blocked",
    "note": "migrations:item_note",
    "sign-off": "migrations:item_sign_off",
}


def list_url(migration) -> str:
    return reverse("api:item_list", kwargs={"pk": migration.pk})


def detail_url(item: ChecklistItem) -> str:
    return reverse("api:item_detail", kwargs={"pk": item.migration_id, "item_pk": item.pk})


def action_url(item: ChecklistItem) -> str:
    return reverse("api:item_action", kwargs={"pk": item.migration_id, "item_pk": item.pk})


def act(client, item: ChecklistItem, **body):
    return client.post(action_url(item), body, content_type="application/json")


def state(item: ChecklistItem) -> tuple:
    """The item's row as stored, and how many events there are."""
    row = ChecklistItem.objects.filter(pk=item.pk).values().get()
    return row, Event.objects.count()


def ids(response) -> list[int]:
    return [each["id"] for each in response.json()["results"]]


def checklist_order(migration) -> list[int]:
    return list(migration.items.order_by("phase__position", "position").values_list("pk", flat=True))


# --- the list ---------------------------------------------------------------------------------------------


def test_the_list_is_every_item_in_checklist_order(client, practice_manager, migration):
    client.force_login(practice_manager)

    response = client.get(list_url(migration))

    assert response.status_code == 200
    assert ids(response) == checklist_order(migration)[:100]
    assert response.json()["next"]  # the guide has more than a page of items


def test_an_item_reads_as_its_page_shows_it(client, practice_manager, migration):
    client.force_login(practice_manager)
    overdue = migration.items.get(key=OVERDUE_KEY)

    listed = next(each for each in client.get(list_url(migration)).json()["results"] if each["id"] == overdue.pk)
    one = client.get(detail_url(overdue)).json()

    assert listed == one
    assert one["url"].endswith(detail_url(overdue))
    assert one["status"] == {"key": "to_do", "label": "To do"}
    assert one["due_on"] == "2025-04-07"
    assert one["due_state"] == "overdue"
    assert one["phase"]["id"] == overdue.phase_id
    assert one["responsible_role"]["key"] == overdue.responsible_role
    assert (one["owner"], one["completed_by"], one["completed_at"]) == (None, None, None)
    assert one["revision"] == overdue.revision
    assert one["you_may"] == {"work_on": True, "change_status": True, "reopen": True, "sign": False}


def test_what_you_may_do_is_what_the_page_offers(client, practice_staff, migration):
    client.force_login(practice_staff)
    gate = migration.items.get(key=GATE_KEY)

    answer = client.get(detail_url(gate)).json()

    # Practice staff tick any task, but a gate is for whoever may sign it.
    assert answer["kind"] == "gate"
    assert answer["you_may"] == {"work_on": True, "change_status": False, "reopen": False, "sign": False}


def test_the_list_filters_by_status(client, practice_manager, migration):
    done = migration.items.get(key=OVERDUE_KEY)
    blocked = migration.items.get(key=DUE_SOON_KEY)
    done.complete(practice_manager)
    blocked.mark_blocked(practice_manager, "Waiting for the supplier")
    client.force_login(practice_manager)

    only_done = client.get(list_url(migration), {"status": "done"})
    both = client.get(list_url(migration), {"status": ["done", "blocked"]})

    assert ids(only_done) == [done.pk]
    assert set(ids(both)) == {done.pk, blocked.pk}


def test_the_list_filters_by_overdue(client, practice_manager, migration):
    client.force_login(practice_manager)

    overdue = client.get(list_url(migration), {"overdue": "true"})
    not_overdue = client.get(list_url(migration), {"overdue": "false"})

    expected = set(migration.items.overdue(TODAY).values_list("pk", flat=True))
    assert set(ids(overdue)) == expected
    assert migration.items.get(key=OVERDUE_KEY).pk in expected
    assert migration.items.get(key=DUE_SOON_KEY).pk not in ids(overdue)
    assert not expected & set(ids(not_overdue))


def test_nothing_of_a_migration_on_hold_is_overdue(client, practice_manager, delivery_partner_user, migration):
    migration.hold(delivery_partner_user, "Waiting for the supplier")
    client.force_login(practice_manager)

    overdue = client.get(list_url(migration), {"overdue": "true"})
    item = client.get(detail_url(migration.items.get(key=OVERDUE_KEY))).json()

    assert ids(overdue) == []
    assert item["due_state"] == ""


def test_the_list_filters_by_phase_id_or_key(client, practice_manager, migration):
    phase = migration.phases.order_by("position")[1]
    client.force_login(practice_manager)

    by_id = client.get(list_url(migration), {"phase": str(phase.pk)})
    by_key = client.get(list_url(migration), {"phase": phase.key})

    expected = list(phase.items.order_by("position").values_list("pk", flat=True))
    assert ids(by_id) == ids(by_key) == expected


def test_the_list_filters_by_owner(client, practice_manager, practice_staff, migration):
    named = migration.items.get(key=TASK_KEY)  # the practice manager's, named to the practice staff
    named.assign_owner(practice_manager, practice_staff, memberships=access.owner_memberships(named))
    client.force_login(practice_staff)

    mine = client.get(list_url(migration), {"owner": "me"})
    by_id = client.get(list_url(migration), {"owner": str(practice_staff.pk)})
    by_role = client.get(list_url(migration), {"owner": "role"})

    staff_items = set(
        migration.items.filter(responsible_role=Role.PRACTICE_STAFF, owner=None).values_list("pk", flat=True)
    )
    assert set(ids(mine)) == staff_items | {named.pk}  # as "My items": named to them, or their role's
    assert migration.items.get(key=STAFF_TASK_KEY).pk in ids(mine)
    assert ids(by_id) == [named.pk]
    assert named.pk not in ids(by_role) and len(ids(by_role)) == min(100, migration.items.count() - 1)


def test_bad_filters_get_a_problem_naming_each(client, practice_manager, migration):
    client.force_login(practice_manager)

    response = client.get(
        list_url(migration),
        {"status": "finished", "owner": "someone", "overdue": "maybe", "phase": "no-such-phase", "show": "mine"},
    )

    problem = response.json()
    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert set(problem["errors"]) == {"status", "owner", "overdue", "phase", "show"}
    assert problem["errors"]["show"] == ["Not a parameter of this list"]
    assert problem["errors"]["owner"] == ['Give "me", "role" or the id of a person']


def test_another_migrations_phase_is_no_filter(client, practice_manager, migration, other_migration):
    client.force_login(practice_manager)

    response = client.get(list_url(migration), {"phase": str(other_migration.phases.first().pk)})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"phase"}


# --- pages ------------------------------------------------------------------------------------------------


def test_pages_follow_each_other_in_checklist_order(client, practice_manager, migration, monkeypatch):
    monkeypatch.setattr("migrations_app.api.items.ItemPagination.page_size", 7)
    client.force_login(practice_manager)

    pages = [client.get(list_url(migration)).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    back = client.get(pages[1]["previous"]).json()

    assert [each["id"] for page in pages for each in page["results"]] == checklist_order(migration)
    assert pages[0]["previous"] is None
    assert back["results"] == pages[0]["results"]


def test_a_page_holds_its_place_when_items_change_before_it(client, practice_manager, migration, monkeypatch):
    monkeypatch.setattr("migrations_app.api.items.ItemPagination.page_size", 5)
    client.force_login(practice_manager)
    first = client.get(list_url(migration), {"status": "to_do"}).json()
    # Someone ticks an item of the first page: the next page still starts after the first page's last.
    ChecklistItem.objects.get(pk=first["results"][0]["id"]).complete(practice_manager)

    second = client.get(first["next"]).json()

    to_do = list(
        migration.items.filter(status=ItemStatus.TO_DO)
        .order_by("phase__position", "position")
        .values_list("pk", flat=True)
    )
    assert [each["id"] for each in second["results"]] == to_do[4:9]


def test_a_tampered_cursor_gets_a_400_problem(client, practice_manager, migration, monkeypatch):
    monkeypatch.setattr("migrations_app.api.items.ItemPagination.page_size", 5)
    client.force_login(practice_manager)
    cursor = client.get(list_url(migration)).json()["next"].split("cursor=")[1]

    tampered = client.get(list_url(migration), {"cursor": cursor[:-2] + "xx"})
    other_filters = client.get(list_url(migration), {"cursor": cursor, "status": "done"})
    made_up = client.get(list_url(migration), {"cursor": "cD0xJTNCRFJPUCBUQUJMRQ=="})

    for response in (tampered, other_filters, made_up):
        assert response.status_code == 400
        assert response.headers["Content-Type"] == PROBLEM
        assert set(response.json()["errors"]) == {"cursor"}


# --- who sees what ----------------------------------------------------------------------------------------


def test_a_migration_or_item_the_caller_cannot_see_is_a_404_problem(
    client, outsider, practice_manager, migration, other_migration
):
    item = migration.items.get(key=TASK_KEY)
    foreign = other_migration.items.get(key=TASK_KEY)
    client.force_login(outsider)
    hidden = [client.get(list_url(migration)), client.get(detail_url(item))]
    client.force_login(practice_manager)
    hidden += [
        client.get(list_url(other_migration)),
        client.get(detail_url(foreign)),
        # Another migration's item under this migration's id.
        client.get(reverse("api:item_detail", kwargs={"pk": migration.pk, "item_pk": foreign.pk})),
    ]

    assert {response.status_code for response in hidden} == {404}
    assert all(response.headers["Content-Type"] == PROBLEM for response in hidden)


# --- changes ----------------------------------------------------------------------------------------------


def test_marking_done_answers_the_item_as_the_get_gives_it(client, practice_manager, migration):
    item = migration.items.get(key=TASK_KEY)
    events = Event.objects.count()
    client.force_login(practice_manager)

    response = act(client, item, action="complete", revision=item.revision)

    item.refresh_from_db()
    assert response.status_code == 200
    assert (item.status, item.completed_by, item.revision) == (ItemStatus.DONE, practice_manager, 1)
    assert Event.objects.count() == events + 1
    assert response.json() == client.get(detail_url(item)).json()
    assert response.json()["revision"] == 1
    assert response.json()["completed_by"] == {"id": practice_manager.pk, "name": str(practice_manager)}
    assert response.json()["completed_at"].startswith("2025-04-10T")


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"action": "not-applicable", "reason": REASON}, ItemStatus.NOT_APPLICABLE, REASON),
        ({"action": "blocked", "reason": "Waiting for the supplier"}, ItemStatus.BLOCKED, "Waiting for the supplier"),
    ],
)
def test_marking_not_applicable_or_blocked_keeps_the_reason(body, status, reason, client, practice_manager, migration):
    item = migration.items.get(key=TASK_KEY)
    client.force_login(practice_manager)

    response = act(client, item, revision=item.revision, **body)

    item.refresh_from_db()
    assert response.status_code == 200
    assert (item.status, item.reason) == (status, reason)
    assert Event.objects.filter(item=item, new_value=status, reason=reason, actor=practice_manager).exists()
    assert response.json()["status"]["key"] == status
    assert response.json()["reason"] == reason


def test_reopening_keeps_its_reason_in_the_log(client, practice_manager, migration):
    item = migration.items.get(key=TASK_KEY)
    item.mark_blocked(practice_manager, "Waiting for the supplier")
    client.force_login(practice_manager)

    response = act(client, item, action="reopen", revision=item.revision, reason="The extract came")

    item.refresh_from_db()
    assert response.status_code == 200
    assert (item.status, item.reason) == (ItemStatus.TO_DO, "")
    assert Event.objects.filter(item=item, new_value=ItemStatus.TO_DO, reason="The extract came").exists()


def test_a_note_replaces_the_items_note(client, practice_staff, migration):
    item = migration.items.get(key=TASK_KEY)
    client.force_login(practice_staff)

    response = act(client, item, action="note", revision=item.revision, note="  Rang the supplier  ")
    cleared = act(client, item, action="note", revision=response.json()["revision"], note="")

    item.refresh_from_db()
    assert response.status_code == cleared.status_code == 200
    assert response.json()["note"] == "Rang the supplier"
    assert item.note == ""
    assert Event.objects.filter(item=item, kind=Event.Kind.NOTE).count() == 2


def test_signing_a_gate_with_open_items_needs_an_override_reason(client, clinical_lead, migration):
    gate = migration.items.get(key=GATE_KEY)
    client.force_login(clinical_lead)
    before = state(gate)

    refused = act(client, gate, action="sign-off", revision=gate.revision)
    refused_state = state(gate)
    signed = act(client, gate, action="sign-off", revision=gate.revision, override_reason="Agreed at the board")

    gate.refresh_from_db()
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"override_reason"}
    assert refused_state == before
    assert signed.status_code == 200
    assert (gate.status, gate.completed_by, gate.override_reason) == (
        ItemStatus.DONE,
        clinical_lead,
        "Agreed at the board",
    )
    assert Event.objects.filter(item=gate, kind=Event.Kind.SIGN_OFF, actor=clinical_lead).exists()


# --- refusals: each a problem, and nothing changed --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"action": "complete", "revision": 0, "reason": "Done"}, {"reason"}),
        ({"action": "blocked", "revision": 0, "reason": "Waiting", "colour": "red"}, {"colour"}),
        ({"action": "tick", "revision": 0}, {"action"}),
        ({"revision": 0}, {"action"}),
        ({"action": "note", "note": "Rang"}, {"revision"}),
        ({"action": "note", "revision": "first", "note": ["a", "list"]}, {"revision", "note"}),
        ({"action": "note", "revision": -1, "note": "Rang"}, {"revision"}),
        ({"action": "note", "revision": 10**30, "note": "Rang"}, {"revision"}),
        ({"action": "note", "revision": 0, "note": "a\x00b"}, {"note"}),
        ({"action": "blocked", "revision": 0}, {"reason"}),
        ({"action": "not-applicable", "revision": 0, "reason": "   "}, {"reason"}),
        ({"action": "blocked", "revision": 0, "reason": "x" * 2001}, {"reason"}),
        (["complete"], {"non_field_errors"}),
        ('"complete"', {"non_field_errors"}),
    ],
    ids=[
        "a field the action does not take",
        "an unknown field",
        "an unknown action",
        "no action",
        "no revision",
        "wrong types",
        "a negative revision",
        "a revision past any number stored",
        "NUL in text",
        "no reason for blocked",
        "a blank reason for not applicable",
        "a reason too long",
        "a list",
        "a string",
    ],
)
def test_a_bad_body_gets_a_400_naming_each_field(body, fields, client, practice_manager, migration):
    item = migration.items.get(key=TASK_KEY)
    client.force_login(practice_manager)
    before = state(item)

    response = client.post(action_url(item), body, content_type="application/json")

    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert set(response.json()["errors"]) == fields
    assert state(item) == before


def test_a_missing_reason_gets_the_pages_message(client, practice_manager, migration):
    item = migration.items.get(key=TASK_KEY)
    client.force_login(practice_manager)

    response = act(client, item, action="not-applicable", revision=item.revision)

    assert response.json()["errors"] == {"reason": ["Enter a reason why this item is not applicable"]}


def test_a_body_that_is_not_json_is_refused(client, practice_manager, migration):
    item = migration.items.get(key=TASK_KEY)
    client.force_login(practice_manager)
    before = state(item)

    form = client.post(action_url(item), {"action": "complete", "revision": item.revision})
    broken = client.post(action_url(item), '{"action": "complete",', content_type="application/json")

    assert form.status_code == 415
    assert broken.status_code == 400
    assert form.headers["Content-Type"] == broken.headers["Content-Type"] == PROBLEM
    assert state(item) == before


def test_a_stale_revision_is_a_409_and_changes_nothing(client, practice_manager, practice_staff, migration):
    item = migration.items.get(key=TASK_KEY)
    seen = item.revision
    item.set_note(practice_staff, "Someone else's note")  # the item moves on since the caller read it
    client.force_login(practice_manager)
    before = state(item)

    answers = [
        act(client, item, action="complete", revision=seen),
        act(client, item, action="blocked", revision=seen, reason="Waiting"),
        act(client, item, action="note", revision=seen, note="Mine"),
        act(client, item, action="reopen", revision=seen),
    ]

    assert {answer.status_code for answer in answers} == {409}
    assert all(answer.headers["Content-Type"] == PROBLEM for answer in answers)
    assert answers[0].json()["title"] == "Conflict"
    assert state(item) == before


def test_a_gate_is_signed_not_marked_done(client, practice_manager, migration):
    gate = migration.items.get(key=PRACTICE_GATE_KEY)
    client.force_login(practice_manager)
    before = state(gate)

    response = act(client, gate, action="complete", revision=gate.revision)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"action"}
    assert state(gate) == before


@pytest.mark.parametrize(
    ("persona", "key", "body", "detail"),
    [
        ("practice_staff", GATE_KEY, {"action": "sign-off", "override_reason": "Board"}, "clinical lead"),
        ("practice_staff", GATE_KEY, {"action": "not-applicable", "reason": REASON}, "clinical lead"),
        ("practice_manager", GATE_KEY, {"action": "sign-off", "override_reason": "Board"}, "clinical lead"),
        ("icb_user", TASK_KEY, {"action": "complete"}, "practice manager"),
        ("icb_user", TASK_KEY, {"action": "note", "note": "Rang"}, "practice manager"),
        ("national_viewer", TASK_KEY, {"action": "complete"}, ""),
        ("delivery_partner_user", TASK_KEY, {"action": "sign-off"}, ""),
    ],
)
def test_an_action_the_caller_may_not_take_is_refused_as_the_page_refuses_it(
    persona, key, body, detail, request, client, migration
):
    user = request.getfixturevalue(persona)
    item = migration.items.get(key=key)
    client.force_login(user)
    before = state(item)
    page_url = reverse(PAGE_ACTIONS[body["action"]], kwargs={"pk": migration.pk, "item_pk": item.pk})

    response = act(client, item, revision=item.revision, **body)
    fields = {name: value for name, value in body.items() if name != "action"}
    page = client.post(page_url, {"revision": item.revision, **fields})

    assert response.status_code == page.status_code == 403
    assert response.headers["Content-Type"] == PROBLEM
    assert detail in response.json()["detail"]
    assert state(item) == before


def test_the_icb_lead_works_on_the_icbs_items(client, icb_user, migration):
    item = icb_task(migration)
    client.force_login(icb_user)

    response = act(client, item, action="complete", revision=item.revision)

    assert response.status_code == 200
    assert response.json()["you_may"]["work_on"] is True


def test_a_finished_migration_is_read_only(client, practice_manager, delivery_partner_user, migration):
    migration.cancel(delivery_partner_user, "The practice merged")
    item = migration.items.get(key=TASK_KEY)
    client.force_login(practice_manager)
    before = state(item)

    response = act(client, item, action="complete", revision=item.revision)

    assert response.status_code == 403
    assert client.get(detail_url(item)).json()["you_may"] == dict.fromkeys(
        ("work_on", "change_status", "reopen", "sign"), False
    )
    assert state(item) == before


def test_the_outsider_and_nobody_signed_in_change_nothing(client, outsider, migration):
    item = migration.items.get(key=TASK_KEY)
    before = state(item)

    anonymous = act(client, item, action="complete", revision=item.revision)
    client.force_login(outsider)
    hidden = act(client, item, action="complete", revision=item.revision)

    assert anonymous.status_code in (401, 403)
    assert hidden.status_code == 404
    assert state(item) == before


def test_a_person_with_nothing_named_to_them_is_an_empty_list(client, practice_manager, migration):
    # Not a refusal: the filter names no record of this migration (an id that is not a number is refused).
    stranger = UserFactory()
    MembershipFactory(user=stranger, role=Role.PRACTICE_STAFF)
    client.force_login(practice_manager)

    response = client.get(list_url(migration), {"owner": str(stranger.pk)})

    assert response.status_code == 200
    assert ids(response) == []


def test_the_schema_documents_the_routes_and_the_items_filters(client, practice_manager):
    client.force_login(practice_manager)

    schema = client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    validate(schema)
    items = "/api/v1/migrations/{id}/items/"
    assert {
        items,
        items + "{item_pk}/",
        items + "{item_pk}/actions/",
        "/api/v1/migrations/{id}/milestones/",
        "/api/v1/migrations/{id}/events/",
        "/api/v1/organisations/",
    } <= set(schema["paths"])
    parameters = {parameter["name"] for parameter in schema["paths"][items]["get"]["parameters"]}
    assert {"status", "owner", "overdue", "phase", "cursor"} <= parameters
    assert set(schema["paths"]["/api/v1/migrations/{id}/milestones/"]) == {"get", "patch"}
