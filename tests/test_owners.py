"""Named owners: an item handed to a person holding a role at its practice (ChecklistItem.assign_owner),
given back to its role, handed back in bulk when someone leaves (hand_back_to_role); who may own
(access.owner_memberships); the item page's "Change owner" form; the owner on the checklist and in
"This week", and the history. Reminders to owners are in tests/reminders/; who may POST the form,
in the access matrix (tests/access_routes.py)."""

import re
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.html import escape

from migrations_app import access
from migrations_app.models import ChecklistItem, Event, ItemKind, Membership, Role
from migrations_app.models.checklist_items import StaleItemError
from tests.conftest import TODAY
from tests.factories import MembershipFactory, UserFactory
from tests.pages import DUE_SOON_KEY, OVERDUE_KEY, detail_url, element, error_summary, item, item_url, text
from tests.test_migration_page import MIGRATION_PAGE_QUERIES, migration_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def owner_events(checklist_item: ChecklistItem) -> list[tuple]:
    return list(
        checklist_item.events.filter(kind=Event.Kind.OWNER)
        .order_by("pk")
        .values_list("actor__email", "field", "old_value", "new_value", "reason")
    )


def assign(checklist_item: ChecklistItem, by, owner, **kwargs) -> None:
    checklist_item.assign_owner(by, owner, memberships=access.owner_memberships(checklist_item), **kwargs)


def state(checklist_item: ChecklistItem) -> tuple:
    checklist_item.refresh_from_db()
    return checklist_item.owner_id, checklist_item.revision, checklist_item.events.count()


# --- the model ------------------------------------------------------------------------------------------


def test_naming_an_owner_saves_them_logs_it_and_bumps_the_revision(migration, practice_manager, practice_staff):
    task = item(migration, OVERDUE_KEY)
    revision = task.revision

    assign(task, practice_manager, practice_staff, expected_revision=revision)

    assert task.owner_id == practice_staff.pk and task.revision == revision + 1  # the object in hand too
    task.refresh_from_db()
    assert task.owner == practice_staff
    assert task.revision == revision + 1
    assert owner_events(task) == [
        (practice_manager.email, "owner", "", "Sam Staff (practice.staff@example.nhs.uk)", ""),
    ]


def test_giving_an_item_back_to_its_role_clears_the_owner_and_logs_it(migration, practice_manager, practice_staff):
    task = item(migration, OVERDUE_KEY)
    assign(task, practice_manager, practice_staff)

    task.assign_owner(practice_manager, None)

    task.refresh_from_db()
    assert task.owner is None
    assert owner_events(task)[-1] == (
        practice_manager.email,
        "owner",
        "Sam Staff (practice.staff@example.nhs.uk)",
        "",
        "",
    )


def test_naming_the_same_owner_again_changes_nothing(migration, practice_manager, practice_staff):
    task = item(migration, OVERDUE_KEY)
    assign(task, practice_manager, practice_staff)
    before = state(task)

    assign(task, practice_manager, practice_staff)
    task.assign_owner(practice_manager, None)  # and back to the role
    task.assign_owner(practice_manager, None)  # twice

    assert state(task)[1:] == (before[1] + 1, before[2] + 1)


def test_the_practices_people_its_delivery_partners_and_its_icbs_may_own_its_items(
    migration, practice_manager, practice_staff, clinical_lead, delivery_partner_user, icb_user, outsider
):
    other_practice_member = MembershipFactory(role=Role.PRACTICE_MANAGER).user
    MembershipFactory(user=UserFactory(is_active=False), practice=migration.practice, role=Role.PRACTICE_STAFF)

    owners = {membership.user for membership in access.owner_memberships(item(migration, OVERDUE_KEY))}

    assert owners == {practice_manager, practice_staff, clinical_lead, delivery_partner_user, icb_user}
    assert outsider not in owners and other_practice_member not in owners


@pytest.mark.parametrize("who", ["another practice's manager", "outsider", "support admin", "inactive member"])
def test_someone_without_a_role_at_the_practice_cannot_own_its_items(
    who, migration, practice_manager, outsider, support_admin
):
    candidate = {
        "another practice's manager": lambda: MembershipFactory(role=Role.PRACTICE_MANAGER).user,
        "outsider": lambda: outsider,
        "support admin": lambda: support_admin,  # acts on every migration, but holds no role at the practice
        "inactive member": lambda: (
            MembershipFactory(
                user=UserFactory(is_active=False), practice=migration.practice, role=Role.PRACTICE_STAFF
            ).user
        ),
    }[who]()
    task = item(migration, OVERDUE_KEY)
    before = state(task)

    with pytest.raises(ValidationError) as refused:
        assign(task, practice_manager, candidate)

    assert "owner" in refused.value.error_dict
    assert state(task) == before


def test_naming_an_owner_needs_the_memberships_that_may_own_the_item(migration, practice_manager, practice_staff):
    task = item(migration, OVERDUE_KEY)

    with pytest.raises(TypeError):
        task.assign_owner(practice_manager, practice_staff)

    assert state(task)[0] is None


def test_a_stale_revision_is_refused_and_changes_nothing(migration, practice_manager, practice_staff, clinical_lead):
    task = item(migration, OVERDUE_KEY)
    seen = task.revision
    task.set_note(clinical_lead, "Booked for Tuesday", expected_revision=seen)
    before = state(task)

    with pytest.raises(StaleItemError):
        assign(task, practice_manager, practice_staff, expected_revision=seen)

    assert state(task) == before


# --- handing items back when someone leaves --------------------------------------------------------------


def test_hand_back_to_role_gives_back_the_persons_items_of_the_queryset_only(
    migration, other_migration, practice_manager, practice_staff, clinical_lead
):
    # Sam also works at another practice, and keeps the item there.
    MembershipFactory(user=practice_staff, practice=other_migration.practice, role=Role.PRACTICE_STAFF)
    owned = [item(migration, OVERDUE_KEY), item(migration, DUE_SOON_KEY)]
    for each in owned:
        assign(each, practice_manager, practice_staff)
    someone_elses = migration.items.exclude(pk__in=[each.pk for each in owned]).first()
    assign(someone_elses, practice_manager, clinical_lead)
    elsewhere = other_migration.items.first()
    assign(elsewhere, practice_manager, practice_staff)
    revisions = {each.pk: state(each)[1] for each in owned}

    handed = ChecklistItem.objects.filter(migration__practice=migration.practice).hand_back_to_role(
        by=practice_manager, owner=practice_staff, reason="No longer a member of Riverside Medical Centre"
    )

    assert handed == 2
    for each in owned:
        owner_id, revision, _ = state(each)
        assert owner_id is None and revision == revisions[each.pk] + 1
        assert owner_events(each)[-1] == (
            practice_manager.email,
            "owner",
            "Sam Staff (practice.staff@example.nhs.uk)",
            "",
            "No longer a member of Riverside Medical Centre",
        )
    assert state(someone_elses)[0] == clinical_lead.pk
    assert state(elsewhere)[0] == practice_staff.pk


def test_hand_back_to_role_with_nothing_owned_hands_back_nothing(migration, practice_manager, practice_staff):
    events = Event.objects.count()

    handed = migration.items.all().hand_back_to_role(by=None, owner=practice_staff)

    assert handed == 0 and Event.objects.count() == events


# --- the item page -------------------------------------------------------------------------------------


def test_the_item_page_shows_the_owner_and_offers_everyone_who_may_own_it(
    client, migration, practice_manager, practice_staff, clinical_lead, delivery_partner_user, icb_user
):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    html = client.get(item_url("item_detail", task)).content.decode()

    assert "Owner Anyone in the role (practice manager)" in text(element(html, "owner"))
    options = re.findall(r"<option [^>]*>([^<]*)</option>", html)
    assert options == [
        "Practice manager (anyone in the role)",
        "Dana Partner (Delivery partner project manager)",
        "Dr Chris Lead (Clinical lead)",
        "Ivan Board (ICB lead)",
        "Priya Manager (Practice manager)",
        "Sam Staff (Practice staff)",
    ]


def test_people_who_may_not_name_owners_see_the_owner_but_no_form(client, migration, practice_manager, practice_staff):
    task = item(migration, OVERDUE_KEY)
    assign(task, practice_manager, practice_staff)
    client.force_login(practice_staff)

    html = client.get(item_url("item_detail", task)).content.decode()

    assert text(element(html, "owner")) == "Owner Sam Staff"
    assert "Change owner" not in html


def test_changing_the_owner_returns_to_the_item_page_with_a_message(client, migration, practice_manager, clinical_lead):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    response = client.post(item_url("item_owner", task), {"revision": task.revision, "owner": clinical_lead.pk})

    assert response.status_code == 302
    assert response.url == item_url("item_detail", task)
    assert state(task)[0] == clinical_lead.pk
    page = client.get(response.url).content.decode()
    assert f"Owner is now Dr Chris Lead: {escape(task.title)}" in page
    assert text(element(page, "owner")) == "Owner Dr Chris Lead"
    assert f'<option value="{clinical_lead.pk}" selected>' in page


def test_giving_the_item_back_to_its_role_through_the_page(client, migration, practice_manager, clinical_lead):
    task = item(migration, OVERDUE_KEY)
    assign(task, practice_manager, clinical_lead)
    client.force_login(practice_manager)

    response = client.post(item_url("item_owner", task), {"revision": task.revision, "owner": ""}, follow=True)

    assert state(task)[0] is None
    assert f"Owner is now anyone in the role (practice manager): {escape(task.title)}" in response.content.decode()


@pytest.mark.parametrize("owner", ["outsider", "another practice's manager", "not a number", "no such person"])
def test_an_owner_who_may_not_own_the_item_is_refused_and_nothing_changes(
    owner, client, migration, practice_manager, outsider
):
    value = {
        "outsider": lambda: outsider.pk,
        "another practice's manager": lambda: MembershipFactory(role=Role.PRACTICE_MANAGER).user_id,
        "not a number": lambda: "Sam",
        "no such person": lambda: 999_999,
    }[owner]()
    task = item(migration, OVERDUE_KEY)
    before = state(task)
    client.force_login(practice_manager)

    response = client.post(item_url("item_owner", task), {"revision": task.revision, "owner": value})

    assert response.status_code == 400
    assert "Choose someone who holds a role at this practice. Nothing was changed." in error_summary(
        response.content.decode()
    )
    assert state(task) == before


def test_a_gate_is_offered_only_to_the_people_who_may_sign_it_and_refused_to_others(
    client, migration, practice_manager, practice_staff, clinical_lead
):
    gate = migration.items.filter(kind=ItemKind.GATE, responsible_role=Role.CLINICAL_LEAD).first()
    before = state(gate)
    client.force_login(practice_manager)

    page = client.get(item_url("item_detail", gate)).content.decode()
    offered = set(re.findall(r'<option value="(\d+)"', page))
    response = client.post(item_url("item_owner", gate), {"revision": gate.revision, "owner": practice_staff.pk})

    assert offered == {str(clinical_lead.pk)}
    assert response.status_code == 400
    assert "Choose someone who can sign off this gate (the clinical lead). Nothing was changed." in error_summary(
        response.content.decode()
    )
    assert state(gate) == before
    given = client.post(item_url("item_owner", gate), {"revision": gate.revision, "owner": clinical_lead.pk})
    assert given.status_code == 302
    gate.refresh_from_db()
    assert gate.owner == clinical_lead


def test_a_stale_owner_form_says_someone_else_changed_the_item(
    client, migration, practice_manager, clinical_lead, practice_staff
):
    task = item(migration, OVERDUE_KEY)
    seen = task.revision
    task.set_note(clinical_lead, "Booked for Tuesday")
    before = state(task)
    client.force_login(practice_manager)

    response = client.post(item_url("item_owner", task), {"revision": seen, "owner": practice_staff.pk})

    html = response.content.decode()
    assert response.status_code == 400
    assert "This item was changed since you opened the page" in error_summary(html)
    assert f'name="revision" value="{task.revision}"' in html.split('id="change-owner"')[1]  # the form, anew
    assert state(task) == before


def test_the_history_shows_who_changed_the_owner(client, migration, practice_manager, practice_staff):
    task = item(migration, OVERDUE_KEY)
    assign(task, practice_manager, practice_staff)
    task.assign_owner(practice_manager, None)
    client.force_login(practice_manager)

    page = text(client.get(item_url("item_history", task)).content.decode())

    assert "Who Priya Manager What Owner changed: anyone in the responsible role to Sam Staff (practice.staff@" in page
    assert "Owner changed: Sam Staff (practice.staff@example.nhs.uk) to anyone in the responsible role" in page


# --- the checklist --------------------------------------------------------------------------------------


def this_week(html: str) -> list[str]:
    """The entries of the "This week" panel, as a person reads them."""
    return [text(entry) for entry in re.findall(r"<li>(.*?)</li>", element(html, "this-week"), re.DOTALL)]


def test_the_checklist_shows_the_owner_and_this_week_marks_the_viewers_own_items(
    client, migration, practice_manager, practice_staff
):
    # The most overdue item ("This week" lists the five most overdue) and one due soon: both the practice manager's.
    overdue = migration.items.filter(due_on__lt=TODAY).order_by("due_on", "phase__position", "position").first()
    due_soon = item(migration, DUE_SOON_KEY)
    assign(overdue, practice_manager, practice_staff)

    client.force_login(practice_manager)
    as_manager = client.get(detail_url(migration)).content.decode()
    client.force_login(practice_staff)
    as_staff = client.get(detail_url(migration)).content.decode()

    assert "Owner: Sam Staff." in text(element(as_manager, f"item-{overdue.pk}-hint"))
    assert "Practice manager." in text(element(as_manager, f"item-{due_soon.pk}-hint"))
    manager_week, staff_week = this_week(as_manager), this_week(as_staff)
    due = f"due {overdue.due_on.day} {overdue.due_on:%B}"
    assert f"{overdue.title} {due}, Sam Staff" in manager_week  # Sam's, not the manager's
    assert f"{due_soon.title} due Monday 14 April, Practice manager (yours)" in manager_week
    assert f"{overdue.title} {due}, Sam Staff (yours)" in staff_week
    assert f"{due_soon.title} due Monday 14 April, Practice manager" in staff_week


def test_the_migration_page_with_owners_runs_the_same_queries(client, django_assert_num_queries):
    migration, manager = migration_of(30)
    people = [manager, *(MembershipFactory(practice=migration.practice, role=Role.PRACTICE_STAFF).user for _ in "ab")]
    for number, each in enumerate(migration.items.filter(kind=ItemKind.TASK)[:12]):
        each.assign_owner(manager, people[number % 3], memberships=access.owner_memberships(each))
    client.force_login(manager)

    with django_assert_num_queries(MIGRATION_PAGE_QUERIES):
        response = client.get(detail_url(migration), {"show": "all"})

    assert response.content.decode().count("Owner: ") == 12


# --- naming an owner while they are being removed (PostgreSQL: real row locks) -----------------------

needs_row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one writer at a time: there is no race to test"
)


def in_thread(work) -> tuple[threading.Thread, list]:
    """Run `work` in a thread of its own (its own database connection); its outcome lands in the list."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as error:  # the test looks at what happened
            outcome.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def remove_and_hand_back(member, practice, *, before_commit=lambda: None) -> int:
    """What removing someone from a practice does: delete the membership, hand their items back."""
    with transaction.atomic():
        Membership.objects.filter(user=member, practice=practice).delete()
        handed = ChecklistItem.objects.filter(migration__practice=practice).hand_back_to_role(by=None, owner=member)
        before_commit()
    return handed


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_removal_waits_for_an_owner_being_named_and_then_hands_the_item_back(
    migration, practice_manager, practice_staff
):
    task = item(migration, OVERDUE_KEY)
    named, removal_started = threading.Event(), threading.Event()

    def name_and_hold_the_transaction_open() -> str:
        with transaction.atomic():
            assign(task, practice_manager, practice_staff)
            named.set()
            removal_started.wait(5)
            time.sleep(0.5)  # the removal is now waiting on the membership row this holds
        return "named"

    def remove() -> int:
        removal_started.set()
        return remove_and_hand_back(practice_staff, migration.practice)

    naming, named_outcome = in_thread(name_and_hold_the_transaction_open)
    named.wait(5)
    removing, removed_outcome = in_thread(remove)
    naming.join(10)
    removing.join(10)

    assert named_outcome == ["named"] and removed_outcome == [1]
    assert state(task)[0] is None


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_naming_someone_being_removed_waits_for_the_removal_and_is_refused(migration, practice_manager, practice_staff):
    task = item(migration, OVERDUE_KEY)
    handed_back, naming_started = threading.Event(), threading.Event()

    def hold_the_removal_open() -> None:
        handed_back.set()
        naming_started.wait(5)
        time.sleep(0.5)  # the naming is now waiting on the deleted membership row

    def name() -> None:
        naming_started.set()
        assign(task, practice_manager, practice_staff)

    removing, removed_outcome = in_thread(
        lambda: remove_and_hand_back(practice_staff, migration.practice, before_commit=hold_the_removal_open)
    )
    handed_back.wait(5)
    naming, named_outcome = in_thread(name)
    removing.join(10)
    naming.join(10)

    assert removed_outcome == [0]
    assert isinstance(named_outcome[0], ValidationError) and "owner" in named_outcome[0].error_dict
    assert state(task)[0] is None
