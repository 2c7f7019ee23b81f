"""What one reminder digest says: its sections (overdue, coming up, escalated, and the weekly
check-in due or missed) by migration, read with the rule of due.py. No side effects.

`build_digests(users, on, covers_from)` reads a batch of digests at send time, in three queries
whatever the batch's size, from the day each one's digest covers from (stored on the claimed
Delivery by the sweep, see due.due_digests).
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import OuterRef, Q, Subquery

from migrations_app import access, working_days
from migrations_app.models import CheckIn, ChecklistItem, PracticeMigration, Role, User, checkins
from migrations_app.models.choices import CheckInSide
from migrations_app.reminders import due
from migrations_app.reminders.due import DueRule, Reason


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
class CheckInReminder:
    """A weekly check-in the person gives (`side`), due on `day` or missed (no check-in since
    `last_on`, or ever)."""

    side: str
    missed: bool
    day: date | None = None
    last_on: date | None = None
    # Set when the e-mail is composed: the check-ins page (absolute), and what it says.
    url: str = ""
    title: str = ""
    when: str = ""


@dataclass
class MigrationSection:
    migration: PracticeMigration
    overdue: list[DigestItem] = field(default_factory=list)
    due_soon: list[DigestItem] = field(default_factory=list)
    escalated: list[DigestItem] = field(default_factory=list)
    check_ins: list[CheckInReminder] = field(default_factory=list)


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
    def check_in_due_count(self) -> int:
        return sum(not entry.missed for section in self.sections for entry in section.check_ins)

    @property
    def check_in_missed_count(self) -> int:
        return sum(entry.missed for section in self.sections for entry in section.check_ins)

    @property
    def item_count(self) -> int:
        return self.overdue_count + self.due_soon_count + self.escalated_count


def build_digests(
    users: list[User], on: date, covers_from: Mapping[int, date | None] | None = None
) -> dict[int, Digest]:
    """The digests of `users` on `on`, read now, keyed by user id. A digest is empty when its
    person gets none that day (inactive, unsubscribed, not their digest day) or has nothing to
    hear about. Three queries for any number of people - their memberships, the items of all of
    them, then the migrations whose weekly check-in they give - with `users` fetched with
    select_related("reminder_preference").

    `covers_from` holds each person's window start as claimed (Delivery.covers_from): a claimed
    digest is sent with the window its claim decided on, not one worked out again after the
    day's rows exist. For anyone not in it (a row claimed before the field existed, a preview)
    the start is worked out here, by the same rule, at the cost of one more query.

    Only the columns a digest shows are read: an item's note and reasons never reach an e-mail."""
    claimed = dict(covers_from or {})
    previous = None
    if any(claimed.get(user.pk) is None for user in users):
        previous = due.previous_digest_day(on)
    cutoff = due.escalation_cutoff(on)
    built: dict[int, Digest] = {}
    rules: dict[int, DueRule] = {}
    spans: dict[int, tuple[date, date]] = {}  # the days each digest covers (check-ins due on them)
    for user in users:
        preference = due.preference_for(user)
        until = due.covered_until(on, preference.frequency)
        start = claimed.get(user.pk) or due.window_start(on, preference.frequency, previous)
        built[user.pk] = Digest(recipient=user, on=on, until=until, lead_days=preference.lead_days, covers_from=start)
        if start and user.is_active and not preference.is_unsubscribed and preference.frequency != due.Frequency.NONE:
            rules[user.pk] = DueRule(on, due.lead_windows(start, until, preference.lead_days), cutoff)
            spans[user.pk] = (start, until)
    if not rules:
        return built
    responsibilities = access.Relations.of_users(rules)
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

    # One query for everyone: the items that are any of theirs (access.Relations: owned, or unowned with
    # their role) within any of the windows in use, plus escalations; the exact rule per person is
    # applied in memory (DueRule.reason), to the people the index above says may be concerned.
    everyone = access.Relations.combined(responsibilities.values())
    rule = DueRule.combined(on, rules.values())
    wanted = everyone.own_items() & rule.condition()
    if everyone.partner_ids:
        wanted |= everyone.partner_items() & rule.escalated_condition()
    items = (
        due.open_items()
        .filter(wanted)
        .select_related("migration__practice", "owner")
        .only(*DIGEST_FIELDS)
        .order_by("migration__practice__name", "migration_id", "due_on", "phase_id", "position")
    )
    sections: dict[int, dict[int, MigrationSection]] = defaultdict(dict)
    for item in items:
        practice = item.migration.practice
        if item.owner_id is not None:
            # An owned item is its owner's alone (if they are among these people and still relate to it).
            concerned = {item.owner_id} & responsibilities.keys()
        else:
            concerned = {
                user_id for user_id, role in practice_holders.get(practice.pk, ()) if role == item.responsible_role
            }
            if item.responsible_role == Role.ICB_LEAD:
                concerned.update(icb_holders.get(practice.icb_id, ()))
        concerned.update(partner_holders.get(practice.delivery_partner_id, ()))
        for user_id in concerned:
            _place(item, sections[user_id], responsibilities[user_id], rules[user_id])
    _add_check_ins(sections, on, spans, practice_holders, partner_holders)
    for user_id, by_migration in sections.items():
        # In the items' order (by practice), then the practices with only a check-in to hear of.
        built[user_id].sections = [
            section
            for section in by_migration.values()
            if section.overdue or section.due_soon or section.escalated or section.check_ins
        ]
    return built


def _add_check_ins(
    sections: dict[int, dict[int, MigrationSection]],
    on: date,
    spans: dict[int, tuple[date, date]],
    practice_holders: dict[int, list[tuple[int, str]]],
    partner_holders: dict[int, list[int]],
) -> None:
    """Put in each person's digest the weekly check-ins they give (access.GIVES_CHECK_IN) that are
    due on a day their digest covers and not given yet, or missed (due.check_ins_to_give, in
    memory). One query: the migrations in progress of the practices they give check-ins for, each
    with the week of each side's latest check-in; none when nobody here gives one."""
    practice_ids = {
        practice_id
        for practice_id, holders in practice_holders.items()
        if any(access.gives_check_in(role, CheckInSide.PRACTICE) for _, role in holders)
    }
    if not practice_ids and not partner_holders:
        return
    latest = {
        f"{side}_week": Subquery(
            CheckIn.objects.filter(migration=OuterRef("pk"), side=side).order_by("-week_on").values("week_on")[:1]
        )
        for side in CheckInSide.values
    }
    migrations = (
        PracticeMigration.objects.filter(status=PracticeMigration.Status.ACTIVE)
        .filter(Q(practice_id__in=sorted(practice_ids)) | Q(practice__delivery_partner_id__in=sorted(partner_holders)))
        .select_related("practice__delivery_partner", "progress")
        .annotate(**latest)
    )
    for migration in migrations:
        progress = getattr(migration, "progress", None)
        if progress is None:
            continue
        practice = migration.practice
        missed = checkins.is_missed(
            status=migration.status,
            last_on=progress.last_check_in_on,
            from_on=progress.check_ins_from_on,
            today=on,
        )
        partner_members = partner_holders.get(practice.delivery_partner_id, ())
        givers = [
            (user_id, CheckInSide.PRACTICE)
            for user_id, role in practice_holders.get(practice.pk, ())
            if access.gives_check_in(role, CheckInSide.PRACTICE)
        ] + [(user_id, CheckInSide.DELIVERY_PARTNER) for user_id in partner_members]
        for user_id, side in givers:
            if user_id not in spans:
                continue
            day = due.check_in_day_within(checkins.weekday_of(practice), *spans[user_id])
            is_due = due.check_in_is_due(
                day, given_week_on=getattr(migration, f"{side}_week"), from_on=progress.check_ins_from_on
            )
            if missed or is_due:
                by_migration = sections[user_id]
                if migration.pk not in by_migration:
                    by_migration[migration.pk] = MigrationSection(migration)
                by_migration[migration.pk].check_ins.append(
                    CheckInReminder(side, missed, day=day, last_on=progress.last_check_in_on)
                )


# What a digest shows of an item, its owner, its migration and practice (and the keys that join them).
DIGEST_FIELDS = (
    "title",
    "responsible_role",
    "owner__full_name",
    "owner__email",
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


def _place(
    item: ChecklistItem, sections: dict[int, MigrationSection], relations: access.Relations, rule: DueRule
) -> None:
    """Put `item` in the person's digest, in the section DueRule.reason says, or nowhere."""
    on = rule.on
    reason = rule.reason(
        item,
        holds_role=relations.holds(item),
        partner_of_practice=relations.supports_practice_of(item),
    )
    if reason == Reason.OVERDUE:
        _section(sections, item).overdue.append(DigestItem(item, (on - item.due_on).days))
    elif reason == Reason.DUE_SOON:
        _section(sections, item).due_soon.append(DigestItem(item, (item.due_on - on).days))
    elif reason == Reason.ESCALATED:
        _section(sections, item).escalated.append(
            DigestItem(item, (on - item.due_on).days, working_days.working_days_between(item.due_on, on))
        )


def _section(sections: dict[int, MigrationSection], item: ChecklistItem) -> MigrationSection:
    if item.migration_id not in sections:
        sections[item.migration_id] = MigrationSection(item.migration)
    return sections[item.migration_id]
