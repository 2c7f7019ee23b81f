"""The NHS.UK character count on every box with a limit: on a page, in a row's forms loaded in place
(htmx), and on text put back after a time-out, so that a limit is seen before the text is sent."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import assert_no_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEM_KEY = "agree-go-live-date"


def test_a_rows_note_loaded_in_place_counts_what_is_left_and_what_is_over(
    page, sign_in, practice_manager, current_migration
):
    item = current_migration.items.get(key=ITEM_KEY)
    sign_in(page, practice_manager)
    row = page.locator(f"#item-{item.pk}")
    row.locator("summary").click()

    note = row.get_by_label("Note")
    note.fill("Rang the supplier")

    expect(row.get_by_text("You have 4,983 characters remaining")).to_be_visible()
    note.fill("x" * 5003)
    expect(row.get_by_text("You have 3 characters too many")).to_be_visible()
    assert_no_axe_violations(page)


def test_a_check_in_note_says_its_limit_on_its_own_page(page, sign_in, practice_manager, current_migration):
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/check-ins/")

    page.get_by_label("Note").fill("On track")

    expect(page.get_by_text("You have 992 characters remaining")).to_be_visible()
