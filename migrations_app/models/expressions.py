"""Query expressions of our own."""

from django.db import NotSupportedError
from django.db.models import BooleanField, Expression, F, QuerySet, Subquery


class AnyOf(Expression):
    """A condition for filter(): `expression` is one of the values `queryset` (a values() or
    values_list() of one column) gives. SQL's `IN (subquery)` everywhere but on PostgreSQL, which
    is given `= ANY(ARRAY(subquery))`: the subquery then runs once, first, and its values are
    looked up in the index of `expression`'s column, where for an IN PostgreSQL may choose to
    hash-join the subquery to the outer query instead, reading all of the outer query's table.

    visible_migrations uses it: with IN, every query of a delivery partner's 700 migrations read
    all the country's practices to join them to the 700 of theirs (a sequential scan of 7,000 rows,
    and ten times that on ten times the data); with ANY, its five queries of the dashboard took
    11.4 ms in PostgreSQL instead of 15.4 on the national bench data (EXPLAIN ANALYZE, best of five)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, expression: str | Expression, queryset: QuerySet) -> None:
        super().__init__(output_field=BooleanField())
        self.expression = F(expression) if isinstance(expression, str) else expression
        self.subquery = Subquery(queryset)

    def get_source_expressions(self) -> list:
        return [self.expression, self.subquery]

    def set_source_expressions(self, expressions: list) -> None:
        self.expression, self.subquery = expressions

    def _parts(self, compiler, connection) -> tuple[str, str, tuple]:
        column, column_params = compiler.compile(self.expression)
        subquery, subquery_params = compiler.compile(self.subquery)  # "(SELECT ...)"
        return column, subquery, (*column_params, *subquery_params)

    def as_sql(self, compiler, connection) -> tuple[str, tuple]:
        column, subquery, params = self._parts(compiler, connection)
        return f"{column} IN {subquery}", params

    def as_postgresql(self, compiler, connection) -> tuple[str, tuple]:
        column, subquery, params = self._parts(compiler, connection)
        return f"{column} = ANY(ARRAY{subquery})", params


class InPairs(Expression):
    """A condition for filter(), on PostgreSQL: the pair of `first` and `second` (columns) is one of
    the pairs that `firsts` and `seconds`, two lists of the same length, make in step:
    `(first, second) IN (SELECT * FROM unnest(firsts, seconds))`. Its SQL is the same for any
    number of pairs (each list is one parameter, an array), so a statement using it can be written
    once and prepared (models/compiled.py, whose `list` arguments these are); with an index on the
    two columns, PostgreSQL looks each pair up in it."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, first: str | Expression, second: str | Expression, firsts: list, seconds: list) -> None:
        super().__init__(output_field=BooleanField())
        self.first = F(first) if isinstance(first, str) else first
        self.second = F(second) if isinstance(second, str) else second
        self.firsts, self.seconds = firsts, seconds

    def get_source_expressions(self) -> list:
        return [self.first, self.second]

    def set_source_expressions(self, expressions: list) -> None:
        self.first, self.second = expressions

    def as_sql(self, compiler, connection) -> tuple[str, tuple]:
        raise NotSupportedError("InPairs needs PostgreSQL's arrays.")

    def as_postgresql(self, compiler, connection) -> tuple[str, tuple]:
        first, first_params = compiler.compile(self.first)
        second, second_params = compiler.compile(self.second)
        first_type = self.first.output_field.cast_db_type(connection)
        second_type = self.second.output_field.cast_db_type(connection)
        # The columns as the ORM writes them, their types from the fields; the pairs are parameters.
        return (
            f"({first}, {second}) IN (SELECT * FROM unnest(%s::{first_type}[], %s::{second_type}[]))",  # nosec B608
            (*first_params, *second_params, self.firsts, self.seconds),
        )
