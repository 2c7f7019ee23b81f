"""The end-of-migration record: everything a migration did, gathered into one plain dataclass that the
record page (templates/migrations_app/record.html) and its PDF (record_pdf.py) both render, so the
two always hold the same facts. Built from the data when asked for, in a fixed number of queries
(RECORD_QUERIES) whatever the size of the checklist or the event log.

Where each fact comes from: the practice, systems and status from the migration; each milestone's
first planned date from its first MILESTONE event (the date it had before the first change; a
migration is created with its dates and no event of them), its final date from the migration; each
item's final status, reason, note and (for a gate) override reason from the item, who closed it
and when from `completed_by`/`completed_at` for a done item and from its last change of status in
the event log otherwise; the upgrades from the UPGRADE events of the migration itself (the ones on
its `template_version`, see checklist_templates/upgrades.py); the rest of the log is counted."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from migrations_app.models import (
    ChecklistItem,
    Event,
    ItemKind,
    ItemStatus,
    Milestone,
    PracticeMigration,
    Retrospective,
    User,
)

# The migration with its related rows, its items (archived ones too), its event log, and its
# retrospectives (with their writers: one query more).
RECORD_QUERIES = 4
# The events that change an item's status, whatever made the change (a person, a sign-off, an upgrade).
STATUS_FIELD = "status"


@dataclass(frozen=True)
class MilestoneLine:
    label: str
    first_planned_on: date | None
    final_on: date | None
    changes: int

    @property
    def moved(self) -> bool:
        return self.first_planned_on != self.final_on


@dataclass(frozen=True)
class ItemLine:
    title: str
    phase: str
    is_gate: bool
    status: str
    status_label: str
    # Who closed it (done, not applicable; for a gate: who signed it) and when; empty while open or
    # when no one did (an item not applicable from the start because of the practice's conditions).
    closed_by: str
    closed_at: datetime | None
    reason: str
    note: str
    override_reason: str
    due_on: date | None
    archived_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in (ItemStatus.TO_DO, ItemStatus.BLOCKED)


@dataclass(frozen=True)
class PhaseSection:
    title: str
    items: list[ItemLine]


@dataclass(frozen=True)
class LogEntry:
    """One event the record lists in full: an upgrade or a change of the migration's status."""

    at: datetime
    by: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class MilestoneChange:
    """One milestone's change of date: when, by whom, from and to which date, and why."""

    at: datetime
    by: str
    milestone: str
    old_on: date | None
    new_on: date | None
    reason: str


@dataclass(frozen=True)
class EventCount:
    label: str
    count: int


@dataclass(frozen=True)
class RetrospectiveLine:
    """One side's retrospective (models/retrospectives.py): who wrote it, when, and what it says."""

    side: str
    written_by: str
    written_at: datetime
    changed_by: str
    changed_at: datetime | None
    # (area, verdict, comment) for each area, as labels.
    areas: list[tuple[str, str, str]]
    lesson: str


@dataclass(frozen=True)
class MigrationRecord:
    practice_name: str
    ods_code: str
    icb: str
    delivery_partner: str
    source_system: str
    source_supplier: str
    target_system: str
    target_supplier: str
    status: str
    status_label: str
    status_reason: str
    started_at: datetime
    started_by: str
    finished_at: datetime | None
    project_manager: str
    checklist_version: str
    generated_at: datetime
    milestones: list[MilestoneLine]
    milestone_changes: list["MilestoneChange"]
    phases: list[PhaseSection]
    gates: list[ItemLine]
    archived: list[ItemLine]
    upgrades: list[LogEntry]
    status_changes: list[LogEntry]
    event_counts: list[EventCount]
    event_total: int
    event_people: int
    first_event_at: datetime | None
    last_event_at: datetime | None
    items_done: int
    items_not_applicable: int
    items_open: int
    # After go-live, each side's retrospective, the practice manager's first (none written yet: empty).
    retrospectives: list[RetrospectiveLine]

    @property
    def is_final(self) -> bool:
        """Completed or cancelled: the record of a migration that has ended, not one under way."""
        return self.status in (PracticeMigration.Status.COMPLETED, PracticeMigration.Status.CANCELLED)

    @property
    def title(self) -> str:
        return "Migration record" if self.is_final else "Migration record (so far)"

    @property
    def items_total(self) -> int:
        return self.items_done + self.items_not_applicable + self.items_open


def build(migration: PracticeMigration, now: datetime | None = None) -> MigrationRecord:
    """The record of `migration` (one the caller may read: access.get_migration) as it stands now,
    in RECORD_QUERIES queries."""
    migration = PracticeMigration.objects.select_related(
        "practice__icb",
        "practice__delivery_partner",
        "source_supplier",
        "target_supplier",
        "template_version__template",
        "created_by",
        "project_manager",
    ).get(pk=migration.pk)
    items = list(
        ChecklistItem.all_objects.filter(migration=migration)
        .select_related("phase", "completed_by")
        .order_by("phase__position", "position", "pk")
    )
    events = list(Event.objects.filter(migration=migration).select_related("actor").order_by("at", "pk"))
    closers = _last_status_changes(events)
    lines = {item.pk: _item_line(item, closers.get(item.pk)) for item in items}
    live = [item for item in items if item.archived_at is None]
    phases: dict[int, PhaseSection] = {}
    for item in live:
        phases.setdefault(item.phase_id, PhaseSection(item.phase.title, [])).items.append(lines[item.pk])
    statuses = Counter(item.status for item in live)
    practice = migration.practice
    return MigrationRecord(
        practice_name=practice.name,
        ods_code=practice.ods_code,
        icb=practice.icb.name,
        delivery_partner=practice.delivery_partner.name if practice.delivery_partner else "",
        source_system=migration.source_supplier.system_name,
        source_supplier=migration.source_supplier.name,
        target_system=migration.target_supplier.system_name,
        target_supplier=migration.target_supplier.name,
        status=migration.status,
        status_label=migration.get_status_display(),
        status_reason=migration.status_reason,
        started_at=migration.created_at,
        started_by=_name(migration.created_by),
        finished_at=migration.finished_at,
        project_manager=_name(migration.project_manager),
        checklist_version=str(migration.template_version),
        generated_at=now or timezone.now(),
        milestones=_milestones(migration, events),
        milestone_changes=[
            MilestoneChange(
                at=event.at,
                by=_name(event.actor) or "The system",
                milestone=event.field_label(),
                old_on=date.fromisoformat(event.old_value) if event.old_value else None,
                new_on=date.fromisoformat(event.new_value) if event.new_value else None,
                reason=event.reason,
            )
            for event in events
            if event.kind == Event.Kind.MILESTONE
        ],
        phases=list(phases.values()),
        gates=[lines[item.pk] for item in live if item.kind == ItemKind.GATE],
        archived=[lines[item.pk] for item in items if item.archived_at is not None],
        upgrades=[
            _entry(event, event.old_value, event.new_value)
            for event in events
            if event.kind == Event.Kind.UPGRADE and event.item_id is None and event.field == "template_version"
        ],
        status_changes=[
            _entry(event, _status_label(event.old_value), _status_label(event.new_value))
            for event in events
            if event.kind == Event.Kind.MIGRATION_STATUS
        ],
        event_counts=_event_counts(events),
        event_total=len(events),
        event_people=len({event.actor_id for event in events if event.actor_id is not None}),
        first_event_at=events[0].at if events else None,
        last_event_at=events[-1].at if events else None,
        items_done=statuses[ItemStatus.DONE],
        items_not_applicable=statuses[ItemStatus.NOT_APPLICABLE],
        items_open=statuses[ItemStatus.TO_DO] + statuses[ItemStatus.BLOCKED],
        retrospectives=_retrospectives(migration),
    )


def _retrospectives(migration: PracticeMigration) -> list[RetrospectiveLine]:
    written = Retrospective.objects.filter(migration=migration).select_related("written_by", "changed_by")
    return [
        RetrospectiveLine(
            side=retrospective.get_side_display(),
            written_by=_name(retrospective.written_by),
            written_at=retrospective.written_at,
            changed_by=_name(retrospective.changed_by),
            changed_at=retrospective.changed_at,
            areas=retrospective.area_notes,
            lesson=retrospective.lesson,
        )
        for retrospective in sorted(written, key=lambda each: list(Retrospective.Side.values).index(each.side))
    ]


def _name(user: User | None) -> str:
    return str(user) if user is not None else ""


def _last_status_changes(events: list[Event]) -> dict[int, Event]:
    """Each item's last change of status (events come in order)."""
    return {event.item_id: event for event in events if event.item_id is not None and event.field == STATUS_FIELD}


def _item_line(item: ChecklistItem, last_change: Event | None) -> ItemLine:
    if item.status == ItemStatus.DONE:
        closed_by, closed_at = _name(item.completed_by), item.completed_at
    elif item.status == ItemStatus.NOT_APPLICABLE and last_change is not None:
        # The change that made it not applicable: a person's, or an upgrade's (no one: the system).
        closed_by, closed_at = _name(last_change.actor), last_change.at
    else:
        closed_by, closed_at = "", None
    return ItemLine(
        title=item.title,
        phase=item.phase.title,
        is_gate=item.kind == ItemKind.GATE,
        status=item.status,
        # A gate done is signed off, as the checklist and the item's page say.
        status_label="Signed off"
        if item.kind == ItemKind.GATE and item.status == ItemStatus.DONE
        else item.get_status_display(),
        closed_by=closed_by,
        closed_at=closed_at,
        reason=item.reason,
        note=item.note,
        override_reason=item.override_reason,
        due_on=item.due_on,
        archived_at=item.archived_at,
    )


def _milestones(migration: PracticeMigration, events: list[Event]) -> list[MilestoneLine]:
    """Each milestone's first planned date and its final one. The first planned date is the one it
    had before its first change (the date the migration was started with) or, for a milestone not
    agreed then, the first date it was given."""
    changes: dict[str, list[Event]] = {}
    for event in events:
        if event.kind == Event.Kind.MILESTONE:
            changes.setdefault(event.field, []).append(event)
    lines = []
    for milestone in Milestone:
        final_on = getattr(migration, milestone.field_name)
        moves = changes.get(milestone.field_name, [])
        first_on = final_on
        if moves:
            first_text = moves[0].old_value or moves[0].new_value
            first_on = date.fromisoformat(first_text) if first_text else None
        lines.append(MilestoneLine(milestone.label, first_on, final_on, len(moves)))
    return lines


def _entry(event: Event, old: str, new: str) -> LogEntry:
    return LogEntry(at=event.at, by=_name(event.actor) or "The system", old=old, new=new, reason=event.reason)


def _status_label(value: str) -> str:
    return PracticeMigration.Status(value).label if value in PracticeMigration.Status.values else value


def _event_counts(events: list[Event]) -> list[EventCount]:
    """How many events of each kind, in the order of Event.Kind."""
    counts = Counter(event.kind for event in events)
    return [EventCount(kind.label, counts[kind]) for kind in Event.Kind if counts[kind]]
