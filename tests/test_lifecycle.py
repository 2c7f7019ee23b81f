"""A migration's lifecycle on the model: put on hold, resumed (with new dates replanned), cancelled,
completed by signing its "migration complete" gate and made active again by reopening it. Each move
is allowed only from its statuses, locks the row, keeps who, when and why, and is in the event log;
a refused move changes nothing. The database holds what each status carries."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from migrations_app.models import ChecklistProgress, Event, ItemStatus, PracticeMigration
from migrations_app.models.checklist_items import COMPLETION_GATE_KEY
from migrations_app.models.practice_migrations import TRANSITIONS
from tests.conftest import NOW
from tests.factories import GO_LIVE_ON, make_migration

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

Status = PracticeMigration.Status
HOLD_REASON = "Waiting for the new supplier to agree a go-live date"
CANCEL_REASON = "The practice merged with its neighbour"
OVERRIDE = "Cutover data re-entered and staff trained; agreed at the project board"


def status_events(migration: PracticeMigration) -> list[tuple]:
    return list(
        Event.objects.filter(migration=migration, kind=Event.Kind.MIGRATION_STATUS).values_list(
            "item", "actor", "field", "old_value", "new_value", "reason"
        )
    )


def stored(migration: PracticeMigration) -> tuple:
    return PracticeMigration.objects.filter(pk=migration.pk).values_list(
        "status", "held_at", "status_reason", "finished_at"
    )[0]


def sign_completion_gate(migration: PracticeMigration, by):
    gate = migration.items.get(key=COMPLETION_GATE_KEY)
    gate.sign_off(by, override_reason=OVERRIDE)
    return gate


# --- each move ------------------------------------------------------------------------------------------


def test_putting_a_migration_on_hold_keeps_since_when_why_and_who(migration, delivery_partner_user):
    migration.hold(delivery_partner_user, f"  {HOLD_REASON}\n")

    assert stored(migration) == (Status.ON_HOLD, NOW, HOLD_REASON, None)
    assert (migration.status, migration.held_at, migration.status_reason) == (Status.ON_HOLD, NOW, HOLD_REASON)
    assert status_events(migration) == [(None, delivery_partner_user.pk, "status", "active", "on_hold", HOLD_REASON)]


def test_resuming_a_migration_on_hold_clears_its_hold(migration, delivery_partner_user, support_admin):
    migration.hold(delivery_partner_user, HOLD_REASON)

    moves = migration.resume(support_admin, reason="Supplier confirmed")

    assert moves == []
    assert stored(migration) == (Status.ACTIVE, None, "", None)
    assert status_events(migration)[-1] == (None, support_admin.pk, "status", "on_hold", "active", "Supplier confirmed")


def test_resuming_with_new_dates_replans_the_items_as_the_preview_said(migration, delivery_partner_user):
    migration.hold(delivery_partner_user, HOLD_REASON)
    changes = {"go_live": GO_LIVE_ON + timedelta(days=14)}
    preview = migration.preview_milestone_change(changes)

    moves = migration.resume(delivery_partner_user, changes=changes, reason="Go-live moved by the supplier")

    assert moves == preview and len(moves) > 5
    assert PracticeMigration.objects.get(pk=migration.pk).go_live_on == GO_LIVE_ON + timedelta(days=14)
    for move in moves:
        assert migration.items.get(pk=move.item_id).due_on == move.new_due_on
    replans = Event.objects.filter(migration=migration, kind=Event.Kind.REPLAN, actor=delivery_partner_user)
    assert replans.count() == len(moves)
    assert set(replans.values_list("reason", flat=True)) == {"Go-live moved by the supplier"}
    assert stored(migration)[0] == Status.ACTIVE


def test_a_resume_with_dates_out_of_order_changes_nothing(migration, delivery_partner_user):
    migration.hold(delivery_partner_user, HOLD_REASON)
    items_before = list(migration.items.values_list("pk", "due_on"))
    events_before = Event.objects.count()

    with pytest.raises(ValidationError):
        migration.resume(delivery_partner_user, changes={"go_live": migration.fdp_on - timedelta(days=1)})

    assert stored(migration)[0] == Status.ON_HOLD
    assert PracticeMigration.objects.get(pk=migration.pk).go_live_on == GO_LIVE_ON
    assert list(migration.items.values_list("pk", "due_on")) == items_before
    assert Event.objects.count() == events_before


@pytest.mark.parametrize("from_hold", [False, True], ids=["active", "on hold"])
def test_cancelling_finishes_the_migration_with_its_reason(from_hold, migration, delivery_partner_user):
    if from_hold:
        migration.hold(delivery_partner_user, HOLD_REASON)

    migration.cancel(delivery_partner_user, CANCEL_REASON)

    assert stored(migration) == (Status.CANCELLED, None, CANCEL_REASON, NOW)
    assert status_events(migration)[-1][3:] == ("on_hold" if from_hold else "active", "cancelled", CANCEL_REASON)


@pytest.mark.parametrize("action", ["hold", "cancel"])
@pytest.mark.parametrize("reason", ["", "   \n "])
def test_holding_or_cancelling_needs_a_reason(action, reason, migration, delivery_partner_user):
    with pytest.raises(ValidationError) as refused:
        getattr(migration, action)(delivery_partner_user, reason)

    assert list(refused.value.message_dict) == ["reason"]
    assert stored(migration) == (Status.ACTIVE, None, "", None)
    assert status_events(migration) == []


# --- completion follows the "migration complete" gate -------------------------------------------------------


def test_signing_the_migration_complete_gate_completes_the_migration(migration, practice_manager):
    gate = sign_completion_gate(migration, practice_manager)

    gate.refresh_from_db()
    assert gate.status == ItemStatus.DONE
    assert stored(migration) == (Status.COMPLETED, None, "", NOW)
    assert status_events(migration) == [
        (None, practice_manager.pk, "status", "active", "completed", "The migration-complete gate was signed off.")
    ]


def test_reopening_the_gate_returns_a_completed_migration_to_active(migration, practice_manager, clinical_lead):
    gate = sign_completion_gate(migration, practice_manager)

    gate.reopen(clinical_lead)

    assert stored(migration) == (Status.ACTIVE, None, "", None)
    assert status_events(migration)[-1] == (
        None,
        clinical_lead.pk,
        "status",
        "completed",
        "active",
        "The migration-complete gate was reopened.",
    )


def test_other_gates_leave_the_status_alone(migration, practice_manager):
    migration.items.get(key="technical-requirements-signed-off").sign_off(practice_manager, override_reason=OVERRIDE)

    assert stored(migration)[0] == Status.ACTIVE
    assert status_events(migration) == []


def test_the_gate_of_a_migration_on_hold_cannot_be_signed(migration, practice_manager, delivery_partner_user):
    migration.hold(delivery_partner_user, HOLD_REASON)
    gate = migration.items.get(key=COMPLETION_GATE_KEY)
    done_before = ChecklistProgress.objects.get(migration=migration).items_done

    with pytest.raises(ValidationError) as refused:
        gate.sign_off(practice_manager, override_reason=OVERRIDE)

    assert refused.value.messages == ["This migration is on hold, so it cannot be completed."]
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by, gate.revision) == (ItemStatus.TO_DO, None, 0)
    assert ChecklistProgress.objects.get(migration=migration).items_done == done_before
    assert not Event.objects.filter(item=gate).exists()
    assert stored(migration)[0] == Status.ON_HOLD


# --- the one table of moves ------------------------------------------------------------------------------

# Written out from the issue, not read from PracticeMigration.TRANSITIONS, so that a change there shows.
ALLOWED = {
    ("active", "hold"): "on_hold",
    ("on_hold", "resume"): "active",
    ("active", "cancel"): "cancelled",
    ("on_hold", "cancel"): "cancelled",
    ("active", "complete"): "completed",
    ("completed", "reopen"): "active",
}
MOVES = {
    "hold": lambda migration, by: migration.hold(by, HOLD_REASON),
    "resume": lambda migration, by: migration.resume(by),
    "cancel": lambda migration, by: migration.cancel(by, CANCEL_REASON),
    "complete": lambda migration, by: migration.complete(by),
    "reopen": lambda migration, by: migration.reopen(by),
}
REFUSALS = {
    ("on_hold", "hold"): "This migration is already on hold.",
    ("active", "resume"): "This migration is already in progress.",
    ("completed", "hold"): "This migration is completed, so it cannot be put on hold.",
    ("cancelled", "resume"): "This migration is cancelled, so it cannot be resumed.",
    ("cancelled", "cancel"): "This migration is already cancelled.",
    ("completed", "cancel"): "This migration is completed, so it cannot be cancelled.",
    ("on_hold", "complete"): "This migration is on hold, so it cannot be completed.",
    ("cancelled", "reopen"): "This migration is cancelled, so it cannot be reopened.",
}


def put_in(migration: PracticeMigration, status: str, by) -> None:
    if status == "on_hold":
        migration.hold(by, HOLD_REASON)
    elif status == "completed":
        migration.complete(by)
    elif status == "cancelled":
        migration.cancel(by, CANCEL_REASON)


@pytest.mark.parametrize("action", list(MOVES))
@pytest.mark.parametrize("status", ["active", "on_hold", "completed", "cancelled"])
def test_each_move_is_made_only_from_the_statuses_it_leaves(status, action, migration, delivery_partner_user):
    put_in(migration, status, delivery_partner_user)
    before, events_before = stored(migration), status_events(migration)

    if (status, action) in ALLOWED:
        MOVES[action](migration, delivery_partner_user)
        assert stored(migration)[0] == migration.status == ALLOWED[status, action]
        assert status_events(migration)[-1][3:5] == (status, ALLOWED[status, action])
        assert action in PracticeMigration(status=status).allowed_actions
    else:
        with pytest.raises(ValidationError) as refused:
            MOVES[action](migration, delivery_partner_user)
        if (status, action) in REFUSALS:
            assert refused.value.messages == [REFUSALS[status, action]]
        assert stored(migration) == before
        assert status_events(migration) == events_before
        assert action not in PracticeMigration(status=status).allowed_actions


def test_a_move_is_judged_on_the_row_as_it_is_now(migration, delivery_partner_user, support_admin):
    # Two people with the page open: the second hold finds the row already on hold, under its lock.
    stale = PracticeMigration.objects.get(pk=migration.pk)
    migration.hold(delivery_partner_user, HOLD_REASON)

    with pytest.raises(ValidationError) as refused:
        stale.hold(support_admin, "Another reason")
    stale.cancel(support_admin, CANCEL_REASON)

    assert refused.value.messages == ["This migration is already on hold."]
    assert [event[3:5] for event in status_events(migration)] == [("active", "on_hold"), ("on_hold", "cancelled")]


# --- a practice's current migration ------------------------------------------------------------------------


def test_a_migration_on_hold_is_unfinished_and_not_in_progress(migration, other_migration, delivery_partner_user):
    migration.hold(delivery_partner_user, HOLD_REASON)

    assert set(PracticeMigration.objects.unfinished()) == {migration, other_migration}
    assert list(PracticeMigration.objects.in_progress()) == [other_migration]


def test_a_practice_with_a_migration_on_hold_cannot_start_another(
    migration, practice, source_supplier, target_supplier, delivery_partner_user
):
    migration.hold(delivery_partner_user, HOLD_REASON)

    with pytest.raises(ValidationError) as raised:
        make_migration(practice=practice, source_supplier=target_supplier, target_supplier=source_supplier)

    assert raised.value.message_dict == {"practice": ["This practice already has a migration in progress."]}


def test_a_practice_whose_migration_was_cancelled_can_start_again(
    migration, practice, source_supplier, target_supplier, delivery_partner_user
):
    migration.cancel(delivery_partner_user, CANCEL_REASON)

    second = make_migration(practice=practice, source_supplier=target_supplier, target_supplier=source_supplier)

    assert set(PracticeMigration.objects.unfinished()) == {second}


# --- what the database holds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "on_hold", "held_at": NOW, "status_reason": ""},  # on hold: why
        {"status": "on_hold", "held_at": None, "status_reason": HOLD_REASON},  # on hold: since when
        {"status": "cancelled", "finished_at": NOW, "status_reason": ""},  # cancelled: why
        {"status": "cancelled", "finished_at": NOW, "status_reason": "x", "held_at": NOW},  # not on hold any more
        {"status": "active", "status_reason": HOLD_REASON},  # a reason only on hold or cancelled
        {"status": "completed", "finished_at": NOW, "status_reason": CANCEL_REASON},
        {"status": "on_hold", "held_at": NOW, "status_reason": HOLD_REASON, "finished_at": NOW},  # not finished
    ],
    ids=str,
)
def test_the_database_refuses_a_status_without_what_it_carries(fields, migration):
    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.filter(pk=migration.pk).update(**fields)

    assert stored(migration) == (Status.ACTIVE, None, "", None)


def test_the_database_refuses_a_second_unfinished_migration_beside_one_on_hold(
    migration, delivery_partner_user, source_supplier, target_supplier
):
    migration.hold(delivery_partner_user, HOLD_REASON)

    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.create(
            practice=migration.practice,
            source_supplier=target_supplier,
            target_supplier=source_supplier,
            template_version=migration.template_version,
        )


CARRIED = {
    "active": {"held_at": None, "status_reason": "", "finished_at": None},
    "on_hold": {"held_at": NOW, "status_reason": HOLD_REASON, "finished_at": None},
    "cancelled": {"held_at": None, "status_reason": CANCEL_REASON, "finished_at": NOW},
    "completed": {"held_at": None, "status_reason": "", "finished_at": NOW},
}
ALLOWED_MOVES = {(start, transition.target) for transition in TRANSITIONS.values() for start in transition.sources}


@pytest.mark.parametrize(
    ("start", "end"), [(start, end) for start in Status.values for end in Status.values if start != end], ids=str
)
def test_the_database_allows_only_the_models_transitions(start, end, migration):
    """A raw UPDATE of the status, with everything the new status carries, succeeds exactly when
    TRANSITIONS has that move (the trigger of migration 0014 agrees with the model)."""
    rows = PracticeMigration.objects.filter(pk=migration.pk)
    if start != "active":
        rows.update(status=start, **CARRIED[start])

    if (start, end) in ALLOWED_MOVES:
        rows.update(status=end, **CARRIED[end])
        assert rows.get().status == end
    else:
        with pytest.raises(IntegrityError), transaction.atomic():
            rows.update(status=end, **CARRIED[end])
        assert rows.get().status == start
