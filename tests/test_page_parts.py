"""The parts of the migration page that an item's change moves (page_parts.py): their markup, words and
escaping, in place and to be swapped in out of band. The page and the answer to a tick showing them
are tested in test_migration_page.py, test_checklist_views.py and test_checklist_progress.py."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse

from migrations_app import page_parts
from migrations_app.dashboard.rag import Assessment, Rag
from migrations_app.models.checklist_items import Progress

OOB = 'hx-swap-oob="true"'


def phase(pk=7, title="Plan <and> prepare", done=3, applicable=5, open_count=2, summary="Show 2 open items"):
    return SimpleNamespace(
        phase=SimpleNamespace(pk=pk, title=title),
        progress=Progress(done=done, applicable=applicable),
        open_count=open_count,
        summary_text=summary,
    )


def checklist(rag=None, before=0, gates=False, catch_up_until=None, done=1, applicable=3):
    return SimpleNamespace(
        rag=rag,
        overdue_before_added=[object()] * before,
        gates_overdue_before_added=gates,
        catch_up_until=catch_up_until,
        migration=SimpleNamespace(created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)),
        progress=Progress(done=done, applicable=applicable),
        phase_by_dates=("Go-live & after", "The checklist is 1 phase behind <the dates>."),
    )


@pytest.mark.parametrize("oob", [False, True])
def test_a_phases_progress_says_how_many_are_done_and_open(oob):
    markup = page_parts.phase_progress(phase(), oob)

    assert markup.startswith('<p class="nhsuk-body-s" id="phase-7-progress"')
    assert "3 of 5 applicable items done, 2 open." in markup
    assert (OOB in markup) is oob
    assert "open" not in page_parts.phase_progress(phase(done=5, open_count=0))


def test_a_collapsed_phases_link_names_the_phase_escaped():
    markup = page_parts.phase_summary(phase(), oob=True)

    assert markup == (
        f'<span class="nhsuk-details__summary-text" id="phase-7-summary" {OOB}>Show 2 open items'
        '<span class="nhsuk-u-visually-hidden"> of Plan &lt;and&gt; prepare</span></span>'
    )


def test_the_overall_progress_gives_the_share_done_as_words_and_a_bar():
    markup = page_parts.progress(checklist(done=1, applicable=3))

    assert "<strong>33% complete</strong>: 1 of 3 applicable items done." in markup
    assert '<progress class="tracker-progress" max="3" value="1" aria-label="Overall progress">33%</progress>' in markup
    assert OOB not in markup


def test_a_views_count_is_in_brackets():
    assert page_parts.view_count(SimpleNamespace(key="open", count=12), oob=True) == (
        f'<span class="tracker-views__count" id="view-open-count" {OOB}>(12)</span>'
    )


def test_the_current_phase_is_escaped():
    markup = page_parts.current_phase(checklist())

    assert "<strong>Go-live &amp; after</strong>. The checklist is 1 phase behind &lt;the dates&gt;.</p>" in markup


def test_the_rag_status_gives_the_reason_and_how_it_is_worked_out():
    markup = page_parts.rag_status(checklist(rag=Assessment(Rag.RED, "2 sign-off gates are overdue")), oob=True)

    assert markup.startswith(f'<div id="rag-status" {OOB}>')
    assert (
        'RAG status: <strong class="nhsuk-tag nhsuk-tag--red">Red</strong> 2 sign-off gates are overdue.'
        f' <a href="{reverse("migrations:rag_help")}">How the RAG status is worked out</a>'
    ) in markup
    assert "nhsuk-inset-text" not in markup


def test_a_migration_on_hold_has_no_rag_status():
    assert page_parts.rag_status(checklist(rag=None)) == '<div id="rag-status">\n\n</div>'


@pytest.mark.parametrize(
    ("before", "gates", "until", "words"),
    [
        (
            1,
            False,
            None,
            "1 overdue item was due before this migration was added to the tracker on 1 March 2026. If it was done"
            ' before then, mark it as done here. <a href="?show=overdue#checklist">See the overdue item</a>',
        ),
        (
            3,
            True,
            None,
            "3 overdue items were due before this migration was added to the tracker on 1 March 2026. If they were"
            " done before then, mark them as done here: a sign-off gate is signed off by its signer."
            ' <a href="?show=overdue#checklist">See the overdue items</a>',
        ),
        (
            2,
            True,
            date(2026, 3, 15),
            "here: a sign-off gate is signed off by its signer. Until 15 March 2026, an overdue gate among them does"
            " not by itself make the migration red. <a",
        ),
    ],
)
def test_overdue_items_due_before_the_migration_was_added_are_counted_to_catch_up_on(before, gates, until, words):
    # Added at 23:30 on 1 March UTC: 1 March in London, in winter time.
    markup = page_parts.rag_status(
        checklist(rag=Assessment(Rag.AMBER, "3 items overdue"), before=before, gates=gates, catch_up_until=until)
    )

    assert '<div class="nhsuk-inset-text nhsuk-u-margin-top-0">' in markup
    assert words in markup
