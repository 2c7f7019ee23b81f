"""The dashboard table's rows, made in Python (dashboard/table.py), against the template they
replaced: the same markup, row by row, for every branch of a row (RAG status or none, next item or
nothing due, check-in missed, given, not yet, or none expected), dates, truncation, and values
that must be escaped."""

import re
from dataclasses import replace
from datetime import date

import pytest
from django.template import engines
from django.urls import reverse

from migrations_app.dashboard import table
from migrations_app.dashboard.rag import Rag
from migrations_app.dashboard.rows import TABLE_COLUMNS, Row

# The row as the dashboard's template wrote it before dashboard/table.py (one row of its loop).
TEMPLATE_ROW = """
        <tr class="nhsuk-table__row" id="migration-{{ row.pk }}" role="row">
          <td class="nhsuk-table__cell tracker-cell--practice" role="cell"><a href="{% url 'migrations:migration_detail' row.pk %}">{{ row.practice_name }}</a></td>
          <td class="nhsuk-table__cell" role="cell" data-label="{{ cell_headings.ods_code }}">{{ row.ods_code }}</td>
          <td class="nhsuk-table__cell" role="cell" data-label="{{ cell_headings.icb }}">{{ row.icb_name }}</td>
          <td class="nhsuk-table__cell" role="cell" data-label="{{ cell_headings.suppliers }}">{{ row.suppliers }}</td>
          <td class="nhsuk-table__cell" role="cell" data-label="{{ cell_headings.phase }}">{{ row.phase_title }} <span class="tracker-reason">{{ row.checklist_text }}</span></td>
          <td class="nhsuk-table__cell tracker-nowrap" role="cell" data-label="{{ cell_headings.go_live }}">{{ row.go_live_on|date:"j M Y"|default:"Not agreed" }}</td>
          <td class="nhsuk-table__cell nhsuk-table__cell--numeric" role="cell" data-label="{{ cell_headings.days_to_go }}">{{ row.days_to_go_text }}</td>
          <td class="nhsuk-table__cell nhsuk-table__cell--numeric" role="cell" data-label="{{ cell_headings.percent }}">{{ row.percent }}%</td>
          <td class="nhsuk-table__cell nhsuk-table__cell--numeric" role="cell" data-label="{{ cell_headings.overdue }}">{{ row.overdue }}</td>
          <td class="nhsuk-table__cell nhsuk-table__cell--numeric" role="cell" data-label="{{ cell_headings.blocked }}">{{ row.blocked }}</td>
          <td class="nhsuk-table__cell" role="cell" data-label="{{ cell_headings.next_due }}">{% if row.status == "on_hold" %}Nothing is due: on hold{% elif row.status == "cancelled" %}Nothing is due: cancelled{% elif row.next_item_pk %}<span class="tracker-nowrap">{{ row.next_due_on|date:"j M Y" }}:</span> <a href="{% url 'migrations:item_detail' row.pk row.next_item_pk %}">{{ row.next_item_title|truncatechars:80 }}</a>{% elif row.overdue %}{% if row.applicable|add:0 > row.done|add:row.overdue %}No other open item has a due date yet{% else %}Nothing more: every open item is overdue{% endif %}{% elif row.applicable > row.done %}No open item has a due date yet{% else %}Nothing due{% endif %}</td>
          <td class="nhsuk-table__cell tracker-cell--rag" role="cell">{% if row.rag %}<strong class="nhsuk-tag {{ row.rag.tag_class }}">{{ row.rag.label }}</strong>{% else %}<strong class="nhsuk-tag nhsuk-tag--grey">{{ row.rag_label }}</strong>{% endif %} <span class="tracker-reason">{{ row.rag_reason|truncatechars:120 }}</span>
<span class="tracker-reason tracker-check-in">{% if row.check_in_missed %}<strong class="nhsuk-tag nhsuk-tag--red">Check-in missed</strong> {% endif %}{% if row.last_check_in_on %}Last check-in {{ row.last_check_in_on|date:"j M" }}{% if row.check_in_rag %}; worse of the latest: {{ row.check_in_rag_label|lower }}{% endif %}{% elif row.status == "active" %}No check-in yet{% endif %}</span></td>
        </tr>
"""  # noqa: E501

BASE = Row(
    pk=7,
    practice_name="Hillview Surgery",
    ods_code="Y90001",
    icb_name="NHS Somewhere ICB",
    source="EMIS Web",
    target="TPP SystmOne",
    status="active",
    template_version_id=1,
    go_live_on=date(2026, 9, 30),
    fdp_on=date(2026, 9, 2),
    done=12,
    applicable=112,
    blocked=1,
    phase_position=3,
    overdue=4,
    days_to_go=48,
    phase_title="Plan the migration",
    checklist_text="Checklist 1 phase behind",
    rag=Rag.AMBER,
    rag_reason="4 items are overdue",
    next_item_pk=1234,
    next_item_title="Agree the go-live date",
    next_due_on=date(2026, 8, 14),
)

ROWS = [
    BASE,
    replace(BASE, pk=123456, rag=Rag.RED, overdue=1500, blocked=0, done=112, days_to_go=0),
    replace(BASE, rag=Rag.GREEN, days_to_go=-1, go_live_on=date(2026, 1, 1), next_item_pk=None),
    replace(BASE, days_to_go=-20, go_live_on=None, next_due_on=date(2026, 9, 1)),
    replace(BASE, status="on_hold", rag=None, rag_reason="", next_item_pk=None, days_to_go=None),
    replace(BASE, status="cancelled", rag=None, rag_reason=""),  # its next item kept, and not shown
    replace(BASE, status="cancelled", rag=None, last_check_in_on=date(2026, 5, 4), check_in_rag="red"),
    replace(BASE, check_in_missed=True, last_check_in_on=date(2026, 6, 28), check_in_rag="amber"),
    replace(BASE, check_in_missed=True),
    replace(BASE, last_check_in_on=date(2026, 7, 1), check_in_rag=""),
    replace(BASE, status="completed", rag=Rag.GREEN, applicable=0, done=0),
    # No item due next: every open item overdue; none dated yet; the open ones not overdue undated.
    replace(BASE, next_item_pk=None, overdue=100),
    replace(BASE, next_item_pk=None, overdue=0),
    replace(BASE, next_item_pk=None, overdue=0, done=112),
    # Long text is cut as the template cut it; markup and ampersands in names are escaped.
    replace(BASE, next_item_title="Check " * 30, rag_reason="Because " * 30),
    replace(
        BASE,
        practice_name='<script>alert("x")</script> & Partners',
        ods_code="A&B",
        icb_name="<b>ICB</b>",
        source="Old & <new>",
        checklist_text="'quoted'",
        next_item_title="Read <this> & that",
        rag_reason='5 > 4 "overdue"',
    ),
]


def squeezed(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


@pytest.mark.parametrize("row", ROWS, ids=range(len(ROWS)))
def test_a_row_is_what_the_template_wrote(row):
    template = engines["django"].from_string(TEMPLATE_ROW)
    headings = {column.key: column.heading for column in TABLE_COLUMNS}

    expected = template.render({"row": row, "cell_headings": headings})

    assert squeezed(table.body([row])) == squeezed(expected)


def test_the_rows_come_in_the_order_given_and_are_escaped_once():
    body = table.body(ROWS)

    assert [int(pk) for pk in re.findall(r'id="migration-(\d+)"', body)] == [row.pk for row in ROWS]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Partners" in body
    assert "<script>" not in body and "&amp;amp;" not in body
    assert table.body([]) == ""


@pytest.mark.parametrize("month", range(1, 13))
def test_every_month_is_written_as_the_date_filter_writes_it(month):
    day = date(2027, month, 9)
    template = engines["django"].from_string('{{ day|date:"j M Y" }}/{{ day|date:"j M" }}')

    written = table.Page.make()

    assert f"{written.day(day)}/{written.day(day, with_year=False)}" == template.render({"day": day})


def test_the_addresses_are_those_django_reverses():
    migration, item = table.addresses()

    assert migration.format(42) == reverse("migrations:migration_detail", args=(42,))
    assert item.format(42, 9001) == reverse("migrations:item_detail", args=(42, 9001))
