"""Checklist templates: versions of the guide's phases and items.

A version is edited as a draft, then published: a published version is frozen, and
migrations copy their checklist from one, so later edits never touch work under way.
The freeze is kept three times over: by the admin (read-only pages), by the models below
(save and delete raise PublishedVersionError) and by database triggers (migration 0006),
which also refuse raw SQL and bulk updates.

Publishing, the guide file format, diffs and upgrades live in migrations_app/checklist_templates/.
"""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from migrations_app.models.choices import Condition, ItemKind, Milestone, Role


class PublishedVersionError(ValidationError):
    """Raised on an attempt to change a published template version or its contents."""

    def __init__(self) -> None:
        super().__init__("A published template version cannot be changed. Make a new draft instead.")


class DraftConflictError(ValidationError):
    """Raised when a draft was saved since the editor opened it: by someone else, or by the same
    editor in another tab (the message cannot tell which, so it does not say "someone else")."""

    def __init__(self) -> None:
        super().__init__(
            "This draft was saved again since you opened this page (by someone else, or by you in another tab), "
            "so nothing was saved. Reload the page to see the draft as it is now, then make your changes again."
        )


class ChecklistTemplate(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def latest_published(self) -> "TemplateVersion | None":
        return self.versions.filter(status=TemplateVersion.Status.PUBLISHED).order_by("-number").first()

    def draft(self) -> "TemplateVersion | None":
        return self.versions.filter(status=TemplateVersion.Status.DRAFT).order_by("-created_at").first()


class TemplateVersionQuerySet(models.QuerySet):
    def published(self) -> "TemplateVersionQuerySet":
        return self.filter(status=TemplateVersion.Status.PUBLISHED)

    def latest_published(self) -> "TemplateVersion | None":
        """The version new migrations are made from."""
        return self.published().order_by("-published_at", "-number").first()


# At module level, and named on the model as TemplateVersion.Status, for the model's constraints.
class TemplateVersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class TemplateVersion(models.Model):
    Status = TemplateVersionStatus

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(null=True, blank=True, help_text="Set when the version is published.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    change_note = models.TextField(blank=True)
    # SHA-256 of the data the version was loaded from, so that loading the same file twice changes nothing.
    source_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Optimistic locking for editors: every save of the draft or of its phases and items takes the
    # next revision, and a save made from an older revision is refused (record_edit).
    revision = models.PositiveIntegerField(default=1, editable=False)

    objects = TemplateVersionQuerySet.as_manager()

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TemplateVersionStatus.values), name="templateversion_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="draft", number__isnull=True, published_at__isnull=True)
                | Q(status="published", number__isnull=False, published_at__isnull=False),
                name="templateversion_published_has_number_and_date",
            ),
            models.UniqueConstraint(fields=["template", "number"], name="templateversion_unique_number"),
        ]

    def __str__(self) -> str:
        label = f"version {self.number}" if self.number else "draft"
        return f"{self.template} {label}"

    def save(self, *args, **kwargs) -> None:
        if self.pk and TemplateVersion.objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists():
            raise PublishedVersionError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_published:
            raise PublishedVersionError()
        return super().delete(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def freeze(self, change_note: str = "", *, seen_revision: int | None = None) -> None:
        """Freeze this draft as the template's next version number. With `seen_revision`, refuse
        (DraftConflictError) if the draft was edited since the publisher reviewed it.

        The last step of checklist_templates.publishing.publish, the one way to publish: it checks the
        draft by the guide file's rules and fingerprints it first."""
        if self.is_published:
            raise PublishedVersionError()
        with transaction.atomic():
            # Lock the template so that two publishers cannot take the same number.
            ChecklistTemplate.objects.select_for_update().get(pk=self.template_id)
            current = TemplateVersion.objects.select_for_update().get(pk=self.pk)
            if current.is_published:
                raise PublishedVersionError()
            if seen_revision is not None and current.revision != seen_revision:
                raise DraftConflictError()
            latest = self.template.versions.aggregate(latest=models.Max("number"))["latest"] or 0
            self.number = latest + 1
            self.published_at = timezone.now()
            self.change_note = change_note or current.change_note
            self.status = self.Status.PUBLISHED
            self.revision = current.revision
            super().save(update_fields=["number", "published_at", "change_note", "status", "source_digest"])

    def record_edit(self, seen_revision: int) -> None:
        """Take the next revision of this draft for an edit made from `seen_revision`. A conditional
        UPDATE that must change exactly one row: if another editor saved first (or the draft was
        published) it changes none, and DraftConflictError rolls the caller's transaction back."""
        changed = TemplateVersion.objects.filter(pk=self.pk, status=self.Status.DRAFT, revision=seen_revision).update(
            revision=F("revision") + 1
        )
        if changed != 1:
            if TemplateVersion.objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists():
                raise PublishedVersionError()
            raise DraftConflictError()
        self.revision = seen_revision + 1

    def copy_as_draft(self) -> "TemplateVersion":
        """A new draft of the template with this version's phases and items, to edit and publish as
        the next version. One draft per template at a time, so that two edits cannot race to publish."""
        with transaction.atomic():
            ChecklistTemplate.objects.select_for_update().get(pk=self.template_id)
            existing = self.template.draft()
            if existing is not None:
                raise ValidationError(f"{self.template} already has a draft: edit or delete it first.")
            draft = TemplateVersion.objects.create(
                template=self.template, change_note="", source_digest=self.source_digest
            )
            items = list(self.items())
            phases = {}
            for phase in self.phases.order_by("position"):
                phases[phase.pk] = PhaseTemplate.objects.create(
                    version=draft, key=phase.key, title=phase.title, position=phase.position
                )
            ItemTemplate.objects.bulk_create(
                ItemTemplate(
                    phase=phases[item.phase_id],
                    **{field: getattr(item, field) for field in ItemTemplate.COPIED_FIELDS},
                )
                for item in items
            )
        return draft

    def rows_to_copy(self) -> tuple[list["PhaseTemplate"], list["ItemTemplate"]]:
        """The phases and items a new migration copies. Read once per instance of a published
        version, which never changes (freeze), so an import starting thousands of migrations from
        one instance reads them once."""
        cached = getattr(self, "_rows_to_copy", None)
        if cached is None:
            cached = (list(self.phases.order_by("position")), list(self.items()))
            if self.is_published:
                self._rows_to_copy = cached
        return cached

    def items(self) -> "models.QuerySet[ItemTemplate]":
        return (
            ItemTemplate.objects.filter(phase__version=self)
            .select_related("phase")
            .order_by("phase__position", "position")
        )


class _FrozenWithVersion(models.Model):
    """Phases and items belong to a version and are frozen with it."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self._version().is_published:
            raise PublishedVersionError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._version().is_published:
            raise PublishedVersionError()
        return super().delete(*args, **kwargs)

    def _version(self) -> TemplateVersion:
        raise NotImplementedError


class PhaseTemplate(_FrozenWithVersion):
    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="phases")
    key = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="phasetemplate_unique_key"),
            models.UniqueConstraint(fields=["version", "position"], name="phasetemplate_unique_position"),
        ]

    def __str__(self) -> str:
        return self.title

    def _version(self) -> TemplateVersion:
        return self.version


class ItemTemplate(_FrozenWithVersion):
    phase = models.ForeignKey(PhaseTemplate, on_delete=models.CASCADE, related_name="items")
    # Stable across versions: an upgrade matches a migration's items to the new version by key.
    key = models.SlugField(max_length=100)
    title = models.CharField(max_length=500)
    group = models.CharField(max_length=500, blank=True, help_text="The guide's question this item sits under.")
    guide_url = models.URLField("guide link", max_length=500, blank=True)
    responsible_role = models.CharField(max_length=32, choices=Role.choices)
    anchor = models.CharField("anchor milestone", max_length=32, choices=Milestone.choices)
    offset_days = models.IntegerField(help_text="Days from the anchor milestone; negative is before it.")
    kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.TASK)
    condition = models.CharField(
        max_length=32, choices=Condition.choices, blank=True, help_text="Applies only when this is true."
    )
    # A gate's own list of the items it waits for, by key (any phase). Empty (None) is the first
    # edition's rule: every earlier item of its phase (ChecklistItem.open_dependencies).
    depends_on = models.JSONField(
        "waits for",
        null=True,
        blank=True,
        help_text="Gates only: the keys of the items this gate waits for, as a list. "
        "Leave empty to wait for every earlier item of its phase.",
    )
    position = models.PositiveIntegerField()

    # What a copy of an item keeps: everything but its phase, which the copy maps to its own. The one
    # list, for a new draft's items (copy_as_draft) and a migration's checklist items (instantiate,
    # upgrades); the guide file and the admin's item pages are built from it too.
    COPIED_FIELDS = (
        "key",
        "title",
        "group",
        "guide_url",
        "responsible_role",
        "anchor",
        "offset_days",
        "kind",
        "condition",
        "depends_on",
        "position",
    )

    class Meta:
        ordering = ["phase", "position"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "key"], name="itemtemplate_unique_key"),
            models.UniqueConstraint(fields=["phase", "position"], name="itemtemplate_unique_position"),
            models.CheckConstraint(condition=Q(responsible_role__in=Role.values), name="itemtemplate_role_valid"),
            models.CheckConstraint(condition=Q(anchor__in=Milestone.values), name="itemtemplate_anchor_valid"),
            models.CheckConstraint(condition=Q(kind__in=ItemKind.values), name="itemtemplate_kind_valid"),
            models.CheckConstraint(
                condition=Q(condition="") | Q(condition__in=Condition.values), name="itemtemplate_condition_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def _version(self) -> TemplateVersion:
        return self.phase.version
