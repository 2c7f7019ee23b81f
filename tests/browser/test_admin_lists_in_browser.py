"""The event log's list in the admin, in a real browser: on a 1,280 px screen it fits beside its
filter without scrolling sideways; on a phone its words stay whole and the table scrolls sideways
within its box, not the page (the reminder e-mails' list shares the same rules: admin.css)."""

import pytest
from playwright.sync_api import Page

from migrations_app.models import ItemKind, ItemStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEASURE = """() => {
    const results = document.querySelector('#changelist .results');
    const headings = [...document.querySelectorAll('#result_list thead th')].filter(th => th.textContent.trim());
    return {
        page: document.documentElement.scrollWidth,
        table: document.querySelector('#result_list').getBoundingClientRect().width,
        box: results.clientWidth,
        scrolls: results.scrollWidth > results.clientWidth,
        narrowest: Math.min(...headings.map(th => th.getBoundingClientRect().width)),
        headings: headings.map(th => th.textContent.trim()),
    };
}"""


def test_the_event_log_fits_a_wide_screen_and_scrolls_within_its_box_on_a_phone(
    new_page, sign_in, support_admin, migration, practice_manager
):
    task = migration.items.filter(kind=ItemKind.TASK, status=ItemStatus.TO_DO).first()
    task.complete(practice_manager)
    task.reopen(practice_manager, reason="Ticked by mistake")
    page: Page = new_page()
    sign_in(page, support_admin)

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/migrations_app/event/")
    wide = page.evaluate(MEASURE)
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    phone = page.evaluate(MEASURE)

    assert "When" in wide["headings"] and wide["headings"] == phone["headings"]
    assert wide["page"] <= 1280 and not wide["scrolls"]
    # On the phone the page itself does not scroll sideways; the table does, in its box, its
    # headings whole words ("When", not "W H E N" a letter a line).
    assert phone["page"] <= 390
    assert phone["scrolls"] and phone["table"] > phone["box"]
    assert phone["narrowest"] >= 40, phone
