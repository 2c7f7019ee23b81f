"""Reviewed upgrades: a migration's checklist moved to a later version of its template keeps the
work done on every item that stays, archives what was worked on and dropped, and logs the upgrade.

The later version is made here by hand, from an edited export of the published guide, until the
template editor can make one."""

import copy
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from migrations_app import scheduling
from migrations_app.checklist_templates import guide_file, publishing, upgrades
from migrations_app.models import (
    ChecklistItem,
    ChecklistProgress,
    Event,
    ItemStatus,
    MigrationPhase,
    PracticeMigration,
    TemplateVersion,
)
from tests.factories import MILESTONE_DATES, make_migration
from tests.pages import element, text

pytestmark = pytest.mark.django_db

RENAMED = "check-dates-against-availability"  # early phases, kick-off + 0
RESCHEDULED = "secure-dates-and-peoples-time"  # kick-off + 3, becomes kick-off + 4 (before its gate, + 7)
DATED_BY_HAND = "agree-provisional-go-live-date"  # order accepted - 7, becomes - 14, but dated by hand
WORKED_ON_REMOVED = "prepared-for-idp"  # ticked, then dropped: archived (no gate waits for it)
UNTOUCHED_REMOVED = "target-supplier-test-criteria"  # dropped, never worked on: deleted (no gate waits for it)
KEPT = "test-patient-records-list"  # ticked and noted; unchanged in the new version
BLOCKED = "check-extract-request-and-dates"  # blocked with a reason; unchanged
ADDED = "smartcard-readers-tested"  # new, cutover and go-live, FDP - 10
ADDED_DISPENSING = "dispensary-stock-counted"  # new, only for dispensing practices

NEW_TITLE = "Check the dates against staff availability and leave"
NOTE = "List sent to the new supplier on Monday"
BLOCKED_REASON = "Waiting for the current supplier"
HAND_DATE = date(2025, 2, 1)


def items_by_key(data: dict) -> dict[str, dict]:
    return {item["key"]: item for phase in data["phases"] for item in phase["items"]}


def phase_of(data: dict, key: str) -> dict:
    return next(phase for phase in data["phases"] if phase["key"] == key)


def publish(data: dict, note: str = "Next edition") -> TemplateVersion:
    version = guide_file.create_draft(data)
    publishing.publish(version, note)
    return version


def next_edition(version: TemplateVersion) -> dict:
    """The scenario's changes: one item renamed, two rescheduled, two removed, two added."""
    data = copy.deepcopy(guide_file.export(version))
    items = items_by_key(data)
    items[RENAMED]["title"] = NEW_TITLE
    items[RESCHEDULED]["offset_days"] = 4
    items[DATED_BY_HAND]["offset_days"] = -14
    for phase in data["phases"]:
        phase["items"] = [item for item in phase["items"] if item["key"] not in (WORKED_ON_REMOVED, UNTOUCHED_REMOVED)]
    cutover = phase_of(data, "cutover-and-go-live")
    cutover["items"].insert(
        0,
        {
            "key": ADDED,
            "title": "Smartcard readers tested on every desk",
            "role": "delivery_partner",
            "anchor": "fdp",
            "offset_days": -10,
            "kind": "task",
        },
    )
    cutover["items"].append(
        {
            "key": ADDED_DISPENSING,
            "title": "Dispensary stock counted",
            "role": "practice_manager",
            "anchor": "fdp",
            "offset_days": 0,
            "kind": "task",
            "condition": "dispensing_practice",
        }
    )
    return data


@pytest.fixture
def worked_on(migration, practice_manager) -> PracticeMigration:
    """The demo migration with work done: ticks, a note, a blocked item, a date set by hand."""
    item = migration.items.get
    item(key=WORKED_ON_REMOVED).complete(practice_manager)
    kept = item(key=KEPT)
    kept.complete(practice_manager)
    kept.set_note(practice_manager, NOTE)
    item(key=BLOCKED).mark_blocked(practice_manager, BLOCKED_REASON)
    item(key=DATED_BY_HAND).set_due_date(practice_manager, HAND_DATE, reason="Agreed with the ICB")
    return migration


@pytest.fixture
def version_2(guide_version) -> TemplateVersion:
    return publish(next_edition(guide_version))


def state_of(migration: PracticeMigration) -> dict:
    """Everything an upgrade must keep about the items that stay, by key."""
    return {
        item.key: (item.pk, item.status, item.completed_by_id, item.completed_at, item.note, item.reason)
        for item in ChecklistItem.all_objects.filter(migration=migration)
    }


# --- the plan ------------------------------------------------------------------------------------------


def test_plan_lists_items_added_removed_changed_and_the_due_dates_that_move(worked_on, version_2):
    plan = upgrades.plan(worked_on, version_2)

    added = {entry.template.key: entry for entry in plan.added}
    assert set(added) == {ADDED, ADDED_DISPENSING}
    assert added[ADDED].due_on == MILESTONE_DATES["fdp_on"] - timedelta(days=10)
    assert added[ADDED].applies
    assert not added[ADDED_DISPENSING].applies
    removed = {entry.item.key: entry.worked_on for entry in plan.removed}
    assert removed == {WORKED_ON_REMOVED: True, UNTOUCHED_REMOVED: False}
    changed = {entry.item.key: entry.changes for entry in plan.changed}
    assert set(changed) == {RENAMED, RESCHEDULED, DATED_BY_HAND}
    assert [(change.field, change.new) for change in changed[RENAMED]] == [("title", NEW_TITLE)]
    assert [(change.field, change.old, change.new) for change in changed[RESCHEDULED]] == [
        ("due_rule", "3 days after kick-off", "4 days after kick-off")
    ]
    # The item dated by hand keeps its date: only the rescheduled open item moves.
    kick_off = MILESTONE_DATES["kick_off_on"]
    assert [(move.title, move.old_due_on, move.new_due_on) for move in plan.moves] == [
        (worked_on.items.get(key=RESCHEDULED).title, kick_off + timedelta(days=3), kick_off + timedelta(days=4))
    ]
    assert plan.summary() == (
        f"From {worked_on.template_version} to {version_2}: 2 items added, 3 items changed, 1 item archived, "
        "1 item removed, 1 due date moved."
    )


def test_plan_saves_nothing_and_reads_few_queries(worked_on, version_2, django_assert_max_num_queries):
    before = state_of(worked_on), list(Event.objects.values_list("pk", flat=True))

    with django_assert_max_num_queries(7):
        upgrades.plan(worked_on, version_2)

    assert (state_of(worked_on), list(Event.objects.values_list("pk", flat=True))) == before


def test_a_reordered_item_is_listed_but_items_added_around_it_do_not_count_as_changes(migration, guide_version):
    data = copy.deepcopy(guide_file.export(guide_version))
    early = phase_of(data, "early-phases")["items"]
    early[0], early[1] = early[1], early[0]  # two items swap places
    publish(data)
    target = TemplateVersion.objects.published().order_by("-number").first()

    plan = upgrades.plan(migration, target)

    assert {entry.item.key: [change.field for change in entry.changes] for entry in plan.changed} == {
        early[0]["key"]: ["order"],
        early[1]["key"]: ["order"],
    }


# --- applying it ---------------------------------------------------------------------------------------


def test_an_upgrade_keeps_ticks_notes_reasons_and_history_of_every_item_that_stays(worked_on, version_2, admin_user):
    before = state_of(worked_on)
    events_before = {
        key: list(Event.objects.filter(item_id=before[key][0]).values_list("pk", flat=True))
        for key in (KEPT, BLOCKED, DATED_BY_HAND)
    }

    [outcome] = upgrades.apply([worked_on], version_2, admin_user)

    assert not outcome.skipped
    after = state_of(worked_on)
    for key in (KEPT, BLOCKED, RENAMED, RESCHEDULED, DATED_BY_HAND):
        assert after[key] == before[key], key
    kept = ChecklistItem.objects.get(key=KEPT, migration=worked_on)
    assert kept.status == ItemStatus.DONE and kept.note == NOTE and kept.completed_by is not None
    assert ChecklistItem.objects.get(key=BLOCKED, migration=worked_on).reason == BLOCKED_REASON
    for key, event_ids in events_before.items():
        assert event_ids
        assert set(event_ids) <= set(Event.objects.filter(item_id=before[key][0]).values_list("pk", flat=True))
    renamed = ChecklistItem.objects.get(key=RENAMED, migration=worked_on)
    assert renamed.title == NEW_TITLE
    assert renamed.revision == 1  # a form loaded before the upgrade is stale
    hand_dated = ChecklistItem.objects.get(key=DATED_BY_HAND, migration=worked_on)
    assert (hand_dated.due_on, hand_dated.manual_due_on, hand_dated.offset_days) == (HAND_DATE, HAND_DATE, -14)
    rescheduled = ChecklistItem.objects.get(key=RESCHEDULED, migration=worked_on)
    assert rescheduled.due_on == MILESTONE_DATES["kick_off_on"] + timedelta(days=4)


def test_a_removed_item_that_was_worked_on_is_archived_with_its_events_and_an_untouched_one_disappears(
    worked_on, version_2, admin_user
):
    archived = worked_on.items.get(key=WORKED_ON_REMOVED)
    archived_events = list(archived.events.values_list("pk", flat=True))
    untouched_pk = worked_on.items.get(key=UNTOUCHED_REMOVED).pk

    upgrades.apply([worked_on], version_2, admin_user)

    archived = ChecklistItem.all_objects.get(pk=archived.pk)
    assert archived.archived_at is not None
    assert archived.status == ItemStatus.DONE
    assert set(archived_events) < set(archived.events.values_list("pk", flat=True))
    assert not ChecklistItem.objects.filter(pk=archived.pk).exists()
    assert not worked_on.items.filter(key=WORKED_ON_REMOVED).exists()
    assert not ChecklistItem.all_objects.filter(pk=untouched_pk).exists()


def test_items_added_get_their_due_date_and_the_status_their_condition_gives(worked_on, version_2, admin_user):
    upgrades.apply([worked_on], version_2, admin_user)

    added = worked_on.items.get(key=ADDED)
    assert (added.status, added.due_on) == (ItemStatus.TO_DO, MILESTONE_DATES["fdp_on"] - timedelta(days=10))
    assert added.phase.key == "cutover-and-go-live"
    dispensing = worked_on.items.get(key=ADDED_DISPENSING)
    assert dispensing.status == ItemStatus.NOT_APPLICABLE
    assert dispensing.reason == dispensing.condition_reason()


def test_the_upgrade_is_recorded_in_the_event_log(worked_on, version_2, admin_user):
    old_version = str(worked_on.template_version)

    upgrades.apply([worked_on], version_2, admin_user)

    worked_on.refresh_from_db()
    assert worked_on.template_version == version_2
    event = Event.objects.get(migration=worked_on, item=None, kind=Event.Kind.UPGRADE)
    assert (event.actor, event.old_value, event.new_value) == (admin_user, old_version, str(version_2))
    assert "2 items added, 3 items changed, 1 item archived, 1 item removed, 1 due date moved" in event.reason
    assert "Removed (never worked on)" in event.reason
    renamed = worked_on.items.get(key=RENAMED)
    assert renamed.events.filter(kind=Event.Kind.UPGRADE, field="title", new_value=NEW_TITLE).exists()
    moved = worked_on.items.get(key=RESCHEDULED).events.get(kind=Event.Kind.UPGRADE, field="due_on")
    assert moved.new_value == (MILESTONE_DATES["kick_off_on"] + timedelta(days=4)).isoformat()
    added = worked_on.items.get(key=ADDED).events.get(kind=Event.Kind.UPGRADE)
    assert (added.actor, added.field, added.new_value) == (admin_user, "archived_at", f"Added ({version_2})")


def test_progress_counts_are_right_after_an_upgrade(worked_on, version_2, admin_user):
    upgrades.apply([worked_on], version_2, admin_user)

    progress = ChecklistProgress.objects.get(migration=worked_on)
    live = list(worked_on.items.all())
    assert progress.items_done == sum(item.status == ItemStatus.DONE for item in live)
    assert progress.items_applicable == sum(item.status != ItemStatus.NOT_APPLICABLE for item in live)
    assert progress.items_blocked == 1
    # The archived item was done: it no longer counts.
    assert progress.items_done == 1


def test_archived_items_are_left_out_of_the_dashboard_figures_and_reminders(migration, guide_version, admin_user):
    data = copy.deepcopy(guide_file.export(guide_version))
    for phase in data["phases"]:
        phase["items"] = [item for item in phase["items"] if item["key"] != BLOCKED]
    target = publish(data)
    blocked = migration.items.get(key=BLOCKED)
    blocked.mark_blocked(admin_user, BLOCKED_REASON)
    on = blocked.due_on + timedelta(days=1)

    def overdue_here() -> int:
        ChecklistProgress.count_day(on, [migration.pk])
        return ChecklistProgress.objects.get(migration=migration).overdue

    overdue_before = overdue_here()

    upgrades.apply([migration], target, admin_user)

    assert ChecklistItem.all_objects.get(pk=blocked.pk).archived_at is not None
    assert overdue_here() == overdue_before - 1
    # Reminders, the calendar feed and gates all start from the open items.
    assert not ChecklistItem.objects.open().filter(pk=blocked.pk).exists()
    assert ChecklistProgress.objects.get(migration=migration).items_blocked == 0


def test_an_archived_item_whose_key_comes_back_is_restored_with_its_history(
    worked_on, guide_version, version_2, admin_user
):
    upgrades.apply([worked_on], version_2, admin_user)
    archived = ChecklistItem.all_objects.get(migration=worked_on, key=WORKED_ON_REMOVED)
    version_3 = publish(copy.deepcopy(guide_file.export(guide_version)), "Back to the first edition")

    plan = upgrades.plan(worked_on, version_3)
    upgrades.apply([worked_on], version_3, admin_user)

    assert [entry.restored for entry in plan.added if entry.template.key == WORKED_ON_REMOVED] == [archived]
    restored = worked_on.items.get(key=WORKED_ON_REMOVED)
    assert restored.pk == archived.pk
    assert restored.status == ItemStatus.DONE
    assert restored.archived_at is None
    assert ChecklistProgress.objects.get(migration=worked_on).items_done == 2


def test_phases_follow_the_target_added_renamed_and_dropped(migration, guide_version, admin_user):
    data = copy.deepcopy(guide_file.export(guide_version))
    data["phases"][0]["title"] = "Before the migration"
    post = phase_of(data, "post-go-live")
    data["phases"].remove(post)
    data["phases"].append({"key": "after-care", "title": "After care", "items": post["items"][1:]})
    for item in post["items"][1:]:  # a gate cannot wait for the item dropped
        if item.get("depends_on"):
            item["depends_on"] = [key for key in item["depends_on"] if key != post["items"][0]["key"]]
    first_post = migration.items.get(key=post["items"][0]["key"])
    first_post.set_note(admin_user, "Checked")
    target = publish(data)

    upgrades.apply([migration], target, admin_user)

    phases = list(migration.phases.order_by("position").values_list("key", "title"))
    assert phases[0] == ("early-phases", "Before the migration")
    assert phases[-1] == ("after-care", "After care")
    assert "post-go-live" not in dict(phases)
    # The dropped phase still holds the archived item, so it is archived with it rather than deleted.
    assert MigrationPhase.all_objects.get(migration=migration, key="post-go-live").archived_at is not None
    assert ChecklistItem.all_objects.get(pk=first_post.pk).archived_at is not None
    assert migration.items.get(key=post["items"][1]["key"]).phase.key == "after-care"


def test_the_admins_review_of_many_lists_the_phases_that_change_as_a_migrations_own_review_does(
    client, migration, guide_version, admin_user
):
    data = copy.deepcopy(guide_file.export(guide_version))
    old_title = data["phases"][0]["title"]
    data["phases"][0]["title"] = "Before the migration"
    target = publish(data)
    client.force_login(admin_user)

    review = client.post(
        reverse("admin:migrations_app_practicemigration_changelist"),
        {"action": "review_checklist_upgrade", "_selected_action": [migration.pk]},
    ).content.decode()
    own = client.get(reverse("migrations:upgrade_review", kwargs={"pk": migration.pk})).content.decode()

    assert f"Renamed: {old_title} to Before the migration" in text(own)
    assert f"Phase renamed {old_title} Renamed to Before the migration" in text(review)
    assert "1 phase changed." in text(review)
    assert migration.template_version == guide_version != target


def test_the_reviews_say_what_a_gate_no_longer_waits_for_and_the_event_log_keeps_both_lists(
    client, migration, guide_version, admin_user
):
    data = copy.deepcopy(guide_file.export(guide_version))
    gate = next(
        item
        for phase in data["phases"]
        for item in phase["items"]
        if item.get("kind") == "gate" and len(item.get("depends_on") or []) > 2
    )
    dropped_key = gate["depends_on"][1]
    dropped = migration.items.get(key=dropped_key).title
    gate["depends_on"] = [key for key in gate["depends_on"] if key != dropped_key]
    target = publish(data)
    client.force_login(admin_user)

    own = text(client.get(reverse("migrations:upgrade_review", kwargs={"pk": migration.pk})).content.decode())
    many = text(
        client.post(
            reverse("admin:migrations_app_practicemigration_changelist"),
            {"action": "review_checklist_upgrade", "_selected_action": [migration.pk]},
        ).content.decode()
    )
    upgrades.apply([migration], target, admin_user)

    assert f"No longer waits for {dropped}" in own
    assert f"No longer waits for {dropped}" in many
    event = Event.objects.get(item__key=gate["key"], item__migration=migration, field="depends_on")
    assert dropped in event.old_value and dropped not in event.new_value


def test_applying_the_same_upgrade_twice_changes_nothing_the_second_time(worked_on, version_2, admin_user):
    upgrades.apply([worked_on], version_2, admin_user)
    before = state_of(worked_on), list(Event.objects.values_list("pk", flat=True))

    [outcome] = upgrades.apply([worked_on], version_2, admin_user)

    assert outcome.skipped == f"{worked_on.practice} is already on {version_2}."
    assert (state_of(worked_on), list(Event.objects.values_list("pk", flat=True))) == before


def test_a_draft_or_an_older_version_is_refused(worked_on, guide_version, version_2, admin_user):
    draft = guide_file.create_draft(guide_file.export(guide_version))
    upgrades.apply([worked_on], version_2, admin_user)
    before = state_of(worked_on)

    [as_draft] = upgrades.apply([worked_on], draft, admin_user)
    [as_older] = upgrades.apply([worked_on], guide_version, admin_user)

    assert "not published" in as_draft.skipped
    assert "later than" in as_older.skipped
    assert state_of(worked_on) == before


# --- the review page -----------------------------------------------------------------------------------


def upgrade_url(migration: PracticeMigration) -> str:
    return reverse("migrations:upgrade_review", kwargs={"pk": migration.pk})


def detail_url(migration: PracticeMigration) -> str:
    return reverse("migrations:migration_detail", kwargs={"pk": migration.pk})


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("practice_manager", 403),
        ("practice_staff", 403),
        ("clinical_lead", 403),
        ("icb_user", 403),
        ("outsider", 404),
        ("delivery_partner_user", 200),
        ("admin_user", 200),
    ],
)
def test_the_review_page_is_for_staff_and_the_practices_delivery_partner(
    persona, status, request, client, worked_on, version_2
):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(upgrade_url(worked_on))

    assert response.status_code == status
    if status == 200:
        page = response.content.decode()
        assert NEW_TITLE in page
        assert "Smartcard readers tested on every desk" in page
        assert "Archived: worked on, so kept with its history" in page


@pytest.mark.parametrize("persona", ["practice_manager", "practice_staff", "outsider"])
def test_a_post_from_someone_who_may_not_upgrade_changes_nothing(persona, request, client, worked_on, version_2):
    client.force_login(request.getfixturevalue(persona))
    before = state_of(worked_on)

    response = client.post(upgrade_url(worked_on), {"version": version_2.pk})

    assert response.status_code in (403, 404)
    worked_on.refresh_from_db()
    assert worked_on.template_version_id != version_2.pk
    assert state_of(worked_on) == before


def test_the_delivery_partner_applies_the_upgrade_and_sees_a_success_banner(
    client, worked_on, version_2, delivery_partner_user
):
    client.force_login(delivery_partner_user)

    response = client.post(upgrade_url(worked_on), {"version": version_2.pk}, follow=True)

    assert response.redirect_chain == [(detail_url(worked_on), 302)]
    assert "Checklist upgraded." in response.content.decode()
    worked_on.refresh_from_db()
    assert worked_on.template_version == version_2
    assert Event.objects.get(migration=worked_on, item=None, kind=Event.Kind.UPGRADE).actor == delivery_partner_user


def test_an_unknown_version_is_refused_with_a_message_and_changes_nothing(client, worked_on, version_2, admin_user):
    client.force_login(admin_user)
    before = state_of(worked_on)

    response = client.post(upgrade_url(worked_on), {"version": 999999})

    assert response.status_code == 400
    assert "That checklist version does not exist or is not published" in response.content.decode()
    worked_on.refresh_from_db()
    assert worked_on.template_version_id != version_2.pk
    assert state_of(worked_on) == before


def test_a_migration_already_current_has_nothing_to_review_and_a_post_changes_nothing(
    client, worked_on, guide_version, admin_user
):
    client.force_login(admin_user)
    before = state_of(worked_on), list(Event.objects.values_list("pk", flat=True))

    page = client.get(upgrade_url(worked_on))
    response = client.post(upgrade_url(worked_on), {"version": guide_version.pk})

    assert "There is nothing to upgrade" in page.content.decode()
    assert response.status_code == 400
    assert f"already on {guide_version}. Nothing was changed." in response.content.decode()
    assert (state_of(worked_on), list(Event.objects.values_list("pk", flat=True))) == before


@pytest.mark.parametrize(
    ("persona", "shown"),
    [("delivery_partner_user", True), ("admin_user", True), ("practice_manager", False), ("icb_user", False)],
)
def test_the_migration_page_tells_those_who_may_upgrade_that_a_newer_version_exists(
    persona, shown, request, client, worked_on, version_2
):
    client.force_login(request.getfixturevalue(persona))

    page = client.get(detail_url(worked_on)).content.decode()

    assert ("A newer checklist version is available" in page) is shown
    assert (upgrade_url(worked_on) in page) is shown


def test_the_migration_page_lists_archived_items_apart_with_their_history(
    client, worked_on, version_2, admin_user, practice_manager
):
    upgrades.apply([worked_on], version_2, admin_user)
    archived = ChecklistItem.all_objects.get(migration=worked_on, key=WORKED_ON_REMOVED)
    history_url = reverse("migrations:archived_item_history", kwargs={"pk": worked_on.pk, "item_pk": archived.pk})
    client.force_login(practice_manager)

    page = client.get(detail_url(worked_on)).content.decode()
    history = client.get(history_url)

    assert "Archived items (1)" in page
    assert history_url in page
    assert page.count(f'id="item-{archived.pk}"') == 0
    assert "A newer checklist version is available" not in page
    assert history.status_code == 200
    assert "Checklist upgraded" in history.content.decode()
    live = worked_on.items.get(key=KEPT)
    live_url = reverse("migrations:archived_item_history", kwargs={"pk": worked_on.pk, "item_pk": live.pk})
    assert client.get(live_url).status_code == 404


# --- the admin action ----------------------------------------------------------------------------------


def test_the_admin_action_reviews_then_upgrades_several_migrations_and_skips_current_ones(
    client, worked_on, guide_version, version_2, admin_user
):
    second = make_migration(template_version=guide_version)
    current = make_migration(template_version=version_2)
    changelist = reverse("admin:migrations_app_practicemigration_changelist")
    selected = [worked_on.pk, second.pk, current.pk]
    client.force_login(admin_user)

    review = client.post(changelist, {"action": "review_checklist_upgrade", "_selected_action": selected})

    assert review.status_code == 200
    page = review.content.decode()
    assert "To upgrade (2)" in page
    assert f"{current.practice} is already on the latest version" in page
    assert PracticeMigration.objects.filter(template_version=version_2).count() == 1

    applied = client.post(
        changelist,
        {
            "action": "review_checklist_upgrade",
            "apply": "yes",
            "_selected_action": [worked_on.pk, second.pk],
            f"version-{worked_on.pk}": version_2.pk,
            f"version-{second.pk}": version_2.pk,
        },
        follow=True,
    )

    assert applied.status_code == 200
    assert "2 checklists upgraded." in applied.content.decode()
    assert set(PracticeMigration.objects.filter(template_version=version_2).values_list("pk", flat=True)) == {
        worked_on.pk,
        second.pk,
        current.pk,
    }
    assert Event.objects.filter(kind=Event.Kind.UPGRADE, item=None).count() == 2


def test_the_admin_action_with_only_current_migrations_says_so_and_changes_nothing(
    client, migration, guide_version, admin_user
):
    changelist = reverse("admin:migrations_app_practicemigration_changelist")
    client.force_login(admin_user)

    response = client.post(
        changelist, {"action": "review_checklist_upgrade", "_selected_action": [migration.pk]}, follow=True
    )

    assert "is already on the latest version" in response.content.decode()
    assert not Event.objects.filter(kind=Event.Kind.UPGRADE).exists()


def test_the_admin_action_refuses_an_unknown_version_and_changes_nothing(client, worked_on, version_2, admin_user):
    changelist = reverse("admin:migrations_app_practicemigration_changelist")
    client.force_login(admin_user)
    before = state_of(worked_on)

    response = client.post(
        changelist,
        {
            "action": "review_checklist_upgrade",
            "apply": "yes",
            "_selected_action": [worked_on.pk],
            f"version-{worked_on.pk}": "999999",
        },
        follow=True,
    )

    assert "does not exist or is not published" in response.content.decode()
    worked_on.refresh_from_db()
    assert worked_on.template_version_id != version_2.pk
    assert state_of(worked_on) == before


@pytest.mark.parametrize(("today", "overdue"), [(date(2025, 4, 10), False), (date(2025, 6, 1), True)])
def test_the_review_warns_of_items_added_already_past_their_due_date(
    client, worked_on, version_2, delivery_partner_user, time_machine, today, overdue
):
    # The item added is due 10 days before FDP (27 May 2025); the dispensing one does not apply.
    time_machine.move_to(datetime.combine(today, time(9), tzinfo=ZoneInfo("Europe/London")), tick=False)
    client.force_login(delivery_partner_user)

    page = client.get(upgrade_url(worked_on)).content.decode()

    assert ('id="added-overdue"' in page) == overdue
    if overdue:
        warning = text(element(page, "added-overdue"))
        assert "1 of the items added was due before today. It counts as overdue as soon as the checklist" in warning
        assert "The migration's RAG status may turn amber or red." in warning
        assert '27 May 2025 <strong class="nhsuk-tag nhsuk-tag--red">Overdue</strong>' in page
    worked_on.refresh_from_db()
    assert worked_on.template_version != version_2  # a review saves nothing


@pytest.mark.parametrize(("today", "overdue"), [(date(2025, 4, 10), False), (date(2025, 6, 1), True)])
def test_the_admins_review_of_many_warns_of_what_turns_overdue_as_a_migrations_own_review_does(
    client, worked_on, version_2, admin_user, time_machine, today, overdue
):
    time_machine.move_to(datetime.combine(today, time(9), tzinfo=ZoneInfo("Europe/London")), tick=False)
    client.force_login(admin_user)

    page = client.post(
        reverse("admin:migrations_app_practicemigration_changelist"),
        {"action": "review_checklist_upgrade", "_selected_action": [worked_on.pk]},
    ).content.decode()

    warned = "Overdue as soon as it is upgraded: 1 of the items added. Its RAG status may turn amber or red."
    assert (warned in text(page)) == overdue
    worked_on.refresh_from_db()
    assert worked_on.template_version != version_2


def test_only_moves_into_the_past_count_as_newly_overdue():
    day = date(2025, 6, 1)
    moves = [
        scheduling.DueDateMove(1, "Earlier, into the past", date(2025, 6, 5), date(2025, 5, 20)),
        scheduling.DueDateMove(2, "Overdue already", date(2025, 5, 25), date(2025, 5, 20)),
        scheduling.DueDateMove(3, "Later", date(2025, 5, 25), date(2025, 6, 20)),
        scheduling.DueDateMove(4, "Dated at last, in the past", None, date(2025, 5, 31)),
        scheduling.DueDateMove(5, "Due today", date(2025, 6, 9), day),
        scheduling.DueDateMove(6, "Undated", date(2025, 6, 9), None),
    ]
    plan = upgrades.Plan(migration=None, source=None, target=None, moves=moves)

    assert [move.item_id for move in plan.moved_overdue(day)] == [1, 4]


def test_the_migration_page_says_the_checklist_was_upgraded_for_two_weeks(
    client, worked_on, version_2, delivery_partner_user, practice_manager, time_machine
):
    time_machine.move_to(datetime(2025, 4, 10, 9, 30, tzinfo=ZoneInfo("Europe/London")), tick=False)
    upgrades.apply([worked_on], version_2, delivery_partner_user)
    client.force_login(practice_manager)
    url = reverse("migrations:migration_detail", kwargs={"pk": worked_on.pk})

    shown = client.get(url).content.decode()
    time_machine.shift(timedelta(days=PracticeMigration.UPGRADE_SHOWN_DAYS))
    later = client.get(url).content.decode()

    notice = text(element(shown, "recent-upgrade"))
    assert f"The checklist was upgraded to {version_2} on" in notice
    assert f"by {delivery_partner_user}" in notice
    assert "2 items added" in notice
    assert 'id="recent-upgrade"' not in later
