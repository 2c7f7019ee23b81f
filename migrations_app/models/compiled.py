"""UPDATE statements the ORM writes once per process and database, then run with other values.

For the few statements run on every tick whose expressions took the ORM longer to compile than the
database to run (ChecklistProgress.record_change: about 10 ms to compile five correlated
subqueries, 1.8 ms to run). The statement is still the ORM's: it is written from a queryset with a
marker value for each argument, and each run puts the arguments where the markers were.

A value the queryset derives from an argument in Python (`on - timedelta(days=1)`) would not be a
marker, and would be run with the value derived from the marker. So the statement is written
twice, with two sets of markers: every value that is not a marker must be the same both times,
and the statement's text too, or it is refused (ImproperlyConfigured) when first run.
"""

from collections.abc import Callable
from datetime import date

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router, transaction
from django.db.models.sql import UpdateQuery

# The markers for arguments of each type, by set (two sets: the statement is written twice).
_MARKER_BASES = {int: (-7_300_000_000_000, -8_300_000_000_000), date: (date(1001, 1, 1), date(1501, 1, 1))}


def _marker(kind: type, number: int, which: int):
    base = _MARKER_BASES[kind][which]
    if kind is date:
        return base.replace(year=base.year + number)
    return base - number


class CompiledUpdate:
    """`write(**arguments)` gives the queryset to update and its values, as for
    `queryset.update(**values)`; `arguments` names each argument's type (int or date)."""

    def __init__(self, model: type[models.Model], write: Callable[..., tuple[models.QuerySet, dict]], **arguments):
        self.model = model
        self.write = write
        self.arguments = arguments
        self._statements: dict[str, tuple[str, list]] = {}

    def _markers(self, which: int) -> dict:
        return {name: _marker(kind, number, which) for number, (name, kind) in enumerate(self.arguments.items())}

    def _written(self, connection, markers: dict) -> tuple[str, tuple]:
        queryset, values = self.write(**markers)
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(values)
        return query.get_compiler(connection=connection).as_sql()

    def _adapt(self, connection, value):
        return connection.ops.adapt_datefield_value(value) if isinstance(value, date) else value

    def _statement(self, connection) -> tuple[str, list]:
        """The SQL, and for each parameter either the name of its argument or ("value", value)."""
        statement = self._statements.get(connection.alias)
        if statement is None:
            first, second = self._markers(0), self._markers(1)
            sql, params = self._written(connection, first)
            sql_again, params_again = self._written(connection, second)
            named = {self._adapt(connection, value): name for name, value in first.items()}
            named_again = {self._adapt(connection, value): name for name, value in second.items()}
            slots = []
            for param, param_again in zip(params, params_again, strict=True):
                name = named.get(param) if isinstance(param, (int, str, date)) else None
                if name is not None and named_again.get(param_again) == name:
                    slots.append(name)
                elif param == param_again and param not in named_again:
                    slots.append(("value", param))
                else:
                    raise ImproperlyConfigured(f"{self.model.__name__}: a value derived from an argument: {param!r}")
            if sql != sql_again:
                raise ImproperlyConfigured(f"{self.model.__name__}: the statement changes with its arguments")
            statement = self._statements[connection.alias] = (sql, slots)
        return statement

    def update(self, **arguments) -> int:
        """Run the statement with `arguments`; the number of rows it updated."""
        if set(arguments) != set(self.arguments):
            raise TypeError(f"Arguments {sorted(arguments)}, expected {sorted(self.arguments)}")
        connection = connections[router.db_for_write(self.model)]
        sql, slots = self._statement(connection)
        params = [slot[1] if isinstance(slot, tuple) else self._adapt(connection, arguments[slot]) for slot in slots]
        with transaction.mark_for_rollback_on_error(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
