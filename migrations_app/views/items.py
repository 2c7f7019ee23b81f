"""Actions on one checklist item. Each is a plain POST that redirects back to the migration
page; with htmx it answers with the item and its phase's progress, swapped in place."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from migrations_app import access, checklist
from migrations_app.access import Permission
from migrations_app.forms import NoteForm, OwnerForm, ReasonForm, RevisionForm, SignOffForm
from migrations_app.models import ChecklistItem, ItemStatus

MARKS = {
    "not-applicable": (ItemStatus.NOT_APPLICABLE, ChecklistItem.mark_not_applicable),
    "blocked": (ItemStatus.BLOCKED, ChecklistItem.mark_blocked),
}


@require_GET
def item_detail(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item, user_access = access.get_item(request.user, pk, item_pk)
    return _item_page(request, item, user_access)


@require_GET
def item_forms(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """The note and reason forms of one checklist row, loaded by htmx when the row's details open."""
    item, _ = access.get_item_to_work_on(request.user, pk, item_pk)
    return render(
        request,
        "migrations_app/_item_forms.html",
        {
            "migration": item.migration,
            "item": item,
            "in_row": True,
            **_row_forms(item),
        },
    )


@require_GET
def item_history(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item, _ = access.get_item(request.user, pk, item_pk)
    events = item.events.select_related("actor").order_by("-at", "-pk")
    return render(request, "migrations_app/item_history.html", {"item": item, "events": events})


@require_POST
def item_complete(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item, user_access = access.get_item_to_work_on(request.user, pk, item_pk)
    if item.is_gate:
        # A gate needs its sign-off (who signed, and any override), not a bare tick.
        return redirect("migrations:item_detail", pk=pk, item_pk=item_pk)
    item.complete(request.user)
    return _done(request, item, user_access, "Marked as done")


@require_POST
def item_reopen(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item, user_access = access.get_item_to_reopen(request.user, pk, item_pk)
    form = RevisionForm(request.POST, item=item)
    return _apply(
        request,
        item,
        user_access,
        form,
        "Reopened",
        lambda data: item.reopen(request.user, expected_revision=data["revision"]),
    )


@require_POST
def item_mark(request: HttpRequest, pk: int, item_pk: int, mark: str) -> HttpResponse:
    """Mark an item not applicable or blocked; both need a reason."""
    item, user_access = access.get_item_to_change(request.user, pk, item_pk)
    status, method = MARKS[mark]
    label = ItemStatus(status).label.lower()
    form = ReasonForm(request.POST, item=item, status_label=label)
    return _apply(
        request,
        item,
        user_access,
        form,
        f"Marked as {label}",
        lambda data: method(item, request.user, data["reason"], expected_revision=data["revision"]),
        form_name="reason_form",
    )


@require_POST
def item_note(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item, user_access = access.get_item_to_work_on(request.user, pk, item_pk)
    form = NoteForm(request.POST, item=item)
    return _apply(
        request,
        item,
        user_access,
        form,
        "Note saved",
        lambda data: item.set_note(request.user, data["note"], expected_revision=data["revision"]),
        form_name="note_form",
    )


@require_POST
def item_sign_off(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item, user_access = access.get_gate_to_sign(request.user, pk, item_pk)
    form = SignOffForm(request.POST, item=item)
    return _apply(
        request,
        item,
        user_access,
        form,
        "Signed off",
        lambda data: item.sign_off(
            request.user, override_reason=data["override_reason"], expected_revision=data["revision"]
        ),
        form_name="sign_off_form",
    )


@require_POST
def item_owner(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Name the item's owner, or give it back to anyone in its responsible role; back to the item's
    page with a message, or its page again with the form's error and nothing changed."""
    item, user_access = access.get_item(request.user, pk, item_pk, Permission.ASSIGN_OWNERS)
    memberships = access.owner_memberships(item)
    form = OwnerForm(request.POST, item=item, memberships=memberships.select_related("user"))
    if form.is_valid():
        owner = form.cleaned_data["owner"]
        try:
            item.assign_owner(
                request.user, owner, memberships=memberships, expected_revision=form.cleaned_data["revision"]
            )
        except ValidationError as error:
            _add_model_errors(form, error)
        else:
            who = owner or f"anyone in the role ({item.role_in_a_sentence})"
            messages.success(request, f"Owner is now {who}: {item.title}")
            return redirect("migrations:item_detail", pk=pk, item_pk=item_pk)
    item.refresh_from_db()
    item.migration = access.get_migration(request.user, item.migration_id)[0]
    return _item_page(request, item, user_access, status=400, owner_form=form)


def _apply(request, item, user_access, form, announcement: str, action, form_name: str = "") -> HttpResponse:
    """Validate `form`, run `action` with its data, and answer: the updated item, or the
    form again with a message and nothing saved."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as error:
            _add_model_errors(form, error)
        else:
            return _done(request, item, user_access, announcement)
    item.refresh_from_db()
    item.migration = access.get_migration(request.user, item.migration_id)[0]
    if form_name == "sign_off_form":
        forms = {form_name: form}
    elif form_name:
        # The row shows its reason and note forms together: the one that failed, and the other anew.
        forms = _row_forms(item) | {form_name: form}
    else:
        forms = {"action_errors": form.non_field_errors() or ["Check the item and try again."]}
    if request.htmx:
        return _item_fragment(request, item, user_access, forms=forms, announcement="")
    return _item_page(request, item, user_access, status=400, **forms)


def _add_model_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _done(request, item, user_access, announcement: str) -> HttpResponse:
    if request.htmx:
        return _item_fragment(request, item, user_access, forms={}, announcement=announcement)
    messages.success(request, f"{announcement}: {item.title}")
    return redirect(reverse("migrations:migration_detail", kwargs={"pk": item.migration_id}) + f"#item-{item.pk}")


def _item_fragment(request, item, user_access, *, forms: dict, announcement: str) -> HttpResponse:
    """The item again, plus out-of-band updates of its phase's progress, the overall progress
    and the "This week" panel."""
    today = timezone.localdate()
    built = checklist.build(item.migration, today, user_access)
    fresh = next(
        member for phase in built.phases for group in phase.groups for member in group.items if member.pk == item.pk
    )
    return render(
        request,
        "migrations_app/_item_update.html",
        {
            "migration": item.migration,
            "access": user_access,
            "checklist": built,
            "item": fresh,
            "phase": built.phase_of(fresh),
            "announcement": announcement,
            "focus": True,
            **forms,
        },
    )


def _item_page(request, item, user_access, status: int = 200, **forms) -> HttpResponse:
    """The item's own page, with all its forms: those given (bound, with their errors) and new
    ones for the rest."""
    item.due_state = checklist.due_state(item, timezone.localdate())
    item.can_sign = user_access.can_sign(item)
    item.can_work_on = user_access.can_work_on(item)
    context = {
        "migration": item.migration,
        "item": item,
        "access": user_access,
        **_row_forms(item),
        "sign_off_form": SignOffForm(item=item, initial={"revision": item.revision}),
        "action_errors": None,
        "open_dependencies": item.open_dependencies() if item.is_gate else [],
        "dependencies": item.dependencies().order_by("phase__position", "position") if item.is_gate else [],
        "signed_off_by": access.responsible_name(item) if item.is_gate else "",
        "owner_form": _owner_form(item) if user_access.can_assign_owners else None,
        **forms,
    }
    return render(request, "migrations_app/item_detail.html", context, status=status)


def _owner_form(item) -> OwnerForm:
    memberships = access.owner_memberships(item).select_related("user")
    return OwnerForm(item=item, memberships=memberships, initial={"revision": item.revision, "owner": item.owner_id})


def _row_forms(item) -> dict:
    """New reason and note forms for `item`, as its row and its page show them."""
    return {
        "reason_form": ReasonForm(item=item, initial={"revision": item.revision}),
        "note_form": NoteForm(item=item, initial={"revision": item.revision, "note": item.note}),
    }
