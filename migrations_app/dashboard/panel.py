"""The dashboard's summary panel as HTML, made in Python as its table's rows are (table.py): in the
template language it was about half the page's template time (2.7 of 5.6 ms for a delivery
partner's 700 migrations, 3.7 of 7.4 ms for the national page), most of it the chart's months and
phases, every value going through the template's lookups and escaping. Values are escaped as the
template escaped them (markup.html).

tests/test_dashboard_panel.py holds the markup to the template it replaced, for every branch.
"""

from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString

from migrations_app.dashboard.summary import Summary
from migrations_app.dashboard.table import Page
from migrations_app.markup import html, html_join

# A count by RAG status, or of a status that has none (grey, with no modifier of its own).
_CARD = """
    <div class="{} nhsuk-card-group__item">
      <div class="nhsuk-card tracker-rag-card{}">
        <div class="nhsuk-card__content">
          <h3 class="nhsuk-card__heading nhsuk-heading-s"><strong class="nhsuk-tag {}">{}</strong></h3>
          <p class="tracker-figure">{}</p>
          <p class="nhsuk-card__description"><a href="{}">Show only {}<span class="nhsuk-u-visually-hidden"> migrations</span></a></p>
        </div>
      </div>
    </div>
"""  # noqa: E501
_PHASE_ROW = (
    '<tr class="nhsuk-table__row"><th scope="row" class="nhsuk-table__header tracker-row-header">{}</th>'
    '<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{}</td></tr>'
)
_NUMERIC = '<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{}</td>'
_ROW_HEADER = '<th scope="row" class="nhsuk-table__header tracker-row-header">{}</th>'

_OPENING = """
<section class="tracker-summary" aria-labelledby="summary-heading">
  <h2 class="nhsuk-heading-m" id="summary-heading">{}</h2>
  <div class="nhsuk-grid-row nhsuk-card-group">
{}
  </div>
  <div class="nhsuk-grid-row">
    <div class="nhsuk-grid-column-one-half">
      <table class="nhsuk-table nhsuk-table--compact">
        <caption class="nhsuk-table__caption nhsuk-table__caption--s">By current phase</caption>
        <thead class="nhsuk-table__head">
          <tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Phase</th><th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Migrations</th></tr>
        </thead>
        <tbody class="nhsuk-table__body">
{}
        </tbody>
      </table>
    </div>
    <div class="nhsuk-grid-column-one-half">
      <h3 class="nhsuk-heading-s">Going live in the next 4 weeks: {}</h3>
{}
    </div>
  </div>
"""  # noqa: E501
_CHART = """
  <figure class="tracker-chart" aria-labelledby="chart-heading">
    <h3 class="nhsuk-heading-s" id="chart-heading">Migrations by go-live month and current phase</h3>
    <p class="nhsuk-body-s">The bars show the figures of the table after them. Each bar is a go-live month, in parts for the phases its migrations are in. {}</p>
    <ul class="tracker-chart__legend" aria-hidden="true">
      {}
    </ul>
    <div class="tracker-chart__bars" aria-hidden="true">
{}
    </div>
    <div class="tracker-table-scroll" role="region" aria-label="Migrations by go-live month and phase, as a table" tabindex="0">
      <table class="nhsuk-table nhsuk-table--compact">
        <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">Migrations by go-live month and current phase</caption>
        <thead class="nhsuk-table__head">
          <tr class="nhsuk-table__row">
            <th scope="col" class="nhsuk-table__header">Go-live month</th>
            {}
            <th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">All phases</th>
          </tr>
        </thead>
        <tbody class="nhsuk-table__body">
{}
        </tbody>
      </table>
    </div>
  </figure>
"""  # noqa: E501
_BAR = """
      <div class="tracker-chart__row">
        <span class="tracker-chart__label">{}</span>
        <svg class="tracker-chart__bar" viewBox="0 0 100 10" preserveAspectRatio="none" focusable="false">{}</svg>
        <span class="tracker-chart__total">{}</span>
      </div>
"""
_MONTH_ROW = """
          <tr class="nhsuk-table__row">
            {}
            {}
            <td class="nhsuk-table__cell nhsuk-table__cell--numeric">{}</td>
          </tr>
"""
_CUTOVERS = """
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
{}
    </tbody>
  </table>
  </div>
{}
</section>
"""  # noqa: E501
_CUTOVER_ROW = """
      <tr class="nhsuk-table__row">
        <th scope="row" class="nhsuk-table__header tracker-row-header">{}</th>
        <td class="nhsuk-table__cell nhsuk-table__cell--numeric">{}</td>
        <td class="nhsuk-table__cell nhsuk-table__cell--numeric">{}</td>
        <td class="nhsuk-table__cell nhsuk-table__cell--numeric">{}</td>
      </tr>
"""


def section(
    summary: Summary,
    rag_links: list[tuple],
    status_links: list[tuple],
    soon_url: str,
    soon_shown: int,
) -> SafeString:
    """The summary panel (its <section>): the counts by RAG status with their links (`rag_links`:
    rag, count, address; `status_links`: label, count, address, for the statuses with none), the
    phases, the go-lives to come, the chart and its table, and the cutover lengths."""
    page = Page.make()
    width = "nhsuk-grid-column-one-quarter" if status_links else "nhsuk-grid-column-one-third"
    cards = [
        *(
            (width, f" tracker-rag-card--{rag.value}", rag.tag_class, rag.label, count, url)
            for rag, count, url in rag_links
        ),
        *(
            ("nhsuk-grid-column-one-quarter", "", "nhsuk-tag--grey", label, count, url)
            for label, count, url in status_links
        ),
    ]
    cards = html_join("", _CARD, ((*card, card[3].lower()) for card in cards))
    phases = html_join("\n", _PHASE_ROW, ((phase.title, phase.count) for phase in summary.phases))
    opening = html(
        _OPENING,
        {0: "Summary: no migrations found", 1: "Summary of this migration"}.get(
            summary.total, f"Summary of these {summary.total} migrations"
        ),
        cards,
        phases,
        summary.soon_count,
        _soon(summary, page, soon_url, soon_shown),
    )
    return SafeString(opening + _chart(summary) + _cutovers(summary))  # nosec B703: each part made by html()


def _soon(summary: Summary, page: Page, soon_url: str, soon_shown: int) -> SafeString:
    if not summary.soon:
        return html("<p>None of these migrations goes live in the next 4 weeks.</p>")
    items = html_join(
        "",
        '<li>{}: <a href="{}">{}</a> ({})</li>',
        (
            (
                page.day(row.go_live_on, with_year=False),
                page.migration_address.format(row.pk),
                row.practice_name,
                row.ods_code,
            )
            for row in summary.soon
        ),
    )
    more = (
        html('<p><a href="{}">Show all {} go-lives in the next 4 weeks</a></p>', soon_url, summary.soon_count)
        if summary.soon_count > soon_shown
        else ""
    )
    return html('<ul class="nhsuk-list tracker-soon">\n{}\n</ul>\n{}', items, more)


def _chart(summary: Summary) -> SafeString:
    legend = html_join(
        "",
        '<li><span class="tracker-chart__swatch tracker-chart__segment--{}"></span>{}</li>',
        ((phase.index, phase.title) for phase in summary.phases),
    )
    bars = html_join(
        "",
        _BAR,
        (
            (
                month.label,
                html_join(
                    "",
                    '<rect class="tracker-chart__segment--{}" x="{}" y="0" width="{}" height="10"/>',
                    (
                        (segment.phase.index, f"{segment.start:.3f}", f"{segment.width:.3f}")
                        for segment in month.segments
                    ),
                ),
                month.total,
            )
            for month in summary.months
        ),
    )
    headings = html_join(
        "",
        '<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">{}</th>',
        ((phase.title,) for phase in summary.phases),
    )
    if summary.months:
        months = html_join(
            "",
            _MONTH_ROW,
            (
                (
                    html(_ROW_HEADER, month.label),
                    html_join("", _NUMERIC, ((count,) for count in month.counts)),
                    month.total,
                )
                for month in summary.months
            ),
        )
    else:
        months = html(
            '<tr class="nhsuk-table__row"><td class="nhsuk-table__cell" colspan="{}">No migrations.</td></tr>',
            len(summary.phases) + 2,
        )
    months_shown = (
        "Every month from the first go-live to the last has a bar: a month with no go-lives shows 0."
        if summary.months_filled
        else "Only months with go-lives have a bar: the first and the last are more than three years apart."
    )
    return html(_CHART, months_shown, legend, bars, headings, months)


def _cutovers(summary: Summary) -> SafeString:
    """The cutover lengths, and how many live migrations they leave out for want of an FDP date."""
    if summary.cutovers:
        rows = html_join(
            "",
            _CUTOVER_ROW,
            (
                (cutover.suppliers, cutover.count, floatformat(cutover.median_days, "-1"), cutover.longest_days)
                for cutover in summary.cutovers
            ),
        )
    else:
        rows = html(
            '<tr class="nhsuk-table__row"><td class="nhsuk-table__cell" colspan="4">{}</td></tr>',
            "None of the live migrations has an FDP date."
            if summary.live_without_fdp
            else "None of these migrations is live yet.",
        )
    left_out = summary.live_without_fdp
    note = (
        html(
            '<p class="nhsuk-body-s">{} live {} without an FDP date {} left out.</p>',
            left_out,
            "migration" if left_out == 1 else "migrations",
            "is" if left_out == 1 else "are",
        )
        if left_out
        else ""
    )
    return html(_CUTOVERS, rows, note)
