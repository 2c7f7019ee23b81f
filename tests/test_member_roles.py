"""Changing someone's role at a practice from its People section, without inviting them again:
who may, what happens to what they own, and what is refused."""

import pytest
from django.urls import reverse

from migrations_app.invitations import inviting
from migrations_app.models import ChecklistItem, Event, ItemKind, Membership, Role
from tests.factories import MembershipFactory, UserFactory
from tests.pages import detail_url, error_summary, text

pytestmark = pytest.mark.django_db


def role_url(migration, membership) -> str:
    return reverse("migrations:member_role", kwargs={"pk": migration.pk, "membership_pk": membership.pk})


def test_a_practice_manager_gives_practice_staff_another_role(client, migration, practice_manager, practice_staff):
    membership = Membership.objects.get(user=practice_staff, practice=migration.practice)
    client.force_login(practice_manager)

    people = text(client.get(detail_url(migration)).content.decode())
    form = client.get(role_url(migration, membership))
    changed = client.post(role_url(migration, membership), {"role": Role.CLINICAL_LEAD}, follow=True)

    assert f"Change role of {practice_staff.full_name}, practice staff" in people
    page = text(form.content.decode())
    assert f"Change the role of {practice_staff}" in page
    assert "Clinical lead" in page and "Practice manager" in page
    assert 'value="practice_staff"' not in form.content.decode()  # the role they hold is not offered
    membership.refresh_from_db()
    assert membership.role == Role.CLINICAL_LEAD
    assert changed.redirect_chain[-1][0] == detail_url(migration) + "#people"
    assert f"{practice_staff} is now a clinical lead at {migration.practice}, no longer practice staff" in text(
        changed.content.decode()
    )
    assert list(
        Event.objects.filter(practice=migration.practice, kind=Event.Kind.PEOPLE).values_list(
            "actor", "field", "old_value", "new_value"
        )
    ) == [
        (
            practice_manager.pk,
            "membership",
            f"{practice_staff.full_name} ({practice_staff.email}), Practice staff",
            f"{practice_staff.full_name} ({practice_staff.email}), Clinical lead",
        )
    ]


def test_gates_the_new_role_cannot_sign_go_back_to_their_role(
    migration, practice_manager, clinical_lead, delivery_partner_user
):
    gate = migration.items.filter(kind=ItemKind.GATE, responsible_role=Role.CLINICAL_LEAD).first()
    task = migration.items.filter(kind=ItemKind.TASK).first()
    ChecklistItem.objects.filter(pk__in=[gate.pk, task.pk]).update(owner=clinical_lead)
    membership = Membership.objects.get(user=clinical_lead, practice=migration.practice)

    assert inviting.change_role(membership, Role.PRACTICE_STAFF, by=delivery_partner_user)

    gate.refresh_from_db()
    task.refresh_from_db()
    assert (gate.owner, task.owner) == (None, clinical_lead)
    handed = Event.objects.get(item=gate, kind=Event.Kind.OWNER)
    reason = f"No longer a clinical lead at {migration.practice}"
    assert (handed.actor, handed.reason) == (delivery_partner_user, reason)
    assert not Event.objects.filter(item=task, kind=Event.Kind.OWNER).exists()


def test_a_role_changed_in_another_tab_changes_nothing_twice(migration, practice_manager, practice_staff):
    membership = Membership.objects.get(user=practice_staff, practice=migration.practice)
    stale = Membership.objects.get(pk=membership.pk)

    assert inviting.change_role(membership, Role.CLINICAL_LEAD, by=practice_manager)
    assert inviting.change_role(stale, Role.CLINICAL_LEAD, by=practice_manager) is False

    assert Event.objects.filter(kind=Event.Kind.PEOPLE).count() == 1


def test_a_bad_choice_is_refused_and_changes_nothing(client, migration, practice_manager, practice_staff):
    membership = Membership.objects.get(user=practice_staff, practice=migration.practice)
    client.force_login(practice_manager)

    answers = [
        client.post(role_url(migration, membership), data)
        for data in ({}, {"role": Role.PRACTICE_STAFF}, {"role": Role.DELIVERY_PARTNER}, {"role": "owner"})
    ]

    assert [answer.status_code for answer in answers] == [400] * 4
    assert "Select their new role" in error_summary(answers[0].content.decode())
    assert all("Select a valid choice" in error_summary(answer.content.decode()) for answer in answers[1:])
    membership.refresh_from_db()
    assert membership.role == Role.PRACTICE_STAFF
    assert not Event.objects.filter(kind=Event.Kind.PEOPLE).exists()


def test_nobody_changes_their_own_role(client, migration, practice_manager):
    membership = Membership.objects.get(user=practice_manager, practice=migration.practice)
    client.force_login(practice_manager)

    page = client.get(role_url(migration, membership))
    posted = client.post(role_url(migration, membership), {"role": Role.PRACTICE_STAFF})

    assert (page.status_code, posted.status_code) == (403, 403)
    assert f"You cannot change your own role at {migration.practice}" in text(page.content.decode())
    membership.refresh_from_db()
    assert membership.role == Role.PRACTICE_MANAGER


def test_only_those_who_manage_the_practices_people_change_roles(
    client, migration, practice_manager, practice_staff, clinical_lead, icb_user, outsider
):
    membership = Membership.objects.get(user=practice_manager, practice=migration.practice)
    other_practice_member = MembershipFactory(user=UserFactory(), role=Role.PRACTICE_STAFF)

    statuses = []
    for user in (practice_staff, clinical_lead, icb_user, outsider):
        client.force_login(user)
        statuses.append(client.post(role_url(migration, membership), {"role": Role.PRACTICE_STAFF}).status_code)
    client.force_login(practice_manager)
    statuses.append(client.post(role_url(migration, other_practice_member), {"role": Role.CLINICAL_LEAD}).status_code)
    client.force_login(practice_staff)
    people = text(client.get(detail_url(migration)).content.decode())

    assert statuses == [403, 403, 403, 404, 404]
    assert "Change role" not in people
    membership.refresh_from_db()
    assert membership.role == Role.PRACTICE_MANAGER


def test_changing_the_only_practice_manager_says_what_the_practice_is_left_without(
    client, migration, practice_manager, practice_staff, delivery_partner_user
):
    manager = Membership.objects.get(user=practice_manager, practice=migration.practice)
    staff = Membership.objects.get(user=practice_staff, practice=migration.practice)
    client.force_login(delivery_partner_user)

    only = text(client.get(role_url(migration, manager)).content.decode())
    other = text(client.get(role_url(migration, staff)).content.decode())
    staff.role = Role.PRACTICE_MANAGER
    staff.save()
    one_of_two = text(client.get(role_url(migration, manager)).content.decode())

    assert "The practice's only practice manager" in only
    assert "The practice's only practice manager" not in other
    assert "The practice's only practice manager" not in one_of_two
