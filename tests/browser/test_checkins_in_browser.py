"""Weekly check-ins in a real browser: the practice manager and the delivery partner's project manager
each give theirs, and a check-in missed for more than 9 days turns the dashboard's flag on (the
clock moved with time-machine). axe-core on the new pages and the form's error state, at 1,280 and
390 px."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import assert_no_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
PRACTICE_NOTE = "Duplicate records cleaned up; waiting for the extract date from the supplier."
PARTNER_NOTE = "Technical survey done: no new hardware needed."


def no_axe_violations_at_each_width(page: Page) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_no_axe_violations(page)


def give_check_in(page: Page, migration, rag: str, note: str) -> None:
    before = migration.check_ins.count()
    page.goto(f"/migrations/{migration.pk}/")
    section = page.locator("#check-ins")
    expect(section).to_have_text("Weekly check-ins")
    page.get_by_role("link", name="Give this week's check-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly check-ins")
    no_axe_violations_at_each_width(page)

    # Nothing chosen: the error summary, and nothing saved.
    page.get_by_role("button", name="Save check-in").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select red, amber or green")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a note")
    assert page.title().startswith("Error: ")
    no_axe_violations_at_each_width(page)
    assert migration.check_ins.count() == before

    page.get_by_label(rag, exact=True).check()
    page.get_by_label("Note").fill(note)
    page.get_by_role("button", name="Save check-in").click()
    page.wait_for_url(f"**/migrations/{migration.pk}/#check-ins")


def test_the_practice_manager_and_the_delivery_partner_each_give_their_check_in(
    new_page, sign_in, current_migration, practice_manager, delivery_partner_user
):
    manager_page = new_page()
    sign_in(manager_page, practice_manager)
    give_check_in(manager_page, current_migration, "Amber", PRACTICE_NOTE)
    given = manager_page.get_by_role("status").filter(has_text="This week's check-in given, as the practice manager.")
    expect(given).to_be_visible()
    expect(manager_page.locator("#check-ins ~ dl").first).to_contain_text(PRACTICE_NOTE)

    partner_page = new_page()
    sign_in(partner_page, delivery_partner_user)
    give_check_in(partner_page, current_migration, "Green", PARTNER_NOTE)

    sides = {check_in.side: (check_in.rag, check_in.given_by) for check_in in current_migration.check_ins.all()}
    assert sides == {
        "practice": ("amber", practice_manager),
        "delivery_partner": ("green", delivery_partner_user),
    }
    summary = partner_page.locator("#check-ins ~ dl").first
    expect(summary).to_contain_text(PRACTICE_NOTE)
    expect(summary).to_contain_text(PARTNER_NOTE)
    no_axe_violations_at_each_width(partner_page)

    # The history page, as someone who reads it.
    partner_page.goto(f"/migrations/{current_migration.pk}/check-ins/")
    expect(partner_page.get_by_role("table")).to_contain_text(PARTNER_NOTE)
    no_axe_violations_at_each_width(partner_page)


def test_a_missed_check_in_turns_the_dashboard_flag_on(
    new_page, sign_in, current_migration, delivery_partner, delivery_partner_user
):
    page = new_page()
    sign_in(page, delivery_partner_user)
    give_check_in(page, current_migration, "Green", PARTNER_NOTE)
    page.goto("/dashboard/")
    row = page.locator("tr", has_text=current_migration.practice.name)
    expect(row).to_contain_text("Last check-in")
    expect(row.get_by_text("Check-in missed")).to_have_count(0)

    # Ten days on, with nobody checking in: the flag is on and the row is not green.
    with time_machine.travel(timezone.now() + timedelta(days=10), tick=True):
        later = new_page()
        sign_in(later, delivery_partner_user)
        later.goto("/dashboard/")
        row = later.locator("tr", has_text=current_migration.practice.name)
        expect(row.get_by_text("Check-in missed")).to_be_visible()
        expect(row.locator(".tracker-cell--rag > strong").first).not_to_have_text("Green")
        no_axe_violations_at_each_width(later)

        later.goto(f"/migrations/{current_migration.pk}/")
        expect(later.locator(".nhsuk-warning-callout", has_text="Check-in missed")).to_be_visible()


def test_the_check_in_day_page(page, sign_in, delivery_partner, delivery_partner_user):
    sign_in(page, delivery_partner_user)
    page.goto("/team/")
    page.get_by_role("link", name="Change the check-in day").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check-in day")
    no_axe_violations_at_each_width(page)

    page.get_by_label("Check-in day").select_option(label="Wednesday")
    page.get_by_role("button", name="Save check-in day").click()

    page.wait_for_url("**/team/")
    expect(page.get_by_text("Weekly check-ins: Wednesday")).to_be_visible()
    delivery_partner.refresh_from_db()
    assert delivery_partner.check_in_weekday == 2
