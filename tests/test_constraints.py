"""The database holds the invariants itself: rows written past model validation are still refused."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from migrations_app.models import (
    ChecklistItem,
    Event,
    ItemStatus,
    ItemTemplate,
    Membership,
    Practice,
    PracticeMigration,
    Role,
    TemplateVersion,
)
from migrations_app.models.practice_migrations import MILESTONE_FIELDS
from migrations_app.scheduling import MILESTONE_ORDER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ODS_MESSAGE = "Enter a GP practice ODS code: one letter followed by five digits, for example A81001."
SOME_TIME = datetime(2025, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def item(migration) -> ChecklistItem:
    """An unconditional item, still to do."""
    return migration.items.filter(condition="", status=ItemStatus.TO_DO).order_by("phase__position", "position")[0]


# --- practices -------------------------------------------------------------------------------------

WRONG_SHAPE_ODS_CODES = ["A8100", "AB1234", "812345", "A8100X", " A8100", "8A1001"]


@pytest.mark.parametrize("ods_code", WRONG_SHAPE_ODS_CODES)
def test_a_practice_with_a_wrongly_shaped_ods_code_cannot_be_inserted(icb, ods_code):
    with pytest.raises(IntegrityError), transaction.atomic():
        Practice.objects.create(ods_code=ods_code, name="Bad Code Surgery", icb=icb)


@pytest.mark.parametrize("ods_code", ["a81001", *WRONG_SHAPE_ODS_CODES])
def test_the_database_refuses_a_malformed_ods_code_written_in_plain_sql(practice, ods_code):
    # Plain SQL, because the ORM upper-cases and trims the code on the way in.
    table = connection.ops.quote_name(Practice._meta.db_table)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET ods_code = %s WHERE id = %s", [ods_code, practice.pk])  # noqa: S608

    assert Practice.objects.get(pk=practice.pk).ods_code == "H85001"


def test_an_ods_code_written_through_the_orm_is_stored_upper_case_and_trimmed(icb):
    practice = Practice.objects.create(ods_code=" a81001 ", name="Lower Case Surgery", icb=icb)

    assert Practice.objects.filter(pk=practice.pk).values_list("ods_code", flat=True).get() == "A81001"


@pytest.mark.parametrize("ods_code", ["a81001", " a81001 "])
def test_model_validation_normalises_an_ods_code_to_upper_case_and_accepts_it(icb, ods_code):
    practice = Practice(ods_code=ods_code, name="Lower Case Surgery", icb=icb)

    practice.full_clean()

    assert practice.ods_code == "A81001"


@pytest.mark.parametrize("ods_code", ["A8100", "AB1234", "812345"])
def test_model_validation_explains_the_ods_code_format(icb, ods_code):
    practice = Practice(ods_code=ods_code, name="Bad Code Surgery", icb=icb)

    with pytest.raises(ValidationError) as raised:
        practice.full_clean()

    assert raised.value.message_dict == {"ods_code": [ODS_MESSAGE]}


# --- memberships -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "organisations"),
    [
        (Role.PRACTICE_MANAGER, ["delivery_partner"]),
        (Role.PRACTICE_STAFF, ["icb"]),
        (Role.CLINICAL_LEAD, ["practice", "icb"]),
        (Role.PRACTICE_MANAGER, []),
        (Role.DELIVERY_PARTNER, ["practice"]),
        (Role.DELIVERY_PARTNER, ["delivery_partner", "icb"]),
        (Role.ICB_LEAD, ["delivery_partner"]),
        (Role.ICB_LEAD, ["icb", "practice"]),
        ("superuser", ["practice"]),
    ],
)
def test_a_membership_must_be_in_exactly_the_kind_of_organisation_its_role_names(
    practice, delivery_partner, icb, role, organisations
):
    candidates = {"practice": practice, "delivery_partner": delivery_partner, "icb": icb}
    fields = {name: organisation if name in organisations else None for name, organisation in candidates.items()}

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=UserFactory(), role=role, **fields)

    assert not Membership.objects.exists()


@pytest.mark.parametrize(
    ("role", "organisation"),
    [(Role.CLINICAL_LEAD, "practice"), (Role.DELIVERY_PARTNER, "delivery_partner"), (Role.ICB_LEAD, "icb")],
)
def test_a_membership_in_the_organisation_its_role_names_is_accepted(
    practice, delivery_partner, icb, role, organisation
):
    candidates = {"practice": practice, "delivery_partner": delivery_partner, "icb": icb}

    Membership.objects.create(user=UserFactory(), role=role, **{organisation: candidates[organisation]})

    assert Membership.objects.filter(role=role).count() == 1


def test_a_user_has_one_membership_per_practice(practice_manager, practice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=practice_manager, role=Role.PRACTICE_STAFF, practice=practice)


# --- migrations ------------------------------------------------------------------------------------


def test_a_practice_cannot_have_two_active_migrations(migration):
    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.create(
            practice=migration.practice,
            source_supplier=migration.target_supplier,
            target_supplier=migration.source_supplier,
            template_version=migration.template_version,
        )

    assert PracticeMigration.objects.count() == 1


def test_a_finished_migration_cannot_be_made_active_beside_an_active_one(migration):
    cancelled = PracticeMigration.objects.create(
        practice=migration.practice,
        source_supplier=migration.target_supplier,
        target_supplier=migration.source_supplier,
        template_version=migration.template_version,
        status=PracticeMigration.Status.CANCELLED,
        finished_at=SOME_TIME,
        status_reason="Practice merged",
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.filter(pk=cancelled.pk).update(
            status=PracticeMigration.Status.ACTIVE, finished_at=None, status_reason=""
        )


def test_a_migration_cannot_go_from_a_supplier_to_itself(migration):
    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.filter(pk=migration.pk).update(target_supplier=migration.source_supplier)


def test_a_migration_status_must_be_a_known_one(migration):
    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.filter(pk=migration.pk).update(status="paused")


@pytest.mark.parametrize(
    ("status", "finished_at"),
    [("active", SOME_TIME), ("on_hold", SOME_TIME), ("completed", None), ("cancelled", None)],
)
def test_a_migration_is_finished_exactly_when_it_is_no_longer_active(migration, status, finished_at):
    reason = "Practice merged" if status in ("on_hold", "cancelled") else ""
    held_at = SOME_TIME if status == "on_hold" else None
    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.filter(pk=migration.pk).update(
            status=status, finished_at=finished_at, status_reason=reason, held_at=held_at
        )


def only_milestones(**dates: date) -> dict[str, date | None]:
    """An update that clears every milestone but the ones given, so exactly one order rule is in play."""
    return dict.fromkeys(MILESTONE_FIELDS) | dates


def test_the_database_refuses_go_live_before_fdp(migration):
    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.filter(pk=migration.pk).update(go_live_on=migration.fdp_on - timedelta(days=1))

    assert PracticeMigration.objects.get(pk=migration.pk).go_live_on == migration.go_live_on


def test_the_database_refuses_fdp_before_idp(migration):
    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.filter(pk=migration.pk).update(
            **only_milestones(idp_on=date(2025, 4, 14), fdp_on=date(2025, 4, 11))
        )


def test_the_database_refuses_fdp_on_the_day_of_idp(migration):
    with pytest.raises(IntegrityError), transaction.atomic():
        PracticeMigration.objects.filter(pk=migration.pk).update(
            **only_milestones(idp_on=date(2025, 4, 14), fdp_on=date(2025, 4, 14))
        )


def test_the_database_accepts_unset_milestones_around_a_set_one(migration):
    PracticeMigration.objects.filter(pk=migration.pk).update(**only_milestones(fdp_on=date(2025, 6, 6)))

    assert PracticeMigration.objects.get(pk=migration.pk).milestone_dates()["fdp"] == date(2025, 6, 6)


@pytest.mark.parametrize("rule", MILESTONE_ORDER, ids=lambda rule: f"{rule.earlier.value}-{rule.later.value}")
def test_the_database_holds_every_milestone_order_rule(migration, rule):
    earlier, later = rule.earlier.field_name, rule.later.field_name
    migrations = PracticeMigration.objects.filter(pk=migration.pk)

    with pytest.raises(IntegrityError), transaction.atomic():
        migrations.update(**only_milestones(**{earlier: date(2025, 5, 1), later: date(2025, 4, 30)}))

    if rule.strict:
        with pytest.raises(IntegrityError), transaction.atomic():
            migrations.update(**only_milestones(**{earlier: date(2025, 5, 1), later: date(2025, 5, 1)}))
    else:
        migrations.update(**only_milestones(**{earlier: date(2025, 5, 1), later: date(2025, 5, 1)}))
        assert getattr(migrations.get(), later) == date(2025, 5, 1)


# --- checklist items -------------------------------------------------------------------------------


def test_an_item_status_must_be_a_known_one(item):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(status="finished")


def test_a_done_item_must_say_who_completed_it(item):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(status=ItemStatus.DONE, completed_at=SOME_TIME)


def test_a_done_item_must_say_when_it_was_completed(item, practice_manager):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(status=ItemStatus.DONE, completed_by=practice_manager)


def test_an_open_item_cannot_carry_a_completion(item, practice_manager):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(completed_by=practice_manager, completed_at=SOME_TIME)


def test_a_done_item_with_who_and_when_is_accepted(item, practice_manager):
    ChecklistItem.objects.filter(pk=item.pk).update(
        status=ItemStatus.DONE, completed_by=practice_manager, completed_at=SOME_TIME
    )

    assert ChecklistItem.objects.get(pk=item.pk).status == ItemStatus.DONE


@pytest.mark.parametrize("status", [ItemStatus.NOT_APPLICABLE, ItemStatus.BLOCKED])
def test_a_not_applicable_or_blocked_item_needs_a_reason(item, status):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(status=status, reason="")


def test_a_hand_set_date_must_be_the_items_due_date(item):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(manual_due_on=item.due_on + timedelta(days=1))


def test_a_hand_set_date_cannot_sit_beside_an_empty_due_date(item):
    # The manual date is the due date: a row with a manual date but no due date would fall out of
    # every overdue and due-soon query while replanning leaves it alone.
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(due_on=None, manual_due_on=date(2025, 6, 2))


@pytest.mark.parametrize(
    ("field", "value"),
    [("responsible_role", "receptionist"), ("anchor", "launch_party"), ("kind", "milestone"), ("condition", "rural")],
)
def test_an_item_field_with_choices_refuses_other_values(item, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(**{field: value})


def test_an_item_key_is_unique_within_its_migration(item):
    other = item.migration.items.exclude(pk=item.pk).first()

    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=other.pk).update(key=item.key)


# --- templates and events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("responsible_role", "receptionist"), ("anchor", "launch_party"), ("kind", "milestone"), ("condition", "rural")],
)
def test_an_item_template_field_with_choices_refuses_other_values(guide_version, field, value):
    item_template = guide_version.items().first()

    with pytest.raises(IntegrityError), transaction.atomic():
        ItemTemplate.objects.filter(pk=item_template.pk).update(**{field: value})


def test_a_template_version_status_must_be_draft_or_published(guide_version):
    with pytest.raises(IntegrityError), transaction.atomic():
        TemplateVersion.objects.filter(pk=guide_version.pk).update(status="archived")


def test_a_published_version_has_a_number_and_a_date(guide_version):
    with pytest.raises(IntegrityError), transaction.atomic():
        TemplateVersion.objects.create(template=guide_version.template, status=TemplateVersion.Status.PUBLISHED)


def test_a_draft_has_no_number(guide_version):
    with pytest.raises(IntegrityError), transaction.atomic():
        TemplateVersion.objects.create(template=guide_version.template, number=2)


def test_two_versions_of_a_template_cannot_share_a_number(guide_version):
    with pytest.raises(IntegrityError), transaction.atomic():
        TemplateVersion.objects.create(
            template=guide_version.template, status=TemplateVersion.Status.PUBLISHED, number=1, published_at=SOME_TIME
        )


def test_an_event_kind_must_be_a_known_one(migration):
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(migration=migration, kind="deleted")
