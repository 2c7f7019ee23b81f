"""Due-date rules: items are due an offset of days from a milestone, and move with it.

Almost every date in the guide is relative to go-live or FDP and agreed at kick-off, so an
item stores its anchor milestone and offset, never a bare date (unless someone sets one by
hand, which replanning then leaves alone).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from migrations_app.models.choices import Milestone


@dataclass(frozen=True)
class MilestoneOrder:
    """`earlier` must fall before `later` (or on the same day when not strict)."""

    earlier: Milestone
    later: Milestone
    strict: bool
    message: str


# The guide's sequence, as the pairs it names. MILESTONE_ORDER below adds the pairs these imply,
# so that go-live before the order date is caught even while the dates between are unset.
DIRECT_MILESTONE_ORDER = (
    MilestoneOrder(
        Milestone.ORDER_ACCEPTED, Milestone.KICK_OFF, False, "Kick-off cannot be before the order is accepted."
    ),
    MilestoneOrder(
        Milestone.KICK_OFF, Milestone.TECHNICAL_SURVEY, False, "The technical survey cannot be before kick-off."
    ),
    MilestoneOrder(
        Milestone.KICK_OFF, Milestone.IDP, False, "Initial data production (IDP) cannot be before kick-off."
    ),
    MilestoneOrder(
        Milestone.IDP,
        Milestone.DATA_CHECKING_SIGNOFF,
        False,
        "Data-checking sign-off cannot be before initial data production (IDP).",
    ),
    MilestoneOrder(
        Milestone.DATA_CHECKING_SIGNOFF,
        Milestone.FDP,
        True,
        "Data checking must be signed off before final data production (FDP).",
    ),
    MilestoneOrder(
        Milestone.IDP,
        Milestone.FDP,
        True,
        "Final data production (FDP) must be after initial data production (IDP).",
    ),
    MilestoneOrder(
        Milestone.CUTOVER_PLANNING,
        Milestone.FDP,
        True,
        "The cutover planning meeting must be before final data production (FDP).",
    ),
    MilestoneOrder(Milestone.FDP, Milestone.GO_LIVE, False, "Go-live cannot be before final data production (FDP)."),
    MilestoneOrder(
        Milestone.GO_LIVE,
        Milestone.OLD_SYSTEM_ACCESS_END,
        False,
        "Access to the old system cannot end before go-live.",
    ),
)


# How a milestone reads inside a sentence, for the messages of implied pairs.
_IN_A_SENTENCE = {
    Milestone.ORDER_ACCEPTED: "the order date",
    Milestone.KICK_OFF: "kick-off",
    Milestone.TECHNICAL_SURVEY: "the technical survey",
    Milestone.IDP: "initial data production (IDP)",
    Milestone.DATA_CHECKING_SIGNOFF: "data-checking sign-off",
    Milestone.CUTOVER_PLANNING: "the cutover planning meeting",
    Milestone.FDP: "final data production (FDP)",
    Milestone.GO_LIVE: "go-live",
    Milestone.OLD_SYSTEM_ACCESS_END: "the end of old system access",
}


def _implied_order(direct: tuple[MilestoneOrder, ...]) -> tuple[MilestoneOrder, ...]:
    """Every pair the direct rules imply (a before b before c gives a before c); a pair is strict
    when any step between them is."""
    strict: dict[tuple[Milestone, Milestone], bool] = {(rule.earlier, rule.later): rule.strict for rule in direct}
    changed = True
    while changed:
        changed = False
        for (first, middle), first_strict in list(strict.items()):
            for (middle_again, last), second_strict in list(strict.items()):
                if middle != middle_again:
                    continue
                combined = first_strict or second_strict
                if (first, last) not in strict or (combined and not strict[(first, last)]):
                    strict[(first, last)] = combined
                    changed = True
    messages = {(rule.earlier, rule.later): rule.message for rule in direct}
    rules = []
    for (earlier, later), is_strict in strict.items():
        subject, other = _IN_A_SENTENCE[later], _IN_A_SENTENCE[earlier]
        subject = subject[0].upper() + subject[1:]
        message = messages.get((earlier, later)) or (
            f"{subject} must be after {other}." if is_strict else f"{subject} cannot be before {other}."
        )
        rules.append(MilestoneOrder(earlier, later, is_strict, message))
    return tuple(rules)


MILESTONE_ORDER = _implied_order(DIRECT_MILESTONE_ORDER)


def milestone_order_errors(dates: dict[str, date | None]) -> dict[str, str]:
    """Map each milestone field in the wrong order to a message. `dates` is keyed by milestone value.
    Only pairs whose dates are both set are checked; direct pairs first, so their wording wins."""
    errors: dict[str, str] = {}
    for rule in MILESTONE_ORDER:
        earlier, later = dates.get(rule.earlier), dates.get(rule.later)
        if earlier is None or later is None:
            continue
        if later < earlier or (rule.strict and later == earlier):
            errors.setdefault(rule.later.field_name, rule.message)
    return errors


def due_date(dates: dict[str, date | None], anchor: str, offset_days: int) -> date | None:
    """The date an item falls due, or None while its anchor milestone is not agreed."""
    anchor_date = dates.get(anchor)
    if anchor_date is None:
        return None
    return anchor_date + timedelta(days=offset_days)


@dataclass(frozen=True)
class DueDateMove:
    """One item whose due date a milestone change would move."""

    item_id: int
    title: str
    old_due_on: date | None
    new_due_on: date | None
