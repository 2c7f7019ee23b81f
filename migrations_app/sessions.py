"""Django's database sessions (SESSION_ENGINE), with the read that every signed-in request makes
written by the ORM once per process (models/compiled.py) rather than compiled each time: the same
statement, the session by its key and not yet expired, and the same answer. Everything else,
saving, rotating, deleting, clearing the expired ones, is Django's own."""

from datetime import datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from migrations_app.models.compiled import CompiledSelect

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
