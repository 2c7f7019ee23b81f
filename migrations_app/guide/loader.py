"""Read, validate, load, import and export checklist template data.

The format is the one of practice-migration.yaml: a template slug and name, a change note,
and ordered phases each with ordered items. Loading content that was already published changes
nothing; new content becomes the next published version, and a published version is never
edited. The admin imports a file as a draft and exports any version in the same format.
"""

import hashlib
import json
from dataclasses import dataclass
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

GUIDE_FILE = Path(__file__).with_name("practice-migration.yaml")

ITEM_FIELDS = {"key", "title", "group", "link", "role", "anchor", "offset_days", "kind", "condition"}
PHASE_FIELDS = {"key", "title", "items"}


@dataclass(frozen=True)
class LoadResult:
    version: TemplateVersion
    created: bool


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
    return problems


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
                position=item_position,
            )
            for item_position, item in enumerate(phase["items"], start=1)
        )
    return version


@transaction.atomic
def load(text: str) -> LoadResult:
    """Publish `text` as the template's next version unless a published version already has the
    same content. Any version, not only the latest: deploys run load_guide, and a file published
    before must not undo the versions admins published since."""
    data = parse(text)
    template = ChecklistTemplate.objects.select_for_update().filter(slug=data["template"]).first()
    if template is not None:
        same = template.versions.published().filter(source_digest=digest(data)).order_by("-number").first()
        if same is not None:
            return LoadResult(same, created=False)
    version = create_draft(data)
    version.publish(change_note=data.get("change_note") or "")
    return LoadResult(version, created=True)


@transaction.atomic
def import_draft(data: dict) -> TemplateVersion:
    """A new draft from validated `data`, refused while the template already has a draft."""
    template = ChecklistTemplate.objects.select_for_update().filter(slug=data["template"]).first()
    if template is not None and template.draft() is not None:
        raise ValidationError(f"{template} already has a draft: publish or delete it before importing another.")
    return create_draft(data)


def publish(version: TemplateVersion, change_note: str, *, seen_revision: int | None = None) -> None:
    """Publish a draft edited in the admin, after checking it by the data file's rules, with the
    fingerprint of its content so that loading the same content later changes nothing."""
    data = export(version)
    found = problems(data)
    if found:
        raise ValidationError(found)
    version.source_digest = digest(data)
    version.publish(change_note, seen_revision=seen_revision)


class _GuideDumper(yaml.SafeDumper):
    """Indents lists under their key, as practice-migration.yaml is written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def export_text(version: TemplateVersion) -> str:
    """The version as a YAML data file that `parse`, `load` and `import_draft` read back unchanged."""
    return yaml.dump(
        export(version), Dumper=_GuideDumper, allow_unicode=True, sort_keys=False, width=1000, default_flow_style=False
    )


def export(version: TemplateVersion) -> dict:
    """The version as template data, in the same format `load` and `create_draft` read."""
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
            items.append(entry)
        phases.append({"key": phase.key, "title": phase.title, "items": items})
    return {
        "template": version.template.slug,
        "name": version.template.name,
        "change_note": version.change_note,
        "phases": phases,
    }


def differences(old: TemplateVersion, new: TemplateVersion) -> list[str]:
    """What changed from `old` to `new`, in words, for the person about to publish `new`. Items
    are matched by key, as upgrades match them."""
    old_data, new_data = export(old), export(new)
    before = {item["key"]: (phase["key"], item) for phase in old_data["phases"] for item in phase["items"]}
    after = {item["key"]: (phase["key"], item) for phase in new_data["phases"] for item in phase["items"]}
    old_phases = [(phase["key"], phase["title"]) for phase in old_data["phases"]]
    new_phases = [(phase["key"], phase["title"]) for phase in new_data["phases"]]
    lines = [] if old_phases == new_phases else ["Phases added, removed, renamed or reordered."]
    for key, (phase, item) in after.items():
        if key not in before:
            lines.append(f"Added '{item['title']}' ({key}) to phase {phase}.")
            continue
        old_phase, old_item = before[key]
        changed = [field for field in sorted(ITEM_FIELDS) if old_item.get(field) != item.get(field)]
        changed += ["phase"] if old_phase != phase else []
        if changed:
            lines.append(f"Changed {', '.join(changed)} of '{item['title']}' ({key}).")
    lines += [f"Removed '{item['title']}' ({key})." for key, (_, item) in before.items() if key not in after]
    for phase_key, _ in new_phases:
        old_order = [key for key, (phase, _) in before.items() if phase == phase_key and key in after]
        new_order = [key for key, (phase, _) in after.items() if phase == phase_key and key in before]
        if old_order != new_order and sorted(old_order) == sorted(new_order):
            lines.append(f"Reordered the items of phase {phase_key}.")
    return lines
