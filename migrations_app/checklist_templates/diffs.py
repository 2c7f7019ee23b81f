"""Diffs: what differs between two checklists, their items and phases matched by key.

The one comparison, for the publish page (a draft against the latest version: `differences`) and
for upgrades (a migration's checklist against a later version: upgrades.plan). Keys are stable
across versions, so an item whose key is in both lists is the same item, however it changed.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.text import get_text_list

from migrations_app import scheduling
from migrations_app.models import ChecklistItem, ItemTemplate, MigrationPhase, PhaseTemplate, TemplateVersion
from migrations_app.models.choices import Condition, ItemKind, Milestone, Role

Item = ChecklistItem | ItemTemplate
Phase = MigrationPhase | PhaseTemplate

# What an item asks: the fields it copies from its template but the key, by which it is matched,
# and the position, which changes whenever items are added or removed around it (order is compared
# by rank among the items both lists keep instead).
CONTENT_FIELDS = tuple(name for name in ItemTemplate.COPIED_FIELDS if name not in ("key", "position"))
# Each field as the item table's column heading names it (the field's verbose name), for editors.
FIELD_LABELS = {name: str(ItemTemplate._meta.get_field(name).verbose_name) for name in (*CONTENT_FIELDS, "phase")}


@dataclass(frozen=True)
class ItemMatch:
    """An item of the new list, and the item of the old list with its key when there is one."""

    new: Item
    old: Item | None = None
    # Content fields whose values differ, in CONTENT_FIELDS order.
    changed: tuple[str, ...] = ()
    # Its rank among the kept items of its phase, before and after.
    ranks: tuple[int, int] = (0, 0)

    @property
    def moved_phase(self) -> bool:
        return self.old is not None and self.old.phase.key != self.new.phase.key

    @property
    def reordered(self) -> bool:
        """Moved within its phase, beyond what items added or removed around it do."""
        return self.old is not None and not self.moved_phase and self.ranks[0] != self.ranks[1]


@dataclass(frozen=True)
class ItemDiff:
    # Every item of the new list, in its order.
    matches: list[ItemMatch]
    # The items of the old list whose key the new one lacks, in the old order.
    removed: list[Item]

    def reordered_in(self, phase_key: str) -> bool:
        """Whether the kept items of a phase changed order, none having moved into or out of it."""
        kept = [match for match in self.matches if match.old is not None]
        if any(match.moved_phase and phase_key in (match.old.phase.key, match.new.phase.key) for match in kept):
            return False
        return any(match.reordered for match in kept if match.new.phase.key == phase_key)


@dataclass
class PhaseChange:
    key: str
    old_title: str
    new_title: str
    # "added", "renamed", "restored" or "removed"
    action: str


def compare_items(old: Iterable[Item], new: Iterable[Item]) -> ItemDiff:
    """Match the items of `old` and `new` by key: what was added, removed, and for each kept item
    which fields changed, whether it moved phase and its rank in its phase before and after. Each
    list is read once, in checklist order (phase position, then position)."""
    before = {item.key: item for item in old}
    after = {item.key: item for item in new}
    ranks = _ranks(before, after)
    matches = []
    for key, item in after.items():
        previous = before.get(key)
        if previous is None:
            matches.append(ItemMatch(item))
            continue
        changed = tuple(name for name in CONTENT_FIELDS if getattr(previous, name) != getattr(item, name))
        matches.append(ItemMatch(item, previous, changed, ranks[key]))
    removed = [item for key, item in before.items() if key not in after]
    return ItemDiff(matches, removed)


def _ranks(before: dict[str, Item], after: dict[str, Item]) -> dict[str, tuple[int, int]]:
    """Each kept item's rank among the kept items of its phase, before and after. Ranks, not
    positions, so that items added or removed around an item do not read as a change to it."""
    kept = [item for key, item in after.items() if key in before]
    old_ranks: dict[str, int] = {}
    new_ranks: dict[str, int] = {}
    by_old_phase: dict[str, list[Item]] = {}
    for item in kept:
        previous = before[item.key]
        by_old_phase.setdefault(previous.phase.key, []).append(previous)
    for members in by_old_phase.values():
        for rank, item in enumerate(sorted(members, key=lambda item: item.position), start=1):
            old_ranks[item.key] = rank
    by_new_phase: dict[str, list[Item]] = {}
    for item in kept:
        by_new_phase.setdefault(item.phase.key, []).append(item)
    for members in by_new_phase.values():
        for rank, item in enumerate(members, start=1):
            new_ranks[item.key] = rank
    return {key: (old_ranks[key], new_ranks[key]) for key in old_ranks}


def compare_phases(old: Iterable[Phase], new: Iterable[Phase]) -> list[PhaseChange]:
    """Phases added, renamed or removed from `old` to `new`, matched by key: in the new order, then
    the removed ones in the old order. A migration keeps a phase archived while it holds archived
    items: one back in `new` is restored; one still absent is left as it is."""
    before = {phase.key: phase for phase in old}
    new = list(new)
    changes = []
    for phase in new:
        previous = before.get(phase.key)
        if previous is None:
            changes.append(PhaseChange(phase.key, "", phase.title, "added"))
        elif _archived(previous):
            changes.append(PhaseChange(phase.key, previous.title, phase.title, "restored"))
        elif previous.title != phase.title:
            changes.append(PhaseChange(phase.key, previous.title, phase.title, "renamed"))
    new_keys = {phase.key for phase in new}
    for key, phase in before.items():
        if key not in new_keys and not _archived(phase):
            changes.append(PhaseChange(key, phase.title, "", "removed"))
    return changes


def _archived(phase: Phase) -> bool:
    # A template's phases are never archived; a migration's are when an upgrade drops them.
    return getattr(phase, "archived_at", None) is not None


def phases_reordered(old: Iterable[Phase], new: Iterable[Phase]) -> bool:
    """Whether the phases both lists have come in a different order."""
    old_keys, new_keys = [phase.key for phase in old], [phase.key for phase in new]
    return [key for key in old_keys if key in new_keys] != [key for key in new_keys if key in old_keys]


def differences(old: TemplateVersion, new: TemplateVersion) -> list[str]:
    """What changed from `old` to `new`, in words, naming fields as the item table does and items
    and phases by title, each change from its old value to its new one, for the person about to
    publish `new`."""
    old_phases, new_phases = list(old.phases.order_by("position")), list(new.phases.order_by("position"))
    lines = [_phase_line(change) for change in compare_phases(old_phases, new_phases)]
    if phases_reordered(old_phases, new_phases):
        lines.append("Changed the order of the phases.")
    items = compare_items(old.items(), new.items())
    titles = {item.key: item.title for item in (*(match.new for match in items.matches), *items.removed)}
    for match in items.matches:
        item = match.new
        if match.old is None:
            lines.append(f"Added '{item.title}' to phase '{item.phase.title}'.")
            continue
        changes = [_change(name, match.old, item, titles) for name in match.changed if name not in _DUE_RULE]
        if _DUE_RULE & set(match.changed):
            # Its milestone and offset together, in words, as the upgrade review and the item's row say them.
            changes.append(
                f"due date from '{_due_rule(match.old)}' to '{_due_rule(item)}'"
                if match.old.anchor and item.anchor
                else "; ".join(_change(name, match.old, item, titles) for name in match.changed if name in _DUE_RULE)
            )
        if match.moved_phase:
            changes.append(f"{FIELD_LABELS['phase']} from '{match.old.phase.title}' to '{item.phase.title}'")
        if changes:
            lines.append(f"Changed '{match.old.title}': {'; '.join(changes)}.")
    lines += [f"Removed '{item.title}' from phase '{item.phase.title}'." for item in items.removed]
    lines += [
        f"Changed the order of the items of phase '{phase.title}'."
        for phase in new_phases
        if items.reordered_in(phase.key)
    ]
    return lines


_DUE_RULE = {"anchor", "offset_days"}


def _due_rule(item) -> str:
    return scheduling.due_rule(item.anchor, item.offset_days)


def added_and_dropped(before: list[str], after: list[str]) -> tuple[list[str], list[str]]:
    """The keys a gate now also waits for, and those it no longer waits for, each in its list's order."""
    return [key for key in after if key not in before], [key for key in before if key not in after]


def _change(name: str, old, new, titles: dict[str, str]) -> str:
    """One field's change, from its old value to its new one; the items a gate waits for, by what
    it now also waits for and no longer waits for (the same list less one item read as a whole)."""
    before, after = getattr(old, name), getattr(new, name)
    if name == "depends_on" and before and after:
        added, dropped = added_and_dropped(before, after)
        parts = []
        if added:
            parts.append(f"now also waits for {_shown(name, added, titles)}")
        if dropped:
            parts.append(f"no longer waits for {_shown(name, dropped, titles)}")
        if parts:
            return "; ".join(parts)
    label = CHANGE_LABELS.get(name, FIELD_LABELS[name])
    return f"{label} from {_shown(name, before, titles)} to {_shown(name, after, titles)}"


def _phase_line(change: PhaseChange) -> str:
    if change.action == "added":
        return f"Added phase '{change.new_title}'."
    if change.action == "renamed":
        return f"Renamed phase '{change.old_title}' to '{change.new_title}'."
    if change.action == "restored":
        return f"Restored phase '{change.new_title}'."
    return f"Removed phase '{change.old_title}'."


# A field named otherwise in "<field> from <old> to <new>" than its column heading.
CHANGE_LABELS = {"depends_on": "what it waits for"}
# The choices of the fields that have them, to show a value by its label.
_CHOICES = {"responsible_role": Role, "anchor": Milestone, "kind": ItemKind, "condition": Condition}


def _shown(name: str, value, titles: dict[str, str]) -> str:
    """A field's value as an editor reads it: a choice by its label, the items waited for by title."""
    if name == "depends_on":
        if value is None:
            return "the items above it in its phase"
        return get_text_list([f"'{titles.get(key, key)}'" for key in value], "and") if value else "nothing"
    if value in (None, ""):
        return "none"
    if name in _CHOICES:
        return f"'{_CHOICES[name](value).label}'"
    if name == "offset_days":
        return str(value)
    return f"'{value}'"
