"""The Django admin: organisations, people and migrations. Template editing grows here too."""

import os

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import Truncator, capfirst
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as OTPTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app import access
from migrations_app.audit import log_security_event
from migrations_app.checklist_templates import upgrades
from migrations_app.checklist_templates.admin import LabelledRowsFormSet, titled_filter
from migrations_app.forms import UpgradeForm
from migrations_app.invitations.people import role_phrase
from migrations_app.models import (
    ICB,
    ApiToken,
    ChecklistItem,
    Condition,
    Delivery,
    DeliveryPartner,
    Event,
    Membership,
    Practice,
    PracticeMigration,
    ReminderPreference,
    Role,
    Supplier,
    TemplateVersion,
    User,
)
from migrations_app.models.choices import PRACTICE_ROLES
from migrations_app.models.people import validate_ods_practice_code
from migrations_app.models.practice_migrations import UNFINISHED_STATUSES

admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(OTPTOTPDeviceAdmin):
    """django-otp's, searched by the person's address and name: its own search names the address twice
    ("e-mail address or e-mail address"), the user model's e-mail being its username too."""

    search_fields = ["user__email", "user__full_name"]
    search_help_text = "Search by the person's e-mail address or name."


@admin.register(ICB)
class ICBAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(DeliveryPartner)
class DeliveryPartnerAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class SavedNameInHeading:
    """A change form sent back with errors names the record as it is saved, not as the refused
    values would have it (Django's heading is the instance the form has filled in: "SystmOne to
    SystmOne" after a refused change of systems)."""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context.get("adminform")
        if change and obj is not None and obj.pk is not None and form is not None and form.form.errors:
            saved = type(obj)._default_manager.filter(pk=obj.pk).first()
            if saved is not None:
                context["subtitle"] = str(saved)  # the heading
                context["original"] = saved  # the breadcrumbs
        return super().render_change_form(request, context, add, change, form_url, obj)


def _keep_a_delivery_partner(form):
    """A practice's delivery partner can be changed for another, not taken away: its project
    managers would lose its migrations (the practice's ICB and people keep them)."""
    partner = form.cleaned_data.get("delivery_partner")
    if partner is None:
        raise ValidationError(
            "Choose the delivery partner that supports the practice now: taking it away would leave its "
            "migrations without one, and its project managers could no longer open them."
        )
    return partner


class OdsCodeFormField(forms.CharField):
    """An ODS code as OdsCodeField takes it: trimmed (the form field's default) and in capitals."""

    def to_python(self, value):
        return super().to_python(value).upper()


@admin.register(Practice)
class PracticeAdmin(SavedNameInHeading, admin.ModelAdmin):
    """Support admins correct a practice here (migration 0024): each change of its name, ODS code,
    ICB or delivery partner is written to the event log, as a migration's are."""

    list_display = ["name", "ods_code", "icb", "delivery_partner"]
    list_filter = ["icb", "delivery_partner"]
    search_fields = ["name", "ods_code"]
    # Plain lists (a few dozen ICBs and delivery partners): an autocomplete box would ask the ICB's
    # and the delivery partner's admin pages, which support admins may not open.

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "ods_code":
            # Room for spaces pasted around the code, which the model trims (OdsCodeField) before
            # checking its six characters: a box of six would cut the code itself.
            # Checked here, as the model would, so that a code of the wrong length gets the one
            # message of its form rather than that and a count of its characters.
            return OdsCodeFormField(
                label="ODS code",
                max_length=20,
                help_text="One letter then five digits, for example A81001.",
                validators=[validate_ods_practice_code],
                widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and obj.delivery_partner_id is not None:
            form = type("PracticeChangeForm", (form,), {"clean_delivery_partner": _keep_a_delivery_partner})
            # Nothing to offer that would be refused (the form's fields are its own: made for this request).
            form.base_fields["delivery_partner"].empty_label = None
        return form

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        before = Practice.objects.select_related("icb", "delivery_partner").get(pk=obj.pk)
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            Event.objects.bulk_create(
                Event(
                    practice=obj,
                    actor=request.user,
                    kind=Event.Kind.ATTRIBUTE,
                    field=f"practice_{name}",
                    old_value=str(getattr(before, name) or ""),
                    new_value=str(getattr(obj, name) or ""),
                    reason="Changed in the administration",
                )
                for name in ("name", "ods_code", "icb", "delivery_partner")
                if name in form.changed_data
            )


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["system_name", "name"]
    search_fields = ["name", "system_name"]


# The organisation each role belongs to, as the constraint membership_role_matches_organisation
# (models.people.role_matches_organisation) has it: a practice role a practice, the others their own.
ORGANISATION_OF_ROLE = {
    **dict.fromkeys(PRACTICE_ROLES, "practice"),
    Role.DELIVERY_PARTNER: "delivery_partner",
    Role.ICB_LEAD: "icb",
}
ORGANISATION_NAMES = {"practice": "a practice", "delivery_partner": "a delivery partner", "icb": "an ICB"}


class MembershipForm(forms.ModelForm):
    """A role in the wrong kind of organisation is explained on its row, before the database's
    constraint is reached (whose message names only the constraint)."""

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if role not in ORGANISATION_OF_ROLE:
            return cleaned  # no role, or one the field refused already
        needed = ORGANISATION_OF_ROLE[role]
        others = [name for name in ORGANISATION_NAMES if name != needed and cleaned.get(name)]
        if cleaned.get(needed) and not others:
            return cleaned
        person = capfirst(role_phrase(role))  # "A practice manager", "Practice staff"
        verb = "belongs" if person.startswith(("A ", "An ")) else "belong"
        belongs = f"{person} {verb} to {ORGANISATION_NAMES[needed]}"
        if cleaned.get(needed):
            named = " and ".join(ORGANISATION_NAMES[name] for name in others)
            message = f"{belongs} only: leave out {named}."
        else:
            kind = ORGANISATION_NAMES[needed].split(" ", 1)[1]  # "practice", "delivery partner", "ICB"
            named = " or ".join(ORGANISATION_NAMES[name] for name in others)
            message = f"{belongs}: choose the {kind}" + (f", not {named}." if others else ".")
        # On the role, the row's first box: seen at any width (the row's table scrolls sideways on
        # a narrow screen), and a field with an error is left out of the model's validation, so the
        # constraint's own message ("Constraint ... is violated") does not follow this one.
        self.add_error("role", message)
        return cleaned


class MembershipRows(LabelledRowsFormSet):
    """Each box of a membership's row named for screen readers ("Practice of: the practice
    manager membership"), as the template tables' rows are; by its role, read without a query."""

    def row_name(self, form) -> str:
        if form.instance.pk:
            return f"the {form.instance.get_role_display().lower()} membership"
        return "the new membership"


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    formset = MembershipRows
    extra = 1
    autocomplete_fields = ["practice", "delivery_partner", "icb"]
    # When is read, not typed: one column fewer for the table to fit the page.
    fields = ["role", "practice", "delivery_partner", "icb", "created_at"]
    readonly_fields = ["created_at"]


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "full_name"]


# The groups whose work is in the administration pages, which only staff open (admin_site).
ADMINISTRATION_GROUPS = ("Template editors", "Support admins")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        groups = cleaned.get("groups") or []
        needing = [group.name for group in groups if group.name in ADMINISTRATION_GROUPS]
        if needing and not cleaned.get("is_staff"):
            names = " and ".join(needing)
            box = capfirst(User._meta.get_field("is_staff").verbose_name)  # as the box beside it is labelled
            self.add_error(
                "is_staff",
                f'Tick "{box}" as well: {names} work in the administration pages, which only staff can open.',
            )
        return cleaned


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_active", "memberships__role"]
    search_fields = ["email", "full_name"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "full_name", "password"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        # Deactivating someone revokes their API tokens for good: they stop anyway while the account
        # is inactive (ApiToken.works), but would otherwise work again if it were reactivated.
        if change and "is_active" in form.changed_data and not obj.is_active:
            for token in ApiToken.objects.owned_by(obj).revoke():
                log_security_event(
                    "api_token_revoked", request, token_id=token.pk, owner_id=obj.pk, reason="deactivated"
                )


class PracticeMigrationAdminForm(forms.ModelForm):
    """The delivery partner's project manager is one of the people of the delivery partner that
    supports the practice (access.project_managers), as on the app's own pages."""

    def clean(self):
        cleaned = super().clean()
        manager = cleaned.get("project_manager")
        practice = cleaned.get("practice") or (self.instance.practice if self.instance.practice_id else None)
        if manager is not None and practice is not None:
            partner = practice.delivery_partner
            if partner is None or not access.project_managers([partner.pk]).filter(pk=manager.pk).exists():
                supported = f"{partner}, which supports the practice" if partner else "a delivery partner"
                self.add_error(
                    "project_manager", f"{manager} is not a project manager at {supported}: choose one of its people."
                )
        return cleaned


@admin.register(PracticeMigration)
class PracticeMigrationAdmin(SavedNameInHeading, admin.ModelAdmin):
    """Adding a migration here copies the latest published checklist onto it."""

    form = PracticeMigrationAdminForm

    list_display = ["practice", "source_supplier", "target_supplier", "go_live_on", "status"]
    list_filter = ["status", "source_supplier", "target_supplier", "practice__icb", "practice__delivery_partner"]
    search_fields = ["practice__name", "practice__ods_code"]
    autocomplete_fields = ["practice"]
    # The status changes on the migration page (hold, resume, cancel) and with the "migration
    # complete" gate, which check the move, keep its reason and log it.
    readonly_fields = [
        "template_version",
        "created_at",
        "created_by",
        "status",
        "held_at",
        "status_reason",
        "finished_at",
    ]
    actions = ["review_checklist_upgrade"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # Dates change through the migration page, which replans items and logs the change.
        milestone_fields = [field.name for field in obj._meta.fields if field.name.endswith("_on")]
        return [*self.readonly_fields, *milestone_fields, "practice"]

    def has_change_permission(self, request, obj=None) -> bool:
        """A completed or cancelled migration is read-only here too, as its page says (its systems,
        conditions and project manager changed here would change a finished checklist)."""
        if obj is not None and obj.status not in UNFINISHED_STATUSES:
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("project_manager")
        if field is not None:
            # Offered: the people of the practice's delivery partner (of any, for a new migration).
            memberships = access.project_manager_memberships()
            if obj is not None:
                memberships = memberships.filter(delivery_partner_id=obj.practice.delivery_partner_id)
            field.queryset = field.queryset.filter(pk__in=memberships.values("user_id"))
            field.error_messages["invalid_choice"] = (
                "Choose one of the people of the delivery partner that supports the practice."
            )
        return form

    def save_model(self, request, obj, form, change) -> None:
        if change:
            self._save_change(request, obj, form)
            return
        obj.created_by = request.user
        obj.template_version = TemplateVersion.objects.latest_published()
        if obj.template_version is None:
            raise ValidationError("No published checklist template: run `manage.py load_guide` first.")
        with transaction.atomic():
            obj.save()
            obj.instantiate()

    def _save_change(self, request, obj, form) -> None:
        """A new project manager and changed conditions are made as the migration page makes them,
        through the model, so each is written to the history and the checklist follows the
        conditions (an item whose condition no longer holds is not applicable): the form's values
        are put back as they were, the rest saved, then each change made. Changed systems (only
        here: the pages do not change them) are saved with the rest, and written to the history
        by name."""
        reason = "Changed in the administration"
        manager_changed, manager = "project_manager" in form.changed_data, obj.project_manager
        if manager_changed:
            obj.project_manager_id = form.initial.get("project_manager")  # as it was, until named below
        conditions = {name: getattr(obj, name) for name in Condition.values if name in form.changed_data}
        for name in conditions:
            setattr(obj, name, form.initial[name])
        systems = [name for name in ("source_supplier", "target_supplier") if name in form.changed_data]
        systems_before = Supplier.objects.in_bulk([form.initial[name] for name in systems])
        with transaction.atomic():
            super().save_model(request, obj, form, True)
            Event.objects.bulk_create(
                Event(
                    migration=obj,
                    actor=request.user,
                    kind=Event.Kind.ATTRIBUTE,
                    field=name,
                    old_value=systems_before[form.initial[name]].system_name,
                    new_value=getattr(obj, name).system_name,
                    reason=reason,
                )
                for name in systems
            )
            if manager_changed:
                obj.change_project_manager(manager, by=request.user, reason=reason)
            followed = obj.change_conditions(conditions, by=request.user, reason=reason) if conditions else []
        applying = sum(1 for item in followed if item.is_open)
        counts = [
            f"{count} checklist {'item' if count == 1 else 'items'} {when} {'applies' if count == 1 else 'apply'}"
            for count, when in ((applying, "now"), (len(followed) - applying, "no longer"))
            if count
        ]
        if counts:
            self.message_user(request, f"The conditions changed: {' and '.join(counts)}.", messages.INFO)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A migration's history is kept: cancel it instead.
        return False

    @admin.action(description="Review checklist upgrade", permissions=["change"])
    def review_checklist_upgrade(self, request, queryset):
        """First a page with what the latest version would change for each selected migration;
        its button posts the action again with the versions reviewed, which applies them."""
        selected = list(queryset.select_related("practice", "template_version__template"))
        if request.POST.get("apply") == "yes":
            self._apply_upgrades(request, selected)
            return None
        reviews, skipped = [], []
        for migration in selected:
            target = upgrades.newer_version(migration)
            reason = upgrades.refusal(migration, target) if target else ""
            if target is None:
                reason = f"{migration.practice} is already on the latest version ({migration.template_version})."
            if reason:
                skipped.append(reason)
            else:
                reviews.append(upgrades.plan(migration, target))
        if not reviews:
            for reason in skipped:
                self.message_user(request, f"{reason} Skipped.", messages.WARNING)
            return None
        today = timezone.localdate()
        context = {
            **self.admin_site.each_context(request),
            "title": "Review checklist upgrade",
            "opts": self.model._meta,
            # Each plan with what it would make overdue at once, as a migration's own review says.
            "reviews": [(plan, len(plan.added_overdue(today)), len(plan.moved_overdue(today))) for plan in reviews],
            "skipped": skipped,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "migrations_app/upgrade_admin_confirm.html", context)

    def _apply_upgrades(self, request, selected: list[PracticeMigration]) -> None:
        upgraded = 0
        for migration in selected:
            form = UpgradeForm({"version": request.POST.get(f"version-{migration.pk}")})
            if not form.is_valid():
                self.message_user(request, f"{migration.practice}: {form.errors['version'][0]}", messages.ERROR)
                continue
            outcome = upgrades.apply([migration], form.cleaned_data["version"], request.user)[0]
            if outcome.skipped:
                self.message_user(request, f"{outcome.skipped} Skipped.", messages.WARNING)
            else:
                upgraded += 1
                self.message_user(request, f"{migration.practice}: {outcome.plan.summary()}", messages.SUCCESS)
        if upgraded > 1:
            self.message_user(request, f"{upgraded} checklists upgraded.", messages.SUCCESS)


# The event list's item titles and values are cut short to this, for the list to fit the screen: the
# event's page has them whole.
EVENT_CELL_CHARACTERS = 40


def cell_text(value: str, other: str) -> str:
    """`value` cut to EVENT_CELL_CHARACTERS for the events list, where it stands beside `other`
    (an old value beside the new one). When the two begin alike for longer than that, its start
    (whose or what it is: a person's name before their address, else its first words), then from
    where the two differ: "Castle Street … Clinical lead", not the same start twice nor only the
    end, which can be alike too (a list that lost an item in its middle)."""
    if len(value) <= EVENT_CELL_CHARACTERS:
        return value
    alike = len(os.path.commonprefix([value, other]))
    if alike < EVENT_CELL_CHARACTERS - 1:
        return Truncator(value).chars(EVENT_CELL_CHARACTERS)
    # From the start of the word where they differ, unless that word is long (an e-mail address).
    space = value.rfind(" ", _CELL_HEAD, alike + 1)
    rest = value[
        space + 1 if space >= 0 and alike - space <= _CELL_CONTEXT else max(alike - _CELL_CONTEXT, _CELL_HEAD) :
    ]
    # A person's name whole ("Riverside Surgery staff (…@…), Practice staff") when it leaves room
    # for what differs; else the first characters.
    name = value[: value.find(" (")] if " (" in value[:alike] else ""
    shown_rest = min(len(rest), _CELL_HEAD)
    head = name if name and len(name) + len(_CELL_GAP) + shown_rest <= EVENT_CELL_CHARACTERS else value[:_CELL_HEAD]
    head = head.rstrip()
    room = EVENT_CELL_CHARACTERS - len(head) - len(_CELL_GAP)
    if len(rest) > room:
        rest = rest[: room - 1] + "…"
    return f"{head}{_CELL_GAP}{rest}"


_CELL_HEAD = 14
"""cell_text: the characters of a value's start kept when it begins as its neighbour does."""
_CELL_CONTEXT = 8
"""cell_text: at most this many characters kept before the first that differs: from the start of
its word, unless the word is longer."""
_CELL_GAP = " … "
"""cell_text: what stands for the characters left out between a value's start and where it differs."""


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The append-only log, readable by admins and never editable. The list fits a 1,280 px screen
    (static/admin-theme/admin.css): long titles and values are cut short there, and read whole on
    the event's page."""

    list_display = ["when", "kind", "organisation", "item_title", "actor", "field_label", "old_short", "new_short"]
    list_display_links = ["when"]
    list_filter = ["kind"]
    # By practice, whether the event is a migration's or the practice's own (people changes: an
    # invitation, a membership); by delivery partner or ICB; by item; and who acted, as support is
    # asked what someone did.
    search_fields = [
        "migration__practice__name",
        "migration__practice__ods_code",
        "practice__name",
        "practice__ods_code",
        "delivery_partner__name",
        "icb__name",
        "icb__code",
        "item__title",
        "actor__email",
        "actor__full_name",
    ]
    search_help_text = (
        "Search by practice name or ODS code, delivery partner, ICB name or code, checklist item, or the "
        "e-mail address or name of who made the change."
    )
    # Each row names its organisation, item and actor: all read with the page's one query.
    list_select_related = ["migration__practice", "practice", "delivery_partner", "icb", "item", "actor"]
    # The latest first, as the API's events and the migration's history list them.
    ordering = ["-at", "-pk"]
    # An event's page: the values as labels and dates, as the list and the history give them.
    fields = ["at", "kind", "migration", "item", "practice", "delivery_partner", "organisation_icb", "actor"]
    fields += ["field_label", "old", "new", "reason"]
    readonly_fields = [*fields]

    @admin.display(description="when", ordering="at")
    def when(self, event: Event) -> str:
        return f"{timezone.localtime(event.at):%-d %b %Y, %H:%M}"

    @admin.display(description="practice or organisation")
    def organisation(self, event: Event):
        """The practice of the event's migration, or the organisation a people change was made in."""
        practice = event.migration.practice if event.migration_id else event.practice
        return practice or event.delivery_partner or event.icb or self.get_empty_value_display()

    @admin.display(description="item", ordering="item__title")
    def item_title(self, event: Event) -> str:
        if event.item_id is None:
            return self.get_empty_value_display()
        return Truncator(event.item.title).chars(EVENT_CELL_CHARACTERS)

    @admin.display(description="field", ordering="field")
    def field_label(self, event: Event) -> str:
        return event.field_label() if event.field else self.get_empty_value_display()

    @admin.display(description="ICB")
    def organisation_icb(self, event: Event):
        return event.icb or self.get_empty_value_display()

    @admin.display(description="old value")
    def old(self, event: Event) -> str:
        return event.old_display()

    @admin.display(description="new value")
    def new(self, event: Event) -> str:
        return event.new_display()

    @admin.display(description="old value")
    def old_short(self, event: Event) -> str:
        return cell_text(event.old_display(), event.new_display())

    @admin.display(description="new value")
    def new_short(self, event: Event) -> str:
        return cell_text(event.new_display(), event.old_display())

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["title", "migration", "status", "due_on", "responsible_role"]
    list_filter = ["status", "kind", "responsible_role"]
    search_fields = ["title", "migration__practice__name", "migration__practice__ods_code"]
    list_select_related = ["migration__practice"]
    readonly_fields = [field.name for field in ChecklistItem._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Every reminder e-mail claimed and what became of it. Filter on "Failed" for those that need
    a look (address refused, server down past the last retry); "Send again" queues them anew."""

    list_display = [
        "claimed_at",
        "kind",
        "recipient",
        "key",
        "status",
        "attempts",
        "sent_at",
        "items_listed",
        "last_error",
    ]
    list_filter = ["status", "kind", ("on", titled_filter(admin.DateFieldListFilter, "day it is for"))]
    search_fields = ["recipient__email", "key", "last_error"]
    list_select_related = ["recipient"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_resend_permission(self, request) -> bool:
        # Deliveries are never edited by hand (has_change_permission is False for everyone), but
        # sending one again is a change: it needs the change permission all the same.
        return request.user.has_perm("migrations_app.change_delivery")

    @admin.action(description="Send again (failed e-mails only)", permissions=["resend"])
    def send_again(self, request, queryset) -> None:
        from migrations_app.reminders import claims

        count = claims.retry_deliveries(list(queryset.values_list("pk", flat=True)))
        if not count:
            self.message_user(
                request, "None of the selected e-mails had failed, so none was sent again.", messages.WARNING
            )
            return
        self.message_user(request, f"{count} failed e-mail{'s' if count != 1 else ''} queued again.")


@admin.register(ReminderPreference)
class ReminderPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "frequency", "first_lead_days", "second_lead_days", "unsubscribed_at"]
    list_filter = ["frequency"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    exclude = ["calendar_token"]
    autocomplete_fields = ["user"]


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """django-axes' list of sign-in attempts, whose clean-up action deletes rows: it needs the
    delete permission, as every admin action here declares what it needs."""

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset) -> None:
        super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)

# Template editing has its own module; importing it registers its admin classes.
from migrations_app.checklist_templates import admin as checklist_templates_admin  # noqa: E402, F401
