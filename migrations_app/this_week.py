"""The "This week" panel of the migration page, made in Python (markup.html) as its item rows are
(item_rows.py): what is overdue, the most overdue first (at most checklist.MOST_OVERDUE, then how
many each phase has, linking to the Overdue view), and what falls due in the next 7 days, with who
owns each (the viewer's own marked "yours": access.Relations). The answer to every tick replaces it
out of band; as a template, with a few dozen items due, it was most of that answer's rendering.

tests/test_this_week.py holds the markup to the template it replaced."""

from datetime import date

from django.urls import reverse
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.safestring import SafeString

from migrations_app.markup import html, html_join
from migrations_app.models import ItemStatus

_NOTHING = SafeString(
    '<p class="nhsuk-card__description">Nothing is overdue and nothing falls due in the next 7 days.</p>'
)
# On hold or cancelled, nothing is due (PracticeMigration.is_paused): not "nothing falls due", which
# the dashboard's next item due would seem to contradict.
_PAUSED = SafeString(
    '<p class="nhsuk-card__description">Nothing is due while the migration is {}: due dates count again '
    "once it is resumed.</p>"
)
# Cancelled, it cannot be resumed: nothing is due any more.
_CANCELLED = SafeString('<p class="nhsuk-card__description">Nothing is due: the migration is cancelled.</p>')
# The panel's start, as the page shows it and as the answer to an item's action swaps it in (hx-swap-oob).
_START = '<section class="nhsuk-card tracker-this-week" id="this-week" aria-labelledby="this-week-heading"{}>'
_OUT_OF_BAND = SafeString(' hx-swap-oob="true"')
_HEADING = SafeString(
    '<div class="nhsuk-card__content">\n<h2 class="nhsuk-card__heading" id="this-week-heading">This week</h2>'
)
_END = SafeString("</div>\n</section>")
# One item: its address, title, whether it is blocked (as its row's tag says), when it is due, who
# owns it and whether it is the viewer's.
_ITEM = '<li><a href="{}">{}</a>{} <span class="nhsuk-u-secondary-text-colour">due {}, {}{}</span></li>'
_BLOCKED = SafeString(' <strong class="nhsuk-tag nhsuk-tag--orange">Blocked</strong>')


def section(checklist, oob: bool = False) -> SafeString:
    """The panel for `checklist` (checklist.Checklist); with `oob`, marked to be swapped in out of
    band (hx-swap-oob) by the answer to an item's action."""
    page = reverse("migrations:migration_detail", args=(checklist.migration.pk,))
    parts = [html(_START, _OUT_OF_BAND if oob else ""), _HEADING]
    overdue, due_soon = checklist.overdue, checklist.due_soon
    # The names in the language in force, as the date filter writes them, once for the panel.
    months = {number: str(name) for number, name in MONTHS.items()}
    weekdays = {number: str(name) for number, name in WEEKDAYS.items()}
    if checklist.migration.status == checklist.migration.Status.CANCELLED:
        parts.append(_CANCELLED)
    elif checklist.migration.is_paused:
        parts.append(html(_PAUSED, checklist.migration.get_status_display().lower()))
    elif not overdue and not due_soon:
        parts.append(_NOTHING)
    if overdue:
        most = checklist.most_overdue
        parts.append(
            html(
                '<h3 class="nhsuk-heading-s nhsuk-u-margin-bottom-2" id="this-week-overdue">Overdue ({})</h3>\n'
                '<ul class="nhsuk-list">\n{}\n</ul>',
                len(overdue),
                _items(most, f"{page}?show=overdue", lambda day: f"{day.day} {months[day.month]}"),
            )
        )
        if len(overdue) > len(most):
            parts.append(
                html(
                    '<p class="nhsuk-body-s nhsuk-u-margin-bottom-2" id="this-week-overdue-phases">'
                    "The {} most overdue are above. Overdue by phase:</p>\n"
                    '<ul class="nhsuk-list nhsuk-list--bullet" aria-labelledby="this-week-overdue-phases">\n{}\n</ul>\n'
                    '<p><a href="{}?show=overdue#checklist">See all {} overdue items</a></p>',
                    len(most),
                    html_join(
                        "\n",
                        '<li><a href="{}?show=overdue#phase-{}-heading">{}</a>: {} overdue</li>',
                        (
                            (page, phase.phase.pk, phase.phase.title, count)
                            for phase, count in checklist.overdue_by_phase
                        ),
                    ),
                    page,
                    len(overdue),
                )
            )
    if due_soon:
        soonest = checklist.soonest_due
        parts.append(
            html(
                '<h3 class="nhsuk-heading-s nhsuk-u-margin-bottom-2">Due in the next 7 days ({})</h3>\n'
                '<ul class="nhsuk-list">\n{}\n</ul>',
                len(due_soon),
                _items(
                    soonest,
                    f"{page}?show=next-30-days",
                    lambda day: f"{weekdays[day.weekday()]} {day.day} {months[day.month]}",
                ),
            )
        )
        if len(due_soon) > len(soonest):
            parts.append(
                html(
                    '<p class="nhsuk-body-s">The {} due soonest are above. '
                    '<a href="{}?show=next-30-days#checklist">See all {} items due in the next 30 days</a></p>',
                    len(soonest),
                    page,
                    # The view's own count, as its tab gives it (the 7 days' count is in the heading).
                    next((view.count for view in checklist.views if view.key == "next-30-days"), len(due_soon)),
                )
            )
    parts.append(_END)
    return html_join("\n", "{}", ((part,) for part in parts))


def _items(items, view: str, day) -> SafeString:
    """The items' lines, each linking to it in `view` (an address with its query), due on `day(due_on)`."""
    return html_join(
        "\n",
        _ITEM,
        (
            (
                f"{view}#item-{item.pk}",
                item.title,
                _BLOCKED if item.status == ItemStatus.BLOCKED else "",
                day(item.due_on) if isinstance(item.due_on, date) else "",
                item.owner if item.owner else item.get_responsible_role_display(),
                " (yours)" if item.is_yours else "",
            )
            for item in items
        ),
    )
