"""A practice migration: made from the guide, replanned when milestones move, read by the right people."""

import contextlib
from datetime import UTC, date, datetime

import pytest
import time_machine
import yaml
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from migrations_app import access, scheduling
from migrations_app.checklist_templates import guide_file as loader
from migrations_app.models import (
    ChecklistItem,
    Event,
    ItemStatus,
    MigrationPhase,
    PracticeMigration,
    Role,
    User,
)
from tests.factories import (
    MILESTONE_DATES,
    DeliveryPartnerFactory,
    ICBFactory,
    MembershipFactory,
    PracticeFactory,
    SupplierFactory,
    UserFactory,
    make_migration,
)

pytestmark = pytest.mark.django_db

GUIDE_DATA = yaml.safe_load(loader.GUIDE_FILE.read_text(encoding="utf-8"))
GUIDE_ITEMS = {item["key"]: item for phase in GUIDE_DATA["phases"] for item in phase["items"]}
BASE = "https://nhsconnect.github.io/prm-practice-migration/guide"
DONE_AT = datetime(2025, 5, 1, 9, 30, tzinfo=UTC)
REPLANNED_AT = datetime(2025, 5, 20, 14, 0, tzinfo=UTC)


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count() for model in (PracticeMigration, MigrationPhase, ChecklistItem, Event)
    }


def due_dates(migration: PracticeMigration) -> dict[int, date | None]:
    return dict(ChecklistItem.objects.filter(migration=migration).values_list("pk", "due_on"))


# --- instantiation ---------------------------------------------------------------------------------


def test_a_new_migration_has_one_item_for_each_item_in_the_guide_file(migration):
    expected = sum(len(phase["items"]) for phase in GUIDE_DATA["phases"])

    assert migration.items.count() == expected
    assert set(migration.items.values_list("key", flat=True)) == set(GUIDE_ITEMS)


def test_a_new_migration_has_the_five_seed_phases_in_order(migration):
    phases = migration.phases.order_by("position")

    assert list(phases.values_list("key", flat=True)) == [
        "early-phases",
        "initial-data-production",
        "planning-for-cutover",
        "cutover-and-go-live",
        "post-go-live",
    ]
    assert [phase.title for phase in phases] == [phase["title"] for phase in GUIDE_DATA["phases"]]


def test_items_keep_the_guide_order_within_their_phase(migration):
    for phase in GUIDE_DATA["phases"]:
        keys = migration.items.filter(phase__key=phase["key"]).order_by("position").values_list("key", flat=True)

        assert list(keys) == [item["key"] for item in phase["items"]]


def test_a_group_question_is_copied_as_an_item_of_its_own_group(migration):
    item = migration.items.get(key="data-extract-requested")

    assert item.title == "Have you requested an extract of the current data?"
    assert item.group == "Have you requested an extract of the current data?"
    assert item.guide_url == ""
    assert item.phase.key == "early-phases"


def test_a_bullet_is_copied_with_its_guide_link(migration):
    item = migration.items.get(key="request-data-extract-from-existing-supplier")

    assert item.title == "Request a data extract from your existing supplier"
    assert item.group == "Have you requested an extract of the current data?"
    assert item.guide_url == f"{BASE}/pre-migration-tasks#request-data-extract"
    assert item.responsible_role == Role.PRACTICE_MANAGER


def test_a_cutover_area_is_copied_with_its_guide_link(migration):
    item = migration.items.get(title="Appointments")

    assert item.guide_url == f"{BASE}/planning-for-cut-over#appointments"
    assert item.phase.key == "planning-for-cutover"
    assert item.group == "Do you have a plan for how you will handle the following during the cutover?"


def test_a_question_without_a_link_in_the_seed_has_no_guide_link(migration):
    item = migration.items.get(
        title="Have you booked rooms for initial data production meetings, training and data checking activities?"
    )

    assert item.guide_url == ""


def test_the_data_checking_sign_off_is_a_gate_for_the_clinical_lead(migration):
    item = migration.items.get(key="data-checking-sign-off")

    assert item.kind == "gate"
    assert item.responsible_role == Role.CLINICAL_LEAD
    assert item.due_on == MILESTONE_DATES["data_checking_signoff_on"]


def test_the_data_extract_request_is_due_five_weeks_before_idp(migration):
    item = migration.items.get(key="request-data-extract-from-existing-supplier")

    assert item.anchor == "idp"
    assert item.offset_days == -35
    assert item.due_on == date(2025, 3, 10)


def test_every_item_is_due_its_offset_from_its_anchor_milestone_on_a_working_day(migration):
    dates = {name.removesuffix("_on"): day for name, day in MILESTONE_DATES.items()}
    expected = {
        key: scheduling.due_date(dates, item["anchor"], item["offset_days"]) for key, item in GUIDE_ITEMS.items()
    }

    assert dict(migration.items.values_list("key", "due_on")) == expected


def test_items_anchored_on_an_unset_milestone_have_no_due_date(guide_version):
    migration = make_migration(cutover_planning_on=None)

    unanchored = migration.items.filter(anchor="cutover_planning")
    assert unanchored.exists()
    assert set(unanchored.values_list("due_on", flat=True)) == {None}
    assert not migration.items.exclude(anchor="cutover_planning").filter(due_on__isnull=True).exists()


def test_a_migration_with_no_milestones_yet_has_no_due_dates(guide_version):
    migration = make_migration(**dict.fromkeys(MILESTONE_DATES))

    assert set(migration.items.values_list("due_on", flat=True)) == {None}


CONDITIONS = [
    ("dispensing_practice", "Applies only when: dispensing practice."),
    ("new_hardware_needed", "Applies only when: technical survey found new hardware is needed."),
]


@pytest.mark.parametrize(("condition", "reason"), CONDITIONS, ids=[condition for condition, _ in CONDITIONS])
def test_conditional_items_are_not_applicable_with_a_reason_when_the_condition_is_false(
    guide_version, condition, reason
):
    migration = make_migration(**{condition: False})

    items = migration.items.filter(condition=condition)
    assert items.count() == sum(1 for item in GUIDE_ITEMS.values() if item.get("condition") == condition)
    assert set(items.values_list("status", "reason")) == {(ItemStatus.NOT_APPLICABLE, reason)}


@pytest.mark.parametrize("condition", [condition for condition, _ in CONDITIONS])
def test_conditional_items_are_to_do_when_the_condition_is_true(guide_version, condition):
    migration = make_migration(**{condition: True})

    items = migration.items.filter(condition=condition)
    assert items.exists()
    assert set(items.values_list("status", "reason")) == {(ItemStatus.TO_DO, "")}


def test_unconditional_items_start_to_do(migration):
    assert set(migration.items.filter(condition="").values_list("status", flat=True)) == {ItemStatus.TO_DO}


def test_starting_a_migration_records_who_made_it_from_which_version(migration, delivery_partner_user):
    event = migration.events.get()

    assert event.kind == Event.Kind.CREATED
    assert event.actor == delivery_partner_user
    assert event.item is None
    assert event.new_value == f"{len(GUIDE_ITEMS)} items from GP practice migration checklist version 1"


def test_starting_a_migration_uses_the_latest_published_version_by_default(guide_version):
    migration = make_migration()

    assert migration.template_version == guide_version


# --- starting with bad input -----------------------------------------------------------------------


def test_starting_with_the_same_supplier_on_both_sides_is_refused_and_saves_nothing(guide_version, practice):
    supplier = SupplierFactory()

    with pytest.raises(ValidationError) as raised:
        make_migration(practice=practice, source_supplier=supplier, target_supplier=supplier)

    assert raised.value.message_dict == {
        "target_supplier": ["The new system must be different from the current system."]
    }
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_starting_with_fdp_before_idp_is_refused_and_saves_nothing(guide_version):
    with pytest.raises(ValidationError) as raised:
        make_migration(**dict.fromkeys(MILESTONE_DATES) | {"idp_on": date(2025, 4, 14), "fdp_on": date(2025, 4, 11)})

    assert raised.value.message_dict == {
        "fdp_on": ["Final data production (FDP) must be after initial data production (IDP)."]
    }
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_starting_with_fdp_on_the_day_of_idp_is_refused(guide_version):
    with pytest.raises(ValidationError) as raised:
        make_migration(idp_on=date(2025, 4, 14), fdp_on=date(2025, 4, 14), data_checking_signoff_on=None)

    assert raised.value.message_dict["fdp_on"] == [
        "Final data production (FDP) must be after initial data production (IDP)."
    ]
    assert PracticeMigration.objects.count() == 0


def test_starting_a_second_migration_for_a_practice_with_one_in_progress_is_refused(
    migration, practice, source_supplier, target_supplier
):
    before = row_counts()

    with pytest.raises(ValidationError) as raised:
        make_migration(practice=practice, source_supplier=target_supplier, target_supplier=source_supplier)

    assert raised.value.message_dict == {"practice": ["This practice already has a migration in progress."]}
    assert row_counts() == before


def test_a_practice_can_start_again_once_its_migration_is_finished(migration, practice):
    PracticeMigration.objects.filter(pk=migration.pk).update(
        status=PracticeMigration.Status.CANCELLED, finished_at=DONE_AT, status_reason="Practice merged"
    )

    second = make_migration(practice=practice)

    assert practice.migrations.filter(status=PracticeMigration.Status.ACTIVE).get() == second


def test_starting_before_the_guide_is_loaded_is_refused(no_published_guide):
    with pytest.raises(ValidationError) as raised:
        make_migration()

    assert raised.value.messages == ["No published checklist template: run `manage.py load_guide` first."]
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_starting_from_a_draft_version_is_refused(guide_version):
    draft = loader.create_draft(loader.export(guide_version))

    with pytest.raises(ValidationError) as raised:
        make_migration(template_version=draft)

    assert raised.value.messages == ["A migration can only be made from a published template version."]
    assert PracticeMigration.objects.count() == 0


# --- replanning ------------------------------------------------------------------------------------


def test_moving_go_live_moves_every_open_item_anchored_on_go_live_with_it(migration, practice_manager):
    blocked = migration.items.filter(anchor="go_live", status=ItemStatus.TO_DO).first()
    blocked.status, blocked.reason = ItemStatus.BLOCKED, "Waiting for the new supplier."
    blocked.save()
    open_items = dict(migration.items.filter(anchor="go_live").open().values_list("pk", "due_on"))
    assert len(open_items) > 1

    migration.change_milestones(
        {"go_live": date(2025, 6, 16)}, by=practice_manager, reason="The new supplier moved go-live."
    )

    moved = ChecklistItem.objects.filter(pk__in=open_items)
    assert dict(moved.values_list("pk", "due_on")) == {
        pk: scheduling.due_date({"go_live": date(2025, 6, 16)}, "go_live", offset)
        for pk, offset in moved.values_list("pk", "offset_days")
    }
    assert set(moved.values_list("revision", flat=True)) == {1}
    migration.refresh_from_db()
    assert migration.go_live_on == date(2025, 6, 16)


def test_moving_go_live_leaves_done_not_applicable_and_hand_dated_items_alone(migration, practice_manager):
    go_live_items = migration.items.filter(anchor="go_live", status=ItemStatus.TO_DO).order_by("position")
    done, not_applicable, hand_dated = go_live_items[:3]
    done.status, done.completed_by, done.completed_at = ItemStatus.DONE, practice_manager, DONE_AT
    done.save()
    not_applicable.status, not_applicable.reason = ItemStatus.NOT_APPLICABLE, "We have no SMS provider."
    not_applicable.save()
    hand_dated.due_on = hand_dated.manual_due_on = date(2025, 6, 2)
    hand_dated.save()
    kept = [done, not_applicable, hand_dated]

    migration.change_milestones({"go_live": date(2025, 6, 16)}, by=practice_manager, reason="Moved.")

    after = ChecklistItem.objects.filter(pk__in=[item.pk for item in kept]).order_by("position")
    assert [(item.due_on, item.revision) for item in after] == [(item.due_on, 0) for item in kept]
    assert not Event.objects.filter(kind=Event.Kind.REPLAN, item__in=kept).exists()


def test_moving_go_live_leaves_items_anchored_on_other_milestones_alone(migration, practice_manager):
    elsewhere = migration.items.exclude(anchor="go_live")
    before = dict(elsewhere.values_list("pk", "due_on"))

    migration.change_milestones({"go_live": date(2025, 6, 16)}, by=practice_manager, reason="Moved.")

    assert dict(elsewhere.values_list("pk", "due_on")) == before


@time_machine.travel(REPLANNED_AT, tick=False)
def test_moving_go_live_records_the_milestone_change_and_each_move(migration, practice_manager):
    open_items = migration.items.filter(anchor="go_live").open().values_list("pk", "due_on", "offset_days")
    # Moved a week, less those whose old or new date was put on a working day the same either side.
    moving = [
        (pk, due, scheduling.due_date({"go_live": date(2025, 6, 16)}, "go_live", offset))
        for pk, due, offset in open_items
    ]

    migration.change_milestones(
        {"go_live": date(2025, 6, 16)}, by=practice_manager, reason="The new supplier moved go-live."
    )

    milestone = Event.objects.get(kind=Event.Kind.MILESTONE)
    assert (milestone.migration, milestone.item, milestone.actor, milestone.at) == (
        migration,
        None,
        practice_manager,
        REPLANNED_AT,
    )
    assert (milestone.field, milestone.old_value, milestone.new_value, milestone.reason) == (
        "go_live_on",
        "2025-06-09",
        "2025-06-16",
        "The new supplier moved go-live.",
    )
    replans = Event.objects.filter(kind=Event.Kind.REPLAN)
    assert sorted(replans.values_list("item_id", "field", "old_value", "new_value", "reason", "actor", "at")) == sorted(
        (
            pk,
            "due_on",
            due.isoformat(),
            new_due.isoformat(),
            "The new supplier moved go-live.",
            practice_manager.pk,
            REPLANNED_AT,
        )
        for pk, due, new_due in moving
        if new_due != due
    )


def test_the_preview_lists_exactly_the_moves_the_change_then_makes(migration, practice_manager):
    changes = {"fdp": date(2025, 6, 13), "go_live": date(2025, 6, 16)}

    preview = migration.preview_milestone_change(changes)
    moves = migration.change_milestones(changes, by=practice_manager, reason="Cutover put back a week.")

    assert preview
    assert moves == preview
    assert {move.item_id for move in preview} == set(
        migration.items.filter(anchor__in=["fdp", "go_live"]).open().values_list("pk", flat=True)
    )
    saved = dict(ChecklistItem.objects.filter(pk__in=[move.item_id for move in moves]).values_list("pk", "due_on"))
    assert saved == {move.item_id: move.new_due_on for move in moves}


def test_the_preview_saves_nothing(migration):
    before_dates, before_counts = due_dates(migration), row_counts()

    preview = migration.preview_milestone_change({"go_live": date(2025, 6, 16)})

    assert preview
    assert due_dates(migration) == before_dates
    assert row_counts() == before_counts
    assert PracticeMigration.objects.get(pk=migration.pk).go_live_on == MILESTONE_DATES["go_live_on"]


def test_moving_go_live_before_fdp_is_refused_and_changes_nothing(migration, practice_manager):
    before_dates, before_counts = due_dates(migration), row_counts()

    with pytest.raises(ValidationError) as raised:
        migration.change_milestones({"go_live": date(2025, 6, 5)}, by=practice_manager, reason="Too early.")

    assert raised.value.message_dict == {"go_live_on": ["Go-live cannot be before final data production (FDP)."]}
    assert PracticeMigration.objects.get(pk=migration.pk).go_live_on == MILESTONE_DATES["go_live_on"]
    assert migration.go_live_on == MILESTONE_DATES["go_live_on"]
    assert due_dates(migration) == before_dates
    assert row_counts() == before_counts


def test_setting_a_milestone_to_its_current_date_changes_and_records_nothing(migration, practice_manager):
    before_counts = row_counts()

    moves = migration.change_milestones({"go_live": MILESTONE_DATES["go_live_on"]}, by=practice_manager)

    assert moves == []
    assert row_counts() == before_counts


def test_clearing_a_milestone_clears_the_due_dates_of_its_open_items(migration, practice_manager):
    migration.change_milestones({"cutover_planning": None}, by=practice_manager, reason="Not agreed yet.")

    items = migration.items.filter(anchor="cutover_planning").open()
    assert items.exists()
    assert set(items.values_list("due_on", flat=True)) == {None}
    event = Event.objects.get(kind=Event.Kind.MILESTONE)
    assert (event.old_value, event.new_value) == (MILESTONE_DATES["cutover_planning_on"].isoformat(), "")


def test_changing_an_unknown_milestone_is_a_programming_error(migration, practice_manager):
    with pytest.raises(ValueError, match="launch_party"):
        migration.change_milestones({"launch_party": date(2025, 6, 16)}, by=practice_manager)


# --- the event log is append-only ------------------------------------------------------------------


def test_an_event_cannot_be_saved_again(migration):
    event = migration.events.get()
    event.new_value = "rewritten"

    with pytest.raises(TypeError, match="append-only"):
        event.save()

    assert Event.objects.get(pk=event.pk).new_value != "rewritten"


def test_an_event_cannot_be_deleted(migration):
    event = migration.events.get()

    with pytest.raises(TypeError, match="append-only"):
        event.delete()

    assert Event.objects.filter(pk=event.pk).exists()


def test_events_cannot_be_updated_in_bulk(migration):
    with pytest.raises(TypeError, match="append-only"):
        Event.objects.update(reason="rewritten")
    with pytest.raises(TypeError, match="append-only"):
        Event.objects.filter(migration=migration).update(reason="rewritten")

    assert not Event.objects.filter(reason="rewritten").exists()


def test_events_cannot_be_deleted_in_bulk(migration):
    with pytest.raises(TypeError, match="append-only"):
        Event.objects.delete()
    with pytest.raises(TypeError, match="append-only"):
        Event.objects.filter(migration=migration).delete()

    assert Event.objects.count() == 1


def test_a_new_event_object_with_the_id_of_an_existing_event_cannot_overwrite_it(migration):
    event = migration.events.get()

    # Any refusal will do (TypeError like the other writes, or the primary key's IntegrityError),
    # as long as the logged row survives.
    with contextlib.suppress(TypeError, IntegrityError), transaction.atomic():
        Event(pk=event.pk, migration=migration, kind=Event.Kind.NOTE, new_value="rewritten").save()

    assert Event.objects.get(pk=event.pk).kind == Event.Kind.CREATED


# --- who sees what ---------------------------------------------------------------------------------


@pytest.fixture
def neighbours(migration, practice, icb, delivery_partner) -> dict[str, PracticeMigration]:
    """Migrations around the demo one: same delivery partner in another ICB, same ICB with another
    delivery partner, and one with nothing in common."""
    return {
        "same_delivery_partner": make_migration(practice=PracticeFactory(delivery_partner=delivery_partner)),
        "same_icb": make_migration(practice=PracticeFactory(icb=icb)),
        "unrelated": make_migration(practice=PracticeFactory()),
    }


@pytest.mark.parametrize("persona", ["practice_manager", "practice_staff", "clinical_lead"])
def test_practice_members_see_only_their_practices_migration(request, neighbours, migration, persona):
    user = request.getfixturevalue(persona)

    assert list(access.visible_migrations(user)) == [migration]


def test_delivery_partner_users_see_the_migrations_of_the_practices_they_support(
    neighbours, migration, delivery_partner_user
):
    visible = access.visible_migrations(delivery_partner_user)

    assert set(visible) == {migration, neighbours["same_delivery_partner"]}


def test_icb_users_see_the_migrations_in_their_icb(neighbours, migration, icb_user):
    visible = access.visible_migrations(icb_user)

    assert set(visible) == {migration, neighbours["same_icb"]}


def test_outsiders_see_no_migrations(neighbours, outsider):
    assert not access.visible_migrations(outsider).exists()


@pytest.mark.parametrize("persona", ["admin_user", "support_admin", "national_viewer", "view_only_staff"])
def test_people_allowed_to_read_every_migration_see_every_migration(request, neighbours, migration, persona):
    user = request.getfixturevalue(persona)

    assert set(access.visible_migrations(user)) == {migration, *neighbours.values()}


def test_being_staff_alone_shows_no_migration(neighbours, migration, template_editor):
    assert not access.visible_migrations(template_editor).exists()


def test_a_permission_taken_away_counts_at_once(neighbours, national_viewer):
    national_viewer.groups.clear()
    national_viewer = User.objects.get(pk=national_viewer.pk)  # a new request loads the user again

    assert not access.visible_migrations(national_viewer).exists()


def test_anonymous_visitors_see_no_migrations(neighbours):
    assert not access.visible_migrations(AnonymousUser()).exists()


def test_deactivated_members_see_no_migrations(migration, practice_manager):
    practice_manager.is_active = False
    practice_manager.save()

    assert not access.visible_migrations(practice_manager).exists()


def test_a_user_reached_through_several_memberships_sees_each_migration_once(
    migration, practice, icb, delivery_partner
):
    user = UserFactory()
    MembershipFactory(user=user, role=Role.PRACTICE_MANAGER, practice=practice)
    MembershipFactory(user=user, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=delivery_partner)
    MembershipFactory(user=user, role=Role.ICB_LEAD, practice=None, icb=icb)

    assert list(access.visible_migrations(user)) == [migration]


def test_a_member_of_another_organisation_sees_nothing_of_this_one(migration):
    user = UserFactory()
    MembershipFactory(user=user, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=DeliveryPartnerFactory())
    MembershipFactory(user=user, role=Role.ICB_LEAD, practice=None, icb=ICBFactory())
    MembershipFactory(user=user, role=Role.PRACTICE_MANAGER)

    assert not access.visible_migrations(user).exists()
