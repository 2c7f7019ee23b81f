"""Many people ticking one checklist at once: no tick is lost.

50 threads, each signed in as its own practice user, mark 20 items done through the real view
(a plain POST, as without JavaScript), all starting together: 1,000 ticks. Every item is ticked
by 10 threads, so the same item is often ticked by two requests at the same moment. Afterwards
every request was answered as a tick is, every item changed once (to_do to done, revision 1) with
one status event, by one of the people who ticked it, who is named as having done it (a tick of
an item done already changes and logs nothing), and the progress counts agree with the items.

The threads need committed data, so this runs with transactional_db. On SQLite the test database
is a file with the app's own options (WAL, IMMEDIATE transactions, busy timeout: config/settings.py),
so the threads lock each other out as the app's processes do. CI runs it on PostgreSQL too.
"""

import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from migrations_app.models import (
    ChecklistItem,
    ChecklistProgress,
    Event,
    ItemKind,
    ItemStatus,
    Role,
)
from migrations_app.reminders import tasks
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 50
TICKS_PER_THREAD = 20
ITEMS = 100
# Thread t ticks items t, t+5, t+10, ... (mod 100): 20 distinct items each, every item ticked by
# the 10 threads that share t mod 5; threads t and t+5 tick the same items one step apart.
STRIDE = ITEMS // TICKS_PER_THREAD


@dataclass
class Outcome:
    statuses: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def tick_items(user, migration_pk: int, item_pks: list[int], start: threading.Barrier, outcome: Outcome) -> None:
    """One person's session: sign in, wait for everyone, then mark each item done. A tick that
    fails is recorded and the next one tried, so the test can say how many failed and why."""
    try:
        client = Client()
        client.force_login(user)
        start.wait(timeout=60)
        for item_pk in item_pks:
            try:
                response = client.post(reverse("migrations:item_complete", args=[migration_pk, item_pk]))
            except Exception as error:
                with outcome.lock:
                    outcome.errors.append(f"{type(error).__name__}: {error}")
            else:
                with outcome.lock:
                    outcome.statuses.append(response.status_code)
    except threading.BrokenBarrierError:
        pass  # another thread could not sign in, and said why
    except Exception as error:
        with outcome.lock:
            outcome.errors.append(f"signing in: {type(error).__name__}: {error}")
        start.abort()
    finally:
        # Each thread has its own database connection; leave none open.
        connection.close()


def test_fifty_people_ticking_one_checklist_lose_no_tick(migration, practice, monkeypatch):
    # A tick that makes a gate ready queues sign-off requests on the broker: keep them in the process.
    queued_gates = []
    monkeypatch.setattr(tasks.request_sign_off, "delay", queued_gates.append)
    items = list(
        migration.items.filter(kind=ItemKind.TASK, status=ItemStatus.TO_DO).order_by("phase__position", "position")
    )[:ITEMS]
    assert len(items) == ITEMS
    users = [UserFactory() for _ in range(THREADS)]
    for user in users:
        MembershipFactory(user=user, role=Role.PRACTICE_STAFF, practice=practice)
    plans = {
        user: [items[(index + STRIDE * step) % ITEMS].pk for step in range(TICKS_PER_THREAD)]
        for index, user in enumerate(users)
    }
    events_before = Event.objects.filter(kind=Event.Kind.STATUS).count()
    start, outcome = threading.Barrier(THREADS), Outcome()
    threads = [
        threading.Thread(target=tick_items, args=(user, migration.pk, item_pks, start, outcome))
        for user, item_pks in plans.items()
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert not any(thread.is_alive() for thread in threads), "a ticking thread did not finish"
    failures = Counter(outcome.errors).most_common()
    assert not failures, f"{len(outcome.errors)} of {THREADS * TICKS_PER_THREAD} ticks failed: {failures}"
    assert Counter(outcome.statuses) == {302: THREADS * TICKS_PER_THREAD}
    # Each item changed once (to do to done), by one of the people who ticked it, who is named as
    # having done it; the other ticks found it done already, and changed and logged nothing.
    ticks = Event.objects.filter(kind=Event.Kind.STATUS, item__in=items, new_value=ItemStatus.DONE)
    assert Event.objects.filter(kind=Event.Kind.STATUS).count() - events_before == ITEMS
    assert ticks.filter(old_value=ItemStatus.TO_DO).count() == ITEMS
    tickers = {item.pk: {user.pk for user, item_pks in plans.items() if item.pk in item_pks} for item in items}
    for actor_id, item_pk in ticks.values_list("actor_id", "item_id"):
        assert actor_id in tickers[item_pk]
    ticked = ChecklistItem.objects.filter(pk__in=[item.pk for item in items])
    assert ticked.filter(status=ItemStatus.DONE, revision=1).count() == ITEMS
    assert dict(ticked.values_list("pk", "completed_by_id")) == dict(ticks.values_list("item_id", "actor_id"))
    done = migration.items.filter(status=ItemStatus.DONE).count()
    assert done == ITEMS
    assert ChecklistProgress.objects.get(migration=migration).items_done == done
