"""The import preview in a browser: a file's long values wrap, so the problems stay on the screen."""

import csv
import io

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

HEADER = ["ODS code", "Practice name", "ICB code", "Current system", "New system", "Order date", "Planned go-live"]


@pytest.mark.parametrize("width", [390, 1280])
def test_a_long_name_in_the_file_wraps_and_the_problems_stay_on_the_screen(
    page: Page, sign_in, delivery_partner_user, migration, width, tmp_path
):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerow(["K82001", "N" * 400, "QWE", "EMIS Web", "SystmOne", "01/04/2025", "28/07/2025"])
    upload = tmp_path / "orders.csv"
    upload.write_text(text.getvalue(), encoding="utf-8")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, delivery_partner_user)

    page.goto("/migrations/import/")
    page.locator('input[type="file"]').set_input_files(str(upload))
    page.get_by_role("button", name="Upload and preview").click()

    problem = page.locator("#row-2").get_by_text("The practice name must be 200 characters or fewer.")
    problem.scroll_into_view_if_needed()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    box = problem.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
