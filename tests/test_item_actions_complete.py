"""Item actions that are complete, and failures that are visible (issue 15): a blocked or not
applicable item reopened with a reason; an item's own due date set, changed or cleared; no action
offered that ends in a 403; a stale form is a 409; a session that ended mid-action sends the whole
page to the sign-in (or the code) page; a gate's refusal lists each open item once, all of them."""

import re
from datetime import date, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils.html import escape
from django_otp.plugins.otp_totp.models import TOTPDevice

from migrations_app import scheduling
from migrations_app.models import Event, ItemStatus
from tests.factories import PASSWORD
from tests.pages import (
    GATE_KEY,
    OVERDUE_KEY,
    STAFF_TASK_KEY,
    detail_url,
    error_summary,
    htmx_post,
    item,
    item_url,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

REASON = "The supplier sent the extract after all"
DUE_REASON = "The supplier can only do this a week later"
# The practice manager's gate that waits for ten items (migrations_app/guide/practice-migration.yaml).
GO_LIVE_GATE_KEY = "go-live-sign-off"


def reopen_events(task) -> list[tuple]:
    return list(task.events.filter(new_value=ItemStatus.TO_DO).values_list("actor__email", "old_value", "reason"))


def date_boxes(day: date, name: str = "due_on") -> dict:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


# --- reopening a blocked or not applicable item ----------------------------------------------------------


@pytest.mark.parametrize("status", [ItemStatus.BLOCKED, ItemStatus.NOT_APPLICABLE])
def test_a_blocked_or_not_applicable_item_is_reopened_with_its_reason_kept_in_the_history(
    status, client, migration, practice_staff
):
    task = item(migration, STAFF_TASK_KEY)
    mark = task.mark_blocked if status == ItemStatus.BLOCKED else task.mark_not_applicable
    mark(practice_staff, "Not done yet")
    client.force_login(practice_staff)

    response = client.post(item_url("item_reopen", task), {"revision": task.revision, "reason": f"  {REASON}  "})

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.reason) == (ItemStatus.TO_DO, "")
    assert reopen_events(task) == [(practice_staff.email, status, REASON)]
    history = text(client.get(item_url("item_history", task)).content.decode())
    assert REASON in history


def test_a_blocked_item_is_reopened_without_a_reason_too(client, migration, practice_staff):
    task = item(migration, STAFF_TASK_KEY)
    task.mark_blocked(practice_staff, "Waiting for the supplier")
    client.force_login(practice_staff)

    response = htmx_post(client, item_url("item_reopen", task), {"revision": task.revision, "reason": ""})

    assert response.status_code == 200
    assert "Reopened" in response.content.decode()
    task.refresh_from_db()
    assert task.status == ItemStatus.TO_DO
    assert reopen_events(task) == [(practice_staff.email, ItemStatus.BLOCKED, "")]


def test_a_blocked_item_offers_reopen_with_a_reason_in_its_row_and_on_its_page(client, migration, practice_staff):
    task = item(migration, STAFF_TASK_KEY)
    task.mark_blocked(practice_staff, "Waiting for the supplier")
    client.force_login(practice_staff)

    forms = client.get(item_url("item_forms", task)).content.decode()
    page = client.get(item_url("item_detail", task)).content.decode()

    for html in (forms, page):
        assert f'action="{item_url("item_reopen", task)}"' in html
        assert f'id="reopen-reason-{task.pk}"' in html
        assert "Why reopen it? (optional)" in html


def test_a_done_item_is_reopened_on_its_page_with_an_optional_reason(client, migration, practice_staff):
    task = item(migration, STAFF_TASK_KEY)
    task.complete(practice_staff)
    client.force_login(practice_staff)

    page = client.get(item_url("item_detail", task)).content.decode()
    response = client.post(item_url("item_reopen", task), {"revision": task.revision, "reason": REASON})

    assert f'id="reopen-reason-{task.pk}"' in page
    assert "Why reopen it? (optional)" in page
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == ItemStatus.TO_DO
    assert reopen_events(task) == [(practice_staff.email, ItemStatus.DONE, REASON)]


def test_a_reopen_reason_too_long_is_refused_at_the_item_and_nothing_changes(client, migration, practice_staff):
    task = item(migration, STAFF_TASK_KEY)
    task.mark_blocked(practice_staff, "Waiting for the supplier")
    client.force_login(practice_staff)

    response = htmx_post(client, item_url("item_reopen", task), {"revision": task.revision, "reason": "x" * 2001})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="reopen-reason-{task.pk}-error"' in html
    task.refresh_from_db()
    assert task.status == ItemStatus.BLOCKED
    assert reopen_events(task) == []


# --- an item's own due date --------------------------------------------------------------------------------


def test_an_editor_sets_an_items_due_date_with_a_reason(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    old_due_on = task.due_on
    new_due_on = old_due_on + timedelta(days=7)
    client.force_login(practice_manager)

    response = client.post(
        item_url("item_due_date", task), {"revision": task.revision, "reason": DUE_REASON, **date_boxes(new_due_on)}
    )

    assert response.status_code == 302
    assert response.url == item_url("item_detail", task)
    task.refresh_from_db()
    assert (task.manual_due_on, task.due_on) == (new_due_on, new_due_on)
    event = task.events.get(kind=Event.Kind.DUE_DATE)
    assert (event.actor, event.old_value, event.new_value, event.reason) == (
        practice_manager,
        old_due_on.isoformat(),
        new_due_on.isoformat(),
        DUE_REASON,
    )
    page = client.get(response.url).content.decode()
    assert f"Due date set by hand, {new_due_on.day} {new_due_on:%B %Y}: {escape(task.title)}" in page


def test_the_due_date_form_starts_from_the_items_date_and_saving_it_unchanged_saves_nothing(
    client, migration, practice_manager
):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)
    worked_out, worked_out_on = client.get(item_url("item_detail", task)).content.decode(), task.due_on
    set_on = worked_out_on + timedelta(days=7)
    task.set_due_date(practice_manager, set_on, reason="Moved")
    task.refresh_from_db()
    revision, events = task.revision, task.events.count()

    response = client.post(
        item_url("item_due_date", task), {"revision": task.revision, "reason": "Again", **date_boxes(set_on)}
    )

    # Filled in with the date it has, worked out from the plan as here, or set by hand.
    assert re.search(rf'name="due_on-day"[^>]*value="{worked_out_on.day}"', worked_out)
    assert re.search(rf'name="due_on-year"[^>]*value="{worked_out_on.year}"', worked_out)
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.due_on, task.revision, task.events.count()) == (set_on, revision, events)
    assert (
        f"No change to the due date, so nothing was saved: {escape(task.title)}"
        in client.get(response.url).content.decode()
    )


def test_replanning_leaves_an_item_dated_by_hand_alone(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    new_due_on = task.due_on + timedelta(days=7)
    client.force_login(practice_manager)
    client.post(
        item_url("item_due_date", task), {"revision": task.revision, "reason": DUE_REASON, **date_boxes(new_due_on)}
    )

    migration.change_milestones({task.anchor: getattr(migration, f"{task.anchor}_on") + timedelta(days=14)}, by=None)

    task.refresh_from_db()
    assert (task.manual_due_on, task.due_on) == (new_due_on, new_due_on)


def test_clearing_a_due_date_set_by_hand_gives_back_the_date_worked_out_from_the_plan(
    client, migration, practice_manager
):
    task = item(migration, OVERDUE_KEY)
    computed = task.due_on
    task.set_due_date(practice_manager, computed + timedelta(days=7), reason="Moved")
    client.force_login(practice_manager)
    page = client.get(item_url("item_detail", task)).content.decode()
    assert "Use the date worked out from the plan" in page

    response = client.post(
        item_url("item_due_date", task), {"revision": task.revision, "reason": "Back to the plan", "clear": "true"}
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.manual_due_on, task.due_on) == (None, computed)
    assert task.due_on == scheduling.due_date(migration.milestone_dates(), task.anchor, task.offset_days)
    assert task.events.filter(kind=Event.Kind.DUE_DATE, reason="Back to the plan").exists()


@pytest.mark.parametrize(
    ("fields", "message", "link"),
    [
        pytest.param(
            {"reason": "", **date_boxes(date(2025, 5, 1))},
            "Enter why the due date changes",
            "#due-reason-",
            id="reason",
        ),
        pytest.param({"reason": DUE_REASON}, "Enter the due date", "#due_on-day", id="no date"),
        pytest.param(
            {"reason": DUE_REASON, "due_on-day": "31", "due_on-month": "2", "due_on-year": "2025"},
            "Due date must be a real date",
            "#due_on-day",
            id="not a real date",
        ),
        pytest.param(
            {"reason": DUE_REASON, "due_on-day": "1", "due_on-month": "5", "due_on-year": ""},
            "Due date must include a year",
            "#due_on-year",
            id="no year",
        ),
        # Years away from every milestone (order 3 March 2025 to old system access 7 September 2025).
        pytest.param(
            {"reason": DUE_REASON, **date_boxes(date(2020, 1, 1))},
            "The due date must be within a year of the migration's dates: between 3 March 2024 and 7 September 2026",
            "#due_on-day",
            id="years before",
        ),
        pytest.param(
            {"reason": DUE_REASON, **date_boxes(date(2030, 1, 1))},
            "The due date must be within a year of the migration's dates",
            "#due_on-day",
            id="years after",
        ),
    ],
)
def test_a_due_date_form_with_a_mistake_shows_it_in_the_error_summary_and_saves_nothing(
    fields, message, link, client, migration, practice_manager
):
    task = item(migration, OVERDUE_KEY)
    before = (task.due_on, task.manual_due_on, task.revision)
    client.force_login(practice_manager)

    response = client.post(item_url("item_due_date", task), {"revision": task.revision, **fields})

    html = response.content.decode()
    assert response.status_code == 400
    assert message in error_summary(html)
    assert f'href="{link}' in html
    assert "Check the due date" not in error_summary(html)
    task.refresh_from_db()
    assert (task.due_on, task.manual_due_on, task.revision) == before
    assert not task.events.filter(kind=Event.Kind.DUE_DATE).exists()


def test_a_stale_due_date_form_is_a_conflict_and_saves_nothing(client, migration, practice_manager, clinical_lead):
    task = item(migration, OVERDUE_KEY)
    seen_revision = task.revision
    task.set_note(clinical_lead, "Supplier rang")
    client.force_login(practice_manager)

    response = client.post(
        item_url("item_due_date", task),
        {"revision": seen_revision, "reason": DUE_REASON, **date_boxes(task.due_on + timedelta(days=7))},
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert (
        "This item was changed since you opened the page (by someone else, or by you in another tab or window). "
        "Check the item as it is now" in error_summary(html)
    )
    # What the person typed is kept, to send again once they have looked.
    typed = task.due_on + timedelta(days=7)
    assert re.search(rf'name="due_on-day"[^>]*value="{typed.day}"', html)
    assert DUE_REASON in html
    task.refresh_from_db()
    assert task.manual_due_on is None


def test_the_due_date_form_is_offered_to_the_plans_editors_only(client, migration, practice_manager, practice_staff):
    task = item(migration, OVERDUE_KEY)
    form = f'action="{item_url("item_due_date", task)}"'

    client.force_login(practice_manager)
    editor_page = client.get(item_url("item_detail", task)).content.decode()
    client.force_login(practice_staff)
    staff_page = client.get(item_url("item_detail", task)).content.decode()
    refused = client.post(
        item_url("item_due_date", task),
        {"revision": task.revision, "reason": DUE_REASON, **date_boxes(task.due_on + timedelta(days=7))},
    )

    assert form in editor_page and "Change the due date" in editor_page
    assert form not in staff_page and "Change the due date" not in staff_page
    assert refused.status_code == 403
    task.refresh_from_db()
    assert task.manual_due_on is None


# --- nothing offered that ends in a 403 --------------------------------------------------------------------


def test_practice_staff_are_offered_only_a_note_on_a_gate(client, migration, practice_staff):
    gate = item(migration, GATE_KEY)
    client.force_login(practice_staff)

    forms = client.get(item_url("item_forms", gate)).content.decode()
    page = client.get(item_url("item_detail", gate)).content.decode()
    row = htmx_post(client, item_url("item_note", gate), {"revision": gate.revision, "note": "Asked the lead"})
    row_html = row.content.decode()

    for html in (forms, page, row_html):
        assert item_url("item_not_applicable", gate) not in html
        assert item_url("item_blocked", gate) not in html
        assert item_url("item_reopen", gate) not in html
    assert item_url("item_note", gate) in forms
    assert item_url("item_note", gate) in page
    assert "Add a note<span" in row_html
    assert "not applicable or blocked" not in text(row_html)
    assert client.post(item_url("item_blocked", gate), {"revision": 1, "reason": "x"}).status_code == 403


def test_the_gates_signer_is_offered_not_applicable_and_blocked(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    client.force_login(clinical_lead)

    forms = client.get(item_url("item_forms", gate)).content.decode()

    assert item_url("item_not_applicable", gate) in forms
    assert item_url("item_blocked", gate) in forms


def test_practice_staff_are_not_offered_to_reopen_a_signed_gate(client, migration, practice_staff, clinical_lead):
    gate = item(migration, GATE_KEY)
    gate.sign_off(clinical_lead, override_reason="Agreed at the board")
    client.force_login(practice_staff)

    page = client.get(item_url("item_detail", gate)).content.decode()
    row = htmx_post(client, item_url("item_note", gate), {"revision": gate.revision, "note": "Seen"}).content.decode()

    assert item_url("item_reopen", gate) not in page
    assert item_url("item_reopen", gate) not in row


# --- failures: a stale form, a session that ended ------------------------------------------------------------


def test_a_stale_form_sent_with_htmx_is_a_conflict_with_the_message_at_the_item(
    client, migration, practice_manager, clinical_lead
):
    task = item(migration, OVERDUE_KEY)
    seen_revision = task.revision
    task.set_note(clinical_lead, "Supplier rang")
    client.force_login(practice_manager)

    response = htmx_post(client, item_url("item_note", task), {"revision": seen_revision, "note": "Mine"})

    html = response.content.decode()
    assert response.status_code == 409
    assert html.lstrip().startswith(f'<li class="nhsuk-task-list__item tracker-item" id="item-{task.pk}"')
    assert "This item was changed since you opened the page" in text(html)
    assert "<html" not in html
    task.refresh_from_db()
    assert task.note == "Supplier rang"


def signed_in_long_ago(client, settings) -> None:
    """A session still in use (the idle time-out has not passed) but signed in longer ago than the
    absolute time-out allows."""
    session = client.session
    session["signed_in_at"] -= settings.SESSION_ABSOLUTE_SECONDS + 60
    session.save()


def test_an_htmx_tick_after_the_absolute_time_out_sends_the_whole_page_to_the_sign_in(
    client, migration, practice_manager, settings
):
    task = item(migration, OVERDUE_KEY)
    page = detail_url(migration)
    client.force_login(practice_manager)
    signed_in_long_ago(client, settings)

    response = client.post(
        item_url("item_complete", task), headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"}
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next={page}"
    assert response.content == b""
    task.refresh_from_db()
    assert task.status == ItemStatus.TO_DO


def test_a_plain_tick_after_the_absolute_time_out_comes_back_to_the_page_not_the_post(
    client, migration, practice_manager, settings
):
    task = item(migration, OVERDUE_KEY)
    page = detail_url(migration)
    client.force_login(practice_manager)
    signed_in_long_ago(client, settings)

    refused = client.post(item_url("item_complete", task), HTTP_REFERER=f"http://testserver{page}")
    signed_in = client.post(refused.url, {"username": practice_manager.email, "password": PASSWORD}, follow=True)

    assert refused.url == f"{reverse('login')}?next={page}"
    assert signed_in.redirect_chain[-1][0] == page
    assert "you were signed out, so that change was not saved" in signed_in.content.decode()
    task.refresh_from_db()
    assert task.status == ItemStatus.TO_DO


def test_an_htmx_tick_before_the_security_code_sends_the_whole_page_to_the_code(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    page = detail_url(migration)
    TOTPDevice.objects.create(user=practice_manager, name="Authenticator app", confirmed=True)
    client.post(reverse("login"), {"username": practice_manager.email, "password": PASSWORD})

    response = client.post(
        item_url("item_complete", task), headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"}
    )

    assert response["HX-Redirect"] == f"{reverse('two_factor_verify')}?next={page}"
    assert response.content == b""
    task.refresh_from_db()
    assert task.status == ItemStatus.TO_DO


def test_an_htmx_tick_after_the_idle_time_out_sends_the_whole_page_to_the_sign_in(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    page = detail_url(migration)
    client.force_login(practice_manager)
    Session.objects.all().delete()  # what the idle time-out leaves: no session

    response = client.post(
        item_url("item_complete", task), headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"}
    )

    assert response["HX-Redirect"] == f"{reverse('login')}?next={page}"
    task.refresh_from_db()
    assert task.status == ItemStatus.TO_DO


# --- a gate's refusal --------------------------------------------------------------------------------------


def test_a_gates_refusal_lists_each_open_item_it_waits_for_once_all_of_them(client, migration, practice_manager):
    gate = item(migration, GO_LIVE_GATE_KEY)
    waiting = list(gate.open_dependencies())
    assert len(waiting) > 5
    client.force_login(practice_manager)

    response = client.post(item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": ""})

    html = response.content.decode()
    assert response.status_code == 400
    assert f"This gate waits for {len(waiting)} items still open" in error_summary(html)
    refusal = error_summary(html) + text(html[html.index('id="sign-off"') :])
    assert [refusal.count(each.title) for each in waiting] == [1] * len(waiting)
    gate.refresh_from_db()
    assert gate.status == ItemStatus.TO_DO


@pytest.mark.parametrize(
    ("due_on", "note"),
    [
        (date(2025, 4, 7), "Monday 7 April 2025 has passed, so the item is overdue now."),
        (date(2025, 4, 19), "Saturday 19 April 2025 is a weekend: check the date if the work needs the practice open."),
        (date(2025, 4, 21), "Monday 21 April 2025 is Easter Monday, a bank holiday: check the date"),
    ],
)
def test_a_due_date_set_by_hand_that_has_passed_or_is_not_a_working_day_is_saved_with_a_warning(
    client, migration, practice_manager, due_on, note
):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    response = client.post(
        item_url("item_due_date", task),
        {"revision": task.revision, "reason": DUE_REASON, **date_boxes(due_on)},
        follow=True,
    )

    task.refresh_from_db()
    assert task.due_on == due_on
    page = text(response.content.decode())
    assert f"Warning: {note}" in page
    assert page.count("Warning:") == 1


def test_a_working_day_to_come_set_by_hand_gets_no_warning(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    response = client.post(
        item_url("item_due_date", task),
        {"revision": task.revision, "reason": DUE_REASON, **date_boxes(date(2025, 4, 14))},
        follow=True,
    )

    assert "Warning:" not in text(response.content.decode())
    assert "Due date set by hand, 14 April 2025" in text(response.content.decode())
