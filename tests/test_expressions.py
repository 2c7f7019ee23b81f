"""AnyOf: a column among the values of a subquery, as IN (subquery) finds them, and on PostgreSQL
written as = ANY(ARRAY(subquery)) (models/expressions.py)."""

import pytest
from django.db import connection
from django.db.models import Q

from migrations_app.access import visible_migrations
from migrations_app.models import Practice, PracticeMigration
from migrations_app.models.expressions import AnyOf
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
