"""What a reminder digest says, and who gets one: the rules of "due", with no side effects.

A person hears about the open items of unfinished migrations for which they hold the responsible
role (a practice role at that practice, the delivery partner's project manager for its practices,
the ICB lead for its ICB's):

- every item that is **overdue** (due before the digest's day);
- every item as it comes within each of their **lead times** (by default 7 days and 1 day before
  it is due). A digest covers the days until the next one - the weekend and any bank holiday after
  a Friday digest, the whole week after a weekly one - so an item whose "7 days before" falls on a
  Saturday is announced on the Friday; and it starts where the last digest sent stopped, so a
  working day on which no sweep ran at all is caught up by the next digest (up to CATCH_UP_DAYS
  back): each lead time is announced once, never skipped (see window_start);
- and, for a delivery partner's project manager, every other role's item of their practices that
  is **5 working days or more overdue** (escalation).

Nothing to say, no digest. `due_digests(on)` picks the recipients and the day each one's digest
covers from, with a few queries (one per distinct preference); that day is stored on the claimed
Delivery, and `build_digests(users, on, covers_from)` reads a batch of digests again at send time
from it, in two queries whatever the batch's size. Both apply the same rule.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Max, Q, QuerySet

from migrations_app import access, working_days
from migrations_app.models import (
    ChecklistItem,
    Delivery,
    Membership,
    PracticeMigration,
    ReminderPreference,
    Role,
    User,
)
from migrations_app.models.reminders import DEFAULT_LEAD_DAYS

# An item this many working days overdue is also shown to the delivery partner's project manager.
ESCALATION_WORKING_DAYS = 5
Frequency = ReminderPreference.Frequency


# --- when digests go out and what each covers ---------------------------------------------------------

# How far back a digest catches up on days no digest went out: the first after a long outage
# announces at most this many days' worth of lead-time reminders, not weeks of them.
CATCH_UP_DAYS = 10


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

    Why nothing is announced twice (for a given due date and preference). The days with digest
    rows, d1 < d2 < ..., have windows [..., covered_until(d1)), [covered_until(d1),
    covered_until(d2)), ...: they meet and never overlap, so each lead-time day falls in one
    digest's window, or (beyond the bound) in none; and the window is stored on the claimed row, so
    a second sweep, an overlapping one or a late send cannot move it. Missed days are judged by
    Delivery rows alone, so a day on which a sweep ran but nobody had anything to hear about (no
    rows) counts as missed, and the next digest covers its lead-time days again. That repeats
    nothing: every e-mail is a row claimed before it is sent, so no row means nobody was told
    anything that day, and the window still begins at covered_until(previous), after the last
    digest that went out. The same holds for one person with no row on a day others had one: they
    heard nothing that day (nothing of theirs was due), and their next window starts after it, as
    everyone's does. A row with nothing left to say at send time, or a failed one, counts as sent:
    "Send again" in the admin resends that day's digest, with its own window."""
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


def preference_for(user: User) -> ReminderPreference:
    """The user's saved preference, or the defaults (unsaved)."""
    try:
        return user.reminder_preference
    except ReminderPreference.DoesNotExist:
        return ReminderPreference(user=user)


def lead_windows(start: date, until: date, lead_days: tuple[int, ...]) -> list[tuple[date, date]]:
    """For each lead time, the due dates (first, last) whose reminder day falls from `start` to the
    day before `until`."""
    return [(start + timedelta(days=lead), until + timedelta(days=lead - 1)) for lead in lead_days]


def _due_condition(on: date, start: date, until: date, lead_days: tuple[int, ...]) -> Q:
    """Overdue, or within one of the lead windows: the same rule as `_classify`, for the database."""
    condition = Q(due_on__lt=on)
    for first, last in lead_windows(start, until, lead_days):
        condition |= Q(due_on__gte=first, due_on__lte=last)
    return condition


def _open_items() -> QuerySet[ChecklistItem]:
    return ChecklistItem.objects.open().filter(migration__status=PracticeMigration.Status.ACTIVE, due_on__isnull=False)


def escalation_cutoff(on: date) -> date:
    """Items due on this day or before are 5 working days or more overdue on `on`."""
    return working_days.working_days_before(on, ESCALATION_WORKING_DAYS)


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
        due = _open_items().filter(_due_condition(on, start, covered_until(on, frequency), lead_days))
        on_plan = Q(
            reminder_preference__frequency=frequency,
            reminder_preference__first_lead_days=first_lead,
            reminder_preference__second_lead_days=second_lead,
            reminder_preference__unsubscribed_at__isnull=True,
        )
        if (frequency, first_lead, second_lead) == default_plan:
            on_plan |= Q(reminder_preference__isnull=True)
        people = User.objects.filter(on_plan, is_active=True).filter(
            Q(pk__in=access.memberships_responsible_for(due).values("user_id")) | Q(pk__in=escalating.values("user_id"))
        )
        recipients.update(dict.fromkeys(people.values_list("pk", flat=True), start))
    return dict(sorted(recipients.items()))


def _escalating_partner_members(on: date) -> QuerySet[Membership]:
    """Delivery partner memberships with an escalated item at one of their practices."""
    escalated = _open_items().exclude(responsible_role=Role.DELIVERY_PARTNER).filter(due_on__lte=escalation_cutoff(on))
    return access.partner_memberships_over(escalated)


# --- what one digest says -----------------------------------------------------------------------------


@dataclass
class DigestItem:
    item: ChecklistItem
    # Days overdue (overdue, escalated) or days until due (due soon).
    days: int
    # For an escalated item: working days overdue.
    working_days_overdue: int = 0
    # Set when the e-mail is composed: the item's page (absolute), and when it is due, in words.
    url: str = ""
    when: str = ""


@dataclass
class MigrationSection:
    migration: PracticeMigration
    overdue: list[DigestItem] = field(default_factory=list)
    due_soon: list[DigestItem] = field(default_factory=list)
    escalated: list[DigestItem] = field(default_factory=list)


@dataclass
class Digest:
    recipient: User
    on: date
    until: date
    lead_days: tuple[int, ...]
    sections: list[MigrationSection] = field(default_factory=list)
    # The first day whose lead-time reminders it announces: `on`, or earlier after a missed day.
    covers_from: date | None = None

    @property
    def missed_days(self) -> list[date]:
        """The working days before `on` that this digest catches up on (no digest went out)."""
        if self.covers_from is None:
            return []
        days = (self.covers_from + timedelta(days=offset) for offset in range((self.on - self.covers_from).days))
        return [day for day in days if working_days.is_working_day(day)]

    @property
    def is_empty(self) -> bool:
        return not self.sections

    @property
    def overdue_count(self) -> int:
        return sum(len(section.overdue) for section in self.sections)

    @property
    def due_soon_count(self) -> int:
        return sum(len(section.due_soon) for section in self.sections)

    @property
    def escalated_count(self) -> int:
        return sum(len(section.escalated) for section in self.sections)

    @property
    def item_count(self) -> int:
        return self.overdue_count + self.due_soon_count + self.escalated_count


def build_digest(user: User, on: date) -> Digest:
    """The digest `user` gets on `on`, read now (see build_digests)."""
    return build_digests([user], on)[user.pk]


def build_digests(
    users: list[User], on: date, covers_from: Mapping[int, date | None] | None = None
) -> dict[int, Digest]:
    """The digests of `users` on `on`, read now, keyed by user id. A digest is empty when its
    person gets none that day (inactive, unsubscribed, not their digest day) or has nothing to
    hear about. Two queries for any number of people - their memberships, then the items of all
    of them - with `users` fetched with select_related("reminder_preference").

    `covers_from` holds each person's window start as claimed (Delivery.covers_from): a claimed
    digest is sent with the window its claim decided on, not one worked out again after the
    day's rows exist. For anyone not in it (a row claimed before the field existed, a preview)
    the start is worked out here, by the same rule, at the cost of one more query.

    Only the columns a digest shows are read: an item's note and reasons never reach an e-mail."""
    claimed = dict(covers_from or {})
    previous = None
    if any(claimed.get(user.pk) is None for user in users):
        previous = previous_digest_day(on)
    built: dict[int, Digest] = {}
    windows: dict[int, list[tuple[date, date]]] = {}
    for user in users:
        preference = preference_for(user)
        until = covered_until(on, preference.frequency)
        start = claimed.get(user.pk) or window_start(on, preference.frequency, previous)
        built[user.pk] = Digest(recipient=user, on=on, until=until, lead_days=preference.lead_days, covers_from=start)
        if start and user.is_active and not preference.is_unsubscribed and preference.frequency != Frequency.NONE:
            windows[user.pk] = lead_windows(start, until, preference.lead_days)
    if not windows:
        return built
    responsibilities = access.Relations.of_users(windows)
    cutoff = escalation_cutoff(on)
    practice_holders: dict[int, list[tuple[int, str]]] = defaultdict(list)
    partner_holders: dict[int, list[int]] = defaultdict(list)
    icb_holders: dict[int, list[int]] = defaultdict(list)
    for user_id, held in responsibilities.items():
        for practice_id, role in held.practice_roles:
            practice_holders[practice_id].append((user_id, role))
        for partner_id in held.partner_ids:
            partner_holders[partner_id].append(user_id)
        for icb_id in held.icb_ids:
            icb_holders[icb_id].append(user_id)

    # One query for everyone: the items any of them holds the role for (access.Relations) within any
    # of the windows in use, plus escalations; the exact rule per person is applied in memory
    # (_classify), to the people the index above says may be concerned.
    due = Q(due_on__lt=on)
    for first, last in {window for user_windows in windows.values() for window in user_windows}:
        due |= Q(due_on__gte=first, due_on__lte=last)
    everyone = access.Relations.combined(responsibilities.values())
    wanted = everyone.own_items() & due
    if everyone.partner_ids:
        wanted |= Q(migration__practice__delivery_partner_id__in=everyone.partner_ids, due_on__lte=cutoff) & ~Q(
            responsible_role=Role.DELIVERY_PARTNER
        )
    items = (
        _open_items()
        .filter(wanted)
        .select_related("migration__practice")
        .only(*DIGEST_FIELDS)
        .order_by("migration__practice__name", "migration_id", "due_on", "phase_id", "position")
    )
    sections: dict[int, dict[int, MigrationSection]] = defaultdict(dict)
    for item in items:
        practice = item.migration.practice
        concerned = {
            user_id for user_id, role in practice_holders.get(practice.pk, ()) if role == item.responsible_role
        }
        concerned.update(partner_holders.get(practice.delivery_partner_id, ()))
        if item.responsible_role == Role.ICB_LEAD:
            concerned.update(icb_holders.get(practice.icb_id, ()))
        for user_id in concerned:
            _classify(item, sections[user_id], responsibilities[user_id], on, windows[user_id], cutoff)
    for user_id, by_migration in sections.items():
        built[user_id].sections = [
            section for section in by_migration.values() if section.overdue or section.due_soon or section.escalated
        ]
    return built


# What a digest shows of an item, its migration and practice (and the keys that join them).
DIGEST_FIELDS = (
    "title",
    "responsible_role",
    "kind",
    "due_on",
    "status",
    "position",
    "phase_id",
    "migration__status",
    "migration__practice__name",
    "migration__practice__ods_code",
    "migration__practice__icb_id",
    "migration__practice__delivery_partner_id",
)


def _classify(item, sections, responsibilities, on, windows, cutoff) -> None:
    """Put `item` in the person's digest: overdue or coming up if they hold its role, escalated if
    they are its practice's delivery partner and it is 5 working days overdue, or nowhere."""
    if responsibilities.holds(item):
        if item.due_on < on:
            _section(sections, item).overdue.append(DigestItem(item, (on - item.due_on).days))
        elif any(first <= item.due_on <= last for first, last in windows):
            _section(sections, item).due_soon.append(DigestItem(item, (item.due_on - on).days))
    elif item.migration.practice.delivery_partner_id in responsibilities.partner_ids and item.due_on <= cutoff:
        _section(sections, item).escalated.append(
            DigestItem(item, (on - item.due_on).days, working_days.working_days_between(item.due_on, on))
        )


def _section(sections: dict[int, MigrationSection], item: ChecklistItem) -> MigrationSection:
    if item.migration_id not in sections:
        sections[item.migration_id] = MigrationSection(item.migration)
    return sections[item.migration_id]
