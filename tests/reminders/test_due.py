"""The definition of due (migrations_app/reminders/due.py): working days, digest time, and each rule
written for the database and in memory - the digest's rule, escalation, gates ready to sign, and
whose items they are (access.Relations, with owners) - with the forms agreeing on the same rows."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from migrations_app import access, working_days
from migrations_app.models import ChecklistItem, ItemKind, ItemStatus, PracticeMigration, Role
from migrations_app.reminders import due
from migrations_app.reminders.due import DueRule, Reason
from tests.factories import MembershipFactory
from tests.reminders import PM_ITEMS

pytestmark = pytest.mark.django_db


def test_working_days_skip_weekends_and_englands_bank_holidays_with_substitute_days():
    assert working_days.is_working_day(date(2025, 6, 3))
    assert not working_days.is_working_day(date(2025, 6, 7))  # Saturday
    assert not working_days.is_working_day(date(2025, 5, 26))  # Spring bank holiday
    assert not working_days.is_working_day(date(2026, 12, 28))  # Boxing Day (substitute day)
    assert working_days.next_working_day(date(2025, 4, 17)) == date(2025, 4, 22)  # over Easter
    assert working_days.first_working_day_of_week(date(2025, 4, 23)) == date(2025, 4, 22)
    assert working_days.working_days_before(date(2025, 5, 29), 5) == date(2025, 5, 21)


@pytest.mark.parametrize(
    ("utc_moment", "is_due"),
    [
        (datetime(2025, 6, 3, 5, 59, tzinfo=ZoneInfo("UTC")), False),  # 06:59 British Summer Time
        (datetime(2025, 6, 3, 6, 0, tzinfo=ZoneInfo("UTC")), True),  # 07:00 BST
        (datetime(2025, 1, 7, 6, 30, tzinfo=ZoneInfo("UTC")), False),  # 06:30 GMT
        (datetime(2025, 1, 7, 7, 0, tzinfo=ZoneInfo("UTC")), True),  # 07:00 GMT
    ],
)
def test_digest_time_is_the_hour_in_london_summer_or_winter(utc_moment, is_due):
    assert (due.digest_day(utc_moment) is not None) is is_due


# --- the same rule for the database and in memory -----------------------------------------------------


def rule_of(on: date, frequency: str, lead_days: tuple[int, ...], previous: date) -> DueRule:
    """The rule of a `frequency` digest on `on`, the last digest day before it being `previous`."""
    start = due.window_start(on, frequency, previous)
    assert start is not None, "no such digest on that day"
    return DueRule.of_digest(on, start, due.covered_until(on, frequency), lead_days)


DAILY, WEEKLY = "daily", "weekly"
RULES = {
    "tuesday": rule_of(date(2025, 6, 3), DAILY, (7, 1), date(2025, 6, 2)),
    "friday, over the weekend": rule_of(date(2025, 6, 6), DAILY, (7, 1), date(2025, 6, 5)),
    "friday before a bank holiday, own lead times": rule_of(date(2025, 5, 23), DAILY, (14, 0), date(2025, 5, 22)),
    "thursday after a day with no sweep": rule_of(date(2025, 6, 12), DAILY, (7, 1), date(2025, 6, 10)),
    "after a long outage, to the bound": rule_of(date(2025, 6, 12), DAILY, (14, 1), date(2025, 5, 22)),
    "weekly, on monday": rule_of(date(2025, 6, 2), WEEKLY, (7, 1), date(2025, 5, 30)),
    "weekly, on tuesday after a bank holiday": rule_of(date(2025, 5, 27), WEEKLY, (3,), date(2025, 5, 23)),
}
RULES["several people's, combined"] = DueRule.combined(
    date(2025, 6, 12), [RULES["thursday after a day with no sweep"], RULES["after a long outage, to the bound"]]
)


@pytest.fixture
def spread(quiet) -> list[ChecklistItem]:
    """Eighty open items of the demo migration, of every role, due a day apart from 5 May 2025 to
    23 July: every due date a rule above can tell apart, and some past its escalation cut-off."""
    items = list(quiet.items.order_by("phase__position", "position")[:80])
    assert len(items) == 80
    for offset, item in enumerate(items):
        item.due_on = date(2025, 5, 5) + timedelta(days=offset)
        item.status = ItemStatus.TO_DO
    ChecklistItem.objects.bulk_update(items, ["due_on", "status"])
    assert {item.responsible_role for item in items} >= {Role.PRACTICE_MANAGER, Role.DELIVERY_PARTNER}
    return list(due.open_items().filter(pk__in=[item.pk for item in items]).select_related("migration__practice"))


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES.keys())
def test_the_digest_rule_selects_in_the_database_what_it_places_in_memory(rule, spread):
    in_database = set(due.open_items().filter(rule.condition(), pk__in=[item.pk for item in spread]))
    in_memory = {item for item in spread if rule.reason(item, holds_role=True, partner_of_practice=True)}

    assert in_database == in_memory
    assert in_database, "the rule selects some of the items: the comparison means something"
    assert {rule.reason(item, holds_role=True, partner_of_practice=False) for item in in_memory} <= {
        Reason.OVERDUE,
        Reason.DUE_SOON,
    }


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES.keys())
def test_escalation_selects_in_the_database_what_it_places_in_memory(rule, spread):
    in_database = set(due.open_items().filter(rule.escalated_condition(), pk__in=[item.pk for item in spread]))
    in_memory = {
        item for item in spread if rule.reason(item, holds_role=False, partner_of_practice=True) == Reason.ESCALATED
    }

    assert in_database == in_memory
    assert in_database and all(item.responsible_role != Role.DELIVERY_PARTNER for item in in_database)
    assert not any(rule.reason(item, holds_role=False, partner_of_practice=False) for item in spread)


# --- whose items: owned, or unowned with the role held ------------------------------------------------


def test_whose_items_agree_in_the_database_in_memory_and_from_the_memberships(
    quiet, other_migration, practice_manager, practice_staff, clinical_lead, delivery_partner_user, icb_user
):
    second_manager = MembershipFactory(practice=quiet.practice, role=Role.PRACTICE_MANAGER).user
    elsewhere = MembershipFactory(practice=other_migration.practice, role=Role.PRACTICE_MANAGER).user
    left = MembershipFactory(practice=other_migration.practice, role=Role.PRACTICE_STAFF).user
    people = [
        practice_manager,
        second_manager,
        practice_staff,
        clinical_lead,
        delivery_partner_user,
        icb_user,
        elsewhere,
        left,
    ]
    items = list(quiet.items.order_by("pk")[:12]) + list(other_migration.items.order_by("pk")[:3])
    owners = [None, practice_staff, delivery_partner_user, icb_user, second_manager, None, clinical_lead]
    for each, owner in zip(items, owners, strict=False):
        each.assign_owner(practice_manager, owner, memberships=access.owner_memberships(each))
    items[-1].assign_owner(elsewhere, elsewhere, memberships=access.owner_memberships(items[-1]))
    # Owned by someone who has since left the practice, without the item being handed back.
    ChecklistItem.objects.filter(pk=items[7].pk).update(owner=left)
    items = list(ChecklistItem.objects.filter(pk__in=[each.pk for each in items]).select_related("migration__practice"))
    relations = access.Relations.of_users([person.pk for person in people])

    for person in people:
        theirs = relations.get(person.pk, access.Relations())
        in_database = set(ChecklistItem.objects.filter(theirs.own_items(), pk__in=[each.pk for each in items]))
        in_memory = {each for each in items if theirs.holds(each)}
        from_memberships = {
            each
            for each in items
            if access.memberships_responsible_for(ChecklistItem.objects.filter(pk=each.pk)).filter(user=person).exists()
        }
        assert in_database == in_memory == from_memberships, person

    holders = {each: {person for person in people if relations[person.pk].holds(each)} for each in items}
    # An owned item is its owner's alone (nobody's, once its owner has left); an unowned one, its role's.
    for each in items:
        if each.owner_id is not None:
            assert holders[each] == (set() if each.owner_id == left.pk else {each.owner}), each
    assert any(len(holders[each]) > 1 for each in items if each.owner_id is None)
    everyone = access.Relations.combined(relations.values())
    assert set(ChecklistItem.objects.filter(everyone.own_items(), pk__in=[each.pk for each in items])) >= {
        each for each in items if holders[each]
    }


def test_the_windows_of_consecutive_digests_meet_and_never_overlap():
    tuesday, wednesday = RULES["tuesday"], rule_of(date(2025, 6, 4), DAILY, (7, 1), date(2025, 6, 3))

    for (_, last), (first, _) in zip(tuesday.windows, wednesday.windows, strict=True):
        assert first == last + timedelta(days=1)


# --- gates ready to sign ------------------------------------------------------------------------------


def ready_in_memory(item: ChecklistItem) -> set[int]:
    """The gates waiting for `item` that is_ready_to_sign says are ready, if `item` is closed."""
    if item.status not in (ItemStatus.DONE, ItemStatus.NOT_APPLICABLE):
        return set()
    gates = ChecklistItem.objects.filter(migration_id=item.migration_id, kind=ItemKind.GATE).select_related("migration")
    waiting = [gate for gate in gates if gate.dependencies().filter(pk=item.pk).exists()]
    return {gate.pk for gate in waiting if due.is_ready_to_sign(gate)}


def close(items: list[ChecklistItem], status: str, by) -> None:
    """Mark `items` done (by `by`) or not applicable, as the checklist would."""
    closed = ChecklistItem.objects.filter(pk__in=[item.pk for item in items])
    if status == ItemStatus.DONE:
        closed.update(status=status, completed_by=by, completed_at=datetime(2025, 4, 1, tzinfo=ZoneInfo("UTC")))
    else:
        closed.update(status=status, reason="Not used at this practice.")


def assert_ready_gates_agree(phase_items: list[ChecklistItem]) -> None:
    for item in [*phase_items, *ChecklistItem.objects.filter(migration_id=phase_items[0].migration_id)[:30]]:
        item.refresh_from_db()
        assert set(due.gates_made_ready_by(item.pk)) == ready_in_memory(item), item.title


@pytest.mark.parametrize("migration_status", [PracticeMigration.Status.ACTIVE, PracticeMigration.Status.COMPLETED])
def test_gates_made_ready_in_the_database_are_those_ready_in_memory(migration, practice_manager, migration_status):
    gate = migration.items.get(key="data-checking-sign-off")
    earlier = list(gate.dependencies().order_by("phase__position", "position"))
    phase_items = [*earlier, gate]
    assert len(earlier) > 1
    if migration_status != PracticeMigration.Status.ACTIVE:
        finished_at = datetime(2025, 4, 1, tzinfo=ZoneInfo("UTC"))
        PracticeMigration.objects.filter(pk=migration.pk).update(status=migration_status, finished_at=finished_at)

    assert_ready_gates_agree(phase_items)  # nothing closed yet
    close(earlier[:-1], ItemStatus.DONE, practice_manager)
    assert_ready_gates_agree(phase_items)  # one earlier item still open
    close(earlier[-1:], ItemStatus.NOT_APPLICABLE, practice_manager)
    assert_ready_gates_agree(phase_items)  # the gate is ready, if the migration is active

    made_ready = due.gates_made_ready_by(earlier[-1].pk)
    assert made_ready == ([gate.pk] if migration_status == PracticeMigration.Status.ACTIVE else [])


def test_a_signed_gate_is_not_ready_to_sign(migration, practice_manager):
    gate = migration.items.get(key="data-checking-sign-off")
    close(list(gate.open_dependencies()), ItemStatus.DONE, practice_manager)
    gate.refresh_from_db()
    ready_before = due.is_ready_to_sign(gate)

    close([gate], ItemStatus.DONE, practice_manager)
    gate.refresh_from_db()

    assert ready_before and not due.is_ready_to_sign(gate)
    assert not due.is_ready_to_sign(migration.items.get(key=PM_ITEMS[0]))  # not a gate
