"""Django's flush, able to empty the checklist template tables on SQLite.

Published template versions are frozen by triggers (migration 0006). PostgreSQL's flush uses
TRUNCATE, which fires no row triggers; SQLite's uses DELETE, which the triggers refuse. So on
SQLite the triggers are dropped and created again around the flush, in one transaction: if the
flush fails they are back as they were, and no other connection ever sees the tables unguarded.
Test teardown (transactional tests, the live server) calls this command too.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.commands import flush
from django.db import connections, transaction

FROZEN_TRIGGERS = "template_frozen_%"


@contextmanager
def frozen_template_triggers_lifted(database: str) -> Iterator[None]:
    """On SQLite, the triggers that freeze published versions dropped for the block and created
    again after it, all in one transaction; elsewhere nothing."""
    connection = connections[database]
    if connection.vendor != "sqlite":
        yield
        return
    with transaction.atomic(using=database):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [FROZEN_TRIGGERS]
            )
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
        yield
        with connection.cursor() as cursor:
            for _, sql in triggers:
                cursor.execute(sql)


class Command(flush.Command):
    def handle(self, **options) -> None:
        with frozen_template_triggers_lifted(options["database"]):
            return super().handle(**options)
