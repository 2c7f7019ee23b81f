"""An item's change of status saves every column that goes with the status, and only its own row,
whichever way it goes (ChecklistItem._change: done, blocked or not applicable, reopened, signed), and
logs it once, with who made it, when and why."""

import pytest
from django.utils import timezone

from migrations_app.models import ChecklistItem, Event, ItemKind, ItemStatus
from tests.pages import STAFF_TASK_KEY

pytestmark = pytest.mark.django_db

COLUMNS = (
    "status",
    "reason",
    "completed_by_id",
    "completed_at",
    "marked_by_id",
    "marked_at",
    "override_reason",
    "revision",
)


def saved(item: ChecklistItem) -> dict:
    return ChecklistItem.all_objects.filter(pk=item.pk).values(*COLUMNS).get()


def others(item: ChecklistItem) -> list:
    return list(ChecklistItem.all_objects.exclude(pk=item.pk).order_by("pk").values_list("pk", *COLUMNS))


def last_event(item: ChecklistItem) -> Event:
    return Event.objects.filter(item=item).order_by("-pk").first()


def test_each_status_saves_what_goes_with_it_and_logs_it(migration, practice_staff, practice_manager):
    task = migration.items.get(key=STAFF_TASK_KEY)
    untouched = others(task)
    revision = saved(task)["revision"]

    started = timezone.now()
    task.complete(practice_staff)
    row = saved(task)
    assert row["status"] == ItemStatus.DONE and row["completed_by_id"] == practice_staff.pk
    assert row["completed_at"] >= started and (row["marked_by_id"], row["marked_at"], row["reason"]) == (None, None, "")
    assert row["revision"] == revision + 1
    event = last_event(task)
    assert (event.actor_id, event.kind, event.field, event.old_value, event.new_value, event.reason) == (
        practice_staff.pk,
        Event.Kind.STATUS,
        "status",
        ItemStatus.TO_DO,
        ItemStatus.DONE,
        "",
    )
    assert event.at == row["completed_at"] and event.migration_id == migration.pk and event.practice_id is None

    task.mark_blocked(practice_manager, "  Waiting for the supplier  ")
    row = saved(task)
    assert (row["status"], row["reason"], row["marked_by_id"]) == (
        ItemStatus.BLOCKED,
        "Waiting for the supplier",
        practice_manager.pk,
    )
    assert (row["completed_by_id"], row["completed_at"], row["override_reason"]) == (None, None, "")
    assert row["revision"] == revision + 2
    event = last_event(task)
    assert (event.actor_id, event.old_value, event.new_value, event.reason) == (
        practice_manager.pk,
        ItemStatus.DONE,
        ItemStatus.BLOCKED,
        "Waiting for the supplier",
    )
    assert event.at == row["marked_at"]

    task.mark_not_applicable(practice_manager, "Not at this practice")
    row = saved(task)
    assert (row["status"], row["reason"], row["marked_by_id"]) == (
        ItemStatus.NOT_APPLICABLE,
        "Not at this practice",
        practice_manager.pk,
    )

    task.reopen(practice_staff, reason="Applies after all")
    row = saved(task)
    assert row == {
        "status": ItemStatus.TO_DO,
        "reason": "",
        "completed_by_id": None,
        "completed_at": None,
        "marked_by_id": None,
        "marked_at": None,
        "override_reason": "",
        "revision": revision + 4,
    }
    event = last_event(task)
    assert (event.actor_id, event.old_value, event.new_value, event.reason) == (
        practice_staff.pk,
        ItemStatus.NOT_APPLICABLE,
        ItemStatus.TO_DO,
        "Applies after all",
    )
    assert Event.objects.filter(item=task, kind=Event.Kind.STATUS).count() == 4
    assert others(task) == untouched


def test_a_gate_signed_over_open_items_keeps_the_override_reason(migration, practice_manager):
    gate = migration.items.filter(kind=ItemKind.GATE, status=ItemStatus.TO_DO).exclude(key__contains="complete").first()
    gate.sign_off(practice_manager, override_reason="Agreed with the ICB on the call")
    row = saved(gate)
    assert (row["status"], row["completed_by_id"], row["override_reason"]) == (
        ItemStatus.DONE,
        practice_manager.pk,
        "Agreed with the ICB on the call",
    )
    event = last_event(gate)
    assert (event.kind, event.reason, event.actor_id) == (
        Event.Kind.SIGN_OFF,
        "Agreed with the ICB on the call",
        practice_manager.pk,
    )


def test_a_change_by_the_service_itself_is_logged_without_a_person(migration):
    task = migration.items.get(key=STAFF_TASK_KEY)
    task.mark_blocked(None, "Closed by the service")
    row = saved(task)
    assert (row["status"], row["marked_by_id"], row["reason"]) == (ItemStatus.BLOCKED, None, "Closed by the service")
    event = last_event(task)
    assert (event.actor_id, event.new_value) == (None, ItemStatus.BLOCKED)
    task.reopen(None)
    assert saved(task)["status"] == ItemStatus.TO_DO and last_event(task).actor_id is None
