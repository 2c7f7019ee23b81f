"""Who the API's caller is: a personal API token (tokens.BearerToken, tried first), else the
browser's session (with its CSRF check on changes)."""

from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication

from migrations_app.middleware import TwoFactorMiddleware


def _a_page(request) -> None:
    """Stands for a page that needs a signed-in person (login_required), for TwoFactorMiddleware."""


class SignedInSession(SessionAuthentication):
    """Django's session, but only once the sign-in is complete as the pages require it.

    DRF marks its views `login_required = False` (its own authentication decides), so the
    middleware that sends a session to the two-factor code before any page (TwoFactorMiddleware)
    lets them through. The API asks that middleware the same question for a page, and a session
    it would send to enter a code or set one up is refused here: the rule stays in one place."""

    def authenticate(self, request):
        signed_in = super().authenticate(request)
        if signed_in is None:
            return None
        if TwoFactorMiddleware(lambda request: None).process_view(request._request, _a_page, (), {}) is not None:
            raise exceptions.NotAuthenticated("Finish signing in with your two-factor code first.")
        return signed_in


class SignedInSessionScheme(SessionScheme):
    """The session in the OpenAPI schema: the session cookie, as for DRF's SessionAuthentication."""

    target_class = SignedInSession
