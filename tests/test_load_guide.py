"""Loading the guide's checklist data: published once, versioned on change, frozen once published."""

import copy
from io import StringIO

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from migrations_app.checklist_templates import guide_file, publishing
from migrations_app.models import (
    ChecklistTemplate,
    ItemTemplate,
    PhaseTemplate,
    TemplateVersion,
)
from migrations_app.models.checklist_templates import PublishedVersionError
from tests.factories import make_migration

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_database_unless_the_guide_is_asked_for(request) -> None:
    """These tests load the guide themselves: they start from a database without it, unless they
    ask for the published guide (`guide_version`)."""
    if "guide_version" not in request.fixturenames:
        request.getfixturevalue("no_published_guide")


CURRENT = str(guide_file.GUIDE_FILE)
GUIDE_TEXT = guide_file.GUIDE_FILE.read_text(encoding="utf-8")
GUIDE_DATA = yaml.safe_load(GUIDE_TEXT)
GUIDE_ITEM_COUNT = sum(len(phase["items"]) for phase in GUIDE_DATA["phases"])
RENAMED_FROM = "title: Agree a provisional Go Live date\n"
RENAMED_TO = "title: Agree a provisional go-live date\n"


def load_guide(*args: str) -> str:
    out = StringIO()
    call_command("load_guide", *args, stdout=out)
    return out.getvalue()


def template_rows() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (ChecklistTemplate, TemplateVersion, PhaseTemplate)} | {
        "ItemTemplate": ItemTemplate.objects.count()
    }


def version_snapshot(version: TemplateVersion) -> dict:
    """Every stored value of a version, its phases and its items."""
    return {
        "version": TemplateVersion.objects.filter(pk=version.pk).values().get(),
        "phases": list(PhaseTemplate.objects.filter(version=version).order_by("pk").values()),
        "items": list(ItemTemplate.objects.filter(phase__version=version).order_by("pk").values()),
    }


def write_data(path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


# --- loading ---------------------------------------------------------------------------------------


def test_loading_the_guide_publishes_one_version_with_every_item():
    output = load_guide(CURRENT)

    version = TemplateVersion.objects.get()
    assert (version.status, version.number, version.template.slug) == ("published", 1, "practice-migration")
    assert version.published_at is not None
    assert version.change_note == GUIDE_DATA["change_note"]
    assert version.items().count() == GUIDE_ITEM_COUNT
    assert list(version.phases.order_by("position").values_list("key", flat=True)) == [
        phase["key"] for phase in GUIDE_DATA["phases"]
    ]
    assert output == f"Published GP practice migration checklist version 1 with {GUIDE_ITEM_COUNT} items.\n"


def test_loading_the_same_guide_again_changes_nothing():
    load_guide(CURRENT)
    before = template_rows()
    version = TemplateVersion.objects.get()
    snapshot = version_snapshot(version)

    output = load_guide(CURRENT)

    assert template_rows() == before
    assert version_snapshot(version) == snapshot
    assert output == (
        f"Unchanged: GP practice migration checklist version 1 already has this content ({GUIDE_ITEM_COUNT} items).\n"
    )


def test_a_new_change_note_alone_is_not_a_new_version(tmp_path):
    load_guide(CURRENT)
    data = copy.deepcopy(GUIDE_DATA) | {"change_note": "Reworded the change note only."}

    output = load_guide(write_data(tmp_path / "guide.yaml", data))

    assert TemplateVersion.objects.count() == 1
    assert output.startswith("Unchanged:")


def test_a_changed_title_becomes_version_two_and_leaves_version_one_as_it_was(tmp_path):
    load_guide(CURRENT)
    first = TemplateVersion.objects.get()
    snapshot = version_snapshot(first)
    assert GUIDE_TEXT.count(RENAMED_FROM) == 1
    changed = tmp_path / "guide.yaml"
    changed.write_text(GUIDE_TEXT.replace(RENAMED_FROM, RENAMED_TO), encoding="utf-8")

    output = load_guide(str(changed))

    second = TemplateVersion.objects.exclude(pk=first.pk).get()
    assert (second.status, second.number) == ("published", 2)
    assert second.template == first.template
    assert second.items().count() == GUIDE_ITEM_COUNT
    assert second.items().get(key="agree-provisional-go-live-date").title == "Agree a provisional go-live date"
    assert version_snapshot(first) == snapshot
    assert output == f"Published GP practice migration checklist version 2 with {GUIDE_ITEM_COUNT} items.\n"


def test_a_migration_keeps_the_version_it_was_made_from_and_new_ones_use_the_latest(tmp_path, migration):
    changed = tmp_path / "guide.yaml"
    changed.write_text(GUIDE_TEXT.replace(RENAMED_FROM, RENAMED_TO), encoding="utf-8")
    load_guide(str(changed))

    later = make_migration()

    assert migration.items.get(key="agree-provisional-go-live-date").title == "Agree a provisional Go Live date"
    assert later.template_version.number == 2
    assert later.items.get(key="agree-provisional-go-live-date").title == "Agree a provisional go-live date"


# --- published versions are frozen ----------------------------------------------------------------


def test_published_version_error_is_a_validation_error():
    assert issubclass(PublishedVersionError, ValidationError)


def test_a_published_version_cannot_be_edited(guide_version):
    version = TemplateVersion.objects.get(pk=guide_version.pk)
    version.change_note = "Quietly rewritten."

    with pytest.raises(PublishedVersionError):
        version.save()

    assert TemplateVersion.objects.get(pk=version.pk).change_note == GUIDE_DATA["change_note"]


def test_a_published_version_cannot_be_published_again(guide_version):
    with pytest.raises(PublishedVersionError):
        publishing.publish(guide_version, "Again.")

    assert TemplateVersion.objects.get(pk=guide_version.pk).number == 1


def test_a_published_version_cannot_be_deleted(guide_version):
    before = template_rows()

    with pytest.raises(PublishedVersionError):
        guide_version.delete()

    assert template_rows() == before


def test_a_published_phase_cannot_be_edited_or_deleted(guide_version):
    phase = PhaseTemplate.objects.get(version=guide_version, key="early-phases")
    before = template_rows()
    phase.title = "Quietly rewritten"

    with pytest.raises(PublishedVersionError):
        phase.save()
    with pytest.raises(PublishedVersionError):
        phase.delete()

    assert PhaseTemplate.objects.get(pk=phase.pk).title == GUIDE_DATA["phases"][0]["title"]
    assert template_rows() == before


def test_a_published_item_cannot_be_edited_or_deleted(guide_version):
    item = ItemTemplate.objects.get(phase__version=guide_version, key="agree-provisional-go-live-date")
    before = template_rows()
    item.offset_days = -70

    with pytest.raises(PublishedVersionError):
        item.save()
    with pytest.raises(PublishedVersionError):
        item.delete()

    assert ItemTemplate.objects.get(pk=item.pk).offset_days == -7
    assert template_rows() == before


def test_an_item_cannot_be_added_to_a_published_phase(guide_version):
    phase = PhaseTemplate.objects.get(version=guide_version, key="post-go-live")
    before = template_rows()

    with pytest.raises(PublishedVersionError):
        ItemTemplate(
            phase=phase,
            key="late-addition",
            title="A late addition",
            responsible_role="practice_manager",
            anchor="go_live",
            offset_days=0,
            position=999,
        ).save()

    assert template_rows() == before


def test_a_draft_can_be_edited_and_then_published_as_the_next_version(guide_version):
    draft = guide_file.create_draft(guide_file.export(guide_version))
    item = ItemTemplate.objects.get(phase__version=draft, key="agree-provisional-go-live-date")
    item.offset_days = -14
    item.save()

    publishing.publish(draft, "Provisional go-live agreed a fortnight before the order.")

    published = TemplateVersion.objects.get(pk=draft.pk)
    assert (published.status, published.number) == ("published", 2)
    assert published.items().get(key="agree-provisional-go-live-date").offset_days == -14
    assert guide_version.items().get(key="agree-provisional-go-live-date").offset_days == -7


# --- data files with problems ----------------------------------------------------------------------


def unknown_role(data):
    data["phases"][0]["items"][0]["role"] = "receptionist"


def duplicate_item_key(data):
    data["phases"][1]["items"][0]["key"] = data["phases"][0]["items"][0]["key"]


def duplicate_phase_key(data):
    data["phases"][4]["key"] = data["phases"][0]["key"]


def missing_title(data):
    del data["phases"][2]["items"][3]["title"]


def text_offset(data):
    data["phases"][4]["items"][0]["offset_days"] = "two weeks"


def fractional_offset(data):
    data["phases"][4]["items"][1]["offset_days"] = 1.5


def unknown_anchor(data):
    data["phases"][3]["items"][0]["anchor"] = "launch_party"


def plain_http_link(data):
    data["phases"][0]["items"][1]["link"] = "http://nhsconnect.github.io/prm-practice-migration/guide"


def unknown_field(data):
    data["phases"][0]["items"][0]["owner"] = "Priya"


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (
            unknown_role,
            "Phase 1, item 1: 'role' must be one of practice_manager, practice_staff, clinical_lead, "
            "delivery_partner, icb_lead.",
        ),
        (duplicate_item_key, "Phase 2, item 1: key 'agree-go-live-date' is used twice."),
        (duplicate_phase_key, "Phase 5: key 'early-phases' is used twice."),
        (missing_title, "Phase 3, item 4: 'title' is required."),
        (text_offset, "Phase 5, item 1: 'offset_days' must be a whole number of days."),
        (fractional_offset, "Phase 5, item 2: 'offset_days' must be a whole number of days."),
        (unknown_anchor, "Phase 4, item 1: 'anchor' must be one of order_accepted, kick_off,"),
        (plain_http_link, "Phase 1, item 2: 'link' must be an https address."),
        (unknown_field, "Phase 1, item 1: unknown field 'owner'."),
    ],
)
def test_a_data_file_with_a_problem_is_refused_naming_it_and_creates_nothing(tmp_path, spoil, problem):
    data = copy.deepcopy(GUIDE_DATA)
    spoil(data)

    with pytest.raises(CommandError) as raised:
        load_guide(write_data(tmp_path / "guide.yaml", data))

    assert str(raised.value).startswith("The template data in guide.yaml has problems:\n  ")
    assert problem in str(raised.value)
    assert template_rows() == dict.fromkeys(template_rows(), 0)


def test_every_problem_in_a_data_file_is_listed_at_once(tmp_path):
    data = copy.deepcopy(GUIDE_DATA)
    unknown_role(data)
    missing_title(data)
    text_offset(data)

    with pytest.raises(CommandError) as raised:
        load_guide(write_data(tmp_path / "guide.yaml", data))

    assert str(raised.value).splitlines()[1:] == [
        "  Phase 1, item 1: 'role' must be one of practice_manager, practice_staff, clinical_lead, "
        "delivery_partner, icb_lead.",
        "  Phase 3, item 4: 'title' is required.",
        "  Phase 5, item 1: 'offset_days' must be a whole number of days.",
    ]


def test_a_bad_data_file_leaves_the_published_versions_alone(tmp_path, guide_version):
    before, snapshot = template_rows(), version_snapshot(guide_version)
    data = copy.deepcopy(GUIDE_DATA)
    missing_title(data)

    with pytest.raises(CommandError):
        load_guide(write_data(tmp_path / "guide.yaml", data))

    assert template_rows() == before
    assert version_snapshot(guide_version) == snapshot


def test_a_file_that_is_not_yaml_is_refused(tmp_path):
    broken = tmp_path / "guide.yaml"
    broken.write_text("template: practice-migration\nphases: [\n", encoding="utf-8")

    with pytest.raises(CommandError, match="not valid YAML"):
        load_guide(str(broken))

    assert not TemplateVersion.objects.exists()


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="Cannot read .*missing.yaml: No such file or directory"):
        load_guide(str(tmp_path / "missing.yaml"))


# --- export ----------------------------------------------------------------------------------------


def test_exporting_the_loaded_guide_gives_back_the_data_file_content(guide_version):
    assert guide_file.export(guide_version) == GUIDE_DATA


def test_an_exported_version_loaded_as_a_draft_exports_the_same(guide_version):
    exported = guide_file.export(guide_version)

    draft = guide_file.create_draft(exported)

    assert (draft.status, draft.number) == ("draft", None)
    assert draft.template == guide_version.template
    assert guide_file.export(draft) == exported


def test_an_exported_version_has_the_fingerprint_it_was_loaded_with(guide_version):
    assert guide_file.digest(guide_file.export(guide_version)) == guide_version.source_digest


def test_loading_an_export_of_the_latest_version_is_unchanged(tmp_path, guide_version):
    output = load_guide(write_data(tmp_path / "export.yaml", guide_file.export(guide_version)))

    assert output.startswith("Unchanged:")
    assert TemplateVersion.objects.count() == 1
