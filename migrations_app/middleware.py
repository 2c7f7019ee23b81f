"""Session time-outs, the two-factor requirement, Cache-Control and the service's 404 page, applied to every request."""

import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import LazyObject, empty
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults

from migrations_app import access
from migrations_app.audit import log_security_event

# Refresh the session's expiry at most once a minute, not on every request: each refresh is a
# database write, and an idle time-out a minute longer changes nothing.
TOUCH_INTERVAL_SECONDS = 60
# The tag of the message that a change was not saved: the page that shows it keeps what the person
# had typed in the form (static/js/tracker.js) for the page they come back to.
NOT_SAVED = "not-saved"


class ResolvedUserMiddleware:
    """request.user as the person's object itself, from here on, rather than behind the two lazy
    proxies that AuthenticationMiddleware and django-otp's OTPMiddleware put there (the second
    gives the object `otp_device` and `is_verified()`). Every request reads the user (the sign-in
    and session checks below), so nothing is read that would not be; and a page reads it a few
    hundred times (its access rules, its templates, the navigation), each read through both
    proxies: about a tenth of a signed-in page's floor (bench/capacity.py)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        while isinstance(user, LazyObject):
            if user._wrapped is empty:
                user._setup()
            user = user._wrapped
        request.user = user
        return self.get_response(request)


class SessionTimeoutMiddleware:
    """Ends a session 12 hours after sign-in whatever happens (absolute), and keeps it alive while
    it is used: the idle limit itself is the session cookie's age (SESSION_COOKIE_AGE). A change or
    an htmx request that meets the time-out goes to the sign-in as SignInRequiredMiddleware sends it."""

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
                # (Imported here: the API's modules import this one, through its authentication.)
                from migrations_app.api.problems import is_api_call, problem_outside_drf
                from migrations_app.api.tokens import KEYWORD, REALM

                if is_api_call(request):
                    # A program has no sign-in page to go to, and nothing to be told on it later.
                    return problem_outside_drf(
                        401,
                        "Your session has ended: sign in again, or call the API with a personal token.",
                        headers={"WWW-Authenticate": f'{KEYWORD} realm="{REALM}"'},
                    )
                if request.method in ("GET", "HEAD"):
                    messages.info(request, "For your security you were signed out. Sign in again to carry on.")
                    if not _is_htmx(request):
                        return redirect(f"{reverse('login')}?next={request.path}")
                else:
                    messages.info(
                        request,
                        "For your security you were signed out, so that change was not saved.",
                        extra_tags=NOT_SAVED,
                    )
                return _to_sign_in(request, reverse("login"))
            if now - request.session.get("seen_at", 0) > TOUCH_INTERVAL_SECONDS:
                request.session["seen_at"] = now
        return self.get_response(request)


def start_session(session, user) -> None:
    """What a completed sign-in records in the session: when (for the time-outs), and whether the
    user then had a two-factor device (see TwoFactorMiddleware)."""
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now
    session["two_factor"] = "device" if access.has_two_factor_device(user) else "none"


class TwoFactorMiddleware:
    """A signed-in user who has a two-factor device must enter a code before anything else; a user
    whose roles need two-factor sign-in (access.two_factor_required) and has no device sets one up.

    The roles are read on every request by an unverified user, so a role granted during a session
    counts from the next page. Whether the user had a device is kept from sign-in: a device means a
    code whatever the roles, so keeping it can only ask for more, never less. A device removed
    since is found by two_factor_verify; one added since from another session counts once the
    roles need it (two_factor_setup sends its owner to enter a code)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        # A verified session pays nothing here: the code is in, whatever the roles.
        if not user.is_authenticated or user.is_verified():
            return None
        # Public pages, and the sign-in, two-factor and sign-out pages themselves.
        if not getattr(view_func, "login_required", True) or getattr(view_func, "two_factor_exempt", False):
            return None
        state = request.session.get("two_factor")
        if state is None:  # a session started without start_session
            state = request.session["two_factor"] = "device" if access.has_two_factor_device(user) else "none"
        if state == "device":
            target = "two_factor_verify"
        elif access.two_factor_required(user):
            target = "two_factor_setup"
        else:
            return None
        if _is_htmx(request):
            # The code is asked for on a page of its own, never inside an item's row.
            page = _page_sent_from(request)
            url = reverse(target) + (f"?{urlencode({'next': page}, safe='/')}" if page else "")
            return HttpResponse(headers={"HX-Redirect": url})
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()}, safe='/')}")


class PrivatePagesMiddleware:
    """Nothing this application answers may be kept by a cache: its pages are a signed-in person's
    (migrations, items, the dashboard and its CSV, reminder settings with a private calendar
    link) or hold a CSRF token or a token from an e-mail. Static files are answered by WhiteNoise,
    earlier in MIDDLEWARE, and keep their own headers.

    add_never_cache_headers, the header Django's never_cache already gives the admin, the sign-in
    page and /healthz: no-store keeps a page out of every cache, shared or the browser's (a
    practice's computers are shared); private stops a shared cache that ignores no-store; max-age=0
    and Expires overrule any lifetime a view set, for HTTP/1.0 caches too. It sets headers only,
    so a streamed response (the CSV) stays streamed."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, sending people back to the page they were on.

    A change posted after the session ended (a tick, a note) cannot be made again by a redirect, so
    it is not used as the place to come back to: the person signs in, returns to the page the form
    was on, and is told the change was not saved. An htmx request (a tick, a row's forms) turns the
    whole page into the sign-in page (HX-Redirect) rather than swapping it into the row."""

    def handle_no_permission(self, request, view_func):
        if request.method in ("GET", "HEAD") and not _is_htmx(request):
            return super().handle_no_permission(request, view_func)
        return to_sign_in_after_time_out(request, resolve_url(self.get_login_url(view_func)))


def to_sign_in_after_time_out(request, sign_in: str) -> HttpResponse:
    """A request from someone whose session has ended, to the page `sign_in`: a change (a POST) is
    not saved, and they are told so there (static/js/tracker.js then keeps what they typed)."""
    if request.method not in ("GET", "HEAD"):
        messages.info(
            request,
            "You were signed out, so that change was not saved. Sign in, then make it again.",
            extra_tags=NOT_SAVED,
        )
    return _to_sign_in(request, sign_in)


def _to_sign_in(request, sign_in: str) -> HttpResponse:
    """To `sign_in`, then back to the page the request was sent from (a POST cannot be made again by
    a redirect). An htmx request (a tick, a row's forms) turns the whole page into the sign-in page
    (HX-Redirect) rather than swapping it into the row."""
    page = _page_sent_from(request)
    url = redirect_to_login(page, sign_in).url if page else sign_in
    if _is_htmx(request):
        return HttpResponse(headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


def _is_htmx(request) -> bool:
    """Read from the header: the session middleware runs before django-htmx sets `request.htmx`."""
    return request.headers.get("HX-Request") == "true"


def _page_sent_from(request) -> str:
    """The path of the page a request came from (htmx's current URL, else the Referer), if it is
    one of ours; else ""."""
    url = request.headers.get("HX-Current-URL") or request.headers.get("Referer") or ""
    if not url or not url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return ""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class NotFoundPageMiddleware:
    """ "Not found" answered with the service's own 404 page even in development (DEBUG), as in use,
    rather than Django's technical page, which lists every route: someone trying the app with
    `make run` sees what people will see. Both kinds: a view's (another practice's migration, an
    item that is not there), and an address that is no route at all. Without DEBUG, Django answers
    with the same page itself (handler404)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No route matched (the resolver's 404 comes before any view, so process_exception never
        # sees it): Django has drawn its technical page, in development only.
        if settings.DEBUG and response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            return defaults.page_not_found(request, Http404())
        return response

    def process_exception(self, request, exception):
        # The API's views answer their own 404s (Django REST framework), so none reaches here.
        if settings.DEBUG and isinstance(exception, Http404):
            return defaults.page_not_found(request, exception)
        return None
