"""Actions on one checklist item. Each is a plain POST that redirects back to the migration
page; with htmx it answers with the item, swapped in place, and out of band what the change moved
elsewhere on the page (checklist.change_of). A form gone stale (someone else changed the item) is
a 409: the item again, with the message at it.

A status change is one transaction: the item is read with its migration and the person's roles,
locked (access.get_item's `lock`), changed, and, for htmx, the migration's items read once more
for the answer, which also gives the sign-off requests their gates (ChecklistItem.gates_made_ready)."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import parse_qs, urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from migrations_app import access, checklist, scheduling
from migrations_app.access import Permission
from migrations_app.forms import DueDateForm, NoteForm, OwnerForm, ReasonForm, ReopenForm, SignOffForm
from migrations_app.models import ChecklistItem, ItemStatus
from migrations_app.models.checklist_items import StaleItemError

# A blocked or not applicable item is reopened from its forms, with an optional reason; a done one
# with a button.
REOPENED_WITH_A_REASON = (ItemStatus.BLOCKED, ItemStatus.NOT_APPLICABLE)
MARKS = {
    "not-applicable": (ItemStatus.NOT_APPLICABLE, ChecklistItem.mark_not_applicable),
    "blocked": (ItemStatus.BLOCKED, ChecklistItem.mark_blocked),
}


def item_action(view: Callable) -> Callable:
    """An action on an item: a POST. Its address opened as a page (a GET or HEAD) leads to the
    item's own page, not to a 405: the browser stays on it after a form's errors, and it is where
    signing in again after a time-out returns to (the sign-in's `next`), where tracker.js then puts
    back what was typed."""

    @wraps(view)
    def action(request: HttpRequest, pk: int, item_pk: int, **kwargs) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            return redirect("migrations:item_detail", pk=pk, item_pk=item_pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request, pk, item_pk, **kwargs)

    return action


@require_GET
def item_detail(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item, user_access = access.get_item(request.user, pk, item_pk)
    return _item_page(request, item, user_access)


@require_GET
def item_forms(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """The note and reason forms of one checklist row, loaded by htmx when the row's details open."""
    item, user_access = access.get_item_to_work_on(request.user, pk, item_pk)
    _set_flags(item, user_access)
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


@item_action
def item_complete(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    with transaction.atomic():
        item, user_access = access.get_item_to_work_on(request.user, pk, item_pk, lock=True)
        if item.is_gate:
            # A gate needs its sign-off (who signed, and any override), not a bare tick.
            return redirect("migrations:item_detail", pk=pk, item_pk=item_pk)
        if not _still_as_shown(item, request.POST.get("shown_status")):
            return _refused_as_stale(request, item, user_access)
        if item.status == ItemStatus.DONE:
            # Someone marked it done since the page was shown: nothing to change or log, and the
            # row says who did, where it is seen.
            already = f"Already marked as done by {item.completed_by}"
            return _done(request, item, user_access, already, _change_of(request, item, user_access), shown=already)
        item.complete(request.user)
        change = _change_of(request, item, user_access)
    return _done(request, item, user_access, "Marked as done", change)


def _still_as_shown(item: ChecklistItem, shown_status: str | None) -> bool:
    """Whether marking `item` done keeps to what the page showed when it was clicked: its status
    then (the form's `shown_status`; none from a caller that sends none) is its status now, or it
    is done already (two people ticking it at once both count). Not the item's revision, which a
    note also moves: someone's note is no reason to refuse a tick, but their marking the item not
    applicable or blocked is, or the tick would silently undo it."""
    return shown_status is None or item.status in (shown_status, ItemStatus.DONE)


def _refused_as_stale(request, item: ChecklistItem, user_access) -> HttpResponse:
    """The item as it now is, with the message that someone else changed it, and nothing saved."""
    forms = {"action_errors": StaleItemError().messages}
    if request.htmx:
        change = checklist.change_of(item, timezone.localdate(), user_access)
        return _item_fragment(request, item, user_access, change, forms=forms, status=409)
    return _item_page(request, item, user_access, status=409, **forms)


@item_action
def item_reopen(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Back to "to do"; a blocked or not applicable item with an optional reason, kept in its log."""
    return _apply(
        request,
        lambda: access.get_item_to_reopen(request.user, pk, item_pk, lock=True),
        lambda item: ReopenForm(request.POST, item=item),
        "Reopened",
        lambda item, data: item.reopen(request.user, reason=data["reason"], expected_revision=data["revision"]),
        # A signed gate is reopened from its own page, where it says whose sign-off that withdraws.
        form_name=lambda item: "reopen_form" if item.status in REOPENED_WITH_A_REASON or item.is_gate else "",
    )


@item_action
def item_mark(request: HttpRequest, pk: int, item_pk: int, mark: str) -> HttpResponse:
    """Mark an item not applicable or blocked; both need a reason."""
    status, method = MARKS[mark]
    label = ItemStatus(status).label.lower()
    return _apply(
        request,
        lambda: access.get_item_to_change(request.user, pk, item_pk, lock=True),
        lambda item: ReasonForm(request.POST, item=item, status_label=label),
        f"Marked as {label}",
        lambda item, data: method(item, request.user, data["reason"], expected_revision=data["revision"]),
        form_name="reason_form",
    )


@item_action
def item_note(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    return _apply(
        request,
        lambda: access.get_item_to_work_on(request.user, pk, item_pk, lock=True),
        lambda item: NoteForm(request.POST, item=item),
        lambda changed: "Note saved" if changed else "No change to the note, so nothing was saved",
        lambda item, data: item.set_note(request.user, data["note"], expected_revision=data["revision"]),
        form_name="note_form",
        moves=False,
    )


@item_action
def item_sign_off(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    return _apply(
        request,
        lambda: access.get_gate_to_sign(request.user, pk, item_pk, lock=True),
        lambda item: SignOffForm(request.POST, item=item),
        # Not "Signed off": many gates' titles say it already ("Technical requirements signed off").
        "Sign-off recorded",
        lambda item, data: item.sign_off(
            request.user, override_reason=data["override_reason"], expected_revision=data["revision"]
        ),
        form_name="sign_off_form",
    )


@item_action
def item_due_date(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Set the item's due date by hand (replanning then leaves it alone), or give it back to the
    date worked out from its milestone; a reason either way. For whoever may change the plan's dates."""
    item, user_access = access.get_item(request.user, pk, item_pk, Permission.EDIT_MILESTONES)
    form = DueDateForm(request.POST, item=item)
    if form.is_valid():
        try:
            changed = item.set_due_date(
                request.user,
                form.cleaned_data["due_on"],
                reason=form.cleaned_data["reason"],
                expected_revision=form.cleaned_data["revision"],
            )
        except ValidationError as error:
            _add_model_errors(form, error)
        else:
            if not changed:
                messages.info(request, f"No change to the due date, so nothing was saved: {item.title}")
                return redirect("migrations:item_detail", pk=pk, item_pk=item_pk)
            when = f"{item.due_on.day} {item.due_on:%B %Y}" if item.due_on else "not agreed yet"
            how = "set by hand" if item.manual_due_on else "worked out from the plan"
            messages.success(request, f"Due date {how}, {when}: {item.title}")
            if item.manual_due_on:
                for note in scheduling.due_date_notes(item.due_on, is_open=item.is_open, today=timezone.localdate()):
                    messages.warning(request, note)
            return redirect("migrations:item_detail", pk=pk, item_pk=item_pk)
    status = 409 if _is_stale(form) else 400
    item.refresh_from_db()
    item.migration = access.get_migration(request.user, item.migration_id)[0]
    return _item_page(request, item, user_access, status=status, due_date_form=form)


@item_action
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


def _apply(
    request,
    fetch: Callable,
    make_form: Callable,
    announcement: str | Callable,
    action: Callable,
    form_name: str | Callable = "",
    moves: bool = True,
) -> HttpResponse:
    """In one transaction, `fetch` the item (locked for the change), validate the form
    `make_form(item)` and run `action(item, data)` with its data; then answer, with the
    `announcement` (or `announcement(what the action returned)`): the updated item
    (and, for a change of status, what it `moves` on the page), or the form again with a message
    and nothing saved. A refusal from the model rolls the whole transaction back (the item is held
    for the change: ChecklistItem.hold_for_change), so it is caught outside it."""
    change = None
    try:
        with transaction.atomic():
            item, user_access = fetch()
            name = form_name(item) if callable(form_name) else form_name
            form = make_form(item)
            if form.is_valid():
                done = action(item, form.cleaned_data)
                if callable(announcement):
                    announcement = announcement(done)
                # An action that changed nothing (it says False) says so where it is seen, not only
                # to screen readers.
                shown = announcement if done is False else ""
                change = _change_of(request, item, user_access) if moves else None
    except ValidationError as error:
        _add_model_errors(form, error)
    else:
        if form.is_valid():
            # A note (an action that moves nothing) came from the row's forms: the focus goes back
            # there, not to its main button, where one more Enter would mark the item done.
            focus = True if moves else "forms"
            return _done(request, item, user_access, announcement, change, focus=focus, shown=shown)
    # Someone else changed the item since the form was loaded: a conflict, not a mistake in the form.
    stale = _is_stale(form)
    item.refresh_from_db()
    item.migration = access.get_migration(request.user, item.migration_id)[0]
    if name == "sign_off_form":
        forms = {name: form}
    elif name:
        # The row shows its reason and note forms together: the one that failed, and the others anew.
        forms = _row_forms(item) | {name: form}
    else:
        forms = {"action_errors": form.non_field_errors() or ["Check the item and try again."]}
    if request.htmx:
        # A 409 is swapped in too (static/js/tracker.js): the item as it now is, with the message,
        # and the figures as they now are (someone else's change may have moved them).
        change = checklist.change_of(item, timezone.localdate(), user_access)
        return _item_fragment(request, item, user_access, change, forms=forms, status=409 if stale else 200)
    return _item_page(request, item, user_access, status=409 if stale else 400, **forms)


def _change_of(request, item, user_access) -> checklist.Change | None:
    """For htmx, what the change to `item` moved on the page, read in the change's transaction
    (checklist.change_of). The gates it made ready go to the sign-off requests, which then need no
    query of their own once it commits (ChecklistItem.gates_made_ready)."""
    if not request.htmx:
        return None
    change = checklist.change_of(item, timezone.localdate(), user_access)
    item.gates_made_ready = [gate.pk for gate in change.made_ready]
    return change


def _is_stale(form) -> bool:
    return any(isinstance(error, StaleItemError) for error in form.non_field_errors().as_data())


def _add_model_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _done(
    request,
    item,
    user_access,
    announcement: str,
    change: checklist.Change | None = None,
    *,
    focus: bool | str = True,
    shown: str = "",
) -> HttpResponse:
    if request.htmx:
        return _item_fragment(
            request, item, user_access, change, forms={}, announcement=announcement, focus=focus, shown=shown
        )
    page = reverse("migrations:migration_detail", kwargs={"pk": item.migration_id})
    came_from = urlsplit(request.headers.get("referer", ""))
    own_page = reverse("migrations:item_detail", kwargs={"pk": item.migration_id, "item_pk": item.pk})
    if focus == "forms" and came_from.path == own_page:
        # A note (it moves nothing) written on the item's own page: back there, as its due date
        # and owner forms do, with the message.
        messages.success(request, f"{announcement}: {item.title}")
        return redirect(own_page)
    # Back to the checklist view the form was sent from (its `show`), without JavaScript too.
    show = parse_qs(came_from.query).get("show", [""])[0] if came_from.path == page else ""
    view = {"show": show} if show in checklist.VIEWS else {}
    # An item the view no longer shows (done, in the Open view) has no row to open the page at: its
    # phase instead, where the person was working, rather than the top of a long checklist, with the
    # confirmation there (views/pages.py), where it is seen. One it shows is opened at its row, its
    # phase expanded (`phase`: a later or finished phase is collapsed, its rows not on the page).
    if _still_shown(item, checklist.view_of(show), user_access):
        messages.success(request, f"{announcement}: {item.title}", extra_tags=checklist.at_place(f"item-{item.pk}"))
        return redirect(f"{page}?{urlencode(view | {'phase': item.phase_id})}#item-{item.pk}")
    messages.success(request, f"{announcement}: {item.title}", extra_tags=checklist.at_phase(item.phase_id))
    return redirect(page + (f"?{urlencode(view)}" if view else "") + f"#phase-{item.phase_id}-heading")


def _still_shown(item, view: str, user_access) -> bool:
    """Whether the checklist's `view` shows `item` as it now is (marked as build marks it)."""
    today, paused = timezone.localdate(), item.migration.is_paused
    item.due_state = "" if paused else checklist.due_state(item, today)
    item.is_yours = user_access.holds(item)
    return checklist.in_view(view, item, today, paused)


def _item_fragment(
    request,
    item,
    user_access,
    change: checklist.Change | None,
    *,
    forms: dict,
    announcement: str = "",
    status: int = 200,
    focus: bool | str = True,
    shown: str = "",
) -> HttpResponse:
    """The item again and, given the `change` of its status, out-of-band updates of what it moved:
    its phase's progress, the overall progress, the views' counts, the current phase, "This week"
    and the readiness of the gates that wait for it; then the announcement. Without a change (a
    note), the item alone. With errors, the focus goes to the first of them (tracker.js), not to
    the item's main button; with `focus="forms"`, to the row's forms. `shown`: a message shown in
    the row (an action that changed nothing)."""
    row = change.item if change else checklist.marked(item, timezone.localdate())
    if change:
        # The view the page is in (its address, as htmx sends it): what its collapsed phase's link counts.
        page_query = parse_qs(urlsplit(request.htmx.current_url or "").query)
        view = checklist.view_of(page_query.get("show", [""])[0])
        checklist.focus_phase(change.phase, view, change.checklist.today, item.migration.is_paused)
    _set_flags(row, user_access)
    if shown:
        row.messages = [shown]  # in the row, seen (item_rows.row)
    return render(
        request,
        "migrations_app/_item_update.html",
        {
            "migration": item.migration,
            "access": user_access,
            "item": row,
            "change": change,
            "checklist": change.checklist if change else None,
            "phase": change.phase if change else None,
            "announcement": announcement,
            # Where the focus goes: the main button (True), the row's forms ("forms"), or, with a
            # form's errors, the first of them (tracker.js).
            "focus": focus if not forms else False,
            **forms,
        },
        status=status,
    )


def _item_page(request, item, user_access, status: int = 200, **forms) -> HttpResponse:
    """The item's own page, with all its forms: those given (bound, with their errors) and new
    ones for the rest."""
    item.due_state = checklist.due_state(item, timezone.localdate())
    _set_flags(item, user_access)
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
        "due_date_form": DueDateForm(item=item, initial={"revision": item.revision})
        if user_access.can_edit_milestones
        else None,
        **forms,
    }
    return render(request, "migrations_app/item_detail.html", context, status=status)


def _owner_form(item) -> OwnerForm:
    memberships = access.owner_memberships(item).select_related("user")
    return OwnerForm(item=item, memberships=memberships, initial={"revision": item.revision, "owner": item.owner_id})


def _row_forms(item) -> dict:
    """New reopen, reason and note forms for `item`, as its row and its page show them."""
    return {
        "reopen_form": ReopenForm(item=item, initial={"revision": item.revision}),
        "reason_form": ReasonForm(item=item, initial={"revision": item.revision}),
        "note_form": NoteForm(item=item, initial={"revision": item.revision, "note": item.note}),
    }


def _set_flags(item, user_access) -> None:
    """What the person may do to `item`, as its row and its page offer it: nothing is offered that
    would end in a 403."""
    item.can_sign = user_access.can_sign(item)
    item.can_work_on = user_access.can_work_on(item)
    item.can_change_status = user_access.can_change_status(item)
