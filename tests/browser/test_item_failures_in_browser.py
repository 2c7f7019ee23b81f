"""Item actions that are complete and failures that are visible (issue 15), in a real browser, with
JavaScript and without: a session that ended, a refusal, a conflict and a server error at an item;
focus after an error; reopening a blocked item; an item's own due date; no action offered that ends
in a 403."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.template.loader import render_to_string
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import ChecklistItem, Event, ItemStatus, PracticeMigration
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEM_KEY = "secure-dates-and-peoples-time"  # the practice manager's, due tomorrow: in the "Open" view
GATE_KEY = "technical-requirements-signed-off"  # the practice manager's gate
STALE_MESSAGE = "This item was changed since you opened the page"
# A tick refused because the migration was cancelled behind the page: the refusal page's heading and its reason.
REFUSED_MESSAGE = "This migration can no longer change. This migration is cancelled, so it is read-only"
SERVER_MESSAGE = "Sorry, there is a problem with the service. Try again later."


def item_of(migration: PracticeMigration, key: str = ITEM_KEY) -> ChecklistItem:
    return migration.items.get(key=key)


def item_page(migration: PracticeMigration, item: ChecklistItem) -> str:
    return f"/migrations/{migration.pk}/items/{item.pk}/"


def mark_the_page(page: Page) -> None:
    page.evaluate("() => { window.__marker = 1 }")


def assert_page_not_reloaded(page: Page) -> None:
    assert page.evaluate("() => window.__marker") == 1, "the page reloaded"


def expect_error_at_item(page: Page, item: ChecklistItem, message: str) -> None:
    """An NHS.UK error message inside the item's row, focused, and no page drawn inside the row."""
    row = page.locator(f"#item-{item.pk}")
    error = row.locator(".nhsuk-error-message")
    expect(error).to_contain_text(message)
    expect(error).to_be_focused()
    expect(row.locator("header, footer, main, h1")).to_have_count(0)
    expect(page.locator("header.nhsuk-header")).to_have_count(1)


# --- a session that ended ---------------------------------------------------------------------------


def test_a_tick_after_the_session_ended_goes_to_sign_in_and_back_to_the_migration(
    page, sign_in, practice_manager, current_migration
):
    item = item_of(current_migration)
    sign_in(page, practice_manager)
    Session.objects.all().delete()  # the 30-minute idle time-out

    page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()

    page.wait_for_url(re.compile(rf"/accounts/login/\?next=/migrations/{current_migration.pk}/$"))
    expect(page.locator(f"#item-{item.pk}")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="that change was not saved")).to_be_visible()
    page.get_by_label("E-mail address").fill(practice_manager.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/$"))
    expect(page.locator(f"#item-{item.pk}")).to_be_visible()
    assert ChecklistItem.objects.get(pk=item.pk).status == ItemStatus.TO_DO


def test_a_tick_without_javascript_after_the_session_ended_goes_to_sign_in_and_back(
    page_without_js, sign_in, practice_manager, current_migration
):
    page = page_without_js
    item = item_of(current_migration)
    sign_in(page, practice_manager, javascript=False)
    Session.objects.all().delete()

    page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()

    page.wait_for_url(re.compile(rf"/accounts/login/\?next=/migrations/{current_migration.pk}/$"))
    page.get_by_label("E-mail address").fill(practice_manager.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/$"))
    assert ChecklistItem.objects.get(pk=item.pk).status == ItemStatus.TO_DO


def test_a_tick_after_every_cookie_was_cleared_goes_to_sign_in_as_a_time_out(
    page, sign_in, practice_manager, current_migration
):
    # The session's and the CSRF cookie gone (a browser told to clear them): the CSRF check refuses
    # first, and the person is signed out, so it is a time-out: the whole page to the sign-in, told
    # the change was not saved, rather than "reload the page" in the row.
    item = item_of(current_migration)
    sign_in(page, practice_manager)
    page.context.clear_cookies()

    page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()

    page.wait_for_url(re.compile(rf"/accounts/login/\?next=/migrations/{current_migration.pk}/$"))
    expect(page.get_by_role("status").filter(has_text="that change was not saved")).to_be_visible()
    assert ChecklistItem.objects.get(pk=item.pk).status == ItemStatus.TO_DO


def test_a_tick_refused_as_an_expired_form_while_signed_in_says_to_reload_the_page(
    page, sign_in, practice_manager, current_migration
):
    # Signed in, but the CSRF cookie gone (signed in again in another tab): the row says what to do
    # there, not the whole page's "go back to the previous page".
    item = item_of(current_migration)
    sign_in(page, practice_manager)
    page.context.clear_cookies(name=settings.CSRF_COOKIE_NAME)

    page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()

    expect_error_at_item(page, item, "This page has expired, so your change was not saved. Reload the page")
    assert ChecklistItem.objects.get(pk=item.pk).status == ItemStatus.TO_DO


# --- a refusal (403), a conflict (409), a server error (500) ------------------------------------------


def cancel_behind_the_page(migration: PracticeMigration) -> None:
    """Someone cancels the migration while the page is open: every change to it is now a 403."""
    PracticeMigration.objects.filter(pk=migration.pk).update(
        status=PracticeMigration.Status.CANCELLED, status_reason="Merged", finished_at=timezone.now()
    )


def test_a_refused_tick_shows_an_error_message_at_the_item(page, sign_in, practice_manager, current_migration):
    item = item_of(current_migration)
    sign_in(page, practice_manager)
    mark_the_page(page)
    cancel_behind_the_page(current_migration)

    page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()

    expect_error_at_item(page, item, REFUSED_MESSAGE)
    assert_page_not_reloaded(page)
    assert ChecklistItem.objects.get(pk=item.pk).status == ItemStatus.TO_DO
    assert_no_axe_violations(page)


def test_a_refused_tick_without_javascript_shows_the_refusal_page(
    page_without_js, sign_in, practice_manager, current_migration
):
    page = page_without_js
    item = item_of(current_migration)
    sign_in(page, practice_manager, javascript=False)
    cancel_behind_the_page(current_migration)

    with page.expect_navigation() as navigation:
        page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()

    assert navigation.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This migration can no longer change")
    assert ChecklistItem.objects.get(pk=item.pk).status == ItemStatus.TO_DO


def open_item_actions(page: Page, item: ChecklistItem, summary: str = "Add a note or mark as not applicable") -> None:
    summary_element = page.locator(f"#item-{item.pk} summary")
    expect(summary_element).to_contain_text(summary)
    summary_element.click()


def test_a_note_someone_else_changed_meanwhile_shows_the_conflict_at_the_item(
    page, sign_in, practice_manager, clinical_lead, current_migration
):
    item = item_of(current_migration)
    sign_in(page, practice_manager)
    mark_the_page(page)
    open_item_actions(page, item)
    row = page.locator(f"#item-{item.pk}")
    row.get_by_label("Note").fill("Booked the trainer")
    item.set_note(clinical_lead, "The supplier rang back")

    row.get_by_role("button", name="Save note").click()

    expect_error_at_item(page, item, STALE_MESSAGE)
    expect(row).to_contain_text("Note: The supplier rang back")
    assert_page_not_reloaded(page)
    assert ChecklistItem.objects.get(pk=item.pk).note == "The supplier rang back"
    assert_no_axe_violations(page)


def test_a_note_someone_else_changed_meanwhile_without_javascript_shows_the_item_page_with_the_conflict(
    page_without_js, sign_in, practice_manager, clinical_lead, current_migration
):
    page = page_without_js
    item = item_of(current_migration)
    sign_in(page, practice_manager, javascript=False)
    page.goto(item_page(current_migration, item))
    page.get_by_label("Note").fill("Booked the trainer")
    item.set_note(clinical_lead, "The supplier rang back")

    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save note").click()

    assert navigation.value.status == 409
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(STALE_MESSAGE)
    assert ChecklistItem.objects.get(pk=item.pk).note == "The supplier rang back"


def test_a_server_error_shows_an_error_message_at_the_item(page, sign_in, practice_manager, current_migration):
    item = item_of(current_migration)
    sign_in(page, practice_manager)
    mark_the_page(page)
    # The server's own error page, as Django's server_error view sends it.
    page.route(
        re.compile(rf"/items/{item.pk}/complete/$"),
        lambda route: route.fulfill(status=500, content_type="text/html", body=render_to_string("500.html")),
    )

    page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()

    expect_error_at_item(page, item, SERVER_MESSAGE)
    assert_page_not_reloaded(page)
    assert_no_axe_violations(page)


# --- focus after a validation error -----------------------------------------------------------------


def test_after_a_validation_error_on_the_item_page_the_focus_is_on_the_error_summary(
    page, sign_in, practice_manager, current_migration
):
    item = item_of(current_migration)
    sign_in(page, practice_manager)
    page.goto(item_page(current_migration, item))

    page.get_by_role("button", name="Not applicable").click()

    expect(page.locator(".nhsuk-error-summary")).to_be_focused()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a reason why this item is not applicable")


def test_after_a_validation_error_in_a_row_the_focus_is_on_the_field_with_the_error(
    page, sign_in, practice_manager, current_migration
):
    item = item_of(current_migration)
    sign_in(page, practice_manager)
    open_item_actions(page, item)

    page.locator(f"#item-{item.pk}").get_by_role("button", name="Not applicable").click()

    expect(page.locator(f"#reason-{item.pk}-error")).to_be_visible()
    expect(page.locator(f"#reason-{item.pk}")).to_be_focused()
    assert_no_axe_violations(page)


# --- reopening a blocked item, with a reason ------------------------------------------------------------


def test_a_blocked_item_is_reopened_in_place_with_a_reason(page, sign_in, practice_manager, current_migration):
    item = item_of(current_migration)
    item.mark_blocked(practice_manager, "Waiting for the supplier")
    sign_in(page, practice_manager)
    mark_the_page(page)
    open_item_actions(page, item, "Reopen, add a note")
    row = page.locator(f"#item-{item.pk}")

    row.get_by_label("Why reopen it? (optional)").fill("The supplier replied")
    row.get_by_role("button", name="Reopen").click()

    expect(page.locator("#announcer")).to_have_text("Reopened")
    expect(page.locator(f"#item-{item.pk}-status .nhsuk-tag").first).to_have_text("To do")
    assert_page_not_reloaded(page)
    reopened = ChecklistItem.objects.get(pk=item.pk)
    assert (reopened.status, reopened.reason) == (ItemStatus.TO_DO, "")
    assert reopened.events.filter(new_value=ItemStatus.TO_DO, reason="The supplier replied").exists()


def test_a_blocked_item_is_reopened_without_javascript_from_its_page(
    page_without_js, sign_in, practice_manager, current_migration
):
    page = page_without_js
    item = item_of(current_migration)
    item.mark_blocked(practice_manager, "Waiting for the supplier")
    sign_in(page, practice_manager, javascript=False)
    page.goto(item_page(current_migration, item))

    page.get_by_label("Why reopen it? (optional)").fill("The supplier replied")
    page.get_by_role("button", name="Reopen").click()

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/\?phase={item.phase_id}#item-{item.pk}$"))
    reopened = ChecklistItem.objects.get(pk=item.pk)
    assert reopened.status == ItemStatus.TO_DO
    assert reopened.events.filter(new_value=ItemStatus.TO_DO, reason="The supplier replied").exists()


# --- an item's own due date ---------------------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["with javascript", "without javascript"])
def test_an_editor_sets_then_clears_an_items_due_date_on_its_page(
    javascript, new_page, sign_in, practice_manager, current_migration
):
    page = new_page(javascript=javascript)
    item = item_of(current_migration)
    computed = item.due_on
    sign_in(page, practice_manager, javascript=javascript)
    page.goto(item_page(current_migration, item))
    form = page.locator("form").filter(has=page.get_by_role("button", name="Save the due date"))

    # The form starts from the date the item has: the day taken out of it.
    expect(form.get_by_label("Day")).to_have_value(str(computed.day))
    form.get_by_label("Day").fill("")
    form.get_by_label("Year").fill(str(computed.year + 1))
    form.get_by_role("button", name="Save the due date").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Due date must include a day")
    if javascript:
        expect(page.locator(".nhsuk-error-summary")).to_be_focused()
    form.get_by_label("Day").fill("2")
    form.get_by_label("Month").fill("3")
    form.get_by_label("Year").fill(str(computed.year + 1))
    form.get_by_label("Why change the due date?").fill("The supplier moved it")
    form.get_by_role("button", name="Save the due date").click()
    expect(page.get_by_role("status").filter(has_text="Due date set by hand")).to_be_visible()
    dated = ChecklistItem.objects.get(pk=item.pk)
    assert dated.manual_due_on == dated.due_on == computed.replace(year=computed.year + 1, month=3, day=2)

    form.get_by_label("Why change the due date?").fill("Back to the plan")
    form.get_by_role("button", name="Use the date worked out from the plan").click()

    expect(page.get_by_role("status").filter(has_text="Due date worked out from the plan")).to_be_visible()
    cleared = ChecklistItem.objects.get(pk=item.pk)
    assert (cleared.manual_due_on, cleared.due_on) == (None, computed)
    assert Event.objects.filter(item=item, kind=Event.Kind.DUE_DATE).count() == 2


# --- nothing offered that ends in a 403 ----------------------------------------------------------------


def test_practice_staff_are_offered_only_a_note_on_a_gate(page, sign_in, practice_staff, current_migration):
    gate = item_of(current_migration, GATE_KEY)
    sign_in(page, practice_staff)
    page.goto(f"/migrations/{current_migration.pk}/?show=all")
    row = page.locator(f"#item-{gate.pk}")

    open_item_actions(page, gate, "Add a note")
    expect(row.locator("summary")).not_to_contain_text("not applicable")

    expect(row.get_by_role("button", name="Save note")).to_be_visible()
    expect(row.get_by_role("button", name="Not applicable")).to_have_count(0)
    expect(row.get_by_role("button", name="Blocked")).to_have_count(0)
    page.goto(item_page(current_migration, gate))
    expect(page.get_by_role("button", name="Save note")).to_be_visible()
    expect(page.get_by_role("button", name="Not applicable")).to_have_count(0)
    expect(page.get_by_role("button", name="Blocked")).to_have_count(0)
