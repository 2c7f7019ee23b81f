"""Session time-outs and the two-factor requirement, applied to every request."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

from migrations_app import access
from migrations_app.audit import log_security_event

# Refresh the session's expiry at most once a minute, not on every request: each refresh is a
# database write, and an idle time-out a minute longer changes nothing.
TOUCH_INTERVAL_SECONDS = 60


class SessionTimeoutMiddleware:
    """Ends a session 12 hours after sign-in whatever happens (absolute), and keeps it alive while
    it is used: the idle limit itself is the session cookie's age (SESSION_COOKIE_AGE)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            signed_in_at = request.session.get("signed_in_at")
            if signed_in_at is None:
                request.session["signed_in_at"] = now
            elif now - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS:
                log_security_event("session_expired", request, reason="absolute time-out")
                logout(request)
                messages.info(request, "For your security you were signed out. Sign in again to carry on.")
                return redirect(f"{reverse('login')}?next={request.path}")
            if now - request.session.get("seen_at", 0) > TOUCH_INTERVAL_SECONDS:
                request.session["seen_at"] = now
        return self.get_response(request)


def start_session(session, user) -> None:
    """What a completed sign-in records in the session: when (for the time-outs) and what the
    user's second factor is, so that requests need no query to enforce it."""
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now
    session["two_factor"] = two_factor_state(user)


def two_factor_state(user) -> str:
    if access.has_two_factor_device(user):
        return "device"
    return "required" if access.two_factor_required(user) else "optional"


class TwoFactorMiddleware:
    """A signed-in user with a two-factor device must enter a code before anything else; a user
    who must use two-factor sign-in (staff, delivery partners) and has no device sets one up."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        # Public pages, and the sign-in, two-factor and sign-out pages themselves.
        if not getattr(view_func, "login_required", True) or getattr(view_func, "two_factor_exempt", False):
            return None
        state = request.session.get("two_factor")
        if state is None:
            state = request.session["two_factor"] = two_factor_state(user)
        target = {"device": "two_factor_verify", "required": "two_factor_setup"}.get(state)
        if target is None:
            return None
        return redirect(f"{reverse(target)}?next={request.get_full_path()}")
