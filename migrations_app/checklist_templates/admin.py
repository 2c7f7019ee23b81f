"""The Django admin for checklist templates: versions, phases and items.

Editors work on a draft: its page lists the phases (reordered by position number), each phase's
page lists its items. A draft is made from a published version ("Make a new draft") or imported
from a data file, and published with a change note; published versions are read-only here, in
the models and in the database. Every save carries the draft's revision, so that two editors
cannot overwrite each other's work, and is logged (LogEntry) on the version's History page.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.db.models import Count, F
from django.forms.models import BaseInlineFormSet
from django.forms.utils import pretty_name
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from migrations_app.checklist_templates import diffs, guide_file, publishing
from migrations_app.checklist_templates.guide_file import OFFSET_LIMIT_DAYS
from migrations_app.models import ChecklistTemplate, ItemKind, ItemTemplate, PhaseTemplate, TemplateVersion
from migrations_app.models.checklist_templates import DraftConflictError, PublishedVersionError

# Rows are renumbered 1, 2, 3... on save; on the way there every row of the list is first moved
# this far up, so that no two rows ever hold the same position (a unique constraint) in between.
PARKED = 1_000_000
MAX_IMPORT_BYTES = 1_000_000


def titled_filter(filter_class: type[admin.ListFilter], title: str) -> type[admin.ListFilter]:
    """`filter_class` headed "By <title>" in a list's filter panel rather than by its field's name
    (a field named `on`, or a phase's `key` that read as the item's)."""

    def __init__(self, *args, **kwargs):
        filter_class.__init__(self, *args, **kwargs)
        self.title = title

    return type(f"Titled{filter_class.__name__}", (filter_class,), {"__init__": __init__})


def version_of(obj) -> TemplateVersion:
    if isinstance(obj, TemplateVersion):
        return obj
    if isinstance(obj, PhaseTemplate):
        return obj.version
    return obj.phase.version


def is_frozen(obj) -> bool:
    return obj is not None and version_of(obj).is_published


# --- forms -----------------------------------------------------------------------------------------


class DraftForm(forms.ModelForm):
    """Carries the revision of the draft that the editor saw, and refuses the save if the draft
    has been saved (or published) since. The admin runs the whole change view in one transaction,
    and the version row is locked here, so the check holds until the save commits."""

    seen_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("seen_revision", version_of(self.instance).revision)

    def clean(self) -> dict:
        cleaned_data = super().clean()
        version = TemplateVersion.objects.select_for_update().get(pk=version_of(self.instance).pk)
        if version.is_published:
            raise PublishedVersionError()
        if "seen_revision" in cleaned_data and cleaned_data["seen_revision"] != version.revision:
            raise DraftConflictError()
        return cleaned_data


class PositionedForm(forms.ModelForm):
    """A row of an ordered list. Two rows may be given the same number, or none (added at the
    end): positions are renumbered on save (save_in_order), so they are not checked as unique."""

    position = forms.IntegerField(
        min_value=0, required=False, widget=forms.NumberInput(attrs={"class": "position-input"})
    )

    def _get_validation_exclusions(self) -> set:
        return super()._get_validation_exclusions() | {"position"}


class LabelledRowsFormSet(BaseInlineFormSet):
    """The admin's tables label their columns only by the heading, so each input of a row,
    the delete box included, is named for screen readers too ("Title of: Check the dates ...";
    WCAG 1.3.1 and 4.1.2)."""

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        row = self.row_name(form)
        for name, field in form.fields.items():
            # A field declared on the form without a label (the position) is named as Django's
            # heading names it, from the field's name.
            label = str(field.label or pretty_name(name))
            field.widget.attrs["aria-label"] = f"{label[:1].upper()}{label[1:]} of: {row}"

    def row_name(self, form) -> str:
        return getattr(form.instance, "title", "") or "the new row"


class UniqueKeyInVersion(forms.ModelForm):
    def clean_key(self) -> str:
        # Upgrades match a migration's items to a new version by key, so a key is unique in the
        # whole version, not only in its phase.
        key = self.cleaned_data["key"]
        phase = getattr(self.instance, "phase", None)
        if phase is not None and (
            ItemTemplate.objects.filter(phase__version_id=phase.version_id, key=key)
            .exclude(phase=phase)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise ValidationError(f"Another phase of this version has an item with the key '{key}'.")
        return key


class KeysField(forms.CharField):
    """A gate's "waits for" as its editor types it: item keys one a line, or separated by commas or
    spaces, kept as the list the model holds; empty is None (every earlier item of its phase).
    Rather than the JSON a JSONField asks for, which showed an empty list as `null`. Whether each
    key names an item is checked on publishing (guide_file.problems), where every item is known."""

    # One key a line: in the phase's narrow column a line of several keys showed a fragment of each.
    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value) -> str:
        """The model's list (or None) as the box shows it; what was typed, as it was typed."""
        if isinstance(value, list):
            return "\n".join(str(key) for key in value)
        return "" if value is None else value

    def to_python(self, value) -> list[str] | None:
        keys = [key for key in re.split(r"[\s,]+", super().to_python(value) or "") if key]
        return keys or None

    def has_changed(self, initial, data) -> bool:
        return self.to_python(self.prepare_value(initial)) != self.to_python(data)


def waits_for() -> KeysField:
    return KeysField(
        label="Waits for",
        required=False,
        help_text="Gates only: the keys of the items this gate waits for, one a line (or separated by commas). "
        "Leave empty to wait for every earlier item of its phase.",
    )


def offset_days() -> forms.IntegerField:
    """The offset as the guide file allows it (guide_file.OFFSET_LIMIT_DAYS), checked as it is typed
    rather than only on publishing: beyond a year is a typing slip, not a plan."""
    limit = OFFSET_LIMIT_DAYS
    message = f"Enter an offset between -{limit} and {limit} days"
    return forms.IntegerField(
        label="Offset days",
        min_value=-limit,
        max_value=limit,
        help_text="Days from the anchor milestone; negative is before it.",
        error_messages={
            "min_value": message,
            "max_value": message,
            "invalid": "Enter the offset as a whole number of days",
        },
    )


# The guide file's fields (guide_file.problems names them so) as the admin's tables label them.
ADMIN_LABELS = {
    "key": "Key",
    "title": "Title",
    "link": "Guide link",
    "role": "Responsible role",
    "anchor": "Anchor milestone",
    "kind": "Kind",
    "condition": "Condition",
    "offset_days": "Offset days",
    "depends_on": "Waits for",
}


def in_admin_terms(problem: str) -> str:
    """A problem found by the guide file's rules, worded for someone editing the draft here: each
    field by the label of its column ("Offset days", not 'offset_days')."""
    return re.sub(
        r"'(\w+)'",
        lambda match: (
            f'"{ADMIN_LABELS.get(match.group(1), match.group(1))}"'
            if match.group(1) in ADMIN_LABELS
            else match.group(0)
        ),
        problem,
    )


def unknown_keys_message(keys: list[str] | None, known: set[str], deleting: dict[str, str] | None = None) -> str:
    """Why a gate's "waits for" `keys` are refused ("" if each names one of the `known` items):
    refused as they are typed, where the editor is; publishing checks the rest (loops, and keys of
    items deleted since). `deleting`: the items being deleted in the same save, by key, with their
    titles: the gate still waits for them, which is what to say."""
    unknown = [key for key in keys or [] if key not in known]
    if not unknown:
        return ""
    deleted = [key for key in unknown if key in (deleting or {})]
    if deleted:
        titles = "; ".join(f"{deleting[key]} ({key})" for key in deleted)
        return f"This gate waits for {titles}, which you are deleting: take it out of Waits for first."
    return (
        f"No item of this version has the key {', '.join(repr(key) for key in unknown)}: "
        "use the keys of the items it waits for, as the Key column gives them."
    )


TASK_WAITS = "Only a sign-off gate waits for items: leave Waits for empty, or make this item a gate"


def gates_waiting_for(version_id: int, keys: set[str], *, except_phase: int | None = None) -> dict[str, list[str]]:
    """The titles of the gates of the version (outside `except_phase`) that wait for each of `keys`:
    an item a gate waits for is taken out of its Waits for before it is deleted (publishing would
    refuse the gate otherwise, after the item has gone)."""
    gates = ItemTemplate.objects.filter(phase__version_id=version_id, kind=ItemKind.GATE)
    if except_phase is not None:
        gates = gates.exclude(phase_id=except_phase)
    waiting: dict[str, list[str]] = {}
    for title, depends_on in gates.order_by("phase__position", "position").values_list("title", "depends_on"):
        for key in set(depends_on or []) & keys:
            waiting.setdefault(key, []).append(title)
    return waiting


def waited_for_message(title: str, gates: list[str]) -> str:
    names = "; ".join(gates)
    return (
        f"{names} {'waits' if len(gates) == 1 else 'wait'} for {title}: take it out of "
        f"{'that gate’s' if len(gates) == 1 else 'those gates’'} Waits for first, then delete it."
    )


def version_keys(version_id: int, *, except_phase: int | None = None) -> set[str]:
    items = ItemTemplate.objects.filter(phase__version_id=version_id)
    if except_phase is not None:
        items = items.exclude(phase_id=except_phase)
    return set(items.values_list("key", flat=True))


class KnownKeysInVersion(forms.ModelForm):
    """One item on its own page: its "waits for" names items of its version (unknown_keys_message)."""

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("depends_on") and cleaned.get("kind", ItemKind.GATE) != ItemKind.GATE:
            self.add_error("depends_on", TASK_WAITS)
        return cleaned

    def clean_depends_on(self) -> list[str] | None:
        keys = self.cleaned_data.get("depends_on")
        phase = getattr(self.instance, "phase", None)
        if keys and phase is not None:
            known = version_keys(phase.version_id) | {self.cleaned_data.get("key") or self.instance.key}
            if message := unknown_keys_message(keys, known):
                raise ValidationError(message)
        return keys


class ItemRowsFormSet(LabelledRowsFormSet):
    """A phase's items, one table: a gate's "waits for" may name items of the version's other
    phases, or rows of this table, as they are being saved (a row added in the same save counts,
    a row deleted in it does not)."""

    def clean(self) -> None:
        super().clean()
        rows = [form for form in self.forms if hasattr(form, "cleaned_data") and form.cleaned_data]
        kept = [form for form in rows if not form.cleaned_data.get("DELETE")]
        known = version_keys(self.instance.version_id, except_phase=self.instance.pk)
        known |= {form.cleaned_data.get("key") for form in kept if form.cleaned_data.get("key")}
        deleting = {
            form.instance.key: form.instance.title
            for form in rows
            if form.cleaned_data.get("DELETE") and form.instance.pk is not None
        }
        elsewhere = gates_waiting_for(self.instance.version_id, set(deleting), except_phase=self.instance.pk)
        if elsewhere:
            raise ValidationError([waited_for_message(deleting[key], gates) for key, gates in elsewhere.items()])
        for form in kept:
            keys = form.cleaned_data.get("depends_on")
            if keys and form.cleaned_data.get("kind", ItemKind.GATE) != ItemKind.GATE:
                form.add_error("depends_on", TASK_WAITS)
            elif message := unknown_keys_message(keys, known, deleting):
                form.add_error("depends_on", message)


class HttpsURLField(forms.URLField):
    default_validators = [URLValidator(schemes=["https"])]  # in place of any scheme: one message, not two


def guide_link() -> forms.URLField:
    """The guide link as publishing takes it (guide_file: an https address), checked as it is typed."""
    return HttpsURLField(
        label="Guide link",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="The page of the guide the item comes from: an https address.",
        error_messages={"invalid": "Enter the guide link as an https address, like https://www.england.nhs.uk/..."},
    )


class ItemInlineForm(UniqueKeyInVersion, PositionedForm):
    depends_on = waits_for()
    offset_days = offset_days()
    guide_url = guide_link()


class ItemAdminForm(DraftForm, UniqueKeyInVersion, KnownKeysInVersion):
    depends_on = waits_for()
    offset_days = offset_days()
    guide_url = guide_link()


CHANGE_NOTE_MAX = 5000
"""A version's change note: a few paragraphs at most, as an item's note."""


class PublishForm(forms.Form):
    change_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=CHANGE_NOTE_MAX,
        help_text="What changed and why, for the people who run migrations. Shown with the version.",
        error_messages={
            "required": "Enter what changed and why",
            "max_length": f"The change note must be {CHANGE_NOTE_MAX:,} characters or fewer",
        },
    )
    seen_revision = forms.IntegerField(widget=forms.HiddenInput)


class ImportForm(forms.Form):
    data_file = forms.FileField(
        label="Data file (YAML)", help_text="In the format of an export, or of the guide's practice-migration.yaml."
    )


def save_in_order(formset) -> None:
    """Save a formset of positioned rows, numbering the rows 1, 2, 3... in the order their
    position numbers give. A row given a new number goes before a row that already had it (typing
    1 moves a row to the top); rows with no number go last; other ties keep the order on the page."""
    kept = [form for form in formset.initial_forms if form not in formset.deleted_forms]
    kept += [form for form in formset.extra_forms if form.has_changed() and form not in formset.deleted_forms]

    def place(index: int) -> tuple:
        position = kept[index].cleaned_data.get("position")
        return (position is None, position or 0, "position" not in kept[index].changed_data, index)

    order = sorted(range(len(kept)), key=place)
    for number, index in enumerate(order, start=1):
        kept[index].instance.position = number
    formset.model.objects.filter(**{formset.fk.name: formset.instance}).update(position=F("position") + PARKED)
    formset.save()
    for form in kept:
        if form.instance.pk and form.instance.position is not None:
            formset.model.objects.filter(pk=form.instance.pk, position__gte=PARKED).update(
                position=form.instance.position
            )


# --- shared behaviour ------------------------------------------------------------------------------


class FrozenWhenPublishedInline:
    """Inline rows of a published version are read-only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return not is_frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return not is_frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not is_frozen(obj) and super().has_delete_permission(request, obj)


class DraftPartAdmin(admin.ModelAdmin):
    """A version, phase or item: editable while its version is a draft, read-only once published.
    Each save takes the draft's next revision; each change is logged on the version as well."""

    form = DraftForm

    def has_change_permission(self, request, obj=None) -> bool:
        return not is_frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not is_frozen(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Bulk deletion would skip the per-object checks; delete drafts one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_fields(self, request, obj=None) -> list[str]:
        fields = [field for field in super().get_fields(request, obj) if field != "seen_revision"]
        if obj is not None and self.has_change_permission(request, obj):
            fields.append("seen_revision")
        return fields

    def save_model(self, request, obj, form, change) -> None:
        version = version_of(obj)
        # Sets obj.revision too when obj is the version itself, so that its save keeps the new one.
        version.record_edit(form.cleaned_data["seen_revision"])
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:
        if issubclass(formset.model, PhaseTemplate | ItemTemplate):
            save_in_order(formset)
        else:
            super().save_formset(request, form, formset, change)

    def response_change(self, request, obj):
        # Saved, but a gate now due before an item it waits for would stop the draft's publishing:
        # said now, where it was made, rather than only at publish.
        if not isinstance(obj, TemplateVersion):
            for problem in guide_file.gates_due_first(version_of(obj)):
                self.message_user(
                    request,
                    f"Saved, but the draft cannot be published until this is put right: {problem}",
                    messages.WARNING,
                )
        return super().response_change(request, obj)

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        if not isinstance(obj, TemplateVersion):
            # The version's History page then shows every change to its phases and items.
            super().log_change(request, version_of(obj), on_version(obj, message))
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            if not isinstance(obj, TemplateVersion):
                deleted = [{"deleted": {"name": str(obj._meta.verbose_name), "object": str(obj)}}]
                super().log_change(request, version_of(obj), deleted)
        return entries


def on_version(obj, message: list | str) -> list | str:
    """A change message about a phase or an item, reworded for its version's history: changes
    to the object's own fields name the object."""
    if not isinstance(message, list):
        return message
    named = {"name": str(obj._meta.verbose_name), "object": str(obj)}
    reworded = []
    for entry in message:
        [(action, details)] = entry.items()
        reworded.append({action: named | details} if "name" not in details else entry)
    return reworded or [{"changed": named | {"fields": []}}]


# --- templates -------------------------------------------------------------------------------------


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    fields = ["number", "status", "change_note", "published_at", "created_at"]
    readonly_fields = fields
    ordering = ["-status", "-number"]
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "latest_version", "has_draft"]
    search_fields = ["name", "slug"]
    inlines = [TemplateVersionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("versions")

    @admin.display(description="latest published version")
    def latest_version(self, template: ChecklistTemplate) -> str:
        numbers = [version.number for version in template.versions.all() if version.is_published]
        return str(max(numbers)) if numbers else "-"

    @admin.display(description="draft", boolean=True)
    def has_draft(self, template: ChecklistTemplate) -> bool:
        return any(not version.is_published for version in template.versions.all())


# --- versions --------------------------------------------------------------------------------------


class PhaseInline(FrozenWhenPublishedInline, admin.TabularInline):
    model = PhaseTemplate
    form = PositionedForm
    formset = LabelledRowsFormSet
    fields = ["position", "key", "title", "item_count"]
    readonly_fields = ["item_count"]
    show_change_link = True
    extra = 0
    # A phase is deleted from its own page, which lists the items that go with it and asks first
    # (a box ticked here took them all at the next save, unasked; the version's page says so).
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_total=Count("items"))

    @admin.display(description="items")
    def item_count(self, phase: PhaseTemplate) -> int | str:
        return getattr(phase, "item_total", "-")


@admin.register(TemplateVersion)
class TemplateVersionAdmin(DraftPartAdmin):
    """Drafts are made from a version or imported, never added blank; see the buttons."""

    change_form_template = "admin/migrations_app/templateversion/change_form.html"
    change_list_template = "admin/migrations_app/templateversion/change_list.html"
    # The version's number first, as its link (the template is the next column: its full name, the
    # version's __str__, said it twice and widened the list past a 1,280 px screen).
    list_display = ["version_number", "template", "status", "published_on", "short_change_note"]
    list_filter = ["template", "status"]
    search_fields = ["template__name", "template__slug", "change_note"]
    list_select_related = ["template"]
    fields = ["template", "status", "number", "published_at", "created_at", "revision", "change_note"]
    readonly_fields = ["template", "status", "number", "published_at", "created_at", "revision"]
    inlines = [PhaseInline]

    @admin.display(description="version", ordering="number")
    def version_number(self, version: TemplateVersion) -> str:
        return f"Version {version.number}" if version.number is not None else "Draft"

    @admin.display(description="published", ordering="published_at")
    def published_on(self, version: TemplateVersion) -> str:
        return date_format(timezone.localtime(version.published_at), "j M Y") if version.published_at else "-"

    @admin.display(description="change note")
    def short_change_note(self, version: TemplateVersion) -> str:
        return version.change_note if len(version.change_note) <= 80 else version.change_note[:79] + "…"

    def has_add_permission(self, request) -> bool:
        return False

    def can_make_drafts(self, request) -> bool:
        return request.user.has_perm("migrations_app.add_templateversion")

    def get_urls(self):
        view = self.admin_site.admin_view
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", view(self.import_view), name=f"{prefix}_import"),
            path("<path:object_id>/new-draft/", view(self.new_draft_view), name=f"{prefix}_new_draft"),
            path("<path:object_id>/publish/", view(self.publish_view), name=f"{prefix}_publish"),
            path("<path:object_id>/export/", view(self.export_view), name=f"{prefix}_export"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, unquote(object_id))
        extra_context = (extra_context or {}) | {
            "can_make_draft": version is not None and version.is_published and self.can_make_drafts(request),
            "can_publish": version is not None and self.has_change_permission(request, version),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = (extra_context or {}) | {"can_import": self.can_make_drafts(request)}
        return super().changelist_view(request, extra_context)

    def _version_or_404(self, request, object_id) -> TemplateVersion:
        version = self.get_object(request, unquote(object_id))
        if version is None:
            raise Http404("No such template version.")
        if not self.has_view_or_change_permission(request, version):
            raise PermissionDenied
        return version

    def _change_url(self, version: TemplateVersion) -> str:
        return reverse("admin:migrations_app_templateversion_change", args=[version.pk])

    def _render(self, request, template: str, title: str, context: dict) -> TemplateResponse:
        context = self.admin_site.each_context(request) | {"opts": self.opts, "title": title} | context
        return TemplateResponse(request, f"admin/migrations_app/templateversion/{template}", context)

    def new_draft_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        version = self._version_or_404(request, object_id)
        if not self.can_make_drafts(request):
            raise PermissionDenied
        existing = version.template.draft()
        if request.method == "POST":
            try:
                draft = version.copy_as_draft()
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return HttpResponseRedirect(self._change_url(existing or version))
            self.log_addition(request, draft, f"Made from {version}.")
            self.message_user(request, f"Made a new draft from {version}. Edit it, then publish it.")
            return HttpResponseRedirect(self._change_url(draft))
        return self._render(
            request,
            "new_draft.html",
            f"Make a new draft from {version}",
            {"original": version, "existing_draft": existing},
        )

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        draft = self._version_or_404(request, object_id)
        if draft.is_published:
            self.message_user(request, f"{draft} is already published.", messages.WARNING)
            return HttpResponseRedirect(self._change_url(draft))
        if not self.has_change_permission(request, draft):
            raise PermissionDenied
        if request.method == "POST":
            form = PublishForm(request.POST)
            if form.is_valid():
                try:
                    with transaction.atomic():
                        publishing.publish(
                            draft, form.cleaned_data["change_note"], seen_revision=form.cleaned_data["seen_revision"]
                        )
                except ValidationError as error:
                    form.add_error(None, ValidationError([in_admin_terms(message) for message in error.messages]))
                else:
                    self.log_change(request, draft, f"Published as version {draft.number}: {draft.change_note}")
                    self.message_user(
                        request,
                        f"Published {draft}. New migrations use it; migrations under way keep their copy until "
                        "an upgrade to it is reviewed and applied (by their delivery partner or a support admin).",
                    )
                    return HttpResponseRedirect(self._change_url(draft))
        else:
            form = PublishForm(initial={"change_note": draft.change_note, "seen_revision": draft.revision})
        latest = draft.template.latest_published()
        return self._render(
            request,
            "publish.html",
            f"Publish {draft}",
            {
                "original": draft,
                "form": form,
                "latest": latest,
                "differences": diffs.differences(latest, draft) if latest else None,
                "problems": [in_admin_terms(problem) for problem in guide_file.problems(guide_file.export(draft))],
                "item_count": draft.items().count(),
            },
        )

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        version = self._version_or_404(request, object_id)
        label = f"v{version.number}" if version.is_published else "draft"
        response = HttpResponse(guide_file.export_text(version), content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{version.template.slug}-{label}.yaml"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.can_make_drafts(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                draft = self._import(request, form.cleaned_data["data_file"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_addition(request, draft, f"Imported from {form.cleaned_data['data_file'].name}.")
                self.message_user(request, f"Imported a new draft of {draft.template}. Check it, then publish it.")
                return HttpResponseRedirect(self._change_url(draft))
        return self._render(request, "import.html", "Import a draft", {"form": form})

    def _import(self, request, upload) -> TemplateVersion:
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError("The file is too large for template data (at most 1 MB).")
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValidationError("The file is not UTF-8 text.") from error
        data = guide_file.parse(text)
        known = ChecklistTemplate.objects.filter(slug=data["template"]).exists()
        if not known and not request.user.has_perm("migrations_app.add_checklisttemplate"):
            raise ValidationError(f"There is no template '{data['template']}'; only an administrator can add one.")
        return guide_file.import_draft(data)


# --- phases and items ------------------------------------------------------------------------------


# Every field of an item, position first (the order an editor reads and sets).
ITEM_FIELDS = ["position", *(name for name in ItemTemplate.COPIED_FIELDS if name != "position")]


class ItemInline(FrozenWhenPublishedInline, admin.TabularInline):
    model = ItemTemplate
    form = ItemInlineForm
    formset = ItemRowsFormSet
    fields = ITEM_FIELDS
    extra = 0
    # Fits a 1,280 px screen (static/admin-theme/admin.css shares the width out by column): plain
    # inputs, without the admin's "Currently: <link>" above the guide link, and a short box for
    # the keys a gate waits for.
    classes = ["item-table"]
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https", "widget": forms.URLInput},
        models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2})},
    }


@admin.register(PhaseTemplate)
class PhaseTemplateAdmin(DraftPartAdmin):
    """A phase and its items, one table; phases themselves are added and reordered on the version."""

    list_display = ["title", "key", "version", "position"]
    list_filter = ["version__template", "version__status"]
    search_fields = ["title", "key"]
    list_select_related = ["version__template"]
    fields = ["version", "key", "title", "position"]
    readonly_fields = ["version", "position"]
    inlines = [ItemInline]

    def has_add_permission(self, request) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The item table needs the width the admin's side menu takes; the breadcrumbs stay.
        extra_context = (extra_context or {}) | {"is_nav_sidebar_enabled": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def response_post_save_change(self, request, phase: PhaseTemplate) -> HttpResponseRedirect:
        # "Save" goes back to the version the phase is part of, where the editor carries on (the
        # list of every version's phases is not where anyone was).
        return HttpResponseRedirect(reverse("admin:migrations_app_templateversion_change", args=[phase.version_id]))


@admin.register(ItemTemplate)
class ItemTemplateAdmin(DraftPartAdmin):
    """Every item of every version, to search and filter; editing is usually on the phase's page."""

    form = ItemAdminForm
    list_display = ["title", "key", "phase_link", "version", "responsible_role", "anchor", "offset_days", "kind"]
    list_filter = [
        "responsible_role",
        "kind",
        "anchor",
        "condition",
        ("phase__key", titled_filter(admin.AllValuesFieldListFilter, "phase")),
        "phase__version__status",
    ]
    search_fields = ["title", "key", "group"]
    list_select_related = ["phase__version__template"]
    fields = ["phase", *ITEM_FIELDS]
    readonly_fields = ["phase", "position"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request) -> bool:
        return False

    def delete_view(self, request, object_id, extra_context=None):
        item = self.get_object(request, unquote(object_id))
        if item is not None and self.has_delete_permission(request, item):
            waiting = gates_waiting_for(item.phase.version_id, {item.key}, except_phase=None)
            if waiting:
                self.message_user(request, waited_for_message(item.title, waiting[item.key]), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:migrations_app_itemtemplate_change", args=[item.pk]))
        return super().delete_view(request, object_id, extra_context)

    @admin.display(description="phase", ordering="phase__position")
    def phase_link(self, item: ItemTemplate) -> str:
        url = reverse("admin:migrations_app_phasetemplate_change", args=[item.phase_id])
        return format_html('<a href="{}">{}</a>', url, item.phase)

    @admin.display(description="version", ordering="phase__version")
    def version(self, item: ItemTemplate) -> str:
        return str(item.phase.version)
