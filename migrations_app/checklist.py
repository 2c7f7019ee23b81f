"""The migration page's view of a checklist: phases, question groups, progress and the
"This week" panel, computed in memory from one query over the items so the page costs the
same number of queries whatever the checklist's size. Progress is counted by the one rule,
models.checklist_items.Progress, that ChecklistProgress keeps for the other pages."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby

from django.conf import settings

from migrations_app import scheduling
from migrations_app.access import Access
from migrations_app.models import ChecklistItem, MigrationPhase, Milestone, PracticeMigration
from migrations_app.models.checklist_items import Progress

DUE_SOON_DAYS = 7


@dataclass
class Group:
    title: str
    items: list[ChecklistItem]


@dataclass
class Phase:
    phase: MigrationPhase
    groups: list[Group]
    progress: Progress
    open_count: int


@dataclass
class MilestoneRow:
    label: str
    on: date | None
    # The end of old system access while it is not agreed: when it is expected, and how that reads.
    expected_on: date | None = None
    expected: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Checklist:
    migration: PracticeMigration
    today: date
    phases: list[Phase] = field(default_factory=list)
    progress: Progress = field(default_factory=Progress)
    overdue: list[ChecklistItem] = field(default_factory=list)
    due_soon: list[ChecklistItem] = field(default_factory=list)
    # Items a checklist upgrade dropped after work on them: shown apart, with their history.
    archived: list[ChecklistItem] = field(default_factory=list)
    # The "migration complete" gate, whose signature completes the migration (the status banner
    # offers to reopen it on a completed migration).
    completion_gate: ChecklistItem | None = None

    @property
    def milestones(self) -> list["MilestoneRow"]:
        """Each milestone with its date, the expected end of old system access while it is not
        agreed, and what to check about it (scheduling.milestone_warnings)."""
        dates = self.migration.milestone_dates()
        warnings: dict[str, list[str]] = {}
        for warning in scheduling.milestone_warnings(dates):
            warnings.setdefault(warning.milestone, []).append(warning.message)
        expected_end = scheduling.expected_old_system_access_end(dates)
        rows = []
        for milestone in Milestone:
            row = MilestoneRow(milestone.label, dates[milestone.value], warnings=warnings.get(milestone, []))
            if milestone == Milestone.OLD_SYSTEM_ACCESS_END and expected_end is not None:
                row.expected_on = expected_end
                row.expected = f"expected: {settings.OLD_SYSTEM_ACCESS_DAYS} days after go-live, not agreed yet"
            rows.append(row)
        return rows

    @property
    def current_phase(self) -> Phase | None:
        """The first phase with open items: where the practice's attention belongs."""
        return next((phase for phase in self.phases if phase.open_count), None)

    def phase_of(self, item: ChecklistItem) -> Phase:
        return next(phase for phase in self.phases if phase.phase.pk == item.phase_id)


def due_state(item: ChecklistItem, today: date) -> str:
    """'overdue', 'due_soon' or '' for an item on `today`."""
    if not item.is_open or item.due_on is None:
        return ""
    if item.due_on < today:
        return "overdue"
    if item.due_on <= today + timedelta(days=DUE_SOON_DAYS):
        return "due_soon"
    return ""


def build(migration: PracticeMigration, today: date, access: Access) -> Checklist:
    checklist = Checklist(migration=migration, today=today)
    # Archived items come in the same query (the page's query count does not grow) and are set apart.
    items = list(
        ChecklistItem.all_objects.filter(migration=migration)
        .select_related("completed_by", "owner")
        .order_by("phase__position", "position")
    )
    phases = list(migration.phases.order_by("position"))
    by_phase = {phase.pk: [] for phase in phases}
    for item in items:
        item.migration = migration
        if item.archived_at is not None:
            checklist.archived.append(item)
            continue
        # Nothing of a migration on hold or cancelled is due (PracticeMigration.is_paused).
        item.due_state = "" if migration.is_paused else due_state(item, today)
        item.can_sign = access.can_sign(item)
        # Which rows offer actions: the ICB lead works only on the ICB's items and reads the rest.
        item.can_work_on = access.can_work_on(item)
        # The viewer's own items (access.Relations: owned by them, or unowned with their role) are
        # marked in "This week".
        item.is_yours = access.holds(item)
        if item.is_completion_gate:
            item.can_reopen = access.can_reopen(item)
            checklist.completion_gate = item
        by_phase[item.phase_id].append(item)
        checklist.progress.add(item.status)
        if item.due_state == "overdue":
            checklist.overdue.append(item)
        elif item.due_state == "due_soon":
            checklist.due_soon.append(item)
    for phase in phases:
        phase_items = by_phase[phase.pk]
        groups = [Group(title, list(members)) for title, members in groupby(phase_items, key=lambda item: item.group)]
        progress = Progress.of(item.status for item in phase_items)
        checklist.phases.append(
            Phase(phase, groups, progress, open_count=sum(1 for item in phase_items if item.is_open))
        )
    checklist.overdue.sort(key=lambda item: item.due_on)
    checklist.due_soon.sort(key=lambda item: item.due_on)
    return checklist


def go_live_countdown(migration: PracticeMigration, today: date) -> str:
    if migration.go_live_on is None:
        return "Go-live date not agreed"
    days = (migration.go_live_on - today).days
    if days > 1:
        return f"Go-live in {days} days"
    if days == 1:
        return "Go-live tomorrow"
    if days == 0:
        return "Go-live today"
    if days == -1:
        return "Went live yesterday"
    return f"Went live {-days} days ago"
