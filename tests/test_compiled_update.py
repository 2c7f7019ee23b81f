"""CompiledUpdate: a statement the ORM writes once, run with other values, does what the queryset's
own update() does; a value derived from an argument is refused rather than run wrong."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F

from migrations_app.models import ChecklistProgress
from migrations_app.models.compiled import CompiledUpdate
from tests.factories import make_migration

pytestmark = pytest.mark.django_db


def add_done(migration_id: int, done: int, on: date):
    return ChecklistProgress.objects.filter(migration_id=migration_id), {
        "items_done": F("items_done") + done,
        "counts_on": on,
    }


def test_it_updates_as_the_querysets_own_update_would(guide_version):
    first, second = make_migration(), make_migration()
    statement = CompiledUpdate(ChecklistProgress, add_done, migration_id=int, done=int, on=date)
    before = {p.migration_id: p.items_done for p in ChecklistProgress.objects.all()}

    assert statement.update(migration_id=first.pk, done=3, on=date(2026, 5, 1)) == 1
    assert statement.update(migration_id=second.pk, done=5, on=date(2026, 6, 1)) == 1
    assert statement.update(migration_id=second.pk, done=-2, on=date(2026, 6, 2)) == 1
    rows, values = add_done(first.pk, 1, date(2026, 7, 3))
    assert rows.update(**values) == 1

    progress = {p.migration_id: p for p in ChecklistProgress.objects.all()}
    assert progress[first.pk].items_done == before[first.pk] + 4
    assert progress[first.pk].counts_on == date(2026, 7, 3)
    assert progress[second.pk].items_done == before[second.pk] + 3
    assert progress[second.pk].counts_on == date(2026, 6, 2)
    assert statement.update(migration_id=0, done=1, on=date(2026, 1, 1)) == 0


def test_a_value_derived_from_an_argument_is_refused(guide_version):
    migration = make_migration()

    def tomorrow(migration_id: int, on: date):
        return ChecklistProgress.objects.filter(migration_id=migration_id), {"counts_on": on + timedelta(days=1)}

    statement = CompiledUpdate(ChecklistProgress, tomorrow, migration_id=int, on=date)
    counted_on = ChecklistProgress.objects.get(migration=migration).counts_on
    with pytest.raises(ImproperlyConfigured, match="derived from an argument"):
        statement.update(migration_id=migration.pk, on=date(2026, 5, 1))
    assert ChecklistProgress.objects.get(migration=migration).counts_on == counted_on


def test_every_argument_must_be_given():
    statement = CompiledUpdate(ChecklistProgress, add_done, migration_id=int, done=int, on=date)
    with pytest.raises(TypeError):
        statement.update(migration_id=1, done=1)
