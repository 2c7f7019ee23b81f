"""A practice's migration, its copied checklist, and the append-only event log."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, F, Min, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from migrations_app import scheduling
from migrations_app.models.checklist_templates import ItemTemplate, TemplateVersion
from migrations_app.models.choices import (
    OPEN_STATUSES,
    Condition,
    ItemKind,
    ItemStatus,
    Milestone,
    Role,
)
from migrations_app.models.people import Practice, Supplier

MILESTONE_FIELDS = [milestone.field_name for milestone in Milestone]
# Counting over the `items` join bypasses ChecklistItem's manager: leave archived items out by hand.
LIVE_ITEMS = Q(items__archived_at__isnull=True)
DASHBOARD_FIELDS = (
    "pk",
    "practice__name",
    "practice__ods_code",
    "practice__icb__name",
    "source_supplier__system_name",
    "target_supplier__system_name",
    "status",
    "template_version_id",
    "go_live_on",
    "fdp_on",
    "progress__items_done",
    "progress__items_applicable",
    "progress__items_blocked",
    "progress__phase_position",
)


class StaleItemError(ValidationError):
    """The item changed since the form was loaded; nothing was saved."""

    def __init__(self) -> None:
        super().__init__(
            "Someone else changed this item since you opened the page. Check its status and note, then try again."
        )


class PracticeMigrationQuerySet(models.QuerySet):
    def in_progress(self) -> "PracticeMigrationQuerySet":
        """Migrations under way: neither completed nor cancelled ("In progress" on every page)."""
        return self.filter(status=PracticeMigration.Status.ACTIVE)

    def with_progress(self) -> "PracticeMigrationQuerySet":
        """Each migration with its kept counts (`migration.progress`, a ChecklistProgress) in the
        same query, rather than counting its items again."""
        return self.select_related("progress")

    def on_dashboard(self) -> "PracticeMigrationQuerySet":
        """The migrations a dashboard lists: in progress or completed. A cancelled migration moves
        no practice, so it is left out of the rows and of every figure."""
        return self.exclude(status=PracticeMigration.Status.CANCELLED)

    def dashboard_values(self) -> models.QuerySet:
        """One tuple per migration with what a dashboard row shows, its done, applicable and blocked
        counts and its current phase read from ChecklistProgress rather than worked out from the
        items. Fields, in order: DASHBOARD_FIELDS."""
        return self.order_by().values_list(*DASHBOARD_FIELDS)

    def facets(self) -> models.QuerySet:
        """The distinct (ICB, delivery partner, source, target) combinations of these migrations,
        with names: the choices a dashboard offers, so no option names an organisation whose
        migrations the user cannot see. One small query whatever the number of migrations."""
        return (
            self.order_by()
            .values_list(
                "practice__icb_id",
                "practice__icb__name",
                "practice__delivery_partner_id",
                "practice__delivery_partner__name",
                "source_supplier_id",
                "source_supplier__system_name",
                "target_supplier_id",
                "target_supplier__system_name",
            )
            .distinct()
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
class MigrationStatus(models.TextChoices):
    ACTIVE = "active", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


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

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PracticeMigrationQuerySet.as_manager()

    class Meta:
        ordering = ["go_live_on", "practice__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MigrationStatus.values), name="practicemigration_status_valid"
            ),
            models.UniqueConstraint(
                fields=["practice"], condition=Q(status="active"), name="practicemigration_one_unfinished_per_practice"
            ),
            models.CheckConstraint(
                condition=~Q(source_supplier=F("target_supplier")), name="practicemigration_suppliers_differ"
            ),
            models.CheckConstraint(
                condition=Q(status="active", finished_at__isnull=True)
                | (~Q(status="active") & Q(finished_at__isnull=False)),
                name="practicemigration_finished_at_with_status",
            ),
            *_order_constraints(),
        ]

    def __str__(self) -> str:
        return f"{self.practice}: {self.source_supplier} to {self.target_supplier}"

    def milestone_dates(self) -> dict[str, date | None]:
        return {milestone.value: getattr(self, milestone.field_name) for milestone in Milestone}

    def clean(self) -> None:
        errors: dict[str, str] = scheduling.milestone_order_errors(self.milestone_dates())
        if self.source_supplier_id and self.source_supplier_id == self.target_supplier_id:
            errors["target_supplier"] = "The new supplier must be different from the current supplier."
        if self.practice_id and self.status == self.Status.ACTIVE:
            others = PracticeMigration.objects.in_progress().filter(practice_id=self.practice_id).exclude(pk=self.pk)
            if others.exists():
                errors["practice"] = "This practice already has a migration in progress."
        if errors:
            raise ValidationError(errors)

    @classmethod
    def start(
        cls,
        *,
        practice: Practice,
        source_supplier: Supplier,
        target_supplier: Supplier,
        template_version: TemplateVersion | None = None,
        created_by=None,
        **fields,
    ) -> "PracticeMigration":
        """Create a migration from the latest published version of the guide, with every
        item's due date computed from the milestones given. Validates first; saves nothing
        if anything is wrong."""
        if template_version is None:
            template_version = TemplateVersion.objects.published().order_by("-published_at", "-number").first()
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
        migration.full_clean()
        with transaction.atomic():
            migration.save()
            migration.instantiate()
        return migration

    def instantiate(self) -> None:
        """Copy the template version's phases and items onto this migration."""
        dates = self.milestone_dates()
        phases = {}
        for phase_template in self.template_version.phases.order_by("position"):
            phases[phase_template.pk] = MigrationPhase.objects.create(
                migration=self, key=phase_template.key, title=phase_template.title, position=phase_template.position
            )
        items = []
        for item_template in self.template_version.items():
            item = ChecklistItem(
                migration=self,
                phase=phases[item_template.phase_id],
                **{name: getattr(item_template, name) for name in ItemTemplate.COPIED_FIELDS},
                due_on=scheduling.due_date(dates, item_template.anchor, item_template.offset_days),
            )
            if item.condition and not getattr(self, item.condition):
                item.status = ItemStatus.NOT_APPLICABLE
                item.reason = item.condition_reason()
            items.append(item)
        ChecklistItem.objects.bulk_create(items)
        counts = Progress.of(item.status for item in items)
        ChecklistProgress.objects.create(
            migration=self,
            items_done=counts.done,
            items_applicable=counts.applicable,
            items_blocked=counts.blocked,
            phase_position=min((item.phase.position for item in items if item.is_open), default=None),
        )
        Event.objects.create(
            migration=self,
            actor=self.created_by,
            kind=Event.Kind.CREATED,
            new_value=f"{len(items)} items from {self.template_version}",
        )

    def preview_milestone_change(self, changes: dict[str, date | None]) -> list[scheduling.DueDateMove]:
        """Which items a change of milestone dates would move, from what to what. Saves nothing.
        `changes` is keyed by milestone value."""
        dates = self.milestone_dates() | changes
        moves = []
        replannable = self.items.filter(
            status__in=OPEN_STATUSES, manual_due_on__isnull=True, anchor__in=list(changes)
        ).order_by("phase__position", "position")
        for item in replannable:
            new_due_on = scheduling.due_date(dates, item.anchor, item.offset_days)
            if new_due_on != item.due_on:
                moves.append(scheduling.DueDateMove(item.pk, item.title, item.due_on, new_due_on))
        return moves

    def change_milestones(
        self, changes: dict[str, date | None], *, by, reason: str = ""
    ) -> list[scheduling.DueDateMove]:
        """Set milestone dates and replan every open item anchored to them, in one
        transaction. Done, not-applicable and manually dated items keep their dates. Each
        change and each move is written to the event log."""
        unknown = set(changes) - set(Milestone.values)
        if unknown:
            raise ValueError(f"Unknown milestones: {sorted(unknown)}")
        with transaction.atomic():
            locked = PracticeMigration.objects.select_for_update().get(pk=self.pk)
            dates = locked.milestone_dates() | changes
            errors = scheduling.milestone_order_errors(dates)
            if errors:
                raise ValidationError(errors)
            changed = {key: value for key, value in changes.items() if dates[key] != locked.milestone_dates()[key]}
            if not changed:
                return []
            moves = locked.preview_milestone_change(changed)
            now = timezone.now()
            events = []
            for milestone, new_date in changed.items():
                field = Milestone(milestone).field_name
                events.append(
                    Event(
                        migration=locked,
                        actor=by,
                        at=now,
                        kind=Event.Kind.MILESTONE,
                        field=field,
                        old_value=_date_text(getattr(locked, field)),
                        new_value=_date_text(new_date),
                        reason=reason,
                    )
                )
                setattr(locked, field, new_date)
            locked.save(update_fields=[Milestone(key).field_name for key in changed])
            items = ChecklistItem.objects.in_bulk([move.item_id for move in moves])
            for move in moves:
                item = items[move.item_id]
                item.due_on = move.new_due_on
                item.revision += 1
                events.append(
                    Event(
                        migration=locked,
                        item=item,
                        actor=by,
                        at=now,
                        kind=Event.Kind.REPLAN,
                        field="due_on",
                        old_value=_date_text(move.old_due_on),
                        new_value=_date_text(move.new_due_on),
                        reason=reason,
                    )
                )
            ChecklistItem.objects.bulk_update(items.values(), ["due_on", "revision"])
            Event.objects.bulk_create(events)
        for field in changed:
            setattr(self, Milestone(field).field_name, changes[field])
        return moves


def _date_text(value: date | None) -> str:
    return value.isoformat() if value else ""


class LiveManager(models.Manager):
    """Leaves out what a checklist upgrade archived. The default manager, so `migration.items`,
    `migration.phases` and every `ChecklistItem.objects` query (checklist page, progress, dashboard,
    reminders, calendar feed, gates, replanning) see only the live checklist; `all_objects` sees
    the archived rows too (upgrades, the archived items' history)."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(archived_at__isnull=True)


class AllRowsManager(models.Manager):
    """Every row, archived ones too: for upgrades and the history of archived items."""


class MigrationPhase(models.Model):
    migration = models.ForeignKey(PracticeMigration, on_delete=models.CASCADE, related_name="phases")
    key = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    # Set when an upgrade drops the phase while it still holds archived items (kept for their history).
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = LiveManager()
    all_objects = AllRowsManager()

    class Meta:
        ordering = ["migration", "position"]
        constraints = [
            models.UniqueConstraint(fields=["migration", "key"], name="migrationphase_unique_key"),
        ]

    def __str__(self) -> str:
        return self.title


def condition_reason(condition: str) -> str:
    """The reason an item reads as not applicable because its condition does not hold."""
    return f"Applies only when: {Condition(condition).label.lower()}."


# An item's due date, or the end of time when it has none yet: "not due yet" is one range.
DUE_OR_NEVER = Coalesce("due_on", Value(date.max))


class ChecklistItemQuerySet(models.QuerySet):
    def open(self) -> "ChecklistItemQuerySet":
        """Items still to do or blocked: the ones that can fall overdue."""
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, on: date) -> "ChecklistItemQuerySet":
        """Open items whose due date is before `on`."""
        return self.open().filter(due_on__lt=on)

    def overdue_counts_by_migration(self, on: date) -> models.QuerySet:
        """Per migration with overdue items on `on`: how many, and how many of them are sign-off
        gates. Reads only the overdue items, a range of the partial index checklistitem_open_due."""
        # Counting a column the index holds (not the primary key) keeps the scan index-only.
        return (
            self.overdue(on)
            .order_by()
            .values("migration_id")
            .annotate(overdue=Count("kind"), gates_overdue=Count("kind", filter=Q(kind=ItemKind.GATE)))
            .values_list("migration_id", "overdue", "gates_overdue")
        )

    def next_due_by_migration(self, on: date) -> models.QuerySet:
        """Per migration with an open item due from `on` on: the first such due date. Through the
        partial index checklistitem_open_migration (by migration, then date)."""
        return (
            self.open()
            .filter(due_on__gte=on)
            .order_by()
            .values("migration_id")
            .annotate(next_due_on=Min("due_on"))
            .values_list("migration_id", "next_due_on")
        )

    def done_ahead_by_migration(self, on: date) -> models.QuerySet:
        """Per migration: items done although not yet due on `on` (due later, or no date yet).
        Done items are most of a checklist; these few are found by date through the partial
        index checklistitem_done_due without reading the rest."""
        return (
            self.filter(status=ItemStatus.DONE)
            .alias(due_or_never=DUE_OR_NEVER)
            .filter(due_or_never__gte=on)
            .order_by()
            .values("migration_id")
            .annotate(count=Count("migration_id"))
            .values_list("migration_id", "count")
        )

    def next_due_candidates(self, next_due_on: dict[int, date]) -> models.QuerySet:
        """The open items that may be each migration's next item due: those of the given
        migrations due on any of the given dates (the caller keeps, per migration, the first
        one due on its own date)."""
        return (
            self.open()
            .filter(migration_id__in=list(next_due_on), due_on__in=set(next_due_on.values()))
            .order_by("migration_id", "due_on", "phase__position", "position")
            .values_list("migration_id", "due_on", "pk", "title")
        )


class LiveChecklistItemManager(LiveManager.from_queryset(ChecklistItemQuerySet)):
    pass


class ChecklistItem(models.Model):
    """One task or sign-off gate of a migration, copied from the template when it was made."""

    migration = models.ForeignKey(PracticeMigration, on_delete=models.CASCADE, related_name="items")
    phase = models.ForeignKey(MigrationPhase, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=100)
    title = models.CharField(max_length=500)
    group = models.CharField(max_length=500, blank=True)
    guide_url = models.URLField("guide link", max_length=500, blank=True)
    responsible_role = models.CharField(max_length=32, choices=Role.choices)
    anchor = models.CharField("anchor milestone", max_length=32, choices=Milestone.choices)
    offset_days = models.IntegerField()
    kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.TASK)
    condition = models.CharField(max_length=32, choices=Condition.choices, blank=True)
    position = models.PositiveIntegerField()

    due_on = models.DateField(null=True, blank=True)
    manual_due_on = models.DateField(
        null=True, blank=True, help_text="Set by hand: replanning leaves this item's date alone."
    )
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.TO_DO)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    reason = models.TextField(blank=True, help_text="Why the item is not applicable or blocked.")
    override_reason = models.TextField(blank=True, help_text="Why a gate was signed with earlier items open.")
    # Bumped on every change, so a form loaded before someone else's change is detected as stale.
    revision = models.PositiveIntegerField(default=0)
    # Set when a checklist upgrade drops an item that was worked on: kept with its history, left out
    # of the checklist, progress, dashboards, reminders and the calendar (see LiveManager).
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = LiveChecklistItemManager()
    all_objects = ChecklistItemQuerySet.as_manager()

    class Meta:
        ordering = ["phase__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["migration", "key"], name="checklistitem_unique_key"),
            models.CheckConstraint(condition=Q(status__in=ItemStatus.values), name="checklistitem_status_valid"),
            models.CheckConstraint(condition=Q(responsible_role__in=Role.values), name="checklistitem_role_valid"),
            models.CheckConstraint(condition=Q(anchor__in=Milestone.values), name="checklistitem_anchor_valid"),
            models.CheckConstraint(condition=Q(kind__in=ItemKind.values), name="checklistitem_kind_valid"),
            models.CheckConstraint(
                condition=Q(condition="") | Q(condition__in=Condition.values), name="checklistitem_condition_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="done", completed_by__isnull=False, completed_at__isnull=False)
                | (~Q(status="done") & Q(completed_by__isnull=True, completed_at__isnull=True)),
                name="checklistitem_done_has_who_and_when",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["not_applicable", "blocked"]) | ~Q(reason=""),
                name="checklistitem_reason_required",
            ),
            models.CheckConstraint(
                condition=Q(manual_due_on__isnull=True) | Q(due_on__isnull=False, due_on=F("manual_due_on")),
                name="checklistitem_manual_date_is_due_date",
            ),
        ]
        indexes = [
            # Overdue and due-soon look-ups scan open items by date.
            models.Index(fields=["status", "due_on"], name="checklistitem_status_due"),
            # The dashboard counts every migration's overdue items and overdue gates on each page:
            # open items by due date, carrying the migration and kind, so the overdue ones are one
            # range of this index, read without the table (index-only). On 7,000 migrations (784k
            # items, 59k overdue): 14 ms, against 330 ms for the same figures over all items.
            models.Index(
                fields=["due_on"],
                include=["migration", "kind"],
                condition=Q(status__in=["to_do", "blocked"], archived_at__isnull=True),
                name="checklistitem_open_due",
            ),
            # A migration's next item due: its open items in date order, so the first from today
            # is one look-up per migration (the page's rows, or every row when sorted by it).
            models.Index(
                fields=["migration", "due_on"],
                condition=Q(status__in=["to_do", "blocked"], archived_at__isnull=True),
                name="checklistitem_open_migration",
            ),
            # The RAG rule needs the items done ahead of their due date (due from today on, or with
            # no date yet). Done items are the other half of the table; indexed by that date, with
            # "no date" as the end of time so the look-up is one range, the few are found directly.
            models.Index(
                DUE_OR_NEVER,
                F("migration"),
                condition=Q(status="done", archived_at__isnull=True),
                name="checklistitem_done_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def condition_reason(self) -> str:
        return condition_reason(self.condition)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_gate(self) -> bool:
        return self.kind == ItemKind.GATE

    def open_dependencies(self) -> "ChecklistItemQuerySet":
        """The items a gate waits for: the earlier items of its phase that are still open."""
        return ChecklistItem.objects.open().filter(phase_id=self.phase_id, position__lt=self.position)

    def complete(self, by) -> None:
        """Mark done. Done twice (two people at once) is not an error: both are logged. Once the
        transaction commits, a gate this made ready to sign has its signers e-mailed at once."""
        self._change(by, status=ItemStatus.DONE, log_unchanged=True)
        self._request_sign_offs_on_commit()

    def _request_sign_offs_on_commit(self) -> None:
        """Closing an item (done, not applicable, or a gate signed) can leave a later gate of its
        phase with nothing open before it: once the transaction commits, that gate's signers are
        e-mailed at once rather than at the next digest. The reminders package does it
        (reminders/sign_offs.py); it builds on these models, so they reach it through the app's
        config (apps.py) rather than import it."""
        config = apps.get_app_config("migrations_app")
        # robust: the item stays closed whatever happens to the e-mail (a broker that is down).
        item_id = self.pk
        transaction.on_commit(lambda: config.queue_sign_off_requests(item_id), robust=True)

    def reopen(self, by, *, expected_revision: int | None = None) -> None:
        self._change(by, status=ItemStatus.TO_DO, expected_revision=expected_revision)

    def mark_not_applicable(self, by, reason: str, *, expected_revision: int | None = None) -> None:
        self._change(by, status=ItemStatus.NOT_APPLICABLE, reason=reason, expected_revision=expected_revision)
        self._request_sign_offs_on_commit()

    def mark_blocked(self, by, reason: str, *, expected_revision: int | None = None) -> None:
        self._change(by, status=ItemStatus.BLOCKED, reason=reason, expected_revision=expected_revision)

    def sign_off(self, by, *, override_reason: str = "", expected_revision: int | None = None) -> None:
        """Sign a gate. Refused while earlier items of its phase are open, unless an override
        reason is given; the reason is kept on the item and in the log."""
        if not self.is_gate:
            raise ValidationError("Only a sign-off gate can be signed off.")
        override_reason = override_reason.strip()
        if not override_reason:
            waiting = list(self.open_dependencies().values_list("title", flat=True)[:5])
            if waiting:
                raise ValidationError(
                    {
                        "override_reason": "These earlier items are still open: "
                        + "; ".join(waiting)
                        + ". Finish them first, or give a reason for signing off anyway."
                    }
                )
        self._change(
            by,
            status=ItemStatus.DONE,
            override_reason=override_reason,
            expected_revision=expected_revision,
            kind=Event.Kind.SIGN_OFF,
        )
        self._request_sign_offs_on_commit()

    def set_note(self, by, note: str, *, expected_revision: int | None = None) -> None:
        with transaction.atomic():
            item = self._lock(expected_revision)
            old_note, item.note = item.note, note.strip()
            if old_note == item.note:
                return
            item.revision += 1
            item.save(update_fields=["note", "revision"])
            Event.objects.create(
                migration_id=item.migration_id,
                item=item,
                actor=by,
                kind=Event.Kind.NOTE,
                field="note",
                old_value=old_note,
                new_value=item.note,
            )
        self._copy_from(item)

    def set_due_date(self, by, due_on: date | None, *, reason: str = "", expected_revision: int | None = None) -> None:
        """Set a due date by hand (replanning then leaves it alone), or clear it (None) to go
        back to the date computed from the item's milestone."""
        with transaction.atomic():
            item = self._lock(expected_revision)
            old_due_on = item.due_on
            item.manual_due_on = due_on
            item.due_on = due_on or scheduling.due_date(item.migration.milestone_dates(), item.anchor, item.offset_days)
            item.revision += 1
            item.save(update_fields=["manual_due_on", "due_on", "revision"])
            Event.objects.create(
                migration_id=item.migration_id,
                item=item,
                actor=by,
                kind=Event.Kind.DUE_DATE,
                field="due_on",
                old_value=_date_text(old_due_on),
                new_value=_date_text(item.due_on),
                reason=reason.strip(),
            )
        self._copy_from(item)

    def _lock(self, expected_revision: int | None) -> "ChecklistItem":
        item = ChecklistItem.objects.select_for_update().select_related("migration").get(pk=self.pk)
        if expected_revision is not None and item.revision != expected_revision:
            raise StaleItemError()
        return item

    def _change(
        self,
        by,
        *,
        status: str,
        reason: str = "",
        override_reason: str = "",
        expected_revision: int | None = None,
        kind: str = "status",
        log_unchanged: bool = False,
    ) -> None:
        reason = reason.strip()
        if status in (ItemStatus.NOT_APPLICABLE, ItemStatus.BLOCKED) and not reason:
            label = ItemStatus(status).label.lower()
            raise ValidationError({"reason": f"Give a reason why this item is {label}."})
        with transaction.atomic():
            item = self._lock(expected_revision)
            old_status = item.status
            changed = old_status != status or item.reason != reason
            if not changed and not log_unchanged:
                self._copy_from(item)
                return
            if changed:
                item.status = status
                item.reason = reason if status in (ItemStatus.NOT_APPLICABLE, ItemStatus.BLOCKED) else ""
                if status == ItemStatus.DONE:
                    item.completed_by, item.completed_at = by, timezone.now()
                    item.override_reason = override_reason
                else:
                    item.completed_by, item.completed_at, item.override_reason = None, None, ""
                item.revision += 1
                item.save(
                    update_fields=[
                        "status",
                        "reason",
                        "completed_by",
                        "completed_at",
                        "override_reason",
                        "revision",
                    ]
                )
                ChecklistProgress.record_change(item.migration_id, old_status, status)
            Event.objects.create(
                migration_id=item.migration_id,
                item=item,
                actor=by,
                kind=kind,
                field="status",
                old_value=old_status,
                new_value=status,
                reason=reason or override_reason,
            )
        self._copy_from(item)

    def _copy_from(self, item: "ChecklistItem") -> None:
        for field in (
            "status",
            "reason",
            "completed_by_id",
            "completed_at",
            "override_reason",
            "note",
            "due_on",
            "manual_due_on",
            "revision",
        ):
            setattr(self, field, getattr(item, field))


@dataclass
class Progress:
    """How far a checklist (or a phase of one) has got: the one definition of progress. An item is
    applicable unless it is marked not applicable, and done when it is done; blocked items are
    counted too (they are applicable and open). Archived items count for nothing: callers count
    live items only. ChecklistProgress keeps these counts per migration (the home page and the
    dashboard read them); the migration page counts each phase of the items it has loaded."""

    done: int = 0
    applicable: int = 0
    blocked: int = 0

    @classmethod
    def of(cls, statuses: Iterable[str]) -> "Progress":
        progress = cls()
        for status in statuses:
            progress.add(status)
        return progress

    def add(self, status: str, times: int = 1) -> None:
        """Count one item with `status` (`times=-1` takes it away again)."""
        self.done += times * (status == ItemStatus.DONE)
        self.applicable += times * (status != ItemStatus.NOT_APPLICABLE)
        self.blocked += times * (status == ItemStatus.BLOCKED)

    @property
    def percent(self) -> int:
        """Done as a whole percentage of applicable; a checklist with nothing applicable is complete."""
        return round(100 * self.done / self.applicable) if self.applicable else 100


# Progress's rule over the `items` join, for counting in the database (ChecklistProgress.recount).
DONE_ITEMS = LIVE_ITEMS & Q(items__status=ItemStatus.DONE)
APPLICABLE_ITEMS = LIVE_ITEMS & ~Q(items__status=ItemStatus.NOT_APPLICABLE)
BLOCKED_ITEMS = LIVE_ITEMS & Q(items__status=ItemStatus.BLOCKED)


class ChecklistProgress(models.Model):
    """How many of a migration's items are done, apply and are blocked, and its current phase (the
    first with an open item), kept beside the items so that a dashboard across thousands of
    migrations reads four numbers per migration instead of going through every item (784k at
    national scale) on each page.

    Transactions: kept right by the only code that creates items or changes their status, in the
    same transaction as the change. `PracticeMigration.instantiate()` creates the row;
    `ChecklistItem._change()` (complete, reopen, not applicable, blocked, sign-off) calls
    `record_change()`, one UPDATE that adds the difference to the counts with F() expressions (so
    concurrent changes add up) and works the phase out again from the open items. That UPDATE runs
    after `ChecklistItem._lock()` has locked the migration's row (select_for_update over
    select_related), so changes to one migration's items queue one after another and each sees the
    ones before it. A row of its own rather than fields on PracticeMigration, so that a full save()
    of a migration loaded earlier (the admin's change form does one) can never write back stale
    values. Any new code that adds or removes items or changes their status must update it too;
    `recount()` rebuilds rows from the items (bulk loads, repairs, tests)."""

    migration = models.OneToOneField(
        PracticeMigration, on_delete=models.CASCADE, primary_key=True, related_name="progress"
    )
    items_done = models.PositiveIntegerField(default=0)
    items_applicable = models.PositiveIntegerField(default=0)
    items_blocked = models.PositiveIntegerField(default=0)
    phase_position = models.PositiveIntegerField(
        null=True, blank=True, help_text="Position of the first phase with an open item; empty when all are closed."
    )

    class Meta:
        verbose_name_plural = "checklist progress"
        constraints = [
            # Done and blocked items are applicable, and none is both.
            models.CheckConstraint(
                condition=Q(items_done__lte=F("items_applicable") - F("items_blocked")),
                name="checklistprogress_counts_within_applicable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.items_done} of {self.items_applicable} done"

    @classmethod
    def record_change(cls, migration_id: int, old_status: str, new_status: str) -> None:
        """Apply one item's change of status. Call inside the transaction that saves the item,
        after it is saved. A change that opens or closes an item always changes a count, so the
        phase is worked out again whenever a count changes."""
        change = Progress()
        change.add(new_status)
        change.add(old_status, times=-1)
        if change == Progress():
            return
        updated = cls.objects.filter(migration_id=migration_id).update(
            items_done=F("items_done") + change.done,
            items_applicable=F("items_applicable") + change.applicable,
            items_blocked=F("items_blocked") + change.blocked,
            phase_position=models.Subquery(
                ChecklistItem.objects.open()
                .filter(migration_id=migration_id)
                .order_by()
                .values("migration_id")
                .annotate(first=Min("phase__position"))
                .values("first")
            ),
        )
        if not updated:
            # A migration made before the counts existed and missed by the data migration: count it now.
            cls.recount([migration_id])

    @classmethod
    def recount(cls, migration_ids: list[int] | None = None) -> None:
        """Rebuild the counts and phases from the items, for the given migrations or all of them."""
        migrations = PracticeMigration.objects.all()
        if migration_ids is not None:
            migrations = migrations.filter(pk__in=migration_ids)
        counts = (
            migrations.order_by()
            .annotate(
                done=Count("items", filter=DONE_ITEMS),
                applicable=Count("items", filter=APPLICABLE_ITEMS),
                blocked=Count("items", filter=BLOCKED_ITEMS),
                first_open_phase=Min("items__phase__position", filter=LIVE_ITEMS & Q(items__status__in=OPEN_STATUSES)),
            )
            .values_list("pk", "done", "applicable", "blocked", "first_open_phase")
        )
        cls.objects.bulk_create(
            [
                cls(
                    migration_id=pk,
                    items_done=done,
                    items_applicable=applicable,
                    items_blocked=blocked,
                    phase_position=phase,
                )
                for pk, done, applicable, blocked, phase in counts
            ],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["migration"],
            update_fields=["items_done", "items_applicable", "items_blocked", "phase_position"],
        )


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The event log is append-only.")

    def delete(self):
        raise TypeError("The event log is append-only.")


# At module level, and named on the model as Event.Kind, for the model's constraints (as MigrationStatus).
class EventKind(models.TextChoices):
    CREATED = "created", "Migration created"
    STATUS = "status", "Status changed"
    NOTE = "note", "Note changed"
    DUE_DATE = "due_date", "Due date set"
    MILESTONE = "milestone", "Milestone changed"
    REPLAN = "replan", "Due date replanned"
    ATTRIBUTE = "attribute", "Attribute changed"
    SIGN_OFF = "sign_off", "Signed off"
    UPGRADE = "upgrade", "Checklist upgraded"


class Event(models.Model):
    """An append-only record of a change to a migration or one of its items."""

    Kind = EventKind

    migration = models.ForeignKey(PracticeMigration, on_delete=models.PROTECT, related_name="events")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system made the change.",
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    field = models.CharField(max_length=64, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.TextField(blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EventKind.values),
                name="event_kind_valid",
            ),
        ]
        indexes = [models.Index(fields=["item", "at"], name="event_item_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError("The event log is append-only.")
        # force_insert: an object carrying an existing id must fail, never overwrite that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The event log is append-only.")

    def old_display(self) -> str:
        return self._display(self.old_value)

    def new_display(self) -> str:
        return self._display(self.new_value)

    def _display(self, value: str) -> str:
        """Stored values are raw (a status key, an ISO date); people read labels and dates."""
        if not value:
            return "(empty)"
        if self.field == "status" and value in ItemStatus.values:
            return ItemStatus(value).label
        if self.field.endswith("_on"):
            try:
                return date.fromisoformat(value).strftime("%-d %B %Y")
            except ValueError:
                return value
        return value
