from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from migrations_app import access, checklist, upgrades
from migrations_app.models import Membership, PracticeMigration


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Delivery-partner and ICB users, and staff, land on the dashboard across their practices; a
    practice user on their practice's migration; anyone else on the list."""
    memberships = Membership.objects.filter(user=request.user)
    if request.user.is_staff or memberships.filter(practice__isnull=True).exists():
        return redirect("migrations:dashboard")
    migrations = (
        PracticeMigration.objects.visible_to(request.user)
        .unfinished()
        .select_related("practice__icb", "source_supplier", "target_supplier")
        .with_progress()
        .order_by("go_live_on", "practice__name")
    )
    if memberships.exists():
        own = list(migrations[:2])
        if len(own) == 1:
            return redirect("migrations:migration_detail", pk=own[0].pk)
    return render(request, "migrations_app/home.html", {"migrations": migrations})


@require_GET
def migration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    migration, user_access = access.get_migration(request.user, pk)
    today = timezone.localdate()
    return render(
        request,
        "migrations_app/migration_detail.html",
        {
            "migration": migration,
            "access": user_access,
            "checklist": checklist.build(migration, today, user_access),
            "countdown": checklist.go_live_countdown(migration, today),
            "newer_version": upgrades.newer_version(migration) if user_access.can_upgrade_checklist else None,
        },
    )
