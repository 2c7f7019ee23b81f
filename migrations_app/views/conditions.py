"""What is true of the practice (its conditions), which decides the checklist items that apply."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from migrations_app import access
from migrations_app.access import Permission
from migrations_app.forms import ConditionsForm
from migrations_app.models import Condition


@require_http_methods(["GET", "POST"])
def conditions_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the practice's conditions; the items they decide follow (PracticeMigration.change_conditions)."""
    migration, _ = access.get_migration(request.user, pk, Permission.EDIT_MILESTONES)
    current = [condition for condition in Condition.values if getattr(migration, condition)]
    form = ConditionsForm(request.POST or None, initial={"conditions": current})
    if request.method == "GET" or not form.is_valid():
        status = 200 if request.method == "GET" else 400
        return render(
            request, "migrations_app/conditions_form.html", {"migration": migration, "form": form}, status=status
        )
    followed = migration.change_conditions(form.changes(), by=request.user, reason=form.cleaned_data["reason"])
    if set(current) == set(form.cleaned_data["conditions"]):
        messages.info(request, "No conditions were changed.")
    else:
        applying = sum(1 for item in followed if item.is_open)
        message = "Conditions saved."
        if applying:
            message += f" {applying} item{'s' if applying != 1 else ''} now appl{'y' if applying != 1 else 'ies'}."
        if len(followed) - applying:
            count = len(followed) - applying
            message += f" {count} item{'s' if count != 1 else ''} no longer appl{'y' if count != 1 else 'ies'}."
        messages.success(request, message)
    return redirect("migrations:migration_detail", pk=pk)
