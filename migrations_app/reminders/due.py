"""What is due, for whom: the one definition. Digests, their sweep and sends, sign-off requests and
the calendar feed ask this module; who relates to which practice through which role they ask
`access`. No side effects.

A person hears about the open items of unfinished migrations that are theirs (access.Relations):
those they own, and those with no named owner for which they hold the responsible role (a practice
role at that practice, the delivery partner's project manager for its practices, the ICB lead for
its ICB's). An item with an owner goes to the owner alone, not to the others in its role:

- every item that is **overdue** (due before the digest's day);
- every item as it comes within each of their **lead times** (by default 7 days and 1 day before
  it is due). A digest covers the days until the next one - the weekend and any bank holiday after
  a Friday digest, the whole week after a weekly one - so an item whose "7 days before" falls on a
  Saturday is announced on the Friday; and it starts where the last digest sent stopped, so a
  working day on which no sweep ran at all is caught up by the next digest (up to CATCH_UP_DAYS
  back): each lead time is announced once, never skipped (see window_start);
- and, for a delivery partner's project manager, every other role's item of their practices that
  is **5 working days or more overdue** (escalation).

A gate is **ready to sign** once every earlier item of its phase is closed; the people who may sign
it (access.signers_of: its owner alone, when the owner may sign it), less those who unsubscribed,
are asked.

`DueRule` holds the rule of one digest, for the database (`condition`, `escalated_condition`) and
in memory (`reason`), side by side; tests/reminders/test_due.py checks that the two agree, as it
does for `gates_made_ready_by` and `is_ready_to_sign`. `due_digests(on)` picks the recipients and
the day each one's digest covers from; digests.build_digests reads what each digest says.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from migrations_app import access, working_days
from migrations_app.models import (
    CheckIn,
    ChecklistItem,
    Delivery,
    ItemStatus,
    Membership,
    PracticeMigration,
    ReminderPreference,
    Role,
    User,
    checkins,
)
from migrations_app.models.choices import OPEN_STATUSES, CheckInSide, Weekday
from migrations_app.models.reminders import DEFAULT_LEAD_DAYS

LONDON = ZoneInfo("Europe/London")
# An item this many working days overdue is also shown to the delivery partner's project manager.
ESCALATION_WORKING_DAYS = 5
# How far back a digest catches up on days no digest went out: the first after a long outage
# announces at most this many days' worth of lead-time reminders, not weeks of them.
CATCH_UP_DAYS = 10
Frequency = ReminderPreference.Frequency


def open_items() -> QuerySet[ChecklistItem]:
    """The items that can be due: open and dated, of a migration still active."""
    return ChecklistItem.objects.open().filter(migration__status=PracticeMigration.Status.ACTIVE, due_on__isnull=False)


# --- when digests go out and what each covers ---------------------------------------------------------


def digest_day(now: datetime) -> date | None:
    """The local date whose digests are due at `now`, or None: on a working day in England (not
    a bank holiday) from REMINDER_DIGEST_HOUR, Europe/London time. The beat runs the sweep by the
    UTC clock; deciding here by local time means a clock change neither skips nor doubles a day."""
    local = timezone.localtime(now, LONDON)
    if working_days.is_working_day(local.date()) and local.hour >= settings.REMINDER_DIGEST_HOUR:
        return local.date()
    return None


def previous_digest_day(on: date) -> date | None:
    """The last day before `on` on which digests were claimed (any Delivery of kind digest), or
    None if there is none. Rows of `on` itself are left out: at send time, and in a sweep that
    overlaps another, the day's own rows are there already and must not move its window.

    One index descent (delivery_kind_on), however long ago that day was."""
    return Delivery.objects.filter(kind=Delivery.Kind.DIGEST, on__lt=on).aggregate(latest=Max("on"))["latest"]


def is_digest_day(on: date, frequency: str) -> bool:
    """The calendar's digest days: daily digests go out on working days; weekly ones on the week's
    first working day (Monday, or Tuesday after a bank holiday Monday). A missed day moves a weekly
    digest later in its week (window_start)."""
    if frequency == Frequency.DAILY:
        return working_days.is_working_day(on)
    if frequency == Frequency.WEEKLY:
        return working_days.first_working_day_of_week(on) == on
    return False


def window_start(on: date, frequency: str, previous: date | None) -> date | None:
    """The first day whose lead-time reminders a `frequency` digest on `on` announces, or None when
    no such digest goes out on `on`. `previous` is previous_digest_day(on).

    A digest covers the days from its start up to, not including, covered_until(on). It starts
    where the digest of the last day the sweep claimed digests stopped, covered_until(previous):
    normally `on` itself (the working day after the last one, or the first working day of the week
    for a weekly digest); earlier when a working day went by with no sweep at all (beat down all
    day, a failed deploy), so that the next digest also announces what that day's would have. Never
    more than CATCH_UP_DAYS back; and the very first digests (no digest day before) start at `on`,
    on the calendar's digest days (is_digest_day): before them there was nothing to miss.

    Weekly digests follow the same rule: the week's digest goes out on the first day of the week
    that a sweep claims digests - Monday, or, when no sweep ran on Monday, the next working day one
    does (on Tuesday no weekly digest is due if Monday has digest rows: covered_until(Monday) is
    next week) - and covers from the first working day of the week after the last digest day.

    Why nothing is announced twice, and nothing skipped: README.md, "Digest windows"."""
    if frequency == Frequency.NONE or not working_days.is_working_day(on):
        return None
    if previous is None:
        return on if is_digest_day(on, frequency) else None
    start = covered_until(previous, frequency)
    if start > on:  # weekly: this week's digest went out already
        return None
    return max(start, on - timedelta(days=CATCH_UP_DAYS))


def covered_until(on: date, frequency: str) -> date:
    """The day of the next digest after `on`: a digest covers the days from its start up to, not
    including, that day."""
    if frequency == Frequency.WEEKLY:
        return working_days.first_working_day_of_next_week(on)
    return working_days.next_working_day(on)


def lead_windows(start: date, until: date, lead_days: tuple[int, ...]) -> tuple[tuple[date, date], ...]:
    """For each lead time, the due dates (first, last) whose reminder day falls from `start` to the
    day before `until`."""
    return tuple((start + timedelta(days=lead), until + timedelta(days=lead - 1)) for lead in lead_days)


def escalation_cutoff(on: date) -> date:
    """Items due on this day or before are 5 working days or more overdue on `on`."""
    return working_days.working_days_before(on, ESCALATION_WORKING_DAYS)


def preference_for(user: User) -> ReminderPreference:
    """The user's saved preference, or the defaults (unsaved)."""
    try:
        return user.reminder_preference
    except ReminderPreference.DoesNotExist:
        return ReminderPreference(user=user)


# --- the rule of one digest ---------------------------------------------------------------------------


class Reason(StrEnum):
    """Why a digest mentions an item: the digest's section it goes in."""

    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class DueRule:
    """What a digest on `on` mentions: of the person's items (access.Relations: owned by them, or
    unowned with a role they hold), those due before `on` and those due within one of the lead
    windows; of the other items of their delivery partner's practices, those due on
    `escalation_cutoff` or before (and not the delivery partner's own). Written for the database
    (`condition`, `escalated_condition`) and in memory (`reason`); the two agree
    (tests/reminders/test_due.py)."""

    on: date
    windows: tuple[tuple[date, date], ...]
    escalation_cutoff: date

    @classmethod
    def of_digest(cls, on: date, start: date, until: date, lead_days: tuple[int, ...]) -> "DueRule":
        """The rule of a digest on `on` covering the lead-time days from `start` to before `until`."""
        return cls(on, lead_windows(start, until, lead_days), escalation_cutoff(on))

    @classmethod
    def combined(cls, on: date, rules: Iterable["DueRule"]) -> "DueRule":
        """Several people's rules on `on` as one (every window of any of them): for a single query
        over all their items, each then sorted by its own person's rule."""
        windows = sorted({window for rule in rules for window in rule.windows})
        return cls(on, tuple(windows), escalation_cutoff(on))

    # For the database: conditions on ChecklistItem, to apply to open_items().

    def condition(self) -> Q:
        """Overdue or coming up: `reason` OVERDUE or DUE_SOON, for an item that is the person's."""
        condition = Q(due_on__lt=self.on)
        for first, last in self.windows:
            condition |= Q(due_on__gte=first, due_on__lte=last)
        return condition

    def escalated_condition(self) -> Q:
        """Escalated: `reason` ESCALATED, for an item at a practice of the person's delivery partner."""
        return Q(due_on__lte=self.escalation_cutoff) & ~Q(responsible_role=Role.DELIVERY_PARTNER)

    # In memory: the same rule, for one item already read.

    def reason(self, item: ChecklistItem, *, holds_role: bool, partner_of_practice: bool) -> Reason | None:
        """Why the digest mentions `item`, or None. `holds_role`: the item is the person's (they own
        it, or it has no owner and they hold its responsible role at its practice:
        access.Relations.holds); `partner_of_practice`: they are a member of its practice's
        delivery partner. An item that is theirs is never escalated to them: they hear of it as
        overdue."""
        if holds_role:
            if item.due_on < self.on:
                return Reason.OVERDUE
            if any(first <= item.due_on <= last for first, last in self.windows):
                return Reason.DUE_SOON
            return None
        if (
            partner_of_practice
            and item.due_on <= self.escalation_cutoff
            and item.responsible_role != Role.DELIVERY_PARTNER
        ):
            return Reason.ESCALATED
        return None


# --- who gets a digest --------------------------------------------------------------------------------


def due_digests(on: date) -> dict[int, date]:
    """The active, subscribed people who get a digest on `on` and have something in it: their ids,
    in order, each with the first day their digest covers (window_start).

    People are grouped by their plan (frequency and lead times): one query finds the last digest
    day, one lists the plans in use, then one query per plan finds its people with at least one
    item to mention. The number of queries grows with the number of distinct preferences, never
    with the number of items."""
    if not working_days.is_working_day(on):
        return {}
    previous = previous_digest_day(on)
    starts = {
        frequency: start
        for frequency in (Frequency.DAILY, Frequency.WEEKLY)
        if (start := window_start(on, frequency, previous)) is not None
    }
    if not starts:
        return {}
    plans = set(
        ReminderPreference.objects.filter(frequency__in=list(starts), unsubscribed_at__isnull=True)
        .values_list("frequency", "first_lead_days", "second_lead_days")
        .distinct()
    )
    default_plan = (Frequency.DAILY.value, *DEFAULT_LEAD_DAYS)
    if Frequency.DAILY in starts:
        plans.add(default_plan)
    escalating = _escalating_partner_members(on)
    recipients: dict[int, date] = {}
    for frequency, first_lead, second_lead in sorted(plans):
        lead_days = tuple(sorted({first_lead, second_lead}, reverse=True))
        start = starts[frequency]
        rule = DueRule.of_digest(on, start, covered_until(on, frequency), lead_days)
        on_plan = Q(
            reminder_preference__frequency=frequency,
            reminder_preference__first_lead_days=first_lead,
            reminder_preference__second_lead_days=second_lead,
            reminder_preference__unsubscribed_at__isnull=True,
        )
        if (frequency, first_lead, second_lead) == default_plan:
            on_plan |= Q(reminder_preference__isnull=True)
        held = access.memberships_responsible_for(open_items().filter(rule.condition()))
        giving = Q(pk__in=[])
        for side in CheckInSide:
            to_give = check_ins_to_give(on, start, covered_until(on, frequency), side)
            giving |= Q(pk__in=access.check_in_memberships(to_give, side).values("user_id"))
        people = User.objects.filter(on_plan, is_active=True).filter(
            Q(pk__in=held.values("user_id")) | Q(pk__in=escalating.values("user_id")) | giving
        )
        recipients.update(dict.fromkeys(people.values_list("pk", flat=True), start))
    return dict(sorted(recipients.items()))


def _escalating_partner_members(on: date) -> QuerySet[Membership]:
    """Delivery partner memberships with an escalated item at one of their practices. (The windows
    play no part in escalation: an empty rule of the day is enough.)"""
    rule = DueRule(on, (), escalation_cutoff(on))
    return access.partner_memberships_over(open_items().filter(rule.escalated_condition()))


# --- weekly check-ins ------------------------------------------------------------------------------------


def check_in_days(start: date, until: date) -> list[date]:
    """The days a check-in can fall on (Monday to Friday) from `start` up to, not including, `until`:
    a digest covering them says a check-in is due on whichever is a migration's check-in day."""
    days = (start + timedelta(days=offset) for offset in range((until - start).days))
    return [day for day in days if day.weekday() in Weekday.values]


def check_in_is_due(day: date | None, *, given_week_on: date | None, from_on: date | None) -> bool:
    """Whether one side's check-in on `day` (its check-in day in a digest's days) is still to give:
    the side has given none for that week or later, and check-ins had started to count for the
    migration by then (none is owed for a week before it started). `check_ins_to_give`, in memory."""
    if day is None or from_on is None or day < from_on:
        return False
    return given_week_on is None or given_week_on < day


def check_ins_to_give(on: date, start: date, until: date, side: str) -> QuerySet[PracticeMigration]:
    """Migrations in progress whose `side` hears of its check-in in a digest on `on` covering the
    days from `start` to before `until`: the check-in is due on one of those days and not given for
    that week (check_in_is_due), or it is missed on `on` (models.checkins.missed_condition)."""
    due = Q(pk__in=[])
    for day in check_in_days(start, until):
        on_this_day = Q(practice__delivery_partner__check_in_weekday=day.weekday())
        if day.weekday() == Weekday.MONDAY:  # a practice with no delivery partner checks in on Mondays
            on_this_day |= Q(practice__delivery_partner__isnull=True)
        given = CheckIn.objects.filter(migration=OuterRef("pk"), side=side, week_on__gte=day)
        due |= on_this_day & Q(progress__check_ins_from_on__lte=day) & ~Exists(given)
    return PracticeMigration.objects.filter(status=PracticeMigration.Status.ACTIVE).filter(
        due | checkins.missed_condition(on)
    )


def check_in_day_within(weekday: int, start: date, until: date) -> date | None:
    """The last day from `start` to before `until` that falls on `weekday`, or None."""
    days = [day for day in check_in_days(start, until) if day.weekday() == weekday]
    return days[-1] if days else None


# --- sign-off requests ----------------------------------------------------------------------------------


def is_ready_to_sign(gate: ChecklistItem, open_items: Iterable[ChecklistItem] | None = None) -> bool:
    """An open gate of an unfinished migration whose items it waits for are all closed. Given the
    open items of its migration in hand (`open_items`, the migration page has them), it reads
    nothing more."""
    if not (gate.is_gate and gate.is_open and gate.migration.status == PracticeMigration.Status.ACTIVE):
        return False
    if open_items is None:
        return not gate.open_dependencies().exists()
    return not any(gate.waits_for(item) for item in open_items)


def gates_made_ready(closed: ChecklistItem, open_items: Iterable[ChecklistItem]) -> list[ChecklistItem]:
    """The gates that closing `closed` (now done or not applicable) made ready to sign, from the
    open items of its migration as the change left them, in hand: open gates of an active
    migration that wait for it (`ChecklistItem.waits_for`: named in their `depends_on`, or, for a
    gate naming none, later in the item's phase) and for nothing else still open (is_ready_to_sign)."""
    if closed.status not in (ItemStatus.DONE, ItemStatus.NOT_APPLICABLE):
        return []
    open_items = list(open_items)
    return [
        gate for gate in open_items if gate.is_gate and gate.waits_for(closed) and is_ready_to_sign(gate, open_items)
    ]


def gates_made_ready_by(item_id: int) -> list[int]:
    """gates_made_ready, read from the database: one query, the item and the open items of its
    migration."""
    items = list(
        ChecklistItem.objects.filter(migration_id__in=ChecklistItem.objects.filter(pk=item_id).values("migration_id"))
        .filter(Q(pk=item_id) | Q(status__in=OPEN_STATUSES))
        .select_related("migration")
        .only("key", "kind", "status", "phase", "position", "depends_on", "migration__status")
    )
    closed = next((item for item in items if item.pk == item_id), None)
    if closed is None:
        return []
    return [gate.pk for gate in gates_made_ready(closed, (item for item in items if item.pk != item_id))]


def signers_of(gate: ChecklistItem) -> QuerySet[User]:
    """The people who may sign the gate (access.signers_of), less those who unsubscribed."""
    return access.signers_of(gate).exclude(reminder_preference__unsubscribed_at__isnull=False)
