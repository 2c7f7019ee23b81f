"""Migration 0025 gives the items already blocked or not applicable who marked them so, and when,
from the event that gave them that status."""

import importlib

import pytest
from django.apps import apps
from django.db import connection

from migrations_app.models import ChecklistItem, ItemStatus
from tests.pages import STAFF_TASK_KEY

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("migrations_app.migrations.0025_item_marked_by").from_the_event_log


class _Editor:
    connection = connection


def test_items_already_marked_take_who_and_when_from_the_latest_event_that_marked_them(
    migration, practice_staff, practice_manager
):
    task = migration.items.get(key=STAFF_TASK_KEY)
    task.mark_blocked(practice_staff, "Waiting")
    task.mark_blocked(practice_manager, "Still waiting")
    closed = migration.items.exclude(pk=task.pk).filter(status=ItemStatus.TO_DO).first()
    closed.mark_not_applicable(practice_staff, "Not here")
    expected = {
        each.pk: (each.marked_by_id, each.marked_at)
        for each in ChecklistItem.objects.filter(pk__in=[task.pk, closed.pk])
    }
    ChecklistItem.objects.update(marked_by=None, marked_at=None)

    backfill(apps, _Editor())

    found = {
        each.pk: (each.marked_by_id, each.marked_at) for each in ChecklistItem.objects.filter(marked_by__isnull=False)
    }
    assert found == expected
    assert expected[task.pk][0] == practice_manager.pk
