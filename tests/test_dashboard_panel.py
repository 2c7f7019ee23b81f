"""The dashboard's summary panel, made in Python (dashboard/panel.py), against the template it
replaced (with the wording changed since): the same markup for every branch (one migration or
many; statuses with no RAG status or none; go-lives to come, more than are named, or none; months
or none, a month with no go-lives; cutovers or none, live migrations left out of them for want of
an FDP date or none; medians whole and halved) and for values that must be escaped."""

import re
from dataclasses import replace
from datetime import date

import pytest
from django.template import engines

from migrations_app.dashboard import panel
from migrations_app.dashboard.rag import Rag
from migrations_app.dashboard.summary import Cutover, Month, PhaseCount, Segment, Soon, Summary

# The panel as the dashboard's template wrote it before dashboard/panel.py, with the wording of the
# chart's description and of the cutover lengths changed since (and their note of the live
# migrations left out).
TEMPLATE = """
<section class="tracker-summary" aria-labelledby="summary-heading">
  <h2 class="nhsuk-heading-m" id="summary-heading">{% if summary.total == 0 %}Summary: no migrations found{% elif summary.total == 1 %}Summary of this migration{% else %}Summary of these {{ summary.total }} migrations{% endif %}</h2>
  <div class="nhsuk-grid-row nhsuk-card-group">
    {% for rag, count, url in rag_links %}
    <div class="{% if status_links %}nhsuk-grid-column-one-quarter{% else %}nhsuk-grid-column-one-third{% endif %} nhsuk-card-group__item">
      <div class="nhsuk-card tracker-rag-card tracker-rag-card--{{ rag.value }}">
        <div class="nhsuk-card__content">
          <h3 class="nhsuk-card__heading nhsuk-heading-s"><strong class="nhsuk-tag {{ rag.tag_class }}">{{ rag.label }}</strong></h3>
          <p class="tracker-figure">{{ count }}</p>
          <p class="nhsuk-card__description"><a href="{{ url }}">Show only {{ rag.label|lower }}<span class="nhsuk-u-visually-hidden"> migrations</span></a></p>
        </div>
      </div>
    </div>
    {% endfor %}
    {% for label, count, url in status_links %}
    <div class="nhsuk-grid-column-one-quarter nhsuk-card-group__item">
      <div class="nhsuk-card tracker-rag-card">
        <div class="nhsuk-card__content">
          <h3 class="nhsuk-card__heading nhsuk-heading-s"><strong class="nhsuk-tag nhsuk-tag--grey">{{ label }}</strong></h3>
          <p class="tracker-figure">{{ count }}</p>
          <p class="nhsuk-card__description"><a href="{{ url }}">Show only {{ label|lower }}<span class="nhsuk-u-visually-hidden"> migrations</span></a></p>
        </div>
      </div>
    </div>
    {% endfor %}
  </div>
  <div class="nhsuk-grid-row">
    <div class="nhsuk-grid-column-one-half">
      <table class="nhsuk-table nhsuk-table--compact">
        <caption class="nhsuk-table__caption nhsuk-table__caption--s">By current phase</caption>
        <thead class="nhsuk-table__head">
          <tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Phase</th><th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Migrations</th></tr>
        </thead>
        <tbody class="nhsuk-table__body">
          {% for phase in summary.phases %}
          <tr class="nhsuk-table__row"><th scope="row" class="nhsuk-table__header tracker-row-header">{{ phase.title }}</th><td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{ phase.count }}</td></tr>
          {% endfor %}
        </tbody>
      </table>
    </div>
    <div class="nhsuk-grid-column-one-half">
      <h3 class="nhsuk-heading-s">Going live in the next 4 weeks: {{ summary.soon_count }}</h3>
      {% if summary.soon %}
      <ul class="nhsuk-list tracker-soon">
        {% for row in summary.soon %}<li>{{ row.go_live_on|date:"j M" }}: <a href="{% url 'migrations:migration_detail' row.pk %}">{{ row.practice_name }}</a> ({{ row.ods_code }})</li>{% endfor %}
      </ul>
      {% if summary.soon_count > soon_shown %}<p><a href="{{ soon_url }}">Show all {{ summary.soon_count }} go-lives in the next 4 weeks</a></p>{% endif %}
      {% else %}
      <p>None of these migrations goes live in the next 4 weeks.</p>
      {% endif %}
    </div>
  </div>

  <figure class="tracker-chart" aria-labelledby="chart-heading">
    <h3 class="nhsuk-heading-s" id="chart-heading">Migrations by go-live month and current phase</h3>
    <p class="nhsuk-body-s">The bars show the figures of the table after them. Each bar is a go-live month, in parts for the phases its migrations are in. {% if summary.months_filled %}Every month from the first go-live to the last has a bar: a month with no go-lives shows 0.{% else %}Only months with go-lives have a bar: the first and the last are more than three years apart.{% endif %}</p>
    <ul class="tracker-chart__legend" aria-hidden="true">
      {% for phase in summary.phases %}<li><span class="tracker-chart__swatch tracker-chart__segment--{{ phase.index }}"></span>{{ phase.title }}</li>{% endfor %}
    </ul>
    <div class="tracker-chart__bars" aria-hidden="true">
      {% for month in summary.months %}
      <div class="tracker-chart__row">
        <span class="tracker-chart__label">{{ month.label }}</span>
        <svg class="tracker-chart__bar" viewBox="0 0 100 10" preserveAspectRatio="none" focusable="false">{% for segment in month.segments %}<rect class="tracker-chart__segment--{{ segment.phase.index }}" x="{{ segment.start|stringformat:'.3f' }}" y="0" width="{{ segment.width|stringformat:'.3f' }}" height="10"/>{% endfor %}</svg>
        <span class="tracker-chart__total">{{ month.total }}</span>
      </div>
      {% endfor %}
    </div>
    <div class="tracker-table-scroll" role="region" aria-label="Migrations by go-live month and phase, as a table" tabindex="0">
      <table class="nhsuk-table nhsuk-table--compact">
        <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">Migrations by go-live month and current phase</caption>
        <thead class="nhsuk-table__head">
          <tr class="nhsuk-table__row">
            <th scope="col" class="nhsuk-table__header">Go-live month</th>
            {% for phase in summary.phases %}<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">{{ phase.title }}</th>{% endfor %}
            <th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">All phases</th>
          </tr>
        </thead>
        <tbody class="nhsuk-table__body">
          {% for month in summary.months %}
          <tr class="nhsuk-table__row">
            <th scope="row" class="nhsuk-table__header tracker-row-header">{{ month.label }}</th>
            {% for count in month.counts %}<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{ count }}</td>{% endfor %}
            <td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{ month.total }}</td>
          </tr>
          {% empty %}
          <tr class="nhsuk-table__row"><td class="nhsuk-table__cell" colspan="{{ summary.phases|length|add:2 }}">No migrations.</td></tr>
          {% endfor %}
        </tbody>
      </table>
    </div>
  </figure>

  <div class="tracker-table-scroll" role="region" aria-label="Cutover length by systems" tabindex="0">
  <table class="nhsuk-table nhsuk-table--compact">
    <caption class="nhsuk-table__caption nhsuk-table__caption--s">Cutover length (FDP to go-live) of the live migrations with an FDP date, by systems</caption>
    <thead class="nhsuk-table__head">
      <tr class="nhsuk-table__row">
        <th scope="col" class="nhsuk-table__header">Systems (current to new)</th>
        <th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Live migrations</th>
        <th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Median (days)</th>
        <th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Longest (days)</th>
      </tr>
    </thead>
    <tbody class="nhsuk-table__body">
      {% for cutover in summary.cutovers %}
      <tr class="nhsuk-table__row">
        <th scope="row" class="nhsuk-table__header tracker-row-header">{{ cutover.suppliers }}</th>
        <td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{ cutover.count }}</td>
        <td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{ cutover.median_days|floatformat:"-1" }}</td>
        <td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{ cutover.longest_days }}</td>
      </tr>
      {% empty %}
      <tr class="nhsuk-table__row"><td class="nhsuk-table__cell" colspan="4">{% if summary.live_without_fdp %}None of the live migrations has an FDP date.{% else %}None of these migrations is live yet.{% endif %}</td></tr>
      {% endfor %}
    </tbody>
  </table>
  </div>
  {% if summary.live_without_fdp %}<p class="nhsuk-body-s">{{ summary.live_without_fdp }} live migration{{ summary.live_without_fdp|pluralize }} without an FDP date {{ summary.live_without_fdp|pluralize:"is,are" }} left out.</p>{% endif %}
</section>
"""  # noqa: E501

PHASES = [
    PhaseCount(0, "early", "Early phases", 3),
    PhaseCount(1, "data", "Data & <checks>", 0),
    PhaseCount(2, "not-agreed", "Dates not agreed", 1),
]
BASE = Summary(
    total=4,
    by_rag=[(Rag.RED, 1), (Rag.AMBER, 0), (Rag.GREEN, 3)],
    not_rated=[],
    phases=PHASES,
    soon=[
        Soon(7, "Hillview Surgery", "Y90001", date(2026, 12, 9)),
        Soon(12, "O'Brien & <Sons>", "A&B", date(2027, 1, 1)),
    ],
    soon_count=2,
    months=[
        Month(
            "January 2027",
            3,
            [2, 0, 1],
            [Segment(PHASES[0], 2, 0.0, 66.66666), Segment(PHASES[2], 1, 66.66666, 33.33333)],
        ),
        Month("February 2027", 0, [0, 0, 0], []),
        Month("March 2027", 1, [1, 0, 0], [Segment(PHASES[0], 1, 0.0, 33.333333)]),
        Month("Go-live not agreed", 1, [0, 0, 1], [Segment(PHASES[2], 1, 0.0, 33.333333)]),
    ],
    cutovers=[
        Cutover("EMIS Web to TPP SystmOne", 3, 21.5, 30),
        Cutover("A & <B>", 1, 14, 14),
        Cutover("All supplier pairs", 4, 15.0, 30),
    ],
)
SUMMARIES = [
    BASE,
    replace(BASE, total=1),
    replace(BASE, total=0),
    replace(BASE, soon=[], soon_count=0),
    replace(BASE, soon_count=25),
    replace(BASE, months=[], cutovers=[]),
    replace(BASE, live_without_fdp=1),
    replace(BASE, live_without_fdp=2),
    replace(BASE, cutovers=[], live_without_fdp=2),
    replace(BASE, months_filled=False),
    replace(BASE, not_rated=[("on_hold", "On hold", 2), ("cancelled", "Cancelled", 1)]),
]


def squeezed(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


def links(summary: Summary) -> tuple[list, list, str]:
    rag_links = [(rag, count, f"?rag={rag.value}&sort=-overdue") for rag, count in summary.by_rag]
    status_links = [(label, count, f"?status={status}&q=<x>") for status, label, count in summary.not_rated]
    return rag_links, status_links, "?go_live=next-4-weeks&page=2"


@pytest.mark.parametrize("summary", SUMMARIES, ids=range(len(SUMMARIES)))
def test_the_panel_is_what_the_template_wrote(summary):
    rag_links, status_links, soon_url = links(summary)
    context = {
        "summary": summary,
        "rag_links": rag_links,
        "status_links": status_links,
        "soon_url": soon_url,
        "soon_shown": 10,
    }

    expected = engines["django"].from_string(TEMPLATE).render(context)

    assert squeezed(panel.section(summary, rag_links, status_links, soon_url, 10)) == squeezed(expected)


def test_values_are_escaped_once():
    written = panel.section(BASE, *links(BASE), 10)

    assert "O&#x27;Brien &amp; &lt;Sons&gt;" in written and "Data &amp; &lt;checks&gt;" in written
    assert "?rag=red&amp;sort=-overdue" in written
    assert "<Sons>" not in written and "&amp;amp;" not in written
