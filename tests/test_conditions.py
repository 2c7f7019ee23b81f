"""A practice's conditions (dispensing, new hardware needed, document management...) decide which
items apply; changing them later makes the items follow, and keeps what people did."""

import pytest
from django.urls import reverse

from migrations_app.models import ChecklistItem, Condition, Event, ItemStatus, PracticeMigration
from migrations_app.models.checklist_items import condition_reason

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

HARDWARE = Condition.NEW_HARDWARE_NEEDED


def url(migration: PracticeMigration) -> str:
    return reverse("migrations:conditions_edit", args=[migration.pk])


def items_with(migration: PracticeMigration, condition: str) -> list[ChecklistItem]:
    return list(migration.items.filter(condition=condition).order_by("pk"))


def statuses(items: list[ChecklistItem]) -> list[str]:
    return [ChecklistItem.objects.get(pk=item.pk).status for item in items]


def test_a_new_migration_has_the_items_of_conditions_that_do_not_hold_not_applicable(migration):
    hardware_items = items_with(migration, HARDWARE)

    assert hardware_items
    assert {(item.status, item.reason) for item in hardware_items} == {
        (ItemStatus.NOT_APPLICABLE, condition_reason(HARDWARE))
    }


def test_the_delivery_partner_records_that_new_hardware_is_needed_and_its_items_apply(
    client, migration, delivery_partner_user
):
    hardware_items = items_with(migration, HARDWARE)
    client.force_login(delivery_partner_user)

    response = client.post(url(migration), {"conditions": [HARDWARE], "reason": "Survey found old card readers"})

    assert response.status_code == 302
    migration.refresh_from_db()
    assert migration.new_hardware_needed is True
    assert statuses(hardware_items) == [ItemStatus.TO_DO] * len(hardware_items)
    event = Event.objects.get(migration=migration, kind=Event.Kind.ATTRIBUTE, field=HARDWARE)
    assert (event.old_value, event.new_value, event.reason, event.actor) == (
        "no",
        "yes",
        "Survey found old card readers",
        delivery_partner_user,
    )
    page = client.get(response.url).content.decode()
    assert f"Conditions saved. {len(hardware_items)} items now apply." in page


def test_a_condition_that_stops_holding_leaves_done_and_blocked_items_as_they_are(client, migration, practice_manager):
    migration.change_conditions({HARDWARE: True}, by=practice_manager)
    done, blocked, *to_do = items_with(migration, HARDWARE)
    done.complete(practice_manager)
    blocked.mark_blocked(practice_manager, "Waiting for the supplier")
    client.force_login(practice_manager)

    client.post(url(migration), {"reason": ""})

    assert statuses([done, blocked]) == [ItemStatus.DONE, ItemStatus.BLOCKED]
    assert statuses(to_do) == [ItemStatus.NOT_APPLICABLE] * len(to_do)
    migration.refresh_from_db()
    assert migration.new_hardware_needed is False
    assert migration.progress.items_applicable == migration.items.exclude(status=ItemStatus.NOT_APPLICABLE).count()


def test_an_item_someone_marked_not_applicable_stays_so_when_its_condition_holds(migration, practice_manager):
    migration.change_conditions({HARDWARE: True}, by=practice_manager)
    item = items_with(migration, HARDWARE)[0]
    item.mark_not_applicable(practice_manager, "Done by the ICB's own team")
    migration.change_conditions({HARDWARE: False}, by=practice_manager)

    migration.change_conditions({HARDWARE: True}, by=practice_manager)

    item.refresh_from_db()
    assert (item.status, item.reason) == (ItemStatus.NOT_APPLICABLE, "Done by the ICB's own team")


def test_saving_the_same_conditions_changes_nothing(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)
    before = Event.objects.count()

    response = client.post(url(migration), {"reason": "No change"}, follow=True)

    assert Event.objects.count() == before
    assert "No conditions were changed." in response.content.decode()


def test_an_unknown_condition_is_refused_and_changes_nothing(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = client.post(url(migration), {"conditions": ["new_hardware_needed", "owns_a_boat"]})

    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    migration.refresh_from_db()
    assert migration.new_hardware_needed is False
    assert not Event.objects.filter(migration=migration, kind=Event.Kind.ATTRIBUTE).exists()


def test_the_form_shows_the_conditions_that_hold(client, migration, delivery_partner_user):
    migration.change_conditions({Condition.DISPENSING_PRACTICE: True}, by=delivery_partner_user)
    client.force_login(delivery_partner_user)

    page = client.get(url(migration)).content.decode()

    assert 'value="dispensing_practice" checked' in page
    assert 'value="new_hardware_needed">' in page
    for condition in Condition:
        assert condition.label in page


def test_the_migration_page_lists_the_conditions_and_offers_the_change_to_editors(
    client, migration, delivery_partner_user, practice_staff
):
    client.force_login(delivery_partner_user)
    editor_page = client.get(reverse("migrations:migration_detail", args=[migration.pk])).content.decode()
    client.force_login(practice_staff)
    staff_page = client.get(reverse("migrations:migration_detail", args=[migration.pk])).content.decode()

    assert "Uses electronic repeat dispensing" in editor_page and "Uses electronic repeat dispensing" in staff_page
    assert url(migration) in editor_page
    assert url(migration) not in staff_page


@pytest.mark.parametrize(("persona", "status"), [("practice_staff", 403), ("icb_user", 403), ("outsider", 404)])
def test_people_who_do_not_plan_the_migration_cannot_change_its_conditions(client, request, migration, persona, status):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url(migration)).status_code == status
    assert client.post(url(migration), {"conditions": [HARDWARE]}).status_code == status
    migration.refresh_from_db()
    assert migration.new_hardware_needed is False


def test_a_finished_migration_keeps_its_conditions(client, migration, delivery_partner_user):
    migration.cancel(delivery_partner_user, "Practice merged")
    client.force_login(delivery_partner_user)

    response = client.post(url(migration), {"conditions": [HARDWARE]})

    assert response.status_code == 403
    migration.refresh_from_db()
    assert migration.new_hardware_needed is False
