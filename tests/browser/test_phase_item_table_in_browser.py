"""A phase's item table in the template admin, in a real browser with the Content Security Policy
on: on a 1,280 px screen every column fits without scrolling sideways, and Save goes back to the
draft the phase belongs to."""

import pytest
from playwright.sync_api import Page, expect

from migrations_app.models import ItemTemplate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREEN = {"width": 1280, "height": 800}
WIDTHS = """() => ({
    page: document.documentElement.scrollWidth,
    table: document.querySelector('.item-table table').getBoundingClientRect().right,
    columns: [...document.querySelectorAll('.item-table thead th')].map(th => th.textContent.trim()).filter(Boolean),
})"""


@pytest.fixture
def screen_page(new_page) -> Page:
    page = new_page()
    page.set_viewport_size(SCREEN)
    return page


def test_every_phase_item_table_fits_a_1280_pixel_screen_with_every_column(
    screen_page, sign_in, template_editor, guide_version
):
    draft = guide_version.copy_as_draft()
    sign_in(screen_page, template_editor)

    for phase in draft.phases.order_by("position"):
        screen_page.goto(f"/admin/migrations_app/phasetemplate/{phase.pk}/change/")
        widths = screen_page.evaluate(WIDTHS)

        assert widths["page"] <= SCREEN["width"], (phase.key, widths["page"])
        assert widths["table"] <= SCREEN["width"], (phase.key, widths["table"])
        assert widths["columns"][:3] == ["Position", "Key", "Title"]
        assert {"Guide link", "Offset days", "Waits for", "Delete?"} <= set(widths["columns"])


def test_saving_a_phase_goes_back_to_its_draft(screen_page, sign_in, template_editor, guide_version):
    draft = guide_version.copy_as_draft()
    item = ItemTemplate.objects.filter(phase__version=draft).order_by("phase__position", "position").first()
    sign_in(screen_page, template_editor)
    screen_page.goto(f"/admin/migrations_app/phasetemplate/{item.phase_id}/change/")

    screen_page.locator(f"input[name$='-title'][value='{item.title}']").fill("Agree the dates")
    screen_page.get_by_role("button", name="Save", exact=True).click()

    expect(screen_page).to_have_url(
        f"{screen_page.url.split('/admin/')[0]}/admin/migrations_app/templateversion/{draft.pk}/change/"
    )
    expect(screen_page.locator(".messagelist")).to_contain_text("changed successfully")
    item.refresh_from_db()
    assert item.title == "Agree the dates"
