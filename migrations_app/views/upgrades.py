"""Reviewing and applying a checklist upgrade: one migration moved to the latest published
version of its template, after a page that shows what would change."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from migrations_app import access
from migrations_app.access import Permission
from migrations_app.checklist_templates import upgrades
from migrations_app.forms import UpgradeForm
from migrations_app.models import ChecklistItem, ItemKind, PracticeMigration, TemplateVersion


@require_http_methods(["GET", "POST"])
def upgrade_review(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what the latest version would change. POST (the page's button): apply the version
    reviewed, then back to the migration page. Staff and the practice's delivery partner only."""
    migration, _ = access.get_migration(request.user, pk, Permission.UPGRADE_CHECKLIST)
    target = upgrades.newer_version(migration)
    if request.method == "GET":
        return _review(request, migration, target, UpgradeForm(initial={"version": target.pk if target else None}))
    form = UpgradeForm(request.POST)
    if not form.is_valid():
        return _review(request, migration, target, form, status=400)
    outcome = upgrades.apply([migration], form.cleaned_data["version"], request.user)[0]
    if outcome.skipped:
        form.add_error(None, f"{outcome.skipped} Nothing was changed.")
        return _review(request, migration, target, form, status=400)
    messages.success(request, f"Checklist upgraded. {outcome.plan.summary()}")
    return redirect("migrations:migration_detail", pk=pk)


def _review(
    request: HttpRequest,
    migration: PracticeMigration,
    target: TemplateVersion | None,
    form: UpgradeForm,
    status: int = 200,
) -> HttpResponse:
    plan = upgrades.plan(migration, target) if target else None
    today = timezone.localdate()
    overdue = plan.added_overdue(today) if plan else []
    context = {
        "migration": migration,
        "target": target,
        "plan": plan,
        "form": form,
        "overdue_items": overdue,
        "added_overdue": len(overdue),
        "added_gates_overdue": sum(1 for added in overdue if added.template.kind == ItemKind.GATE),
        "moved_overdue": len(plan.moved_overdue(today)) if plan else 0,
    }
    return render(request, "migrations_app/upgrade_review.html", context, status=status)


@require_GET
def archived_item_history(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """The history of an item an upgrade archived: no longer in the checklist, kept for the record."""
    migration, _ = access.get_migration(request.user, pk)
    item = get_object_or_404(
        ChecklistItem.all_objects.filter(migration=migration, archived_at__isnull=False), pk=item_pk
    )
    item.migration = migration
    events = item.events.select_related("actor").order_by("-at", "-pk")
    return render(request, "migrations_app/item_history.html", {"item": item, "events": events})
