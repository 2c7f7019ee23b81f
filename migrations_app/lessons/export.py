"""The Lessons page as CSV: one row per retrospective of the filtered view, in the page's order,
streamed a chunk at a time (as the dashboard's CSV, dashboard/export.py)."""

import csv
from collections.abc import Iterator

from migrations_app.dashboard.export import FORMULA_STARTS
from migrations_app.models import Retrospective
from migrations_app.models.retrospectives import RetrospectiveArea, RetrospectiveQuerySet

CHUNK = 200

HEADINGS = [
    "Practice",
    "ODS code",
    "Current system",
    "New system",
    "Go-live",
    "Written by (role)",
    *(heading for area in RetrospectiveArea for heading in (area.label, f"{area.label}: comment")),
    "Lesson",
]


class _Line:
    """csv.writer writes each line here and gets it back, so lines are yielded as they are made."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(retrospectives: RetrospectiveQuerySet) -> Iterator[str]:
    """The header, then the rows in chunks of CHUNK lines. One query, read as it is needed."""
    writer = csv.writer(_Line())
    # The byte order mark tells spreadsheet programs the file is UTF-8.
    yield "\ufeff" + writer.writerow(HEADINGS)
    chunk: list[str] = []
    for retrospective in retrospectives.lessons().iterator(chunk_size=CHUNK):
        chunk.append(writer.writerow([_cell(value) for value in _row(retrospective)]))
        if len(chunk) == CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _row(retrospective: Retrospective) -> list:
    migration = retrospective.migration
    return [
        migration.practice.name,
        migration.practice.ods_code,
        migration.source_supplier.system_name,
        migration.target_supplier.system_name,
        migration.go_live_on.isoformat() if migration.go_live_on else "",
        retrospective.get_side_display(),
        *(value for _, verdict, comment in retrospective.area_notes for value in (verdict, comment)),
        retrospective.lesson,
    ]


def _cell(value: str) -> str:
    # A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
    return "'" + value if value.startswith(FORMULA_STARTS) else value
