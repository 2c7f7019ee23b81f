"""A migration's lifecycle: put it on hold, resume it (with a preview of the due dates new
milestone dates would move), cancel it. Each is a form (GET) and a plain POST that redirects to
the migration page; all need CHANGE_MIGRATION_STATUS, which nobody holds on a finished migration
(access.Access). The moves allowed from each status are PracticeMigration's TRANSITIONS: one the
status does not allow is explained on the migration page and changes nothing. Completing follows
the "migration complete" gate (its sign-off and reopening are item actions, views/items.py)."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from migrations_app import access
from migrations_app.access import Permission
from migrations_app.forms import CancelForm, HoldForm, ResumeForm
from migrations_app.models import PracticeMigration
from migrations_app.views.milestones import describe_changes, forget_typed, keep_typed, typed_in

RESUME = "migrations:migration_resume"


@require_http_methods(["GET", "POST"])
def migration_hold(request: HttpRequest, pk: int) -> HttpResponse:
    return _with_reason(
        request,
        pk,
        "hold",
        HoldForm,
        PracticeMigration.hold,
        "Migration put on hold. Reminders are paused until it is resumed.",
    )


@require_http_methods(["GET", "POST"])
def migration_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _with_reason(
        request,
        pk,
        "cancel",
        CancelForm,
        PracticeMigration.cancel,
        "Migration cancelled. It is read-only from now on.",
    )


@require_http_methods(["GET", "POST"])
def migration_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Resume a migration on hold: its milestone dates (to move those that slipped), then a preview
    of the due dates that would move, then resume. The preview is a page of its own (`?preview=yes`,
    what was typed kept in the session), reached by a redirect, as the milestones' is: the
    browser's Back after resuming opens it again, and finds the migration in progress (_fetch)."""
    migration, refused = _fetch(request, pk, "resume")
    if refused:
        return refused
    if request.method == "GET":
        typed = typed_in(request, RESUME, pk) if request.GET.get("preview") or request.GET.get("back") else None
        if typed is not None and request.GET.get("preview") == "yes":
            form = ResumeForm(typed, migration=migration)
            if form.is_valid():
                changes = form.changes()
                context = {
                    "migration": migration,
                    "form": form,
                    "changes": describe_changes(migration, changes),
                    "moves": migration.preview_milestone_change(changes) if changes else [],
                }
                return render(request, "migrations_app/migration_resume_preview.html", context)
            return _resume_form(request, migration, form, status=400)
        # Back from the preview (`?back=yes`), what was typed; else the dates as they are.
        return _resume_form(request, migration, ResumeForm(typed, migration=migration))
    form = ResumeForm(request.POST, migration=migration)
    if not form.is_valid():
        return _resume_form(request, migration, form, status=400)
    changes = form.changes()
    if request.POST.get("confirm") != "yes":
        return redirect(keep_typed(request, RESUME, pk, request.POST))
    try:
        moves = migration.resume(request.user, changes=changes, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error(None, error.messages)
        return _resume_form(request, migration, form, status=400)
    forget_typed(request, RESUME, pk)
    moved = f"{len(moves)} due date{'s' if len(moves) != 1 else ''} moved" if moves else "No due dates moved"
    messages.success(request, f"Migration resumed. {moved}.")
    return redirect("migrations:migration_detail", pk=pk)


def _fetch(request: HttpRequest, pk: int, action: str) -> tuple[PracticeMigration, HttpResponse | None]:
    """The migration (404, 403 as access.get_migration), and a redirect with the reason when its
    status does not allow `action`."""
    migration, _ = access.get_migration(request.user, pk, Permission.CHANGE_MIGRATION_STATUS)
    refusal = migration.refusal(action)
    if refusal:
        if request.method == "GET" and migration.has_had(action):
            # The page opened again after the change (the browser's Back): where it stands, no refusal.
            messages.info(request, f"This migration is {migration.get_status_display().lower()}.")
        else:
            messages.info(request, f"{refusal} Nothing was changed.")
        return migration, redirect("migrations:migration_detail", pk=pk)
    return migration, None


def _with_reason(request: HttpRequest, pk: int, action: str, form_class, method: Callable, done: str) -> HttpResponse:
    """A move that needs a reason (on hold, cancelled): the form, then the move."""
    migration, refused = _fetch(request, pk, action)
    if refused:
        return refused
    form = form_class(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            method(migration, request.user, form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error("reason" if hasattr(error, "error_dict") else None, error.messages)
        else:
            messages.success(request, done)
            return redirect("migrations:migration_detail", pk=pk)
    template = f"migrations_app/migration_{action}.html"
    return render(request, template, {"migration": migration, "form": form}, status=400 if form.errors else 200)


def _resume_form(
    request: HttpRequest, migration: PracticeMigration, form: ResumeForm, status: int = 200
) -> HttpResponse:
    return render(
        request, "migrations_app/migration_resume.html", {"migration": migration, "form": form}, status=status
    )
