"""Weekly check-ins: a migration's history of them with the form to give this week's, and a
delivery partner's check-in day. The rules are models/checkins.py (what a check-in is, missed) and
access/check_ins.py (who gives which side)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from migrations_app import access, checklist
from migrations_app.forms import CheckInDayForm, CheckInForm
from migrations_app.models import CheckIn, PracticeMigration, checkins
from migrations_app.models.choices import Weekday


@require_http_methods(["GET", "POST"])
def migration_check_ins(request: HttpRequest, pk: int) -> HttpResponse:
    """Every check-in of the migration, newest first, for anyone who can read it; and, for those
    who give one (access.check_in_sides), the form for this week's. Nothing is saved on an error."""
    if request.method == "POST":
        migration, user_access, sides = access.get_migration_to_check_in(request.user, pk)
    else:
        migration, user_access = access.get_migration(request.user, pk)
        sides = access.check_in_sides(user_access)
    form = CheckInForm(request.POST or None, sides=sides, initial=_this_weeks(migration, sides)) if sides else None
    if request.method == "POST" and form.is_valid():
        try:
            check_in, created = CheckIn.give(migration, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            side = f"{check_in.get_side_display()[0].lower()}{check_in.get_side_display()[1:]}"
            if check_in.changed:
                verb = "given" if created else "updated"
                messages.success(
                    request, f"This week's check-in {verb}, as the {side}.", extra_tags=checklist.at_place("check-ins")
                )
            else:
                messages.info(
                    request,
                    f"This week's check-in as the {side} is unchanged: it already had that status and note.",
                    extra_tags=checklist.at_place("check-ins"),
                )
            return redirect(reverse("migrations:migration_detail", kwargs={"pk": pk}) + "#check-ins")
    return _page(request, migration, form, status=400 if form is not None and form.errors else 200)


def _this_weeks(migration: PracticeMigration, sides: list[str]) -> dict:
    """The form starts from the person's own check-in this week, when they give one side and gave it."""
    if len(sides) != 1:
        return {}
    week_on = checkins.week_of(timezone.localdate(), checkins.weekday_of(migration.practice))
    given = migration.check_ins.filter(side=sides[0], week_on=week_on).values("rag", "note").first()
    return given or {}


def _page(request: HttpRequest, migration: PracticeMigration, form: CheckInForm | None, status: int) -> HttpResponse:
    history = checkins.of_migration(migration)
    state = checkins.state_of(migration, history, timezone.localdate())
    given = {side.side: side.this_week for side in state.sides}
    context = {
        "migration": migration,
        "form": form,
        "history": history,
        "state": state,
        "given_this_week": given,
        # Every side the form gives has this week's already: the form changes it (as the link to it says).
        "changing": form is not None and all(given.get(side) for side in form.sides),
    }
    return render(request, "migrations_app/check_ins.html", context, status=status)


@require_http_methods(["GET", "POST"])
def check_in_day(request: HttpRequest, partner_pk: int) -> HttpResponse:
    """The day of the week a delivery partner's migrations hold their check-in: set by its project
    managers (a 404 for anyone else)."""
    partner = access.get_partner_to_set_check_in_day(request.user, partner_pk)
    form = CheckInDayForm(request.POST or None, initial={"check_in_weekday": partner.check_in_weekday})
    if request.method == "POST" and form.is_valid():
        weekday = form.cleaned_data["check_in_weekday"]
        if checkins.set_check_in_day(partner, weekday, by=request.user):
            messages.success(request, f"Check-ins are now on {Weekday(weekday).label}, from this week.")
        else:
            messages.info(request, f"The check-in day is still {Weekday(weekday).label}.")
        return redirect("migrations:team")
    status = 400 if form.errors else 200
    return render(request, "migrations_app/check_in_day.html", {"partner": partner, "form": form}, status=status)
