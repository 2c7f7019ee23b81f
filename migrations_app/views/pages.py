from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from migrations_app import access, checklist
from migrations_app.checklist_templates import upgrades
from migrations_app.invitations import people
from migrations_app.lessons import panel as retrospectives
from migrations_app.models import checkins


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """People who look across practices land on the dashboard; a practice user on their practice's
    migration; a template editor, who sees no migration, in the admin; anyone else on the list."""
    if access.lands_on_dashboard(request.user):
        return redirect("migrations:dashboard")
    migrations = (
        access.visible_migrations(request.user)
        .unfinished()
        .select_related("practice__icb", "source_supplier", "target_supplier")
        .with_progress()
        .order_by("go_live_on", "practice__name")
    )
    own = list(migrations[:2])
    if len(own) == 1:
        return redirect("migrations:migration_detail", pk=own[0].pk)
    if not own and request.user.is_staff:
        # A template editor: no migration to show, their work is in the admin.
        return redirect("admin:index")
    return render(request, "migrations_app/home.html", {"migrations": migrations})


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def migration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The migration page. `?show=` picks a view of the checklist (checklist.VIEWS), `?phase=` a
    phase to show expanded; htmx asks for the checklist alone when a view link is followed in
    place, and for a collapsed phase's items when its details open."""
    migration, user_access = access.get_migration(request.user, pk)
    today = timezone.localdate()
    built = checklist.build(
        migration, today, user_access, view=request.GET.get("show"), expand=request.GET.get("phase")
    )
    if request.htmx and request.htmx.target == "checklist":
        context = {"migration": migration, "access": user_access, "checklist": built, "swapped": True}
        return render(request, "migrations_app/_checklist.html", context)
    if request.htmx and built.expand and request.htmx.target == f"phase-{built.expand}-items":
        # A collapsed phase's items, asked for as its details open.
        phase = next((phase for phase in built.phases if phase.phase.pk == built.expand), None)
        if phase is not None:
            context = {"migration": migration, "access": user_access, "checklist": built, "phase": phase}
            return render(request, "migrations_app/_phase_items.html", context)
    top_messages, section_messages = checklist.place_messages(built, messages.get_messages(request))
    check_ins = checkins.state_of(migration, checkins.of_migration(migration), today)
    check_in_sides = access.check_in_sides(user_access)
    return render(
        request,
        "migrations_app/migration_detail.html",
        {
            "migration": migration,
            "access": user_access,
            "checklist": built,
            "countdown": checklist.go_live_countdown(migration, today),
            "newer_version": upgrades.newer_version(migration) if user_access.can_upgrade_checklist else None,
            # An upgrade applied lately: what it changed may have turned items overdue (one query).
            "recent_upgrade": migration.latest_upgrade(today),
            # Who put it on hold, cancelled or completed it, and when (the status banner).
            "status_change": migration.latest_status_change() if migration.status != migration.Status.ACTIVE else None,
            "people": people.practice_people(request.user, migration, user_access),
            # After go-live: whether each side has written its retrospective (_retrospectives.html).
            "retrospectives": retrospectives.panel(migration, user_access, today),
            # The weekly check-ins (one query: the migration's check-ins, with who gave them).
            "check_ins": check_ins,
            "check_in_sides": check_in_sides,
            # Every side the person gives has given this week's: theirs is to change, not give.
            "check_ins_given": bool(check_in_sides)
            and all(side.this_week for side in check_ins.sides if side.side in check_in_sides),
            # A link back to the list or dashboard, for whoever has more than this practice to see.
            "all_migrations": not access.standing_of(request.user).sees_one_practice,
            # The confirmations not shown at a phase or a row (checklist.place_messages): at a
            # section (people, check-ins), or at the top (base.html).
            "top_messages": top_messages,
            "section_messages": section_messages,
        },
    )
