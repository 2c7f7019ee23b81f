"""A practice's migration: its systems, milestones and status, starting one from a published
checklist, and its lifecycle (on hold, resumed, cancelled, completed: TRANSITIONS). Its checklist
(phases, items, progress, event log) is in checklist_items.py, below it."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from migrations_app import scheduling
from migrations_app.models.bulk import insert_copies, insert_rows, set_dates
from migrations_app.models.checklist_items import (
    ChecklistItem,
    ChecklistProgress,
    DayCounts,
    MigrationPhase,
    Progress,
    condition_reason,
    date_text,
)
from migrations_app.models.checklist_templates import ItemTemplate, TemplateVersion
from migrations_app.models.choices import (
    OPEN_STATUSES,
    Condition,
    ItemStatus,
    MigrationStatus,
    Milestone,
)
from migrations_app.models.compiled import CompiledSelect
from migrations_app.models.events import Event
from migrations_app.models.people import ICB, DeliveryPartner, Practice, Supplier


@dataclass(frozen=True)
class _NewItem:
    """What a new migration's counts read of each item it starts with (DayCounts.of, Progress.of)."""

    status: str
    kind: str
    due_on: date | None
    phase_position: int


# The columns of the event log change_milestones() writes, in the order of its rows of values.
EVENT_COLUMNS = ("migration", "item", "actor", "kind", "field", "old_value", "new_value", "reason")

# The related rows start() is given as objects (see there).
FOREIGN_KEYS_GIVEN = [
    "practice",
    "source_supplier",
    "target_supplier",
    "template_version",
    "created_by",
    "project_manager",
]
MILESTONE_FIELDS = [milestone.field_name for milestone in Milestone]

# Written by the ORM once per process (models/compiled.py): every migration page reads the latest
# upgrade, and a page of a migration not in progress its latest change of status. Writing the
# upgrade's statement took about 0.8 ms of the page's 13 ms of CPU, more than running it.
_LATEST_UPGRADE = CompiledSelect(
    Event,
    lambda migration_id, since: (
        Event.objects.filter(
            migration_id=migration_id, kind=Event.Kind.UPGRADE, item=None, field="template_version", at__date__gt=since
        )
        .select_related("actor")
        .order_by("-at", "-pk")[:1]
    ),
    migration_id=int,
    since=date,
)
_LATEST_STATUS_CHANGE = CompiledSelect(
    Event,
    lambda migration_id: (
        Event.objects.filter(migration_id=migration_id, kind=Event.Kind.MIGRATION_STATUS, item=None)
        .select_related("actor")
        .order_by("-at", "-pk")[:1]
    ),
    migration_id=int,
)


class PracticeMigrationQuerySet(models.QuerySet):
    def in_progress(self) -> "PracticeMigrationQuerySet":
        """Migrations under way and not on hold: the ones whose items can fall due (reminders,
        sign-off requests, the calendar feed)."""
        return self.filter(status=PracticeMigration.Status.ACTIVE)

    def unfinished(self) -> "PracticeMigrationQuerySet":
        """Migrations neither completed nor cancelled (in progress or on hold): a practice's
        current migration, at most one per practice."""
        return self.filter(status__in=UNFINISHED_STATUSES)

    def with_progress(self) -> "PracticeMigrationQuerySet":
        """Each migration with its kept counts (`migration.progress`, a ChecklistProgress) in the
        same query, rather than counting its items again."""
        return self.select_related("progress")

    def facets(self) -> list[tuple]:
        """The ICBs, delivery partners and (source, target) system pairs of these migrations, with
        names: the choices a dashboard offers, so no option names an organisation whose
        migrations the user cannot see. One query whatever the number of migrations, with a row
        per choice: (kind, id, name, id, name), where kind is "icb", "partner" or "pair" and only
        a pair has a second id and name (the others repeat the first).

        The migrations are read once, in a WITH clause, and the three lists are made from that one
        pass (distinct ids, then their names), not from a distinct list of the four together: on
        ten times the national data set the combinations were tens of thousands of rows. Read
        three times instead, a union of three queries over the migrations, a delivery partner's
        700 of 7,000 took twice as long in PostgreSQL (18 against 9 ms, EXPLAIN ANALYZE).

        For every migration (a national viewer's: no filter), each ICB, delivery partner and pair
        of systems is asked instead whether it has one (_EVERY_FACET_SQL), which reads a row or
        two per organisation rather than every migration: 0.35 ms on the national data set, 2.4 ms
        on ten times it (420 ICBs, 100 delivery partners), whatever the number of migrations."""
        statement = self.facets_statement()
        if statement is None:
            return []
        with connections[self.db].cursor() as cursor:
            cursor.execute(*statement)
            return cursor.fetchall()

    def facets_statement(self) -> tuple[str, list] | None:
        """The SQL and parameters of facets(); None when these migrations are none (.none())."""
        if not self.query.where:
            return _every_facet_sql(connections[self.db]), []
        inner = self.order_by().values_list(
            "practice__icb_id", "practice__delivery_partner_id", "source_supplier_id", "target_supplier_id"
        )
        try:
            inner_sql, params = inner.query.sql_with_params()
        except EmptyResultSet:  # none of them (.none()): nothing to offer
            return None
        return _facets_sql(connections[self.db], inner_sql), list(params)


def _facets_sql(connection, inner_sql: str) -> str:
    """PracticeMigrationQuerySet.facets' statement around `inner_sql` (the migrations' ICB,
    delivery partner, source and target system ids, in that order). Table names come from the
    models' metadata; every value is a parameter of `inner_sql`."""
    quote = connection.ops.quote_name
    icb, partner, supplier = (quote(model._meta.db_table) for model in (ICB, DeliveryPartner, Supplier))
    return (
        f"WITH visible (icb_id, partner_id, source_id, target_id) AS ({inner_sql}) "  # nosec B608: table names from the models, values are parameters
        f"SELECT 'icb', icb.id, icb.name, icb.id, icb.name FROM {icb} icb "
        "WHERE icb.id IN (SELECT icb_id FROM visible) "
        f"UNION ALL SELECT 'partner', partner.id, partner.name, partner.id, partner.name FROM {partner} partner "
        "WHERE partner.id IN (SELECT partner_id FROM visible) "
        "UNION ALL SELECT 'pair', source.id, source.system_name, target.id, target.system_name "
        "FROM (SELECT DISTINCT source_id, target_id FROM visible) pairs "
        f"JOIN {supplier} source ON source.id = pairs.source_id JOIN {supplier} target ON target.id = pairs.target_id"
    )


def _every_facet_sql(connection) -> str:
    """PracticeMigrationQuerySet.facets' statement over every migration: the organisations and
    pairs of systems that have one. Each is a subquery with LIMIT 1, which the database runs once
    per organisation, stopping at the first migration found (PostgreSQL keeps it a subplan rather
    than joining every migration). Table names come from the models' metadata; no value is read."""
    quote = connection.ops.quote_name
    icb, partner, supplier, practice, migration = (
        quote(model._meta.db_table) for model in (ICB, DeliveryPartner, Supplier, Practice, PracticeMigration)
    )

    def has_migration(column: str, organisation: str) -> str:
        return (
            f"(SELECT 1 FROM {practice} p JOIN {migration} m ON m.practice_id = p.id "  # nosec B608: table names from the models
            f"WHERE p.{column} = {organisation}.id LIMIT 1) IS NOT NULL"
        )

    return (
        f"SELECT 'icb', icb.id, icb.name, icb.id, icb.name FROM {icb} icb "  # nosec B608: table names from the models
        f"WHERE {has_migration('icb_id', 'icb')} "
        f"UNION ALL SELECT 'partner', partner.id, partner.name, partner.id, partner.name FROM {partner} partner "
        f"WHERE {has_migration('delivery_partner_id', 'partner')} "
        "UNION ALL SELECT 'pair', source.id, source.system_name, target.id, target.system_name "
        f"FROM {supplier} source CROSS JOIN {supplier} target WHERE source.id <> target.id AND "
        f"(SELECT 1 FROM {migration} m WHERE m.source_supplier_id = source.id AND m.target_supplier_id = target.id "
        "LIMIT 1) IS NOT NULL"
    )


def _order_constraints() -> list[models.CheckConstraint]:
    """The guide's milestone sequence, held by the database as well as by forms."""
    constraints = []
    for rule in scheduling.MILESTONE_ORDER:
        earlier, later = rule.earlier.field_name, rule.later.field_name
        in_order = Q(**{f"{later}__gt" if rule.strict else f"{later}__gte": F(earlier)})
        constraints.append(
            models.CheckConstraint(
                condition=Q(**{f"{earlier}__isnull": True}) | Q(**{f"{later}__isnull": True}) | in_order,
                name=f"practicemigration_{rule.earlier.value}_before_{rule.later.value}",
            )
        )
    return constraints


# At module level, and named on the model as PracticeMigration.Status, so that the model's
# constraints can read its values (a class nested in the model is out of Meta's reach).
# Not finished: at most one per practice. On hold pauses reminders and overdue, but the practice
# still has the migration in hand.
UNFINISHED_STATUSES = (MigrationStatus.ACTIVE, MigrationStatus.ON_HOLD)
# Each milestone's value and the field of its date.
_MILESTONE_FIELDS = tuple((milestone.value, milestone.field_name) for milestone in Milestone)

# Nothing of a migration on hold or cancelled is due: none of its items counts as overdue (the
# migration page, the dashboard, which shows no RAG status for it) and nobody is reminded of them.
PAUSED_STATUSES = (MigrationStatus.ON_HOLD, MigrationStatus.CANCELLED)


@dataclass(frozen=True)
class Transition:
    """One move of a migration's lifecycle: from which statuses, to which, and how it reads."""

    sources: frozenset[str]
    target: str
    done: str  # "This migration is on hold, so it cannot be <done>."


# The one table of a migration's lifecycle, by the method that makes each move. The model refuses
# anything else; the constraints below hold what each status carries (when on hold since, why on
# hold or cancelled, when finished). Cancelled is final. Completed follows the "migration complete"
# gate: signing it completes the migration, reopening it makes the migration active again.
TRANSITIONS: dict[str, Transition] = {
    "hold": Transition(frozenset({MigrationStatus.ACTIVE}), MigrationStatus.ON_HOLD, "put on hold"),
    "resume": Transition(frozenset({MigrationStatus.ON_HOLD}), MigrationStatus.ACTIVE, "resumed"),
    "cancel": Transition(frozenset(UNFINISHED_STATUSES), MigrationStatus.CANCELLED, "cancelled"),
    "complete": Transition(frozenset({MigrationStatus.ACTIVE}), MigrationStatus.COMPLETED, "completed"),
    "reopen": Transition(frozenset({MigrationStatus.COMPLETED}), MigrationStatus.ACTIVE, "reopened"),
}


class PracticeMigration(models.Model):
    """One practice's move from its current (source) supplier to a new (target) one."""

    Status = MigrationStatus

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="migrations")
    source_supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="+", verbose_name="current (source) supplier"
    )
    target_supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="+", verbose_name="new (target) supplier"
    )
    template_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="migrations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    order_accepted_on = models.DateField("order accepted", null=True, blank=True)
    kick_off_on = models.DateField("kick-off", null=True, blank=True)
    technical_survey_on = models.DateField("technical survey", null=True, blank=True)
    idp_on = models.DateField("initial data production (IDP)", null=True, blank=True)
    data_checking_signoff_on = models.DateField("data-checking sign-off", null=True, blank=True)
    cutover_planning_on = models.DateField("cutover planning meeting", null=True, blank=True)
    fdp_on = models.DateField("final data production (FDP)", null=True, blank=True)
    go_live_on = models.DateField("go-live", null=True, blank=True)
    old_system_access_end_on = models.DateField("old system access ends", null=True, blank=True)

    # Attributes that item conditions read (see Condition).
    dispensing_practice = models.BooleanField(default=False)
    new_hardware_needed = models.BooleanField(
        default=False, help_text="The technical survey found new hardware or software is needed."
    )
    uses_document_management = models.BooleanField(
        default=False, help_text="The practice uses a document management system (a subsidiary supplier's)."
    )
    electronic_repeat_dispensing = models.BooleanField(
        default=False, help_text="The practice issues electronic repeat dispensing (eRD) prescriptions."
    )
    offers_online_services = models.BooleanField(
        default=False, help_text="Patients use online services (appointments, repeat prescriptions, records)."
    )

    project_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="delivery partner's project manager",
    )

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Since when the migration is on hold (empty unless it is).
    held_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True, help_text="Why the migration is on hold or was cancelled.")
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PracticeMigrationQuerySet.as_manager()

    class Meta:
        ordering = ["go_live_on", "practice__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MigrationStatus.values), name="practicemigration_status_valid"
            ),
            models.UniqueConstraint(
                fields=["practice"],
                condition=Q(status__in=list(UNFINISHED_STATUSES)),
                name="practicemigration_one_unfinished_per_practice",
            ),
            models.CheckConstraint(
                condition=~Q(source_supplier=F("target_supplier")), name="practicemigration_suppliers_differ"
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(UNFINISHED_STATUSES), finished_at__isnull=True)
                | (~Q(status__in=list(UNFINISHED_STATUSES)) & Q(finished_at__isnull=False)),
                name="practicemigration_finished_at_with_status",
            ),
            # On hold: since when, and why. Cancelled: why. Nothing else carries either.
            models.CheckConstraint(
                condition=(Q(status="on_hold", held_at__isnull=False) & ~Q(status_reason=""))
                | (Q(status="cancelled", held_at__isnull=True) & ~Q(status_reason=""))
                | Q(status__in=["active", "completed"], held_at__isnull=True, status_reason=""),
                name="practicemigration_hold_and_cancel_have_reason",
            ),
            *_order_constraints(),
        ]
        indexes = [
            # A pair of systems is offered as a dashboard filter when it has a migration
            # (_every_facet_sql): found through this index, even for a pair with none.
            models.Index(fields=["source_supplier", "target_supplier"], name="migration_systems_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.practice}: {self.source_supplier} to {self.target_supplier}"

    def milestone_dates(self) -> dict[str, date | None]:
        # Read for every item a page shows (ChecklistItem.due_date_moved_from): by the fields' names,
        # not through the enum's members and properties each time.
        return {value: getattr(self, name) for value, name in _MILESTONE_FIELDS}

    def clean(self) -> None:
        errors: dict[str, str] = scheduling.milestone_order_errors(self.milestone_dates())
        if self.source_supplier_id and self.source_supplier_id == self.target_supplier_id:
            errors["target_supplier"] = "The new system must be different from the current system."
        if self.practice_id and self.status in UNFINISHED_STATUSES:
            others = PracticeMigration.objects.unfinished().filter(practice_id=self.practice_id).exclude(pk=self.pk)
            if others.exists():
                errors["practice"] = "This practice already has a migration in progress."
        if errors:
            raise ValidationError(errors)

    @classmethod
    def start(cls, **arguments) -> "PracticeMigration":
        """Create a migration from the latest published version of the guide, with every
        item's due date computed from the milestones given. Validates first; saves nothing
        if anything is wrong. The arguments are prepare()'s."""
        migration = cls.prepare(**arguments)
        # No savepoint: a failure inside a larger transaction is a failure of all of it.
        with transaction.atomic(savepoint=False):
            cls.start_all([migration])
        return migration

    @classmethod
    def prepare(
        cls,
        *,
        practice: Practice,
        source_supplier: Supplier,
        target_supplier: Supplier,
        template_version: TemplateVersion | None = None,
        created_by=None,
        **fields,
    ) -> "PracticeMigration":
        """The migration start() makes, validated and not saved yet: start_all() saves it. A
        ValidationError if anything is wrong. The practice may be one not saved yet (an import's
        new practice), saved before start_all()."""
        if template_version is None:
            template_version = TemplateVersion.objects.latest_published()
            if template_version is None:
                raise ValidationError("No published checklist template: run `manage.py load_guide` first.")
        elif not template_version.is_published:
            raise ValidationError("A migration can only be made from a published template version.")
        migration = cls(
            practice=practice,
            source_supplier=source_supplier,
            target_supplier=target_supplier,
            template_version=template_version,
            created_by=created_by,
            **fields,
        )
        # Not validate_constraints: Django checks each CheckConstraint with a query of its own (26 here),
        # half the cost of a start when an import starts thousands. clean() gives the messages people
        # see for the ones they can break, and the database refuses any row that breaks one.
        # Nor the foreign keys: they are given as rows, so a query each to check they exist tells nothing.
        migration.full_clean(exclude=FOREIGN_KEYS_GIVEN, validate_constraints=False)
        return migration

    @classmethod
    def start_all(cls, migrations: list["PracticeMigration"]) -> None:
        """Save migrations made by prepare() and copy each one's checklist (instantiate_all()), in a
        few statements for all of them. Call inside a transaction."""
        cls.objects.bulk_create(migrations)
        cls.instantiate_all(migrations)

    def instantiate(self) -> None:
        """Copy the template version's phases and items onto this migration."""
        type(self).instantiate_all([self])

    @classmethod
    def instantiate_all(cls, migrations: list["PracticeMigration"]) -> None:
        """Copy each saved migration's template version's phases and items onto it, with every
        item's due date from its milestones, its counts (ChecklistProgress) and its "created"
        event: one statement a table for all of them."""
        phase_rows: list[MigrationPhase] = []
        for migration in migrations:
            phase_templates, _ = migration.template_version.rows_to_copy()
            phase_rows.extend(
                MigrationPhase(migration=migration, key=phase.key, title=phase.title, position=phase.position)
                for phase in phase_templates
            )
        created = iter(MigrationPhase.objects.bulk_create(phase_rows))
        # Rows of values, not ChecklistItem instances: an import starts thousands of migrations
        # (bulk.insert_copies copies the template's own fields in the database).
        rows, progress, events = [], [], []
        today = timezone.localdate()
        for migration in migrations:
            phase_templates, item_templates = migration.template_version.rows_to_copy()
            phases = {template.pk: next(created) for template in phase_templates}
            dates = migration.milestone_dates()
            items = []
            for item_template in item_templates:
                due_on = scheduling.due_date(dates, item_template.anchor, item_template.offset_days)
                status, reason = ItemStatus.TO_DO, ""
                if item_template.condition and not getattr(migration, item_template.condition):
                    status, reason = ItemStatus.NOT_APPLICABLE, condition_reason(item_template.condition)
                phase = phases[item_template.phase_id]
                rows.append((item_template, migration.pk, phase.pk, due_on, status, reason))
                items.append(_NewItem(status, item_template.kind, due_on, phase.position))
            counts = Progress.of(item.status for item in items)
            day = DayCounts.of(items, today, added_on=today)
            progress.append(
                ChecklistProgress(
                    migration=migration,
                    items_done=counts.done,
                    items_applicable=counts.applicable,
                    items_blocked=counts.blocked,
                    phase_position=min(
                        (item.phase_position for item in items if item.status in OPEN_STATUSES), default=None
                    ),
                    overdue=day.overdue,
                    gates_overdue=day.gates_overdue,
                    done_ahead=day.done_ahead,
                    next_due_on=day.next_due_on,
                    counts_on=today,
                )
            )
            events.append(
                Event(
                    migration=migration,
                    actor=migration.created_by,
                    kind=Event.Kind.CREATED,
                    new_value=f"{len(items)} items from {migration.template_version}",
                )
            )
        insert_copies(
            ChecklistItem,
            ItemTemplate,
            ItemTemplate.COPIED_FIELDS,
            ("migration", "phase", "due_on", "status", "reason"),
            rows,
        )
        ChecklistProgress.objects.bulk_create(progress)
        Event.objects.bulk_create(events)

    def preview_milestone_change(self, changes: dict[str, date | None]) -> list[scheduling.DueDateMove]:
        """Which items a change of milestone dates would move, from what to what. Saves nothing.
        `changes` is keyed by milestone value."""
        return PracticeMigration.moves_of({self: changes})[self.pk]

    @staticmethod
    def moves_of(
        changes: dict["PracticeMigration", dict[str, date | None]],
    ) -> dict[int, list[scheduling.DueDateMove]]:
        """preview_milestone_change() of several migrations (by id), in one query for all of them."""
        dates, anchors = {}, {}
        for migration, migration_changes in changes.items():
            current = migration.milestone_dates()
            dates[migration.pk] = current | migration_changes
            # The changed milestones' items, and those of the end of old system access when its
            # expected date moves with go-live.
            anchors[migration.pk] = set(migration_changes) | scheduling.moved_anchors(current, dates[migration.pk])
        moves: dict[int, list[scheduling.DueDateMove]] = {migration.pk: [] for migration in changes}
        if not any(anchors.values()):
            return moves
        replannable = ChecklistItem.objects.filter(
            migration_id__in=sorted(moves),
            status__in=OPEN_STATUSES,
            manual_due_on__isnull=True,
            anchor__in=sorted(set().union(*anchors.values())),
        ).order_by("migration_id", "phase__position", "position")
        # Tuples, not model instances: an import previews and replans thousands of migrations.
        for pk, migration_id, title, due_on, anchor, offset_days in replannable.values_list(
            "pk", "migration_id", "title", "due_on", "anchor", "offset_days"
        ):
            if anchor not in anchors[migration_id]:
                continue
            new_due_on = scheduling.due_date(dates[migration_id], anchor, offset_days)
            if new_due_on != due_on:
                moves[migration_id].append(scheduling.DueDateMove(pk, title, due_on, new_due_on))
        return moves

    def change_milestones(
        self, changes: dict[str, date | None], *, by, reason: str = ""
    ) -> list[scheduling.DueDateMove]:
        """Set milestone dates and replan every open item anchored to them, in one
        transaction. Done, not-applicable and manually dated items keep their dates. Each
        change and each move is written to the event log."""
        moves = PracticeMigration.change_milestones_of({self.pk: changes}, by=by, reason=reason)[self.pk]
        for milestone, day in changes.items():
            setattr(self, Milestone(milestone).field_name, day)
        return moves

    @classmethod
    def change_milestones_of(
        cls, changes: dict[int, dict[str, date | None]], *, by, reason: str = "", count: bool = True
    ) -> dict[int, list[scheduling.DueDateMove]]:
        """change_milestones() of several migrations (by id), in one transaction and a few statements
        for all of them; the items each one moves. Any migration whose dates would be out of order
        refuses all of them (ValidationError, its practice named when there are several).
        `count=False` leaves the day's counts (ChecklistProgress.count_day) to the caller, who counts
        every migration it changed before its transaction ends (an import, file by file)."""
        for migration_changes in changes.values():
            unknown = set(migration_changes) - set(Milestone.values)
            if unknown:
                raise ValueError(f"Unknown milestones: {sorted(unknown)}")
        by_id = by.pk if by is not None else None
        with transaction.atomic():
            locked = {
                migration.pk: migration
                for migration in cls.objects.select_for_update(of=("self",))
                .select_related("practice")
                .filter(pk__in=sorted(changes))
                .order_by("pk")
            }
            changed: dict[PracticeMigration, dict[str, date | None]] = {}
            for pk, migration_changes in changes.items():
                migration = locked[pk]
                current = migration.milestone_dates()
                errors = scheduling.milestone_order_errors(current | migration_changes)
                if errors:
                    if len(changes) > 1:
                        errors = {name: f"{migration.practice}: {message}" for name, message in errors.items()}
                    raise ValidationError(errors)
                migration_changed = {key: day for key, day in migration_changes.items() if current[key] != day}
                if migration_changed:
                    changed[migration] = migration_changed
            moves = cls.moves_of(changed)
            # Rows of the event log as values (bulk.insert_rows), every one at the same time (the
            # default of `at`, worked out once): a replan writes one for each item moved.
            events = []
            moved_to: dict[date | None, list[int]] = defaultdict(list)
            fields: set[str] = set()
            for migration, migration_changed in changed.items():
                for milestone, new_date in migration_changed.items():
                    field = Milestone(milestone).field_name
                    fields.add(field)
                    old_date = getattr(migration, field)
                    events.append(
                        (
                            migration.pk,
                            None,
                            by_id,
                            Event.Kind.MILESTONE,
                            field,
                            date_text(old_date),
                            date_text(new_date),
                            reason,
                        )
                    )
                    setattr(migration, field, new_date)
                for move in moves[migration.pk]:
                    moved_to[move.new_due_on].append(move.item_id)
                    events.append(
                        (
                            migration.pk,
                            move.item_id,
                            by_id,
                            Event.Kind.REPLAN,
                            "due_on",
                            date_text(move.old_due_on),
                            date_text(move.new_due_on),
                            reason,
                        )
                    )
            if changed:
                cls.objects.bulk_update(list(changed), sorted(fields))
            set_dates(ChecklistItem, "due_on", moved_to)
            insert_rows(Event, EVENT_COLUMNS, events)
            if count and changed:
                ChecklistProgress.count_day(timezone.localdate(), [migration.pk for migration in changed])
        return {pk: moves.get(pk, []) for pk in changes}

    def change_project_manager(self, project_manager, *, by, reason: str = "") -> bool:
        """Name the delivery partner's project manager (None: nobody yet), written to the event log.
        Who may be named is access.project_managers(). False, and nothing written, if unchanged."""
        if (project_manager.pk if project_manager else None) == self.project_manager_id:
            return False
        with transaction.atomic():
            Event.objects.create(
                migration=self,
                actor=by,
                kind=Event.Kind.ATTRIBUTE,
                field="project_manager",
                old_value=str(self.project_manager or ""),
                new_value=str(project_manager or ""),
                reason=reason,
            )
            self.project_manager = project_manager
            self.save(update_fields=["project_manager"])
        return True

    @property
    def conditions(self) -> list[tuple[str, bool]]:
        """Each condition's label and whether it holds for this practice, in Condition's order."""
        return [(condition.label, getattr(self, condition.value)) for condition in Condition]

    def change_conditions(self, conditions: dict[str, bool], *, by, reason: str = "") -> list[ChecklistItem]:
        """Set what is true of the practice (Condition: dispensing, new hardware needed...), written
        to the event log, and make the items those conditions decide follow, as creation would
        have made them: an item still to do whose condition no longer holds becomes not applicable,
        and one that is not applicable only because of its condition is to do again. Items someone
        ticked, blocked or marked keep their status. Returns the items whose status changed."""
        unknown = set(conditions) - set(Condition.values)
        if unknown:
            raise ValueError(f"Unknown conditions: {sorted(unknown)}")
        changed = {name: value for name, value in conditions.items() if getattr(self, name) != value}
        followed = []
        with transaction.atomic():
            for name, value in changed.items():
                Event.objects.create(
                    migration=self,
                    actor=by,
                    kind=Event.Kind.ATTRIBUTE,
                    field=name,
                    old_value=_yes_or_no(getattr(self, name)),
                    new_value=_yes_or_no(value),
                    reason=reason.strip(),
                )
                setattr(self, name, value)
            self.save(update_fields=list(changed))
            for item in self.items.filter(condition__in=list(changed)).order_by("phase__position", "position"):
                by_condition = item.status == ItemStatus.NOT_APPLICABLE and item.reason == item.condition_reason()
                if changed[item.condition] and by_condition:
                    item.reopen(by)
                elif not changed[item.condition] and item.status == ItemStatus.TO_DO:
                    item.mark_not_applicable(by, item.condition_reason(), by_condition=True)
                else:
                    continue
                followed.append(item)
        return followed

    # --- the lifecycle (TRANSITIONS) ----------------------------------------------------------------------

    @property
    def is_paused(self) -> bool:
        return self.status in PAUSED_STATUSES

    @property
    def allowed_actions(self) -> frozenset[str]:
        """The lifecycle methods the current status allows (the page offers the buttons for them)."""
        return frozenset(action for action, move in TRANSITIONS.items() if self.status in move.sources)

    def refusal(self, action: str) -> str:
        """Why the lifecycle method `action` cannot be called in the current status, or "" if it can."""
        move = TRANSITIONS[action]
        if self.status in move.sources:
            return ""
        status = self.get_status_display().lower()
        if self.status == move.target:
            return f"This migration is already {status}."
        return f"This migration is {status}, so it cannot be {move.done}."

    def has_had(self, action: str) -> bool:
        """Whether the migration's status is the one the lifecycle method `action` leads to (on
        hold, for "hold"): the page of that change opened again, with the browser's Back."""
        return self.status == TRANSITIONS[action].target

    def latest_status_change(self) -> Event | None:
        """The event of the last change of status: who made it, when and why (the status banner)."""
        found = _LATEST_STATUS_CHANGE.objects(migration_id=self.pk)
        return found[0] if found else None

    UPGRADE_SHOWN_DAYS = 14
    """How long the migration page says its checklist was upgraded (latest_upgrade)."""

    def latest_upgrade(self, today: date) -> Event | None:
        """The checklist upgrade applied in the last UPGRADE_SHOWN_DAYS, with who applied it: the
        page says so, as the items it added or moved may be overdue at once."""
        found = _LATEST_UPGRADE.objects(migration_id=self.pk, since=today - timedelta(days=self.UPGRADE_SHOWN_DAYS))
        return found[0] if found else None

    def hold(self, by, reason: str) -> None:
        """Put on hold: reminders, sign-off requests and the calendar feed leave it out, and its due
        dates stop counting as overdue; its items can still be ticked."""
        self._move("hold", by=by, reason=_reason(reason, "Enter why the migration is on hold"))

    def resume(
        self, by, *, changes: dict[str, date | None] | None = None, reason: str = ""
    ) -> list[scheduling.DueDateMove]:
        """Back in progress, with any new milestone dates set and items replanned in the same
        transaction (change_milestones; preview_milestone_change shows the moves first). Returns
        the due dates moved. Nothing is saved if a date is refused."""
        with transaction.atomic():
            self._move("resume", by=by, reason=reason.strip())
            return self.change_milestones(changes, by=by, reason=reason.strip()) if changes else []

    def cancel(self, by, reason: str) -> None:
        """Cancel for good: the migration is read-only from then on (access.Access) and stays in
        reports."""
        self._move("cancel", by=by, reason=_reason(reason, "Enter why the migration is cancelled"))

    def complete(self, by) -> None:
        """Completed: its "migration complete" gate is signed (see follow_completion_gate)."""
        self._move("complete", by=by, reason="The migration-complete gate was signed off.")

    def reopen(self, by) -> None:
        """Back in progress from completed: its "migration complete" gate was reopened."""
        self._move("reopen", by=by, reason="The migration-complete gate was reopened.")

    def follow_completion_gate(self, by, *, signed: bool) -> None:
        """Keep the status in step with the "migration complete" gate, so the two never disagree:
        signing the gate completes the migration (refused unless it is in progress, which refuses
        the sign-off too), and any change that undoes the signature returns a completed migration
        to in progress.

        Transactions: ChecklistItem calls this inside the transaction that changes the gate, after
        locking the gate's row and this migration's (ChecklistItem._lock). It reaches this method
        through the gate's foreign key: checklist_items.py sits below this module and imports
        nothing of it."""
        if signed:
            self.complete(by)
        elif self.status == self.Status.COMPLETED:
            self.reopen(by)

    def _move(self, action: str, *, by, reason: str) -> None:
        """Make the move TRANSITIONS names `action` in one transaction, with the row locked so two
        moves at once queue and the second sees the first; written to the event log."""
        move = TRANSITIONS[action]
        with transaction.atomic():
            locked = PracticeMigration.objects.select_for_update().get(pk=self.pk)
            refusal = locked.refusal(action)
            if refusal:
                raise ValidationError(refusal)
            now = timezone.now()
            old_status = locked.status
            locked.status = move.target
            locked.held_at = now if move.target == self.Status.ON_HOLD else None
            locked.status_reason = reason if move.target in (self.Status.ON_HOLD, self.Status.CANCELLED) else ""
            locked.finished_at = None if move.target in UNFINISHED_STATUSES else now
            locked.save(update_fields=LIFECYCLE_FIELDS)
            Event.objects.create(
                migration=locked,
                actor=by,
                at=now,
                kind=Event.Kind.MIGRATION_STATUS,
                field="status",
                old_value=old_status,
                new_value=move.target,
                reason=reason,
            )
        for field in LIFECYCLE_FIELDS:
            setattr(self, field, getattr(locked, field))


LIFECYCLE_FIELDS = ["status", "held_at", "status_reason", "finished_at"]


def _reason(text: str, message: str) -> str:
    """A reason the lifecycle needs (on hold, cancelled), stripped; refused when empty."""
    text = text.strip()
    if not text:
        raise ValidationError({"reason": message})
    return text


def _yes_or_no(value: bool) -> str:
    return "yes" if value else "no"
