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
NOT_TYPED = ("csrfmiddlewaretoken", "confirm")


@require_http_methods(["GET", "POST"])
def milestones_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change milestone dates: first a preview of the due dates that would move, then apply."""
    migration, _ = access.get_migration(request.user, pk, Permission.EDIT_MILESTONES)
    if request.method == "GET":
        # Back from the preview, the dates as they were typed (its back link carries them).
        typed = request.GET if any(name.endswith(("-day", "-month", "-year")) for name in request.GET) else None
        return render(
            request,
            "migrations_app/milestones_form.html",
            {"migration": migration, "form": MilestonesForm(typed, migration=migration)},
        )
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
        return render(
            request,
            "migrations_app/milestones_preview.html",
            {
                "migration": migration,
                "form": form,
                "changes": describe_changes(migration, changes),
                "moves": migration.preview_milestone_change(changes),
                "back": reverse("migrations:milestones_edit", kwargs={"pk": pk})
                + "?"
                + urlencode([(name, value) for name, value in request.POST.items() if name not in NOT_TYPED]),
            },
        )
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


def describe_changes(migration, changes: dict) -> list[tuple[str, object, object]]:
    """(milestone, current date, new date) of each milestone `changes` moves, for a preview."""
    current = migration.milestone_dates()
    return [(Milestone(key).label, current[key], value) for key, value in changes.items()]
