"""The three reads every signed-in request makes, written by the ORM once per process
(models/compiled.py) rather than built and compiled each time: its session (SESSION_ENGINE: Django's
database sessions), its person (UserBackend: Django's ModelBackend) and the device that person
confirmed their second factor with (TwoFactorDeviceMiddleware: django-otp's OTPMiddleware). The same
statements as before, with the same answers; everything else (saving, rotating and deleting
sessions, checking passwords, verifying codes) is Django's and django-otp's own. Built and compiled
on every request, reading the person took about a quarter of a millisecond of each of a tick's two
requests (11.3 ms of CPU a pair before, 10.8 after, bench/capacity.py's tick in one process), and
the device as much again for those who have one."""

from datetime import datetime

from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app.models.compiled import CompiledSelect

USER_BACKEND = "migrations_app.sessions.UserBackend"
"""The path of the backend that reads a signed-in person (settings.AUTHENTICATION_BACKENDS)."""
EARLIER_USER_BACKEND = "django.contrib.auth.backends.ModelBackend"
"""The backend that sessions made before UserBackend name: such a session reads its person by
UserBackend, so that nobody is signed out by the change."""

_SESSION = CompiledSelect(
    Session,
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now),
    key=str,
    now=datetime,
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        found = _SESSION.objects(key=self.session_key, now=timezone.now()) if self.session_key else []
        if not found:
            # As Django's store: a key that is unknown or expired is forgotten, so a new one is made.
            self._session_key = None
            return None
        return found[0]

    def load(self) -> dict:
        data = super().load()
        if data.get(BACKEND_SESSION_KEY) == EARLIER_USER_BACKEND:
            data[BACKEND_SESSION_KEY] = USER_BACKEND
        return data


_USER = CompiledSelect(get_user_model(), lambda pk: get_user_model()._default_manager.filter(pk=pk), pk=int)


class UserBackend(ModelBackend):
    """Django's ModelBackend, which checks passwords and permissions, with the signed-in person read
    by a statement written once."""

    def get_user(self, user_id):
        found = _USER.objects(pk=user_id)
        return found[0] if found and self.user_can_authenticate(found[0]) else None


_TOTP_DEVICE = CompiledSelect(TOTPDevice, lambda pk: TOTPDevice.objects.filter(pk=pk), pk=int)
_TOTP_LABEL = TOTPDevice._meta.label_lower
_LARGEST_DEVICE_ID = 2**31 - 1  # its id is an AutoField, 32 bits on every database


class TwoFactorDeviceMiddleware(OTPMiddleware):
    """django-otp's OTPMiddleware (request.user.otp_device and is_verified()), with a TOTP device,
    the only kind the tracker offers, read by a statement written once. Any other kind of device is
    read as django-otp reads it."""

    def _device_from_persistent_id(self, persistent_id: str):
        label, _, number = self._normalize_persistent_id(persistent_id).rpartition("/")
        if label != _TOTP_LABEL or not number.isascii() or not number.isdigit():
            return super()._device_from_persistent_id(persistent_id)
        if int(number) > _LARGEST_DEVICE_ID:  # as the ORM's lookup finds: no such device
            return None
        found = _TOTP_DEVICE.objects(pk=int(number))
        return found[0] if found else None
