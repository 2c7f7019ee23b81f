from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from migrations_app import access
from migrations_app.access import Permission
from migrations_app.forms import MilestonesForm
from migrations_app.models import Milestone

# What the preview's form sends that the person did not type.
NOT_TYPED = ("csrfmiddlewaretoken", "confirm", "preview")


@require_http_methods(["GET", "POST"])
def milestones_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change milestone dates: first a preview of the due dates that would move, then apply. The
    preview is a page of its own (`?preview=yes` and the dates typed), reached by a redirect from
    the form: the browser's Back from the migration page after saving opens it again rather than
    asking to send the form again; with the dates saved by then, it shows the form."""
    migration, _ = access.get_migration(request.user, pk, Permission.EDIT_MILESTONES)
    if request.method == "GET":
        typed = request.GET if any(name.endswith(("-day", "-month", "-year")) for name in request.GET) else None
        form = MilestonesForm(typed, migration=migration)
        if typed is not None and request.GET.get("preview") == "yes" and form.is_valid() and form.changes():
            return _preview(request, migration, form)
        # Back from the preview, the dates as they were typed (its back link carries them).
        return render(request, "migrations_app/milestones_form.html", {"migration": migration, "form": form})
    form = MilestonesForm(request.POST, migration=migration)
    if not form.is_valid():
        return render(
            request, "migrations_app/milestones_form.html", {"migration": migration, "form": form}, status=400
        )
    changes = form.changes()
    if not changes:
        messages.info(request, "No dates were changed.")
        return redirect("migrations:migration_detail", pk=pk)
    if request.POST.get("confirm") != "yes":
        return redirect(typed_url("migrations:milestones_edit", pk, request.POST, preview=True))
    try:
        moves = migration.change_milestones(changes, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error(None, error)
        return render(
            request, "migrations_app/milestones_form.html", {"migration": migration, "form": form}, status=400
        )
    moved = f"{len(moves)} due date{'s' if len(moves) != 1 else ''} moved" if moves else "No due dates moved"
    messages.success(request, f"Milestones saved. {moved}.")
    return redirect("migrations:migration_detail", pk=pk)


def typed_url(url_name: str, pk: int, typed, *, preview: bool = False) -> str:
    """The address of a dates form (the milestones', the resume's) with what was typed (the dates
    and the reason), as its preview's own address (`preview`) or as the way back to the form."""
    fields = [(name, value) for name, value in typed.items() if name not in NOT_TYPED]
    return reverse(url_name, kwargs={"pk": pk}) + "?" + urlencode([("preview", "yes")] * preview + fields)


def _preview(request: HttpRequest, migration, form: MilestonesForm) -> HttpResponse:
    changes = form.changes()
    return render(
        request,
        "migrations_app/milestones_preview.html",
        {
            "migration": migration,
            "form": form,
            "changes": describe_changes(migration, changes),
            "moves": migration.preview_milestone_change(changes),
            "back": typed_url("migrations:milestones_edit", migration.pk, request.GET),
        },
    )


def describe_changes(migration, changes: dict) -> list[tuple[str, object, object]]:
    """(milestone, current date, new date) of each milestone `changes` moves, for a preview."""
    current = migration.milestone_dates()
    return [(Milestone(key).label, current[key], value) for key, value in changes.items()]
