"""The dashboard table's rows as HTML, made in Python as the Django admin makes its change list's rows
(format_html): in the template language, a page of 50 rows of 12 cells was about a quarter of the
dashboard's CPU (20 of 75 ms for a delivery partner), every value going through its lookups,
localisation and escaping. Values are escaped by format_html (as markup.html) as the template
escaped them.

tests/test_dashboard_table.py holds the markup, row by row, to the template it replaced.
"""

import unicodedata
from dataclasses import dataclass
from datetime import date

from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.dates import MONTHS_3
from django.utils.html import escape
from django.utils.safestring import SafeString

from migrations_app.dashboard.rag import NOT_RATED
from migrations_app.dashboard.rows import TABLE_COLUMNS, Row
from migrations_app.markup import html, html_join

HEADINGS = {column.key: column.heading for column in TABLE_COLUMNS}

_MARKER = 918273645  # stands in for an id while an address is reversed once (never an id here)


def addresses() -> tuple[str, str]:
    """The migration page's and an item's address, reversed once with markers in place of their
    ids, as format strings: "/migrations/{}/", "/migrations/{}/items/{}/"."""
    migration = reverse("migrations:migration_detail", args=(_MARKER,))
    item = reverse("migrations:item_detail", args=(_MARKER, _MARKER + 1))
    return (
        migration.replace(str(_MARKER), "{}"),
        item.replace(str(_MARKER + 1), "{}").replace(str(_MARKER), "{}"),
    )


@dataclass(frozen=True)
class Page:
    """What every row of one table shares, made once: the row's markup with the column headings
    in it (what each cell says it is when the table is shown as cards: dashboard.css), the
    addresses, and the months' short names in the language in force. The summary panel (panel.py)
    writes its addresses and days with it too."""

    row: str
    migration_address: str
    item_address: str
    months: dict[int, str]

    @classmethod
    def make(cls) -> "Page":
        def label(key: str) -> str:  # a heading in a data-label: escaped, and not a format field
            return escape(HEADINGS[key]).replace("{", "{{").replace("}", "}}")

        def cell(key: str, css: str = "") -> str:
            return f'<td class="nhsuk-table__cell{css}" role="cell" data-label="{label(key)}">{{}}</td>'

        numeric = " nhsuk-table__cell--numeric"
        row = "\n".join(
            [
                '<tr class="nhsuk-table__row" id="migration-{}" role="row">',
                '<td class="nhsuk-table__cell tracker-cell--practice" role="cell"><a href="{}">{}</a></td>',
                cell("ods_code"),
                cell("icb"),
                cell("suppliers"),
                cell("phase").replace("{}", '{} <span class="tracker-reason">{}</span>'),
                cell("go_live", " tracker-nowrap"),
                cell("days_to_go", numeric),
                cell("percent", numeric).replace("{}", "{}%"),
                cell("overdue", numeric),
                cell("blocked", numeric),
                cell("next_due"),
                '<td class="nhsuk-table__cell tracker-cell--rag" role="cell">{} <span class="tracker-reason">{}</span>',
                '<span class="tracker-reason tracker-check-in">{}</span></td>',
                "</tr>",
            ]
        )
        # As the date filter's "M" writes them (dateformat: MONTHS_3, title case), once a page.
        months = {number: str(name).title() for number, name in MONTHS_3.items()}
        return cls(row, *addresses(), months)

    def day(self, value: date | None, with_year: bool = True) -> str:
        """As the template's date filter wrote `value` with "j M Y" (or "j M"); nothing for no date."""
        if value is None:
            return ""
        return (
            f"{value.day} {self.months[value.month]} {value.year}"
            if with_year
            else f"{value.day} {self.months[value.month]}"
        )


def body(rows: list[Row]) -> SafeString:
    """The rows of the table (its <tbody>'s content), in the order given."""
    page = Page.make()
    return html_join("\n", "{}", ((_row(row, page),) for row in rows))


def _nothing_due(row: Row) -> str:
    """Why a row has no item due next: its open items are overdue, have no due date yet (dates not
    agreed), or there are none."""
    undated = row.applicable - row.done - row.overdue  # open, not overdue, and none due: no date
    if row.overdue:
        return "Nothing more: every open item is overdue" if undated <= 0 else "No other open item has a due date yet"
    return "No open item has a due date yet" if undated > 0 else "Nothing due"


def _row(row: Row, page: Page) -> SafeString:
    if row.status in NOT_RATED:
        # Nothing of a migration on hold or cancelled is due, as its own page says.
        next_due = f"Nothing is due: {NOT_RATED[row.status].lower()}"
    elif row.next_item_pk:
        next_due = html(
            '<span class="tracker-nowrap">{}:</span> <a href="{}">{}</a>',
            page.day(row.next_due_on),
            page.item_address.format(row.pk, row.next_item_pk),
            _cut(row.next_item_title, 80),
        )
    else:
        next_due = _nothing_due(row)
    if row.rag:
        tag = html('<strong class="nhsuk-tag {}">{}</strong>', row.rag.tag_class, row.rag.label)
    else:
        tag = html('<strong class="nhsuk-tag nhsuk-tag--grey">{}</strong>', row.rag_label)
    return html(
        page.row,
        row.pk,
        page.migration_address.format(row.pk),
        row.practice_name,
        row.ods_code,
        row.icb_name,
        row.suppliers,
        row.phase_title,
        row.checklist_text,
        page.day(row.go_live_on) or "Not agreed",
        row.days_to_go_text,
        row.percent,
        row.overdue,
        row.blocked,
        next_due,
        tag,
        _cut(row.rag_reason, 120),
        _check_in(row, page),
    )


def _check_in(row: Row, page: Page) -> SafeString:
    """The weekly check-in under the RAG status: the missed flag, and the last check-in's day and
    the worst of each side's latest self-assessment (text, so it is not read as the row's RAG tag)."""
    # Constant markup, part of the format string: only the text after it is a value (escaped).
    missed = '<strong class="nhsuk-tag nhsuk-tag--red">Check-in missed</strong> ' if row.check_in_missed else ""
    if row.last_check_in_on:
        # The worse of the two sides' latest, which may be an earlier day's: not "4 Dec: amber" for
        # a green check-in on 4 Dec after an amber one on 3 Dec.
        assessed = f"; worse of the latest: {row.check_in_rag_label.lower()}" if row.check_in_rag else ""
        last = f"Last check-in {page.day(row.last_check_in_on, with_year=False)}{assessed}"
    elif row.status == "active":
        last = "No check-in yet"
    else:
        last = ""
    return html(missed + "{}", last)


def _cut(text: str, length: int) -> str:
    """As the truncatechars filter cuts `text`; a text that fits comes back as it would (NFC)."""
    return truncatechars(text, length) if len(text) > length else unicodedata.normalize("NFC", text)
