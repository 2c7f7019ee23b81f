"""The migration page's view of a checklist: phases, question groups, progress, the chosen view
(VIEWS: my items, open, overdue, due in the next 30 days, all) and the "This week" panel,
computed in memory from one query over the items so the page costs the same number of queries
whatever the checklist's size and view (build); and what a change to one item moves elsewhere on
the page, for the answer to an item's action (change_of). Progress is counted by the one rule,
models.checklist_items.Progress, that ChecklistProgress keeps for the other pages."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from itertools import groupby

from django.conf import settings
from django.db import router
from django.utils import timezone

from migrations_app import scheduling
from migrations_app.access import Access
from migrations_app.dashboard import phases as phases_by_dates
from migrations_app.dashboard import rag as rag_rule
from migrations_app.item_urls import ItemUrls, items_base
from migrations_app.models import ChecklistItem, ItemStatus, MigrationPhase, Milestone, PracticeMigration, User
from migrations_app.models.checkins import is_missed
from migrations_app.models.checklist_items import CATCH_UP_DAYS, Progress, catching_up
from migrations_app.models.choices import CheckInRag
from migrations_app.models.compiled import CompiledSelect, loader
from migrations_app.reminders import due

DUE_SOON_DAYS = 7
# "This week" lists this many of the overdue items, the most overdue first, and links to the rest.
MOST_OVERDUE = 5
# ... and this many of the items due in the next 7 days, the soonest first, and links to the rest: a
# week before go-live a practice may have dozens, which pushed the checklist a screen further down.
SOONEST_DUE = 10
# The "Due in the next 30 days" view; in the Open and My items views a phase with nothing overdue or
# due within this many days (and not the current phase) is collapsed.
DUE_WITHIN_DAYS = 30

# The views of the checklist a person can choose (the `show` query-string parameter): key, label,
# and what the page says when a view has nothing in it.
VIEWS = {
    "mine": ("My items", "None of the open items is yours"),
    "open": ("Open", "No open items"),
    "overdue": ("Overdue", "No overdue items"),
    "next-30-days": ("Due in the next 30 days", "No open items fall due in the next 30 days"),
    # Done or not applicable: where an item closed by mistake is found again, to reopen it.
    "closed": ("Closed", "No item is done or not applicable yet"),
    "all": ("All", "No items"),
}
# The views that show a finished phase's items (collapsed in All); the others say it is finished.
FINISHED_PHASE_VIEWS = ("all", "closed")
# Everyone starts on the open items: the page is for what is left to do, and the rest is one link away.
DEFAULT_VIEW = "open"


def view_of(value: str | None) -> str:
    """The view a `show` parameter asks for; the default view for anything else."""
    return value if value in VIEWS else DEFAULT_VIEW


@dataclass
class Group:
    title: str
    items: list[ChecklistItem]

    @property
    def question(self) -> ChecklistItem | None:
        """The seed question the group is named after, when it is itself one of the group's items
        (the guide data puts it first): the page shows it once, as the group's lead item."""
        first = self.items[0] if self.items else None
        return first if first is not None and self.title and first.title == self.title else None

    @property
    def bullets(self) -> list[ChecklistItem]:
        return self.items[1:] if self.question else self.items


@dataclass
class View:
    key: str
    label: str
    count: int
    empty: str


@dataclass
class Phase:
    phase: MigrationPhase
    groups: list[Group]
    progress: Progress
    open_count: int
    # What the chosen view shows of the phase, and whether it starts collapsed.
    shown: list[Group] = field(default_factory=list)
    shown_count: int = 0
    collapsed: bool = False
    soon: bool = False  # an item it shows is overdue or due in the next DUE_WITHIN_DAYS
    summary_text: str = ""  # the link that opens it collapsed (summary())
    # Confirmations to show at the phase (views/pages.py): of a change that took an item out of view.
    messages: list = field(default_factory=list)

    @property
    def is_finished(self) -> bool:
        """Every item closed: the phase is shown with its progress in every view, and its items in
        FINISHED_PHASE_VIEWS."""
        return self.open_count == 0 and any(group.items for group in self.groups)

    def summary(self, view: str) -> str:
        """What the link that opens the phase collapsed says it shows (`focus_phase` has counted
        it for `view`): the closed items of a finished phase; the open ones, in the Open and My
        items views, with whether any is due soon; the items, in any other."""
        count, items = self.shown_count, "item" if self.shown_count == 1 else "items"
        if self.is_finished:
            return f"Show the {count} closed {items}"
        if view not in ("open", "mine"):
            return f"Show the {count} {items}"
        whose = "your " if view == "mine" else ""
        due = "" if self.soon else f", none due in the next {DUE_WITHIN_DAYS} days"
        return f"Show {whose}{count} open {items}{due}"


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
    view: str = DEFAULT_VIEW
    views: list[View] = field(default_factory=list)
    expand: int | None = None  # a phase shown expanded whatever the view (build's `expand`)
    offers_mine: bool = True  # whether the "My items" view is offered (build)

    @property
    def chosen_view(self) -> View:
        return next(view for view in self.views if view.key == self.view)

    @property
    def most_overdue(self) -> list[ChecklistItem]:
        return self.overdue[:MOST_OVERDUE]

    @property
    def soonest_due(self) -> list[ChecklistItem]:
        return self.due_soon[:SOONEST_DUE]

    @property
    def overdue_by_phase(self) -> list[tuple[Phase, int]]:
        """Each phase with overdue items and how many, in phase order."""
        counts: dict[int, int] = {}
        for item in self.overdue:
            counts[item.phase_id] = counts.get(item.phase_id, 0) + 1
        return [(phase, counts[phase.phase.pk]) for phase in self.phases if phase.phase.pk in counts]

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
    def phase_by_dates(self) -> tuple[str, str]:
        """The current phase from the milestones (the phase whose dates contain today) and how far
        behind it the checklist is, in the dashboard's words (dashboard.phases)."""
        dates = self.migration.milestone_dates()
        index = phases_by_dates.phase_index_on(dates, self.today)
        titles = {phase.phase.key: phase.phase.title for phase in self.phases}
        if index is None:
            title = phases_by_dates.DATES_NOT_AGREED[1]
        else:
            start = phases_by_dates.PHASE_STARTS[index]
            title = titles.get(start.key, start.title)
        first_open = self.current_phase
        if first_open is None:
            return title, "Every item is closed."
        behind, lag = phases_by_dates.checklist_lag(index, first_open.phase.key, first_open.phase.title)
        return title, "The checklist is in step with the dates." if behind == 0 else f"{lag}."

    @property
    def overdue_before_added(self) -> list[ChecklistItem]:
        """The overdue items that fell due before the migration was added to the tracker: work that
        may have been done before anyone could tick it here (a migration started or imported part
        way through), which the page asks to be caught up on."""
        return [item for item in self.overdue if item.due_on < self.added_on]

    @cached_property
    def added_on(self) -> date:
        """The day the migration was added to the tracker (started or imported)."""
        return timezone.localdate(self.migration.created_at)

    @property
    def gates_overdue_before_added(self) -> bool:
        return any(item.is_gate for item in self.overdue_before_added)

    @property
    def catch_up_until(self) -> date | None:
        """Until when the gates that fell due before the migration was added make it amber, not red
        (checklist_items.catching_up): None once that time is over."""
        until = self.added_on + timedelta(days=CATCH_UP_DAYS)
        return until if self.today < until else None

    @property
    def rag(self) -> rag_rule.Assessment | None:
        """The migration's RAG status and why, by the dashboard's rule (dashboard.rag.assess), from
        the items as this checklist counted them and the check-ins its ChecklistProgress keeps (read
        with the migration): the same status the dashboard shows. None on hold or cancelled."""
        migration, today = self.migration, self.today
        if migration.status in rag_rule.NOT_RATED:
            return None
        items = [item for phase in self.phases for group in phase.groups for item in group.items]
        progress = getattr(migration, "progress", None)
        return rag_rule.assess(
            applicable=self.progress.applicable,
            done=self.progress.done,
            done_ahead=sum(
                1 for item in items if item.status == ItemStatus.DONE and (item.due_on is None or item.due_on >= today)
            ),
            overdue=len(self.overdue),
            gates_overdue=sum(
                1 for item in self.overdue if item.is_gate and not catching_up(item.due_on, self.added_on, today)
            ),
            check_in_missed=progress is not None
            and is_missed(
                status=migration.status,
                last_on=progress.last_check_in_on,
                from_on=progress.check_ins_from_on,
                today=today,
            ),
            check_in_red=progress is not None
            and progress.check_in_rag == CheckInRag.RED
            and migration.status == PracticeMigration.Status.ACTIVE,
        )

    @property
    def current_phase(self) -> Phase | None:
        """The first phase with open items: where the practice's attention belongs (the
        checklist's phase, against phase_by_dates)."""
        return next((phase for phase in self.phases if phase.open_count), None)

    def phase_of(self, item: ChecklistItem) -> Phase:
        return next(phase for phase in self.phases if phase.phase.pk == item.phase_id)


# What change_of reads of each item: what _count, the views and the gates go by, and what "This
# week" and the current phase show (owners by name: User.__str__); by model, as column names.
CHANGE_FIELDS = {
    ChecklistItem: {
        "id",
        "migration_id",
        "phase_id",
        "owner_id",
        "key",
        "title",
        "group",
        "kind",
        "status",
        "due_on",
        "responsible_role",
        "depends_on",
        "position",
    },
    MigrationPhase: {"id", "key", "title", "position"},
    User: {"id", "full_name", "email"},
}


@dataclass
class Change:
    """What a change to one item's status moves elsewhere on the migration page (change_of)."""

    checklist: Checklist  # its figures: each phase's progress, the overall progress, views, "This week"
    item: ChecklistItem  # the changed item, marked as the page marks it
    phase: Phase  # the item's phase
    # The gates that wait for the item (ChecklistItem.waits_for), each marked ready to sign or not,
    # and those of them the change made ready (reminders.due.gates_made_ready).
    gates: list[ChecklistItem] = field(default_factory=list)
    made_ready: list[ChecklistItem] = field(default_factory=list)


def due_state(item: ChecklistItem, today: date) -> str:
    """'overdue', 'due_soon' or '' for an item on `today`."""
    if not item.is_open or item.due_on is None:
        return ""
    if item.due_on < today:
        return "overdue"
    if item.due_on <= today + timedelta(days=DUE_SOON_DAYS):
        return "due_soon"
    return ""


def in_view(view: str, item: ChecklistItem, today: date, paused: bool = False) -> bool:
    """Whether the `view` of the checklist shows `item` (after build has marked it). "My items" are
    the viewer's open ones (access.Relations: owned by them, or unowned with their role)."""
    if view == "all":
        return True
    if view == "closed":
        return not item.is_open
    if not item.is_open:
        return False
    if view == "mine":
        return item.is_yours
    if view == "overdue":
        return item.due_state == "overdue"
    if view == "next-30-days":
        return not paused and item.due_on is not None and today <= item.due_on <= today + timedelta(DUE_WITHIN_DAYS)
    return True


def build(
    migration: PracticeMigration,
    today: date,
    access: Access,
    view: str = DEFAULT_VIEW,
    expand: str | None = None,
    *,
    name_people: bool = True,
) -> Checklist:
    """The checklist of `migration` for the person of `access`, in `view`. `expand` (a phase's id,
    the `phase` parameter) shows that phase expanded even when the view would collapse it. Without
    `name_people`, the items' owners and who completed them are not read (_name_people): for a
    caller that shows only figures (the API's phases)."""
    # "My items" is for people holding a role at the practice: someone who reads or acts on every
    # migration (a national viewer, a support admin) has none, and is not offered an always-empty view.
    mine = bool(access.roles)
    view = view_of(view)
    if view == "mine" and not mine:
        view = DEFAULT_VIEW
    checklist = Checklist(migration=migration, today=today, view=view, expand=_phase_id(expand), offers_mine=mine)
    # Archived items come in the same query (the page's query count does not grow) and are set apart.
    items = _ITEMS_OF.objects(migration_id=migration.pk)
    if name_people:
        _name_people(items)
    phases = _PHASES_OF.objects(migration_id=migration.pk)
    # Each read by its migration's id: given the object without ForeignKey.__set__'s checks, which
    # made a twentieth of the Python calls of a tick's answer for a 131-item checklist.
    phase_migration, item_migration = MigrationPhase.migration.field, ChecklistItem.migration.field
    for phase in phases:
        phase_migration.set_cached_value(phase, migration)
    live = []
    base = items_base(migration.pk)
    for item in items:
        item_migration.set_cached_value(item, migration)
        item.urls = ItemUrls.of(base, item.pk)
        if item.archived_at is not None:
            checklist.archived.append(item)
            continue
        item.can_sign = access.can_sign(item)
        # Which rows offer actions: the ICB lead works only on the ICB's items and reads the rest.
        item.can_work_on = access.can_work_on(item)
        if item.is_completion_gate:
            item.can_reopen = access.can_reopen(item)
            checklist.completion_gate = item
        live.append(item)
    _count(checklist, phases, live, access)
    _focus(checklist)
    return checklist


# Written by the ORM once (models/compiled.py): every migration page runs them.
_ITEMS_OF = CompiledSelect(
    ChecklistItem,
    lambda migration_id: ChecklistItem.all_objects.filter(migration_id=migration_id).order_by(
        "phase__position", "position"
    ),
    migration_id=int,
)
_PHASES_OF = CompiledSelect(
    MigrationPhase,
    lambda migration_id: MigrationPhase.objects.filter(migration_id=migration_id).order_by("position"),
    migration_id=int,
)


def change_of(item: ChecklistItem, today: date, access: Access) -> Change:
    """What the change to `item`'s status moves elsewhere on its migration's page, from one query
    over the migration's live items with their phases (the page's build reads its phases apart, and
    marks more): each phase's progress, the overall progress, the views' counts, "This week", the
    current phase, and the gates that wait for the item. Counted as build counts (_count), so the
    figures are the page's. For the answer to an item's action (views/items.py), read in the
    change's transaction: the gates it made ready are the ones the sign-off requests go out for."""
    migration = item.migration
    checklist = Checklist(migration=migration, today=today)
    items, phases = _read_for_change(migration)
    _count(checklist, phases, items, access)
    _count_views(checklist)
    # The item itself is the one in hand, all of it read (its row shows more than CHANGE_FIELDS).
    counted = next(each for each in items if each.pk == item.pk)
    item.due_state, item.is_yours = counted.due_state, counted.is_yours
    if item.is_gate:
        item.is_ready_to_sign, item.waiting_on = counted.is_ready_to_sign, counted.waiting_on
    gates = [each for each in items if each.is_gate and each.waits_for(item)]
    base = items_base(migration.pk)
    for gate in gates:
        gate.urls = ItemUrls.of(base, gate.pk)  # one base for all, as build gives them
    return Change(
        checklist,
        item,
        checklist.phase_of(item),
        gates,
        made_ready=due.gates_made_ready(item, (each for each in items if each.is_open)),
    )


# Model.from_db takes a model's values in the order of its fields: CHANGE_FIELDS in that order, by
# model, with the lookup that reads them from an item.
_CHANGE_COLUMNS = [
    (model, prefix, [field.attname for field in model._meta.concrete_fields if field.attname in CHANGE_FIELDS[model]])
    for model, prefix in ((ChecklistItem, ""), (MigrationPhase, "phase__"), (User, "owner__"))
]


def _items_for_change(migration_id: int):
    return (
        ChecklistItem.objects.filter(migration_id=migration_id)
        .order_by("phase__position", "position")
        .values_list(*(prefix + name for _, prefix, names in _CHANGE_COLUMNS for name in names))
    )


# Written by the ORM once (models/compiled.py): every tick's answer runs it.
_ITEMS_FOR_CHANGE = CompiledSelect(ChecklistItem, _items_for_change, migration_id=int)


def _read_for_change(migration: PracticeMigration) -> tuple[list[ChecklistItem], list[MigrationPhase]]:
    """The live items of `migration` with CHANGE_FIELDS, in the page's order, each with its phase
    and owner, and the phases in order: from one query of plain rows, with one object for each
    phase and each owner that the items share. Built by the ORM's select_related instead, every
    item brought its own copy of its phase: 262 objects for a 131-item checklist, and a third of
    change_of's 10 ms of CPU (bench/capacity.py's tick)."""
    (_, _, item_names), (_, _, phase_names), (_, _, owner_names) = _CHANGE_COLUMNS
    phase_at = len(item_names)
    owner_at = phase_at + len(phase_names)
    phase_field, owner_field = ChecklistItem.phase.field, ChecklistItem.owner.field
    migration_field = ChecklistItem.migration.field
    database = router.db_for_read(ChecklistItem)
    phases: dict[int, MigrationPhase] = {}
    owners: dict[int, User] = {}
    items = []
    item_of, phase_of, owner_of = loader(ChecklistItem), loader(MigrationPhase), loader(User)
    for row in _ITEMS_FOR_CHANGE.rows(migration_id=migration.pk):
        item = item_of(database, item_names, row[:phase_at])
        if item.phase_id not in phases:
            phases[item.phase_id] = phase_of(database, phase_names, row[phase_at:owner_at])
        if item.owner_id is not None and item.owner_id not in owners:
            owners[item.owner_id] = owner_of(database, owner_names, row[owner_at:])
        phase_field.set_cached_value(item, phases[item.phase_id])
        owner_field.set_cached_value(item, owners.get(item.owner_id))
        migration_field.set_cached_value(item, migration)  # as build gives it (read by its id)
        items.append(item)
    return items, list(phases.values())


def _name_people(items: list[ChecklistItem]) -> None:
    """Give `items` their owners, who completed them and who marked them blocked or not applicable,
    from one query over the few people they name (none when they name nobody), each person one
    object that their items share. Joined to the items' query instead, every item done would bring
    its own copy: on a checklist mostly done, over a hundred objects for a handful of people, and
    the join itself, for most of the page's reading time."""
    ids = {item.owner_id for item in items} | {item.completed_by_id for item in items}
    ids |= {item.marked_by_id for item in items}
    ids.discard(None)
    people = User.objects.order_by().in_bulk(ids) if ids else {}
    owner, completed_by = ChecklistItem.owner.field, ChecklistItem.completed_by.field
    marked_by = ChecklistItem.marked_by.field
    for item in items:
        owner.set_cached_value(item, people.get(item.owner_id))
        completed_by.set_cached_value(item, people.get(item.completed_by_id))
        marked_by.set_cached_value(item, people.get(item.marked_by_id))


def marked(item: ChecklistItem, today: date) -> ChecklistItem:
    """`item` marked as its row on the page shows it, on its own (without the rest of its checklist,
    as _count marks it): its due state and, for a gate, how many open items it waits for and
    whether it is ready to sign (one query)."""
    item.due_state = "" if item.migration.is_paused else due_state(item, today)
    if item.is_gate:
        waited_for = list(item.open_dependencies()) if item.status != ItemStatus.NOT_APPLICABLE else []
        item.waiting_on = len(waited_for)
        item.is_ready_to_sign = due.is_ready_to_sign(item, waited_for)
    return item


def _count(checklist: Checklist, phases: list[MigrationPhase], items: list[ChecklistItem], access: Access) -> None:
    """Mark the live `items` as the page shows them (due state, whether each is the viewer's, a
    gate's readiness to sign) and count them into `checklist`: each phase's question groups and
    progress, the overall progress and "This week"."""
    migration, today = checklist.migration, checklist.today
    open_items = [item for item in items if item.is_open]
    gates = []
    by_phase = {phase.pk: [] for phase in phases}
    for item in items:
        # Nothing of a migration on hold or cancelled is due (PracticeMigration.is_paused).
        item.due_state = "" if migration.is_paused else due_state(item, today)
        # The viewer's own items (access.Relations: owned by them, or unowned with their role) are
        # marked in "This week".
        item.is_yours = access.holds(item)
        if item.is_gate:
            gates.append(item)
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
    # How many open items each gate waits for: its row says so beside "Sign off", and, once signed,
    # if any is open (signed over them, or reopened since). A gate waiting for none is ready to sign
    # when reminders.due.is_ready_to_sign says so of it alone.
    waiting = ChecklistItem.open_waited_for(
        [gate for gate in gates if gate.status != ItemStatus.NOT_APPLICABLE], open_items
    )
    for gate in gates:
        gate.waiting_on = waiting.get(gate.pk, 0)
        gate.is_ready_to_sign = not gate.waiting_on and due.is_ready_to_sign(gate, ())


def _focus(checklist: Checklist) -> None:
    """Narrow each phase to what the chosen view shows, in memory (every view costs the page the same
    queries), and count every view for its link. A finished phase is collapsed with all its items;
    in the Open and My items views so is a later phase with nothing overdue or due within
    DUE_WITHIN_DAYS, which leaves expanded what needs attention now."""
    current = checklist.current_phase
    for phase in checklist.phases:
        focus_phase(phase, checklist.view, checklist.today, checklist.migration.is_paused)
        if phase.is_finished:
            # Collapsed, but in the Closed view, which is there to show its items.
            phase.collapsed = checklist.view != "closed"
        else:
            phase.collapsed = checklist.view in ("open", "mine") and phase is not current and not phase.soon
        if phase.phase.pk == checklist.expand:
            phase.collapsed = False
    _count_views(checklist)


def focus_phase(phase: Phase, view: str, today: date, paused: bool) -> None:
    """What `view` shows of `phase` (all of it when finished), how many items, and whether one of
    them is overdue or due soon (a phase that is not current stays open for it)."""
    if phase.is_finished:
        # Its items are closed: shown in the views of closed items, and only named in the others
        # (the Overdue view offering done items to reopen read as if they were overdue).
        phase.shown, phase.soon = (phase.groups if view in FINISHED_PHASE_VIEWS else []), False
    else:
        phase.shown = [
            Group(group.title, members)
            for group in phase.groups
            if (members := [item for item in group.items if in_view(view, item, today, paused)])
        ]
        phase.soon = any(
            in_view("overdue", item, today, paused) or in_view("next-30-days", item, today, paused)
            for group in phase.shown
            for item in group.items
        )
    phase.shown_count = sum(len(group.items) for group in phase.shown)
    phase.summary_text = phase.summary(view)


def _count_views(checklist: Checklist) -> None:
    """How many items each view shows, for its link."""
    today, paused = checklist.today, checklist.migration.is_paused
    counts = dict.fromkeys(VIEWS, 0)
    for phase in checklist.phases:
        for group in phase.groups:
            for item in group.items:
                for key in VIEWS:
                    counts[key] += in_view(key, item, today, paused)
    checklist.views = [
        View(key, label, counts[key], empty)
        for key, (label, empty) in VIEWS.items()
        if key != "mine" or checklist.offers_mine
    ]


def at_place(place: str) -> str:
    """The tag of a message to show at a `place` of the migration page rather than at its top, where
    a change made without JavaScript lands (its page's address ends with that place's #anchor): the
    confirmation is then seen without scrolling up. The places: "phase-<id>" (at_phase),
    "item-<id>" (in the item's row), "people" and "check-ins" (their sections)."""
    return f"at-{place}"


def at_phase(phase_id: int) -> str:
    """The tag of a message to show at the phase `phase_id`: the confirmation of a change made
    without JavaScript that took its item out of the view, where the page opens (views/items.py)."""
    return at_place(f"phase-{phase_id}")


SECTIONS = {at_place("people"): "people", at_place("check-ins"): "check_ins"}


def place_messages(checklist: Checklist, messages) -> tuple[list, dict[str, list]]:
    """Give the phases and the items shown in `checklist` the `messages` tagged for them
    (at_place); then those for the page's sections, by section ("people", "check_ins"), and the
    rest, in order, for the top of the page: (top, sections). An item's message is for its row
    (`item.messages`, item_rows.row); a place not on the page (an item left out of the view) sends
    its message to the top."""
    top, sections = [], {name: [] for name in SECTIONS.values()}
    messages = list(messages)
    if not messages:  # nearly every page: no need to know where each row is
        return top, sections
    places = {at_phase(phase.phase.pk): phase for phase in checklist.phases}
    places |= {
        at_place(f"item-{item.pk}"): item for phase in checklist.phases for group in phase.shown for item in group.items
    }
    for message in messages:
        if place := places.get(message.extra_tags):
            if not hasattr(place, "messages"):
                place.messages = []
            place.messages.append(message)
        elif section := SECTIONS.get(message.extra_tags):
            sections[section].append(message)
        else:
            top.append(message)
    return top, sections


def _phase_id(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


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
