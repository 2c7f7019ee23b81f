"""A checklist item's row on the migration page, made in Python (format_html, as markup.html), as
the Django admin makes its change list's rows: templates/migrations_app/_item.html took about 0.6
ms an item, most of it the template language looking up, localising and escaping some fifty
values, and a page in the All view shows up to 131 items. The page's rows come from here through
the `item_row` tag (templatetags/checklist_rows.py), and so does the row in the answer to a tick
(with `focus`); the template stays for an answer that adds what a row on the page never has (a
form's errors, its forms opened).

tests/test_item_rows.py holds the markup to the template's for every kind of row.
"""

from datetime import date

from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.safestring import SafeString

from migrations_app.markup import html, html_join
from migrations_app.models import ChecklistItem, ItemStatus

_READY = SafeString(
    '<p class="nhsuk-body-s nhsuk-u-margin-bottom-1"><strong>Ready to sign off:</strong>'
    " every item it waits for is closed.</p>"
)
# Constant markup (templates/migrations_app/_status_tags.html): the status, and how soon it is due.
_STATUS_TAGS = {
    ItemStatus.DONE: SafeString('<strong class="nhsuk-tag nhsuk-tag--green">Done</strong>'),
    ItemStatus.NOT_APPLICABLE: SafeString('<strong class="nhsuk-tag nhsuk-tag--grey">Not applicable</strong>'),
    ItemStatus.BLOCKED: SafeString('<strong class="nhsuk-tag nhsuk-tag--orange">Blocked</strong>'),
}
_SIGNED_OFF = SafeString('<strong class="nhsuk-tag nhsuk-tag--green">Signed off</strong>')
_TO_DO = SafeString('<strong class="nhsuk-tag nhsuk-tag--white">To do</strong>')
_DUE_TAGS = {
    "overdue": SafeString('<strong class="nhsuk-tag nhsuk-tag--red">Overdue</strong>'),
    "due_soon": SafeString('<strong class="nhsuk-tag nhsuk-tag--yellow">Due soon</strong>'),
}


def row(item: ChecklistItem, csrf_input: str, focus: bool | str = False) -> SafeString:
    """`item`'s row (an <li>) as the page shows it: marked by checklist.build (due state, whose it
    is, what the viewer may do, its addresses). `csrf_input` is the hidden input of the page's
    CSRF token ({% csrf_token %}), made once for all its rows. With `focus` (the answer to a tick),
    its main button takes the focus."""
    pk, title = item.pk, item.title
    kind = '<span class="tracker-item__kind">Sign-off gate: </span>' if item.is_gate else ""
    parts = [
        html(
            '<li class="nhsuk-task-list__item tracker-item" id="item-{}">\n'
            '<div class="nhsuk-task-list__name-and-hint">\n'
            '<p class="tracker-item__title nhsuk-u-margin-bottom-1" id="item-{}-title">\n' + kind + "{}\n</p>\n"
            '<p class="nhsuk-task-list__hint nhsuk-u-margin-bottom-1" id="item-{}-hint">\n{}\n{}\n</p>',
            pk,
            pk,
            title,
            pk,
            f"Owner: {item.owner}." if item.owner else f"{item.get_responsible_role_display()}.",
            _due(item),
        )
    ]
    # A confirmation for this row (checklist.place_messages: a change made without JavaScript lands here).
    for message in getattr(item, "messages", ()):
        parts.append(
            html(
                '<div class="nhsuk-inset-text nhsuk-u-margin-top-2 nhsuk-u-margin-bottom-2" role="status">\n'
                '<span class="nhsuk-u-visually-hidden">Information: </span>\n<p>{}</p>\n</div>',
                message,
            )
        )
    if item.is_gate:
        parts.append(readiness(item))
    if item.status == ItemStatus.DONE:
        parts.append(
            html(
                '<p class="nhsuk-body-s nhsuk-u-margin-bottom-1">{} by {} on {}.{}</p>',
                "Signed off" if item.is_gate else "Done",
                item.completed_by,
                day(timezone.localtime(item.completed_at).date()) if item.completed_at else "",
                f" Signed with items it waits for still open: {item.override_reason}" if item.override_reason else "",
            )
        )
    elif item.reason:
        parts.append(
            html(
                '<p class="nhsuk-body-s nhsuk-u-margin-bottom-1">{}Reason: {}</p>',
                _marked(item),
                shortened(item.reason, item.urls.detail, "reason", title),
            )
        )
    if item.note:
        parts.append(
            html(
                '<p class="nhsuk-body-s nhsuk-u-margin-bottom-1 tracker-item__note">Note: {}</p>',
                shortened(item.note, item.urls.detail, "note", title, lines=True),
            )
        )
    urls = item.urls
    guide = (
        html(
            '<li><a href="{}" rel="noopener">Read the guide'
            '<span class="nhsuk-u-visually-hidden"> for: {}</span></a></li>',
            item.guide_url,
            title,
        )
        if item.guide_url
        else ""
    )
    parts.append(
        html(
            '<ul class="tracker-item__links nhsuk-body-s">\n{}\n'
            '<li><a href="{}">History<span class="nhsuk-u-visually-hidden"> of: {}</span></a></li>\n</ul>',
            guide,
            urls.history,
            title,
        )
    )
    if item.can_work_on:
        parts.append(_actions(item, csrf_input, focus))
    parts.append(
        html(
            '</div>\n<div class="nhsuk-task-list__status" id="item-{}-status">\n{}\n{}\n</div>\n</li>',
            pk,
            _status_tag(item),
            _DUE_TAGS.get(item.due_state, ""),
        )
    )
    return html_join("\n", "{}", ((part,) for part in parts))


def readiness(gate: ChecklistItem, oob: bool = False) -> SafeString:
    """The part of `gate`'s row that says whether it is ready to sign (_readiness); `oob`: to be
    swapped in out of band, in the answer to a change of an item it waits for."""
    return html(
        '<div id="item-{}-readiness"' + (' hx-swap-oob="true"' if oob else "") + ">{}</div>", gate.pk, _readiness(gate)
    )


def _readiness(gate: ChecklistItem) -> SafeString | str:
    """Whether `gate` is ready to sign off, or how many open items it still waits for, with a link
    to its page, which lists them."""
    if gate.is_ready_to_sign:
        return _READY
    waiting_on = getattr(gate, "waiting_on", 0)
    if not waiting_on:
        return ""
    if gate.status == ItemStatus.DONE:
        # Signed over open items, or one of them reopened since: the sign-off may need checking.
        return html(
            '<p class="nhsuk-body-s nhsuk-u-margin-bottom-1"><strong>Check this sign-off:</strong> {} item{} it'
            ' waits for {} open: <a href="{}#waits-for">see which<span class="nhsuk-u-visually-hidden"> items {}'
            " waits for</span></a>.</p>",
            waiting_on,
            "" if waiting_on == 1 else "s",
            "is" if waiting_on == 1 else "are",
            gate.urls.detail,
            gate.title,
        )
    return html(
        '<p class="nhsuk-body-s nhsuk-u-margin-bottom-1">Waits for {} item{} still open:'
        ' <a href="{}#waits-for">see which<span class="nhsuk-u-visually-hidden"> items {} waits for</span></a>.</p>',
        waiting_on,
        "" if waiting_on == 1 else "s",
        gate.urls.detail,
        gate.title,
    )


# What a row's forms offer, by the item's status, for whoever may change it (templates/
# migrations_app/_item_forms.html): an open item may be marked not applicable or blocked; a blocked
# one reopened or marked not applicable; one not applicable reopened; a done one is reopened by its
# button. Each may have a note. (The summary's words, and the link's to the item's own page.)
ACTIONS = {
    ItemStatus.TO_DO: (
        "Add a note or mark as not applicable or blocked",
        "add a note or mark it not applicable or blocked",
    ),
    ItemStatus.BLOCKED: (
        "Reopen, add a note or mark as not applicable",
        "reopen it, add a note or mark it not applicable",
    ),
    ItemStatus.NOT_APPLICABLE: ("Reopen or add a note", "reopen it or add a note to it"),
    ItemStatus.DONE: ("Add a note", "add a note to it"),
}


def _actions(item: ChecklistItem, csrf_input: str, focus: bool | str) -> SafeString:
    """The row's buttons (mark as done, sign off, reopen) and the details that load its forms."""
    urls, title = item.urls, item.title
    # The focus on the main button (focus=True: the answer to a tick), or on the row's forms
    # (focus="forms": the answer to a note, sent from them).
    submit = 'type="submit" autofocus>' if focus is True else 'type="submit">'
    may_change_status = not item.is_gate or item.can_sign
    if item.is_open and not item.is_gate:
        button = html(
            '<form method="post" action="{}" hx-post="{}" hx-target="#item-{}" hx-swap="outerHTML">\n{}\n'
            '<input type="hidden" name="shown_status" value="{}">\n'
            '<button class="nhsuk-button nhsuk-button--small nhsuk-u-margin-bottom-2" '
            + submit
            + 'Mark as done<span class="nhsuk-u-visually-hidden">: {}</span></button>\n</form>',
            urls.complete,
            urls.complete,
            item.pk,
            csrf_input,
            item.status,
            title,
        )
    elif item.is_open and item.is_gate:
        button = (
            html(
                '<a class="nhsuk-button nhsuk-button--small nhsuk-u-margin-bottom-2" href="{}#sign-off">'
                'Sign off<span class="nhsuk-u-visually-hidden">: {}</span></a>',
                urls.detail,
                title,
            )
            if item.can_sign
            else ""
        )
    elif item.status == ItemStatus.DONE and item.is_gate and may_change_status:
        # Not reopened by one click in the list: the gate's page says whose sign-off that withdraws.
        button = html(
            '<a class="nhsuk-button nhsuk-button--secondary nhsuk-button--small nhsuk-u-margin-bottom-2" '
            'href="{}#reopen-sign-off">Reopen the sign-off<span class="nhsuk-u-visually-hidden">: {}</span></a>',
            urls.detail,
            title,
        )
    elif item.status == ItemStatus.DONE and may_change_status:
        button = html(
            '<form method="post" action="{}" hx-post="{}" hx-target="#item-{}" hx-swap="outerHTML">\n{}\n'
            '<input type="hidden" name="revision" value="{}">\n'
            '<button class="nhsuk-button nhsuk-button--secondary nhsuk-button--small nhsuk-u-margin-bottom-2"'
            " " + submit + 'Reopen<span class="nhsuk-u-visually-hidden">: {}</span></button>\n</form>',
            urls.reopen,
            urls.reopen,
            item.pk,
            csrf_input,
            item.revision,
            title,
        )
    else:
        button = ""
    actions, on_its_page = ACTIONS[item.status] if may_change_status else ACTIONS[ItemStatus.DONE]
    # With no button (an item made not applicable, a gate the person does not sign), the focus goes
    # to the row's forms, so that it stays in the row rather than falling back to the top of the page.
    summary = '<summary class="nhsuk-details__summary"' + (
        " autofocus>\n" if (focus is True and not button) or focus == "forms" else ">\n"
    )
    return html(
        '<div class="tracker-item__actions">\n{}\n<details class="nhsuk-details nhsuk-u-margin-bottom-2">\n'
        + summary
        + '<span class="nhsuk-details__summary-text">{}<span class="nhsuk-u-visually-hidden">: {}</span></span>\n'
        "</summary>\n"
        '<div class="nhsuk-details__text" hx-get="{}" hx-trigger="toggle from:closest details once"'
        ' hx-swap="innerHTML">\n'
        '<p class="nhsuk-u-margin-bottom-0"><a href="{}">Open this item to {}'
        '<span class="nhsuk-u-visually-hidden">: {}</span></a></p>\n</div>\n</details>\n</div>',
        button,
        actions,
        title,
        urls.forms,
        urls.detail,
        on_its_page,
        title,
    )


def _marked(item: ChecklistItem) -> str:
    """Who marked the item blocked or not applicable, and when, before its reason: "" when nobody
    did (its condition closed it)."""
    if item.marked_by_id is None or item.marked_at is None:
        return ""
    how = "Blocked" if item.status == ItemStatus.BLOCKED else "Marked not applicable"
    return f"{how} by {item.marked_by} on {day(timezone.localtime(item.marked_at).date())}. "


def _first_lower(words: str) -> str:
    return words[:1].lower() + words[1:]


def _due(item: ChecklistItem) -> str:
    if not item.due_on:
        # Its milestone has no date yet: which one, so that a set go-live does not read as undecided.
        return f"Due date not agreed yet ({_first_lower(item.due_rule)})."
    if item.manual_due_on:
        why = " (set by hand)"
    else:
        moved_from = item.due_date_moved_from
        why = f" ({moved_from})" if moved_from else ""
    return f"Due {day(item.due_on)}{why}."


def _status_tag(item: ChecklistItem) -> SafeString:
    if item.status == ItemStatus.DONE and item.is_gate:
        return _SIGNED_OFF
    return _STATUS_TAGS.get(item.status, _TO_DO)


# How much of a note or a reason a row shows: a long one is cut at a word, with a link to the item's
# page, where it is whole (a note may have 5,000 characters: screens of text on a phone before the
# item's buttons).
SHOWN_CHARACTERS = 300


def shortened(words: str, page_url: str, what: str, title: str, *, lines: bool = False) -> SafeString:
    """`words` as a row shows them (escaped; line breaks kept when `lines`): whole up to
    SHOWN_CHARACTERS, else cut at the last space before, with "…" and a link to read them whole."""
    if len(words) <= SHOWN_CHARACTERS:
        return linebreaksbr(words, autoescape=True) if lines else html("{}", words)
    cut = words[:SHOWN_CHARACTERS]
    # Not "left.…": the sentence's own stop gives way to the ellipsis.
    cut = (cut.rsplit(None, 1)[0] if " " in cut.strip() else cut).rstrip(" .,;:")
    return html(
        '{}… <a href="{}">Read the whole {}<span class="nhsuk-u-visually-hidden">: {}</span></a>',
        linebreaksbr(cut, autoescape=True) if lines else cut,
        page_url,
        what,
        title,
    )


def day(value: date) -> str:
    """As the date filter writes `value` with "j F Y" (MONTHS: the month's name in the language in force)."""
    return f"{value.day} {MONTHS[value.month]} {value.year}"
