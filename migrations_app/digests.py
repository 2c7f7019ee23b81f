"""What a reminder digest says, and who gets one: the rules of "due", with no side effects.

A person hears about the open items of unfinished migrations for which they hold the responsible
role (a practice role at that practice, the delivery partner's project manager for its practices,
the ICB lead for its ICB's):

- every item that is **overdue** (due before the digest's day);
- every item as it comes within each of their **lead times** (by default 7 days and 1 day before
  it is due). A digest covers the days until the next one - the weekend and any bank holiday after
  a Friday digest, the whole week after a weekly one - so an item whose "7 days before" falls on a
  Saturday is announced on the Friday: each lead time is announced once, never skipped;
- and, for a delivery partner's project manager, every other role's item of their practices that
  is **5 working days or more overdue** (escalation).

Nothing to say, no digest. `due_digests(on)` picks the recipients with a few queries (one per
distinct preference); `build_digests(users, on)` reads a batch of digests again at send time, in
two queries whatever the batch's size. Both apply the same rule.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet

from migrations_app import working_days
from migrations_app.models import (
    ChecklistItem,
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


def is_digest_day(on: date, frequency: str) -> bool:
    """Daily digests go out on working days; weekly ones on the week's first working day (Monday,
    or Tuesday after a bank holiday Monday)."""
    if frequency == Frequency.DAILY:
        return working_days.is_working_day(on)
    if frequency == Frequency.WEEKLY:
        return working_days.first_working_day_of_week(on) == on
    return False


def covered_until(on: date, frequency: str) -> date:
    """The day of the next digest after `on`: a digest covers the days from `on` up to, not
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


def lead_windows(on: date, until: date, lead_days: tuple[int, ...]) -> list[tuple[date, date]]:
    """For each lead time, the due dates (first, last) whose reminder day falls from `on` to the
    day before `until`."""
    return [(on + timedelta(days=lead), until + timedelta(days=lead - 1)) for lead in lead_days]


def _due_condition(on: date, until: date, lead_days: tuple[int, ...]) -> Q:
    """Overdue, or within one of the lead windows: the same rule as `_classify`, for the database."""
    condition = Q(due_on__lt=on)
    for first, last in lead_windows(on, until, lead_days):
        condition |= Q(due_on__gte=first, due_on__lte=last)
    return condition


def _open_items() -> QuerySet[ChecklistItem]:
    return ChecklistItem.objects.open().filter(migration__status=PracticeMigration.Status.ACTIVE, due_on__isnull=False)


def escalation_cutoff(on: date) -> date:
    """Items due on this day or before are 5 working days or more overdue on `on`."""
    return working_days.working_days_before(on, ESCALATION_WORKING_DAYS)


# --- who gets a digest --------------------------------------------------------------------------------


def due_digests(on: date) -> list[int]:
    """Ids of the active, subscribed people who get a digest on `on` and have something in it.

    People are grouped by their plan (frequency and lead times): one query lists the plans in use,
    then one query per plan finds its people with at least one item to mention. The number of
    queries grows with the number of distinct preferences, never with the number of items."""
    frequencies = [frequency for frequency in (Frequency.DAILY, Frequency.WEEKLY) if is_digest_day(on, frequency)]
    if not frequencies:
        return []
    plans = set(
        ReminderPreference.objects.filter(frequency__in=frequencies, unsubscribed_at__isnull=True)
        .values_list("frequency", "first_lead_days", "second_lead_days")
        .distinct()
    )
    default_plan = (Frequency.DAILY.value, *DEFAULT_LEAD_DAYS)
    if Frequency.DAILY in frequencies:
        plans.add(default_plan)
    escalating = _escalating_partner_members(on)
    recipients: set[int] = set()
    for frequency, first_lead, second_lead in sorted(plans):
        lead_days = tuple(sorted({first_lead, second_lead}, reverse=True))
        due = _open_items().filter(_due_condition(on, covered_until(on, frequency), lead_days))
        on_plan = Q(
            reminder_preference__frequency=frequency,
            reminder_preference__first_lead_days=first_lead,
            reminder_preference__second_lead_days=second_lead,
            reminder_preference__unsubscribed_at__isnull=True,
        )
        if (frequency, first_lead, second_lead) == default_plan:
            on_plan |= Q(reminder_preference__isnull=True)
        people = User.objects.filter(on_plan, is_active=True).filter(
            Q(pk__in=_responsible_members(due).values("user_id")) | Q(pk__in=escalating.values("user_id"))
        )
        recipients.update(people.values_list("pk", flat=True))
    return sorted(recipients)


def _responsible_members(items: QuerySet[ChecklistItem]) -> QuerySet[Membership]:
    """Memberships whose role is responsible for at least one of `items`."""
    return Membership.objects.filter(
        (
            Q(practice__isnull=False)
            & Exists(items.filter(responsible_role=OuterRef("role"), migration__practice_id=OuterRef("practice_id")))
        )
        | (
            Q(role=Role.DELIVERY_PARTNER)
            & Exists(
                items.filter(
                    responsible_role=Role.DELIVERY_PARTNER,
                    migration__practice__delivery_partner_id=OuterRef("delivery_partner_id"),
                )
            )
        )
        | (
            Q(role=Role.ICB_LEAD)
            & Exists(items.filter(responsible_role=Role.ICB_LEAD, migration__practice__icb_id=OuterRef("icb_id")))
        )
    )


def _escalating_partner_members(on: date) -> QuerySet[Membership]:
    """Delivery partner memberships with an escalated item at one of their practices."""
    escalated = (
        _open_items()
        .exclude(responsible_role=Role.DELIVERY_PARTNER)
        .filter(
            due_on__lte=escalation_cutoff(on), migration__practice__delivery_partner_id=OuterRef("delivery_partner_id")
        )
    )
    return Membership.objects.filter(role=Role.DELIVERY_PARTNER).filter(Exists(escalated))


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


@dataclass(frozen=True)
class Responsibilities:
    """The roles a person holds, as sets to test items against in memory."""

    practice_roles: frozenset[tuple[int, str]] = frozenset()  # (practice id, role)
    partner_ids: frozenset[int] = frozenset()
    icb_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, user: User) -> "Responsibilities":
        return cls.of_users([user.pk]).get(user.pk, cls())

    @classmethod
    def of_users(cls, user_ids) -> dict[int, "Responsibilities"]:
        """Everyone's responsibilities in one query."""
        found: dict[int, tuple[set, set, set]] = defaultdict(lambda: (set(), set(), set()))
        for user_id, role, practice_id, partner_id, icb_id in Membership.objects.filter(
            user_id__in=list(user_ids)
        ).values_list("user_id", "role", "practice_id", "delivery_partner_id", "icb_id"):
            practice_roles, partner_ids, icb_ids = found[user_id]
            if practice_id:
                practice_roles.add((practice_id, role))
            elif partner_id:
                partner_ids.add(partner_id)
            elif icb_id:
                icb_ids.add(icb_id)
        return {user_id: cls(*(frozenset(part) for part in parts)) for user_id, parts in found.items()}

    def own_items(self) -> Q:
        """Items whose responsible role this person holds at that item's practice."""
        condition = Q(pk__in=[])
        by_role: dict[str, list[int]] = defaultdict(list)
        for practice_id, role in self.practice_roles:
            by_role[role].append(practice_id)
        for role, practice_ids in by_role.items():
            condition |= Q(responsible_role=role, migration__practice_id__in=practice_ids)
        if self.partner_ids:
            condition |= Q(
                responsible_role=Role.DELIVERY_PARTNER, migration__practice__delivery_partner_id__in=self.partner_ids
            )
        if self.icb_ids:
            condition |= Q(responsible_role=Role.ICB_LEAD, migration__practice__icb_id__in=self.icb_ids)
        return condition

    def holds(self, item: ChecklistItem) -> bool:
        practice = item.migration.practice
        role = item.responsible_role
        return (
            (practice.pk, role) in self.practice_roles
            or (role == Role.DELIVERY_PARTNER and practice.delivery_partner_id in self.partner_ids)
            or (role == Role.ICB_LEAD and practice.icb_id in self.icb_ids)
        )


def build_digest(user: User, on: date) -> Digest:
    """The digest `user` gets on `on`, read now (see build_digests)."""
    return build_digests([user], on)[user.pk]


def build_digests(users: list[User], on: date) -> dict[int, Digest]:
    """The digests of `users` on `on`, read now, keyed by user id. A digest is empty when its
    person gets none that day (inactive, unsubscribed, not their digest day) or has nothing to
    hear about. Two queries for any number of people - their memberships, then the items of all
    of them - with `users` fetched with select_related("reminder_preference").

    Only the columns a digest shows are read: an item's note and reasons never reach an e-mail."""
    built: dict[int, Digest] = {}
    windows: dict[int, list[tuple[date, date]]] = {}
    for user in users:
        preference = preference_for(user)
        until = covered_until(on, preference.frequency)
        built[user.pk] = Digest(recipient=user, on=on, until=until, lead_days=preference.lead_days)
        if user.is_active and not preference.is_unsubscribed and is_digest_day(on, preference.frequency):
            windows[user.pk] = lead_windows(on, until, preference.lead_days)
    if not windows:
        return built
    responsibilities = Responsibilities.of_users(windows)
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

    # One query for everyone: each person's own items within any of the windows in use, plus
    # escalations; the exact rule per person is applied in memory (_classify).
    due = Q(due_on__lt=on)
    for first, last in {window for user_windows in windows.values() for window in user_windows}:
        due |= Q(due_on__gte=first, due_on__lte=last)
    wanted = Q(pk__in=[])
    if practice_holders:
        roles = {role for holders in practice_holders.values() for _, role in holders}
        wanted |= Q(migration__practice_id__in=list(practice_holders), responsible_role__in=roles) & due
    if partner_holders:
        partners = list(partner_holders)
        wanted |= Q(responsible_role=Role.DELIVERY_PARTNER, migration__practice__delivery_partner_id__in=partners) & due
        wanted |= Q(migration__practice__delivery_partner_id__in=partners, due_on__lte=cutoff) & ~Q(
            responsible_role=Role.DELIVERY_PARTNER
        )
    if icb_holders:
        wanted |= Q(responsible_role=Role.ICB_LEAD, migration__practice__icb_id__in=list(icb_holders)) & due
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
