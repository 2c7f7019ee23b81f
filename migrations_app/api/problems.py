"""Errors as RFC 9457 problem details (`application/problem+json`): every refusal of the API, from
a bad filter to a throttled request, answers `type`, `title`, `status` and `detail`, and a bad
request names each bad parameter under `errors`. REST_FRAMEWORK["EXCEPTION_HANDLER"] points here."""

from http import HTTPStatus

from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

CONTENT_TYPE = "application/problem+json"
# No problem type of our own yet: "about:blank" says the status says it all, and then the title
# is the status's phrase (RFC 9457, section 4.2.1); `detail` says what happened this time.
BLANK = "about:blank"


class BadParameters(exceptions.ValidationError):
    """Query parameters refused, each with its messages: {"icb": ["Select an ICB from the list"]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _body(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> dict:
    body = {"type": BLANK, "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def problem(status: int, detail: str, errors: dict[str, list[str]] | None = None, headers=None) -> Response:
    return Response(_body(status, detail, errors), status=status, headers=headers, content_type=CONTENT_TYPE)


def is_api_call(request: HttpRequest) -> bool:
    """A request to the API's routes, answered in JSON: under /api/, except the documentation,
    which is a page for a person (signed in through the sign-in page, shown its 404 page)."""
    return request.path_info.startswith("/api/") and not request.path_info.startswith("/api/docs/")


def problem_outside_drf(status: int, detail: str, headers=None) -> JsonResponse:
    """The same problem, answered before or after DRF's views run (a path that is no route, the
    session's absolute time-out), where DRF's exception handler never sees it."""
    return JsonResponse(_body(status, detail), status=status, headers=headers, content_type=CONTENT_TYPE)


def problem_response(exc: Exception, context: dict) -> Response | None:
    """DRF's answer to `exc` (it turns Django's Http404 and PermissionDenied into its own), as
    problem details; None (a server error, Django's 500) for anything else."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    headers = {name: value for name, value in response.items() if name in ("Retry-After", "WWW-Authenticate", "Allow")}
    if isinstance(exc, exceptions.ValidationError):
        errors = getattr(exc, "errors", None) or _messages(response.data)
        return problem(response.status_code, "Check the parameters named under errors.", errors, headers)
    if isinstance(exc, exceptions.APIException):
        return problem(response.status_code, str(exc.detail), headers=headers)
    if isinstance(exc, Http404):
        # Never the lookup's own message: a migration nobody may see reads as one that does not exist.
        return problem(response.status_code, str(exceptions.NotFound.default_detail), headers=headers)
    # Django's PermissionDenied, with the reason access.refusal gives when it gives one.
    return problem(response.status_code, str(response.data.get("detail", "")), headers=headers)


def _messages(data) -> dict[str, list[str]]:
    if isinstance(data, dict):
        return {
            str(name): [str(message) for message in (value if isinstance(value, list) else [value])]
            for name, value in data.items()
        }
    return {"non_field_errors": [str(message) for message in (data if isinstance(data, list) else [data])]}
