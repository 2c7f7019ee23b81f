"""The dashboard's rows: one per migration the user can see, with its progress, counts, next item
due and RAG status; filtered, searched, sorted and paged by the database.

Everything that decides which rows a page shows is SQL over one query of the migrations
(matching()): the filters, the current phase by dates (phases.phase_by_dates), the day figures
(overdue items and gates, items done ahead of plan, next due date: kept in ChecklistProgress for
today, see day_figures()), the RAG status (rag.annotate_rank, the one rule) and the sort. So a
page reads only the rows it shows, whatever the number of migrations:
  1. the ICBs, delivery partners and supplier pairs of the migrations the user can see (filter choices);
  2. the phases of the checklist versions (filter choices, phase titles);
  3. the page's rows, sorted and sliced by the database (Found.__getitem__: among many, the page's
     migrations chosen in a subquery, then read in full);
  4. the item due next, and its owner, for those rows (add_next_items).
The summary's counts are grouped queries over the same migrations (summary.py); the CSV reads every
row in the same order, a chunk at a time (Found.chunks, export.py).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    DateField,
    Expression,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Lower
from django.utils import timezone

from migrations_app import access, scheduling
from migrations_app.dashboard.phases import DATES_NOT_AGREED, PHASE_KEYS, PHASE_STARTS, checklist_lag, phase_by_dates
from migrations_app.dashboard.rag import BY_RANK, NOT_RATED, Rag, annotate_rank, assess
from migrations_app.models import (
    ICB,
    ChecklistItem,
    DeliveryPartner,
    Event,
    PhaseTemplate,
    PracticeMigration,
    Supplier,
    checkins,
)
from migrations_app.models.checklist_items import Progress, day_count_subqueries
from migrations_app.models.choices import CheckInRag, Milestone, Role
from migrations_app.models.compiled import CompiledSelect, Remembered
from migrations_app.models.people import name_contains
from migrations_app.models.practice_migrations import UNFINISHED_STATUSES

CLOSED_PHASE = ("closed", "All items closed")
"""The checklist's phase of a migration with no open item left (on the migration page it has none)."""
DAY_FIGURES = ("overdue", "gates_overdue", "done_ahead", "next_due_on")
"""The fields of ChecklistProgress that hold a migration's DayCounts."""
# What a row reads, in the order of Row's first fields; the CSV adds the time of the last change. The
# ICB, the systems and the delivery partner are read as ids, named by add_names(): with those four
# joins (nine tables in all), PostgreSQL took longer to plan a page's query (9 ms, weighing every
# order of the joins) than to run it (6.5 ms).
ROW_FIELDS = (
    "pk",
    "practice__name",
    "practice__ods_code",
    "practice__icb_id",
    "source_supplier_id",
    "target_supplier_id",
    "status",
    "template_version_id",
    "go_live_on",
    "fdp_on",
    "progress__items_done",
    "progress__items_applicable",
    "progress__items_blocked",
    "progress__phase_position",
    "status_reason",
    "practice__delivery_partner_id",
    "idp_on",
    "old_system_access_end_on",
    "current_phase",
    *(f"{name}_now" for name in DAY_FIGURES),
    "rag_rank",
    # The weekly check-ins (models/checkins.py): the last one's day, the worst of each side's latest
    # self-assessment, and the two flags the RAG rule reads.
    "progress__last_check_in_on",
    "progress__check_in_rag",
    "check_in_missed_now",
    "check_in_red_now",
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


# The status filter: key, label, the statuses it shows. Cancelled migrations are kept in reports,
# shown when asked for.
# The weekly check-ins' flags (models/checkins.py), as the RAG rule reads them: (label, condition on a day).
CHECK_IN_FILTERS = {
    "missed": (
        f"Missed (none for more than {checkins.MISSED_AFTER_DAYS} days)",
        lambda today: checkins.missed_condition(today),
    ),
    "red": ("Red at the last check-in", lambda today: checkins.red_condition()),
}

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
    last_check_in_on: date | None = None
    check_in_rag: str = ""  # the worst of each side's latest self-assessment (CheckInRag)
    check_in_missed: bool = False
    check_in_red: bool = False
    # What add_names() names: icb_name, source, target and delivery_partner_name.
    icb_id: int | None = None
    source_id: int | None = None
    target_id: int | None = None
    delivery_partner_id: int | None = None

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
    def status_label(self) -> str:
        return PracticeMigration.Status(self.status).label

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
    def check_in_rag_label(self) -> str:
        return CheckInRag(self.check_in_rag).label if self.check_in_rag else ""

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
    check_in: str = ""  # a key of CHECK_IN_FILTERS
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
    # (version, key): the phase's title in that checklist version, as the migration's own page names it.
    phase_titles: dict[tuple[int, str], str] = field(default_factory=dict, repr=False)


def options_for(user, *, facets: bool = True) -> Options:
    """Two queries: the facets of the migrations `user` can see, and the checklists' phases. Without
    `facets`, the phases only: for a caller that filters by none of them (an API page), which spares
    it the facets' query over every visible migration."""
    icbs, partners, pairs = {}, {}, {}
    for kind, first_id, first, second_id, second in _facets(user) if facets else ():
        if kind == "icb":
            icbs[first_id] = first
        elif kind == "partner":
            partners[first_id] = first
        else:
            pairs[f"{first_id}-{second_id}"] = f"{first} to {second}"
    # A migration's phases are copies of its template version's (PracticeMigration.instantiate), and a
    # published version is frozen, so (version, position) names the phase without reading the copies.
    phase_by_position, titles, phase_titles = {}, {}, {}
    # Every version's phases (a few dozen rows), not only those of the versions the user's
    # migrations use: phase titles are the guide's, and this way the query does not go through
    # the migrations again. The latest published version names a key first.
    phase_rows = WRITTEN.rows(
        "phases",
        lambda: PhaseTemplate.objects.order_by("position", F("version__number").desc(nulls_last=True)).values_list(
            "version_id", "position", "key", "title"
        ),
    )
    for version_id, position, key, title in phase_rows:
        phase_by_position[version_id, position] = (key, title)
        phase_titles[version_id, key] = title
        titles.setdefault(key, title)
    return Options(
        icbs=sorted(icbs.items(), key=lambda choice: choice[1].casefold()),
        delivery_partners=sorted(partners.items(), key=lambda choice: choice[1].casefold()),
        supplier_pairs=sorted(pairs.items(), key=lambda choice: choice[1].casefold()),
        # The current phase is the phase by dates (phases.PHASE_STARTS), named as the checklists name it.
        phases=[*((start.key, titles.get(start.key, start.title)) for start in PHASE_STARTS), DATES_NOT_AGREED],
        phase_by_position=phase_by_position,
        phase_titles=phase_titles,
    )


WRITTEN = Remembered()
"""The dashboard's statements as the ORM wrote them, by what they depend on (compiled.Remembered):
a page shown again, to the same people or others who see the same migrations, is not built and
written again."""


def _facets(user) -> list[tuple]:
    statement = WRITTEN.sql(
        ("facets", access.visibility_key(user)), lambda: access.visible_migrations(user).facets_statement()
    )
    if statement is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return cursor.fetchall()


def day_figures(today: date, *, count_stale: bool) -> dict[str, Case]:
    """Each migration's DayCounts on `today`, as annotations `<figure>_now`, from its
    ChecklistProgress, where every change of its items and the quarter-hourly task count them
    (`counts_on` says for which day). With `count_stale`, a row not counted for today is counted
    here from its items (correlated subqueries, run only for those rows); without, the kept
    figures are read as they are: for when every row is known to be counted for today (the
    dashboard reads so first, and again counting when its summary finds stale rows:
    summary.Summary.stale), which spares the database the subqueries and Django compiling them. A
    migration on hold or cancelled has no overdue items (rag.NOT_RATED)."""
    counted = day_count_subqueries(today, OuterRef("pk")) if count_stale else {}
    figures = {}
    for name in DAY_FIGURES:
        paused = [When(status__in=list(NOT_RATED), then=Value(0))] if name in ("overdue", "gates_overdue") else []
        stale = [When(~Q(progress__counts_on=today), then=counted[name])] if count_stale else []
        figures[f"{name}_now"] = Case(
            *paused,
            *stale,
            default=F(f"progress__{name}"),
            output_field=DateField() if name == "next_due_on" else IntegerField(),
        )
    return figures


def matching(user, filters: Filters, today: date, *, count_stale: bool = True) -> QuerySet:
    """The migrations `user` can see that match `filters`, in the order of `filters.sort`, with
    their current phase by dates, day figures (see day_figures for `count_stale`), RAG rank and
    percentage done as annotations."""
    migrations = _matching(
        access.visible_migrations(user).annotate(current_phase=phase_by_dates(today)), filters, today
    ).annotate(
        **day_figures(today, count_stale=count_stale),
        **checkins.annotations(today),
    )
    migrations = annotate_rank(
        migrations.alias(applicable_now=Coalesce("progress__items_applicable", 0)),
        applicable="applicable_now",
        done_ahead="done_ahead_now",
        overdue="overdue_now",
        gates_overdue="gates_overdue_now",
        check_in_missed="check_in_missed_now",
        check_in_red="check_in_red_now",
    )
    if filters.rag:
        migrations = migrations.filter(rag_rank__in=[rag.rank for rag in filters.rag])
    migrations = migrations.annotate(percent=PERCENT)
    column = SORTABLE[filters.sort.removeprefix("-")]
    value = column.sort.desc(nulls_last=True) if filters.sort.startswith("-") else column.sort.asc(nulls_last=True)
    # Ties keep go-live order, then practice name, so that a page is the same on every visit.
    return migrations.order_by(value, F("go_live_on").asc(nulls_last=True), Lower("practice__name"), "pk")


CHOSEN_FIRST_ABOVE = 5000
"""Found.__getitem__: from how many matching rows a page's migrations are chosen before being read."""


class Found:
    """The rows matching the filters, in order, read from the database a page or a chunk at a
    time: a page reads the rows it shows (and the items due next for them), whatever the number
    of migrations. `total` is counted by the caller (the summary's grouped counts add up to it),
    so the paginator need not count again."""

    def __init__(
        self,
        user,
        filters: Filters,
        today: date,
        options: Options,
        *,
        with_last_change: bool = False,
        count_stale: bool = True,
        migration_pk: int | None = None,
    ) -> None:
        """`migration_pk`: that migration's row only (the API's one migration), if it matches."""
        self.user, self.filters, self.count_stale, self.with_last_change = user, filters, count_stale, with_last_change
        self.migration_pk = migration_pk
        self.fields = (*ROW_FIELDS, "last_change_at") if with_last_change else ROW_FIELDS
        self.today, self.options = today, options
        self.total: int | None = None
        # What the statements of these rows depend on (WRITTEN): every argument but the options
        # (names, read in Python) and the page's number.
        self.key = (
            access.visibility_key(user),
            replace(filters, page=1),
            today,
            count_stale,
            with_last_change,
            migration_pk,
        )
        self._migrations: QuerySet | None = None

    @property
    def migrations(self) -> QuerySet:
        """The matching migrations, built (matching()) when a statement not yet written needs them.
        Read-only: narrowed from outside, the statements kept for `key` would be another query's."""
        if self._migrations is None:
            migrations = matching(self.user, self.filters, self.today, count_stale=self.count_stale)
            if self.with_last_change:
                migrations = migrations.annotate(last_change_at=_last_change())
            if self.migration_pk is not None:
                migrations = migrations.filter(pk=self.migration_pk)
            self._migrations = migrations
        return self._migrations

    def rows_of(self, name: str, write: Callable[[QuerySet], QuerySet]) -> list[tuple]:
        """The rows of the values_list queryset `write(self.migrations)`, which depends on nothing
        but these rows and `name`, by the statement written for them (WRITTEN)."""
        return WRITTEN.rows((name, *self.key), lambda: write(self.migrations))

    def count(self) -> int:
        if self.total is None:
            self.total = self.migrations.count()
        return self.total

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[Row]:
        """The rows of one page, with their next items due (two queries). Among many matches
        (more than CHOSEN_FIRST_ABOVE, when the caller has counted them), the page's migrations
        are chosen in a subquery that reads only what the filters and the order need, and only
        they are then read in full: on the national data set, sorting every match with all its
        columns took a third longer (16.7 against 12.0 ms, EXPLAIN ANALYZE). Among a few hundred,
        Django compiling the subquery costs more than it saves (a delivery partner's page: 5 ms
        more CPU)."""
        chosen_first = self.total is not None and self.total > CHOSEN_FIRST_ABOVE

        def write(migrations):
            if chosen_first:
                return migrations.filter(pk__in=migrations.values("pk")[index]).values_list(*self.fields)
            return migrations.values_list(*self.fields)[index]

        found = self.rows_of(f"page-{index.start}-{index.stop}-{chosen_first}", write)
        rows = [self._row(values) for values in found]
        add_next_items(rows)
        add_names(rows)
        return rows

    def chunks(self, size: int) -> Iterator[list[Row]]:
        """Every row, `size` at a time, each chunk with its next items due: one query for the rows,
        read as they are needed, and one per chunk."""
        chunk = []
        for values in self.migrations.values_list(*self.fields).iterator(chunk_size=size):
            chunk.append(self._row(values))
            if len(chunk) == size:
                add_next_items(chunk)
                add_names(chunk)
                yield chunk
                chunk = []
        if chunk:
            add_next_items(chunk)
            add_names(chunk)
            yield chunk

    def _row(self, values: tuple) -> Row:
        value = dict(zip(self.fields, values, strict=True))
        row = Row(
            *values[:3],
            "",  # the names: add_names()
            "",
            "",
            *values[6:10],
            *(count or 0 for count in values[10:13]),
            phase_position=value["progress__phase_position"],
            status_reason=value["status_reason"],
            icb_id=value["practice__icb_id"],
            source_id=value["source_supplier_id"],
            target_id=value["target_supplier_id"],
            delivery_partner_id=value["practice__delivery_partner_id"],
            idp_on=value["idp_on"],
            old_system_access_end_on=value["old_system_access_end_on"],
            phase_index=value["current_phase"],
            overdue=value["overdue_now"],
            gates_overdue=value["gates_overdue_now"],
            done_ahead=value["done_ahead_now"],
            next_due_on=value["next_due_on_now"],
            last_change_at=value.get("last_change_at"),
            last_check_in_on=value["progress__last_check_in_on"],
            check_in_rag=value["progress__check_in_rag"] or "",
            check_in_missed=bool(value["check_in_missed_now"]),
            check_in_red=bool(value["check_in_red_now"]),
        )
        today = self.today
        row.days_to_go = (row.go_live_on - today).days if row.go_live_on else None
        if row.phase_index is not None:
            # Named as in the migration's own checklist version (a later version may rename it).
            row.phase_key, title = self.options.phases[row.phase_index]
            row.phase_title = self.options.phase_titles.get((row.template_version_id, row.phase_key), title)
        else:
            row.phase_key, row.phase_title = DATES_NOT_AGREED
        if row.phase_position is not None:
            row.checklist_phase_key, row.checklist_phase_title = self.options.phase_by_position.get(
                (row.template_version_id, row.phase_position), (f"position-{row.phase_position}", "Unknown phase")
            )
        row.checklist_behind, row.checklist_text = checklist_lag(
            row.phase_index,
            row.checklist_phase_key if row.phase_position is not None else None,
            row.checklist_phase_title,
        )
        if value["rag_rank"] is not None:
            # The status is the database's (the filter and the sort used it); the reason is assess()'s.
            row.rag = BY_RANK[value["rag_rank"]]
            row.rag_reason = assess(
                applicable=row.applicable,
                done=row.done,
                done_ahead=row.done_ahead,
                overdue=row.overdue,
                gates_overdue=row.gates_overdue,
                check_in_missed=row.check_in_missed,
                check_in_red=row.check_in_red,
            ).reason
        else:
            row.rag_reason = row.status_reason
        return row


def find(user, filters: Filters, today: date, options: Options) -> list[Row]:
    """Every row `user` can see that matches `filters`, in order (for a few rows: the
    dashboard reads a page at a time, the CSV a chunk)."""
    return [row for chunk in Found(user, filters, today, options).chunks(500) for row in chunk]


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
    if filters.check_in:
        migrations = migrations.filter(CHECK_IN_FILTERS[filters.check_in][1](today))
    if filters.phase == DATES_NOT_AGREED[0]:
        migrations = migrations.filter(current_phase__isnull=True)
    elif filters.phase:
        migrations = migrations.filter(current_phase=PHASE_KEYS.index(filters.phase))
    if filters.search:
        migrations = migrations.filter(
            name_contains(filters.search, "practice__name") | Q(practice__ods_code__icontains=filters.search.strip())
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


def add_names(rows: list[Row]) -> None:
    """Name each row's ICB, systems and delivery partner (ROW_FIELDS reads their ids): one query of
    the few rows of three small tables, none when there are no rows."""
    if not rows:
        return
    found = {
        (kind, pk): name
        for kind, pk, name in _names(
            {row.icb_id for row in rows} - {None},
            {row.delivery_partner_id for row in rows} - {None},
            {row.source_id for row in rows} | {row.target_id for row in rows},
        )
    }
    for row in rows:
        row.icb_name = found.get(("icb", row.icb_id), "")
        row.source, row.target = found.get(("supplier", row.source_id), ""), found.get(("supplier", row.target_id), "")
        row.delivery_partner_name = found.get(("partner", row.delivery_partner_id))


def _names(icbs: set[int], partners: set[int], suppliers: set[int]) -> list[tuple[str, int, str]]:
    """(kind, id, name) of the given ICBs, delivery partners and systems, in one statement. Written
    as SQL (the names come from the models' metadata, quoted; every id is a parameter): the ORM's
    union of three querysets took 1.5 ms of the delivery partner's page to build and compile, for
    a statement PostgreSQL runs in a tenth of a millisecond."""
    quote = connection.ops.quote_name
    selects, params = [], []
    for kind, model, column, ids in (
        ("icb", ICB, "name", icbs),
        ("partner", DeliveryPartner, "name", partners),
        ("supplier", Supplier, "system_name", suppliers),
    ):
        if ids:
            table, key, name = quote(model._meta.db_table), quote("id"), quote(column)
            marks = ", ".join(["%s"] * len(ids))
            selects.append(f"SELECT '{kind}', {key}, {name} FROM {table} WHERE {key} IN ({marks})")  # nosec B608
            params += sorted(ids)
    if not selects:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), params)
        return cursor.fetchall()


NEXT_ITEM_FIELDS = ("migration_id", "due_on", "pk", "title", "owner__full_name", "owner__email", "responsible_role")

# Written by the ORM once (models/compiled.py), on PostgreSQL: every page of the dashboard runs it.
_NEXT_DUE = CompiledSelect(
    ChecklistItem,
    lambda migration_ids, due_dates: ChecklistItem.objects.next_due_in_step(migration_ids, due_dates).values_list(
        *NEXT_ITEM_FIELDS
    ),
    migration_ids=list,
    due_dates=list,
)


def add_next_items(rows: list[Row]) -> None:
    """Fill in the next item due of each row: the first open item due on its next due date, and
    who holds it. One query; none when no row has an item due."""
    wanted = {row.pk: row for row in rows if row.next_due_on is not None}
    if not wanted:
        return
    if connection.vendor == "postgresql":
        candidates = _NEXT_DUE.rows(migration_ids=list(wanted), due_dates=[row.next_due_on for row in wanted.values()])
    else:
        candidates = ChecklistItem.objects.next_due_candidates(
            {pk: row.next_due_on for pk, row in wanted.items()}
        ).values_list(*NEXT_ITEM_FIELDS)
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
    the CSV's first ones in the same order, and the CSV adds some. `sort`: the SQL the table sorts
    by when the column's heading is chosen (over matching()'s annotations)."""

    key: str
    heading: str
    csv_value: Callable[[Row], Any]
    sort: Expression | None = None
    numeric: bool = False
    in_table: bool = True


def _date(value: date | None) -> str:
    return value.isoformat() if value else ""


def _old_system_access_end(row: Row) -> date | None:
    """The end of old system access agreed, else the one expected from go-live (scheduling)."""
    return row.old_system_access_end_on or scheduling.expected_old_system_access_end(
        {Milestone.GO_LIVE: row.go_live_on, Milestone.OLD_SYSTEM_ACCESS_END: None}
    )


# Progress.percent in SQL: done as a whole percentage of applicable, halves rounded up; 100 with
# nothing applicable. Whole numbers, so that both databases divide alike.
_DONE = Coalesce("progress__items_done", 0)
_APPLICABLE = Coalesce("progress__items_applicable", 0)
PERCENT = Case(
    When(Q(progress__items_applicable__gt=0), then=(200 * _DONE + _APPLICABLE) / (2 * _APPLICABLE)),
    default=Value(100),
    output_field=IntegerField(),
)

COLUMNS = [
    Column("practice", "Practice", lambda row: row.practice_name, Lower("practice__name")),
    Column("ods_code", "ODS code", lambda row: row.ods_code, F("practice__ods_code")),
    Column("icb", "ICB", lambda row: row.icb_name, Lower("practice__icb__name")),
    Column(
        "suppliers",
        "Systems",
        lambda row: row.suppliers,
        Lower(Concat("source_supplier__system_name", Value(" to "), "target_supplier__system_name")),
    ),
    # By dates (phases.PHASE_STARTS); the table shows how far behind the checklist is under it.
    Column("phase", "Current phase", lambda row: row.phase_title, F("current_phase")),
    Column("go_live", "Go-live", lambda row: _date(row.go_live_on), F("go_live_on")),
    # In the CSV a number a spreadsheet sorts by: negative once live (the table says "Live 20 days").
    Column("days_to_go", "Days to go-live", lambda row: row.days_to_go, F("go_live_on"), numeric=True),
    Column("percent", "Complete (%)", lambda row: row.percent, F("percent"), numeric=True),
    Column("overdue", "Overdue", lambda row: row.overdue, F("overdue_now"), numeric=True),
    Column("blocked", "Blocked", lambda row: row.blocked, Coalesce("progress__items_blocked", 0), numeric=True),
    Column(
        "next_due",
        "Next item due",
        # In the CSV its date alone, a date a spreadsheet sorts by; the item is the next column.
        lambda row: _date(row.next_due_on),
        F("next_due_on_now"),
    ),
    # Rows with no RAG status (on hold, cancelled) say so, and sort last.
    Column("rag", "RAG status", lambda row: row.rag_label, F("rag_rank")),
    # The CSV's own columns: first why the RAG status is what it is, as the table says under it.
    Column("rag_reason", "RAG reason", lambda row: row.rag_reason, in_table=False),
    Column("checklist", "Checklist", lambda row: row.checklist_text, in_table=False),
    Column("delivery_partner", "Delivery partner", lambda row: row.delivery_partner_name or "", in_table=False),
    # The status alone, so that a spreadsheet filters by it; the reason is the next column (only on
    # hold and cancelled migrations have one: practicemigration_hold_and_cancel_have_reason).
    Column("status", "Status", lambda row: row.status_label, in_table=False),
    Column("status_reason", "Status reason", lambda row: row.status_reason, in_table=False),
    Column("idp", "IDP", lambda row: _date(row.idp_on), in_table=False),
    Column("fdp", "FDP", lambda row: _date(row.fdp_on), in_table=False),
    # As the migration page gives it: the agreed date or, until one is agreed, the expected one
    # (go-live + OLD_SYSTEM_ACCESS_DAYS), with the next column saying which.
    Column(
        "old_system_access_end",
        "Old system access ends",
        lambda row: _date(_old_system_access_end(row)),
        in_table=False,
    ),
    Column(
        "old_system_access_end_agreed",
        "Old system access end agreed",
        lambda row: ("Yes" if row.old_system_access_end_on else "No") if _old_system_access_end(row) else "",
        in_table=False,
    ),
    Column("next_item", "Next item", lambda row: row.next_item_title, in_table=False),
    Column("next_item_owner", "Next item owner", lambda row: row.next_item_owner, in_table=False),
    Column("last_change", "Last change", lambda row: _date(row.last_change_on), in_table=False),
    # The weekly check-ins (the table shows them under the RAG status).
    Column("last_check_in", "Last check-in", lambda row: _date(row.last_check_in_on), in_table=False),
    Column("check_in_rag", "Check-in RAG status", lambda row: row.check_in_rag_label, in_table=False),
    Column("check_in_missed", "Check-in missed", lambda row: "Yes" if row.check_in_missed else "No", in_table=False),
]
TABLE_COLUMNS = [column for column in COLUMNS if column.in_table]
SORTABLE = {column.key: column for column in TABLE_COLUMNS if column.sort is not None}
DEFAULT_SORT = "rag"
