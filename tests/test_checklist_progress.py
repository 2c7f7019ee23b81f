"""ChecklistProgress: the done and applicable counts and the current phase that the dashboard
reads instead of going through the items. Every code path that creates items or changes their
status keeps them equal to what the items say, in the same transaction."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from migrations_app.models import ChecklistItem, ChecklistProgress, ItemKind, ItemStatus, PracticeMigration
from migrations_app.models.choices import OPEN_STATUSES
from tests.factories import GO_LIVE_ON, make_migration

pytestmark = pytest.mark.django_db

TASK_KEY = "agree-go-live-date"
GATE_KEY = "technical-requirements-signed-off"
REASON = "The practice does not use this service"


def stored(migration: PracticeMigration) -> tuple[int, int, int, int | None]:
    progress = ChecklistProgress.objects.get(migration=migration)
    return progress.items_done, progress.items_applicable, progress.items_blocked, progress.phase_position


def counted(migration: PracticeMigration) -> tuple[int, int, int, int | None]:
    """Done, applicable, blocked, and the position of the first phase with an open item, from the items."""
    items = ChecklistItem.objects.filter(migration=migration)
    first_open = items.filter(status__in=OPEN_STATUSES).order_by("phase__position").first()
    return (
        items.filter(status=ItemStatus.DONE).count(),
        items.exclude(status=ItemStatus.NOT_APPLICABLE).count(),
        items.filter(status=ItemStatus.BLOCKED).count(),
        first_open.phase.position if first_open else None,
    )


def close_all_but(migration: PracticeMigration, keep: ChecklistItem, user) -> None:
    """Arrange: every other applicable item done, by a bulk write, then the counts rebuilt."""
    migration.items.exclude(pk=keep.pk).exclude(status=ItemStatus.NOT_APPLICABLE).update(
        status=ItemStatus.DONE, completed_by=user, completed_at=timezone.now()
    )
    ChecklistProgress.recount([migration.pk])


def test_a_new_migration_counts_its_applicable_items_and_none_done(migration):
    assert stored(migration) == counted(migration)
    done, applicable, blocked, phase = stored(migration)
    assert (done, blocked, phase) == (0, 0, 1)
    # The guide's dispensing items do not apply to the demo practice, which does not dispense.
    assert 0 < applicable < migration.items.count()


def test_a_dispensing_practice_has_more_applicable_items(guide_version, migration):
    dispensing = make_migration(template_version=guide_version, dispensing_practice=True)

    assert stored(dispensing) == counted(dispensing)
    assert stored(dispensing)[1] > stored(migration)[1]


def test_complete_counts_one_more_done(migration, practice_manager):
    before = stored(migration)

    migration.items.get(key=TASK_KEY).complete(practice_manager)

    assert stored(migration) == (before[0] + 1, *before[1:]) == counted(migration)


def test_completing_twice_counts_once(migration, practice_manager, delivery_partner_user):
    task = migration.items.get(key=TASK_KEY)
    task.complete(practice_manager)
    ChecklistItem.objects.get(pk=task.pk).complete(delivery_partner_user)

    assert stored(migration) == counted(migration)


def test_reopen_counts_one_fewer_done(migration, practice_manager):
    task = migration.items.get(key=TASK_KEY)
    task.complete(practice_manager)

    task.reopen(practice_manager)

    assert stored(migration) == counted(migration)
    assert stored(migration)[0] == 0


def test_not_applicable_counts_one_fewer_applicable(migration, practice_manager):
    before = stored(migration)

    migration.items.get(key=TASK_KEY).mark_not_applicable(practice_manager, REASON)

    assert stored(migration) == (before[0], before[1] - 1, *before[2:]) == counted(migration)


def test_blocked_counts_one_more_blocked(migration, practice_manager):
    before = stored(migration)

    migration.items.get(key=TASK_KEY).mark_blocked(practice_manager, "Waiting for the supplier")

    assert stored(migration) == (*before[:2], before[2] + 1, before[3]) == counted(migration)


def test_unblocking_by_reopening_counts_one_fewer_blocked(migration, practice_manager):
    task = migration.items.get(key=TASK_KEY)
    task.mark_blocked(practice_manager, "Waiting for the supplier")

    task.reopen(practice_manager)

    assert stored(migration)[2] == 0
    assert stored(migration) == counted(migration)


def test_sign_off_counts_the_gate_done(migration, practice_manager):
    before = stored(migration)

    migration.items.get(key=GATE_KEY).sign_off(practice_manager, override_reason="Agreed at the board")

    assert stored(migration) == (before[0] + 1, *before[1:]) == counted(migration)


@pytest.mark.parametrize("first", ["complete", "not_applicable", "blocked"])
@pytest.mark.parametrize("then", ["complete", "not_applicable", "blocked", "reopen"])
def test_every_change_of_status_after_another_keeps_the_counts(first, then, migration, practice_manager):
    actions = {
        "complete": lambda item: item.complete(practice_manager),
        "not_applicable": lambda item: item.mark_not_applicable(practice_manager, REASON),
        "blocked": lambda item: item.mark_blocked(practice_manager, "Waiting for the supplier"),
        "reopen": lambda item: item.reopen(practice_manager),
    }
    task = migration.items.get(key=TASK_KEY)

    actions[first](task)
    actions[then](task)

    assert stored(migration) == counted(migration)


def test_a_reason_changed_without_a_change_of_status_keeps_the_counts(migration, practice_manager):
    task = migration.items.get(key=TASK_KEY)
    task.mark_not_applicable(practice_manager, REASON)

    task.mark_not_applicable(practice_manager, "Another reason")

    assert stored(migration) == counted(migration)


def test_notes_due_dates_and_milestones_change_no_count(migration, practice_manager):
    before = stored(migration)
    task = migration.items.get(key=TASK_KEY)

    task.set_note(practice_manager, "Rang the supplier")
    task.set_due_date(practice_manager, GO_LIVE_ON - timedelta(days=20))
    migration.change_milestones({"go_live": GO_LIVE_ON + timedelta(days=7)}, by=practice_manager)

    assert stored(migration) == before == counted(migration)


@pytest.mark.parametrize("close", ["complete", "not_applicable"])
def test_closing_the_last_open_item_of_a_phase_moves_the_current_phase_on_and_reopening_moves_it_back(
    close, migration, practice_manager
):
    last_of_first_phase = migration.items.filter(phase__position=1).order_by("-position").first()
    first_of_second_phase = migration.items.filter(phase__position=2).order_by("position").first()
    close_all_but(migration, first_of_second_phase, practice_manager)
    last_of_first_phase.refresh_from_db()
    last_of_first_phase.reopen(practice_manager)
    assert stored(migration)[3] == 1

    if close == "complete":
        last_of_first_phase.complete(practice_manager)
    else:
        last_of_first_phase.mark_not_applicable(practice_manager, REASON)
    assert stored(migration)[3] == 2 == counted(migration)[3]

    first_of_second_phase.complete(practice_manager)
    assert stored(migration)[3] is None
    assert stored(migration) == counted(migration)

    last_of_first_phase.reopen(practice_manager)
    assert stored(migration)[3] == 1
    assert stored(migration) == counted(migration)


def test_blocking_an_item_keeps_it_open_and_its_phase_current(migration, practice_manager):
    task = migration.items.filter(phase__position=2).order_by("position").first()
    close_all_but(migration, task, practice_manager)

    task.mark_blocked(practice_manager, "Waiting for the supplier")

    assert stored(migration)[3] == 2 == counted(migration)[3]


def test_a_refused_change_leaves_the_counts_as_they_were(migration, practice_manager):
    gate = migration.items.get(key=GATE_KEY)
    before = stored(migration)

    with pytest.raises(ValidationError):
        gate.sign_off(practice_manager)  # earlier items open and no override reason

    assert stored(migration) == before == counted(migration)


def test_the_count_rolls_back_with_the_transaction_that_made_it(migration, practice_manager):
    before = stored(migration)

    with pytest.raises(RuntimeError), transaction.atomic():
        migration.items.get(key=TASK_KEY).complete(practice_manager)
        raise RuntimeError("the request failed after the change")

    assert stored(migration) == before == counted(migration)


def test_a_migration_whose_counts_are_missing_is_counted_on_its_next_change(migration, practice_manager):
    ChecklistProgress.objects.filter(migration=migration).delete()

    migration.items.get(key=TASK_KEY).complete(practice_manager)

    assert stored(migration) == counted(migration)


def test_recount_repairs_counts_and_creates_missing_ones(guide_version, migration, practice_manager):
    other = make_migration(template_version=guide_version)
    ChecklistProgress.objects.filter(migration=migration).update(
        items_done=0, items_applicable=1, items_blocked=1, phase_position=4
    )
    ChecklistProgress.objects.filter(migration=other).delete()
    # A bulk write bypasses the counts: the not-applicable dispensing items become applicable.
    migration.items.filter(kind=ItemKind.TASK).update(status=ItemStatus.TO_DO)
    assert stored(migration) != counted(migration)

    ChecklistProgress.recount()

    assert stored(migration) == counted(migration)
    assert stored(other) == counted(other)


def test_the_database_refuses_more_done_and_blocked_than_applicable(migration):
    applicable = stored(migration)[1]

    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistProgress.objects.filter(migration=migration).update(items_done=applicable + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistProgress.objects.filter(migration=migration).update(items_done=applicable - 1, items_blocked=2)


# --- the day figures ------------------------------------------------------------------------------


def day_stored(migration: PracticeMigration) -> tuple:
    progress = ChecklistProgress.objects.get(migration=migration)
    return progress.counts_on, progress.overdue, progress.gates_overdue, progress.done_ahead, progress.next_due_on


def day_counted(migration: PracticeMigration) -> tuple:
    """Counted for today, from the items, by hand (not DayCounts), as the dashboard defines them."""
    today = timezone.localdate()
    items = ChecklistItem.objects.filter(migration=migration)
    overdue = items.filter(status__in=OPEN_STATUSES, due_on__lt=today)
    ahead = items.filter(status=ItemStatus.DONE).exclude(due_on__lt=today)
    next_item = items.filter(status__in=OPEN_STATUSES, due_on__gte=today).order_by("due_on").first()
    # Gates that fell due before the migration was added count from two weeks after it was added.
    added_on = timezone.localdate(migration.created_at)
    gates = overdue.filter(kind=ItemKind.GATE)
    if today < added_on + timedelta(days=14):
        gates = gates.filter(due_on__gte=added_on)
    return (
        today,
        overdue.count(),
        gates.count(),
        ahead.count(),
        next_item.due_on if next_item else None,
    )


@pytest.mark.usefixtures("frozen_now")
def test_a_new_migration_has_its_day_figures_counted_for_today(migration):
    assert day_stored(migration) == day_counted(migration)
    assert day_stored(migration)[1] > 0  # the demo migration has items overdue


@pytest.mark.usefixtures("frozen_now")
def test_every_change_of_an_item_counts_the_day_figures_again(migration, practice_manager):
    overdue_task = migration.items.filter(kind=ItemKind.TASK, due_on__lt=timezone.localdate()).first()
    future_task = migration.items.filter(kind=ItemKind.TASK, due_on__gt=timezone.localdate()).first()
    steps = [
        lambda: overdue_task.complete(practice_manager),
        lambda: future_task.complete(practice_manager),  # done ahead of plan
        lambda: overdue_task.reopen(practice_manager),
        lambda: overdue_task.mark_blocked(practice_manager, "Waiting for the supplier"),
        lambda: future_task.set_due_date(practice_manager, timezone.localdate() - timedelta(days=3), reason="Late"),
        lambda: future_task.reopen(practice_manager),
        lambda: overdue_task.mark_not_applicable(practice_manager, REASON),
    ]
    figures = [day_stored(migration)]
    for step in steps:
        step()
        assert day_stored(migration) == day_counted(migration)
        figures.append(day_stored(migration))
    assert len(set(figures)) >= 4


@pytest.mark.usefixtures("frozen_now")
def test_moving_a_milestone_counts_the_day_figures_again(migration, practice_manager):
    before = day_stored(migration)

    # The milestone the next item due hangs off, a week earlier: that item falls overdue.
    next_item = migration.items.filter(due_on__gte=timezone.localdate(), manual_due_on=None).order_by("due_on").first()
    field = f"{next_item.anchor}_on"
    earlier = {next_item.anchor: getattr(migration, field) - timedelta(days=7)}
    migration.change_milestones(earlier, by=practice_manager, reason="Earlier")

    assert day_stored(migration) == day_counted(migration)
    assert day_stored(migration) != before


def test_a_change_on_a_later_day_counts_for_that_day(migration, practice_manager, time_machine):
    time_machine.move_to(timezone.now() - timedelta(days=30), tick=False)
    ChecklistProgress.count_day(timezone.localdate(), [migration.pk])
    time_machine.move_to(timezone.now() + timedelta(days=30), tick=False)

    migration.items.filter(kind=ItemKind.TASK).first().complete(practice_manager)

    assert day_stored(migration) == day_counted(migration)


@pytest.mark.parametrize("applicable", [0, 1, 2, 3, 7, 8, 40, 113])
def test_the_percentage_done_is_the_same_in_python_and_in_the_database(migration, applicable):
    from migrations_app.dashboard.rows import PERCENT
    from migrations_app.models.checklist_items import Progress

    for done in range(applicable + 1):
        ChecklistProgress.objects.filter(migration=migration).update(
            items_done=done, items_applicable=applicable, items_blocked=0
        )
        in_the_database = PracticeMigration.objects.annotate(percent=PERCENT).values_list("percent", flat=True).get()
        assert in_the_database == Progress(done=done, applicable=applicable).percent
    assert Progress(done=1, applicable=8).percent == 13  # 12.5: halves round up
