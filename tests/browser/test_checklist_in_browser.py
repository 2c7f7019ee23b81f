"""The checklist in a real browser: htmx updates in place, and every action still works as a plain
form post with JavaScript off."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import ChecklistItem, ItemStatus, PracticeMigration
from tests.browser.conftest import sign_in_through_the_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Items of the guide timed from kick-off (migrations_app/guide/practice-migration.yaml), which
# `current_migration` puts two days ago.
OVERDUE_ITEM_KEY = "check-dates-against-availability"  # kick-off + 0 days: two days ago
DUE_SOON_ITEM_KEY = "secure-dates-and-peoples-time"  # kick-off + 3 days: tomorrow
NOT_APPLICABLE_ERROR = "Enter a reason why this item is not applicable"
# What a tick announces: that, and the gates it made ready to sign, if any.
MARKED_AS_DONE = re.compile(r"^Marked as done(\. Ready to sign off: .+)?$")


def item_of(migration: PracticeMigration, key: str) -> ChecklistItem:
    return migration.items.get(key=key)


def overall_progress(page: Page) -> tuple[int, int]:
    """(done, applicable) as the page shows them: "N of M applicable items done"."""
    text = page.locator("#overall-progress").inner_text()
    match = re.search(r"(\d+) of (\d+) applicable items done", text)
    assert match, f"no progress text in {text!r}"
    return int(match[1]), int(match[2])


def this_week_list(page: Page, heading: str):
    """The list under one heading of the "This week" panel ("Overdue", "Due in the next 7 days")."""
    return page.locator("#this-week").locator(f"h3:has-text('{heading}') + ul")


def open_item_actions(page: Page, item: ChecklistItem) -> None:
    page.locator(f"#item-{item.pk}").get_by_text("Add a note or mark as not applicable or blocked").click()


def test_practice_manager_marks_an_item_done_in_place(page, practice_manager, current_migration):
    # The most overdue item: "This week" lists the five most overdue.
    overdue = current_migration.items.filter(due_on__lt=timezone.localdate()).order_by(
        "due_on", "phase__position", "position"
    )[0]
    due_soon = item_of(current_migration, DUE_SOON_ITEM_KEY)

    sign_in_through_the_page(page, practice_manager)

    expect(page).to_have_url(re.compile(rf"/migrations/{current_migration.pk}/$"))
    expect(page.locator("#this-week").get_by_role("heading", name="This week")).to_be_visible()
    expect(this_week_list(page, "Overdue").get_by_role("link", name=overdue.title)).to_be_visible()
    expect(this_week_list(page, "Due in the next 7 days").get_by_role("link", name=due_soon.title)).to_be_visible()
    row = page.locator(f"#item-{overdue.pk}")
    expect(page.locator(f"#item-{overdue.pk}-status")).to_contain_text("Overdue")
    done_before, applicable = overall_progress(page)
    page.evaluate("() => { window.__marker = 1 }")
    url_before = page.url

    row.get_by_role("button", name="Mark as done").click()

    expect(page.locator(f"#item-{overdue.pk}-status .nhsuk-tag").first).to_have_text("Done")
    expect(page.locator("#overall-progress")).to_contain_text(
        f"{done_before + 1} of {applicable} applicable items done"
    )
    expect(page.locator("#announcer")).to_have_text(MARKED_AS_DONE)
    expect(this_week_list(page, "Overdue").get_by_role("link", name=overdue.title)).to_have_count(0)
    expect(row.get_by_role("button", name="Reopen")).to_be_visible()
    assert page.evaluate("() => window.__marker") == 1, "the page reloaded"
    assert page.url == url_before
    overdue.refresh_from_db()
    assert overdue.status == ItemStatus.DONE
    assert overdue.completed_by == practice_manager


def test_mark_as_done_without_javascript_posts_and_returns_to_the_items_phase(
    page_without_js, sign_in, practice_manager, current_migration
):
    page = page_without_js
    item = item_of(current_migration, DUE_SOON_ITEM_KEY)
    sign_in(page, practice_manager, javascript=False)
    page.evaluate("() => { window.__marker = 1 }")

    page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()

    # The Open view no longer shows the item: the page opens at its phase, not at the top.
    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/#phase-{item.phase_id}-heading$"))
    assert page.evaluate("() => window.__marker") is None, "the form was not submitted as a page load"
    expect(page.locator(f"#phase-{item.phase_id}-heading")).to_be_in_viewport()
    # The confirmation is there, in sight, not at the top of the page.
    expect(page.get_by_role("status").filter(has_text=f"Marked as done: {item.title}")).to_be_in_viewport()
    # The page opens on the open items; the done item is in the All view.
    page.goto(f"/migrations/{current_migration.pk}/?show=all#item-{item.pk}")
    expect(page.locator(f"#item-{item.pk}-status .nhsuk-tag").first).to_have_text("Done")
    item.refresh_from_db()
    assert item.status == ItemStatus.DONE
    assert item.completed_by == practice_manager


def test_after_not_applicable_in_place_the_focus_stays_in_the_row(page, sign_in, practice_manager, current_migration):
    item = item_of(current_migration, DUE_SOON_ITEM_KEY)
    sign_in(page, practice_manager)
    open_item_actions(page, item)
    row = page.locator(f"#item-{item.pk}")
    row.get_by_label("Reason", exact=True).fill("Done by the CSU instead")

    row.get_by_role("button", name="Not applicable").click()

    expect(page.locator(f"#item-{item.pk}-status .nhsuk-tag").first).to_have_text("Not applicable")
    expect(page.locator("#announcer")).to_have_text("Marked as not applicable")
    # The row has no button left: the focus is on its forms, not back at the top of the page.
    expect(row.locator("summary")).to_be_focused()
    expect(row.locator("summary")).to_contain_text("Reopen")


def test_not_applicable_without_a_reason_shows_the_error_in_place(page, sign_in, practice_manager, current_migration):
    item = item_of(current_migration, DUE_SOON_ITEM_KEY)
    sign_in(page, practice_manager)
    page.evaluate("() => { window.__marker = 1 }")
    url_before = page.url
    open_item_actions(page, item)
    row = page.locator(f"#item-{item.pk}")
    row.get_by_label("Reason", exact=True).fill("")

    row.get_by_role("button", name="Not applicable").click()

    expect(page.locator(f"#reason-{item.pk}-error")).to_contain_text(NOT_APPLICABLE_ERROR)
    expect(page.locator(f"#reason-{item.pk}")).to_be_visible()  # the swapped-in details stay open
    expect(page.locator(f"#item-{item.pk}-status .nhsuk-tag").first).to_have_text("To do")
    assert page.evaluate("() => window.__marker") == 1, "the page reloaded"
    assert page.url == url_before
    unchanged = ChecklistItem.objects.get(pk=item.pk)
    assert (unchanged.status, unchanged.reason, unchanged.revision) == (ItemStatus.TO_DO, "", item.revision)


def test_not_applicable_without_a_reason_and_without_javascript_shows_the_item_page_with_errors(
    page_without_js, sign_in, practice_manager, current_migration
):
    page = page_without_js
    item = item_of(current_migration, DUE_SOON_ITEM_KEY)
    sign_in(page, practice_manager, javascript=False)
    open_item_actions(page, item)
    # Without JavaScript the row links to the item's own page, which holds the same forms.
    with page.expect_navigation():
        page.locator(f"#item-{item.pk}").get_by_role("link", name="Open this item").click()
    page.get_by_label("Reason", exact=True).fill("")

    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Not applicable").click()

    assert navigation.value.status == 400
    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name=NOT_APPLICABLE_ERROR)).to_have_attribute("href", f"#reason-{item.pk}")
    expect(page.get_by_role("heading", level=1)).to_have_text(item.title)
    expect(page.locator(f"#reason-{item.pk}-error")).to_contain_text(NOT_APPLICABLE_ERROR)
    unchanged = ChecklistItem.objects.get(pk=item.pk)
    assert (unchanged.status, unchanged.reason, unchanged.revision) == (ItemStatus.TO_DO, "", item.revision)


def test_outsider_opening_a_migration_gets_page_not_found(page, sign_in, outsider, current_migration):
    sign_in(page, outsider)

    response = page.goto(f"/migrations/{current_migration.pk}/")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text(current_migration.practice.name)).to_have_count(0)


def test_item_page_saves_a_note_with_javascript_on(page, sign_in, practice_manager, current_migration):
    item = item_of(current_migration, DUE_SOON_ITEM_KEY)
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/items/{item.pk}/")
    page.get_by_label("Note", exact=True).fill("Dates checked with the partners")

    page.get_by_role("button", name="Save note").click()

    expect(page.get_by_text("Note saved").first).to_be_attached(timeout=3_000)
    item.refresh_from_db()
    assert item.note == "Dates checked with the partners"
