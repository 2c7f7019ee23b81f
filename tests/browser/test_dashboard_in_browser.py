"""The dashboard in a real browser: a delivery partner lands on it, filters, sorts and downloads the
CSV; the same with JavaScript off (everything is a plain GET); axe-core finds nothing to fix."""

import csv
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import PracticeMigration
from tests.browser.conftest import milestones_around, sign_in_through_the_page
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.factories import ICBFactory, PracticeFactory, make_migration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def partner_migrations(current_migration, guide_version, delivery_partner) -> list[PracticeMigration]:
    """The demo practice's migration and two more of the delivery partner's, one in another ICB."""
    today = timezone.localdate()
    others = [
        make_migration(
            practice=PracticeFactory(
                name=name, icb=icb or current_migration.practice.icb, delivery_partner=delivery_partner
            ),
            template_version=guide_version,
            **{day: value + timedelta(days=shift) for day, value in milestones_around(today).items()},
        )
        for name, icb, shift in [
            ("Abbey Road Surgery", None, 30),
            ("Meadow Lane Practice", ICBFactory(name="NHS Other Integrated Care Board"), 60),
        ]
    ]
    return [current_migration, *others]


def results(page: Page):
    return page.locator("#migrations-table tbody tr")


def practice_names(page: Page) -> list[str]:
    return [name.strip() for name in results(page).locator("td:first-child").all_inner_texts()]


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_a_delivery_partner_filters_sorts_and_downloads_the_dashboard(page, delivery_partner_user, partner_migrations):
    sign_in_through_the_page(page, delivery_partner_user)  # with the security code
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Migrations dashboard")
    expect(results(page)).to_have_count(3)

    page.get_by_label("ICB", exact=True).select_option(label="NHS South West London Integrated Care Board")
    page.get_by_role("button", name="Apply filters").click()
    expect(results(page)).to_have_count(2)
    assert query(page)["icb"] == [str(partner_migrations[0].practice.icb_id)]

    page.get_by_role("link", name="Practice", exact=True).click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Practice")
    assert practice_names(page) == ["Abbey Road Surgery", "Riverside Medical Centre"]
    page.get_by_role("link", name=re.compile(r"^Practice")).click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Practice")
    assert practice_names(page) == ["Riverside Medical Centre", "Abbey Road Surgery"]
    assert query(page)["sort"] == ["-practice"] and "icb" in query(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download all 2 as a CSV file").click()
    download = download_info.value
    assert re.fullmatch(r"migrations-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8-sig", newline="") as file:
        header, *lines = list(csv.reader(file))
    headings = [text.strip(" ▲▼") for text in page.locator("#migrations-table thead th").all_inner_texts()]
    assert header[: len(headings)] == headings  # then the CSV's own columns
    assert [line[0] for line in lines] == ["Riverside Medical Centre", "Abbey Road Surgery"]


def test_the_dashboard_filters_and_sorts_without_javascript(
    page_without_js, sign_in, delivery_partner_user, partner_migrations
):
    page = page_without_js
    sign_in(page, delivery_partner_user, javascript=False)

    page.get_by_label("Practice name or ODS code").fill("meadow")
    page.get_by_role("button", name="Apply filters").click()
    expect(results(page)).to_have_count(1)
    expect(results(page)).to_contain_text("Meadow Lane Practice")

    page.get_by_role("link", name="Clear filters").click()
    expect(results(page)).to_have_count(3)
    page.get_by_role("link", name="Go-live", exact=True).click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Go-live")
    assert practice_names(page) == ["Riverside Medical Centre", "Abbey Road Surgery", "Meadow Lane Practice"]


def test_the_dashboard_has_no_axe_violations(page, sign_in, delivery_partner_user, partner_migrations):
    sign_in(page, delivery_partner_user)
    expect(results(page)).to_have_count(3)

    assert_no_axe_violations(page)


def test_the_dashboard_with_filter_errors_has_no_axe_violations(
    page, sign_in, delivery_partner_user, partner_migrations
):
    sign_in(page, delivery_partner_user)
    page.goto("/dashboard/?icb=nowhere&page=0&rag=red&sort=-overdue")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select an ICB from the list")

    assert_no_axe_violations(page)


def test_the_rag_help_page_has_no_axe_violations(page, sign_in, delivery_partner_user):
    sign_in(page, delivery_partner_user)
    page.get_by_role("link", name=re.compile("RAG status")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("How the RAG status is worked out")

    assert_no_axe_violations(page)
