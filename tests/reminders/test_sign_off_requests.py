"""Sign-off requests: closing the last open item before a gate (done, not applicable, or an
earlier gate signed) e-mails the people who may sign it at once - once a day, and not once signed."""

from datetime import date, datetime

import pytest
import time_machine
from django.core import mail

from migrations_app.models import ChecklistItem, Delivery, ItemKind, ItemStatus, Role, User
from migrations_app.reminders import due, sign_offs
from tests.factories import MembershipFactory, UserFactory
from tests.reminders import LONDON, london

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_practice_manager(practice) -> User:
    """A second practice manager of the demo practice: the practice's gates are theirs to sign too."""
    user = UserFactory(email="deputy.manager@example.nhs.uk", full_name="Dee Deputy")
    MembershipFactory(user=user, role=Role.PRACTICE_MANAGER, practice=practice)
    return user


def close_all_but_one_before(gate: ChecklistItem, by) -> ChecklistItem:
    """Mark every earlier item of the gate's phase done except the last open one, which is returned."""
    earlier = list(gate.open_dependencies().order_by("position"))
    ChecklistItem.objects.filter(pk__in=[item.pk for item in earlier[:-1]]).update(
        status=ItemStatus.DONE, completed_by=by, completed_at=datetime(2025, 4, 1, tzinfo=LONDON)
    )
    return earlier[-1]


def sign_off_requests() -> list:
    return [message for message in mail.outbox if message.subject.startswith("Ready to sign off")]


def test_completing_the_last_earlier_item_asks_the_gates_signers_at_once(
    migration,
    practice_manager,
    practice_staff,
    clinical_lead,
    delivery_partner_user,
    icb_user,
    django_capture_on_commit_callbacks,
):
    gate = migration.items.get(key="go-live-sign-off")
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_staff)

    # The guide gives the go-live sign-off to the practice: its practice manager is asked, and
    # nobody in another role (clinical lead, delivery partner, ICB).
    requests = sign_off_requests()
    assert [message.to for message in requests] == [[practice_manager.email]]
    assert gate.title[:40] in requests[0].body
    assert f"/migrations/{migration.pk}/items/{gate.pk}/" in requests[0].body
    # What made it ready: the items it waits for, not every earlier item of its phase, some of
    # which may still be open.
    assert gate.depends_on
    for body in (requests[0].body, requests[0].alternatives[0][0]):
        assert "Every item it waits for is now done or not applicable." in body
        assert "Every earlier item" not in body


def test_the_data_sign_off_request_goes_to_the_clinical_lead_only(
    migration, practice_manager, clinical_lead, delivery_partner_user, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="data-checking-sign-off")
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_manager)

    assert [message.to for message in sign_off_requests()] == [[clinical_lead.email]]


def test_marking_the_last_earlier_item_not_applicable_asks_the_signers_at_once(
    migration, practice_manager, clinical_lead, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="data-checking-sign-off")
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.mark_not_applicable(practice_manager, "Not used at this practice.")

    assert [message.to for message in sign_off_requests()] == [[clinical_lead.email]]


def test_signing_a_gate_that_was_the_last_open_item_before_another_asks_for_the_next(
    migration, practice_manager, django_capture_on_commit_callbacks
):
    # The migration-complete gate waits for the go-live sign-off (among others).
    later_gate = migration.items.get(key="migration-complete")
    earlier_gate = later_gate.dependencies().get(kind=ItemKind.GATE)
    later_gate.dependencies().exclude(pk=earlier_gate.pk).update(
        status=ItemStatus.DONE, completed_by=practice_manager, completed_at=datetime(2025, 4, 1, tzinfo=LONDON)
    )
    earlier_gate.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        earlier_gate.sign_off(practice_manager, override_reason="Signed for the test")

    requests = sign_off_requests()
    assert requests, "signing the earlier gate made the later one ready"
    assert all(later_gate.title[:40] in message.body for message in requests)


def test_completing_an_item_that_leaves_others_open_asks_nobody(
    migration, practice_manager, clinical_lead, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="go-live-sign-off")
    first_open = gate.open_dependencies().order_by("position").first()

    with django_capture_on_commit_callbacks(execute=True):
        first_open.complete(practice_manager)

    assert sign_off_requests() == []


def test_a_gate_is_requested_once_a_day_and_not_once_signed(
    migration, practice_manager, clinical_lead, django_capture_on_commit_callbacks
):
    gate = migration.items.get(key="data-checking-sign-off")
    last = close_all_but_one_before(gate, practice_manager)
    with time_machine.travel(london(date(2025, 4, 30), 10)), django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_manager)
        last.complete(practice_manager)  # done twice: the same day's request is not sent again

    gate.sign_off(clinical_lead)
    with django_capture_on_commit_callbacks(execute=True):
        sign_offs.request_sign_off(gate.pk, now=london(date(2025, 5, 1), 10))

    assert len(sign_off_requests()) == 1
    assert Delivery.objects.filter(kind=Delivery.Kind.SIGN_OFF_REQUEST).count() == 1


def test_an_unsubscribed_signer_is_not_asked(
    migration, practice_manager, clinical_lead, django_capture_on_commit_callbacks
):
    due.preference_for(clinical_lead).unsubscribe()
    gate = migration.items.get(key="data-checking-sign-off")
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_manager)

    assert sign_off_requests() == []


@pytest.mark.parametrize(
    ("owner", "asked"),
    [
        ("practice_manager", ["practice_manager"]),  # may sign it: the owner alone
        ("practice_staff", ["practice_manager", "other_practice_manager"]),  # may not: everyone who may
        ("clinical_lead", ["practice_manager", "other_practice_manager"]),  # another role: everyone who may
    ],
)
def test_a_gate_with_an_owner_who_may_sign_it_asks_the_owner_alone(
    owner,
    asked,
    request,
    migration,
    practice_manager,
    practice_staff,
    clinical_lead,
    other_practice_manager,
    django_capture_on_commit_callbacks,
):
    gate = migration.items.get(key="go-live-sign-off")
    # An owner who may not sign it can no longer be named (access.owner_memberships), but one named
    # before that was the rule may still hold a gate: written directly.
    ChecklistItem.objects.filter(pk=gate.pk).update(owner=request.getfixturevalue(owner))
    gate.refresh_from_db()
    last = close_all_but_one_before(gate, practice_manager)

    with django_capture_on_commit_callbacks(execute=True):
        last.complete(practice_staff)

    assert sorted(message.to[0] for message in sign_off_requests()) == sorted(
        request.getfixturevalue(persona).email for persona in asked
    )


@pytest.mark.parametrize(
    ("key", "signer"),
    [
        ("icb-business-case-funding-approved", "icb_user"),
        ("go-live-sign-off", "practice_manager"),
        ("migration-complete", "practice_manager"),
        ("data-checking-sign-off", "clinical_lead"),
    ],
)
def test_a_sign_off_request_goes_to_the_role_that_signs_the_gate(
    key,
    signer,
    request,
    migration,
    practice_manager,
    practice_staff,
    clinical_lead,
    delivery_partner_user,
    icb_user,
    django_capture_on_commit_callbacks,
):
    # The gate's responsible role signs it (access.signers_of): nobody in another role is asked.
    gate = migration.items.get(key=key)
    gate.open_dependencies().update(
        status=ItemStatus.DONE, completed_by=practice_manager, completed_at=datetime(2025, 4, 1, tzinfo=LONDON)
    )

    with django_capture_on_commit_callbacks(execute=True):
        sign_offs.request_sign_off(gate.pk)

    assert [message.to for message in sign_off_requests()] == [[request.getfixturevalue(signer).email]]
