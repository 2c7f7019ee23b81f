"""Fixtures of the in-process reminder tests: tasks run eagerly, the demo migration with no item
dated, and the sweep run at a moment."""

from datetime import datetime

import pytest
import time_machine

from config.celery import app as celery_app
from migrations_app.models import PracticeMigration
from migrations_app.reminders import claims


@pytest.fixture(autouse=True)
def eager_tasks():
    """Tasks queued by the code under test run at once, in this process."""
    # Not propagating: a retry must run again (eagerly) rather than surface as an exception. The
    # tests look at what was sent and recorded, so a task that failed still fails the test.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def quiet(migration) -> PracticeMigration:
    """The demo migration with no item dated, so that each test dates only the items it is about."""
    migration.items.update(due_on=None)
    return migration


@pytest.fixture
def sweep_at(django_capture_on_commit_callbacks):
    """Run the sweep at a moment, with the tasks it queues after commit."""

    def run(moment: datetime) -> claims.SweepResult:
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            return claims.sweep()

    return run
