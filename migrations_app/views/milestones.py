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
MILESTONES = "migrations:milestones_edit"


@require_http_methods(["GET", "POST"])
def milestones_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change milestone dates: first a preview of the due dates that would move, then apply. The
    preview is a page of its own (`?preview=yes`, what was typed kept in the session: keep_typed),
    reached by a redirect from the form: the browser's Back from the migration page after saving
    opens it again rather than asking to send the form again; with the change saved by then, it
    shows the form."""
    migration, _ = access.get_migration(request.user, pk, Permission.EDIT_MILESTONES)
    if request.method == "GET":
        # The preview, or back from it (`?back=yes`) the dates and the reason as they were typed.
        typed = typed_in(request, MILESTONES, pk) if request.GET.get("preview") or request.GET.get("back") else None
        form = MilestonesForm(typed, migration=migration)
        if typed is not None and request.GET.get("preview") == "yes" and form.is_valid() and form.changes():
            return _preview(request, migration, form)
        return render(request, "migrations_app/milestones_form.html", {"migration": migration, "form": form})
    form = MilestonesForm(request.POST, migration=migration)
    if not form.is_valid():
        return render(
            request, "migrations_app/milestones_form.html", {"migration": migration, "form": form}, status=400
        )
    changes = form.changes()
    if not changes:
        forget_typed(request, MILESTONES, pk)
        messages.info(request, "No dates were changed.")
        return redirect("migrations:migration_detail", pk=pk)
    if request.POST.get("confirm") != "yes":
        return redirect(keep_typed(request, MILESTONES, pk, request.POST))
    try:
        moves = migration.change_milestones(changes, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error(None, error)
        return render(
            request, "migrations_app/milestones_form.html", {"migration": migration, "form": form}, status=400
        )
    forget_typed(request, MILESTONES, pk)
    moved = f"{len(moves)} due date{'s' if len(moves) != 1 else ''} moved" if moves else "No due dates moved"
    messages.success(request, f"Milestones saved. {moved}.")
    return redirect("migrations:migration_detail", pk=pk)


def keep_typed(request: HttpRequest, url_name: str, pk: int, typed) -> str:
    """Keeps what was typed on a dates form (the milestones', the resume's: the dates and the
    reason) for its preview, in the session rather than in the preview's address: the reason is
    free text, and an address goes into the browser's history and the server's logs. Returns the
    preview's address."""
    request.session[_typed_key(url_name, pk)] = {name: value for name, value in typed.items() if name not in NOT_TYPED}
    return reverse(url_name, kwargs={"pk": pk}) + "?preview=yes"


def typed_in(request: HttpRequest, url_name: str, pk: int) -> dict | None:
    """What keep_typed kept for the form `url_name` of migration `pk`, if anything."""
    return request.session.get(_typed_key(url_name, pk))


def forget_typed(request: HttpRequest, url_name: str, pk: int) -> None:
    request.session.pop(_typed_key(url_name, pk), None)


def _typed_key(url_name: str, pk: int) -> str:
    return f"typed:{url_name}:{pk}"


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
            "back": reverse(MILESTONES, kwargs={"pk": migration.pk}) + "?back=yes",
        },
    )


def describe_changes(migration, changes: dict) -> list[tuple[str, object, object]]:
    """(milestone, current date, new date) of each milestone `changes` moves, for a preview."""
    current = migration.milestone_dates()
    return [(Milestone(key).label, current[key], value) for key, value in changes.items()]
