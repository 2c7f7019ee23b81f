"""Retrospectives: after go-live, the practice manager and the delivery partner's project manager each
say what went well and what did not, area by area, and the lesson they would pass on. One per
migration and side; rewritten by that side as often as they like, each change in the event log. The
Lessons page lists them across the migrations a person can see (access.visible_retrospectives)."""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from migrations_app.models.choices import Role
from migrations_app.models.events import Event
from migrations_app.models.practice_migrations import MigrationStatus, PracticeMigration


class RetrospectiveSide(models.TextChoices):
    """Who writes a retrospective: the two people who ran the migration, by their role."""

    PRACTICE_MANAGER = Role.PRACTICE_MANAGER.value, Role.PRACTICE_MANAGER.label
    DELIVERY_PARTNER = Role.DELIVERY_PARTNER.value, Role.DELIVERY_PARTNER.label


class RetrospectiveArea(models.TextChoices):
    """The parts of a migration a retrospective looks back on. Each is a verdict field of
    Retrospective and a `<value>_comment` field beside it."""

    DATA_QUALITY = "data_quality", "Data quality"
    TRAINING = "training", "Training"
    THIRD_PARTIES = "third_parties", "Third parties"
    CUTOVER = "cutover", "Cutover"
    SUPPLIER = "supplier", "Supplier"

    @property
    def comment_field(self) -> str:
        return f"{self.value}_comment"


class Verdict(models.TextChoices):
    WENT_WELL = "went_well", "Went well"
    DID_NOT_GO_WELL = "did_not_go_well", "Did not go well"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


def retrospective_opens_on(migration: PracticeMigration) -> date | None:
    """The day from which `migration`'s retrospectives may be written, once the new system is the
    practice's: its go-live day (a completed migration has gone live, whatever its dates say). None
    while that stays so: cancelled (it never went live), or no go-live date agreed yet."""
    if migration.status == MigrationStatus.CANCELLED:
        return None
    if migration.status == MigrationStatus.COMPLETED:
        return migration.go_live_on or date.min
    return migration.go_live_on


def retrospective_is_open(migration: PracticeMigration, today: date) -> bool:
    opens_on = retrospective_opens_on(migration)
    return opens_on is not None and opens_on <= today


def _verdict_constraints() -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(**{f"{area.value}__in": Verdict.values}), name=f"retrospective_{area.value}_valid"
        )
        for area in RetrospectiveArea
    ]


class RetrospectiveQuerySet(models.QuerySet):
    def lessons(self) -> "RetrospectiveQuerySet":
        """With what the Lessons page and its CSV show of each migration, latest go-live first."""
        return self.select_related(
            "migration__practice", "migration__source_supplier", "migration__target_supplier"
        ).order_by(models.F("migration__go_live_on").desc(nulls_last=True), "migration__practice__name", "side")

    def between(self, source_id: int, target_id: int) -> "RetrospectiveQuerySet":
        """Of migrations from one system to another (the supplier pair)."""
        return self.filter(migration__source_supplier_id=source_id, migration__target_supplier_id=target_id)

    def about(self, area: str) -> "RetrospectiveQuerySet":
        """Those that judged `area` (went well or did not), or said something about it."""
        return self.filter(~Q(**{area: Verdict.NOT_APPLICABLE}) | ~Q(**{f"{area}_comment": ""}))

    def gone_live_in(self, year: int) -> "RetrospectiveQuerySet":
        return self.filter(migration__go_live_on__year=year)

    def area_counts(self) -> list[tuple[RetrospectiveArea, int, int]]:
        """(area, went well, did not go well) for each area, in RetrospectiveArea's order. One query."""
        counts = self.order_by().aggregate(
            **{
                f"{area.value}__{verdict}": Count("pk", filter=Q(**{area.value: verdict}))
                for area in RetrospectiveArea
                for verdict in (Verdict.WENT_WELL, Verdict.DID_NOT_GO_WELL)
            }
        )
        return [
            (area, counts[f"{area.value}__{Verdict.WENT_WELL}"], counts[f"{area.value}__{Verdict.DID_NOT_GO_WELL}"])
            for area in RetrospectiveArea
        ]

    def facets(self) -> models.QuerySet:
        """The supplier pairs and go-live years of these retrospectives' migrations, for the Lessons
        filters: (source id, source system, target id, target system, go-live year). One query."""
        return (
            self.order_by()
            .values_list(
                "migration__source_supplier_id",
                "migration__source_supplier__system_name",
                "migration__target_supplier_id",
                "migration__target_supplier__system_name",
                "migration__go_live_on__year",
            )
            .distinct()
        )


class Retrospective(models.Model):
    """One side's look back at a migration after go-live: a verdict and a comment per area, and a
    lesson. Written and changed through `write`, which logs each change."""

    Side = RetrospectiveSide
    Area = RetrospectiveArea
    Verdict = Verdict

    migration = models.ForeignKey(PracticeMigration, on_delete=models.PROTECT, related_name="retrospectives")
    side = models.CharField(max_length=20, choices=Side.choices)

    data_quality = models.CharField("data quality", max_length=20, choices=Verdict.choices)
    data_quality_comment = models.TextField(blank=True)
    training = models.CharField(max_length=20, choices=Verdict.choices)
    training_comment = models.TextField(blank=True)
    third_parties = models.CharField("third parties", max_length=20, choices=Verdict.choices)
    third_parties_comment = models.TextField(blank=True)
    cutover = models.CharField(max_length=20, choices=Verdict.choices)
    cutover_comment = models.TextField(blank=True)
    supplier = models.CharField(max_length=20, choices=Verdict.choices)
    supplier_comment = models.TextField(blank=True)
    lesson = models.TextField(help_text="What would you tell the next practice making this move?")

    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)
    # The last change, when someone of the same side rewrote it (the event log has every change).
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)

    objects = RetrospectiveQuerySet.as_manager()

    class Meta:
        ordering = ["migration", "side"]
        constraints = [
            models.UniqueConstraint(fields=["migration", "side"], name="retrospective_one_per_side"),
            models.CheckConstraint(condition=Q(side__in=RetrospectiveSide.values), name="retrospective_side_valid"),
            models.CheckConstraint(condition=~Q(lesson=""), name="retrospective_has_lesson"),
            *_verdict_constraints(),
        ]

    def __str__(self) -> str:
        return f"{self.get_side_display()}'s retrospective of {self.migration_id}"

    @property
    def areas(self) -> list[tuple[RetrospectiveArea, str, str]]:
        """(area, verdict, comment) for each area, in RetrospectiveArea's order."""
        return [(area, getattr(self, area.value), getattr(self, area.comment_field)) for area in RetrospectiveArea]

    def verdict_label(self, area: RetrospectiveArea) -> str:
        return Verdict(getattr(self, area.value)).label

    @property
    def area_notes(self) -> list[tuple[str, str, str]]:
        """(area label, verdict label, comment) for each area, as pages and the CSV show them."""
        return [(area.label, Verdict(verdict).label, comment) for area, verdict, comment in self.areas]

    def as_text(self) -> str:
        """The retrospective as one text: what the event log keeps of each version."""
        lines = [
            f"{label}: {verdict}" + (f". {comment}" if comment else "") for label, verdict, comment in self.area_notes
        ]
        return "\n".join([*lines, f"Lesson: {self.lesson}"])

    @classmethod
    def write(
        cls,
        migration: PracticeMigration,
        side: str,
        *,
        by,
        verdicts: dict[str, str],
        comments: dict[str, str],
        lesson: str,
        today: date | None = None,
    ) -> tuple["Retrospective", bool]:
        """Write `side`'s retrospective of `migration`, or rewrite it, and log the change (old and new
        text) as one RETROSPECTIVE event; nothing is written when nothing changed. Who may is
        access.retrospective_side's to say; this refuses a migration not yet live (ValidationError).
        The migration's row is locked first, so that two first writes of a side queue, and the
        second rewrites what the first wrote. Returns the retrospective and whether it changed."""
        lesson = lesson.strip()
        if not lesson:
            raise ValidationError({"lesson": "Enter the lesson you would pass on"})
        fields = {area.value: verdicts[area.value] for area in RetrospectiveArea}
        fields |= {area.comment_field: comments.get(area.value, "").strip() for area in RetrospectiveArea}
        fields["lesson"] = lesson
        with transaction.atomic():
            locked = PracticeMigration.objects.select_for_update().get(pk=migration.pk)
            if not retrospective_is_open(locked, today or timezone.localdate()):
                raise ValidationError("The retrospective opens at go-live.")
            retrospective = cls.objects.filter(migration=locked, side=side).first()
            now = timezone.now()
            if retrospective is None:
                old_text = ""
                retrospective = cls(migration=locked, side=side, written_by=by, written_at=now, **fields)
            else:
                if all(getattr(retrospective, name) == value for name, value in fields.items()):
                    return retrospective, False
                old_text = retrospective.as_text()
                for name, value in fields.items():
                    setattr(retrospective, name, value)
                retrospective.changed_by, retrospective.changed_at = by, now
            retrospective.full_clean(exclude=["migration", "written_by", "changed_by"], validate_constraints=False)
            retrospective.save()
            Event.objects.create(
                migration=locked,
                actor=by,
                at=now,
                kind=Event.Kind.RETROSPECTIVE,
                field=side,
                old_value=old_text,
                new_value=retrospective.as_text(),
            )
        return retrospective, True
