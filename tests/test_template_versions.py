"""Template versions: drafts are edited and published; published versions are frozen in the models
and in the database; migrations under way keep their copy; versions export and import unchanged."""

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from migrations_app.checklist_templates import diffs, guide_file, publishing
from migrations_app.models import (
    ChecklistItem,
    ItemTemplate,
    MigrationPhase,
    PhaseTemplate,
    PracticeMigration,
    TemplateVersion,
)
from migrations_app.models.checklist_templates import DraftConflictError, PublishedVersionError
from migrations_app.models.choices import Role
from tests.factories import UserFactory, make_migration

pytestmark = pytest.mark.django_db

GUIDE_TEXT = guide_file.GUIDE_FILE.read_text(encoding="utf-8")


def raw_sql(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def version_rows(version: TemplateVersion) -> dict:
    """Every stored value of a version's phases and items but their ids and foreign keys."""
    return {
        "phases": list(version.phases.order_by("position").values("key", "title", "position")),
        "items": list(
            ItemTemplate.objects.filter(phase__version=version)
            .order_by("phase__position", "position")
            .values("phase__key", *ItemTemplate.COPIED_FIELDS)
        ),
    }


# --- the database refuses changes to published versions ---------------------------------------------


def test_a_raw_update_of_a_published_version_is_refused_by_the_database(guide_version):
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_sql(
            "UPDATE migrations_app_templateversion SET change_note = %s WHERE id = %s", ["Rewritten", guide_version.pk]
        )

    assert TemplateVersion.objects.get(pk=guide_version.pk).change_note == guide_version.change_note


def test_a_raw_update_of_a_published_item_is_refused_by_the_database(guide_version):
    item = guide_version.items().get(key="agree-provisional-go-live-date")

    with pytest.raises(IntegrityError), transaction.atomic():
        raw_sql("UPDATE migrations_app_itemtemplate SET offset_days = %s WHERE id = %s", [-70, item.pk])

    assert ItemTemplate.objects.get(pk=item.pk).offset_days == -7


def test_a_raw_update_of_a_published_phase_is_refused_by_the_database(guide_version):
    phase = guide_version.phases.get(key="early-phases")

    with pytest.raises(IntegrityError), transaction.atomic():
        raw_sql("UPDATE migrations_app_phasetemplate SET title = %s WHERE id = %s", ["Rewritten", phase.pk])


def test_a_bulk_update_of_published_items_is_refused_by_the_database(guide_version):
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemTemplate.objects.filter(phase__version=guide_version).update(title="Rewritten")

    assert not ItemTemplate.objects.filter(title="Rewritten").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM migrations_app_itemtemplate WHERE phase_id IN "
        "(SELECT id FROM migrations_app_phasetemplate WHERE version_id = %s)",
        "DELETE FROM migrations_app_templateversion WHERE id = %s",
    ],
    ids=["items", "version"],
)
def test_a_raw_delete_from_a_published_version_is_refused_by_the_database(guide_version, sql):
    count = guide_version.items().count()

    with pytest.raises(IntegrityError), transaction.atomic():
        raw_sql(sql, [guide_version.pk])

    assert guide_version.items().count() == count


def test_a_raw_insert_into_a_published_phase_is_refused_by_the_database(guide_version):
    phase = guide_version.phases.get(key="post-go-live")

    with pytest.raises(IntegrityError), transaction.atomic():
        raw_sql(
            'INSERT INTO migrations_app_itemtemplate (phase_id, key, title, "group", guide_url, responsible_role,'
            " anchor, offset_days, kind, condition, position) VALUES (%s, 'late', 'Late', '', '', 'practice_manager',"
            " 'go_live', 0, 'task', '', 999)",
            [phase.pk],
        )


def test_a_raw_update_moving_a_draft_item_into_a_published_phase_is_refused(guide_version):
    draft = guide_version.copy_as_draft()
    item = draft.items().first()

    with pytest.raises(IntegrityError), transaction.atomic():
        raw_sql(
            "UPDATE migrations_app_itemtemplate SET phase_id = %s WHERE id = %s",
            [guide_version.phases.first().pk, item.pk],
        )


def test_a_draft_can_be_changed_with_raw_sql(guide_version):
    draft = guide_version.copy_as_draft()
    item = draft.items().get(key="agree-provisional-go-live-date")

    raw_sql("UPDATE migrations_app_itemtemplate SET offset_days = %s WHERE id = %s", [-14, item.pk])

    assert ItemTemplate.objects.get(pk=item.pk).offset_days == -14


# Committed data, as in test teardown: flush (TRUNCATE) in a transaction with pending foreign key
# checks fails on PostgreSQL whatever the triggers.
@pytest.mark.django_db(transaction=True)
def test_flush_empties_published_versions_and_leaves_them_frozen_after(guide_version):
    call_command("flush", interactive=False, verbosity=0)

    assert not TemplateVersion.objects.exists()
    call_command("load_guide", str(guide_file.GUIDE_FILE), verbosity=0)
    version = TemplateVersion.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        TemplateVersion.objects.filter(pk=version.pk).update(change_note="Rewritten")


# --- the models refuse them too ----------------------------------------------------------------------


def test_saving_a_published_version_raises(guide_version):
    guide_version.change_note = "Rewritten"

    with pytest.raises(PublishedVersionError):
        guide_version.save()


def test_a_published_version_cannot_take_an_edit(guide_version):
    with pytest.raises(PublishedVersionError):
        guide_version.record_edit(guide_version.revision)


# --- drafts ---------------------------------------------------------------------------------------------


def test_a_new_draft_is_a_copy_of_every_phase_and_item(guide_version):
    draft = guide_version.copy_as_draft()

    assert (draft.status, draft.number, draft.template) == ("draft", None, guide_version.template)
    assert version_rows(draft) == version_rows(guide_version)


def test_a_template_has_one_draft_at_a_time(guide_version):
    guide_version.copy_as_draft()

    with pytest.raises(ValidationError, match="already has a draft"):
        guide_version.copy_as_draft()

    assert TemplateVersion.objects.filter(status="draft").count() == 1


def test_an_edit_from_an_old_revision_is_refused_and_changes_nothing(guide_version):
    draft = guide_version.copy_as_draft()
    draft.record_edit(1)

    with pytest.raises(DraftConflictError, match="This draft was saved again since you opened this page"):
        TemplateVersion.objects.get(pk=draft.pk).record_edit(1)

    assert TemplateVersion.objects.get(pk=draft.pk).revision == 2


def test_publishing_after_an_unseen_edit_is_refused(guide_version):
    draft = guide_version.copy_as_draft()
    draft.record_edit(1)

    with pytest.raises(DraftConflictError):
        publishing.publish(draft, "Reviewed an older revision.", seen_revision=1)

    assert TemplateVersion.objects.get(pk=draft.pk).status == "draft"


def test_a_draft_with_an_empty_phase_cannot_be_published(guide_version):
    draft = guide_version.copy_as_draft()
    PhaseTemplate.objects.create(version=draft, key="empty", title="Empty", position=99)

    with pytest.raises(ValidationError, match="Phase 6: 'items' must be a non-empty list."):
        publishing.publish(draft, "Adds an empty phase.")

    assert TemplateVersion.objects.get(pk=draft.pk).status == "draft"


def test_the_file_is_not_published_again_over_a_version_published_since(guide_version):
    draft = guide_version.copy_as_draft()
    ItemTemplate.objects.filter(phase__version=draft, key="agree-provisional-go-live-date").update(offset_days=-14)
    publishing.publish(draft, "A fortnight.")

    result = publishing.load(GUIDE_TEXT)

    assert (result.created, result.version) == (False, guide_version)
    assert TemplateVersion.objects.published().count() == 2


def test_the_differences_list_what_changed_item_by_item_from_old_to_new_by_title(guide_version):
    draft = guide_version.copy_as_draft()
    items = ItemTemplate.objects.filter(phase__version=draft)
    items.filter(key="agree-provisional-go-live-date").update(offset_days=-14, title="Agree a provisional date")
    items.filter(key="check-dates-against-availability").delete()
    first = draft.phases.order_by("position").first()
    old_phase_title = first.title
    PhaseTemplate.objects.filter(pk=first.pk).update(title="Before anything else")

    assert diffs.differences(guide_version, draft) == [
        f"Renamed phase '{old_phase_title}' to 'Before anything else'.",
        "Changed 'Agree a provisional Go Live date': title from 'Agree a provisional Go Live date' to "
        "'Agree a provisional date'; due date from '1 week before the order date' to '2 weeks before the order date'.",
        f"Removed 'Checking the dates against availability' from phase '{old_phase_title}'.",
    ]


def test_the_differences_name_choices_by_label_and_the_items_waited_for_by_title(guide_version):
    draft = guide_version.copy_as_draft()
    gate = next(
        each
        for each in ItemTemplate.objects.filter(phase__version=draft, kind="gate", depends_on__isnull=False)
        if len(each.depends_on) > 1 and each.responsible_role != "icb_lead"
    )
    waited = ItemTemplate.objects.get(phase__version=draft, key=gate.depends_on[0])
    ItemTemplate.objects.filter(pk=gate.pk).update(responsible_role="icb_lead", depends_on=[waited.key])
    old_role = Role(gate.responsible_role).label

    (line,) = diffs.differences(guide_version, draft)

    # The items it no longer waits for, by title, not the two lists whole with the one kept in both.
    dropped = ItemTemplate.objects.filter(phase__version=draft, key__in=gate.depends_on[1:])
    assert line.startswith(
        f"Changed '{gate.title}': responsible role from '{old_role}' to 'ICB lead'; no longer waits for "
    )
    assert all(f"'{item.title}'" in line for item in dropped)
    assert waited.title not in line


def test_the_differences_say_what_a_gate_now_also_waits_for_and_no_longer_waits_for(guide_version):
    draft = guide_version.copy_as_draft()
    gate = next(
        each
        for each in ItemTemplate.objects.filter(phase__version=draft, kind="gate", depends_on__isnull=False)
        if len(each.depends_on) > 1
    )
    extra = ItemTemplate.objects.get(phase__version=draft, key=gate.depends_on[0])
    newly = (
        ItemTemplate.objects.filter(phase=gate.phase, position__lt=gate.position, kind="task")
        .exclude(key__in=gate.depends_on)
        .first()
    )
    ItemTemplate.objects.filter(pk=gate.pk).update(depends_on=[*gate.depends_on[1:], newly.key])

    (line,) = diffs.differences(guide_version, draft)

    assert line == (f"Changed '{gate.title}': now also waits for '{newly.title}'; no longer waits for '{extra.title}'.")


# --- migrations under way keep their copy ------------------------------------------------------------


def under_way_snapshot() -> dict:
    """Every stored value of every migration, its phases and its items."""
    return {
        "migrations": list(PracticeMigration.objects.order_by("pk").values()),
        "phases": list(MigrationPhase.objects.order_by("pk").values()),
        "items": list(ChecklistItem._base_manager.order_by("pk").values()),
    }


def test_publishing_a_new_version_while_100_migrations_are_under_way_changes_none_of_them(guide_version):
    migrations = [make_migration(template_version=guide_version) for _ in range(100)]
    ticker = UserFactory()
    for migration in migrations[::3]:
        migration.items.get(key="agree-go-live-date").complete(by=ticker)
    before = under_way_snapshot()
    assert len(before["migrations"]) == 100
    assert ChecklistItem.objects.filter(status="done").count() == 34
    draft = guide_version.copy_as_draft()
    items = ItemTemplate.objects.filter(phase__version=draft)
    items.filter(key="agree-provisional-go-live-date").update(title="Agree a provisional go-live date")
    items.filter(key="secure-dates-and-peoples-time").update(offset_days=6)  # still before the gate that waits for it
    items.filter(key="what-is-a-technical-survey").delete()
    first_phase = draft.phases.get(key="early-phases")
    ItemTemplate.objects.create(
        phase=first_phase, key="book-training-room", title="Book a training room", responsible_role="practice_manager",
        anchor="go_live", offset_days=-28, position=999,
    )  # fmt: skip

    publishing.publish(draft, "Reworded, moved, removed and added items.")

    assert TemplateVersion.objects.get(pk=draft.pk).number == 2
    assert under_way_snapshot() == before
    later = make_migration()
    assert later.template_version_id == draft.pk
    assert later.items.filter(key="book-training-room").exists()
    assert not later.items.filter(key="what-is-a-technical-survey").exists()


# --- export and import ---------------------------------------------------------------------------------


def test_export_then_import_gives_an_identical_version(guide_version):
    text = guide_file.export_text(guide_version)

    draft = guide_file.import_draft(guide_file.parse(text))

    assert guide_file.export_text(draft) == text
    assert version_rows(draft) == version_rows(guide_version)
    assert draft.source_digest == guide_version.source_digest


def test_the_guide_file_loaded_then_exported_is_the_same_data(guide_version):
    assert yaml.safe_load(guide_file.export_text(guide_version)) == yaml.safe_load(GUIDE_TEXT)


def test_an_export_is_laid_out_like_the_guide_file(guide_version):
    text = guide_file.export_text(guide_version)

    assert text.startswith("template: practice-migration\nname: GP practice migration checklist\n")
    assert "\nphases:\n  - key: early-phases\n" in text
    assert "\n      - key: agree-go-live-date\n" in text


def test_an_import_is_refused_while_the_template_has_a_draft(guide_version):
    guide_version.copy_as_draft()

    with pytest.raises(ValidationError, match="already has a draft"):
        guide_file.import_draft(guide_file.export(guide_version))

    assert TemplateVersion.objects.count() == 2
