"""AnyOf: a column among the values of a subquery, as IN (subquery) finds them, and on PostgreSQL
written as = ANY(ARRAY(subquery)); InPairs: two columns among pairs given as two lists, on
PostgreSQL (models/expressions.py)."""

from datetime import date, timedelta

import pytest
from django.db import NotSupportedError, connection
from django.db.models import Q

from migrations_app.access import visible_migrations
from migrations_app.models import ChecklistItem, Practice, PracticeMigration
from migrations_app.models.compiled import CompiledSelect
from migrations_app.models.expressions import AnyOf, InPairs
from tests.factories import PracticeFactory, make_migration

pytestmark = pytest.mark.django_db


def test_it_finds_what_in_finds(guide_version, delivery_partner):
    theirs = [make_migration(practice=PracticeFactory(delivery_partner=delivery_partner)) for _ in range(3)]
    make_migration()  # another delivery partner's
    practices = Practice.objects.filter(delivery_partner=delivery_partner).values("pk")

    found = PracticeMigration.objects.filter(AnyOf("practice_id", practices))

    assert sorted(found.values_list("pk", flat=True)) == sorted(m.pk for m in theirs)
    assert set(found) == set(PracticeMigration.objects.filter(practice_id__in=practices))
    # Combined with other conditions, negated, and of a subquery that gives nothing.
    assert not PracticeMigration.objects.filter(AnyOf("practice_id", practices.none()))
    assert set(PracticeMigration.objects.filter(~Q(AnyOf("practice_id", practices)))) == set(
        PracticeMigration.objects.exclude(pk__in=[m.pk for m in theirs])
    )
    assert list(PracticeMigration.objects.filter(AnyOf("practice_id", practices), pk=theirs[0].pk)) == [theirs[0]]


def test_on_postgresql_the_subquery_is_an_array_looked_up_in_the_index(guide_version, delivery_partner_user):
    sql = str(visible_migrations(delivery_partner_user).query)

    if connection.vendor == "postgresql":
        assert '"practice_id" = ANY(ARRAY(SELECT' in sql
    else:
        assert '"practice_id" IN (SELECT' in sql


# --- InPairs ---------------------------------------------------------------------------------------

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="InPairs uses PostgreSQL's arrays")


def dated_items(migration) -> list[tuple[int, date]]:
    return sorted(set(migration.items.exclude(due_on=None).values_list("migration_id", "due_on")))


@on_postgresql
def test_it_finds_the_rows_whose_two_columns_are_one_of_the_pairs_in_step(guide_version):
    first, second = make_migration(), make_migration()
    (a_id, a_day), (_, b_day) = dated_items(first)[:2]
    (c_id, c_day) = dated_items(second)[-1]
    pairs = [(a_id, a_day), (c_id, c_day), (a_id, date(1999, 1, 1))]  # the last matches no item

    found = ChecklistItem.objects.filter(InPairs("migration_id", "due_on", *map(list, zip(*pairs, strict=True))))

    expected = ChecklistItem.objects.filter(
        Q(migration_id=a_id, due_on=a_day) | Q(migration_id=c_id, due_on=c_day)
    ).values_list("pk", flat=True)
    assert sorted(found.values_list("pk", flat=True)) == sorted(expected)
    assert not found.filter(due_on=b_day, migration_id=a_id).exists()  # not a's other day, nor c's
    assert not ChecklistItem.objects.filter(InPairs("migration_id", "due_on", [], []))
    assert set(ChecklistItem.objects.filter(~Q(InPairs("migration_id", "due_on", [a_id], [a_day])))) == set(
        ChecklistItem.objects.exclude(migration_id=a_id, due_on=a_day)
    )


@on_postgresql
def test_a_statement_written_once_with_it_reads_the_pairs_of_each_run(guide_version):
    """Each list is one parameter: the statement is the same for any number of pairs."""
    migration = make_migration()
    days = dated_items(migration)
    statement = CompiledSelect(
        ChecklistItem,
        lambda ids, days: (
            ChecklistItem.objects.filter(InPairs("migration_id", "due_on", ids, days))
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        ids=list,
        days=list,
    )

    for chosen in (days[:1], days[1:4], [], days):
        ids, on = [pair[0] for pair in chosen], [pair[1] for pair in chosen]
        expected = migration.items.filter(due_on__in=on).order_by("pk").values_list("pk", flat=True)
        assert [row[0] for row in statement.rows(ids=ids, days=on)] == list(expected)
    assert statement.rows(ids=[migration.pk], days=[days[0][1] + timedelta(days=9999)]) == []


@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="InPairs works on PostgreSQL: its refusal is seen on the other databases"
)
def test_elsewhere_it_says_it_needs_postgresql(guide_version):
    with pytest.raises(NotSupportedError, match="PostgreSQL"):
        list(ChecklistItem.objects.filter(InPairs("migration_id", "due_on", [1], [date(2026, 1, 1)])))
