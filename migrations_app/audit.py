"""Security events (sign-in, failures, lock-outs, denied access, two-factor changes): who, what,
when in UTC, from where. One JSON object a line on the "security" logger, for the log pipeline.
Never a password, a code, a token or a session key."""

import json
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger("security")


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind our TLS proxy it is the last address in X-Forwarded-For (the
    one the proxy appended); anything before it was sent by the client and cannot be trusted."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.BEHIND_TLS_PROXY and forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def log_security_event(event: str, request: HttpRequest | None = None, *, user=None, **details) -> None:
    """Record one security event. `user` defaults to the request's signed-in user."""
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    record = {"event": event, "user_id": user.pk if user else None, "user": user.email if user else None}
    if request is not None:
        record |= {"ip": client_ip(request), "method": request.method, "path": request.path}
    record |= details
    logger.info(event, extra={"security": record})


class SecurityEventFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {"at": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")}
        event |= getattr(record, "security", {"event": record.getMessage()})
        return json.dumps(event, default=str)
