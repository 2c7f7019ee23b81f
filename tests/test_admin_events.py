"""The event log in the admin, as support reads it: each event with the practice or organisation it
belongs to, found by the practice's code or name, its field named in words, long values cut short in
the list (whole on the event's page), so that the list fits a 1,280 px screen."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from migrations_app.admin import EVENT_CELL_CHARACTERS, cell_text
from migrations_app.invitations import inviting
from migrations_app.models import Event, Role
from tests.factories import ICBFactory, PracticeFactory
from tests.pages import text

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:migrations_app_event_changelist")
LONG_NOTE = "Called the supplier about the extract and the dates; " * 10 + "the end of the note."


@pytest.fixture
def people_changes(practice, delivery_partner, icb, delivery_partner_user, icb_user) -> list[Event]:
    """Invitations to the demo practice, its delivery partner and its ICB: events of the
    organisation, not of a migration (the latest first, as the list shows them)."""
    for email, role, organisation in [
        ("new.staff@example.nhs.uk", Role.PRACTICE_STAFF, practice),
        ("new.partner@example.nhs.uk", Role.DELIVERY_PARTNER, delivery_partner),
        ("new.lead@example.nhs.uk", Role.ICB_LEAD, icb),
    ]:
        inviting.invite(by=delivery_partner_user, email=email, role=role, organisation=organisation)
    return list(Event.objects.filter(kind=Event.Kind.PEOPLE).order_by("-at", "-pk"))


def column(page: str, name: str) -> list[str]:
    """The cells of one column of the admin's list, as a person reads them."""
    return [text(cell) for cell in re.findall(rf'<t[dh] class="field-{name}[^"]*">(.*?)</t[dh]>', page, re.DOTALL)]


def test_support_finds_a_practices_people_changes_by_its_ods_code_and_its_name(
    client, support_admin, migration, practice, people_changes
):
    elsewhere = PracticeFactory(ods_code="Y90007", name="Elsewhere Surgery", icb=ICBFactory())
    inviting.invite(
        by=support_admin, email="someone.else@example.nhs.uk", role=Role.PRACTICE_STAFF, organisation=elsewhere
    )
    client.force_login(support_admin)

    by_code = client.get(CHANGELIST, {"q": practice.ods_code, "kind__exact": Event.Kind.PEOPLE})
    by_name = client.get(CHANGELIST, {"q": "riverside medical", "kind__exact": Event.Kind.PEOPLE})
    of_migration = client.get(CHANGELIST, {"q": practice.ods_code, "kind__exact": Event.Kind.CREATED})

    of_practice = [event for event in people_changes if event.practice_id == practice.pk]
    assert list(by_code.context["cl"].result_list) == of_practice
    assert list(by_name.context["cl"].result_list) == of_practice
    assert [event.migration for event in of_migration.context["cl"].result_list] == [migration]


def test_support_finds_an_icbs_people_changes_by_its_code(client, support_admin, icb, people_changes):
    other = ICBFactory()
    inviting.invite(by=support_admin, email="other.lead@example.nhs.uk", role=Role.ICB_LEAD, organisation=other)
    client.force_login(support_admin)

    found = client.get(CHANGELIST, {"q": icb.code.lower(), "kind__exact": Event.Kind.PEOPLE})

    assert list(found.context["cl"].result_list) == [event for event in people_changes if event.icb_id == icb.pk]


def test_each_event_is_listed_with_its_practice_or_organisation_in_as_many_queries_however_many_events(
    client, support_admin, migration, practice, delivery_partner, icb, people_changes, practice_manager
):
    client.force_login(support_admin)
    with CaptureQueriesContext(connection) as few:
        first = client.get(CHANGELIST).content.decode()
    for index in range(5):
        inviting.invite(
            by=practice_manager, email=f"person.{index}@example.nhs.uk", role=Role.PRACTICE_STAFF, organisation=practice
        )
        inviting.invite(
            by=support_admin, email=f"lead.{index}@example.nhs.uk", role=Role.ICB_LEAD, organisation=ICBFactory()
        )
    for item in migration.items.filter(kind="task")[:5]:
        item.complete(practice_manager)

    with CaptureQueriesContext(connection) as many:
        again = client.get(CHANGELIST)

    # The newest first: the three invitations, then the migration's creation.
    assert column(first, "organisation") == [str(icb), str(delivery_partner), str(practice), str(practice)]
    assert len(again.context["cl"].result_list) == len(people_changes) + 1 + 10 + 5
    assert len(many) == len(few)


def test_the_list_names_each_field_in_words(client, support_admin, migration, practice):
    for name in ["due_on", "membership", "delivery_partner_check_in", "target_supplier", "go_live_on", "retired_flag"]:
        Event.objects.create(migration=migration, kind=Event.Kind.ATTRIBUTE, field=name, new_value="x")
    client.force_login(support_admin)

    page = client.get(CHANGELIST, {"kind__exact": Event.Kind.ATTRIBUTE}).content.decode()

    assert not {"due_on", "delivery_partner_check_in", "retired_flag"} & set(text(page).split())
    assert column(page, "field_label") == [
        "Retired flag",
        "Go-live",
        "New system",
        "Delivery partner check-in",
        "Membership",
        "Due date",
    ]


def test_a_long_value_is_cut_short_in_the_list_and_read_whole_on_the_events_page(
    client, support_admin, migration, practice_manager
):
    item = migration.items.filter(kind="task").first()
    item.set_note(practice_manager, LONG_NOTE)
    event = Event.objects.get(item=item, field="note")
    client.force_login(support_admin)

    listed = client.get(CHANGELIST, {"kind__exact": Event.Kind.NOTE}).content.decode()
    opened = client.get(reverse("admin:migrations_app_event_change", args=[event.pk])).content.decode()

    assert LONG_NOTE not in text(listed)
    assert LONG_NOTE in text(opened)
    [cell] = column(listed, "new_short")
    assert cell.endswith("…") and LONG_NOTE.startswith(cell[:-1].strip())


def test_a_long_value_beside_one_that_begins_alike_keeps_its_start_and_shows_what_differs():
    person = "Castle Street Practice staff (y90004.staff@demo.migration-tracker.localhost)"
    old, new = f"{person}, Practice staff", f"{person}, Clinical lead"

    # Whose role it is, and the role: the start, then from just before where the two differ.
    assert cell_text(old, new) == "Castle Street … Practice staff"
    assert cell_text(new, old) == "Castle Street … Clinical lead"
    # A name that leaves room for the role is kept whole.
    riverside = "Riverside Surgery staff (y90001.staff@demo.migration-tracker.localhost)"
    assert cell_text(f"{riverside}, Practice staff", f"{riverside}, Clinical lead") == (
        "Riverside Surgery staff … Practice staff"
    )
    assert len(cell_text(new, old)) <= EVENT_CELL_CHARACTERS
    # A list that lost an item in its middle: the item lost shows, though both lists end alike.
    first, lost, last = "Do you have a list of patient records", "Smartcards ordered", "Fix rechecked"
    before, after = f"{first}; {lost}; {last}", f"{first}; {last}"
    assert cell_text(before, after) == "Do you have a … Smartcards ordered; Fix…"
    assert len(cell_text(before, after)) <= EVENT_CELL_CHARACTERS
    # Beside a different value, a long one is cut at its end as before; a short one is whole.
    assert cell_text(old, "") == old[: EVENT_CELL_CHARACTERS - 1] + "…"
    assert cell_text("Practice staff", "Clinical lead") == "Practice staff"
