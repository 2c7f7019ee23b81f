"""The dashboard's rows: one per migration the user can see, with its progress, counts, next item
due and RAG status; filtered, searched and sorted.

A page costs the same queries whatever the number of migrations:
  1. the ICBs, delivery partners and supplier pairs of the migrations the user can see (filter choices);
  2. the phases of the checklist versions those migrations use (filter choices, phase titles);
  3. the migrations matching the filters SQL can apply, one tuple each, with their done, applicable
     and blocked counts and the checklist's first phase with an open item (ChecklistProgress, kept
     up to date by the item methods), and their current phase by dates (phases.phase_by_dates, an
     annotation, so the phase filter is SQL's); for the CSV, the time of their last change too;
  4. per migration, its overdue items and overdue gates (the rows' own, by id, up to LOOK_UP_IDS_UP_TO
     rows; beyond, a range of an index of open items by date);
  5. per migration, the items done ahead of their due date (for the RAG rule; few, found by date);
  6. the next due date of the rows on the page (of every row when sorted by it, or for the CSV);
  7. the item due on that date and its owner, for the rows on the page (for the CSV, per chunk of rows).
The RAG status is computed in Python from those numbers (and each phase named from its position;
a migration on hold or cancelled has none, and no overdue items: rag.NOT_RATED),
so the RAG rule stays one function (rag.assess) that the RAG filter, the sort, the summary and the
CSV all use; the RAG filter, the sort and the pages are applied in Python too.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from migrations_app import access
from migrations_app.dashboard.phases import DATES_NOT_AGREED, PHASE_KEYS, PHASE_STARTS, checklist_lag, phase_by_dates
from migrations_app.dashboard.rag import NOT_RATED, Rag, assess
from migrations_app.models import ChecklistItem, Event, PhaseTemplate, PracticeMigration
from migrations_app.models.checklist_items import Progress
from migrations_app.models.choices import Role
from migrations_app.models.practice_migrations import DASHBOARD_FIELDS, UNFINISHED_STATUSES

CLOSED_PHASE = ("closed", "All items closed")
"""The checklist's phase of a migration with no open item left (on the migration page it has none)."""
# What a row reads besides DASHBOARD_FIELDS; the CSV adds the time of the last change.
ROW_FIELDS = (
    *DASHBOARD_FIELDS,
    "practice__delivery_partner__name",
    "idp_on",
    "old_system_access_end_on",
    "current_phase",
)
SOON_DAYS = 28
"""'The next four weeks': go-live today or in the 27 days after."""
LATER_DAYS = 91
"""'The next three months' (13 weeks)."""

GO_LIVE_WINDOWS: dict[str, tuple[str, int | None, int | None]] = {
    # key: (label, first and last day counted from today, both included; None is open-ended)
    "past": ("Already live (go-live date passed)", None, -1),
    "next-4-weeks": ("In the next 4 weeks", 0, SOON_DAYS - 1),
    "next-3-months": ("In the next 3 months", 0, LATER_DAYS - 1),
    "later": ("More than 3 months away", LATER_DAYS, None),
}
GO_LIVE_NOT_AGREED = "not-agreed"

LOOK_UP_IDS_UP_TO = 2000
"""Up to this many rows, their next due dates are looked up by the rows' ids (see add_next_due())."""

# The status filter: key, label, the statuses it shows. Cancelled migrations are kept in reports,
# shown when asked for.
STATUSES = {
    "": ("In progress or on hold", list(UNFINISHED_STATUSES)),
    "on_hold": ("On hold", [PracticeMigration.Status.ON_HOLD]),
    "completed": ("Completed", [PracticeMigration.Status.COMPLETED]),
    "cancelled": ("Cancelled", [PracticeMigration.Status.CANCELLED]),
    "all": ("All", list(PracticeMigration.Status)),
}


@dataclass(slots=True)
class Row:
    pk: int
    practice_name: str
    ods_code: str
    icb_name: str
    source: str
    target: str
    status: str
    template_version_id: int
    go_live_on: date | None
    fdp_on: date | None
    done: int
    applicable: int
    blocked: int
    phase_position: int | None
    overdue: int = 0
    gates_overdue: int = 0
    done_ahead: int = 0
    next_due_on: date | None = None
    next_due_known: bool = False  # next_due_on is looked up only for the rows that need it
    days_to_go: int | None = None
    phase_key: str = CLOSED_PHASE[0]
    phase_title: str = CLOSED_PHASE[1]
    rag: Rag | None = None
    rag_reason: str = ""
    next_item_pk: int | None = None
    next_item_title: str = ""
    status_reason: str = ""  # why on hold or cancelled
    delivery_partner_name: str | None = None
    idp_on: date | None = None
    old_system_access_end_on: date | None = None
    phase_index: int | None = None  # the current phase by dates, in phases.PHASE_STARTS
    last_change_at: datetime | None = None  # read for the CSV only
    checklist_phase_key: str = CLOSED_PHASE[0]
    checklist_phase_title: str = CLOSED_PHASE[1]
    checklist_behind: int | None = None  # phases; None when it cannot be told (dates not agreed)
    checklist_text: str = ""
    next_item_owner: str = ""  # the named owner, or the responsible role

    @property
    def is_rated(self) -> bool:
        """Whether the row has a RAG status (rag.NOT_RATED): on hold and cancelled rows have none."""
        return self.status not in NOT_RATED

    @property
    def rag_label(self) -> str:
        """The RAG status, or the status that stands in for it ("On hold")."""
        return self.rag.label if self.rag else NOT_RATED[self.status]

    @property
    def percent(self) -> int:
        return Progress(done=self.done, applicable=self.applicable).percent

    @property
    def suppliers(self) -> str:
        return f"{self.source} to {self.target}"

    @property
    def status_text(self) -> str:
        """The status, with the reason a migration is on hold or was cancelled."""
        label = PracticeMigration.Status(self.status).label
        return f"{label}: {self.status_reason}" if self.status in NOT_RATED and self.status_reason else label

    @property
    def days_to_go_text(self) -> str:
        """Days to go-live; once live, the days since ("Live 20 days"), not a negative number."""
        if self.days_to_go is None:
            return ""
        if self.days_to_go == 0:
            return "Go-live today"
        if self.days_to_go < 0:
            days = -self.days_to_go
            return f"Live {days} day{'s' if days != 1 else ''}"
        return str(self.days_to_go)

    @property
    def last_change_on(self) -> date | None:
        return timezone.localdate(self.last_change_at) if self.last_change_at else None

    @property
    def cutover_days(self) -> int | None:
        """FDP to go-live, in days, once the practice is live."""
        if self.fdp_on is None or self.days_to_go is None or self.days_to_go > 0:
            return None
        return (self.go_live_on - self.fdp_on).days


@dataclass(frozen=True)
class Filters:
    search: str = ""
    icb: int | None = None
    delivery_partner: int | None = None
    suppliers: tuple[int, int] | None = None
    phase: str = ""
    go_live: str = ""
    rag: frozenset[str] = frozenset()
    status: str = ""
    sort: str = "rag"
    page: int = 1


@dataclass
class Options:
    """What the filters offer: only organisations and systems of migrations the user can see."""

    icbs: list[tuple[int, str]]
    delivery_partners: list[tuple[int, str]]
    supplier_pairs: list[tuple[str, str]]
    phases: list[tuple[str, str]]
    phase_by_position: dict[tuple[int, int], tuple[str, str]] = field(repr=False)


def options_for(user) -> Options:
    """Two queries: the facets of the migrations `user` can see, and their checklists' phases."""
    visible = access.visible_migrations(user)
    icbs, partners, pairs = {}, {}, {}
    for icb_id, icb, partner_id, partner, source_id, source, target_id, target in visible.facets():
        icbs[icb_id] = icb
        if partner_id is not None:
            partners[partner_id] = partner
        pairs[f"{source_id}-{target_id}"] = f"{source} to {target}"
    # A migration's phases are copies of its template version's (PracticeMigration.instantiate), and a
    # published version is frozen, so (version, position) names the phase without reading the copies.
    phase_by_position, titles = {}, {}
    phase_rows = (
        PhaseTemplate.objects.filter(version_id__in=visible.values("template_version_id"))
        .order_by("position", "-version__number")
        .values_list("version_id", "position", "key", "title")
    )
    for version_id, position, key, title in phase_rows:
        phase_by_position[version_id, position] = (key, title)
        titles.setdefault(key, title)
    return Options(
        icbs=sorted(icbs.items(), key=lambda choice: choice[1].casefold()),
        delivery_partners=sorted(partners.items(), key=lambda choice: choice[1].casefold()),
        supplier_pairs=sorted(pairs.items(), key=lambda choice: choice[1].casefold()),
        # The current phase is the phase by dates (phases.PHASE_STARTS), named as the checklists name it.
        phases=[*((start.key, titles.get(start.key, start.title)) for start in PHASE_STARTS), DATES_NOT_AGREED],
        phase_by_position=phase_by_position,
    )


def find(user, filters: Filters, today: date, options: Options, *, with_last_change: bool = False) -> list[Row]:
    """Every row `user` can see that matches `filters`, unsorted. Three queries. With
    `with_last_change` (the CSV), each row's last change is read in the rows' query."""
    migrations = _matching(
        access.visible_migrations(user).annotate(current_phase=phase_by_dates(today)), filters, today
    )
    fields = ROW_FIELDS
    if with_last_change:
        migrations = migrations.annotate(last_change_at=_last_change())
        fields = (*ROW_FIELDS, "last_change_at")
    rows = {
        values[0]: Row(
            *values[:10],
            *(count or 0 for count in values[10:13]),
            phase_position=values[13],
            status_reason=values[14],
            delivery_partner_name=values[15],
            idp_on=values[16],
            old_system_access_end_on=values[17],
            phase_index=values[18],
            last_change_at=values[19] if with_last_change else None,
        )
        for values in migrations.order_by().values_list(*fields)
    }
    if not rows:
        return []
    # Overdue items are a small part of all items. Up to LOOK_UP_IDS_UP_TO rows (a delivery
    # partner's, an ICB's, a practice's) read only their own migrations' overdue items, by id
    # (index-only through checklistitem_open_migration); more (the national view) read every
    # migration's, one range of checklistitem_open_due, and keep the rows'. Items done ahead of
    # plan are fewer still: every migration's, one range of checklistitem_done_due, costs less
    # than looking them up by id (29 ms for 700 migrations on the national data set).
    overdue_items = ChecklistItem.objects.all()
    if len(rows) <= LOOK_UP_IDS_UP_TO:
        overdue_items = overdue_items.filter(migration_id__in=list(rows))
    for pk, overdue, gates_overdue in overdue_items.overdue_counts_by_migration(today):
        if (row := rows.get(pk)) and row.is_rated:
            row.overdue, row.gates_overdue = overdue, gates_overdue
    for pk, count in ChecklistItem.objects.done_ahead_by_migration(today):
        if (row := rows.get(pk)) and row.is_rated:
            row.done_ahead = count
    found = []
    for row in rows.values():
        row.days_to_go = (row.go_live_on - today).days if row.go_live_on else None
        if row.phase_index is not None:
            row.phase_key, row.phase_title = options.phases[row.phase_index]
        else:
            row.phase_key, row.phase_title = DATES_NOT_AGREED
        if row.phase_position is not None:
            row.checklist_phase_key, row.checklist_phase_title = options.phase_by_position.get(
                (row.template_version_id, row.phase_position), (f"position-{row.phase_position}", "Unknown phase")
            )
        row.checklist_behind, row.checklist_text = checklist_lag(
            row.phase_index,
            row.checklist_phase_key if row.phase_position is not None else None,
            row.checklist_phase_title,
        )
        if row.is_rated:
            row.rag, row.rag_reason = assess(
                applicable=row.applicable,
                done=row.done,
                done_ahead=row.done_ahead,
                overdue=row.overdue,
                gates_overdue=row.gates_overdue,
            )
        else:
            row.rag_reason = row.status_reason
        if filters.rag and row.rag not in filters.rag:
            continue
        found.append(row)
    return found


def _last_change() -> Subquery:
    """When the migration or one of its items last changed: its latest event."""
    return Subquery(
        Event.objects.filter(migration=OuterRef("pk"))
        .order_by()
        .values("migration")
        .annotate(last=Max("at"))
        .values("last")
    )


def _matching(migrations, filters: Filters, today: date):
    """The filters SQL can apply before the counts are read (the phase: the current_phase annotation)."""
    migrations = migrations.filter(status__in=STATUSES[filters.status][1])
    if filters.phase == DATES_NOT_AGREED[0]:
        migrations = migrations.filter(current_phase__isnull=True)
    elif filters.phase:
        migrations = migrations.filter(current_phase=PHASE_KEYS.index(filters.phase))
    if filters.search:
        migrations = migrations.filter(
            Q(practice__name__icontains=filters.search) | Q(practice__ods_code__icontains=filters.search)
        )
    if filters.icb is not None:
        migrations = migrations.filter(practice__icb_id=filters.icb)
    if filters.delivery_partner is not None:
        migrations = migrations.filter(practice__delivery_partner_id=filters.delivery_partner)
    if filters.suppliers is not None:
        migrations = migrations.filter(source_supplier_id=filters.suppliers[0], target_supplier_id=filters.suppliers[1])
    if filters.go_live == GO_LIVE_NOT_AGREED:
        migrations = migrations.filter(go_live_on__isnull=True)
    elif filters.go_live:
        _, first, last = GO_LIVE_WINDOWS[filters.go_live]
        if first is not None:
            migrations = migrations.filter(go_live_on__gte=today + timedelta(days=first))
        if last is not None:
            migrations = migrations.filter(go_live_on__lte=today + timedelta(days=last))
    return migrations


def add_next_due(rows: Iterable[Row], today: date) -> None:
    """Fill in the next due date of the rows that lack it. One query; none if none lacks it.

    Up to LOOK_UP_IDS_UP_TO rows (a page, a delivery partner's or an ICB's rows) are looked up by
    their ids, one index range each. More are read for every migration, through the whole index,
    and the rows' kept: cheaper than looking thousands up, or than repeating the filters (given
    the access rule again, PostgreSQL misjudges it as nearly every migration)."""
    wanted = {row.pk: row for row in rows if not row.next_due_known}
    if not wanted:
        return
    items = ChecklistItem.objects.all()
    if len(wanted) <= LOOK_UP_IDS_UP_TO:
        items = items.filter(migration_id__in=list(wanted))
    for pk, next_due_on in items.next_due_by_migration(today):
        if row := wanted.get(pk):
            row.next_due_on = next_due_on
    for row in wanted.values():
        row.next_due_known = True


def add_next_items(rows: list[Row], today: date) -> None:
    """Fill in the next item due of each row: the first open item due on its next due date. Two
    queries (the dates, unless known already, then the items); none for a date when none is due."""
    add_next_due(rows, today)
    wanted = {row.pk: row for row in rows if row.next_due_on is not None}
    if not wanted:
        return
    candidates = ChecklistItem.objects.next_due_candidates(
        {pk: row.next_due_on for pk, row in wanted.items()}
    ).values_list("migration_id", "due_on", "pk", "title", "owner__full_name", "owner__email", "responsible_role")
    for migration_id, due_on, item_pk, title, owner_name, owner_email, role in candidates:
        row = wanted[migration_id]
        if due_on == row.next_due_on and row.next_item_pk is None:
            row.next_item_pk, row.next_item_title = item_pk, title
            # The named owner (as User.__str__ names them), or the role responsible when none is named.
            row.next_item_owner = owner_name or owner_email or Role(role).label


# --- sorting ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the CSV, and of the table unless `in_table` is false: the table's columns are
    the CSV's first ones in the same order, and the CSV adds some."""

    key: str
    heading: str
    csv_value: Callable[[Row], Any]
    sort_key: Callable[[Row], Any] | None = None
    numeric: bool = False
    needs_next_due: bool = False
    in_table: bool = True


def _date(value: date | None) -> str:
    return value.isoformat() if value else ""


COLUMNS = [
    Column("practice", "Practice", lambda row: row.practice_name, lambda row: row.practice_name.casefold()),
    Column("ods_code", "ODS code", lambda row: row.ods_code, lambda row: row.ods_code),
    Column("icb", "ICB", lambda row: row.icb_name, lambda row: row.icb_name.casefold()),
    Column("suppliers", "Systems", lambda row: row.suppliers, lambda row: row.suppliers.casefold()),
    # By dates (phases.PHASE_STARTS); the table shows how far behind the checklist is under it.
    Column("phase", "Current phase", lambda row: row.phase_title, lambda row: row.phase_index),
    Column("go_live", "Go-live", lambda row: _date(row.go_live_on), lambda row: row.go_live_on),
    Column("days_to_go", "Days to go-live", lambda row: row.days_to_go_text, lambda row: row.days_to_go, numeric=True),
    Column("percent", "Complete (%)", lambda row: row.percent, lambda row: row.percent, numeric=True),
    Column("overdue", "Overdue", lambda row: row.overdue, lambda row: row.overdue, numeric=True),
    Column("blocked", "Blocked", lambda row: row.blocked, lambda row: row.blocked, numeric=True),
    Column(
        "next_due",
        "Next item due",
        lambda row: f"{_date(row.next_due_on)} {row.next_item_title}".strip(),
        lambda row: row.next_due_on,
        needs_next_due=True,
    ),
    # Rows with no RAG status (on hold, cancelled) say so, and sort last.
    Column("rag", "RAG status", lambda row: row.rag_label, lambda row: row.rag.rank if row.rag else None),
    # The CSV's own columns.
    Column("checklist", "Checklist", lambda row: row.checklist_text, in_table=False),
    Column("delivery_partner", "Delivery partner", lambda row: row.delivery_partner_name or "", in_table=False),
    Column("status", "Status", lambda row: row.status_text, in_table=False),
    Column("idp", "IDP", lambda row: _date(row.idp_on), in_table=False),
    Column("fdp", "FDP", lambda row: _date(row.fdp_on), in_table=False),
    Column(
        "old_system_access_end",
        "Old system access ends",
        lambda row: _date(row.old_system_access_end_on),
        in_table=False,
    ),
    Column("next_item_owner", "Next item owner", lambda row: row.next_item_owner, in_table=False),
    Column("last_change", "Last change", lambda row: _date(row.last_change_on), in_table=False),
]
TABLE_COLUMNS = [column for column in COLUMNS if column.in_table]
SORTABLE = {column.key: column for column in TABLE_COLUMNS if column.sort_key is not None}
DEFAULT_SORT = "rag"


def sort_rows(rows: list[Row], sort: str, today: date) -> list[Row]:
    """Sorted by `sort` (a column key, "-key" for descending); rows without a value last. Ties
    keep go-live order, then practice name, so a page is the same on every visit. Sorting by the
    next item due first looks up every row's next due date (one query)."""
    descending = sort.startswith("-")
    column = SORTABLE[sort.removeprefix("-")]
    if column.needs_next_due:
        add_next_due(rows, today)
    key = column.sort_key
    ordered = sorted(
        rows, key=lambda row: (row.go_live_on is None, row.go_live_on or date.min, row.practice_name.casefold(), row.pk)
    )
    keyed = [(key(row), row) for row in ordered]
    present = [pair for pair in keyed if pair[0] is not None]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [row for _, row in present] + [row for value, row in keyed if value is None]
