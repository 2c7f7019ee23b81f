"""Writing many rows of one table in a few statements, without a model instance for each.

bulk_create() builds and prepares every field of every object (most of the time of an import that
starts thousands of migrations of 131 items each); insert_rows() takes the values as tuples and
prepares only the columns given, the rest taking their defaults once for the whole call. Nothing
else is skipped: the statements go through Django's cursor (counted, logged, in the transaction),
and the database checks every constraint.
"""

from collections.abc import Iterable, Sequence
from datetime import date

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Fields whose Python values (str, int, bool, None; a foreign key's id) the database adapters take
# unprepared: get_db_prep_save() gives them back as they are.
TAKEN_AS_THEY_ARE = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
        "URLField",
    }
)

# Rows an INSERT of arrays takes on PostgreSQL (insert_rows).
UNNEST_ROWS = 5000


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """INSERT one row of `model` per tuple of `rows`, whose values are for `fields` in order, each
    of its field's Python type (a foreign key's value is the related row's id). Every other column
    takes its field's default, worked out once (a callable default such as timezone.now gives every
    row the same value). The primary keys made are not read back. Returns the number of rows
    inserted."""
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    others = [field for field in meta.concrete_fields if not field.primary_key and field not in given]
    for field in others:
        if not field.has_default() and not field.null and not field.blank:
            raise TypeError(f"{meta.label}.{field.name} has no default: give its value.")
    defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in others)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in [*given, *others])
    # Only the columns whose values the database adapter cannot take as they are (dates, JSON...) are
    # prepared value by value: most of the time of a large insert otherwise.
    preparing = [index for index, field in enumerate(given) if _internal_type(field) not in TAKEN_AS_THEY_ARE]
    real_connection = connections[DEFAULT_DB_ALIAS]
    prepared = []
    for row in rows:
        values = [*row, *defaults]
        for index in preparing:
            values[index] = given[index].get_db_prep_save(values[index], real_connection)
        prepared.append(values)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array a column: a statement of a few parameters, which PostgreSQL plans in no time,
            # where a VALUES list of thousands of literals takes longer to parse than to insert.
            arrays = ", ".join(f"(%s)::{_db_type(field)}[]" for field in [*given, *others])
            for start in range(0, len(prepared), UNNEST_ROWS):
                columns_of = zip(*prepared[start : start + UNNEST_ROWS], strict=True)
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({arrays})",  # noqa: S608  # nosec B608: quoted names from the model, values as parameters
                    [list(values) for values in columns_of],
                )
        else:
            placeholders = "(" + ", ".join(["%s"] * (len(given) + len(others))) + ")"
            batch = max(1, connection.ops.bulk_batch_size([*given, *others], prepared))
            for start in range(0, len(prepared), batch):
                chunk = prepared[start : start + batch]
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))}",  # noqa: S608  # nosec B608: quoted names from the model, values as parameters
                    [value for row in chunk for value in row],
                )
    return len(prepared)


def insert_copies(
    model: type[models.Model], source: type[models.Model], copied: Sequence[str], fields: Sequence[str], rows
) -> int:
    """insert_rows() of rows that copy the fields `copied` from a row of `source` (fields of the
    same names): each row is (the source object, then values for `fields`). On PostgreSQL the copies
    are read in the database (INSERT ... SELECT ... JOIN), so that long text is not sent and parsed
    again for every row; elsewhere from the objects given."""
    rows = list(rows)
    if connection.vendor != "postgresql":
        return insert_rows(
            model, (*fields, *copied), [(*values, *(getattr(row, name) for name in copied)) for row, *values in rows]
        )
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    taken = [meta.get_field(name) for name in copied]
    others = [field for field in meta.concrete_fields if not field.primary_key and field not in [*given, *taken]]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in [*given, *taken, *others])
    selected = ", ".join(
        [
            *(f"v.c{index}" for index in range(len(given))),
            *(f"s.{quote(source._meta.get_field(name).column)}" for name in copied),
            *(f"CAST(%s AS {_db_type(field)})" for field in others),
        ]
    )
    arrays = ", ".join(f"(%s)::{_db_type(field)}[]" for field in [source._meta.pk, *given])
    names = ", ".join(["source_id", *(f"c{index}" for index in range(len(given))), "n"])
    defaults = [field.get_db_prep_save(field.get_default(), connection) for field in others]
    real_connection = connections[DEFAULT_DB_ALIAS]
    preparing = [index for index, field in enumerate(given) if _internal_type(field) not in TAKEN_AS_THEY_ARE]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UNNEST_ROWS):
            chunk = rows[start : start + UNNEST_ROWS]
            values = [[row[0].pk for row in chunk], *([row[index + 1] for row in chunk] for index in range(len(given)))]
            for index in preparing:
                values[index + 1] = [
                    given[index].get_db_prep_save(value, real_connection) for value in values[index + 1]
                ]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {selected} "  # noqa: S608  # nosec B608: quoted names from the model, values as parameters
                f"FROM UNNEST({arrays}) WITH ORDINALITY AS v({names}) "
                f"JOIN {quote(source._meta.db_table)} s ON s.{quote(source._meta.pk.column)} = v.source_id "
                "ORDER BY v.n",
                [*defaults, *values],
            )
    return len(rows)


def _db_type(field: models.Field) -> str:
    """The column's type without its length (varchar, not varchar(100)): an array's elements'."""
    return field.db_type(connection).split("(")[0]


def _internal_type(field: models.Field) -> str:
    return (field.target_field if field.is_relation else field).get_internal_type()


def set_dates(model: type[models.Model], field_name: str, dates: dict[date | None, list[int]]) -> int:
    """Set `field_name` of the rows whose ids `dates` lists under each date, and add one to their
    revision, in one UPDATE (one per 300 rows). A Case of When(pk__in=...) per date is the same
    statement, but Django builds a condition for every id: most of the cost of a replan when an
    import moves thousands of items."""
    meta = model._meta
    field = meta.get_field(field_name)
    pairs = [(pk, field.get_db_prep_save(day, connection)) for day, pks in dates.items() for pk in pks]
    quote = connection.ops.quote_name
    pk_column, column = quote(meta.pk.column), quote(field.column)
    revision = quote(meta.get_field("revision").column)
    # Each value as a date, so that PostgreSQL types the CASE as one even where every branch is NULL.
    cast = "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"
    # Three parameters an item: within SQLite's limit of 999 a statement.
    batch = 300
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), batch):
            chunk = pairs[start : start + batch]
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} SET {column} = CASE {pk_column} "  # noqa: S608  # nosec B608: quoted names from the model, values as parameters
                f"{' '.join(f'WHEN %s THEN {cast}' for _ in chunk)} END, {revision} = {revision} + 1 "
                f"WHERE {pk_column} IN ({', '.join(['%s'] * len(chunk))})",
                [value for pair in chunk for value in pair] + [pk for pk, _ in chunk],
            )
            updated += cursor.rowcount
    return updated
