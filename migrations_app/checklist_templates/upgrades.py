"""Reviewed upgrades: move a migration's checklist to a later published version of its template.

Items are matched by key, which is stable across versions. An item that is still in the new
version keeps its row, so its tick, note, reasons, who completed it and its event log stay
with it; only the fields copied from the template change. An item the new version drops is
deleted if nobody worked on it, and archived otherwise (kept with its history, left out of the
checklist and every count). `plan()` shows what an upgrade would do and saves nothing; `apply()`
does it, re-planned under the migration's lock. What differs is found by diffs.py.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from django.db import transaction
from django.utils import timezone

from migrations_app import scheduling
from migrations_app.checklist_templates import diffs
from migrations_app.models import (
    ChecklistItem,
    ChecklistProgress,
    Condition,
    Event,
    ItemKind,
    ItemStatus,
    ItemTemplate,
    MigrationPhase,
    PracticeMigration,
    Role,
    TemplateVersion,
)
from migrations_app.models.checklist_items import condition_reason
from migrations_app.models.choices import OPEN_STATUSES
from migrations_app.models.events import FIELD_LABELS

# Items are matched by key, so an item an upgrade keeps takes every other copied field from its template.
REWRITTEN_FIELDS = tuple(name for name in ItemTemplate.COPIED_FIELDS if name != "key")
# Fields a reviewer reads as they are; the due rule (anchor and offset), the condition and what a gate
# waits for are put in words.
PLAIN_FIELDS = tuple(
    name for name in diffs.CONTENT_FIELDS if name not in ("anchor", "offset_days", "condition", "depends_on")
)


@dataclass(frozen=True)
class FieldChange:
    """One difference between an item and its template in the target version, as people read it."""

    field: str
    old: str
    new: str
    # What a gate waits for: the items it now also waits for, and those it no longer waits for, by
    # title (the reviews say those rather than the two lists whole; the event log keeps the lists).
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        # The event log records the change under the same name (_write): both read it the same way.
        return FIELD_LABELS[self.field]

    @property
    def words(self) -> str:
        """The change in words when it is better said than as old to new: "" otherwise."""
        parts = []
        if self.added:
            parts.append(f"now also waits for {'; '.join(self.added)}")
        if self.dropped:
            parts.append(f"no longer waits for {'; '.join(self.dropped)}")
        said = "; ".join(parts)
        return said[:1].upper() + said[1:]


@dataclass
class AddedItem:
    template: ItemTemplate
    due_on: date | None
    applies: bool
    # An item archived by an earlier upgrade whose key is back: restored, with its history.
    restored: ChecklistItem | None = None

    def overdue_on(self, day: date) -> bool:
        """Whether it would be overdue on `day` from the moment it is added: it applies, is still
        to do (a restored item keeps its status) and was due before `day`."""
        still_open = self.restored is None or self.restored.status in OPEN_STATUSES
        return self.applies and still_open and self.due_on is not None and self.due_on < day


@dataclass
class RemovedItem:
    item: ChecklistItem
    # Ticked, marked, noted, dated by hand, or with any event of its own: archived rather than deleted.
    worked_on: bool


@dataclass
class ChangedItem:
    item: ChecklistItem
    template: ItemTemplate
    changes: list[FieldChange]
    # The status a changed condition gives the item, when it does: (status, reason).
    new_status: tuple[str, str] | None = None

    @property
    def new_status_label(self) -> str:
        return ItemStatus(self.new_status[0]).label if self.new_status else ""


@dataclass
class Plan:
    """What upgrading `migration` to `target` would do. Built by `plan()`; nothing is saved."""

    migration: PracticeMigration
    source: TemplateVersion
    target: TemplateVersion
    added: list[AddedItem] = field(default_factory=list)
    removed: list[RemovedItem] = field(default_factory=list)
    changed: list[ChangedItem] = field(default_factory=list)
    moves: list[scheduling.DueDateMove] = field(default_factory=list)
    phases: list[diffs.PhaseChange] = field(default_factory=list)
    # Kept items whose position number changes only because others were added or removed around them.
    renumbered: list[tuple[ChecklistItem, ItemTemplate]] = field(default_factory=list)

    @cached_property
    def versions(self) -> list[TemplateVersion]:
        """The published versions the upgrade brings in, oldest first: each after the migration's, up
        to the target. A reviewer reads the change note of every one, not only the target's."""
        return list(
            TemplateVersion.objects.published()
            .filter(template_id=self.target.template_id, number__gt=self.source.number, number__lte=self.target.number)
            .order_by("number")
        )

    def added_overdue(self, day: date) -> list[AddedItem]:
        """The items added that are overdue on `day` as soon as they are: the RAG status counts them."""
        return [added for added in self.added if added.overdue_on(day)]

    def moved_overdue(self, day: date) -> list[scheduling.DueDateMove]:
        """The items (all open: only those move) that a new due date makes overdue on `day`."""
        return [
            move
            for move in self.moves
            if move.new_due_on is not None
            and move.new_due_on < day
            and (move.old_due_on is None or move.old_due_on >= day)
        ]

    @property
    def archived(self) -> list[RemovedItem]:
        return [removed for removed in self.removed if removed.worked_on]

    @property
    def deleted(self) -> list[RemovedItem]:
        return [removed for removed in self.removed if not removed.worked_on]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.moves or self.phases or self.renumbered)

    def summary(self) -> str:
        """One sentence for the event log and the confirmation message."""
        counts = (
            (len(self.added), "added"),
            (len(self.changed), "changed"),
            (len(self.archived), "archived"),
            (len(self.deleted), "removed"),
        )
        parts = [f"{count} item{'s' if count != 1 else ''} {word}" for count, word in counts]
        moves = len(self.moves)
        parts.append(f"{moves} due date{'s' if moves != 1 else ''} moved")
        if self.phases:  # added, renamed, back or removed: said only when there are some
            parts.append(f"{len(self.phases)} phase{'s' if len(self.phases) != 1 else ''} changed")
        return f"From {self.source} to {self.target}: {', '.join(parts)}."


@dataclass
class Outcome:
    """What `apply()` did to one migration: its plan, or why it was left alone."""

    migration: PracticeMigration
    plan: Plan | None = None
    skipped: str = ""


def latest_version(migration: PracticeMigration) -> TemplateVersion | None:
    """The latest published version of the template the migration's checklist came from."""
    return migration.template_version.template.latest_published()


def newer_version(migration: PracticeMigration) -> TemplateVersion | None:
    """The version an upgrade would move the migration to, or None when it is up to date."""
    latest = latest_version(migration)
    if latest is None or latest.number <= migration.template_version.number:
        return None
    return latest


def refusal(migration: PracticeMigration, target: TemplateVersion) -> str:
    """Why `migration` cannot be upgraded to `target`, or "" when it can."""
    current = migration.template_version
    if migration.status != PracticeMigration.Status.ACTIVE:
        return f"{migration.practice} is {migration.get_status_display().lower()}: its checklist is not upgraded."
    if not target.is_published:
        return f"{target} is not published: only a published version can be applied."
    if target.template_id != current.template_id:
        return f"{target} is not a version of {current.template}, the template of this checklist."
    if target.number <= current.number:
        if target.pk == current.pk:
            return f"{migration.practice} is already on {target}."
        return f"{migration.practice} is on {current}, later than {target}."
    return ""


def plan(migration: PracticeMigration, target: TemplateVersion) -> Plan:
    """What upgrading `migration` to `target` would change: items added (with their due date and
    whether they apply), removed (and whether worked on), changed (field by field), due dates that
    move (items dated by hand keep theirs) and phases. Reads five queries; saves nothing."""
    source = migration.template_version
    result = Plan(migration=migration, source=source, target=target)
    items = list(ChecklistItem.all_objects.filter(migration=migration).select_related("phase"))
    live = [item for item in items if item.archived_at is None]
    archived = {item.key: item for item in items if item.archived_at is not None}
    targets = list(target.items())
    titles = {item.key: item.title for item in items} | {item.key: item.title for item in targets}
    diff = diffs.compare_items(live, targets)
    dates = migration.milestone_dates()

    result.phases = diffs.compare_phases(
        MigrationPhase.all_objects.filter(migration=migration), target.phases.order_by("position")
    )
    for match in diff.matches:
        if match.old is None:
            result.added.append(_added(migration, match.new, dates, archived.get(match.new.key)))
        else:
            _plan_kept(result, migration, match, dates, titles)

    gone = diff.removed
    with_events = set(
        Event.objects.filter(item__in=gone).order_by().values_list("item_id", flat=True).distinct() if gone else []
    )
    for item in sorted(gone, key=lambda item: (item.phase.position, item.position)):
        result.removed.append(RemovedItem(item, worked_on=item.pk in with_events or _touched(item)))
    return result


def _added(migration: PracticeMigration, template: ItemTemplate, dates: dict, restored: ChecklistItem | None):
    applies = not template.condition or bool(getattr(migration, template.condition))
    due_on = scheduling.due_date(dates, template.anchor, template.offset_days)
    if restored is not None and restored.manual_due_on is not None:
        due_on = restored.manual_due_on
    return AddedItem(template=template, due_on=due_on, applies=applies, restored=restored)


def _plan_kept(
    result: Plan, migration: PracticeMigration, match: diffs.ItemMatch, dates: dict, titles: dict[str, str]
) -> None:
    item, template = match.old, match.new
    changes = [
        FieldChange(name, _display(name, getattr(item, name)), _display(name, getattr(template, name)))
        for name in PLAIN_FIELDS
        if name in match.changed
    ]
    rule_changed = "anchor" in match.changed or "offset_days" in match.changed
    if rule_changed:
        changes.append(
            FieldChange(
                "due_rule",
                scheduling.due_rule(item.anchor, item.offset_days),
                scheduling.due_rule(template.anchor, template.offset_days),
            )
        )
    if "condition" in match.changed:
        changes.append(FieldChange("condition", _applies(item.condition), _applies(template.condition)))
    if "depends_on" in match.changed:
        before, after = item.depends_on, template.depends_on
        added, dropped = diffs.added_and_dropped(before, after) if before and after else ([], [])
        changes.append(
            FieldChange(
                "depends_on",
                _waits_for(before, titles),
                _waits_for(after, titles),
                added=tuple(titles.get(key, key) for key in added),
                dropped=tuple(titles.get(key, key) for key in dropped),
            )
        )
    if match.moved_phase:
        changes.append(FieldChange("phase", item.phase.title, template.phase.title))
    if match.reordered:
        changes.append(FieldChange("order", str(match.ranks[0]), str(match.ranks[1])))

    new_status = _status_for_condition(migration, item, template)
    if changes:
        result.changed.append(ChangedItem(item, template, changes, new_status))
    elif item.position != template.position:
        result.renumbered.append((item, template))

    status = new_status[0] if new_status else item.status
    if status in OPEN_STATUSES and item.manual_due_on is None and (rule_changed or new_status):
        new_due_on = scheduling.due_date(dates, template.anchor, template.offset_days)
        if new_due_on != item.due_on:
            result.moves.append(scheduling.DueDateMove(item.pk, template.title, item.due_on, new_due_on))


def _status_for_condition(
    migration: PracticeMigration, item: ChecklistItem, template: ItemTemplate
) -> tuple[str, str] | None:
    """When the template changes an item's condition, the status creation would have given it:
    an item left as creation made it (to do, or not applicable by its condition) follows the new
    condition; one someone marked or ticked keeps its status."""
    if item.condition == template.condition:
        return None
    applies = not template.condition or bool(getattr(migration, template.condition))
    not_applicable_by_condition = (
        item.status == ItemStatus.NOT_APPLICABLE and item.condition and item.reason == condition_reason(item.condition)
    )
    if applies and not_applicable_by_condition:
        return (ItemStatus.TO_DO, "")
    if not applies and (item.status == ItemStatus.TO_DO or not_applicable_by_condition):
        return (ItemStatus.NOT_APPLICABLE, condition_reason(template.condition))
    return None


def _touched(item: ChecklistItem) -> bool:
    """Whether anything about the item differs from how creation left it."""
    untouched = {(ItemStatus.TO_DO, "")}
    if item.condition:
        untouched.add((ItemStatus.NOT_APPLICABLE, condition_reason(item.condition)))
    return (
        (item.status, item.reason) not in untouched
        or bool(item.note)
        or bool(item.override_reason)
        or item.manual_due_on is not None
    )


def _display(name: str, value: str) -> str:
    if name == "responsible_role":
        return Role(value).label
    if name == "kind":
        return ItemKind(value).label
    return value or "(empty)"


def _applies(condition: str) -> str:
    return f"Only when: {Condition(condition).label.lower()}" if condition else "Always"


def _waits_for(keys: list[str] | None, titles: dict[str, str]) -> str:
    """What a gate waits for, as its titles."""
    if keys is None:
        return "Every earlier item of its phase"
    if not keys:
        return "Nothing"
    return "; ".join(titles.get(key, key) for key in keys)


def apply(migrations: Iterable[PracticeMigration], target: TemplateVersion, actor) -> list[Outcome]:
    """Upgrade each migration to `target`, each in its own transaction with its row locked and
    the plan made again under the lock (so ticks made since the review are kept, and an upgrade
    applied twice, or by two people at once, changes nothing the second time). A migration that
    cannot take `target` (already on it, another template, finished) is skipped with the reason."""
    return [_apply_one(migration.pk, target, actor) for migration in migrations]


def _apply_one(migration_id: int, target: TemplateVersion, actor) -> Outcome:
    with transaction.atomic():
        # The lock also queues behind any tick in flight: ChecklistItem._lock() locks this row too.
        migration = (
            PracticeMigration.objects.select_for_update(of=("self",))
            .select_related("practice", "template_version__template")
            .get(pk=migration_id)
        )
        reason = refusal(migration, target)
        if reason:
            return Outcome(migration, skipped=reason)
        result = plan(migration, target)
        _write(result, actor, timezone.now())
    return Outcome(migration, plan=result)


def _write(result: Plan, actor, now: datetime) -> None:
    migration, target = result.migration, result.target
    phases = _write_phases(migration, target, now)
    moves = {move.item_id: move for move in result.moves}
    events: list[Event] = []

    def event(item: ChecklistItem | None, field_name: str, old: str, new: str) -> Event:
        return Event(
            migration=migration,
            item=item,
            actor=actor,
            at=now,
            kind=Event.Kind.UPGRADE,
            field=field_name,
            old_value=old,
            new_value=new,
            reason=f"Checklist upgraded to {target}",
        )

    updated: list[ChecklistItem] = []
    for changed in result.changed:
        item = changed.item
        _copy(item, changed.template, phases)
        item.revision += 1
        events += [event(item, change.field, change.old, change.new) for change in changed.changes]
        if changed.new_status:
            old_status = item.status
            item.status, item.reason = changed.new_status
            # Its condition, not a person, closes or opens it now.
            item.marked_by, item.marked_at = None, None
            events.append(event(item, "status", old_status, item.status))
        updated.append(item)
    for item, template in result.renumbered:
        _copy(item, template, phases)
        updated.append(item)
    by_pk = {item.pk: item for item in updated}
    for item_id, move in moves.items():
        item = by_pk[item_id]
        item.due_on = move.new_due_on
        events.append(event(item, "due_on", _iso(move.old_due_on), _iso(move.new_due_on)))

    created = []
    for added in result.added:
        if added.restored is not None:
            item = added.restored
            _copy(item, added.template, phases)
            item.archived_at = None
            item.revision += 1
            if item.is_open and item.manual_due_on is None:
                item.due_on = added.due_on
            events.append(event(item, "archived_at", "Archived", f"Back in the checklist ({target})"))
            updated.append(item)
            continue
        item = ChecklistItem(migration=migration, key=added.template.key, due_on=added.due_on)
        _copy(item, added.template, phases)
        if not added.applies:
            item.status, item.reason = ItemStatus.NOT_APPLICABLE, item.condition_reason()
        created.append(item)

    for removed in result.archived:
        item = removed.item
        item.archived_at = now
        item.revision += 1
        updated.append(item)
        events.append(event(item, "archived_at", "In the checklist", f"Archived: not in {target}"))

    ChecklistItem.all_objects.bulk_update(
        updated,
        [*REWRITTEN_FIELDS, "phase", "status", "reason", "marked_by", "marked_at", "due_on", "archived_at", "revision"],
    )
    ChecklistItem.all_objects.bulk_create(created)
    # Each item the upgrade adds has its history from its first day, as one a migration starts with.
    events += [event(item, "archived_at", "Not in the checklist", f"Added ({target})") for item in created]
    deleted = [removed.item.pk for removed in result.deleted]
    if deleted:
        ChecklistItem.all_objects.filter(pk__in=deleted).delete()
    _retire_phases(migration, target, now)

    old_version = migration.template_version
    migration.template_version = target
    migration.save(update_fields=["template_version"])
    titles = "; ".join(removed.item.title for removed in result.deleted)
    events.append(
        Event(
            migration=migration,
            actor=actor,
            at=now,
            kind=Event.Kind.UPGRADE,
            field="template_version",
            old_value=str(old_version),
            new_value=str(target),
            reason=result.summary() + (f" Removed (never worked on): {titles}." if titles else ""),
        )
    )
    Event.objects.bulk_create(events)
    ChecklistProgress.recount([migration.pk])


def _copy(item: ChecklistItem, template: ItemTemplate, phases: dict[str, MigrationPhase]) -> None:
    for name in REWRITTEN_FIELDS:
        setattr(item, name, getattr(template, name))
    item.phase = phases[template.phase.key]


def _write_phases(migration: PracticeMigration, target: TemplateVersion, now: datetime) -> dict[str, MigrationPhase]:
    """Make the migration's phases match the target's: created, renamed, reordered, restored."""
    current = {phase.key: phase for phase in MigrationPhase.all_objects.filter(migration=migration)}
    phases = {}
    for template in target.phases.order_by("position"):
        phase = current.get(template.key)
        if phase is None:
            phase = MigrationPhase.all_objects.create(
                migration=migration, key=template.key, title=template.title, position=template.position
            )
        elif (phase.title, phase.position, phase.archived_at) != (template.title, template.position, None):
            phase.title, phase.position, phase.archived_at = template.title, template.position, None
            phase.save(update_fields=["title", "position", "archived_at"])
        phases[template.key] = phase
    return phases


def _retire_phases(migration: PracticeMigration, target: TemplateVersion, now: datetime) -> None:
    """Phases the target drops: deleted when empty, archived while they hold archived items."""
    dropped = MigrationPhase.objects.filter(migration=migration).exclude(key__in=target.phases.values("key"))
    holding = ChecklistItem.all_objects.filter(phase__in=dropped).values("phase_id")
    dropped.filter(pk__in=holding).update(archived_at=now)
    MigrationPhase.all_objects.filter(pk__in=dropped.exclude(pk__in=holding).values("pk")).delete()


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""
