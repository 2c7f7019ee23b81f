"""The migration record in a browser: no axe violations at desktop and phone widths, nothing wider
than the screen, the PDF downloaded from its link, and only the record when printed."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.test_accessibility import assert_no_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GATE_KEY = "technical-requirements-signed-off"


@pytest.fixture
def finished_migration(current_migration, practice_manager, delivery_partner_user):
    """The demo migration with a gate signed with an override reason and a note, then cancelled."""
    practice_manager.full_name = "Siân O'Brien"
    practice_manager.save()
    current_migration.items.get(key=GATE_KEY).sign_off(practice_manager, override_reason="Agreed at the board")
    current_migration.cancel(delivery_partner_user, "The practice merged with its neighbour")
    return current_migration


@pytest.mark.parametrize("width", [1280, 390])
def test_the_record_has_no_axe_violations_and_fits_the_screen(
    width, page, sign_in, practice_manager, finished_migration
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{finished_migration.pk}/")
    page.get_by_role("link", name="Migration record").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Migration record")
    expect(page.locator("main")).to_contain_text("Siân O'Brien")
    expect(page.locator("main")).to_contain_text("The practice merged with its neighbour")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert_no_axe_violations(page)


def test_the_pdf_downloads_from_the_record(page, sign_in, practice_manager, finished_migration):
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{finished_migration.pk}/record/")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()

    ods = finished_migration.practice.ods_code
    assert download.value.suggested_filename.startswith(f"migration-record-{ods}-")
    with open(download.value.path(), "rb") as pdf:
        content = pdf.read()
    assert content.startswith(b"%PDF-")
    # Its text is the migration's own: the practice, the cancellation's reason, the gate signed with
    # an override (by whom, and why). Squashed: the PDF wraps text in its table cells.
    squashed = re.sub(r"\s+", "", "\n".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(content)).pages))
    gate = finished_migration.items.get(key=GATE_KEY)
    for fact in (
        f"{finished_migration.practice.name} ({ods})",
        "The practice merged with its neighbour",
        gate.title,
        "Siân O'Brien",
        "Agreed at the board",
    ):
        assert re.sub(r"\s+", "", fact) in squashed, fact


def test_printing_keeps_only_the_record(page, sign_in, practice_manager, finished_migration):
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{finished_migration.pk}/record/")

    page.emulate_media(media="print")

    expect(page.locator("header.nhsuk-header")).to_be_hidden()
    expect(page.locator("footer.nhsuk-footer")).to_be_hidden()
    expect(page.get_by_role("link", name="Download as PDF")).to_be_hidden()
    expect(page.get_by_role("heading", name="Sign-off gates")).to_be_visible()
