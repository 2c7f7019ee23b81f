"""The RAG rule at its boundaries: the pure function with counts, and real migrations on the days
either side of a due date (time-machine)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Value
from django.urls import reverse
from django.utils import timezone

from migrations_app.dashboard import rows
from migrations_app.dashboard.rag import BY_RANK, FAR_BEHIND_PERCENT, Rag, annotate_rank, assess
from migrations_app.models import ChecklistItem, ChecklistProgress, ItemKind, ItemStatus, PracticeMigration
from migrations_app.models.checklist_items import CATCH_UP_DAYS, DayCounts
from tests.factories import added_at_its_start
from tests.pages import element, text

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def rag_of(**counts) -> Rag:
    return assess(**({"applicable": 100, "done": 0, "done_ahead": 0, "overdue": 0, "gates_overdue": 0} | counts)).rag


# --- the rule, from counts ----------------------------------------------------------------------------


def test_nothing_overdue_is_green():
    assert rag_of(done=30) == Rag.GREEN


def test_one_overdue_item_is_amber():
    assert rag_of(done=30, overdue=1) == Rag.AMBER


def test_one_overdue_gate_is_red_however_little_else_is_behind():
    assessment = assess(applicable=100, done=99, done_ahead=0, overdue=1, gates_overdue=1)

    assert assessment.rag == Rag.RED
    assert assessment.reason == "1 sign-off gate is overdue"


def test_exactly_the_far_behind_threshold_is_still_amber_and_one_item_more_is_red():
    at_threshold = FAR_BEHIND_PERCENT  # of 100 applicable items: exactly FAR_BEHIND_PERCENT points behind

    assert rag_of(done=40, overdue=at_threshold) == Rag.AMBER
    assert rag_of(done=40, overdue=at_threshold + 1) == Rag.RED


@pytest.mark.parametrize(("applicable", "last_amber"), [(20, 3), (109, 16), (7, 1)])
def test_the_threshold_is_exact_for_any_number_of_items(applicable, last_amber):
    # 15% of 20 is exactly 3; of 109 it is 16.35; of 7 it is 1.05.
    assert rag_of(applicable=applicable, overdue=last_amber) == Rag.AMBER
    assert rag_of(applicable=applicable, overdue=last_amber + 1) == Rag.RED


def test_work_done_ahead_of_plan_makes_up_for_overdue_items():
    # 20 overdue, but 10 items done before they were due: 10 points behind the plan, not 20.
    assert rag_of(done=40, done_ahead=10, overdue=20) == Rag.AMBER
    assert rag_of(done=40, done_ahead=4, overdue=20) == Rag.RED


def test_the_red_reason_compares_done_with_planned():
    assessment = assess(applicable=100, done=40, done_ahead=5, overdue=25, gates_overdue=0)

    assert assessment.rag == Rag.RED
    assert assessment.reason == "40% done against 60% planned by today"


def test_a_checklist_with_nothing_applicable_is_green():
    assert rag_of(applicable=0) == Rag.GREEN


# --- the same rule in SQL ------------------------------------------------------------------------------


def boundary_counts():
    """Counts either side of every boundary of the rule: no gate or one overdue, nothing or one
    item overdue, and the share behind at, just under and just over FAR_BEHIND_PERCENT points, for
    checklists of none, one, an odd number and a hundred applicable items."""
    for applicable in (0, 1, 7, 20, 100, 113):
        for done_ahead in (0, 1, 3):
            for overdue in sorted({0, 1, 2, 3, *range(max(0, applicable * FAR_BEHIND_PERCENT // 100 - 1), applicable)}):
                if overdue > applicable or done_ahead > applicable - overdue:
                    continue
                for gates_overdue in {0, min(1, overdue)}:
                    done = done_ahead + (applicable - overdue - done_ahead) // 2
                    yield {
                        "applicable": applicable,
                        "done": done,
                        "done_ahead": done_ahead,
                        "overdue": overdue,
                        "gates_overdue": gates_overdue,
                    }


def test_the_database_gives_the_same_status_as_assess_on_every_boundary(migration):
    cases = list(boundary_counts())
    one_row = PracticeMigration.objects.filter(pk=migration.pk)
    answers = []
    for counts in cases:
        figures = {name: Value(count) for name, count in counts.items()}
        annotated = annotate_rank(
            one_row.annotate(**figures),
            applicable="applicable",
            done_ahead="done_ahead",
            overdue="overdue",
            gates_overdue="gates_overdue",
        )
        answers.append(BY_RANK[annotated.values_list("rag_rank", flat=True).get()])

    assert answers == [assess(**counts).rag for counts in cases]
    assert len(cases) > 300
    assert {Rag.RED, Rag.AMBER, Rag.GREEN} == set(answers)


def test_the_database_agrees_with_assess_on_the_check_in_flags_too(migration):
    # Every fourth boundary case (the counts' boundaries are the test above's), with each
    # combination of a missed check-in and a red self-assessment.
    cases = [
        counts | {"check_in_missed": missed, "check_in_red": red}
        for counts in list(boundary_counts())[::4]
        for missed in (False, True)
        for red in (False, True)
    ]
    one_row = PracticeMigration.objects.filter(pk=migration.pk)
    answers = []
    for case in cases:
        annotated = annotate_rank(
            one_row.annotate(**{name: Value(value) for name, value in case.items()}),
            applicable="applicable",
            done_ahead="done_ahead",
            overdue="overdue",
            gates_overdue="gates_overdue",
            check_in_missed="check_in_missed",
            check_in_red="check_in_red",
        )
        answers.append(BY_RANK[annotated.values_list("rag_rank", flat=True).get()])

    assert answers == [assess(**case).rag for case in cases]
    assert {Rag.RED, Rag.AMBER, Rag.GREEN} == set(answers)


def test_a_missed_check_in_or_a_red_self_assessment_makes_green_amber_and_leaves_red_red():
    assert rag_of(done=30, check_in_missed=True) == Rag.AMBER
    assert rag_of(done=30, check_in_red=True) == Rag.AMBER
    assert rag_of(done=99, overdue=1, gates_overdue=1, check_in_missed=True, check_in_red=True) == Rag.RED
    assert (
        assess(
            applicable=10, done=3, done_ahead=0, overdue=0, gates_overdue=0, check_in_missed=True, check_in_red=True
        ).reason
        == "Last check-in rated red"
    )


@pytest.mark.parametrize("status", [PracticeMigration.Status.ON_HOLD, PracticeMigration.Status.CANCELLED])
def test_the_database_gives_no_status_to_a_migration_on_hold_or_cancelled(migration, status, admin_user):
    if status == PracticeMigration.Status.ON_HOLD:
        migration.hold(admin_user, "Practice merger")
    else:
        migration.cancel(admin_user, "Practice merger")
    annotated = annotate_rank(
        PracticeMigration.objects.filter(pk=migration.pk).annotate(a=Value(10), o=Value(5), g=Value(1), d=Value(0)),
        applicable="a",
        done_ahead="d",
        overdue="o",
        gates_overdue="g",
    )

    assert annotated.values_list("rag_rank", flat=True).get() is None


# --- real migrations, either side of a due date -------------------------------------------------------


def rag_on(day: date, migration: PracticeMigration, user, time_machine) -> rows.Row:
    """The dashboard's row for `migration` at 09:00 on `day`."""
    time_machine.move_to(datetime.combine(day, time(9), tzinfo=LONDON), tick=False)
    today = timezone.localdate()
    options = rows.options_for(user)
    (row,) = [row for row in rows.find(user, rows.Filters(), today, options) if row.pk == migration.pk]
    return row


def leave_open_only(migration: PracticeMigration, keep: list[ChecklistItem], user) -> None:
    """Arrange: every other item done (a bulk write, then the counts rebuilt from the items), in a
    migration added to the tracker at its start."""
    added_at_its_start(migration)
    migration.items.exclude(pk__in=[item.pk for item in keep]).exclude(status=ItemStatus.NOT_APPLICABLE).update(
        status=ItemStatus.DONE, completed_by=user, completed_at=timezone.now()
    )
    ChecklistProgress.recount([migration.pk])


def test_a_task_is_not_overdue_on_its_due_date_and_amber_the_day_after(migration, admin_user, time_machine):
    task = migration.items.filter(kind=ItemKind.TASK, due_on__isnull=False).order_by("-due_on").first()
    leave_open_only(migration, [task], admin_user)

    on_the_day = rag_on(task.due_on, migration, admin_user, time_machine)
    day_after = rag_on(task.due_on + timedelta(days=1), migration, admin_user, time_machine)

    assert (on_the_day.overdue, on_the_day.rag) == (0, Rag.GREEN)
    assert (day_after.overdue, day_after.rag) == (1, Rag.AMBER)


def test_a_gate_is_red_from_the_day_after_its_due_date(migration, admin_user, time_machine):
    gate = migration.items.get(key="data-checking-sign-off")
    leave_open_only(migration, [gate], admin_user)

    on_the_day = rag_on(gate.due_on, migration, admin_user, time_machine)
    day_after = rag_on(gate.due_on + timedelta(days=1), migration, admin_user, time_machine)

    assert (on_the_day.gates_overdue, on_the_day.rag) == (0, Rag.GREEN)
    assert (day_after.gates_overdue, day_after.rag) == (1, Rag.RED)
    assert day_after.rag_reason == "1 sign-off gate is overdue"


def test_far_behind_turns_red_on_the_day_the_item_over_the_threshold_falls_overdue(migration, admin_user, time_machine):
    # The latest-due tasks are left open, so on any day after they fall due every other item is
    # due too (nothing is done ahead of plan) and "behind" is exactly the number overdue.
    applicable = ChecklistProgress.objects.get(migration=migration).items_applicable
    last_amber = FAR_BEHIND_PERCENT * applicable // 100
    tasks = list(migration.items.filter(kind=ItemKind.TASK).exclude(status=ItemStatus.NOT_APPLICABLE))
    tasks.sort(key=lambda item: (item.due_on, item.pk))
    latest = tasks[-(last_amber + 1) :]
    # Give the open tasks one date each, a day apart, so they fall overdue one a day.
    last_day = max(item.due_on for item in migration.items.all())
    for offset, item in enumerate(latest, start=1):
        item.set_due_date(admin_user, last_day + timedelta(days=offset))
    leave_open_only(migration, latest, admin_user)
    threshold_day = last_day + timedelta(days=last_amber + 1)  # the last task's due date

    on_the_day = rag_on(threshold_day, migration, admin_user, time_machine)
    day_after = rag_on(threshold_day + timedelta(days=1), migration, admin_user, time_machine)

    assert (on_the_day.overdue, on_the_day.rag) == (last_amber, Rag.AMBER)
    assert (day_after.overdue, day_after.rag) == (last_amber + 1, Rag.RED)


def test_an_item_done_early_counts_as_ahead_until_its_due_date(migration, admin_user, time_machine):
    task = migration.items.filter(kind=ItemKind.TASK, due_on__isnull=False).order_by("-due_on").first()
    task.complete(admin_user)

    before = rag_on(task.due_on, migration, admin_user, time_machine)
    after = rag_on(task.due_on + timedelta(days=1), migration, admin_user, time_machine)

    assert before.done_ahead == 1
    assert after.done_ahead == 0


# --- the help page states the same rule ---------------------------------------------------------------


def test_the_help_page_states_the_rule_with_its_threshold(client, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = client.get(reverse("migrations:rag_help"))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"more than {FAR_BEHIND_PERCENT} percentage points below the share that were due before today" in html
    assert "A sign-off gate is overdue" in html
    assert "at least one item is overdue" in html


def test_the_help_page_shows_each_status_in_the_colour_the_dashboard_gives_it(client, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = client.get(reverse("migrations:rag_help"))

    html = response.content.decode()
    for rag in Rag:
        assert f'<strong class="nhsuk-tag {rag.tag_class}">{rag.label}</strong>' in html


@pytest.mark.usefixtures("frozen_now")
def test_a_gate_due_before_the_migration_was_added_is_amber_for_its_catch_up_days_then_red(
    client, migration, admin_user, time_machine
):
    # The demo migration is added to the tracker today, after its early gates fell due.
    added_on = timezone.localdate(migration.created_at)
    gate = migration.items.filter(kind=ItemKind.GATE, due_on__lt=added_on).order_by("due_on").first()
    assert gate is not None
    migration.items.exclude(pk=gate.pk).exclude(status=ItemStatus.NOT_APPLICABLE).update(
        status=ItemStatus.DONE, completed_by=admin_user, completed_at=timezone.now()
    )
    ChecklistProgress.recount([migration.pk])

    seen = {}
    for day in (added_on, added_on + timedelta(days=CATCH_UP_DAYS - 1), added_on + timedelta(days=CATCH_UP_DAYS)):
        row = rag_on(day, migration, admin_user, time_machine)
        ChecklistProgress.count_day(day, [migration.pk])  # the kept figures, as the nightly count keeps them
        kept = ChecklistProgress.objects.get(migration=migration)
        counted = DayCounts.of(migration.items.all(), day, added_on=added_on)
        client.force_login(admin_user)  # a new session each day: one lasts 12 hours at most
        answer = client.get(reverse("migrations:migration_detail", args=(migration.pk,)))
        assert answer.status_code == 200, answer.get("Location")
        page = text(element(answer.content.decode(), "rag-status"))
        assert kept.gates_overdue == counted.gates_overdue == row.gates_overdue
        assert page.startswith(f"RAG status: {row.rag.label} {row.rag_reason}.")
        seen[day - added_on] = (row.overdue, row.gates_overdue, row.rag)

    assert seen == {
        timedelta(0): (1, 0, Rag.AMBER),
        timedelta(days=CATCH_UP_DAYS - 1): (1, 0, Rag.AMBER),
        timedelta(days=CATCH_UP_DAYS): (1, 1, Rag.RED),
    }


@pytest.mark.usefixtures("frozen_now")
def test_a_gate_due_after_the_migration_was_added_is_red_the_day_after_even_in_its_first_days(
    migration, admin_user, time_machine
):
    added_on = timezone.localdate(migration.created_at)
    gate = migration.items.filter(kind=ItemKind.GATE, due_on__gte=added_on).order_by("due_on").first()
    gate.set_due_date(admin_user, added_on + timedelta(days=2))
    migration.items.exclude(pk=gate.pk).exclude(status=ItemStatus.NOT_APPLICABLE).update(
        status=ItemStatus.DONE, completed_by=admin_user, completed_at=timezone.now()
    )
    ChecklistProgress.recount([migration.pk])

    day_after = rag_on(added_on + timedelta(days=3), migration, admin_user, time_machine)

    assert (day_after.gates_overdue, day_after.rag) == (1, Rag.RED)
