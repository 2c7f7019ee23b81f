"""Query expressions of our own."""

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
