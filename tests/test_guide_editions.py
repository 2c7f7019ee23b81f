"""The guide's editions and a gate's own dependencies: load_guide publishes every edition in turn,
and a gate waits for the items its data names (the first edition's gates: every earlier item of
their phase)."""

import copy
from io import StringIO

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from migrations_app.checklist_templates import guide_file, publishing
from migrations_app.models import ChecklistItem, ItemStatus, TemplateVersion
from tests.factories import UserFactory, make_migration

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_database_unless_the_guide_is_asked_for(request) -> None:
    """These tests load the guide themselves: they start from a database without it, unless they
    ask for the published guide (`guide_version`)."""
    if "guide_version" not in request.fixturenames:
        request.getfixturevalue("no_published_guide")


FIRST_EDITION = guide_file.EARLIER_EDITIONS / "practice-migration-1.yaml"


def load_guide(*args: str) -> str:
    out = StringIO()
    call_command("load_guide", *args, stdout=out)
    return out.getvalue()


def small_guide(**gate_fields) -> dict:
    """A two-phase checklist: three tasks, then a gate in the second phase with `gate_fields`."""
    task = {"role": "practice_manager", "anchor": "kick_off", "offset_days": 0}
    return {
        "template": "practice-migration",
        "name": "GP practice migration checklist",
        "phases": [
            {
                "key": "first",
                "title": "First",
                "items": [
                    {"key": "task-a", "title": "Task A", **task},
                    {"key": "task-b", "title": "Task B", **task},
                ],
            },
            {
                "key": "second",
                "title": "Second",
                "items": [
                    {"key": "task-c", "title": "Task C", **task},
                    {"key": "gate", "title": "Gate", "kind": "gate", **task, **gate_fields},
                ],
            },
        ],
    }


def publish(data: dict) -> TemplateVersion:
    return publishing.load(yaml.safe_dump(data)).version


# --- editions ----------------------------------------------------------------------------------------


def test_a_new_database_gets_every_edition_in_order_and_new_migrations_the_current_one():
    output = load_guide()

    versions = list(TemplateVersion.objects.published().order_by("number"))
    editions = guide_file.editions()
    assert [version.number for version in versions] == list(range(1, len(editions) + 1))
    assert editions[0] == FIRST_EDITION and editions[-1] == guide_file.GUIDE_FILE
    for version, path in zip(versions, editions, strict=True):
        data = guide_file.parse(path.read_text(encoding="utf-8"))
        assert version.source_digest == guide_file.digest(data)
    assert output.count("Published") == len(editions)
    assert make_migration().template_version == versions[-1]


def test_loading_every_edition_again_changes_nothing():
    load_guide()

    output = load_guide()

    assert TemplateVersion.objects.count() == len(guide_file.editions())
    assert output.count("Unchanged:") == len(guide_file.editions())


def test_a_database_with_the_first_edition_gets_the_current_one_as_version_two():
    load_guide(str(FIRST_EDITION))

    load_guide()

    assert list(TemplateVersion.objects.order_by("number").values_list("number", "source_digest")) == [
        (1, guide_file.digest(guide_file.parse(FIRST_EDITION.read_text(encoding="utf-8")))),
        (2, guide_file.digest(guide_file.parse(guide_file.GUIDE_FILE.read_text(encoding="utf-8")))),
    ]


def test_an_edition_with_problems_is_named():
    data = small_guide(depends_on=["no-such-item"])

    with pytest.raises(ValidationError) as raised:
        guide_file.parse(yaml.safe_dump(data))

    assert "Phase 2, item 2: 'depends_on' names no item with key no-such-item." in raised.value.messages


def test_a_missing_file_is_refused_by_name(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        load_guide(str(tmp_path / "missing.yaml"))


# --- depends_on in the data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (lambda data: data["phases"][0]["items"][0].update(depends_on=["task-b"]), "only a gate can have"),
        (lambda data: data["phases"][1]["items"][1].update(depends_on="task-a"), "must be a list of item keys"),
        (lambda data: data["phases"][1]["items"][1].update(depends_on=["gate"]), "a gate cannot wait for itself"),
        (lambda data: data["phases"][1]["items"][1].update(depends_on=["task-a", "task-a"]), "names an item twice"),
    ],
)
def test_a_gate_dependency_list_with_a_problem_is_refused(spoil, problem):
    data = small_guide()
    spoil(data)

    assert any(problem in found for found in guide_file.problems(data))


def second_gate(data: dict, **fields) -> None:
    """Make Task C a gate too, with `fields`."""
    data["phases"][1]["items"][0].update(kind="gate", **fields)


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (
            lambda data: second_gate(data, depends_on=["gate"]),
            "Phase 2, item 1: gates wait for each other in a loop: task-c > gate > task-c.",
        ),
        (
            lambda data: data["phases"][0]["items"][1].update(offset_days=99999),
            "Phase 1, item 2: 'offset_days' must be between -365 and 365 days.",
        ),
        (
            # A task the gate waits for, on the same milestone, due after it.
            lambda data: data["phases"][0]["items"][0].update(offset_days=5),
            "Phase 2, item 2 (Gate): the gate falls due on kick-off, before 'Task A' (5 days after kick-off), "
            "which it waits for. Make the gate due later, or the item earlier.",
        ),
    ],
)
def test_a_checklist_no_one_could_follow_is_refused_with_where_and_why(spoil, problem):
    data = small_guide(depends_on=["task-a", "task-c"])
    assert guide_file.problems(data) == []
    spoil(data)

    assert guide_file.problems(data) == [problem]


def test_a_waited_for_item_on_another_milestone_is_not_compared():
    data = small_guide(depends_on=["task-a"])
    data["phases"][0]["items"][0].update(anchor="go_live", offset_days=5)

    assert guide_file.problems(data) == []


def test_gates_waiting_for_each_other_through_a_third_are_one_loop():
    data = small_guide(depends_on=["task-c"])
    second_gate(data, depends_on=["task-b"])
    data["phases"][0]["items"][1].update(kind="gate", depends_on=["gate"])

    assert guide_file.problems(data) == [
        "Phase 1, item 2: gates wait for each other in a loop: task-b > gate > task-c > task-b."
    ]


def test_depends_on_is_kept_through_publishing_export_and_a_new_draft():
    version = publish(small_guide(depends_on=["task-a"]))

    exported = guide_file.export(version)
    draft = version.copy_as_draft()

    assert exported["phases"][1]["items"][1]["depends_on"] == ["task-a"]
    assert "depends_on" not in exported["phases"][0]["items"][0]
    assert draft.items().get(key="gate").depends_on == ["task-a"]


# --- what a gate waits for ---------------------------------------------------------------------------


def open_dependency_keys(gate: ChecklistItem) -> list[str]:
    return list(gate.open_dependencies().values_list("key", flat=True))


def test_a_gate_waits_only_for_the_items_it_names_in_any_phase():
    migration = make_migration(template_version=publish(small_guide(depends_on=["task-a"])))
    gate = migration.items.get(key="gate")

    assert open_dependency_keys(gate) == ["task-a"]
    migration.items.get(key="task-a").complete(UserFactory())
    assert open_dependency_keys(gate) == []
    gate.sign_off(UserFactory())  # task-b and task-c are still open: the gate does not wait for them
    gate.refresh_from_db()
    assert gate.status == ItemStatus.DONE
    assert gate.override_reason == ""


def test_a_gate_naming_no_items_waits_for_the_earlier_items_of_its_phase():
    migration = make_migration(template_version=publish(small_guide()))
    gate = migration.items.get(key="gate")

    assert open_dependency_keys(gate) == ["task-c"]
    with pytest.raises(ValidationError, match="This gate waits for 1 item still open"):
        gate.sign_off(UserFactory())
    assert migration.items.get(key="gate").status == ItemStatus.TO_DO


def test_a_gate_with_an_empty_list_waits_for_nothing():
    migration = make_migration(template_version=publish(small_guide(depends_on=[])))

    assert open_dependency_keys(migration.items.get(key="gate")) == []


def test_the_current_edition_has_every_gate_name_what_it_waits_for():
    data = guide_file.parse(guide_file.GUIDE_FILE.read_text(encoding="utf-8"))
    gates = [item for phase in data["phases"] for item in phase["items"] if item.get("kind") == "gate"]

    assert gates
    assert [gate["key"] for gate in gates if gate.get("depends_on") is None] == []


def test_the_first_edition_is_kept_as_it_was_published():
    data = guide_file.parse(FIRST_EDITION.read_text(encoding="utf-8"))
    items = [item for phase in copy.deepcopy(data)["phases"] for item in phase["items"]]

    assert len(items) == 112
    assert not any("depends_on" in item for item in items)


# --- migrations under way move to the second edition through the reviewed upgrade ---------------------


def test_a_migration_on_the_first_edition_is_offered_the_current_one_and_keeps_its_work(
    client, practice, delivery_partner_user, practice_manager
):
    load_guide()
    first, current = TemplateVersion.objects.published().order_by("number")
    migration = make_migration(practice=practice, template_version=first)
    worked = list(migration.items.filter(kind="task").order_by("phase__position", "position")[:20])
    for item in worked:
        item.complete(practice_manager)
    client.force_login(delivery_partner_user)
    assert "A newer checklist version is available" in client.get(f"/migrations/{migration.pk}/").content.decode()

    review = client.get(f"/migrations/{migration.pk}/upgrade/")
    response = client.post(f"/migrations/{migration.pk}/upgrade/", {"version": current.pk})

    assert review.status_code == 200
    assert response.status_code == 302
    migration.refresh_from_db()
    assert migration.template_version == current
    current_keys = set(current.items().values_list("key", flat=True))
    live = {item.key: item for item in migration.items.all()}
    assert set(live) == current_keys
    for item in worked:
        kept = ChecklistItem.all_objects.get(pk=item.pk)
        assert (kept.status, kept.completed_by) == (ItemStatus.DONE, practice_manager)
        assert kept.events.exists()
        assert kept.archived_at is None or kept.key not in current_keys
    templates = {template.key: template for template in current.items()}
    for key, item in live.items():
        assert (item.depends_on, item.responsible_role, item.title) == (
            templates[key].depends_on,
            templates[key].responsible_role,
            templates[key].title,
        )
