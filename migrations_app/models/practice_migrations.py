"""A practice's migration: its systems, milestones and status, and starting one from a published
checklist. Its checklist (phases, items, progress, event log) is in checklist_items.py, below it."""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from migrations_app import scheduling
from migrations_app.models.checklist_items import (
    ChecklistItem,
    ChecklistProgress,
    MigrationPhase,
    Progress,
    date_text,
)
from migrations_app.models.checklist_templates import ItemTemplate, TemplateVersion
from migrations_app.models.choices import (
    OPEN_STATUSES,
    ItemStatus,
    Milestone,
)
from migrations_app.models.events import Event
from migrations_app.models.people import Practice, Supplier

MILESTONE_FIELDS = [milestone.field_name for milestone in Milestone]
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
                        old_value=date_text(getattr(locked, field)),
                        new_value=date_text(new_date),
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
                        old_value=date_text(move.old_due_on),
                        new_value=date_text(move.new_due_on),
                        reason=reason,
                    )
                )
            ChecklistItem.objects.bulk_update(items.values(), ["due_on", "revision"])
            Event.objects.bulk_create(events)
        for field in changed:
            setattr(self, Milestone(field).field_name, changes[field])
        return moves
