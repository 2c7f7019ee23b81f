"""The guide file format: read, check, fingerprint, import as a draft and export template data.

The format is the one of migrations_app/guide/practice-migration.yaml: a template slug and name,
a change note, and ordered phases each with ordered items. Publishing a file (load_guide) is in
publishing.py; the admin imports a file as a draft and exports any version in the same format.
"""

import hashlib
import json
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import transaction

from migrations_app.models import (
    ChecklistTemplate,
    Condition,
    ItemKind,
    ItemTemplate,
    Milestone,
    PhaseTemplate,
    Role,
    TemplateVersion,
)
from migrations_app.scheduling import due_rule

# The guide is data, kept in its own folder; this module reads and writes its format. The current
# edition, and every earlier one as published (previous/, numbered, never edited again).
GUIDE_FILE = Path(__file__).parent.parent / "guide" / "practice-migration.yaml"
EARLIER_EDITIONS = Path(__file__).parent.parent / "guide" / "previous"


def editions() -> list[Path]:
    """Every edition of the guide file, oldest first, the current one last: a new database gets the
    template's versions in the order they were published elsewhere."""
    earlier = sorted(
        EARLIER_EDITIONS.glob("practice-migration-*.yaml"), key=lambda path: int(path.stem.rsplit("-", 1)[1])
    )
    return [*earlier, GUIDE_FILE]


# The file names two of an item's copied fields for what the guide calls them.
FILE_NAMES = {"guide_url": "link", "responsible_role": "role"}
# An item's fields in the file: its copied fields but its position, which is its place in the list.
ITEM_FIELDS = {FILE_NAMES.get(name, name) for name in ItemTemplate.COPIED_FIELDS if name != "position"}
PHASE_FIELDS = {"key", "title", "items"}


def parse(text: str) -> dict:
    """Parse and validate template data; raise ValidationError listing every problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValidationError(f"The template data is not valid YAML: {error}") from error
    found = problems(data)
    if found:
        raise ValidationError(found)
    return data


OFFSET_LIMIT_DAYS = 365
"""How far from its milestone an item may fall due: a year either way. The guide's items are within
five weeks of theirs; a figure of thousands of days is a slip of the keyboard."""


def problems(data) -> list[str]:
    """Everything wrong with template data (parsed YAML, or a version's export), in file order."""
    if not isinstance(data, dict):
        return ["The template data must be a mapping with template, name and phases."]
    problems = []
    for field in ("template", "name"):
        if not isinstance(data.get(field), str) or not data.get(field).strip():
            problems.append(f"'{field}' is required.")
    phases = data.get("phases")
    if not isinstance(phases, list) or not phases:
        return [*problems, "'phases' must be a non-empty list."]
    phase_keys, item_keys = set(), set()
    for phase_number, phase in enumerate(phases, start=1):
        where = f"Phase {phase_number}"
        if not isinstance(phase, dict):
            problems.append(f"{where} must be a mapping.")
            continue
        problems += [f"{where}: unknown field '{field}'." for field in sorted(set(phase) - PHASE_FIELDS)]
        problems += _key_problems(where, phase.get("key"), phase_keys)
        if not isinstance(phase.get("title"), str) or not phase["title"].strip():
            problems.append(f"{where}: 'title' is required.")
        items = phase.get("items")
        if not isinstance(items, list) or not items:
            problems.append(f"{where}: 'items' must be a non-empty list.")
            continue
        for item_number, item in enumerate(items, start=1):
            problems += _item_problems(f"{where}, item {item_number}", item, item_keys)
    return problems + _dependency_problems(phases, item_keys)


def _dependency_problems(phases: list, item_keys: set) -> list[str]:
    """A gate's `depends_on` is a list of other items' keys, each once; only gates wait for items."""
    problems = []
    for phase_number, phase in enumerate(phases, start=1):
        if not isinstance(phase, dict) or not isinstance(phase.get("items"), list):
            continue
        for item_number, item in enumerate(phase["items"], start=1):
            if not isinstance(item, dict) or item.get("depends_on") is None:
                continue
            where = f"Phase {phase_number}, item {item_number}"
            keys = item["depends_on"]
            if item.get("kind") != ItemKind.GATE:
                problems.append(f"{where}: only a gate can have 'depends_on'.")
            elif not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
                problems.append(f"{where}: 'depends_on' must be a list of item keys.")
            else:
                unknown = [key for key in keys if key not in item_keys]
                if unknown:
                    problems.append(f"{where}: 'depends_on' names no item with key {', '.join(unknown)}.")
                if item.get("key") in keys:
                    problems.append(f"{where}: a gate cannot wait for itself.")
                if len(set(keys)) != len(keys):
                    problems.append(f"{where}: 'depends_on' names an item twice.")
    return problems + _gates_due_first(phases) + _dependency_loops(phases)


def gates_due_first(version: TemplateVersion) -> list[str]:
    """The gates of `version` that fall due before an item they wait for (as publishing refuses
    them, _gates_due_first): for the template admin to say so when a change is saved, not only at publish."""
    return _gates_due_first(export(version)["phases"])


def _gates_due_first(phases: list) -> list[str]:
    """A gate falls due no earlier than the items it waits for that follow the same milestone: one
    due before them would be overdue, unsignable without an override, while they are still on time.
    (Items that follow other milestones are not compared: how far apart those fall is the plan's.)"""
    items = _items_by_key(phases)
    problems = []
    for where, gate in items.values():
        if gate.get("kind") != ItemKind.GATE or not isinstance(gate.get("depends_on"), list):
            continue
        for waited_key in gate["depends_on"]:
            waited = items.get(waited_key, (None, None))[1] if isinstance(waited_key, str) else None
            if (
                waited is not None
                and waited.get("anchor") == gate.get("anchor")
                and isinstance(waited.get("offset_days"), int)
                and isinstance(gate.get("offset_days"), int)
                and waited["offset_days"] > gate["offset_days"]
            ):
                problems.append(
                    f"{where} ({gate.get('title')}): the gate falls due "
                    f"{_rule(gate)}, before '{waited.get('title') or waited_key}' ({_rule(waited)}), which it "
                    "waits for. "
                    "Make the gate due later, or the item earlier."
                )
    return problems


def _rule(item: dict) -> str:
    """An item's due-date rule in words, as the upgrade review writes it ("3 days after go-live")."""
    return due_rule(item["anchor"], item["offset_days"]).lower() if item.get("anchor") in Milestone.values else "?"


def _items_by_key(phases: list) -> dict[str, tuple[str, dict]]:
    """Each well-formed item by its key, with where it is ("Phase 2, item 3")."""
    found = {}
    for phase_number, phase in enumerate(phases, start=1):
        for item_number, item in enumerate(phase.get("items") or [] if isinstance(phase, dict) else [], start=1):
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                found.setdefault(item["key"], (f"Phase {phase_number}, item {item_number}", item))
    return found


def _dependency_loops(phases: list) -> list[str]:
    """Gates that wait for each other, directly or through others: none of them could be signed
    without an override. Each loop reported once, at its first gate in file order."""
    items = _items_by_key(phases)
    waits = {
        key: [each for each in item.get("depends_on") or [] if isinstance(each, str) and each in items]
        for key, (_, item) in items.items()
        if isinstance(item.get("depends_on"), list)
    }
    problems, reported = [], set()
    for start in waits:
        path, seen = [start], {start}
        loop = _loop_from(start, waits, path, seen)
        if loop and not set(loop) & reported:
            reported |= set(loop)
            problems.append(f"{items[start][0]}: gates wait for each other in a loop: {' > '.join([*loop, loop[0]])}.")
    return problems


def _loop_from(start: str, waits: dict, path: list, seen: set) -> list[str] | None:
    """The first loop back to `start` along `waits`, as the keys on it, or None."""
    for following in waits.get(path[-1], []):
        if following == start:
            return list(path)
        if following not in seen and following in waits:
            seen.add(following)
            path.append(following)
            if loop := _loop_from(start, waits, path, seen):
                return loop
            path.pop()
    return None


def _key_problems(where: str, key, seen: set) -> list[str]:
    try:
        validate_slug(key if isinstance(key, str) else "")
    except ValidationError:
        return [f"{where}: 'key' must be letters, digits and hyphens."]
    if key in seen:
        return [f"{where}: key '{key}' is used twice."]
    seen.add(key)
    return []


def _item_problems(where: str, item, seen: set) -> list[str]:
    if not isinstance(item, dict):
        return [f"{where} must be a mapping."]
    problems = [f"{where}: unknown field '{field}'." for field in sorted(set(item) - ITEM_FIELDS)]
    problems += _key_problems(where, item.get("key"), seen)
    if not isinstance(item.get("title"), str) or not item["title"].strip():
        problems.append(f"{where}: 'title' is required.")
    if item.get("link"):
        try:
            URLValidator(schemes=["https"])(item["link"])
        except ValidationError:
            problems.append(f"{where}: 'link' must be an https address.")
    for field, choices in (("role", Role), ("anchor", Milestone), ("kind", ItemKind)):
        if item.get(field, "task" if field == "kind" else None) not in choices.values:
            problems.append(f"{where}: '{field}' must be one of {', '.join(choices.values)}.")
    if item.get("condition") and item["condition"] not in Condition.values:
        problems.append(f"{where}: 'condition' must be one of {', '.join(Condition.values)}.")
    if not isinstance(item.get("offset_days"), int) or isinstance(item.get("offset_days"), bool):
        problems.append(f"{where}: 'offset_days' must be a whole number of days.")
    elif abs(item["offset_days"]) > OFFSET_LIMIT_DAYS:
        problems.append(f"{where}: 'offset_days' must be between -{OFFSET_LIMIT_DAYS} and {OFFSET_LIMIT_DAYS} days.")
    return problems


def digest(data: dict) -> str:
    """A fingerprint of the checklist content, blind to comments, layout and the change note."""
    content = {key: value for key, value in data.items() if key != "change_note"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@transaction.atomic
def create_draft(data: dict) -> TemplateVersion:
    """Make a draft version of the template named in validated `data`."""
    template, _ = ChecklistTemplate.objects.get_or_create(slug=data["template"], defaults={"name": data["name"]})
    version = TemplateVersion.objects.create(
        template=template, change_note=data.get("change_note") or "", source_digest=digest(data)
    )
    for phase_position, phase in enumerate(data["phases"], start=1):
        phase_template = PhaseTemplate.objects.create(
            version=version, key=phase["key"], title=phase["title"].strip(), position=phase_position
        )
        ItemTemplate.objects.bulk_create(
            ItemTemplate(
                phase=phase_template,
                key=item["key"],
                title=item["title"].strip(),
                group=(item.get("group") or "").strip(),
                guide_url=item.get("link") or "",
                responsible_role=item["role"],
                anchor=item["anchor"],
                offset_days=item["offset_days"],
                kind=item.get("kind") or ItemKind.TASK,
                condition=item.get("condition") or "",
                depends_on=item.get("depends_on"),
                position=item_position,
            )
            for item_position, item in enumerate(phase["items"], start=1)
        )
    return version


@transaction.atomic
def import_draft(data: dict) -> TemplateVersion:
    """A new draft from validated `data`, refused while the template already has a draft."""
    template = ChecklistTemplate.objects.select_for_update().filter(slug=data["template"]).first()
    if template is not None and template.draft() is not None:
        raise ValidationError(f"{template} already has a draft: publish or delete it before importing another.")
    return create_draft(data)


class _GuideDumper(yaml.SafeDumper):
    """Indents lists under their key, as practice-migration.yaml is written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def export_text(version: TemplateVersion) -> str:
    """The version as a YAML data file that `parse`, `import_draft` and `publishing.load` read back unchanged."""
    return yaml.dump(
        export(version), Dumper=_GuideDumper, allow_unicode=True, sort_keys=False, width=1000, default_flow_style=False
    )


def export(version: TemplateVersion) -> dict:
    """The version as template data, in the same format `create_draft` and `publishing.load` read."""
    phases = []
    for phase in version.phases.order_by("position").prefetch_related("items"):
        items = []
        for item in sorted(phase.items.all(), key=lambda item: item.position):
            entry = {"key": item.key, "title": item.title}
            if item.group:
                entry["group"] = item.group
            if item.guide_url:
                entry["link"] = item.guide_url
            entry |= {
                "role": item.responsible_role,
                "anchor": item.anchor,
                "offset_days": item.offset_days,
                "kind": item.kind,
            }
            if item.condition:
                entry["condition"] = item.condition
            if item.depends_on is not None:
                entry["depends_on"] = list(item.depends_on)
            items.append(entry)
        phases.append({"key": phase.key, "title": phase.title, "items": items})
    return {
        "template": version.template.slug,
        "name": version.template.name,
        "change_note": version.change_note,
        "phases": phases,
    }
