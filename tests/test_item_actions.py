"""Actions on a checklist item, through the browser-facing views: mark as done, not applicable
and blocked (with a reason), notes, the history, sign-off gates, and forms gone stale; what a
POST saves (or does not), with and without htmx."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils.html import escape

from migrations_app import checklist
from migrations_app.models import ChecklistItem, Event, ItemStatus
from migrations_app.reminders import tasks
from tests.conftest import NOW
from tests.pages import (
    DUE_SOON_KEY,
    GATE_KEY,
    OVERDUE_KEY,
    STAFF_TASK_KEY,
    applicable,
    detail_url,
    element,
    error_summary,
    htmx_post,
    item,
    item_url,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

STALE_MESSAGE = "This item was changed since you opened the page"
HEADING = re.compile(r'<span class="nhsuk-table-responsive__heading"[^>]*>[^<]*</span>')


def status_events(checklist_item: ChecklistItem) -> list[tuple]:
    return list(
        checklist_item.events.order_by("pk").values_list("kind", "actor__email", "old_value", "new_value", "reason")
    )


# --- mark as done ---------------------------------------------------------------------------------------


def test_mark_as_done_saves_who_and_when_logs_it_and_returns_to_its_phase(client, migration, practice_staff):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = client.post(item_url("item_complete", task))

    assert response.status_code == 302
    # The Open view no longer shows it: the page opens at its phase, whose heading has that id.
    assert response.url == f"{detail_url(migration)}#phase-{task.phase_id}-heading"
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE
    assert task.completed_by == practice_staff
    assert task.completed_at == NOW
    assert status_events(task) == [("status", practice_staff.email, "to_do", "done", "")]
    page = client.get(response.url).content.decode()
    assert f"Marked as done: {escape(task.title)}" in page


def test_mark_as_done_with_htmx_returns_the_item_and_out_of_band_progress(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    response = htmx_post(client, item_url("item_complete", task))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f'<li class="nhsuk-task-list__item tracker-item" id="item-{task.pk}">' in html
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE
    assert task.completed_by == practice_manager
    phase_items = list(task.phase.items.all())
    phase_progress = element(html, f"phase-{task.phase_id}-progress")
    overall = element(html, "overall-progress")
    this_week = element(html, "this-week")
    for fragment in (phase_progress, overall, this_week):
        assert 'hx-swap-oob="true"' in fragment.split(">", 1)[0]
    open_in_phase = sum(1 for each in phase_items if each.is_open)
    assert text(phase_progress) == f"1 of {applicable(phase_items)} applicable items done, {open_in_phase} open."
    assert f"1 of {applicable(migration.items.all())} applicable items done." in text(overall)
    assert escape(task.title) not in this_week  # no longer overdue
    assert escape(item(migration, DUE_SOON_KEY).title) in this_week
    assert "Marked as done" in element(html, "announcer")


# What the migration page shows that a change of an item's status can move, each replaced out of band.
PAGE_FIGURES = [
    "overall-progress",
    "current-phase",
    "rag-status",
    "this-week",
    *(f"view-{key}-count" for key in checklist.VIEWS),
]


def assert_as_the_page_shows_it(fragment: str, page: str, element_ids: list[str]) -> None:
    """Each of these parts of an htmx answer is swapped out of band and reads as the page does."""
    for element_id in element_ids:
        part = element(fragment, element_id)
        assert 'hx-swap-oob="true"' in part.split(">", 1)[0], element_id
        assert text(part) == text(element(page, element_id)), element_id


def test_the_htmx_answer_to_a_tick_updates_what_it_moved_as_the_page_shows_it(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    open_items = migration.items.filter(status__in=[ItemStatus.TO_DO, ItemStatus.BLOCKED]).count()
    client.force_login(practice_manager)

    html = htmx_post(client, item_url("item_complete", task)).content.decode()

    assert text(element(html, f"item-{task.pk}-status")) == "Done"
    assert text(element(html, "view-open-count")) == f"({open_items - 1})"
    assert text(element(html, "view-all-count")) == f"({migration.items.count()})"
    page = client.get(detail_url(migration)).content.decode()
    assert_as_the_page_shows_it(html, page, [f"phase-{task.phase_id}-progress", *PAGE_FIGURES])


def test_the_htmx_answer_to_a_reopen_updates_what_it_moved_as_the_page_shows_it(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    task.complete(practice_manager)
    client.force_login(practice_manager)

    response = htmx_post(client, item_url("item_reopen", task), {"revision": task.revision, "reason": ""})

    html = response.content.decode()
    assert response.status_code == 200
    assert text(element(html, f"item-{task.pk}-status")) == "To do Overdue"
    phase_items = list(task.phase.items.all())
    open_in_phase = sum(1 for each in phase_items if each.is_open)
    assert text(element(html, f"phase-{task.phase_id}-progress")) == (
        f"0 of {applicable(phase_items)} applicable items done, {open_in_phase} open."
    )
    assert f"0 of {applicable(migration.items.all())} applicable items done." in text(element(html, "overall-progress"))
    assert "Reopened" in element(html, "announcer")
    page = client.get(detail_url(migration)).content.decode()
    assert_as_the_page_shows_it(html, page, [f"phase-{task.phase_id}-progress", *PAGE_FIGURES])


def test_ticking_the_last_item_a_gate_waits_for_shows_the_gate_ready_and_asks_its_signers(
    client, migration, practice_manager, monkeypatch, django_capture_on_commit_callbacks
):
    queued_gates = []
    monkeypatch.setattr(tasks.request_sign_off, "delay", queued_gates.append)
    gate = item(migration, GATE_KEY)
    *others, last = gate.open_dependencies()
    for each in others:
        each.complete(practice_manager)
    client.force_login(practice_manager)
    before = client.get(detail_url(migration), {"show": "all"}).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        html = htmx_post(client, item_url("item_complete", last)).content.decode()

    assert text(element(before, f"item-{gate.pk}-readiness")).startswith(
        f"Waits for 1 item still open: see which items {gate.title} waits for"
    )
    readiness = element(html, f"item-{gate.pk}-readiness")
    assert 'hx-swap-oob="true"' in readiness.split(">", 1)[0]
    assert text(readiness) == "Ready to sign off: every item it waits for is closed."
    assert text(element(html, "announcer")) == f"Marked as done. Ready to sign off: {gate.title}"
    assert queued_gates == [gate.pk]
    page = client.get(detail_url(migration), {"show": "all"}).content.decode()
    assert text(element(page, f"item-{gate.pk}-readiness")) == text(readiness)


def test_reopening_an_item_a_ready_gate_waits_for_shows_the_gate_waiting_again(client, migration, practice_manager):
    gate = item(migration, GATE_KEY)
    waited_for = list(gate.open_dependencies())
    for each in waited_for:
        each.complete(practice_manager)
    client.force_login(practice_manager)
    assert "Ready to sign off" in element(
        client.get(detail_url(migration), {"show": "all"}).content.decode(), f"item-{gate.pk}-readiness"
    )

    reopened = waited_for[0]
    html = htmx_post(
        client, item_url("item_reopen", reopened), {"revision": reopened.revision, "reason": ""}
    ).content.decode()

    readiness = element(html, f"item-{gate.pk}-readiness")
    assert 'hx-swap-oob="true"' in readiness.split(">", 1)[0]
    assert text(readiness).startswith(f"Waits for 1 item still open: see which items {gate.title} waits for")
    assert text(element(html, "announcer")) == "Reopened"


def test_a_gate_row_says_how_many_open_items_it_waits_for_and_ticking_one_counts_it_down(
    client, migration, practice_manager
):
    gate = item(migration, GATE_KEY)
    waited_for = list(gate.open_dependencies())
    assert len(waited_for) >= 3
    client.force_login(practice_manager)
    page = client.get(detail_url(migration), {"show": "all"}).content.decode()
    readiness = element(page, f"item-{gate.pk}-readiness")
    assert text(readiness).startswith(f"Waits for {len(waited_for)} items still open: see which")
    assert f'href="{item_url("item_detail", gate)}#waits-for"' in readiness

    html = htmx_post(client, item_url("item_complete", waited_for[0])).content.decode()

    readiness = element(html, f"item-{gate.pk}-readiness")
    assert 'hx-swap-oob="true"' in readiness.split(">", 1)[0]
    assert text(readiness).startswith(f"Waits for {len(waited_for) - 1} items still open")
    # The gate's own answer (a note: no change of status) says the same.
    note = htmx_post(client, item_url("item_note", gate), {"revision": gate.revision, "note": "Asked"})
    assert text(element(note.content.decode(), f"item-{gate.pk}-readiness")).startswith(
        f"Waits for {len(waited_for) - 1} items still open"
    )
    # The item page lists the items it waits for at the link's anchor.
    detail = client.get(item_url("item_detail", gate)).content.decode()
    assert 'id="waits-for"' in detail


def test_reopening_an_item_a_signed_gate_waits_for_asks_for_the_sign_off_to_be_checked(
    client, migration, practice_manager
):
    gate = item(migration, GATE_KEY)
    waited_for = list(gate.open_dependencies())
    for each in waited_for:
        each.complete(practice_manager)
    gate.sign_off(practice_manager)
    client.force_login(practice_manager)
    before = client.get(detail_url(migration), {"show": "all"}).content.decode()

    reopened = waited_for[0]
    reopened.refresh_from_db()
    html = htmx_post(
        client, item_url("item_reopen", reopened), {"revision": reopened.revision, "reason": ""}
    ).content.decode()

    assert text(element(before, f"item-{gate.pk}-readiness")) == ""
    readiness = element(html, f"item-{gate.pk}-readiness")
    assert 'hx-swap-oob="true"' in readiness.split(">", 1)[0]
    assert text(readiness).startswith("Check this sign-off: 1 item it waits for is open: see which")
    page = client.get(detail_url(migration), {"show": "all"}).content.decode()
    assert text(element(page, f"item-{gate.pk}-readiness")) == text(readiness)


def signed_gate(migration, signer) -> ChecklistItem:
    gate = item(migration, GATE_KEY)
    for each in gate.open_dependencies():
        each.complete(signer)
    gate.sign_off(signer)
    gate.refresh_from_db()
    return gate


def test_a_signed_gates_row_sends_its_reopening_to_the_gates_page_not_one_click(client, migration, clinical_lead):
    gate = signed_gate(migration, clinical_lead)
    client.force_login(clinical_lead)

    page = client.get(detail_url(migration), {"show": "all"}).content.decode()
    row = page.split(f'id="item-{gate.pk}"', 1)[1].split('class="nhsuk-task-list__item', 1)[0]

    assert f'href="{item_url("item_detail", gate)}#reopen-sign-off"' in row
    assert "Reopen the sign-off" in text(row)
    assert f'action="{item_url("item_reopen", gate)}"' not in row


def test_a_signed_gates_page_says_whose_sign_off_reopening_withdraws_and_keeps_the_reason(
    client, migration, clinical_lead
):
    gate = signed_gate(migration, clinical_lead)
    client.force_login(clinical_lead)

    page = client.get(item_url("item_detail", gate)).content.decode()
    section = text(page.split('id="reopen-sign-off"', 1)[1].split("</form>", 1)[0])
    assert f"withdraws the sign-off given by {clinical_lead} on 10 April 2025" in section
    assert "Why reopen the sign-off? (optional)" in section

    response = client.post(
        item_url("item_reopen", gate), {"revision": gate.revision, "reason": "The data check found gaps"}
    )

    assert response.status_code == 302
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by) == (ItemStatus.TO_DO, None)
    assert status_events(gate)[-1] == ("status", clinical_lead.email, "done", "to_do", "The data check found gaps")
    # Its history says a sign-off was withdrawn, not only that a status changed.
    history = text(client.get(item_url("item_history", gate)).content.decode())
    assert "What Sign-off reopened: Done to To do Reason The data check found gaps" in history


def test_reopening_a_sign_off_with_a_reason_too_long_says_so_and_keeps_the_sign_off(client, migration, clinical_lead):
    gate = signed_gate(migration, clinical_lead)
    client.force_login(clinical_lead)

    response = client.post(item_url("item_reopen", gate), {"revision": gate.revision, "reason": "x" * 2001})

    assert response.status_code == 400
    page = response.content.decode()
    assert error_summary(page) == "The reason must be 2,000 characters or fewer"
    assert 'id="reopen-sign-off"' in page
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by) == (ItemStatus.DONE, clinical_lead)


def test_a_note_with_htmx_answers_with_the_item_alone(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    html = htmx_post(client, item_url("item_note", task), {"revision": task.revision, "note": "Asked"}).content.decode()

    assert "Note: Asked" in text(element(html, f"item-{task.pk}"))
    assert 'id="overall-progress"' not in html and 'id="this-week"' not in html
    assert text(element(html, "announcer")) == "Note saved"
    # The focus back on the row's forms, where the note was written, not on "Mark as done".
    assert re.search(r'<summary class="nhsuk-details__summary" autofocus>', html)
    assert not re.search(r"autofocus>Mark as done", html)


@pytest.mark.parametrize("note", ["", "   "])
def test_a_note_saved_unchanged_says_nothing_was_saved(client, migration, practice_manager, note):
    task = item(migration, OVERDUE_KEY)
    events = task.events.count()
    client.force_login(practice_manager)

    html = htmx_post(client, item_url("item_note", task), {"revision": task.revision, "note": note}).content.decode()
    plain = client.post(item_url("item_note", task), {"revision": task.revision, "note": note}, follow=True)

    assert text(element(html, "announcer")) == "No change to the note, so nothing was saved"
    # Seen in the row too, not only by screen readers.
    assert "No change to the note, so nothing was saved" in text(element(html, f"item-{task.pk}"))
    assert "No change to the note, so nothing was saved" in text(plain.content.decode())
    assert "Note saved" not in text(plain.content.decode())
    assert task.events.count() == events


def test_a_note_saved_on_the_items_own_page_goes_back_to_it(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    own_page = reverse("migrations:item_detail", args=[migration.pk, task.pk])
    client.force_login(practice_manager)

    response = client.post(
        item_url("item_note", task),
        {"revision": task.revision, "note": "Supplier called back"},
        HTTP_REFERER=f"http://testserver{own_page}",
        follow=True,
    )

    assert response.redirect_chain == [(own_page, 302)]
    assert f"Note saved: {task.title}" in text(response.content.decode())
    task.refresh_from_db()
    assert task.note == "Supplier called back"


def test_two_people_ticking_the_same_item_both_succeed_and_only_the_change_is_logged(
    client, migration, practice_manager, clinical_lead
):
    task = item(migration, OVERDUE_KEY)
    url = item_url("item_complete", task)

    client.force_login(practice_manager)
    first = client.post(url)
    client.force_login(clinical_lead)
    second = client.post(url)

    assert (first.status_code, second.status_code) == (302, 302)
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE
    assert task.completed_by == practice_manager
    assert status_events(task) == [("status", practice_manager.email, "to_do", "done", "")]


# --- not applicable and blocked need a reason -----------------------------------------------------------

MARKS = [
    pytest.param("item_not_applicable", "not applicable", ItemStatus.NOT_APPLICABLE, id="not applicable"),
    pytest.param("item_blocked", "blocked", ItemStatus.BLOCKED, id="blocked"),
]


@pytest.mark.parametrize("reason", ["", "   "])
@pytest.mark.parametrize(("route", "label", "status"), MARKS)
def test_marking_without_a_reason_shows_the_error_and_saves_nothing(
    route, label, status, reason, client, migration, practice_staff
):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = client.post(item_url(route, task), {"revision": task.revision, "reason": reason})

    html = response.content.decode()
    assert response.status_code == 400
    assert f"Enter a reason why this item is {label}" in error_summary(html)
    assert f'id="reason-{task.pk}-error"' in html
    task.refresh_from_db()
    assert (task.status, task.reason, task.revision) == (ItemStatus.TO_DO, "", 0)
    assert status_events(task) == []


@pytest.mark.parametrize(
    ("route", "data", "message"),
    [
        ("item_note", {"note": "n" * 5001}, "The note must be 5,000 characters or fewer"),
        ("item_not_applicable", {"reason": "r" * 2001}, "The reason must be 2,000 characters or fewer"),
        ("item_blocked", {"reason": "r" * 2001}, "The reason must be 2,000 characters or fewer"),
    ],
)
def test_a_note_or_reason_too_long_says_how_long_it_may_be_and_saves_nothing(
    route, data, message, client, migration, practice_staff
):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = client.post(item_url(route, task), {"revision": task.revision, **data})

    assert response.status_code == 400
    assert error_summary(response.content.decode()) == message
    task.refresh_from_db()
    assert (task.status, task.note, task.reason, task.revision) == (ItemStatus.TO_DO, "", "", 0)


@pytest.mark.parametrize(("route", "label", "status"), MARKS)
def test_marking_without_a_reason_with_htmx_returns_the_item_with_the_error(
    route, label, status, client, migration, practice_staff
):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = htmx_post(client, item_url(route, task), {"revision": task.revision, "reason": ""})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f'id="item-{task.pk}"' in html
    error = re.search(rf'id="reason-{task.pk}-error">(.*?)</span>\s*<textarea', html, re.DOTALL)
    assert error, "no error message next to the reason box"
    assert f"Enter a reason why this item is {label}" in text(error.group(1))
    task.refresh_from_db()
    assert (task.status, task.reason) == (ItemStatus.TO_DO, "")
    assert status_events(task) == []


@pytest.mark.parametrize(("route", "label", "status"), MARKS)
def test_marking_with_a_reason_saves_the_status_and_the_reason(route, label, status, client, migration, practice_staff):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = client.post(item_url(route, task), {"revision": task.revision, "reason": "  Waiting for the CSU  "})

    assert response.status_code == 302
    # A blocked item is still open, in the Open view; one not applicable is closed, and left it.
    shown = status == ItemStatus.BLOCKED
    assert response.url == detail_url(migration) + (
        f"?phase={task.phase_id}#item-{task.pk}" if shown else f"#phase-{task.phase_id}-heading"
    )
    task.refresh_from_db()
    assert (task.status, task.reason, task.completed_by) == (status, "Waiting for the CSU", None)
    assert (task.marked_by, task.marked_at) == (practice_staff, NOW)
    assert status_events(task) == [("status", practice_staff.email, "to_do", status, "Waiting for the CSU")]
    page = text(client.get(detail_url(migration), {"show": "all"}).content.decode())  # a closed item is not "open"
    how = "Blocked" if status == ItemStatus.BLOCKED else "Marked not applicable"
    assert f"{how} by {practice_staff} on 10 April 2025. Reason: Waiting for the CSU" in page
    # Reopened, it is nobody's mark.
    client.post(item_url("item_reopen", task), {"revision": task.revision})
    task.refresh_from_db()
    assert (task.status, task.marked_by, task.marked_at) == (ItemStatus.TO_DO, None, None)


# --- stale forms ----------------------------------------------------------------------------------------

STALE_ACTIONS = [
    pytest.param("item_not_applicable", {"reason": "Not used here"}, id="not applicable"),
    pytest.param("item_blocked", {"reason": "Waiting"}, id="blocked"),
    pytest.param("item_note", {"note": "My note"}, id="note"),
    pytest.param("item_reopen", {}, id="reopen"),
]


def load_then_someone_else_changes(migration, practice_manager, clinical_lead) -> tuple[ChecklistItem, int]:
    """The item as a page showed it (done, at some revision), then changed by someone else."""
    task = item(migration, OVERDUE_KEY)
    task.complete(practice_manager)
    seen_revision = task.revision
    task.set_note(clinical_lead, "Supplier confirmed by phone", expected_revision=seen_revision)
    return task, seen_revision


def item_state(task: ChecklistItem) -> tuple:
    task.refresh_from_db()
    return (task.status, task.reason, task.note, task.revision, task.completed_by_id, task.events.count())


@pytest.mark.parametrize(("route", "fields"), STALE_ACTIONS)
def test_a_stale_form_says_someone_else_changed_the_item_and_saves_nothing(
    route, fields, client, migration, practice_manager, clinical_lead
):
    task, seen_revision = load_then_someone_else_changes(migration, practice_manager, clinical_lead)
    before = item_state(task)
    client.force_login(practice_manager)

    response = client.post(item_url(route, task), {"revision": seen_revision, **fields})

    assert response.status_code == 409
    assert STALE_MESSAGE in error_summary(response.content.decode())
    assert item_state(task) == before


@pytest.mark.parametrize(("route", "fields"), STALE_ACTIONS)
def test_a_stale_form_sent_with_htmx_says_someone_else_changed_the_item_and_saves_nothing(
    route, fields, client, migration, practice_manager, clinical_lead
):
    task, seen_revision = load_then_someone_else_changes(migration, practice_manager, clinical_lead)
    before = item_state(task)
    client.force_login(practice_manager)

    response = htmx_post(client, item_url(route, task), {"revision": seen_revision, **fields})

    html = response.content.decode()
    assert response.status_code == 409
    assert f'id="item-{task.pk}"' in html
    assert STALE_MESSAGE in html
    assert item_state(task) == before


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_marking_done_an_item_someone_else_marked_not_applicable_since_is_refused(
    htmx, client, migration, practice_manager, practice_staff
):
    task = item(migration, OVERDUE_KEY)
    shown = task.status  # to do, as the page showed it
    task.mark_not_applicable(practice_manager, "The practice has no dispensary")
    before = item_state(task)
    client.force_login(practice_staff)

    url, data = item_url("item_complete", task), {"shown_status": shown}
    response = htmx_post(client, url, data) if htmx else client.post(url, data)

    assert response.status_code == 409
    assert STALE_MESSAGE in response.content.decode()
    assert item_state(task) == before


def test_marking_done_after_someone_else_only_added_a_note_or_marked_it_done_still_counts(
    client, migration, practice_manager, practice_staff
):
    noted, ticked = item(migration, OVERDUE_KEY), item(migration, DUE_SOON_KEY)
    noted.set_note(practice_manager, "Supplier called back")
    ticked.complete(practice_manager)
    client.force_login(practice_staff)

    responses = [client.post(item_url("item_complete", each), {"shown_status": "to_do"}) for each in (noted, ticked)]

    assert [response.status_code for response in responses] == [302, 302]
    noted.refresh_from_db()
    assert (noted.status, noted.completed_by) == (ItemStatus.DONE, practice_staff)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_marking_done_an_item_someone_else_marked_done_since_says_who_and_logs_nothing(
    htmx, client, migration, practice_manager, practice_staff
):
    task = item(migration, DUE_SOON_KEY)
    task.complete(practice_staff)
    before, events = item_state(task), Event.objects.filter(item=task).count()
    client.force_login(practice_manager)

    url, data = item_url("item_complete", task), {"shown_status": ItemStatus.TO_DO}
    response = htmx_post(client, url, data) if htmx else client.post(url, data, follow=True)

    assert response.status_code == 200
    assert f"Already marked as done by {practice_staff}" in unescape(response.content.decode())
    assert item_state(task) == before
    task.refresh_from_db()
    assert task.completed_by == practice_staff
    assert Event.objects.filter(item=task).count() == events


def test_the_form_after_a_stale_post_carries_the_new_revision(client, migration, practice_manager, clinical_lead):
    task, seen_revision = load_then_someone_else_changes(migration, practice_manager, clinical_lead)
    client.force_login(practice_manager)
    client.post(item_url("item_reopen", task), {"revision": seen_revision})
    task.refresh_from_db()

    retry = client.post(item_url("item_reopen", task), {"revision": task.revision})

    assert retry.status_code == 302
    task.refresh_from_db()
    assert task.status == ItemStatus.TO_DO


# --- notes and history ----------------------------------------------------------------------------------


def test_a_note_is_saved_shown_and_can_be_edited(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    added = client.post(item_url("item_note", task), {"revision": task.revision, "note": "Asked the CSU"})
    task.refresh_from_db()
    edited = client.post(item_url("item_note", task), {"revision": task.revision, "note": "CSU booked 11 April"})

    assert (added.status_code, edited.status_code) == (302, 302)
    task.refresh_from_db()
    assert task.note == "CSU booked 11 April"
    page = client.get(detail_url(migration)).content.decode()
    assert "Note: CSU booked 11 April" in page
    assert "Asked the CSU" not in page
    item_page = client.get(item_url("item_detail", task)).content.decode()
    assert "CSU booked 11 April" in item_page


def test_the_history_lists_who_did_what_and_why_newest_first(
    client, time_machine, migration, practice_manager, clinical_lead, practice_staff
):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_manager)
    client.post(item_url("item_note", task), {"revision": 0, "note": "Started the clean-up"})
    time_machine.shift(timedelta(hours=1))
    client.force_login(clinical_lead)
    client.post(item_url("item_note", task), {"revision": 1, "note": "Half done"})
    time_machine.shift(timedelta(hours=1))
    client.force_login(practice_staff)
    client.post(item_url("item_blocked", task), {"revision": 2, "reason": "Waiting for the supplier's tool"})

    response = client.get(item_url("item_history", task))

    assert response.status_code == 200
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", response.content.decode(), re.DOTALL).group(1)
    rows = [
        # Each cell without its heading (shown beside it on a narrow screen only).
        [text(re.sub(HEADING, "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]
    assert rows == [
        ["10 Apr 2025 11:30", "Sam Staff", "Status changed: To do to Blocked", "Waiting for the supplier's tool"],
        ["10 Apr 2025 10:30", "Dr Chris Lead", "Note changed: Started the clean-up to Half done", ""],
        ["10 Apr 2025 09:30", "Priya Manager", "Note changed: (empty) to Started the clean-up", ""],
    ]


# --- sign-off gates -------------------------------------------------------------------------------------


def test_signing_a_gate_with_earlier_items_open_needs_a_reason_and_saves_nothing_without_one(
    client, migration, clinical_lead
):
    gate = item(migration, GATE_KEY)
    waiting = list(gate.open_dependencies())
    assert waiting
    client.force_login(clinical_lead)

    response = client.post(item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": ""})

    assert response.status_code == 400
    page = response.content.decode()
    summary = error_summary(page)
    assert f"This gate waits for {len(waiting)} items still open" in summary
    # The refusal (the error summary, then the sign-off form and its error) lists each open item
    # once, all of them, however many there are.
    refusal = summary + text(page[page.index('id="sign-off"') :])
    assert [refusal.count(each.title) for each in waiting] == [1] * len(waiting)
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by, gate.override_reason) == (ItemStatus.TO_DO, None, "")
    assert status_events(gate) == []


def test_a_gate_is_not_marked_not_applicable_over_open_items_it_waits_for(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    waiting = list(gate.open_dependencies())
    assert waiting
    client.force_login(clinical_lead)

    refused = client.post(item_url("item_not_applicable", gate), {"revision": gate.revision, "reason": "Not needed"})

    assert refused.status_code == 400
    assert f"This gate waits for {len(waiting)} items still open. Finish them or mark them not applicable first" in (
        error_summary(refused.content.decode())
    )
    assert "Not needed" in refused.content.decode()  # what was typed is kept
    gate.refresh_from_db()
    assert (gate.status, gate.reason) == (ItemStatus.TO_DO, "")
    assert status_events(gate) == []
    # Once nothing it waits for is open, it may be.
    for each in waiting:
        each.mark_not_applicable(clinical_lead, "Not for this practice")
    gate.refresh_from_db()
    accepted = client.post(item_url("item_not_applicable", gate), {"revision": gate.revision, "reason": "Not needed"})
    assert accepted.status_code == 302
    gate.refresh_from_db()
    assert gate.status == ItemStatus.NOT_APPLICABLE


def test_a_gate_refused_not_applicable_in_place_still_says_what_it_waits_for(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    waiting = gate.open_dependencies().count()
    client.force_login(clinical_lead)

    refused = client.post(
        item_url("item_not_applicable", gate),
        {"revision": gate.revision, "reason": "Not needed"},
        HTTP_HX_REQUEST="true",
    )

    row = text(refused.content.decode())
    assert f"This gate waits for {waiting} items still open" in row
    assert f"Waits for {waiting} items still open" in row


def test_signing_a_gate_with_an_override_reason_stores_it_and_shows_it_in_the_history(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    client.force_login(clinical_lead)

    response = client.post(
        item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": "Checked at the IDP review"}
    )

    assert response.status_code == 302
    assert response.url == f"{detail_url(migration)}#phase-{gate.phase_id}-heading"
    gate.refresh_from_db()
    assert gate.status == ItemStatus.DONE
    assert gate.completed_by == clinical_lead
    assert gate.completed_at == NOW
    assert gate.override_reason == "Checked at the IDP review"
    assert status_events(gate) == [("sign_off", clinical_lead.email, "to_do", "done", "Checked at the IDP review")]
    history = text(client.get(item_url("item_history", gate)).content.decode())
    assert "Who Dr Chris Lead What Signed off: To do to Done Reason Checked at the IDP review" in history
    item_page = client.get(item_url("item_detail", gate)).content.decode()
    assert "Signed with items it waits for still open: Checked at the IDP review" in item_page


def test_signing_a_gate_once_earlier_items_are_closed_needs_no_reason(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    for earlier in ChecklistItem.objects.open().filter(phase=gate.phase, position__lt=gate.position):
        earlier.complete(clinical_lead)
    client.force_login(clinical_lead)

    response = client.post(item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": ""})

    assert response.status_code == 302
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by, gate.override_reason) == (ItemStatus.DONE, clinical_lead, "")
    # The confirmation does not say "signed off" twice where the gate's own title says it.
    confirmation = client.get(response.url).content.decode()
    assert f"Sign-off recorded: {gate.title}" in confirmation


def test_plain_mark_as_done_on_a_gate_does_not_tick_it_but_goes_to_the_sign_off(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    client.force_login(clinical_lead)

    response = client.post(item_url("item_complete", gate))

    assert response.status_code == 302
    assert response.url == item_url("item_detail", gate)
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by) == (ItemStatus.TO_DO, None)
    assert status_events(gate) == []
    sign_off_page = client.get(response.url).content.decode()
    assert 'id="sign-off"' in sign_off_page


def test_an_items_page_names_the_group_it_is_part_of_but_not_a_question_as_part_of_itself(
    client, migration, practice_manager
):
    part = migration.items.exclude(group="").exclude(group=F("title")).first()
    question = migration.items.filter(group=F("title")).first()
    client.force_login(practice_manager)

    part_page = text(client.get(reverse("migrations:item_detail", args=[migration.pk, part.pk])).content.decode())
    question_page = text(
        client.get(reverse("migrations:item_detail", args=[migration.pk, question.pk])).content.decode()
    )

    assert f"Part of {part.group} Kind" in part_page
    assert "Part of" not in question_page
    assert "Question" not in part_page


@pytest.mark.parametrize(
    ("status", "offered", "not_offered", "summary"),
    [
        ("to_do", ["Not applicable", "Blocked"], ["Reopen"], "Add a note or mark as not applicable or blocked"),
        ("blocked", ["Reopen", "Not applicable"], ["Blocked"], "Reopen, add a note or mark as not applicable"),
        ("not_applicable", ["Reopen"], ["Not applicable", "Blocked"], "Reopen or add a note"),
        ("done", [], ["Not applicable", "Blocked"], "Add a note"),
    ],
)
def test_an_items_forms_offer_only_what_its_status_allows(
    client, migration, practice_manager, status, offered, not_offered, summary
):
    # Not "Not applicable" again for an item that is, nor "Blocked" for one done: it is reopened first.
    task = item(migration, OVERDUE_KEY)
    if status == "done":
        task.complete(practice_manager)
    elif status != "to_do":
        getattr(task, f"mark_{status}")(practice_manager, "Waiting for the CSU")
    client.force_login(practice_manager)

    forms = text(client.get(item_url("item_forms", task)).content.decode())
    page = text(client.get(detail_url(migration) + "?show=all").content.decode())
    own_page = text(client.get(item_url("item_detail", task)).content.decode())

    buttons = re.findall(r"(Reopen|Not applicable|Blocked) : " + re.escape(task.title), forms)
    for label in offered:
        if label != "Reopen" or status != "done":
            assert label in buttons, label
    for label in not_offered:
        assert label not in buttons, label
    assert f"{summary} : {task.title}" in page
    assert ("Blocked : " + task.title in own_page) == ("Blocked" in offered)
