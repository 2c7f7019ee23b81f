"""The dashboard in a real browser at a phone's, a tablet's and a laptop's width: the practice and
its RAG status are on screen for every migration, nothing is cut off, axe-core finds nothing to
fix; the current phase comes from the milestones, days since go-live read as such, and the CSV
carries the columns a delivery partner reports on."""

import csv
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import PracticeMigration
from tests.browser.conftest import milestones_around
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.factories import MILESTONE_DATES, PracticeFactory, make_migration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [320, 768, 1280]


@pytest.fixture
def partner_migrations(
    current_migration, guide_version, delivery_partner, delivery_partner_user
) -> list[PracticeMigration]:
    """The demo practice's migration (kick-off two days ago) and two more of the delivery
    partner's: one with a long name live for 20 days, and one on hold."""
    today = timezone.localdate()
    go_live_shift = today - timedelta(days=20) - MILESTONE_DATES["go_live_on"]
    live = make_migration(
        practice=PracticeFactory(
            name="The Old Cottage Hospital Family Health and Wellbeing Partnership", delivery_partner=delivery_partner
        ),
        template_version=guide_version,
        **{name: day + go_live_shift for name, day in MILESTONE_DATES.items()},
    )
    held = make_migration(
        practice=PracticeFactory(name="Abbey Road Surgery", delivery_partner=delivery_partner),
        template_version=guide_version,
        **{name: day + timedelta(days=30) for name, day in milestones_around(today).items()},
    )
    held.hold(delivery_partner_user, "Waiting for the ICB's funding")
    return [current_migration, live, held]


def open_dashboard_at(page: Page, sign_in, user, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, user)
    expect(page.locator("#migrations-table tbody tr")).to_have_count(3)


def on_screen_horizontally(page: Page, locator) -> bool:
    box = locator.bounding_box()
    return (
        box is not None
        and box["width"] > 0
        and box["x"] >= 0
        and box["x"] + box["width"] <= page.viewport_size["width"]
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_every_practice_and_its_rag_status_are_on_screen_and_nothing_is_cut_off(
    page, sign_in, delivery_partner_user, partner_migrations, width
):
    open_dashboard_at(page, sign_in, delivery_partner_user, width)

    for row in page.locator("#migrations-table tbody tr").all():
        assert on_screen_horizontally(page, row.locator("td").first.get_by_role("link"))
        assert on_screen_horizontally(page, row.locator("strong.nhsuk-tag"))
    scroll = page.get_by_role("region", name="Table of migrations")
    assert scroll.evaluate("element => element.scrollWidth <= element.clientWidth"), "the table scrolls sideways"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


@pytest.mark.parametrize("width", [390, 768, 1280])
def test_the_cutover_table_scrolls_only_when_it_is_wider_than_the_screen(
    page, sign_in, delivery_partner_user, partner_migrations, width
):
    # NHS.UK's tables are 4 pixels wider than their box: inside a scrolling box, a scroll of 4 pixels.
    open_dashboard_at(page, sign_in, delivery_partner_user, width)
    scroll = page.get_by_role("region", name="Cutover length by systems")

    widths = scroll.evaluate(
        "element => [element.scrollWidth, element.clientWidth, element.firstElementChild.scrollWidth]"
    )

    assert widths[0] == widths[1], widths


@pytest.mark.parametrize("width", WIDTHS)
def test_every_sort_link_is_on_screen_when_it_has_the_focus_and_sorts(
    page, sign_in, delivery_partner_user, partner_migrations, width
):
    # On a phone or tablet the rows are cards: their headings are a line of sort links, not hidden ones.
    open_dashboard_at(page, sign_in, delivery_partner_user, width)
    links = page.locator("#migrations-table thead a")
    assert links.count() >= 5

    for link in links.all():
        link.focus()
        expect(link).to_be_focused()
        expect(link).to_be_in_viewport()
        assert on_screen_horizontally(page, link), link.inner_text()
    page.get_by_role("link", name="Go-live", exact=True).click()

    expect(page).to_have_url(re.compile(r"sort=go_live.*#results-heading$"))
    expect(page.get_by_role("heading", name="Migrations", exact=True)).to_be_in_viewport()
    expect(page.get_by_role("columnheader", name="Go-live", exact=True)).to_have_attribute("aria-sort", "ascending")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_dashboard_has_no_axe_violations_at_each_width(
    page, sign_in, delivery_partner_user, partner_migrations, width
):
    open_dashboard_at(page, sign_in, delivery_partner_user, width)

    assert_no_axe_violations(page)


def test_a_row_shows_the_phase_by_dates_how_far_behind_the_checklist_is_and_days_since_go_live(
    page, sign_in, delivery_partner_user, partner_migrations
):
    current, live, held = partner_migrations
    open_dashboard_at(page, sign_in, delivery_partner_user, 1280)

    live_row = page.locator(f"#migration-{live.pk}")
    expect(live_row).to_contain_text("Post Go Live")
    expect(live_row).to_contain_text("Checklist 4 phases behind: open items from Early phases")
    expect(live_row).to_contain_text("Live 20 days")
    expect(live_row).not_to_contain_text("-20")
    expect(page.locator(f"#migration-{current.pk}")).to_contain_text("Early phases")
    expect(page.locator(f"#migration-{current.pk}")).to_contain_text("Checklist in step with the dates")
    expect(page.locator(f"#migration-{held.pk}")).to_contain_text("On hold")


def test_the_downloaded_csv_has_the_reporting_columns(page, sign_in, delivery_partner_user, partner_migrations):
    current, live, held = partner_migrations
    open_dashboard_at(page, sign_in, delivery_partner_user, 1280)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download all 3 as a CSV file").click()
    with open(download_info.value.path(), encoding="utf-8-sig", newline="") as file:
        lines = list(csv.DictReader(file))

    by_practice = {line["Practice"]: line for line in lines}
    held_line = by_practice["Abbey Road Surgery"]
    assert (held_line["Status"], held_line["Status reason"]) == ("On hold", "Waiting for the ICB's funding")
    assert held_line["Delivery partner"] == held.practice.delivery_partner.name
    live_line = by_practice[live.practice.name]
    assert (live_line["IDP"], live_line["FDP"], live_line["Old system access ends"]) == (
        live.idp_on.isoformat(),
        live.fdp_on.isoformat(),
        live.old_system_access_end_on.isoformat(),
    )
    assert live_line["Days to go-live"] == "-20"  # a number to sort by: negative once live
    assert live_line["Last change"] == timezone.localdate().isoformat()
    assert by_practice[current.practice.name]["Next item owner"]
