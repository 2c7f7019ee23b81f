"""A person's own reminder settings, the one-click unsubscribe, and the private calendar feed.

None of these is about a migration: the preferences page acts on the signed-in user only (and
only for someone reminders can concern: access.gets_reminders), and the unsubscribe and calendar
URLs are public, with the signed or random token in the URL as the credential. Neither works for
ever: the unsubscribe link expires (REMINDER_UNSUBSCRIBE_LINK_DAYS), the calendar link stops with a
password change or deactivation (ReminderPreference.calendar_link_works).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from migrations_app import access
from migrations_app.models import ReminderPreference
from migrations_app.reminders import calendar_feed, due, emails
from migrations_app.reminders.forms import ReminderPreferenceForm

# Said to someone whom reminders cannot concern (access.gets_reminders), on the page and as a 403.
NO_REMINDERS = (
    "Reminders are about the checklist items of the practices you work with. Your account has no role "
    "at a practice, a delivery partner or an ICB, so there is nothing to remind you of."
)


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    if not access.gets_reminders(request.user):
        if request.method == "POST":
            raise PermissionDenied(NO_REMINDERS)
        return render(request, "migrations_app/preferences.html", {"no_reminders": NO_REMINDERS})
    preference = due.preference_for(request.user)
    form = ReminderPreferenceForm(request.POST if request.method == "POST" else None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your reminder settings are saved.")
        return redirect("migrations:preferences")
    link_works = preference.calendar_link_works
    feed_url = (
        request.build_absolute_uri(reverse("migrations:calendar_feed", kwargs={"token": preference.calendar_token}))
        if link_works
        else ""
    )
    return render(
        request,
        "migrations_app/preferences.html",
        {
            "form": form,
            "lead_fields": [form["first_lead_days"], form["second_lead_days"]],
            "preference": preference,
            "feed_url": feed_url,
            # The link was made, then stopped working (a password change): say so, offer a new one.
            "calendar_link_stopped": bool(preference.calendar_token) and not link_works,
            "digest_hour": settings.REMINDER_DIGEST_HOUR,
        },
        status=400 if form.errors else 200,
    )


@require_POST
def calendar_link(request: HttpRequest) -> HttpResponse:
    """Make a new calendar link (the old one stops working), or turn the link off."""
    if not access.gets_reminders(request.user):
        raise PermissionDenied(NO_REMINDERS)
    preference, _ = ReminderPreference.objects.get_or_create(user=request.user)
    if request.POST.get("action") == "turn_off":
        preference.revoke_calendar_token()
        messages.success(request, "Your calendar link is turned off.")
    else:
        preference.new_calendar_token()
        messages.success(request, "Your new calendar link is ready. Any earlier link no longer works.")
    return redirect(reverse("migrations:preferences") + "#calendar")


@login_not_required
@csrf_exempt  # RFC 8058: mail clients POST the one-click unsubscribe without a session; the token is the credential.
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation and changes nothing (link scanners follow links); POST unsubscribes.
    An expired link gets a page that sends the person to their reminder settings, with 410 Gone."""
    try:
        user = emails.user_for_unsubscribe_token(token)
    except signing.SignatureExpired:
        context = {"link_days": settings.REMINDER_UNSUBSCRIBE_LINK_DAYS}
        return render(request, "migrations_app/unsubscribe_expired.html", context, status=410)
    if user is None:
        raise Http404("This unsubscribe link is not valid.")
    if request.method == "POST":
        due.preference_for(user).unsubscribe()
        return render(request, "migrations_app/unsubscribed.html", {"email": user.email})
    return render(request, "migrations_app/unsubscribe_confirm.html", {"email": user.email, "token": token})


@login_not_required
@never_cache
@require_safe  # calendar clients and link checkers may ask with HEAD first
def calendar_feed_view(request: HttpRequest, token: str) -> HttpResponse:
    """The private iCalendar feed: milestones of the person's migrations and their open items. A
    link that stopped working (password changed, account deactivated) is a 404, as a wrong one is."""
    preference = get_object_or_404(ReminderPreference.objects.select_related("user"), calendar_token=token)
    if not preference.calendar_link_works:
        raise Http404("This calendar link is not valid.")
    response = HttpResponse(calendar_feed.calendar_for(preference.user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="gp-migrations.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
