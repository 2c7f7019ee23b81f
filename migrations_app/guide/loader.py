"""Read, validate, load and export checklist template data.

The format is the one of practice-migration.yaml: a template slug and name, a change note,
and ordered phases each with ordered items. Loading the same content twice changes nothing;
changed content becomes the next published version, and a published version is never edited.
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
    problems = _problems(data)
    if problems:
        raise ValidationError(problems)
    return data


def _problems(data) -> list[str]:
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
    """Publish `text` as the template's next version unless its latest version has the same content."""
    data = parse(text)
    template = ChecklistTemplate.objects.select_for_update().filter(slug=data["template"]).first()
    if template is not None:
        latest = template.latest_published()
        if latest is not None and latest.source_digest == digest(data):
            return LoadResult(latest, created=False)
    version = create_draft(data)
    version.publish(change_note=data.get("change_note") or "")
    return LoadResult(version, created=True)


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
