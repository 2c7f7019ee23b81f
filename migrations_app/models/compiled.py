"""Statements the ORM writes once per process and database, then runs with other values.

For the few statements run on every tick or page whose expressions took the ORM longer to write
than the database to run: ChecklistProgress.record_change's UPDATE (about 10 ms to compile five
correlated subqueries, 1.8 ms to run), an item's change of status and the event that logs it
(CompiledInsert), and the SELECTs that fetch one migration or item for its
page or action, a checklist's items for a tick's answer and the session of every signed-in
request (migrations_app/sessions.py) (1.5 to 3 ms each to build and compile, about a quarter of
the migration page's CPU). The statement is still the ORM's: it is
written from a queryset with a marker value for each argument, and each run puts the arguments
where the markers were; a SELECT's rows become model objects (with what it selects related) or
tuples by the ORM's own code, from the compiler that wrote it.

A value the queryset derives from an argument in Python (`on - timedelta(days=1)`) would not be a
marker, and would be run with the value derived from the marker. So the statement is written
twice, with two sets of markers: every value that is not a marker must be the same both times,
and the statement's text too, or it is refused (ImproperlyConfigured) when first run.

On PostgreSQL each of these statements is also prepared on the server (`prepared()`), once per
connection: PostgreSQL then plans it once instead of on every run. Planning was most of what the
database spent on a tick: 1.4 of its 2.3 ms of statements (EXPLAIN ANALYZE's planning and execution
times on the national bench data), the item's locking SELECT and the counts' UPDATE 0.5 ms each.
Only the arguments are parameters there: the statement's constants are written into its text
(_constants_written_in), so that the one plan made for every run can use the partial indexes they
name.
settings.DATABASE_PREPARED_STATEMENTS turns it off, for a connection pooler that hands a
transaction to any server connection (PgBouncer's transaction pooling), where a statement prepared on
one connection is unknown on the next.
"""

import copy
import itertools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections, models, router, transaction
from django.db.models.base import ModelState
from django.db.models.query import ModelIterable
from django.db.models.signals import post_init, pre_init
from django.db.models.sql import InsertQuery, UpdateQuery
from django.db.transaction import TransactionManagementError

logger = logging.getLogger(__name__)

# The markers for arguments of each type, by set (two sets: the statement is written twice).
_MARKER_BASES = {
    # Within a 32-bit integer column's range: Django finds that a value beyond it matches nothing.
    int: (-2_050_000_000, -2_100_000_000),
    str: ("\x1fcompiled-first-", "\x1fcompiled-second-"),
    date: (date(1001, 1, 1), date(1501, 1, 1)),
    datetime: (datetime(1001, 1, 1, tzinfo=UTC), datetime(1501, 1, 1, tzinfo=UTC)),
    # A list is one parameter (an array on PostgreSQL: expressions.InPairs), marked by a string.
    list: ("\x1fcompiled-list-first-", "\x1fcompiled-list-second-"),
}


def _marker(kind: type, number: int, which: int):
    base = _MARKER_BASES[kind][which]
    if kind in (date, datetime):
        return base.replace(year=base.year + number)
    if kind in (str, list):
        return f"{base}{number}"
    return base - number


def _adapt(connection, value):
    """`value` as the ORM passes it to the database (a datetime is a date too: asked first)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


# A parameter (%s) or an escaped percent sign (%%) in a statement written for psycopg2.
_PLACEHOLDER = re.compile(r"%([s%])")
_NAMES = itertools.count(1)


def statement_name() -> str:
    """A name for a statement to prepare, unique in the process."""
    return f"tracker_{next(_NAMES)}"


def prepared(connection, name: str, sql: str, params) -> tuple[str, list]:
    """The statement `sql` (with psycopg2's %s placeholders) to run with `params` on `connection`:
    on PostgreSQL, with persistent connections and settings.DATABASE_PREPARED_STATEMENTS, as an
    EXECUTE of the statement prepared on the server as `name` (prepared now if this connection has
    not prepared it yet); otherwise `sql` itself. PostgreSQL plans a prepared statement once, or
    again when the tables it reads change, instead of on every run. A statement the server will not
    prepare (it cannot tell a parameter's type) is run as it is, and said so in the log once for
    each connection."""
    if (
        connection.vendor != "postgresql"
        or not getattr(settings, "DATABASE_PREPARED_STATEMENTS", True)
        or not connection.settings_dict.get("CONN_MAX_AGE")
    ):
        return sql, params
    # Opening a cursor makes the connection, or a new one after a failed health check, before the
    # statements prepared on it are looked up: they are kept by the driver's connection, and a new
    # connection has none.
    connection.cursor().close()
    raw = connection.connection
    kept = getattr(connection, "_prepared_statements", None)
    if kept is None or kept[0] is not raw:
        kept = connection._prepared_statements = (raw, {})
    ready = kept[1].get(name)
    if ready is None:
        ready = kept[1][name] = _prepare(connection, raw, name, sql)
    if not ready:
        return sql, params
    return (f"EXECUTE {name} ({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}"), params


def _prepare(connection, raw, name: str, sql: str) -> bool:
    """PREPARE `sql` as `name` on the driver's connection `raw`, as the connection's own statements
    run but not counted among them (a page's pinned number of queries stays the same on its first
    run). In a transaction, inside a savepoint, so that a refusal leaves the transaction as it was;
    a prepared statement outlives the transaction, committed or not."""
    connection.validate_no_broken_transaction()
    numbers = itertools.count(1)
    text = _PLACEHOLDER.sub(lambda match: f"${next(numbers)}" if match.group(1) == "s" else "%", sql)
    in_transaction = not connection.get_autocommit()
    with raw.cursor() as cursor:
        if in_transaction:
            cursor.execute(f"SAVEPOINT {name}")
        try:
            cursor.execute(f"PREPARE {name} AS {text}")
        except connection.Database.Error as error:
            if in_transaction:
                cursor.execute(f"ROLLBACK TO SAVEPOINT {name}")
            logger.warning("Statement %s not prepared, run as it is: %s", name, error)
            return False
        finally:
            if in_transaction:
                cursor.execute(f"RELEASE SAVEPOINT {name}")
    return True


def _constants_written_in(connection, sql: str, slots: list) -> tuple[str, list]:
    """`sql` with the values of its constant parameters (the ("value", value) slots) written in
    as literals, as psycopg2 writes them when it sends a statement, and the slots left, which are
    the arguments. PostgreSQL plans a prepared statement once for any values of its parameters (a
    generic plan: settings' plan_cache_mode), so a constant left a parameter is unknown to the
    planner, which then cannot use a partial index whose condition names it: the dashboard's next
    items due, whose open statuses are those of checklistitem_open_migration, read every open item
    due on the rows' dates across the country instead of each row's own, 17 ms a page on the
    ten-times bench data and about two seconds a thousand rows of its CSV."""
    slot_of = iter(slots)
    arguments = []

    def written(match: re.Match) -> str:
        if match.group(1) == "%":
            return "%%"
        slot = next(slot_of)
        if isinstance(slot, tuple):
            return connection.ops.compose_sql("%s", [slot[1]]).replace("%", "%%")
        arguments.append(slot)
        return "%s"

    return _PLACEHOLDER.sub(written, sql), arguments


class _Statement:
    """What is shared: the markers, and which parameter of the written statement is which argument."""

    def __init__(self, model: type[models.Model], write: Callable, arguments: dict[str, type]):
        self.model = model
        self.write = write
        self.arguments = arguments
        self._statements: dict[str, tuple] = {}
        self._name = statement_name()  # as prepared on PostgreSQL (prepared())

    def _markers(self, which: int) -> dict:
        return {name: _marker(kind, number, which) for number, (name, kind) in enumerate(self.arguments.items())}

    def _compiled(self, connection, markers: dict) -> tuple:
        """The statement written with `markers`: (its SQL, its parameters, what else the run needs)."""
        raise NotImplementedError

    def _statement(self, connection) -> tuple:
        """The SQL; for each parameter either the name of its argument or ("value", value); and
        what else _compiled gave for the run."""
        statement = self._statements.get(connection.alias)
        if statement is None:
            first, second = self._markers(0), self._markers(1)
            sql, params, kept = self._compiled(connection, first)
            sql_again, params_again, _ = self._compiled(connection, second)
            named = {_adapt(connection, value): name for name, value in first.items()}
            named_again = {_adapt(connection, value): name for name, value in second.items()}
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
            if connection.vendor == "postgresql":
                sql, slots = _constants_written_in(connection, sql, slots)
            statement = self._statements[connection.alias] = (sql, slots, kept)
        return statement

    def _params(self, connection, slots: list, arguments: dict) -> list:
        if set(arguments) != set(self.arguments):
            raise TypeError(f"Arguments {sorted(arguments)}, expected {sorted(self.arguments)}")
        # The ORM writes a comparison with None as IS NULL, another statement than the one written
        # with markers: run as a value, it would match nothing.
        if missing := sorted(name for name, value in arguments.items() if value is None):
            raise TypeError(f"Arguments without a value: {', '.join(missing)}")
        return [slot[1] if isinstance(slot, tuple) else _adapt(connection, arguments[slot]) for slot in slots]

    def _matches_nothing(self, connection, arguments: dict) -> bool:
        """Whether an id is beyond the database's integers (an address's <int:pk> takes any digits):
        no row can have it, so the statement is answered with none rather than sent, which SQLite
        refuses (OverflowError). The int arguments of these statements are ids, compared for equality."""
        low, high = connection.ops.integer_field_range("BigIntegerField")
        return any(
            isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high
            for value in arguments.values()
        )


class CompiledUpdate(_Statement):
    """`write(**arguments)` gives the queryset to update and its values, as for
    `queryset.update(**values)`; `arguments` names each argument's type (int, str, date or datetime)."""

    def __init__(self, model: type[models.Model], write: Callable[..., tuple[models.QuerySet, dict]], **arguments):
        super().__init__(model, write, arguments)

    def _compiled(self, connection, markers: dict) -> tuple:
        queryset, values = self.write(**markers)
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(values)
        return *query.get_compiler(connection=connection).as_sql(), None

    def update(self, **arguments) -> int:
        """Run the statement with `arguments`; the number of rows it updated."""
        connection = connections[router.db_for_write(self.model)]
        if self._matches_nothing(connection, arguments):
            return 0
        sql, slots, _ = self._statement(connection)
        sql, params = prepared(connection, self._name, sql, self._params(connection, slots, arguments))
        with transaction.mark_for_rollback_on_error(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount


class CompiledInsert(_Statement):
    """`write(**arguments)` gives an unsaved object of `model` whose row to add, as
    `object.save(force_insert=True)` adds it but without reading back its id: for a row that is
    written and not used again, such as the event every tick logs. No signal is sent (none is
    registered for the models it is used for); `arguments` names each argument's type."""

    def __init__(self, model: type[models.Model], write: Callable[..., models.Model], **arguments):
        super().__init__(model, write, arguments)

    def _compiled(self, connection, markers: dict) -> tuple:
        meta = self.model._meta
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field and not field.generated]
        query = InsertQuery(self.model)
        query.insert_values(fields, [self.write(**markers)])
        [(sql, params)] = query.get_compiler(connection=connection).as_sql()
        return sql, params, None

    def insert(self, **arguments) -> None:
        """Add the row written with `arguments`."""
        connection = connections[router.db_for_write(self.model)]
        sql, slots, _ = self._statement(connection)
        sql, params = prepared(connection, self._name, sql, self._params(connection, slots, arguments))
        with transaction.mark_for_rollback_on_error(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql, params)


class CompiledSelect(_Statement):
    """`write(**arguments)` gives the queryset to run; `arguments` names each argument's type (int,
    str, date or datetime; or list, for a list passed as one parameter: expressions.InPairs).
    `objects(**arguments)` gives its model objects as iterating the queryset would, with what it
    selects related (select_related, select_for_update: inside a transaction); `rows(**arguments)`
    a values_list queryset's tuples. A queryset whose SQL changes with its values (an `__in` of a
    list, a filter left out for a None) cannot be written once."""

    def __init__(self, model: type[models.Model], write: Callable[..., models.QuerySet], **arguments):
        super().__init__(model, write, arguments)

    def _compiled(self, connection, markers: dict) -> tuple:
        queryset = self.write(**markers)
        compiler = queryset.query.get_compiler(connection=connection)
        # Writing the SQL also sets up what reading its rows needs (the compiler's select,
        # klass_info, col_count): the compiler is kept for that.
        sql, params = compiler.as_sql()
        return sql, params, (queryset, compiler)

    def _compiler(self, arguments: dict):
        """The kept queryset, and a copy of its compiler for this run: on this thread's connection
        (each thread has its own), answering with the SQL and this run's parameters."""
        connection = connections[router.db_for_read(self.model)]
        sql, slots, (queryset, written) = self._statement(connection)
        if queryset.query.select_for_update and connection.get_autocommit():
            # What the ORM itself says on writing such a statement outside a transaction.
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        sql, params = prepared(connection, self._name, sql, tuple(self._params(connection, slots, arguments)))
        compiler = copy.copy(written)
        compiler.connection = connection
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        return queryset, compiler

    def objects(self, **arguments) -> list[models.Model]:
        if self._matches_nothing(connections[router.db_for_read(self.model)], arguments):
            return []
        queryset, compiler = self._compiler(arguments)
        klass_info = compiler.klass_info
        if klass_info.get("related_klass_infos") or compiler.annotation_col_map:
            return list(ModelIterable(_Run(queryset, compiler)))
        # The model's own fields alone (a checklist's items): each object made as ModelIterable
        # makes it, by `loader`.
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        attnames = [column[0].target.attname for column in compiler.select[start:end]]
        database, make = compiler.connection.alias, loader(self.model)
        return [make(database, attnames, row[start:end]) for row in compiler.results_iter(tuple_expected=True)]

    def rows(self, **arguments) -> list[tuple]:
        if self._matches_nothing(connections[router.db_for_read(self.model)], arguments):
            return []
        _, compiler = self._compiler(arguments)
        return list(compiler.results_iter(tuple_expected=True))


def loader(model: type[models.Model]) -> Callable[[str, list[str], tuple], models.Model]:
    """What makes `model` objects from rows, for one run of a query: `make(database, attnames,
    values)` gives an object with `values` for its fields `attnames`, as Model.from_db makes one
    (the other fields deferred: read when first used), but without its __init__: for the hundred
    and more items a page or a tick's answer reads, __init__ set every value through the fields'
    descriptors, a third of the time it took to read them. Model.from_db itself when a receiver of
    pre_init or post_init for `model` is registered, which __init__ would call."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db

    def make(database: str, attnames: list[str], values) -> models.Model:
        new = model.__new__(model)
        new.__dict__.update(zip(attnames, values, strict=True))
        state = new._state = ModelState()
        state.adding, state.db = False, database
        return new

    return make


class _Run:
    """The queryset as ModelIterable reads it, with the compiler of this run."""

    _known_related_objects: dict = {}

    def __init__(self, queryset: models.QuerySet, compiler) -> None:
        self.model = queryset.model
        self.db = compiler.connection.alias
        self.query = self
        self._compiler = compiler

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        return self._compiler


class Remembered:
    """Statements the ORM wrote for a key, kept per process and database: for queries whose SQL is
    fixed by a few things the caller can name (who reads, the filters, the day, the page), such as
    the dashboard's. The first run for a key builds the queryset with `write()` and has the ORM
    write it; later runs for that key send the SQL and parameters written then, and read its rows by
    the ORM's own code from the compiler that wrote it. On the delivery partner's dashboard,
    building and writing its queries took about a third of the page's CPU.

    The key must name everything the queryset depends on: a run for a key whose statement would
    now be written otherwise would read the wrong rows. With settings.CHECK_REMEMBERED_SQL (the
    test run), every run for a known key writes the statement again and refuses one that differs
    (ImproperlyConfigured), so a test reaching a key that names too little fails. The `size` keys
    used last are kept."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, key: Hashable, write: Callable[[], models.QuerySet]) -> list[tuple]:
        """The rows of the values_list queryset `write()` builds (as tuples), for `key`."""
        kept = self._statement(key, write)
        if kept is None:  # the queryset matches nothing (.none()): no statement to send
            return []
        queryset, written, sql, params = kept
        compiler = copy.copy(written)
        compiler.connection = connections[queryset.db]
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        return list(compiler.results_iter(tuple_expected=True))

    def sql(self, key: Hashable, write: Callable[[], tuple[str, list] | None]) -> tuple[str, list] | None:
        """The SQL and parameters `write()` gives (None: nothing to run), for `key`: for a
        statement written around the ORM's (a WITH clause), run by the caller."""
        return self._remember(("sql", key), lambda: write())

    def _statement(self, key: Hashable, write: Callable[[], models.QuerySet]):
        def written():
            queryset = write()
            compiler = queryset.query.get_compiler(using=queryset.db)
            try:
                sql, params = compiler.as_sql()
            except EmptyResultSet:
                return None
            return queryset, compiler, sql, tuple(params)

        return self._remember(("rows", key), written, compare=lambda kept: kept and kept[2:])

    def _remember(self, key: Hashable, write: Callable, compare: Callable = lambda kept: kept):
        with self._lock:
            kept = self._kept.get(key, _NOT_KEPT)
            if kept is not _NOT_KEPT:
                self._kept.move_to_end(key)
        if kept is _NOT_KEPT:
            kept = write()
            with self._lock:
                self._kept[key] = kept
                while len(self._kept) > self._size:
                    self._kept.popitem(last=False)
        elif getattr(settings, "CHECK_REMEMBERED_SQL", False) and compare(write()) != compare(kept):
            raise ImproperlyConfigured(f"Written otherwise now than for its key, which names too little: {key!r}")
        return kept

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_NOT_KEPT = object()
