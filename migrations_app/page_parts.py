"""The parts of the migration page that an item's change of status moves, made in Python (markup.html),
as its rows are (item_rows.py): the page draws each once, and the answer to every tick draws them all
again, to be swapped in out of band (`oob`). As templates they took 1.1 of the 1.3 ms it took to draw
that answer (bench/capacity.py's tick), most of it the template language's includes and lookups.
The page's templates and the answer reach them through tags (templatetags/checklist_rows.py);
tests/test_page_parts.py holds their markup."""

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from migrations_app import item_rows
from migrations_app.markup import html, html_join

_OUT_OF_BAND = ' hx-swap-oob="true"'


def _oob(oob: bool) -> str:
    return _OUT_OF_BAND if oob else ""


def phase_progress(phase, oob: bool = False) -> SafeString:
    """How much of a phase (checklist.Phase) is done, under its heading."""
    progress = phase.progress
    return html(
        '<p class="nhsuk-body-s" id="phase-{}-progress"' + _oob(oob) + ">\n  {} of {} applicable items done{}.\n</p>",
        phase.phase.pk,
        progress.done,
        progress.applicable,
        f", {phase.open_count} open" if phase.open_count else "",
    )


def phase_summary(phase, oob: bool = False) -> SafeString:
    """What a collapsed phase's link says it shows (checklist.Phase.summary)."""
    return html(
        '<span class="nhsuk-details__summary-text" id="phase-{}-summary"' + _oob(oob) + ">{}"
        '<span class="nhsuk-u-visually-hidden"> of {}</span></span>',
        phase.phase.pk,
        phase.summary_text,
        phase.phase.title,
    )


def progress(checklist, oob: bool = False) -> SafeString:
    """The checklist's overall progress, as a sentence and a bar."""
    overall = checklist.progress
    return html(
        '<div id="overall-progress"' + _oob(oob) + ">\n"
        '  <p class="nhsuk-body-l nhsuk-u-margin-bottom-2"><strong>{}% complete</strong>:'
        " {} of {} applicable items done.</p>\n"
        '  <progress class="tracker-progress" max="{}" value="{}" aria-label="Overall progress">{}%</progress>\n'
        "</div>",
        overall.percent,
        overall.done,
        overall.applicable,
        overall.applicable,
        overall.done,
        overall.percent,
    )


def view_count(view, oob: bool = False) -> SafeString:
    """How many items a view of the checklist (checklist.View) shows, in its link."""
    return html(
        '<span class="tracker-views__count" id="view-{}-count"' + _oob(oob) + ">({})</span>", view.key, view.count
    )


def current_phase(checklist, oob: bool = False) -> SafeString:
    """The current phase by the milestone dates, against the checklist's (Checklist.phase_by_dates)."""
    title, lag = checklist.phase_by_dates
    return html(
        '<p class="nhsuk-body-l nhsuk-u-margin-bottom-3" id="current-phase"' + _oob(oob) + ">"
        "Current phase, by the milestone dates: <strong>{}</strong>. {}</p>",
        title,
        lag,
    )


def rag_status(checklist, oob: bool = False) -> SafeString:
    """The migration's RAG status and why, as the dashboard gives it (Checklist.rag); none on hold or
    cancelled. Then, for a migration added to the tracker part way through, how many of its overdue
    items fell due before it was added (Checklist.overdue_before_added), to catch up on."""
    parts = []
    assessment = checklist.rag
    if assessment:
        parts.append(
            html(
                '<p class="nhsuk-body nhsuk-u-margin-bottom-3">RAG status: <strong class="nhsuk-tag {}">{}</strong>'
                ' {}. <a href="{}">How the RAG status is worked out</a></p>',
                assessment.rag.tag_class,
                assessment.rag.label,
                assessment.reason,
                reverse("migrations:rag_help"),
            )
        )
    before = len(checklist.overdue_before_added)
    if before:
        one = before == 1
        signer = ""
        if checklist.gates_overdue_before_added:
            signer = ": a sign-off gate is signed off by its signer"
            if until := checklist.catch_up_until:
                signer += (
                    f". Until {item_rows.day(until)}, an overdue gate among them does not by itself make the"
                    " migration red"
                )
        parts.append(
            html(
                '<div class="nhsuk-inset-text nhsuk-u-margin-top-0">\n'
                '<span class="nhsuk-u-visually-hidden">Information: </span>\n'
                "<p>{} overdue item{} due before this migration was added to the tracker on {}. If {} done before"
                ' then, mark {} as done here{}. <a href="?show=overdue#checklist">See the overdue item{}</a></p>\n'
                "</div>",
                before,
                " was" if one else "s were",
                item_rows.day(timezone.localtime(checklist.migration.created_at).date()),
                "it was" if one else "they were",
                "it" if one else "them",
                signer,
                "" if one else "s",
            )
        )
    return html(
        '<div id="rag-status"' + _oob(oob) + ">\n{}\n</div>", html_join("\n", "{}", ((part,) for part in parts))
    )
