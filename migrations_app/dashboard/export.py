"""The dashboard as CSV: the table's columns, every row of the filtered view in the table's
order, streamed with constant memory."""

import csv
from collections.abc import Iterator

from migrations_app.dashboard.rows import COLUMNS, Found

CHUNK = 200
"""Rows per query for the next item due, and per chunk of the response."""
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """csv.writer writes each line here and gets it back, so lines are yielded as they are made."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(found: Found) -> Iterator[str]:
    """The header, then the rows in chunks of CHUNK lines, as the database sends them: the
    response holds one chunk of rows and its text at a time, whatever the number of rows.
    Queries: the rows (one, read as they are needed), then the items due next per chunk."""
    writer = csv.writer(_Line())
    # The byte order mark tells spreadsheet programs the file is UTF-8 (the guide's titles use curly quotes).
    yield "\ufeff" + writer.writerow([column.heading for column in COLUMNS])
    for chunk in found.chunks(CHUNK):
        yield "".join(writer.writerow([_cell(column.csv_value(row)) for column in COLUMNS]) for row in chunk)


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value
