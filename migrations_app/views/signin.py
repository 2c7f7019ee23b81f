"""Signing in and out, lock-outs, and two-factor (TOTP) set-up and verification."""

import base64
import math
import unicodedata
from urllib.parse import urlencode

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessFailureLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app import access
from migrations_app.audit import client_ip, log_security_event
from migrations_app.forms import CodeForm
from migrations_app.middleware import start_session
from migrations_app.models import SignInInFlight, SignInLock


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, with the address labelled and its errors worded as the sign-in form's."""

    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        error_messages={
            "required": "Enter your e-mail address",
            "invalid": "Enter an e-mail address in the correct format, like name@nhs.net",
            "max_length": "The e-mail address must be 254 characters or fewer",
        },
    )


# Said wherever a new password is typed twice (here, and joining from an invitation).
PASSWORD_MISMATCH = "The passwords do not match: type the same password in both boxes"


class SetPasswordForm(auth_forms.SetPasswordForm):
    """Django's (setting a password from a reset link), with the service's wording."""

    error_messages = {**auth_forms.SetPasswordForm.error_messages, "password_mismatch": PASSWORD_MISMATCH}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].error_messages["required"] = "Enter a new password"
        self.fields["new_password2"].error_messages["required"] = "Enter the new password again"

    def validate_password_for_user(self, user, password_field_name: str = "new_password1") -> None:
        """The password validators' errors at the first box, where the password is chosen and must
        change, rather than at the box that repeats it, where Django's clean() puts them."""
        super().validate_password_for_user(user, "new_password1")

    def save(self, commit: bool = True):
        """Set the password, and end the lock on the account that failed sign-ins put (django-axes):
        whoever set it has the account's mailbox (a reset link) or its password (a change), so
        the lock's reason, someone guessing the password, no longer holds. The lock on a network
        address stays: it is not the account's."""
        user = super().save(commit)
        # Failures are counted on the account's one spelling (account_name), which one stored with
        # capitals (typed into the admin) differs from.
        for spelling in {user.get_username(), account_name(user.get_username())}:
            AxesProxyHandler.reset_attempts(username=spelling)
        return user


class PasswordChangeForm(SetPasswordForm, auth_forms.PasswordChangeForm):
    """Django's (changing one's password), with the service's wording."""

    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
        "password_incorrect": "Your current password is not right: enter it again",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old_password"].error_messages["required"] = "Enter your current password"


def _wait_after_failures(devices: list[TOTPDevice]) -> str:
    """After wrong codes in a row, django-otp refuses every code, even a right one, for a while that
    doubles each time (OTP_TOTP_THROTTLE_FACTOR): the message says how long, or "" if none waits."""
    waits = [
        data
        for allowed, data in (device.verify_is_allowed() for device in devices)
        if not allowed and data and data.get("locked_until")
    ]
    if not waits:
        return ""
    data = min(waits, key=lambda each: each["locked_until"])
    seconds = max(1, math.ceil((data["locked_until"] - timezone.now()).total_seconds()))
    # No count of the wrong codes: django-otp counts only those it weighed, not those sent while it
    # waited, so a count would read fewer than the person typed.
    return (
        # A code already used (entered in another tab, or a moment ago) fails too, and looks right.
        f"That code did not work. Wait {seconds} second{'s' if seconds != 1 else ''}, then enter the "
        "code your app shows now. Until then no code is accepted, even a right one, and each wrong code "
        "makes the wait longer. Each code can be used once only."
    )


def two_factor_exempt(view):
    """The pages a signed-in user without a verified second factor may still open."""
    view.two_factor_exempt = True
    return view


def account_name(username: str) -> str:
    """The one spelling of the account an address as typed names. UserManager.get_by_natural_key
    finds it whatever the case and the spaces around it, so failures are counted on this spelling,
    or "Bob@x", " bob@x" and "BOB@X" would each get a limit of their own. It is how create_user
    stores an address, so django-axes, clearing the count of the stored address on a successful
    sign-in, usually clears this one. NFKC first, as the sign-in form does: it turns look-alikes
    such as the Kelvin sign into the letters the database matches them to."""
    return unicodedata.normalize("NFKC", username).strip().lower()


def with_account_name(data: QueryDict) -> QueryDict:
    normalised = data.copy()
    normalised["username"] = account_name(data.get("username", ""))
    return normalised


def address_failures(address: str) -> int:
    """Failed sign-ins from `address`, on any accounts, within the lock-out period. Counted from
    django-axes' failure log, which successful sign-ins do not clear."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return AccessFailureLog.objects.filter(ip_address=address, attempt_time__gte=since).count()


class SignInForm(auth_forms.AuthenticationForm):
    """Django's, with each empty box named as the password reset's form names it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your e-mail address"
        self.fields["password"].error_messages["required"] = "Enter your password"


class SignInView(auth_views.LoginView):
    redirect_authenticated_user = True
    form_class = SignInForm

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """Check the attempt against both limits, counting the attempts in flight as failures, and
        register it as in flight: under a lock on its account and address, so the limits hold
        however many attempts arrive together. The password is then checked outside the lock, and
        the attempt leaves the in-flight count once answered. The failure that reaches the address
        limit is answered as a lock-out, as django-axes answers the one that reaches an account's."""
        address = client_ip(request)
        # From here on django-axes, the form and the security log all see the account's one spelling.
        request.POST = with_account_name(request.POST)
        account = request.POST["username"]
        if "\x00" in account or "\x00" in request.POST.get("password", ""):
            # No account has a NUL in it and PostgreSQL cannot store one: the form refuses it, as
            # any sign-in it cannot check, before anything is looked up or counted.
            return self.form_invalid(self.get_form())
        with transaction.atomic():
            SignInLock.hold(account=account, address=address)
            in_flight_on_account, in_flight_from_address = SignInInFlight.counts(account=account, address=address)
            AxesProxyHandler.update_request(request)
            account_failures = AxesProxyHandler.get_failures(request, {"username": account})
            if (
                account_failures + in_flight_on_account >= settings.AXES_FAILURE_LIMIT
                or address_failures(address) + in_flight_from_address >= settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
            ):
                return locked_out(request)
            attempt = SignInInFlight.objects.create(account=account, address=address, started_at=timezone.now())
        try:
            response = super().post(request, *args, **kwargs)
            failed = not request.user.is_authenticated and response.status_code == 200
            if failed and address_failures(address) >= settings.SIGN_IN_ADDRESS_FAILURE_LIMIT:
                return locked_out(request)
            return response
        finally:
            SignInInFlight.objects.filter(pk=attempt.pk).delete()

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        if settings.AXES_RESET_ON_SUCCESS and user.get_username() != self.request.POST["username"]:
            # django-axes cleared the count of the address as stored; one typed into the admin
            # may keep capitals, and the failures were counted on the account's one spelling.
            AxesProxyHandler.reset_attempts(username=self.request.POST["username"])
        start_session(self.request.session, user)
        log_security_event("sign_in", self.request, user=user)
        return response

    def form_invalid(self, form):
        if not getattr(self.request, "axes_locked_out", False):
            log_security_event("sign_in_failed", self.request, username=form.data.get("username", "")[:254])
        return super().form_invalid(form)


class SignOutView(auth_views.LogoutView):
    # Signing out is a POST (Django's LogoutView); the address opened as a page asks first, or,
    # for someone signed out already, leads to the sign-in (without coming back here after it).
    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect("login")
        return render(request, "registration/sign_out.html")

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            log_security_event("sign_out", request)
        response = super().post(request, *args, **kwargs)
        # After logout(), which empties the session: the message goes to the sign-in page.
        messages.success(request, "You have signed out.")
        return response


sign_in = two_factor_exempt(SignInView.as_view())
sign_out = login_not_required(two_factor_exempt(SignOutView.as_view()))


def locked_out(request: HttpRequest, credentials: dict | None = None, *args, **kwargs) -> HttpResponse:
    """django-axes' answer once an account or an address has too many failures: the same for an
    account that exists and one that does not."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    log_security_event("sign_in_locked_out", request, username=username[:254])
    return render(request, "registration/locked_out.html", status=429)


@two_factor_exempt
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    if request.user.is_verified():
        return HttpResponseRedirect(_next_url(request))
    devices = list(TOTPDevice.objects.devices_for_user(request.user, confirmed=True))
    if not devices:
        # Removed since sign-in (by an admin, for a lost phone): who still needs one sets up a
        # new one; anyone else carries on without.
        request.session["two_factor"] = "none"
        if access.two_factor_required(request.user):
            return redirect("two_factor_setup")
        return HttpResponseRedirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = next((device for device in devices if device.verify_token(form.cleaned_data["code"])), None)
        if device is not None:
            otp_login(request, device)
            # A new key for the session that now holds the second factor (django_otp.login keeps
            # the old one): a key learnt before the code was entered is worth nothing after it.
            request.session.cycle_key()
            log_security_event("two_factor_verified", request)
            return HttpResponseRedirect(_next_url(request))
        log_security_event("two_factor_failed", request)
        failed = (
            _wait_after_failures(devices)
            or "That code did not work. A code can be used once only: enter the next code your app shows."
        )
        form.add_error("code", failed)
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )


@two_factor_exempt
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: scan the code (or type the key), then prove it with a code."""
    if access.has_two_factor_device(request.user):
        if not request.user.is_verified():
            # Set up from another session since this one signed in: enter a code from it.
            request.session["two_factor"] = "device"
            return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': _next_url(request)}, safe='/')}")
        messages.info(request, "Two-factor sign-in is already set up.")
        return redirect("two_factor_manage")
    device, _ = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session["two_factor"] = "device"
            request.session.cycle_key()  # as two_factor_verify does
            log_security_event("two_factor_enabled", request)
            messages.success(request, "Two-factor sign-in is set up. You will be asked for a code when you sign in.")
            return HttpResponseRedirect(_next_url(request))
        form.add_error(
            "code",
            _wait_after_failures([device])
            or "That code did not work. Check the time on your phone, then enter the code it shows now",
        )
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "next": _next_url(request),
            # A standalone SVG (with its namespace, which svg_inline leaves out): an <img> shows nothing without it.
            "qr_code": segno.make(device.config_url, error="m").svg_data_uri(scale=5),
            "secret": _grouped(base64.b32encode(device.bin_key).decode().rstrip("=")),
            "required": access.two_factor_required(request.user),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET"])
def two_factor_manage(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "registration/two_factor_manage.html",
        {
            "enabled": access.has_two_factor_device(request.user),
            "required": access.two_factor_required(request.user),
        },
    )


@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    """Turn two-factor sign-in off, where it is optional. Needs a verified session."""
    if access.two_factor_required(request.user):
        messages.error(request, "Your role needs two-factor sign-in, so it cannot be turned off.")
        return redirect("two_factor_manage")
    TOTPDevice.objects.devices_for_user(request.user).delete()
    request.session["two_factor"] = "none"
    log_security_event("two_factor_disabled", request)
    messages.success(request, "Two-factor sign-in is turned off.")
    return redirect("two_factor_manage")


@login_not_required
@require_GET
def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """Where the Django admin sends whoever may not use it. Anonymous people sign in through the
    product's sign-in (throttled, two-factor) and come back; a signed-in person who is not staff
    gets the 403 page, where sending them on to the sign-in, which sends signed-in people back,
    would go round in a loop."""
    if not request.user.is_authenticated:
        query = request.META.get("QUERY_STRING", "")
        return redirect(f"{reverse('login')}?{query}" if query else reverse("login"))
    if admin.site.has_permission(request):
        return HttpResponseRedirect(_next_url(request, default=reverse("admin:index")))
    raise PermissionDenied(
        "The administration pages are for the tracker's administrators and template editors only. "
        "Your migrations are on your own pages."
    )


def _next_url(request: HttpRequest, default: str = "/") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


def _grouped(secret: str) -> str:
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))
