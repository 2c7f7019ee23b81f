"""People paste long links into notes, reasons and check-ins. Such a word wraps where it is shown
(the checklist row, the item's history, the check-ins, the record) rather than widening the page
past the screen, at 390 and 1,280 px."""

import pytest
from playwright.sync_api import Page

from migrations_app.models import CheckIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEM_KEY = "secure-dates-and-peoples-time"  # the practice manager's, in the Open view
LINK = (
    "https://nhs.sharepoint.example/sites/lanternlane/Shared%20Documents/Migration/"
    "TestCriteria_SystmOne_v3_final_FINAL_reviewed_by_the_practice_and_the_CSU.xlsx"
)


def page_width(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


@pytest.mark.parametrize("width", [390, 1280])
def test_a_long_link_in_a_note_a_reason_or_a_check_in_does_not_widen_the_page(
    page, sign_in, practice_manager, current_migration, width
):
    item = current_migration.items.get(key=ITEM_KEY)
    item.set_note(practice_manager, f"Test criteria: {LINK}")
    item.mark_blocked(practice_manager, f"Waiting for {LINK}")
    CheckIn.give(current_migration, side="practice", rag="amber", note=f"See {LINK}", by=practice_manager)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, practice_manager)

    for path in (
        f"/migrations/{current_migration.pk}/",
        f"/migrations/{current_migration.pk}/items/{item.pk}/",
        f"/migrations/{current_migration.pk}/items/{item.pk}/history/",
        f"/migrations/{current_migration.pk}/check-ins/",
        f"/migrations/{current_migration.pk}/record/",
    ):
        page.goto(path)
        assert page.get_by_text(LINK[-30:]).first.is_visible(), path
        assert page_width(page) <= width, f"{path} is {page_width(page)} px wide at {width}"


@pytest.mark.parametrize("width", [390, 1280])
def test_a_long_reason_in_the_history_leaves_what_changed_readable(
    page, sign_in, practice_manager, current_migration, width
):
    item = current_migration.items.get(key=ITEM_KEY)
    item.mark_blocked(practice_manager, "x" * 2000)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, practice_manager)

    page.goto(f"/migrations/{current_migration.pk}/items/{item.pk}/history/")

    what = page.get_by_text("Status changed: To do to Blocked")
    # Not squeezed by the reason until its words break ("Statu / s chang / ed:"): each word on one line.
    broken_words = """element => {
        const node = element.firstChild, words = [], range = document.createRange();
        for (const match of node.textContent.matchAll(/\\S+/g)) {
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            if (range.getClientRects().length > 1) words.push(match[0]);
        }
        return words;
    }"""
    assert what.evaluate(broken_words) == []
    assert page_width(page) <= width


def test_on_a_phone_an_items_open_forms_have_the_items_full_width(page, sign_in, practice_manager, current_migration):
    item = current_migration.items.get(key=ITEM_KEY)
    page.set_viewport_size({"width": 390, "height": 900})
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{current_migration.pk}/?show=all")
    row = page.locator(f"#item-{item.pk}")

    row.locator("details summary").first.click()

    row_box = row.bounding_box()
    note_box = row.locator(f"#note-{item.pk}").bounding_box()
    status_box = row.locator(f"#item-{item.pk}-status").bounding_box()
    # The status tags sit above the title, not in a column beside the forms.
    assert status_box["y"] + status_box["height"] <= row.locator(f"#item-{item.pk}-title").bounding_box()["y"]
    assert note_box["width"] >= 0.8 * row_box["width"], (note_box, row_box)
