"""ChecklistItem.open_waited_for: how many open items each gate waits for, counted for every gate at
once, as waits_for counts them one by one: over the real guide's checklist, with gates that name
their items (depends_on) and gates that wait for the earlier items of their phase (the first
edition's data names none), and with different items left open."""

import random

import pytest

from migrations_app.models import ChecklistItem, ItemKind

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("named", [True, False], ids=["named items", "earlier items of the phase"])
def test_every_gates_count_is_what_waits_for_gives(migration, named):
    items = list(migration.items.select_related(None).order_by("phase__position", "position"))
    gates = [item for item in items if item.kind == ItemKind.GATE]
    assert len(gates) > 5
    if not named:
        for gate in gates:
            gate.depends_on = None
    chooser = random.Random(20261204)

    for share in (0.0, 0.1, 0.5, 0.9, 1.0):
        open_items = [item for item in items if chooser.random() < share]

        counted = ChecklistItem.open_waited_for(gates, open_items)

        assert counted == {gate.pk: sum(gate.waits_for(item) for item in open_items) for gate in gates}
    assert any(counted.values())
