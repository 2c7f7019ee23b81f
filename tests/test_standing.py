"""A person's standing (access.standing_of), read in one statement on every request, against the
rule as Django's own permission checks and the person's memberships give it."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from migrations_app.access import standing, visible_migrations
from migrations_app.models import Membership, Role, User
from tests.factories import (
    DeliveryPartnerFactory,
    ICBFactory,
    MembershipFactory,
    PracticeFactory,
    UserFactory,
    make_migration,
)

pytestmark = pytest.mark.django_db


def expected(user_pk: int) -> standing.Standing:
    """The standing as Django's permission checks and the memberships' own queries give it."""
    user = User.objects.get(pk=user_pk)
    if not user.is_active:
        return standing.Standing()
    memberships = Membership.objects.filter(user=user)
    return standing.Standing(
        reads_every_migration=user.has_perm(f"migrations_app.{standing.READ_EVERY_MIGRATION}")
        or user.has_perm(f"migrations_app.{standing.ACT_ON_EVERY_MIGRATION}"),
        acts_on_every_migration=user.has_perm(f"migrations_app.{standing.ACT_ON_EVERY_MIGRATION}"),
        is_delivery_partner=memberships.filter(role=Role.DELIVERY_PARTNER).exists(),
        practice_ids=frozenset(memberships.exclude(practice=None).values_list("practice_id", flat=True)),
        partner_ids=frozenset(memberships.exclude(delivery_partner=None).values_list("delivery_partner_id", flat=True)),
        icb_ids=frozenset(memberships.exclude(icb=None).values_list("icb_id", flat=True)),
        memberships=tuple(
            sorted(memberships.values_list("role", "practice_id", "delivery_partner_id", "icb_id"), key=str)
        ),
    )


def read(user: User) -> standing.Standing:
    standing.forget_standing(user)
    return standing.standing_of(user)


def permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="migrations_app", codename=codename)


def test_someone_with_no_membership_or_permission_has_no_standing(django_assert_num_queries):
    user = UserFactory()
    with django_assert_num_queries(1):
        found = read(user)
    assert found == standing.Standing() == expected(user.pk)


def test_memberships_of_practices_partners_and_icbs_are_read_as_ids_in_one_query(django_assert_num_queries):
    user = UserFactory()
    practices = [PracticeFactory(), PracticeFactory()]
    for practice in practices:
        MembershipFactory(user=user, practice=practice, role=Role.PRACTICE_STAFF)
    partner = DeliveryPartnerFactory()
    MembershipFactory(user=user, practice=None, delivery_partner=partner, role=Role.DELIVERY_PARTNER)
    icb = ICBFactory()
    MembershipFactory(user=user, practice=None, icb=icb, role=Role.ICB_LEAD)
    MembershipFactory(role=Role.PRACTICE_MANAGER)  # someone else's
    with django_assert_num_queries(1):
        found = read(user)
    assert found == expected(user.pk)
    assert found.practice_ids == {practice.pk for practice in practices}
    assert found.partner_ids == {partner.pk}
    assert found.icb_ids == {icb.pk}
    assert found.is_delivery_partner
    assert not found.reads_every_migration


def test_an_icb_lead_is_no_delivery_partner():
    user = MembershipFactory(practice=None, icb=ICBFactory(), role=Role.ICB_LEAD).user
    assert read(user) == expected(user.pk)
    assert not read(user).is_delivery_partner


@pytest.mark.parametrize(
    ("codename", "reads", "acts"),
    [
        (standing.READ_EVERY_MIGRATION, True, False),
        (standing.ACT_ON_EVERY_MIGRATION, True, True),
        ("view_checklistitem", False, False),
    ],
)
@pytest.mark.parametrize("through", ["user", "group"])
def test_permissions_count_whether_held_directly_or_through_a_group(codename, reads, acts, through):
    user = UserFactory()
    if through == "user":
        user.user_permissions.add(permission(codename))
    else:
        group = Group.objects.create(name=f"Readers {codename}")
        group.permissions.add(permission(codename))
        user.groups.add(group)
    found = read(user)
    assert (found.reads_every_migration, found.acts_on_every_migration) == (reads, acts)
    assert found == expected(user.pk)


def test_a_codename_of_another_application_grants_nothing():
    """Only migrations_app's permissions give standing, whatever another app names its own."""
    other = ContentType.objects.get_for_model(Group)
    lookalike = Permission.objects.create(content_type=other, codename=standing.ACT_ON_EVERY_MIGRATION, name="Look")
    user = UserFactory()
    user.user_permissions.add(lookalike)
    assert read(user) == standing.Standing() == expected(user.pk)


def test_a_superuser_reads_and_acts_on_every_migration():
    user = UserFactory(is_superuser=True)
    found = read(user)
    assert found.reads_every_migration and found.acts_on_every_migration
    assert found == expected(user.pk)


def test_standing_is_read_from_the_database_not_from_the_object():
    """A person deactivated, or made superuser, since their object was loaded: the database counts."""
    user = MembershipFactory(role=Role.PRACTICE_MANAGER).user
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    assert read(user).acts_on_every_migration
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert read(user) == standing.Standing()


def test_standing_is_kept_for_the_request_until_forgotten(django_assert_num_queries):
    user = MembershipFactory(role=Role.PRACTICE_MANAGER).user
    first = read(user)
    with django_assert_num_queries(0):
        assert standing.standing_of(user) is first
    user.user_permissions.add(permission(standing.READ_EVERY_MIGRATION))
    assert read(user).reads_every_migration


def test_what_the_standing_lets_a_person_read(guide_version):
    """The practices of the person's memberships, and those of their partner's and ICB's: no other."""
    own, partners, icbs, other = PracticeFactory(), PracticeFactory(), PracticeFactory(), PracticeFactory()
    user = MembershipFactory(practice=own, role=Role.PRACTICE_STAFF).user
    MembershipFactory(user=user, practice=None, delivery_partner=partners.delivery_partner, role=Role.DELIVERY_PARTNER)
    MembershipFactory(user=user, practice=None, icb=icbs.icb, role=Role.ICB_LEAD)
    migrations = {practice: make_migration(practice=practice) for practice in (own, partners, icbs, other)}
    seen = set(visible_migrations(user).values_list("pk", flat=True))
    assert seen == {migrations[own].pk, migrations[partners].pk, migrations[icbs].pk}


def test_reading_one_practice_in_memory_agrees_with_the_rule(guide_version):
    """Standing.reads_at, which the pages of one migration or item go by, answers as
    visible_migrations does: for members of a practice, of a delivery partner and of an ICB, for
    someone with no membership, someone inactive and someone who reads every migration, over
    practices with and without a delivery partner."""
    own, partners, icbs, other = PracticeFactory(), PracticeFactory(), PracticeFactory(), PracticeFactory()
    orphan = PracticeFactory(delivery_partner=None)
    practices = [own, partners, icbs, other, orphan]
    for practice in practices:
        make_migration(practice=practice)
    member = MembershipFactory(practice=own, role=Role.PRACTICE_STAFF).user
    partner = MembershipFactory(
        practice=None, delivery_partner=partners.delivery_partner, role=Role.DELIVERY_PARTNER
    ).user
    icb_lead = MembershipFactory(practice=None, icb=icbs.icb, role=Role.ICB_LEAD).user
    gone = MembershipFactory(practice=own, role=Role.PRACTICE_MANAGER, user__is_active=False).user
    national = UserFactory()
    national.user_permissions.add(permission(standing.READ_EVERY_MIGRATION))
    people = [member, partner, icb_lead, gone, national, UserFactory()]
    answers = {}
    for person in people:
        person = User.objects.get(pk=person.pk)
        seen = set(visible_migrations(person).values_list("practice_id", flat=True))
        for practice in practices:
            in_memory = read(person).reads_at(practice)
            assert in_memory == (practice.pk in seen), (person, practice)
            answers[person.pk, practice.pk] = in_memory
    # Both answers occur for every kind but the extremes, so the comparison could fail either way.
    assert [answers[member.pk, practice.pk] for practice in practices] == [True, False, False, False, False]
    assert [answers[partner.pk, practice.pk] for practice in practices] == [False, True, False, False, False]
    assert [answers[icb_lead.pk, practice.pk] for practice in practices] == [False, False, True, False, False]
    assert not any(answers[gone.pk, practice.pk] for practice in practices)
    assert all(answers[national.pk, practice.pk] for practice in practices)
