"""The dashboard as CSV: the table's columns, every row of the filtered view, streamed."""

import csv
from collections.abc import Iterator
from datetime import date

from migrations_app.dashboard.rows import COLUMNS, Row, add_next_due, add_next_items

CHUNK = 500
"""Rows per query for the next item due, and per chunk of the response."""
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """csv.writer writes each line here and gets it back, so lines are yielded as they are made."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(rows: list[Row], today: date) -> Iterator[str]:
    """The header, then the rows in chunks of CHUNK lines: the response never holds the whole
    file, only the rows (which the sort needed) and one chunk of text. Queries: every row's next
    due date, then the items due on them per chunk."""
    writer = csv.writer(_Line())
    # The byte order mark tells spreadsheet programs the file is UTF-8 (the guide's titles use curly quotes).
    yield "\ufeff" + writer.writerow([column.heading for column in COLUMNS])
    add_next_due(rows, today)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        add_next_items(chunk, today)
        yield "".join(writer.writerow([_cell(column.csv_value(row)) for column in COLUMNS]) for row in chunk)


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value
