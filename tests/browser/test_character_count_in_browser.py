"""The NHS.UK character count on every box with a limit: on a page, in a row's forms loaded in place
(htmx), and on text put back after a time-out, so that a limit is seen before the text is sent."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import assert_no_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEM_KEY = "agree-go-live-date"
# The count on screen; the component repeats it, a moment later, in a visually hidden status for
# screen readers, so a search by its text alone finds one or two elements depending on when it looks.
SHOWN = ".nhsuk-character-count__status"


def count_of(box):
    """The count on screen of the text box `box`."""
    return box.locator("xpath=ancestor::*[contains(@class, 'nhsuk-character-count')][1]").locator(SHOWN)


def test_a_rows_note_loaded_in_place_counts_what_is_left_and_what_is_over(
    page, sign_in, practice_manager, current_migration
):
    item = current_migration.items.get(key=ITEM_KEY)
    sign_in(page, practice_manager)
    row = page.locator(f"#item-{item.pk}")
    row.locator("summary").click()

    note = row.get_by_label("Note")
    note.fill("Rang the supplier")

    expect(count_of(note)).to_have_text("You have 4,983 characters remaining")
    expect(count_of(note)).to_be_visible()
    note.fill("x" * 5003)
    expect(count_of(note)).to_have_text("You have 3 characters too many")
    assert_no_axe_violations(page)


def test_a_check_in_note_says_its_limit_on_its_own_page(page, sign_in, practice_manager, current_migration):
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/check-ins/")

    note = page.get_by_label("Note")
    note.fill("On track")

    expect(count_of(note)).to_have_text("You have 992 characters remaining")
    expect(count_of(note)).to_be_visible()
