"""The migration page's Retrospective section: whether each side has written theirs, and a link for
the person's own side (templates/migrations_app/_retrospectives.html)."""

from dataclasses import dataclass
from datetime import date

from migrations_app import access
from migrations_app.models import PracticeMigration, Retrospective
from migrations_app.models.compiled import CompiledSelect
from migrations_app.models.retrospectives import retrospective_is_open

# Written by the ORM once per process (models/compiled.py): every page of a live migration reads it.
_WRITTEN = CompiledSelect(
    Retrospective,
    lambda migration_id: Retrospective.objects.filter(migration_id=migration_id).select_related(
        "written_by", "changed_by"
    ),
    migration_id=int,
)


@dataclass(frozen=True)
class SideLine:
    label: str
    retrospective: Retrospective | None
    is_own: bool


@dataclass(frozen=True)
class RetrospectivePanel:
    sides: list[SideLine]
    own_side: str | None

    @property
    def own_written(self) -> bool:
        return any(line.is_own and line.retrospective is not None for line in self.sides)


def panel(migration: PracticeMigration, user_access: access.Access, today: date) -> RetrospectivePanel | None:
    """None before go-live (no query); after it, one query for the migration's retrospectives."""
    if not retrospective_is_open(migration, today):
        return None
    written = {retrospective.side: retrospective for retrospective in _WRITTEN.objects(migration_id=migration.pk)}
    own_side = access.retrospective_side(user_access)
    return RetrospectivePanel(
        sides=[SideLine(side.label, written.get(side.value), side.value == own_side) for side in Retrospective.Side],
        own_side=own_side,
    )
