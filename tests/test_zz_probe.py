import pytest
from django.db import IntegrityError, transaction
from migrations_app.models import *
from tests.factories import *
pytestmark = pytest.mark.django_db

def test_probe(migration, icb):
    p = Practice(ods_code="a81001", name="x", icb=icb)
    try:
        p.full_clean(); print("OK", p.ods_code)
    except Exception as e:
        print("ERR", e)
    ev = migration.events.get()
    Event(pk=ev.pk, migration=migration, kind="note", new_value="overwritten").save()
    print(Event.objects.values_list("pk", "kind", "new_value"))
    item = migration.items.filter(anchor="go_live").first()
    try:
        with transaction.atomic():
            ChecklistItem.objects.filter(pk=item.pk).update(due_on=None, manual_due_on=item.due_on)
        print("manual with null due accepted")
    except IntegrityError as e:
        print("rejected", e)
    try:
        with transaction.atomic():
            Practice.objects.filter(pk=migration.practice_id).update(ods_code="A8100\n")
        print("newline accepted")
    except IntegrityError as e:
        print("rejected", e)
    print(len(migration.items.all()), migration.phases.count())
