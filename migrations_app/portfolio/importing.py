"""Importing an order tracker: every row of the file read against the database as new, an update,
unchanged or an error; a preview of that which saves nothing; and applying it, in one transaction,
through the same model methods as the start form and the milestones page.

Rows are looked at in batches of BATCH, each with one query per kind of thing it names
(practices, their unfinished migrations, project managers), so neither time nor memory follows the
file's length row by row. The due dates an update would move are worked out only for the rows a
preview page shows.
"""

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dates import MONTHS

from migrations_app import access, scheduling
from migrations_app.forms import DateInputError, parse_date
from migrations_app.models import (
    ICB,
    ChecklistProgress,
    DeliveryPartner,
    MigrationImport,
    Milestone,
    Practice,
    PracticeMigration,
    Supplier,
    TemplateVersion,
    User,
)
from migrations_app.portfolio.tracker_file import MAX_ROWS, FileProblem, Line, TrackerFile

BATCH = 500
PAGE_SIZE = 100
# New rows' migrations started in one start_all(): 13,100 items at a time.
STARTED_TOGETHER = 100
# The error summary lists this many problems; the rest are in the rows, a filter away.
PROBLEMS_LISTED = 100

# The file's date columns and the milestones they set.
DATE_COLUMNS = {
    "order_date": Milestone.ORDER_ACCEPTED,
    "go_live": Milestone.GO_LIVE,
    "idp": Milestone.IDP,
    "fdp": Milestone.FDP,
}
# Where the model's messages about a field go: the column that sets it.
COLUMN_OF_FIELD = {milestone.field_name: key for key, milestone in DATE_COLUMNS.items()} | {
    "source_supplier": "current_system",
    "target_supplier": "new_system",
    "ods_code": "ods_code",
    "name": "practice_name",
}
# What a practice's name may differ by in a file and still be the name the tracker has: curly quotes
# and dashes are what Excel's autocorrect types for straight ones (compared_name).
TYPED_ALIKE = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "`": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)
ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2}) *[/.\- ] *([0-9]{1,2}) *[/.\- ] *([0-9]{4})")


class RowKind(models.TextChoices):
    NEW = "new", "New"
    UPDATE = "update", "Update"
    UNCHANGED = "unchanged", "Unchanged"
    ERROR = "error", "Error"


def unsupported_practice_message(ods_code: str, *, has_partner: bool) -> str:
    """Why a practice in the tracker is not the starter's to start (access.Starter), by the code they
    typed: the practice is not named, as they may not see it. Without a full stop (a form's message)."""
    if has_partner:
        return (
            f"Another delivery partner supports the practice {ods_code}: if it has moved to yours, "
            "a support admin can change its delivery partner"
        )
    return f"The practice {ods_code} has no delivery partner in the tracker: ask a support admin to start its migration"


@dataclass(frozen=True)
class Problem:
    row: int
    column: str  # the column's heading as the file writes it
    message: str


@dataclass(frozen=True)
class Change:
    label: str
    old: object
    new: object

    @property
    def is_date(self) -> bool:
        return isinstance(self.new, date)


@dataclass
class Row:
    """One line of the file as the import would treat it."""

    number: int
    ods_code: str
    practice_name: str
    kind: RowKind = RowKind.ERROR
    problems: list[Problem] = field(default_factory=list)
    icb: ICB | None = None
    source: Supplier | None = None
    target: Supplier | None = None
    # The milestone dates the file gives (milestone value -> date); empty cells are left out.
    dates: dict[str, date] = field(default_factory=dict)
    project_manager_email: str = ""
    project_manager: User | None = None
    practice: Practice | None = None  # when the tracker knows it already
    migration: PracticeMigration | None = None  # its unfinished migration, when an update
    changes: list[Change] = field(default_factory=list)  # an update's, field by field
    milestone_changes: dict[str, date] = field(default_factory=dict)
    moves: list[scheduling.DueDateMove] = field(default_factory=list)  # filled for the rows a page shows
    # What to check about the dates the migration would have (scheduling.milestone_warnings): never a
    # problem, the row still imports. Filled for the new and updated rows a page shows.
    warnings: list[str] = field(default_factory=list)
    # Of an import applied already: what applying it did to the row (`kind`, from row_kinds), not
    # what it would do now.
    applied: bool = False

    @property
    def display_name(self) -> str:
        """The practice's name as the tracker has it when it knows the practice, else as the file gives it."""
        return self.practice.name if self.practice else self.practice_name

    @property
    def dates_given(self) -> list[tuple[str, date]]:
        """(label, date) of every milestone date the file gives, in the order of the migration's
        milestones: what a new row saves, all of it shown before it is saved."""
        return [(each.label, self.dates[each.value]) for each in Milestone if each.value in self.dates]


class ImportRefused(Exception):
    """The file cannot be applied as it is; nothing was saved."""


CHANGES_NOTHING = (
    "Every row of this file matches the tracker as it is already, so importing it would change nothing. "
    "Nothing was imported."
)


@dataclass
class Preview:
    counts: Counter
    # The first PROBLEMS_LISTED problems, each with the page of error rows it is on.
    problems: list[tuple[Problem, int]]
    problem_count: int
    rows: list[Row]  # the page asked for
    matching: int  # rows of the kind asked for, on every page
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // PAGE_SIZE))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def can_apply(self) -> bool:
        return not self.counts[RowKind.ERROR]

    @property
    def changes_nothing(self) -> bool:
        """Whether every row matches the tracker as it is (a file imported already): nothing to apply."""
        return not (self.counts[RowKind.ERROR] or self.counts[RowKind.NEW] or self.counts[RowKind.UPDATE])


def open_file(migration_import: MigrationImport) -> TrackerFile:
    return TrackerFile(migration_import.filename, bytes(migration_import.content))


def count_rows(tracker: TrackerFile) -> int:
    """The data rows of the file; a FileProblem past MAX_ROWS."""
    return _first_pass(tracker)[1]


def preview(migration_import: MigrationImport, starter: access.Starter, *, show: str = "", page: int = 1) -> Preview:
    """What applying the file would do, row by row, and page `page` of the rows of kind `show`
    (every kind when empty) with the due dates each update would move and what to check about each
    new or updated row's dates. Saves nothing."""
    result = Preview(Counter(), [], 0, [], 0, page)
    first, last = (page - 1) * PAGE_SIZE, page * PAGE_SIZE
    done = migration_import.row_kinds if migration_import.applied_at else {}
    with open_file(migration_import) as tracker:
        for row in analyse(tracker, starter, migration_import.delivery_partner):
            if str(row.number) in done:
                row.kind, row.applied = RowKind(done[str(row.number)]), True
            if row.problems:
                on_page = result.counts[RowKind.ERROR] // PAGE_SIZE + 1
                result.problem_count += len(row.problems)
                left = PROBLEMS_LISTED - len(result.problems)
                result.problems.extend((problem, on_page) for problem in row.problems[:left])
            result.counts[row.kind] += 1
            if show and row.kind != show:
                continue
            if first <= result.matching < last:
                result.rows.append(row)
            result.matching += 1
    for row in result.rows:
        if row.applied:
            continue
        if row.kind == RowKind.UPDATE and row.milestone_changes:
            row.moves = row.migration.preview_milestone_change(row.milestone_changes)
        if row.kind in (RowKind.NEW, RowKind.UPDATE):
            dates = (row.migration.milestone_dates() if row.migration else {}) | row.dates
            row.warnings = [warning.message for warning in scheduling.milestone_warnings(dates)]
            if row.kind == RowKind.NEW and (
                passed := scheduling.past_go_live_warning(row.dates.get(Milestone.GO_LIVE), timezone.localdate())
            ):
                row.warnings.append(passed)
    return result


def apply(migration_import: MigrationImport, starter: access.Starter, by: User) -> Counter:
    """Apply every row of the file in one transaction: new rows as PracticeMigration.start() starts
    one (prepare(), then start_all() for a batch of them, making the practices the tracker does not
    know first), updates through change_milestones_of() (a batch at a time) and
    change_project_manager(), with the
    file's name as the reason. Any
    row with a problem, found now or raised by a model method, refuses the whole file and saves
    nothing (ImportRefused). The import row is locked first and marked applied in the same
    transaction, so two confirmations at once apply it once: the second is refused."""
    reason = f"Imported from {migration_import.filename}"
    with transaction.atomic():
        locked = MigrationImport.objects.select_for_update().get(pk=migration_import.pk)
        if locked.applied_at is not None:
            applied_at = timezone.localtime(locked.applied_at)
            raise ImportRefused(f"This file was imported already, on {applied_at:%-d %B %Y at %H:%M}.")
        counts: Counter = Counter()
        kinds: dict[str, str] = {}
        replanning: list[Row] = []
        replanned: list[int] = []
        # One instance for every new row, so the checklist to copy is read once (rows_to_copy).
        template_version = TemplateVersion.objects.latest_published()
        starting = _Starting(migration_import.delivery_partner, by, template_version)
        with open_file(locked) as tracker:
            for row in analyse(tracker, starter, migration_import.delivery_partner):
                if row.kind == RowKind.ERROR:
                    raise ImportRefused(
                        "The file has rows with errors: fix them in the file and upload it again. Nothing was imported."
                    )
                with _refusing(f"Row {row.number}"):
                    if row.kind == RowKind.NEW:
                        starting.add(row)
                    elif row.kind == RowKind.UPDATE and row.project_manager_email:
                        row.migration.change_project_manager(row.project_manager, by=by, reason=reason)
                if row.kind == RowKind.UPDATE and row.milestone_changes:
                    replanning.append(row)
                if len(starting.rows) == STARTED_TOGETHER:
                    starting.start()
                if len(replanning) == BATCH:
                    _replan(replanning, by, reason)
                    replanned.extend(row.migration.pk for row in replanning)
                    replanning = []
                counts[row.kind] += 1
                kinds[str(row.number)] = row.kind.value
        if not (counts[RowKind.NEW] or counts[RowKind.UPDATE]):
            raise ImportRefused(CHANGES_NOTHING)
        starting.start()
        _replan(replanning, by, reason)
        replanned.extend(row.migration.pk for row in replanning)
        # The day's counts of every migration replanned, a few UPDATEs for the whole file.
        for start in range(0, len(replanned), BATCH):
            ChecklistProgress.count_day(timezone.localdate(), replanned[start : start + BATCH])
        locked.applied_at = timezone.now()
        locked.applied_by = by
        locked.outcome = outcome(counts)
        locked.row_kinds = kinds
        locked.save(update_fields=["applied_at", "applied_by", "outcome", "row_kinds"])
    migration_import.applied_at, migration_import.applied_by = locked.applied_at, by
    migration_import.outcome, migration_import.row_kinds = locked.outcome, kinds
    return counts


def outcome(counts: Counter) -> str:
    return f"{counts[RowKind.NEW]} new, {counts[RowKind.UPDATE]} updated, {counts[RowKind.UNCHANGED]} unchanged"


def _rows_named(rows: list[Row]) -> str:
    """ "Row 3", or "Rows 2 to 501" for a batch applied together."""
    if len(rows) == 1:
        return f"Row {rows[0].number}"
    return f"Rows {rows[0].number} to {rows[-1].number}"


@contextmanager
def _refusing(rows: str) -> Iterator[None]:
    """A model's refusal of `rows` ("Row 12") as the import's: nothing is saved."""
    try:
        yield
    except (ValidationError, IntegrityError) as error:
        messages = error.messages if isinstance(error, ValidationError) else [str(error)]
        raise ImportRefused(f"{rows}: {' '.join(messages)} Nothing was imported.") from error


def _practice_messages(name: str, errors: list[ValidationError]) -> list[str]:
    """The model's messages about a practice's ODS code or name, in the service's words: a value too
    long is said once, plainly (Django's "Ensure this value has at most ..." is not), and an ODS code
    that is both too long and of the wrong form is told its form only."""
    messages = [message for each in errors if each.code != "max_length" for message in each.messages]
    too_long = [each for each in errors if each.code == "max_length"]
    if too_long and not messages:
        what = "The practice name" if name == "name" else "The ODS code"
        messages.append(f"{what} must be {too_long[0].params['limit_value']:,} characters or fewer.")
    return messages


class _Starting:
    """The new rows' migrations, validated row by row as PracticeMigration.start() validates one, and
    started STARTED_TOGETHER at a time (start_all): a few statements for a hundred checklists."""

    def __init__(self, partner: DeliveryPartner, by: User, template_version: TemplateVersion | None) -> None:
        self.partner, self.by, self.template_version = partner, by, template_version
        self.rows: list[Row] = []
        self.migrations: list[PracticeMigration] = []

    def add(self, row: Row) -> None:
        practice = row.practice
        if practice is None:
            practice = Practice(
                ods_code=row.ods_code, name=row.practice_name, icb=row.icb, delivery_partner=self.partner
            )
            # The ODS code's format is its field's validator; the database holds the constraint too. The
            # ICB and delivery partner are rows already read, so checking they exist would be a query each.
            practice.full_clean(exclude=["icb", "delivery_partner"], validate_constraints=False)
        self.migrations.append(
            PracticeMigration.prepare(
                practice=practice,
                source_supplier=row.source,
                target_supplier=row.target,
                template_version=self.template_version,
                created_by=self.by,
                project_manager=row.project_manager,
                **{Milestone(milestone).field_name: day for milestone, day in row.dates.items()},
            )
        )
        self.rows.append(row)

    def start(self) -> None:
        if not self.rows:
            return
        with _refusing(_rows_named(self.rows)):
            Practice.objects.bulk_create(
                [migration.practice for migration in self.migrations if migration.practice.pk is None]
            )
            PracticeMigration.start_all(self.migrations)
        self.rows, self.migrations = [], []


def _replan(rows: list[Row], by: User, reason: str) -> None:
    """The milestone changes of `rows`, in one change_milestones_of(); the day's counts are left to
    apply(), once for the file."""
    if rows:
        with _refusing(_rows_named(rows)):
            PracticeMigration.change_milestones_of(
                {row.migration.pk: row.milestone_changes for row in rows}, by=by, reason=reason, count=False
            )


# --- reading the rows against the database -----------------------------------------------------------


def analyse(tracker: TrackerFile, starter: access.Starter, partner: DeliveryPartner | None) -> Iterator[Row]:
    """Every data row of the file, in order, as the import would treat it."""
    if partner is None or not starter.may_act_for(partner.pk):
        raise PermissionDenied
    duplicates, _ = _first_pass(tracker)
    context = _Context(tracker, starter, partner, duplicates)
    batch: list[Line] = []
    for line in tracker.lines():
        batch.append(line)
        if len(batch) == BATCH:
            yield from context.rows(batch)
            batch = []
    if batch:
        yield from context.rows(batch)


def _first_pass(tracker: TrackerFile) -> tuple[dict[str, int], int]:
    """ODS codes on more than one row (with how many), and the number of data rows; a FileProblem
    past MAX_ROWS, before any row is looked at."""
    seen: Counter = Counter()
    count = 0
    for line in tracker.lines():
        count += 1
        if count > MAX_ROWS:
            raise FileProblem(
                f"The file has more than {MAX_ROWS:,} rows: the most one import takes.", "Split it into smaller files."
            )
        code = line.text("ods_code").upper()
        if code:
            seen[code] += 1
    return {code: times for code, times in seen.items() if times > 1}, count


class _Context:
    """What every row is read against: the file's headings, the suppliers and ICBs (a few rows,
    read once), whose tracker it is, and who is importing it."""

    def __init__(self, tracker: TrackerFile, starter: access.Starter, partner: DeliveryPartner, duplicates) -> None:
        self.headings = tracker.headings
        self.starter = starter
        self.partner = partner
        self.duplicates = duplicates
        # A system by its name or its supplier's, or by the first word of either when that names
        # one supplier only: "EMIS" for EMIS Web (EMIS Health), as trackers often write it.
        self.suppliers: dict[str, Supplier] = {}
        first_words: dict[str, set[Supplier]] = {}
        for supplier in Supplier.objects.all():
            for name in (supplier.system_name, supplier.name):
                self.suppliers.setdefault(name.casefold().strip(), supplier)
                if name.split():
                    first_words.setdefault(name.split()[0].casefold(), set()).add(supplier)
        for word, suppliers in first_words.items():
            if len(suppliers) == 1:
                self.suppliers.setdefault(word, next(iter(suppliers)))
        self.system_names = sorted({supplier.system_name for supplier in self.suppliers.values()})
        # By code, or by name as a tracker spreadsheet may give it instead (its "ICB" column).
        self.icbs = {key: icb for icb in ICB.objects.all() for key in (icb.code.upper(), icb.name.upper())}

    def rows(self, lines: list[Line]) -> Iterator[Row]:
        rows = [self._parse(line) for line in lines]
        codes = [row.ods_code for row in rows if row.ods_code]
        practices = {
            practice.ods_code: practice
            for practice in Practice.objects.filter(ods_code__in=codes).select_related("icb", "delivery_partner")
        }
        unfinished = {
            migration.practice_id: migration
            for migration in PracticeMigration.objects.unfinished()
            .filter(practice__in=list(practices.values()))
            .select_related("source_supplier", "target_supplier", "project_manager")
        }
        managers: dict[str, tuple[User, set[int]]] = {}
        emails = [row.project_manager_email for row in rows if row.project_manager_email]
        for membership in access.project_manager_memberships().filter(user__email__in=emails).select_related("user"):
            user, partner_ids = managers.setdefault(membership.user.email, (membership.user, set()))
            partner_ids.add(membership.delivery_partner_id)
        for row in rows:
            row.practice = practices.get(row.ods_code)
            migration = unfinished.get(row.practice.pk) if row.practice else None
            if not row.problems:
                self._classify(row, migration, managers)
            elif self._names_its_practice(row) and row.source and row.target:
                # A cell that could not be read stops the row, but its other checks still run, so
                # that one upload names every problem the row has.
                self._check_migration(row, migration, row.practice, managers)
            if row.problems:
                row.kind = RowKind.ERROR
            yield row

    def _problem(self, row: Row, key: str, message: str) -> None:
        row.problems.append(Problem(row.number, self.headings.get(key, ""), message))

    def _parse(self, line: Line) -> Row:
        """The row's cells as values, with a problem for each one that is not what its column takes."""
        row = Row(line.number, line.text("ods_code").upper(), line.text("practice_name"))
        for key in sorted(line.formulas, key=list(self.headings).index):
            self._problem(row, key, f"{self.headings[key]} holds a formula: type the value itself.")
        if row.problems:
            return row
        if not row.ods_code:
            self._problem(row, "ods_code", "Enter the practice's ODS code.")
        elif row.ods_code in self.duplicates:
            self._problem(
                row,
                "ods_code",
                f"{row.ods_code} is on {self.duplicates[row.ods_code]} rows of the file: keep one row per practice.",
            )
        if not row.practice_name:
            self._problem(row, "practice_name", "Enter the practice name.")
        # The model's own checks of an ODS code and a name (format, length).
        try:
            Practice(ods_code=row.ods_code or "A00000", name=row.practice_name or "-").clean_fields(
                exclude=["icb", "delivery_partner"]
            )
        except ValidationError as error:
            for name, errors in error.error_dict.items():
                self._problem(row, COLUMN_OF_FIELD.get(name, "ods_code"), " ".join(_practice_messages(name, errors)))
        icb_code = line.text("icb_code")
        row.icb = self.icbs.get(icb_code.upper())
        if not icb_code:
            self._problem(row, "icb_code", "Enter the ICB code, for example QWE.")
        elif row.icb is None:
            self._problem(
                row,
                "icb_code",
                f'No ICB has the code or name "{icb_code}". The import page lists every ICB with its code.',
            )
        row.source = self._supplier(row, line, "current_system")
        row.target = self._supplier(row, line, "new_system")
        for key, milestone in DATE_COLUMNS.items():
            if key not in self.headings:
                continue
            try:
                day = cell_date(self.headings[key], line.cells[key])
            except DateInputError as error:
                self._problem(row, key, error.messages[0])
                continue
            if day is not None:
                row.dates[milestone.value] = day
        row.project_manager_email = line.text("project_manager").lower()
        return row

    def _supplier(self, row: Row, line: Line, key: str) -> Supplier | None:
        name = line.text(key)
        supplier = self.suppliers.get(name.casefold())
        if not name:
            self._problem(row, key, f"Enter the {self.headings[key].lower()}.")
        elif supplier is None:
            self._problem(
                row, key, f'No clinical system is called "{name}". Use one of: {", ".join(self.system_names)}.'
            )
        return supplier

    def _check_migration(
        self, row: Row, migration: PracticeMigration | None, practice: Practice | None, managers
    ) -> None:
        """The migration the row would make or leave, checked by the model (supplier pair,
        milestone order), and its project manager."""
        dates = (migration.milestone_dates() if migration else {}) | row.dates
        candidate = PracticeMigration(
            source_supplier=row.source,
            target_supplier=row.target,
            **{Milestone(milestone).field_name: day for milestone, day in dates.items()},
        )
        try:
            candidate.clean()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                key = COLUMN_OF_FIELD.get(name)
                heading = self.headings.get(key, "") if key else Milestone(name.removesuffix("_on")).label
                for message in messages:
                    row.problems.append(Problem(row.number, heading, message + _kept_date(name, row, migration)))
        if row.project_manager_email:
            partner_id = practice.delivery_partner_id if practice and practice.delivery_partner_id else self.partner.pk
            user, partner_ids = managers.get(row.project_manager_email, (None, set()))
            if partner_id not in partner_ids:
                self._problem(
                    row,
                    "project_manager",
                    f"{row.project_manager_email} is not a project manager at the practice's delivery partner.",
                )
            row.project_manager = user

    def _names_its_practice(self, row: Row) -> bool:
        """Whether the row's name is that of the practice its ODS code is in the tracker (or the
        code is new to it); a problem if not, as the code is more likely mistyped than the name,
        and the row's other checks would be about another practice. A name with a problem of its
        own (none, too long, a formula) is not compared."""
        practice = row.practice
        heading = self.headings["practice_name"]
        if practice is None or not row.practice_name or any(each.column == heading for each in row.problems):
            return True
        if compared_name(row.practice_name) == compared_name(practice.name):
            return True
        self._problem(
            row,
            "ods_code",
            f"{practice.ods_code} is {practice.name} in the tracker, not {row.practice_name}: check the ODS code. "
            "If the tracker has the name wrong, a support admin can correct it.",
        )
        return False

    def _classify(self, row: Row, migration: PracticeMigration | None, managers) -> None:
        """New, update or unchanged, or the problems that stop the row."""
        practice = row.practice
        if practice is not None:
            # Whose the practice is comes first: a practice of another delivery partner is not named
            # (nor its name compared) to someone who cannot see it.
            unsupported = practice.delivery_partner_id is None and not self.starter.every_practice
            others = not self.starter.may_start_for(practice) or practice.delivery_partner_id not in (
                None,
                self.partner.pk,
            )
            if unsupported or others:
                self._problem(
                    row, "ods_code", unsupported_practice_message(practice.ods_code, has_partner=not unsupported) + "."
                )
                # Shown as the file names it: the tracker's name of a practice they cannot see is not theirs to read.
                row.practice = None
                return
        if not self._names_its_practice(row):
            return
        if practice is not None and practice.icb_id != row.icb.pk:
            self._problem(row, "icb_code", f"{practice} is in {practice.icb} ({practice.icb.code}).")
        if migration is not None and (migration.source_supplier_id, migration.target_supplier_id) != (
            row.source.pk,
            row.target.pk,
        ):
            self._problem(
                row,
                "new_system",
                f"{practice} has a migration that is not finished, from {migration.source_supplier} to "
                f"{migration.target_supplier}: it must be completed or cancelled before another can start.",
            )
            return
        if migration is None and Milestone.ORDER_ACCEPTED not in row.dates:
            # A new migration starts from its order; an update may leave the order date as it is.
            self._problem(row, "order_date", "Enter the order date.")
            return
        self._check_migration(row, migration, practice, managers)
        if row.problems:
            return
        if migration is None:
            row.kind = RowKind.NEW
            return
        row.migration = migration
        current = migration.milestone_dates()
        row.milestone_changes = {key: day for key, day in row.dates.items() if current[key] != day}
        row.changes = [Change(Milestone(key).label, current[key], day) for key, day in row.milestone_changes.items()]
        if row.project_manager_email and row.project_manager.pk != migration.project_manager_id:
            row.changes.append(Change("Project manager", migration.project_manager, row.project_manager))
        row.kind = RowKind.UPDATE if row.changes else RowKind.UNCHANGED


def compared_name(name: str) -> str:
    """A practice's name as a file's is compared with the tracker's: any case and spacing, "&" for
    "and", with or without a full stop at the end, curly quotes and dashes for straight ones. Other
    differences ("St Marys" for "St Mary's", "HC" for "Health Centre") are another name: the file
    is corrected, not guessed at."""
    words = name.translate(TYPED_ALIKE).replace("&", " and ").casefold().split()
    return " ".join(words).removesuffix(".").rstrip()


def _kept_date(field: str, row: Row, migration: PracticeMigration | None) -> str:
    """For a problem with a milestone the row does not give (not a column of the file, or left
    empty), what the migration has for it and where to change it: the person sees a date they did
    not type, and why it stops the row."""
    milestone = field.removesuffix("_on")
    if migration is None or milestone not in Milestone.values:
        return ""
    saved = migration.milestone_dates()
    if milestone in row.dates:
        # A date the row gives, out of order with one it leaves as it is: that one is explained.
        milestone = _clashing_kept(milestone, row, saved) or ""
        if not milestone:
            return ""
    kept = saved.get(milestone)
    if kept is None:
        return ""
    label = Milestone(milestone).label
    return (
        f" The migration's {label[0].lower()}{label[1:]} date is {kept.day} {MONTHS[kept.month]} {kept.year}, "
        "which this row does not change: change that on the migration's milestones page, or change this row's dates."
    )


def _clashing_kept(milestone: str, row: Row, saved: dict) -> str | None:
    """The milestone the row leaves as it is whose saved date is out of order with the row's date
    for `milestone` (scheduling.MILESTONE_ORDER), if one is."""
    given = row.dates[milestone]
    if given is None:
        return None
    for rule in scheduling.MILESTONE_ORDER:
        if milestone not in (rule.earlier, rule.later):
            continue
        other = rule.earlier if milestone == rule.later else rule.later
        if other in row.dates or saved.get(other) is None:
            continue
        earlier, later = (saved[other], given) if milestone == rule.later else (given, saved[other])
        if later < earlier or (rule.strict and later == earlier):
            return other
    return None


def cell_date(label: str, value: object) -> date | None:
    """A date cell: a real Excel date, or text as day month year (27/03/2027, 27-3-2027, 27 3
    2027) or ISO (2027-03-27). The range and real-date checks are the date input's (parse_date)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return parse_date(label, str(value.day), str(value.month), str(value.year), example="27/03/2027")
    text = str(value).strip() if isinstance(value, str) else ""
    if match := ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := DAY_MONTH_YEAR.fullmatch(text):
        day, month, year = match.groups()
    else:
        raise DateInputError(f"{label} must be a date, for example 27/03/2027 or 2027-03-27")
    return parse_date(label, day, month, year, example="27/03/2027")
