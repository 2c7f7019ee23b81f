"""Due-date rules: items are due an offset of days from a milestone, and move with it.

Almost every date in the guide is relative to go-live or FDP and agreed at kick-off, so an
item stores its anchor milestone and offset, never a bare date (unless someone sets one by
hand, which replanning then leaves alone). A due date falls on a working day in England
(working_days.py): one that would land on a weekend or a bank holiday is moved to the working
day before it, or after it for an item due after its milestone. Milestone dates that are
allowed but unwise (on a non-working day, too close to FDP) get warnings, never refusals.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

from migrations_app import working_days
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


def milestone_order_errors(dates: dict[str, date | None], changed: frozenset[str] = frozenset()) -> dict[str, str]:
    """Map each milestone field in the wrong order to a message. `dates` is keyed by milestone value.
    Only pairs whose dates are both set are checked; direct pairs first, so their wording wins.
    The message goes on the later date of the pair, unless only the earlier one is among the
    milestones the person `changed`: then on that one, the date they would look at again."""
    errors: dict[str, str] = {}
    for rule in MILESTONE_ORDER:
        earlier, later = dates.get(rule.earlier), dates.get(rule.later)
        if earlier is None or later is None:
            continue
        if later < earlier or (rule.strict and later == earlier):
            wrong = rule.earlier if rule.earlier in changed and rule.later not in changed else rule.later
            errors.setdefault(wrong.field_name, rule.message)
    return errors


def expected_old_system_access_end(dates: dict[str, date | None]) -> date | None:
    """While the end of old system access is not agreed, the date it is expected: go-live plus
    OLD_SYSTEM_ACCESS_DAYS (the later guide keeps 90 days of read-only access). None once it is
    agreed, or while go-live is not."""
    if dates.get(Milestone.OLD_SYSTEM_ACCESS_END) is not None or dates.get(Milestone.GO_LIVE) is None:
        return None
    return dates[Milestone.GO_LIVE] + timedelta(days=settings.OLD_SYSTEM_ACCESS_DAYS)


def anchor_date(dates: dict[str, date | None], anchor: str) -> date | None:
    """The date items anchored on `anchor` are planned from: the milestone's, or for the end of
    old system access while it is not agreed, the expected one."""
    day = dates.get(anchor)
    if day is None and anchor == Milestone.OLD_SYSTEM_ACCESS_END:
        return expected_old_system_access_end(dates)
    return day


def moved_anchors(before: dict[str, date | None], after: dict[str, date | None]) -> set[str]:
    """The milestones whose items a change of dates from `before` to `after` replans: those whose
    date changes, and the end of old system access when its expected date moves with go-live."""
    return {
        milestone.value for milestone in Milestone if anchor_date(before, milestone) != anchor_date(after, milestone)
    }


def calendar_due_date(dates: dict[str, date | None], anchor: str, offset_days: int) -> date | None:
    """The anchor's date plus the offset, before it is put on a working day; None while the
    anchor is not agreed."""
    day = anchor_date(dates, anchor)
    if day is None:
        return None
    return day + timedelta(days=offset_days)


def due_date(dates: dict[str, date | None], anchor: str, offset_days: int) -> date | None:
    """The date an item falls due, or None while its anchor milestone is not agreed: the anchor's
    date plus the offset, on a working day. One that lands on a weekend or a bank holiday moves to
    the working day before it when the item is due before its milestone or on it (it is due by
    the milestone), and to the working day after it when the item is due after its milestone."""
    day = calendar_due_date(dates, anchor, offset_days)
    if day is None or working_days.is_working_day(day):
        return day
    return working_days.next_working_day(day) if offset_days > 0 else working_days.previous_working_day(day)


def due_rule(anchor: str, offset_days: int) -> str:
    """An item's due-date rule in words: "On go-live", "3 days after go-live", "1 week before
    initial data production (IDP)" (whole weeks are counted in weeks, as the guide speaks of them)."""
    milestone = _IN_A_SENTENCE[Milestone(anchor)]
    if offset_days == 0:
        return f"On {milestone}"
    days = abs(offset_days)
    count, unit = (days // 7, "week") if days % 7 == 0 else (days, "day")
    return f"{count} {unit}{'s' if count != 1 else ''} {'before' if offset_days < 0 else 'after'} {milestone}"


def non_working_reason(day: date) -> str:
    """Why `day` is not a working day ("a weekend", "Christmas Day"), or "" when it is one."""
    if day.weekday() >= 5:
        return "a weekend"
    return working_days.bank_holiday_name(day)


def moved_from_text(due_on: date | None, dates: dict[str, date | None], anchor: str, offset_days: int) -> str:
    """Where a computed due date was moved from to fall on a working day, as an item shows it:
    "moved from Sunday 20 December, a weekend"; "" when it was not moved (or no longer matches
    its milestone: an item planned before due dates were put on working days)."""
    calendar = calendar_due_date(dates, anchor, offset_days)
    if due_on is None or calendar is None or calendar == due_on or due_on != due_date(dates, anchor, offset_days):
        return ""
    when = f"{calendar:%A} {calendar.day} {calendar:%B}" + (f" {calendar.year}" if calendar.year != due_on.year else "")
    return f"moved from {when}, {_without_brackets(non_working_reason(calendar))}"


def _without_brackets(reason: str) -> str:
    """`reason` fit to go inside the item's brackets: GOV.UK's "Boxing Day (substitute day)" as "the
    substitute day for Boxing Day", or the item would show "(moved from ..., Boxing Day (substitute day))"."""
    suffix = " (substitute day)"
    return " and ".join(
        f"the substitute day for {name.removesuffix(suffix)}" if name.endswith(suffix) else name
        for name in reason.split(" and ")
    )


@dataclass(frozen=True)
class DueDateMove:
    """One item whose due date a milestone change would move."""

    item_id: int
    title: str
    old_due_on: date | None
    new_due_on: date | None


# The guide asks for the cutover planning meeting at least four weeks before final data production.
CUTOVER_PLANNING_DAYS_BEFORE_FDP = 28


@dataclass(frozen=True)
class MilestoneWarning:
    """A milestone date that is allowed but worth a second look; shown next to `milestone`."""

    milestone: Milestone
    message: str


SPAN_WARNING_DAYS = 365
"""Milestones further apart than a year are worth a second look: a year typed wrong, most likely."""


def milestone_warnings(dates: dict[str, date | None]) -> list[MilestoneWarning]:
    """What to check about a set of milestone dates (keyed by milestone value), never a reason to
    refuse them: a milestone on a weekend or a bank holiday, a cutover planning meeting less than
    four weeks before FDP, go-live on the same day as FDP, and milestones more than a year apart (on
    the later one). In milestone order."""
    warnings = []
    for milestone in Milestone:
        day = dates.get(milestone.value)
        reason = non_working_reason(day) if day is not None else ""
        if reason:
            kind = "" if reason == "a weekend" else ", a bank holiday"
            warnings.append(
                MilestoneWarning(milestone, f"{_sentence_start(milestone)} is on {_long_date(day)}, {reason}{kind}.")
            )
    planning, fdp, go_live = (dates.get(key) for key in (Milestone.CUTOVER_PLANNING, Milestone.FDP, Milestone.GO_LIVE))
    if planning and fdp and 0 < (fdp - planning).days < CUTOVER_PLANNING_DAYS_BEFORE_FDP:
        days = (fdp - planning).days
        warnings.append(
            MilestoneWarning(
                Milestone.CUTOVER_PLANNING,
                f"The cutover planning meeting is only {days} day{'s' if days != 1 else ''} before final data "
                "production (FDP). The guide advises holding it four weeks or more before FDP, so that everyone "
                "involved has time to plan how the practice will work during the cutover.",
            )
        )
    survey = dates.get(Milestone.TECHNICAL_SURVEY)
    if survey and go_live and survey >= go_live:
        when = "on the day of" if survey == go_live else "after"
        warnings.append(
            MilestoneWarning(
                Milestone.TECHNICAL_SURVEY,
                f"The technical survey is on {_long_date(survey)}, {when} go-live ({_long_date(go_live)}). In the "
                "guide it comes shortly after kick-off, to check the practice's hardware and software before the "
                "migration: check the date.",
            )
        )
    if fdp and go_live and fdp == go_live:
        warnings.append(
            MilestoneWarning(
                Milestone.GO_LIVE,
                "Go-live is on the same day as final data production (FDP). In the guide the cutover comes between "
                "them: the final extract is loaded into the new system and checked before the practice signs it off "
                "and goes live, so leave a few days for it.",
            )
        )
    agreed = sorted(
        (day, index, milestone) for index, milestone in enumerate(Milestone) if (day := dates.get(milestone.value))
    )
    if len(agreed) > 1 and (agreed[-1][0] - agreed[0][0]).days > SPAN_WARNING_DAYS:
        (first_on, _, first), (last_on, _, last) = agreed[0], agreed[-1]
        warnings.append(
            MilestoneWarning(
                last,
                f"{_sentence_start(last)} is on {_long_date(last_on)}, more than a year after "
                f"{_IN_A_SENTENCE[first]} ({_long_date(first_on)}). In the guide a migration takes 12 to 16 weeks "
                "from its order: check the years.",
            )
        )
    order = list(Milestone)
    return sorted(warnings, key=lambda warning: order.index(warning.milestone))


def past_go_live_warning(go_live: date | None, today: date) -> str:
    """For a new migration whose go-live has passed (allowed: one tracked from after its go-live),
    what to check: every item due before it would start overdue, and a year typed wrongly is the
    likelier cause. "" when go-live is not agreed or still to come."""
    if go_live is None or go_live >= today:
        return ""
    return (
        f"Go-live, {go_live.day} {go_live:%B %Y}, has passed: the migration would start with every item "
        "due before it overdue. Check the year."
    )


def past_date_warnings(changes: dict[str, date | None], today: date) -> list[MilestoneWarning]:
    """A milestone moved to a day before `today` (keyed by milestone value, as `changes`): allowed,
    to record what happened, but its open items would be overdue at once, so worth a second look."""
    return [
        MilestoneWarning(
            milestone,
            f"{_sentence_start(milestone)} would be on {_long_date(day)}, which has passed. That is right for "
            "something that has already happened; otherwise check the date: open items due from it count as overdue.",
        )
        for milestone in Milestone
        if (day := changes.get(milestone.value)) is not None and day < today
    ]


def due_date_notes(due_on: date | None, *, is_open: bool, today: date) -> list[str]:
    """What is worth a second look about a due date set by hand (allowed all the same): one that
    has passed makes an open item overdue at once, and one on a weekend or a bank holiday is a day
    the practice and its suppliers are mostly closed (a worked-out date never falls on one)."""
    if due_on is None:
        return []
    notes = []
    if is_open and due_on < today:
        notes.append(f"{_long_date(due_on)} has passed, so the item is overdue now.")
    if reason := non_working_reason(due_on):
        kind = "" if reason == "a weekend" else ", a bank holiday"
        notes.append(f"{_long_date(due_on)} is {reason}{kind}: check the date if the work needs the practice open.")
    return notes


def _sentence_start(milestone: Milestone) -> str:
    words = _IN_A_SENTENCE[milestone]
    return words[0].upper() + words[1:]


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"
