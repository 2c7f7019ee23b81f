"""Text typed in a change that was not saved because the session had ended (a note in an item's
row, sent with htmx; a weekly check-in's note, a plain form; milestone dates typed in their
boxes) is put back in its form once the person has signed in again, with a message, for them to
check and send again; nothing is saved meanwhile. Someone else signing in on the same browser
gets none of it, and a change that was saved leaves nothing behind (static/js/tracker.js)."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect

from migrations_app.models import ChecklistItem
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.browser.test_character_count_in_browser import count_of
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEM_KEY = "secure-dates-and-peoples-time"  # the practice manager's, due tomorrow: in the "Open" view
NOTE = "Rang the supplier: the extract is booked for Tuesday.\nSecond line kept too."
CHECK_IN_NOTE = "Data quality reports reviewed; two duplicates left to merge."
PUT_BACK = "What you typed was not saved, so it has been put back"


def sign_in_again(page: Page, user) -> None:
    expect(page.get_by_role("status").filter(has_text="that change was not saved")).to_be_visible()
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def send_after_the_session_ended(page: Page, user, button: str, back_to: str) -> None:
    """The session ends (the idle time-out), `button` sends the form, and the person signs in again
    and is back on the page whose address matches `back_to`."""
    Session.objects.all().delete()
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    sign_in_again(page, user)
    page.wait_for_url(re.compile(back_to))


def type_a_note_after_the_session_ended(page: Page, sign_in, user, migration) -> ChecklistItem:
    item = migration.items.get(key=ITEM_KEY)
    sign_in(page, user)
    row = page.locator(f"#item-{item.pk}")
    row.locator("summary").click()
    note = row.get_by_label("Note")
    note.fill(NOTE)
    Session.objects.all().delete()  # the idle time-out
    row.get_by_role("button", name="Save note").click()
    page.wait_for_url(re.compile(rf"/accounts/login/\?next=/migrations/{migration.pk}/$"))
    return item


def test_a_note_sent_after_the_session_ended_is_put_back_in_its_row(page, sign_in, practice_manager, current_migration):
    item = type_a_note_after_the_session_ended(page, sign_in, practice_manager, current_migration)

    sign_in_again(page, practice_manager)

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/$"))
    row = page.locator(f"#item-{item.pk}")
    note = row.get_by_label("Note")
    expect(note).to_have_value(NOTE)
    expect(note).to_be_focused()
    expect(row.get_by_role("status").filter(has_text=PUT_BACK)).to_be_visible()
    # Counted again (the count on screen: the component repeats it for screen readers, a moment later).
    expect(count_of(note)).to_have_text(f"You have {5000 - len(NOTE):,} characters remaining")
    assert ChecklistItem.objects.get(pk=item.pk).note == ""  # nothing saved meanwhile
    assert_no_axe_violations(page)

    row.get_by_role("button", name="Save note").click()
    expect(page.locator(f"#item-{item.pk}").get_by_text("Second line kept too.")).to_be_visible()
    assert ChecklistItem.objects.get(pk=item.pk).note == NOTE

    # Put back once: the page opened again shows the saved note, with no message.
    page.reload()
    expect(page.get_by_text(PUT_BACK)).to_have_count(0)


def test_a_note_half_written_in_one_row_is_put_back_when_another_rows_tick_meets_the_ended_session(
    page, sign_in, practice_manager, current_migration
):
    item = current_migration.items.get(key=ITEM_KEY)
    ticked = (
        current_migration.items.filter(status="to_do", kind="task", responsible_role=item.responsible_role)
        .exclude(pk=item.pk)
        .order_by("phase__position", "position")
        .first()
    )
    sign_in(page, practice_manager)
    row = page.locator(f"#item-{item.pk}")
    row.locator("summary").click()
    row.get_by_label("Note").fill(NOTE)
    Session.objects.all().delete()  # the idle time-out

    page.locator(f"#item-{ticked.pk}").get_by_role("button", name="Mark as done").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    sign_in_again(page, practice_manager)

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/"))
    note = page.locator(f"#item-{item.pk}").get_by_label("Note")
    expect(note).to_have_value(NOTE)
    expect(page.locator(f"#item-{item.pk}").get_by_role("status").filter(has_text=PUT_BACK)).to_be_visible()
    assert ChecklistItem.objects.get(pk=item.pk).note == ""
    assert ChecklistItem.objects.get(pk=ticked.pk).status == "to_do"  # the tick was not saved either


def test_someone_else_signing_in_on_the_browser_gets_none_of_it(
    page, sign_in, practice_manager, practice_staff, current_migration
):
    item = type_a_note_after_the_session_ended(page, sign_in, practice_manager, current_migration)

    sign_in_again(page, practice_staff)

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/$"))
    expect(page.get_by_text(PUT_BACK)).to_have_count(0)
    assert page.evaluate("() => sessionStorage.getItem('tracker-unsaved')") is None
    row = page.locator(f"#item-{item.pk}")
    expect(row.locator("details")).not_to_have_attribute("open", "")


def test_a_check_in_note_sent_after_the_session_ended_is_put_back(page, sign_in, practice_manager, current_migration):
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/check-ins/")
    page.get_by_label("Amber", exact=True).check()
    page.get_by_label("Note").fill(CHECK_IN_NOTE)
    Session.objects.all().delete()
    page.get_by_role("button", name="Save check-in").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))

    sign_in_again(page, practice_manager)

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/check-ins/$"))
    expect(page.get_by_label("Note")).to_have_value(CHECK_IN_NOTE)
    expect(page.get_by_label("Amber", exact=True)).to_be_checked()  # the choice too
    expect(page.get_by_role("status").filter(has_text=PUT_BACK)).to_be_in_viewport()
    expect(page.get_by_label("Note")).to_be_focused()
    assert not current_migration.check_ins.exists()
    assert_no_axe_violations(page)


def test_dates_sent_after_the_session_ended_are_put_back_with_the_reason(
    page, sign_in, practice_manager, current_migration
):
    go_live = current_migration.go_live_on
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/milestones/")
    go_live_boxes = page.get_by_role("group", name="Go-live")
    go_live_boxes.get_by_label("Day").fill("30")
    go_live_boxes.get_by_label("Year").fill(str(go_live.year + 1))
    page.get_by_role("group", name="Technical survey").get_by_label("Day").fill("")  # emptied counts too
    page.get_by_label("Reason for the change (optional)").fill("The supplier moved the go-live")

    send_after_the_session_ended(page, practice_manager, "Preview changes", r"/milestones/$")

    expect(page.get_by_role("status").filter(has_text=PUT_BACK)).to_be_visible()
    expect(go_live_boxes.get_by_label("Day")).to_have_value("30")
    expect(go_live_boxes.get_by_label("Month")).to_have_value(str(go_live.month))
    expect(go_live_boxes.get_by_label("Year")).to_have_value(str(go_live.year + 1))
    expect(page.get_by_role("group", name="Technical survey").get_by_label("Day")).to_have_value("")
    expect(page.get_by_label("Reason for the change (optional)")).to_have_value("The supplier moved the go-live")
    current_migration.refresh_from_db()
    assert current_migration.go_live_on == go_live  # nothing saved meanwhile


def test_dates_put_back_after_a_time_out_still_meet_a_change_someone_else_saved_meanwhile(
    page, sign_in, practice_manager, current_migration
):
    go_live = current_migration.go_live_on
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/milestones/")
    page.get_by_role("group", name="Go-live").get_by_label("Year").fill(str(go_live.year + 1))
    # Someone else moves go-live a week while this page is open.
    theirs = go_live + timedelta(days=7)
    current_migration.change_milestones({"go_live": theirs}, by=practice_manager, reason="The supplier moved it")
    send_after_the_session_ended(page, practice_manager, "Preview changes", r"/milestones/$")
    expect(page.get_by_role("status").filter(has_text=PUT_BACK)).to_be_visible()

    page.get_by_role("button", name="Preview changes").click()

    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        f"Go-live: someone else changed it to {theirs.day} {theirs:%B %Y} since the page was opened"
    )
    current_migration.refresh_from_db()
    assert current_migration.go_live_on == theirs


def test_dates_checked_on_the_preview_then_sent_after_the_session_ended_are_put_back(
    page, sign_in, practice_manager, current_migration
):
    go_live, moved = current_migration.go_live_on, current_migration.go_live_on + timedelta(days=2)
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/milestones/")
    boxes = page.get_by_role("group", name="Go-live")
    for label, value in (("Day", moved.day), ("Month", moved.month), ("Year", moved.year)):
        boxes.get_by_label(label).fill(str(value))
    page.get_by_label("Reason for the change (optional)").fill("The supplier moved the go-live")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.get_by_role("heading", name="Check the changes before saving")).to_be_visible()

    send_after_the_session_ended(page, practice_manager, "Save these changes", r"/milestones/")

    expect(page.get_by_role("status").filter(has_text=PUT_BACK)).to_be_visible()
    expect(boxes.get_by_label("Day")).to_have_value(str(moved.day))
    expect(boxes.get_by_label("Month")).to_have_value(str(moved.month))
    expect(page.get_by_label("Reason for the change (optional)")).to_have_value("The supplier moved the go-live")
    # The focus on the date that was changed, not on the first of those the preview carried.
    expect(boxes.get_by_label("Day")).to_be_focused()
    current_migration.refresh_from_db()
    assert current_migration.go_live_on == go_live  # nothing saved meanwhile


def test_a_note_that_was_saved_leaves_nothing_to_put_back(page, sign_in, practice_manager, current_migration):
    item = current_migration.items.get(key=ITEM_KEY)
    sign_in(page, practice_manager)
    row = page.locator(f"#item-{item.pk}")
    row.locator("summary").click()
    row.get_by_label("Note").fill(NOTE)
    row.get_by_role("button", name="Save note").click()
    expect(page.locator(f"#item-{item.pk}").get_by_text("Second line kept too.")).to_be_visible()

    assert page.evaluate("() => sessionStorage.getItem('tracker-unsaved')") is None


def test_a_check_in_sent_with_every_cookie_gone_is_put_back_after_signing_in(
    page, sign_in, practice_manager, current_migration
):
    # A browser closed and opened again, or cookies cleared: the CSRF cookie went with the session.
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/check-ins/")
    page.get_by_label("Amber", exact=True).check()
    page.get_by_label("Note").fill(CHECK_IN_NOTE)
    page.context.clear_cookies()
    page.get_by_role("button", name="Save check-in").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))

    sign_in_again(page, practice_manager)

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/check-ins/$"))
    expect(page.get_by_label("Note")).to_have_value(CHECK_IN_NOTE)
    expect(page.get_by_label("Amber", exact=True)).to_be_checked()
    expect(page.get_by_role("status").filter(has_text=PUT_BACK)).to_be_visible()
    assert not current_migration.check_ins.exists()


def test_a_note_refused_as_an_expired_form_is_put_back_when_the_page_is_reloaded(
    page, sign_in, practice_manager, current_migration
):
    # Still signed in, but the form's CSRF token no longer matches (signed in again in another tab).
    item = current_migration.items.get(key=ITEM_KEY)
    sign_in(page, practice_manager)
    row = page.locator(f"#item-{item.pk}")
    row.locator("summary").click()
    row.get_by_label("Note").fill(NOTE)
    page.context.clear_cookies(name=settings.CSRF_COOKIE_NAME)
    row.get_by_role("button", name="Save note").click()
    expect(row.get_by_text("This page has expired, so your change was not saved. Reload the page")).to_be_visible()

    page.reload()

    row = page.locator(f"#item-{item.pk}")
    expect(row.get_by_label("Note")).to_have_value(NOTE)
    expect(row.get_by_role("status").filter(has_text=PUT_BACK)).to_be_visible()
    assert ChecklistItem.objects.get(pk=item.pk).note == ""


def test_a_due_date_sent_from_its_error_page_after_the_session_ended_is_put_back_on_the_items_page(
    page, sign_in, practice_manager, current_migration
):
    item = current_migration.items.get(key=ITEM_KEY)
    due_on = item.due_on
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/items/{item.pk}/")
    page.get_by_role("button", name="Save the due date").click()  # no reason: the form's error page
    page.wait_for_url(re.compile(r"/due-date/$"))
    page.get_by_label("Why change the due date?").fill("The supplier can only come the week after")

    send_after_the_session_ended(page, practice_manager, "Save the due date", rf"/items/{item.pk}/$")

    expect(page.get_by_label("Why change the due date?")).to_have_value("The supplier can only come the week after")
    expect(page.get_by_role("status").filter(has_text=PUT_BACK)).to_be_visible()
    item.refresh_from_db()
    assert item.due_on == due_on  # nothing saved meanwhile
