"""Personal API tokens at the API's door: `Authorization: Bearer gpmt_...` and nowhere else.

The token stands for its person, with exactly their access (the views ask `access` about
request.user, whoever is behind it), narrowed by its scope: a read-only token may only read
(TokenScope). What a token is, and when it works, is the model's (models/api_tokens.py).

BearerToken is the first authentication class, so a request with no credentials at all is told
401 with `WWW-Authenticate: Bearer` (DRF asks the first class for that header); a session (with
its CSRF check) is tried after it, for the browser.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from migrations_app.audit import log_security_event
from migrations_app.models import ApiToken
from migrations_app.models.api_tokens import LOOKS_LIKE_A_TOKEN

KEYWORD = "Bearer"
REALM = "GP migration tracker API"
# Parameter names that clients and libraries use for a credential in the address.
CREDENTIAL_PARAMETERS = {"token", "access_token", "api_key", "apikey"}
NOT_IN_THE_ADDRESS = (
    "Send API tokens in the Authorization header only (Authorization: Bearer <token>), never in the "
    "address: addresses are kept in logs and browser history. Revoke a token sent this way and make a new one."
)


class BearerToken(BaseAuthentication):
    """A personal API token in the Authorization header. No header, or another scheme: not ours
    (the session is tried next). A token anywhere in the query string is refused, whether or not
    there is also a good one in the header, and the token is not used (RFC 6750 allows the query;
    we do not, as addresses end up in logs)."""

    def authenticate(self, request: Request):
        if _token_in_the_address(request):
            log_security_event("api_token_refused", request._request, reason="token in the address")
            request.bearer_error = "invalid_request"
            raise exceptions.AuthenticationFailed(NOT_IN_THE_ADDRESS)
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != KEYWORD.lower().encode():
            return None
        request.bearer_error = "invalid_token"
        if len(words) != 2:
            raise exceptions.AuthenticationFailed("Send one token after Bearer: Authorization: Bearer <token>.")
        try:
            presented = words[1].decode("ascii")
        except UnicodeDecodeError:
            presented = ""
        token = ApiToken.find(presented)
        if token is None:
            log_security_event("api_token_refused", request._request, user=None, reason="not a token")
            raise exceptions.AuthenticationFailed("This is not a valid API token.")
        if not token.works:
            log_security_event(
                "api_token_refused", request._request, user=token.user, token_id=token.pk, reason=token.refusal
            )
            raise exceptions.AuthenticationFailed(token.refusal)
        token.record_use()
        del request.bearer_error
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        """RFC 6750: the scheme and realm, with the error when a token was sent and refused."""
        error = getattr(request, "bearer_error", "")
        return f'{KEYWORD} realm="{REALM}"' + (f', error="{error}"' if error else "")


class TokenScope(BasePermission):
    """A read-only token may read and nothing else; a session, or a read-and-write token, may do
    what its person may (the views decide that)."""

    message = "This token is read only. Make a read and write token to change anything."

    def has_permission(self, request: Request, view) -> bool:
        token = request.auth
        return not (isinstance(token, ApiToken) and token.is_read_only and request.method not in SAFE_METHODS)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The token in the OpenAPI schema, as an HTTP bearer scheme."""

    target_class = BearerToken
    name = "personalApiToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            **build_bearer_security_scheme_object(header_name="Authorization", token_prefix=KEYWORD),
            "description": "A personal API token from your account's API tokens page (gpmt_...). "
            "Read-only tokens may only use GET.",
        }


def _token_in_the_address(request: Request) -> bool:
    """A parameter named as credentials are, or anything that looks like one of our tokens."""
    for name, values in request.query_params.lists():
        if name.lower() in CREDENTIAL_PARAMETERS or any(LOOKS_LIKE_A_TOKEN.search(text) for text in [name, *values]):
            return True
    return False


def document_unauthorized(result: dict, generator, request, public) -> dict:
    """A drf-spectacular postprocessing hook: every operation may answer 401 (no credentials, or a
    token that does not work), as problem details with WWW-Authenticate, whichever module it is in."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "401",
                    {
                        "description": "No credentials, or a personal API token that does not work (expired, "
                        "revoked, or sent in the address).",
                        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                        "content": problem,
                    },
                )
    return result
