from django.http import HttpRequest, HttpResponse
from django.views import defaults

from migrations_app.audit import log_security_event


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The NHS.UK 403 page, and a security event: someone tried what their role does not allow."""
    log_security_event("access_denied", request)
    return defaults.permission_denied(request, exception)
