"""Factories with deterministic values: sequences, never Faker, so a failure reads the same every run."""

from datetime import UTC, date, datetime, time, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from migrations_app.models import (
    ICB,
    ChecklistProgress,
    DeliveryPartner,
    Invitation,
    Membership,
    Practice,
    PracticeMigration,
    Role,
    Supplier,
    TemplateVersion,
    User,
)
from migrations_app.models.checklist_items import DayCounts
from migrations_app.models.invitations import new_nonce

PASSWORD = "correct-horse-battery-staple"

# A migration's milestones in the guide's order: go-live 14 weeks after the order is accepted, a
# Friday FDP and Monday go-live (the guide's 3-day cutover target), the cutover planning meeting more
# than 4 weeks before FDP, data checking signed off before it, and 90 days' read-only access to the
# old system (the newer guide's figure).
ORDER_ACCEPTED_ON = date(2025, 3, 3)
GO_LIVE_ON = ORDER_ACCEPTED_ON + timedelta(weeks=14)
MILESTONE_DATES = {
    "order_accepted_on": ORDER_ACCEPTED_ON,
    "kick_off_on": date(2025, 3, 10),
    "technical_survey_on": date(2025, 3, 13),
    "idp_on": date(2025, 4, 14),
    "data_checking_signoff_on": date(2025, 5, 2),
    "cutover_planning_on": date(2025, 5, 8),
    "fdp_on": GO_LIVE_ON - timedelta(days=3),
    "go_live_on": GO_LIVE_ON,
    "old_system_access_end_on": GO_LIVE_ON + timedelta(days=90),
}


class ICBFactory(DjangoModelFactory):
    class Meta:
        model = ICB

    code = factory.Sequence(lambda n: f"Q{n:04d}")
    name = factory.Sequence(lambda n: f"NHS Test Integrated Care Board {n}")


class DeliveryPartnerFactory(DjangoModelFactory):
    class Meta:
        model = DeliveryPartner

    name = factory.Sequence(lambda n: f"Test Commissioning Support Unit {n}")


class PracticeFactory(DjangoModelFactory):
    class Meta:
        model = Practice

    ods_code = factory.Sequence(lambda n: f"A8{n:04d}")
    name = factory.Sequence(lambda n: f"Test Street Surgery {n}")
    icb = factory.SubFactory(ICBFactory)
    delivery_partner = factory.SubFactory(DeliveryPartnerFactory)


class SupplierFactory(DjangoModelFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"Test Supplier {n}")
    system_name = factory.Sequence(lambda n: f"Test Clinical System {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.nhs.uk")
    full_name = factory.Sequence(lambda n: f"Test User {n}")
    password = factory.django.Password(PASSWORD)


class MembershipFactory(DjangoModelFactory):
    """A practice membership by default; pass role with delivery_partner or icb (and practice=None)
    for the other kinds."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.PRACTICE_MANAGER
    practice = factory.SubFactory(PracticeFactory)


def make_invitation(
    *, invited_by: User, email: str = "new.person@example.nhs.uk", role: str = Role.PRACTICE_STAFF, **organisation
) -> Invitation:
    """A pending invitation as migrations_app.invitations.inviting.invite makes it, sent now, with
    no e-mail and no event. The organisation: practice=, delivery_partner= or icb= (with a role of
    that organisation)."""
    now = timezone.now()
    return Invitation.objects.create(
        email=email,
        role=role,
        invited_by=invited_by,
        created_at=now,
        sent_at=now,
        expires_at=Invitation.expiry_from(now),
        token_hash=new_nonce(),
        **organisation,
    )


def make_migration(
    *,
    practice: Practice | None = None,
    source_supplier: Supplier | None = None,
    target_supplier: Supplier | None = None,
    template_version: TemplateVersion | None = None,
    **overrides,
) -> PracticeMigration:
    """A migration made the only supported way, through PracticeMigration.start(), with the
    milestones of MILESTONE_DATES unless overridden. Needs a published guide version (the
    `guide_version` fixture) unless one is passed."""
    fields = MILESTONE_DATES | overrides
    return PracticeMigration.start(
        practice=practice or PracticeFactory(),
        source_supplier=source_supplier or SupplierFactory(),
        target_supplier=target_supplier or SupplierFactory(),
        template_version=template_version,
        **fields,
    )


def added_at_its_start(migration: PracticeMigration) -> PracticeMigration:
    """`migration` as if added to the tracker the day before its order was accepted, so that none
    of its gates is in the catch-up time of a migration added part way through
    (checklist_items.CATCH_UP_DAYS), and its day figures counted again."""
    from django.utils import timezone

    from migrations_app.models import ChecklistProgress

    added_at = datetime.combine(migration.order_accepted_on - timedelta(days=1), time(9), tzinfo=UTC)
    PracticeMigration.objects.filter(pk=migration.pk).update(created_at=added_at)
    migration.created_at = added_at
    ChecklistProgress.count_day(timezone.localdate(), [migration.pk])
    return migration


def kept_and_counted_day_figures(progress: ChecklistProgress, on: date) -> tuple[tuple, tuple]:
    """A migration's day figures as its ChecklistProgress keeps them (what the dashboard reads), and
    as DayCounts counts them from its items on `on` (what its page shows): overdue, gates overdue,
    done ahead and next due."""
    migration = progress.migration
    counted = DayCounts.of(migration.items.all(), on, added_on=timezone.localdate(migration.created_at))
    return (
        (progress.overdue, progress.gates_overdue, progress.done_ahead, progress.next_due_on),
        (counted.overdue, counted.gates_overdue, counted.done_ahead, counted.next_due_on),
    )
