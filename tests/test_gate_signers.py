"""Who signs which gate, and what the ICB lead may change: a gate is signed by the role the guide data
names as its signer (its responsible role), and by support admins; the ICB lead ticks and signs the
ICB's items and reads everything else. Through the views, with the database state after each POST.

Gates are chosen by their role and kind where the guide's keys may change between its editions."""

import re

import pytest

from migrations_app.models import ChecklistItem, ItemKind, ItemStatus, PracticeMigration, Role
from tests.access_routes import snapshot
from tests.pages import detail_url, htmx_post, item_url, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

OVERRIDE = "Agreed at the project board"
GO_LIVE_GATE_KEY = "go-live-sign-off"
COMPLETION_GATE_KEY = "migration-complete"
DATA_GATE_KEY = "data-checking-sign-off"

# Each persona's role on the demo practice: the gates of that role are theirs to sign.
ROLE_OF = {
    "practice_manager": Role.PRACTICE_MANAGER,
    "clinical_lead": Role.CLINICAL_LEAD,
    "delivery_partner_user": Role.DELIVERY_PARTNER,
    "icb_user": Role.ICB_LEAD,
    "practice_staff": Role.PRACTICE_STAFF,
}


def open_items(migration: PracticeMigration, role: str, kind: str) -> list[ChecklistItem]:
    """The migration's open items of `role` and `kind`, in the checklist's order."""
    items = migration.items.filter(responsible_role=role, kind=kind, status=ItemStatus.TO_DO)
    return list(items.order_by("phase__position", "position"))


def first_open(migration: PracticeMigration, role: str, kind: str) -> ChecklistItem:
    found = open_items(migration, role, kind)
    assert found, f"the guide has no open {kind} for the {role}"
    return found[0]


def sign(client, gate: ChecklistItem):
    return client.post(item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": OVERRIDE})


def status_of(item: ChecklistItem) -> str:
    item.refresh_from_db()
    return item.status


def rows_with_actions(html: str) -> dict[int, bool]:
    """Each checklist row of the migration page (by item id), and whether it offers actions."""
    starts = list(re.finditer(r'<li class="nhsuk-task-list__item tracker-item" id="item-(\d+)">', html))
    rows = {}
    for number, start in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(html)
        rows[int(start.group(1))] = "tracker-item__actions" in html[start.start() : end]
    return rows


# --- who signs which gate -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", [*ROLE_OF, "support_admin"])
def test_each_role_signs_the_gates_the_guide_gives_it_and_no_other(persona, request, client, migration):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    # The "migration complete" gate last: signing it completes the migration, which then changes no more.
    gates = sorted(
        migration.items.filter(kind=ItemKind.GATE, status=ItemStatus.TO_DO), key=lambda gate: gate.is_completion_gate
    )
    if persona == "support_admin":
        expected = {gate.key for gate in gates}
    else:
        expected = {gate.key for gate in gates if gate.responsible_role == ROLE_OF[persona]}

    statuses = {gate.key: sign(client, gate).status_code for gate in gates}

    signed = set(migration.items.filter(kind=ItemKind.GATE, status=ItemStatus.DONE).values_list("key", flat=True))
    assert signed == expected
    assert all(migration.items.get(key=key).completed_by == user for key in signed)
    assert {key for key, status in statuses.items() if status == 403} == {gate.key for gate in gates} - expected


def test_the_guide_gives_gates_to_the_icb_the_practice_manager_and_the_clinical_lead(migration):
    # What the tests above rely on: the data names these signers (the delivery partner signs none).
    roles = dict(migration.items.filter(kind=ItemKind.GATE).values_list("key", "responsible_role"))

    assert roles[GO_LIVE_GATE_KEY] == roles[COMPLETION_GATE_KEY] == Role.PRACTICE_MANAGER
    assert roles[DATA_GATE_KEY] == Role.CLINICAL_LEAD
    assert roles["icb-business-case-funding-approved"] == Role.ICB_LEAD
    assert Role.PRACTICE_STAFF not in roles.values()


def test_the_icb_lead_signs_an_icb_gate(client, migration, icb_user):
    gate = first_open(migration, Role.ICB_LEAD, ItemKind.GATE)
    client.force_login(icb_user)

    response = sign(client, gate)

    assert response.status_code == 302
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by, gate.override_reason) == (ItemStatus.DONE, icb_user, OVERRIDE)


@pytest.mark.parametrize("key", [GO_LIVE_GATE_KEY, COMPLETION_GATE_KEY])
def test_the_delivery_partner_may_not_sign_the_practices_go_live_or_completion(
    key, client, migration, delivery_partner_user
):
    gate = migration.items.get(key=key)
    client.force_login(delivery_partner_user)
    before = snapshot()

    response = sign(client, gate)

    assert response.status_code == 403
    assert "This gate is signed off by the practice manager." in text(response.content.decode())
    assert snapshot() == before


def test_the_practice_manager_may_not_sign_the_data_sign_off(client, migration, practice_manager):
    gate = migration.items.get(key=DATA_GATE_KEY)
    client.force_login(practice_manager)
    before = snapshot()

    response = sign(client, gate)

    assert response.status_code == 403
    assert "This gate is signed off by the clinical lead." in text(response.content.decode())
    assert snapshot() == before


def test_the_practice_manager_may_not_sign_an_icb_gate(client, migration, practice_manager):
    gate = first_open(migration, Role.ICB_LEAD, ItemKind.GATE)
    client.force_login(practice_manager)
    before = snapshot()

    response = sign(client, gate)

    assert response.status_code == 403
    assert "This gate is signed off by the ICB lead." in text(response.content.decode())
    assert snapshot() == before


def test_who_may_not_sign_a_gate_may_not_close_it_another_way(client, migration, delivery_partner_user):
    gate = migration.items.get(key=GO_LIVE_GATE_KEY)
    client.force_login(delivery_partner_user)
    before = snapshot()

    marked = client.post(item_url("item_not_applicable", gate), {"revision": gate.revision, "reason": "Not needed"})

    assert marked.status_code == 403
    assert snapshot() == before


def test_the_item_page_says_who_signs_a_gate_to_whoever_may_not(client, migration, delivery_partner_user):
    gate = migration.items.get(key=GO_LIVE_GATE_KEY)
    client.force_login(delivery_partner_user)

    page = client.get(item_url("item_detail", gate)).content.decode()

    assert "This gate is signed off by the practice manager." in text(page)
    assert 'id="sign-off"' not in page


def test_the_item_page_offers_the_sign_off_to_its_signer(client, migration, practice_manager):
    gate = migration.items.get(key=GO_LIVE_GATE_KEY)
    client.force_login(practice_manager)

    page = client.get(item_url("item_detail", gate)).content.decode()

    assert 'id="sign-off"' in page
    assert "This gate is signed off by" not in text(page)


# --- the ICB lead works on the ICB's items and reads the rest --------------------------------------------


def test_the_icb_lead_ticks_an_icb_task(client, migration, icb_user):
    task = first_open(migration, Role.ICB_LEAD, ItemKind.TASK)
    client.force_login(icb_user)

    response = client.post(item_url("item_complete", task))

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.completed_by) == (ItemStatus.DONE, icb_user)


def test_the_icb_lead_ticks_an_icb_task_in_place_and_may_reopen_it(client, migration, icb_user):
    task = first_open(migration, Role.ICB_LEAD, ItemKind.TASK)
    client.force_login(icb_user)

    fragment = htmx_post(client, item_url("item_complete", task)).content.decode()

    assert status_of(task) == ItemStatus.DONE
    assert "Reopen" in fragment


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("item_complete", {}),
        ("item_note", {"note": "Chased the practice"}),
        ("item_not_applicable", {"reason": "Not needed"}),
        ("item_blocked", {"reason": "Waiting"}),
    ],
)
def test_the_icb_lead_may_not_change_a_practice_task(action, data, client, migration, icb_user):
    task = first_open(migration, Role.PRACTICE_MANAGER, ItemKind.TASK)
    client.force_login(icb_user)
    before = snapshot()

    response = client.post(item_url(action, task), {"revision": task.revision, **data})

    assert response.status_code == 403
    assert "This item is for the practice manager" in text(response.content.decode())
    assert snapshot() == before


def test_the_icb_lead_may_not_reopen_a_practice_task_nor_load_its_forms(client, migration, practice_manager, icb_user):
    task = first_open(migration, Role.PRACTICE_MANAGER, ItemKind.TASK)
    task.complete(practice_manager)
    task.refresh_from_db()
    client.force_login(icb_user)
    before = snapshot()

    forms = client.get(item_url("item_forms", task))
    reopened = client.post(item_url("item_reopen", task), {"revision": task.revision})

    assert (forms.status_code, reopened.status_code) == (403, 403)
    assert snapshot() == before


def test_the_icb_lead_may_tick_a_practice_task_it_was_named_owner_of(client, migration, practice_manager, icb_user):
    # The owner rule (access.Relations): an item someone is named owner of is theirs, whatever its role.
    task = first_open(migration, Role.PRACTICE_MANAGER, ItemKind.TASK)
    client.force_login(practice_manager)
    client.post(item_url("item_owner", task), {"revision": task.revision, "owner": icb_user.pk})
    client.force_login(icb_user)

    response = client.post(item_url("item_complete", task))

    assert response.status_code == 302
    assert status_of(task) == ItemStatus.DONE


def test_the_icb_lead_sees_actions_only_on_the_icbs_items(client, migration, icb_user):
    client.force_login(icb_user)

    rows = rows_with_actions(client.get(detail_url(migration), {"show": "all"}).content.decode())

    icb_items = set(migration.items.filter(responsible_role=Role.ICB_LEAD).values_list("pk", flat=True))
    assert icb_items and len(rows) == migration.items.count()
    assert {pk for pk, has_actions in rows.items() if has_actions} == icb_items


def test_the_icb_lead_reads_a_practice_item_without_its_forms(client, migration, icb_user):
    task = first_open(migration, Role.PRACTICE_MANAGER, ItemKind.TASK)
    client.force_login(icb_user)

    page = client.get(item_url("item_detail", task))

    assert page.status_code == 200
    assert "Mark as done" not in page.content.decode()
    assert "Save note" not in page.content.decode()


def test_the_practice_manager_still_sees_actions_on_every_item(client, migration, practice_manager):
    client.force_login(practice_manager)

    rows = rows_with_actions(client.get(detail_url(migration)).content.decode())

    assert all(rows.values())
