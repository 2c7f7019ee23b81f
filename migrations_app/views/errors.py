from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.template import loader
from django.urls import reverse
from django.views import defaults

from migrations_app.api.problems import is_api_call, problem_outside_drf
from migrations_app.audit import log_security_event


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The NHS.UK 403 page, and a security event: someone tried what their role does not allow."""
    log_security_event("access_denied", request)
    # As Django's defaults.permission_denied, and whether it is an administration page, whose
    # advice is the administration's.
    context = {"exception": str(exception), "in_admin": request.path.startswith(reverse("admin:index"))}
    return HttpResponseForbidden(loader.get_template("403.html").render(context, request))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The NHS.UK 404 page; a path under /api/ that is no route answers as the API does."""
    if is_api_call(request):
        return problem_outside_drf(404, "There is no API route at this address. The routes are listed at /api/docs/.")
    return defaults.page_not_found(request, exception)
