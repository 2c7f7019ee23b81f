"""The RAG (red, amber, green) status of a migration: the one rule, used by the dashboard's rows,
its filters and sort, its summary, its CSV and the help page. The database evaluates it
(`annotate_rank`), so that the dashboard filters, sorts, pages and counts by it in SQL; `assess()`
is the same rule in Python, with the reason a row gives, and tests hold the two to the same
answers on every boundary.

The rule compares the share of a migration's checklist that is done with the share its plan has
due by today. Due dates follow the milestones, so the planned share is how far along its own
timeline the migration is, weighted by the work the guide puts in each stretch. A plain share of
the calendar time to go-live would not do: about a third of the guide's items fall due after
go-live, so a practice that did every item on its due date would look more than 30 points behind
in the weeks before go-live (measured on the national bench data: 36 points at worst).
"""

from enum import StrEnum, nonmember
from typing import NamedTuple

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from migrations_app.models.practice_migrations import PAUSED_STATUSES

FAR_BEHIND_PERCENT = 15
"""Red when the share done trails the share planned by more than this many percentage points."""

NOT_RATED = {status: status.label for status in PAUSED_STATUSES}
"""Statuses with no RAG status, by label: nothing of a migration on hold or cancelled is due, so none
of its items counts as overdue. The dashboard, its summary and the CSV show the status instead."""


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"

    # A template would call the class (Rag.RED.tag_class would come out empty), as Django's own
    # Choices say it must not.
    do_not_call_in_templates = nonmember(True)

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        """Red first: the order a list sorted by status shows them in."""
        return _RANKS[self]

    @property
    def tag_class(self) -> str:
        return {Rag.RED: "nhsuk-tag--red", Rag.AMBER: "nhsuk-tag--orange", Rag.GREEN: "nhsuk-tag--green"}[self]


_RANKS = {rag: rank for rank, rag in enumerate(Rag)}
BY_RANK = list(Rag)
"""Rag.rank back to the status: what annotate_rank's numbers mean."""


class Assessment(NamedTuple):
    rag: Rag
    reason: str


def assess(
    *,
    applicable: int,
    done: int,
    done_ahead: int,
    overdue: int,
    gates_overdue: int,
    check_in_missed: bool = False,
    check_in_red: bool = False,
) -> Assessment:
    """The RAG status of one migration from its item counts on a given day.

    applicable: items that apply (all but not applicable); done: of those, done; done_ahead: done
    although not yet due (due today or later, or no date yet); overdue: open (to do or blocked) and
    due before today; gates_overdue: of those, sign-off gates; check_in_missed: the weekly check-in
    is missed, check_in_red: a side's latest check-in is red (models/checkins.py: `is_missed`,
    `is_red`, read by the dashboard as `check_in_missed_now` and `check_in_red_now`).

    Red: a sign-off gate is overdue, or the share done is more than FAR_BEHIND_PERCENT points
    below the share planned, that is the share of applicable items due before today. Amber:
    anything is overdue, a side's latest check-in is red, or the check-in is missed: the team's own
    view and its silence are warnings, not evidence that the plan is behind, so they make a green
    migration amber and leave a red one red. Green: otherwise.
    """
    if gates_overdue:
        gates = "gate is" if gates_overdue == 1 else "gates are"
        return Assessment(Rag.RED, f"{gates_overdue} sign-off {gates} overdue")
    if applicable:
        planned = done - done_ahead + overdue
        behind = planned - done  # items: the planned share minus the done share, times applicable
        # In whole numbers, so that exactly FAR_BEHIND_PERCENT points is not yet red.
        if 100 * behind > FAR_BEHIND_PERCENT * applicable:
            return Assessment(
                Rag.RED,
                f"{_percent(done, applicable)}% done against {_percent(planned, applicable)}% planned by today",
            )
    if overdue:
        return Assessment(Rag.AMBER, f"{overdue} item{'s' if overdue != 1 else ''} overdue")
    if check_in_red:
        return Assessment(Rag.AMBER, "Last check-in rated red")
    if check_in_missed:
        return Assessment(Rag.AMBER, "Check-in missed")
    return Assessment(Rag.GREEN, "Nothing overdue")


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole)


def annotate_rank(
    migrations: QuerySet,
    *,
    applicable: str,
    done_ahead: str,
    overdue: str,
    gates_overdue: str,
    check_in_missed: str | None = None,
    check_in_red: str | None = None,
    name: str = "rag_rank",
) -> QuerySet:
    """`migrations` with their RAG status as `name`: its Rag.rank (0 red, 1 amber, 2 green), or
    NULL for a status that has none (NOT_RATED). The other arguments name the fields or
    annotations holding assess()'s counts and flags (`done` is not needed: it cancels out of the
    rule; a flag not named counts as false)."""
    behind = f"{name}_behind"
    warnings = [When(Q(**{flag: True}), then=Value(Rag.AMBER.rank)) for flag in (check_in_red, check_in_missed) if flag]
    return migrations.alias(
        **{behind: 100 * (F(overdue) - F(done_ahead)) - FAR_BEHIND_PERCENT * F(applicable)}
    ).annotate(
        **{
            name: Case(
                When(status__in=list(NOT_RATED), then=Value(None)),
                When(Q(**{f"{gates_overdue}__gt": 0}), then=Value(Rag.RED.rank)),
                When(Q(**{f"{applicable}__gt": 0, f"{behind}__gt": 0}), then=Value(Rag.RED.rank)),
                When(Q(**{f"{overdue}__gt": 0}), then=Value(Rag.AMBER.rank)),
                *warnings,
                default=Value(Rag.GREEN.rank),
                output_field=IntegerField(),
            )
        }
    )
