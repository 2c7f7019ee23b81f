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
    """The client's address: the one the per-address sign-in limit counts and the log records.

    With no trusted proxy (settings.TRUSTED_PROXY_COUNT 0, the default) it is the connection's
    address; X-Forwarded-For is then whatever the client chose to send. Behind N proxies, each
    appends the address it was reached from, so the Nth entry from the right is the one the
    outermost proxy saw; entries left of it were sent by the client and cannot be trusted. A header
    with fewer entries did not come through all N proxies: the connection's address is used."""
    remote_address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote_address
    forwarded = [address.strip() for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [address for address in forwarded if address]
    if len(forwarded) < proxies:
        return remote_address
    return forwarded[-proxies]


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
