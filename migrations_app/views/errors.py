from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render, resolve_url
from django.template import loader
from django.urls import reverse
from django.views import defaults

from migrations_app.api.problems import is_api_call, problem_outside_drf
from migrations_app.audit import log_security_event
from migrations_app.middleware import to_sign_in_after_time_out


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The NHS.UK 403 page, and a security event: someone tried what their role does not allow."""
    log_security_event("access_denied", request)
    # As Django's defaults.permission_denied, and whether it is an administration page, whose
    # advice is the administration's.
    # A refusal for now rather than for the person's role (access.retrospectives.NotOpenYet) says so.
    context = {
        "exception": str(exception),
        "in_admin": request.path.startswith(reverse("admin:index")),
        "heading": getattr(exception, "heading", "You do not have permission to do this"),
    }
    return HttpResponseForbidden(loader.get_template("403.html").render(context, request))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused by the CSRF check (CSRF_FAILURE_VIEW). Sent to a page that needs a sign-in by
    someone no longer signed in (the session's and the CSRF cookies gone: a browser closed, cookies
    cleared), it is a time-out like any other: to the sign-in, told the change was not saved, and
    what they typed is put back after (static/js/tracker.js). Otherwise (signed in or out in another
    tab, cookies refused) the expired form page, which keeps what was typed for the page reloaded."""
    match = getattr(request, "resolver_match", None)
    needs_sign_in = match is not None and getattr(match.func, "login_required", True)
    if needs_sign_in and not request.user.is_authenticated:
        return to_sign_in_after_time_out(request, resolve_url(settings.LOGIN_URL))
    return render(request, "403_csrf.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The NHS.UK 404 page; a path under /api/ that is no route answers as the API does."""
    if is_api_call(request):
        return problem_outside_drf(404, "There is no API route at this address. The routes are listed at /api/docs/.")
    return defaults.page_not_found(request, exception)
