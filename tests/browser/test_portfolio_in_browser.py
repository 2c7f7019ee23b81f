"""Starting migrations in a real browser: a delivery partner starts one with the start form (the
practice found in place by htmx, or by a plain GET with JavaScript off), and imports an order
tracker with one bad row, sees the errors, fixes the file and imports it. axe-core checks every
page and error state (with JavaScript on: axe is a script)."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import Event, MigrationImport, Practice, PracticeMigration
from migrations_app.working_days import next_working_day, previous_working_day
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.factories import PracticeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = ["ODS code", "Practice name", "ICB code", "Current system", "New system", "Order date", "Planned go-live"]


@pytest.fixture
def hilltop(delivery_partner, icb, guide_version, source_supplier, target_supplier) -> Practice:
    """A practice the demo delivery partner supports, with no migration yet."""
    return PracticeFactory(ods_code="K81002", name="Hilltop Surgery", icb=icb, delivery_partner=delivery_partner)


def working_dates() -> tuple[date, date]:
    """An order date today or the working day before, and a go-live on a working day 14 weeks on:
    dates the start form has nothing to warn about (a weekend would ask to check them first)."""
    order = previous_working_day(timezone.localdate() + timedelta(days=1))
    return order, next_working_day(order + timedelta(weeks=14) - timedelta(days=1))


def fill_date(page: Page, legend: str, day) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def choose_systems(page: Page) -> None:
    page.get_by_label("Current system").select_option(label="EMIS Web")
    page.get_by_label("New system").select_option(label="SystmOne")


def test_a_delivery_partner_starts_a_migration(page, sign_in, delivery_partner_user, hilltop, current_migration):
    sign_in(page, delivery_partner_user)
    page.get_by_role("button", name="Start a migration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a migration")
    assert_no_axe_violations(page)

    # Found in place as it is typed: htmx replaces the list, the page stays.
    page.get_by_label("ODS code or practice name").fill("hillt")
    expect(page.get_by_role("radio", name="Hilltop Surgery (K81002)")).to_be_visible()
    expect(page.locator("#practice-search-status")).to_have_text("1 practice found for “hillt”.")
    assert "search=" not in page.url
    # A new practice's fields only once "not listed" is chosen.
    new_name = page.get_by_label("Practice name", exact=True)
    expect(new_name).to_be_hidden()
    # First as a practice not listed, with a bad ODS code and no order date: every problem is named,
    # next to its field, and nothing is saved.
    page.get_by_role("radio", name="The practice is not listed: add it").check()
    expect(new_name).to_be_visible()
    page.get_by_label("ODS code", exact=True).fill("K8200")
    choose_systems(page)
    page.get_by_role("button", name="Start the migration").click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Enter the order date")
    expect(summary).to_contain_text("Enter a GP practice ODS code")
    expect(summary).to_contain_text("Enter the practice name")
    expect(page).to_have_title(re.compile(r"^Error: "))
    assert not PracticeMigration.objects.filter(practice=hilltop).exists()
    assert_no_axe_violations(page)

    # The search is kept: choose the practice found. The new practice's fields, still shown with their
    # errors until then, go.
    expect(new_name).to_be_visible()
    page.get_by_role("radio", name="Hilltop Surgery (K81002)").check()
    expect(new_name).to_be_hidden()
    order, go_live = working_dates()
    fill_date(page, "Order date", order)
    fill_date(page, "Go-live", go_live)
    page.get_by_role("checkbox", name="Dispensing practice").check()
    page.get_by_label("Delivery partner's project manager").select_option(
        label=f"Dana Partner ({delivery_partner_user.email})"
    )
    page.get_by_role("button", name="Start the migration").click()

    page.wait_for_url(re.compile(r"/migrations/\d+/$"))
    started = PracticeMigration.objects.get(practice=hilltop)
    assert page.url.endswith(f"/migrations/{started.pk}/")
    expect(page.get_by_role("status").first).to_contain_text("Migration started for Hilltop Surgery (K81002).")
    assert started.created_by == delivery_partner_user
    assert started.project_manager == delivery_partner_user
    assert started.dispensing_practice
    assert started.items.exists()


def test_a_search_after_a_refused_start_drops_the_errors_it_answers(
    page, sign_in, delivery_partner_user, hilltop, current_migration
):
    sign_in(page, delivery_partner_user)
    page.get_by_role("button", name="Start a migration").click()
    page.get_by_role("button", name="Start the migration").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Select the practice")
    expect(page.locator("#practice-error")).to_be_visible()
    # The refused page's scripts run before the search: sent before htmx takes the search form over,
    # the search is the whole page's, as without JavaScript, which has no refused start to keep.
    page.wait_for_load_state("load")

    page.get_by_label("ODS code or practice name").fill("hillt")
    page.get_by_role("button", name="Search").click()

    # The practices are listed anew: the summary of the refused start, and its "Select the practice",
    # no longer describe the page. The other fields keep their errors until the form is sent again.
    expect(page.get_by_role("radio", name="Hilltop Surgery (K81002)")).to_be_visible()
    expect(summary).to_have_count(0)
    expect(page.locator("#practice-error")).to_have_count(0)
    expect(page.locator(".nhsuk-form-group--error").filter(has_text="Choose the practice")).to_have_count(0)
    expect(page.get_by_role("group", name="Order date")).to_contain_text("Enter the order date")
    expect(page).not_to_have_title(re.compile(r"^Error: "))
    assert_no_axe_violations(page)


def test_back_after_starting_a_migration_offers_the_start_form_afresh(
    page, sign_in, delivery_partner_user, hilltop, current_migration
):
    sign_in(page, delivery_partner_user)
    page.get_by_role("button", name="Start a migration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a migration")
    page.get_by_label("ODS code or practice name").fill("hillt")
    # Its button rather than the search as it is typed, which needs the page's scripts running first.
    page.get_by_role("button", name="Search").click()
    page.get_by_role("radio", name="Hilltop Surgery (K81002)").check()
    order, go_live = working_dates()
    fill_date(page, "Order date", order)
    fill_date(page, "Go-live", go_live)
    choose_systems(page)
    page.get_by_role("button", name="Start the migration").click()
    page.wait_for_url(re.compile(r"/migrations/\d+/$"))

    page.go_back()

    # The practice found is not there again, and no other practice choice stands in for it: the
    # browser gave "not listed" its choice, without the new practice's fields.
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a migration")
    not_listed = page.get_by_role("radio", name="The practice is not listed: add it")
    expect(not_listed).not_to_be_checked()
    expect(page.get_by_label("Practice name", exact=True)).to_be_hidden()
    not_listed.check()
    expect(page.get_by_label("Practice name", exact=True)).to_be_visible()


def test_a_new_practice_is_added_with_javascript_off(page_without_js, sign_in, delivery_partner_user, hilltop):
    page = page_without_js
    sign_in(page, delivery_partner_user, javascript=False)
    page.goto("/migrations/new/")

    # The plain GET: the whole page comes back with the practices found.
    page.get_by_label("ODS code or practice name").fill("K82")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#practice-search-status")).to_contain_text("No practice you can start a migration for")
    page.get_by_role("radio", name="The practice is not listed: add it").check()
    page.get_by_label("Practice name", exact=True).fill("New Road Surgery")
    page.get_by_label("ODS code", exact=True).fill("K8200")
    page.get_by_label("ICB", exact=True).select_option(label="NHS South West London Integrated Care Board")
    choose_systems(page)
    fill_date(page, "Order date", working_dates()[0])
    page.get_by_role("button", name="Start the migration").click()

    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a GP practice ODS code")
    assert not Practice.objects.filter(name="New Road Surgery").exists()

    page.get_by_label("ODS code", exact=True).fill("K82001")
    page.get_by_role("button", name="Start the migration").click()

    page.wait_for_url(re.compile(r"/migrations/\d+/$"))
    practice = Practice.objects.get(ods_code="K82001")
    assert page.url.endswith(f"/migrations/{practice.migrations.get().pk}/")
    assert practice.delivery_partner == hilltop.delivery_partner


def tracker(tmp_path, name: str, *rows) -> str:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(text.getvalue(), encoding="utf-8")
    return str(path)


def test_a_delivery_partner_imports_a_file_fixes_a_bad_row_and_imports_it(
    page, sign_in, delivery_partner_user, current_migration, tmp_path
):
    today = timezone.localdate()
    order, go_live = today.strftime("%d/%m/%Y"), (today + timedelta(weeks=14)).strftime("%d/%m/%Y")
    riverside = current_migration
    moved_go_live = riverside.go_live_on + timedelta(days=7)
    update = ["H85001", "Riverside Medical Centre", "QWE", "EMIS Web", "SystmOne", "", moved_go_live.isoformat()]
    new = ["K82001", "New Road Surgery", "QWE", "EMIS Web", "SystmOne", order, go_live]
    sign_in(page, delivery_partner_user)
    page.get_by_role("button", name="Import migrations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import migrations")
    assert_no_axe_violations(page)

    page.locator("input[type=file]").set_input_files(
        tracker(
            tmp_path,
            "orders.csv",
            update,
            new,
            ["K82002", "Old Lane Surgery", "QWE", "EMIS Wob", "SystmOne", order, go_live],
        )
    )
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check the import before saving")
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text('Row 4, Current system: No clinical system is called "EMIS Wob".')
    expect(page.get_by_role("button", name="Import these migrations")).to_have_count(0)
    expect(page.locator("#row-2")).to_contain_text("Update")
    expect(page.locator("#row-3")).to_contain_text("New")
    assert_no_axe_violations(page)
    assert not Practice.objects.filter(ods_code__in=["K82001", "K82002"]).exists()

    page.get_by_role("link", name="upload it again").click()
    page.locator("input[type=file]").set_input_files(
        tracker(
            tmp_path,
            "orders-fixed.csv",
            update,
            new,
            ["K82002", "Old Lane Surgery", "QWE", "EMIS Web", "SystmOne", order, go_live],
        )
    )
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.locator(".nhsuk-error-summary")).to_have_count(0)
    expect(page.locator("#row-2")).to_contain_text("Go-live")
    page.locator("#row-2 details summary").click()
    expect(page.locator("#row-2 details")).to_contain_text("to")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Import these migrations").click()

    # The import's own page, saying what it did to each row.
    expect(page).to_have_url(re.compile(r"/migrations/import/\d+/$"))
    expect(page.get_by_role("status").first).to_contain_text(
        "Imported orders-fixed.csv: 2 migrations started, 1 updated, 0 unchanged."
    )
    expect(page.locator("#row-2")).to_contain_text("Updated")
    assert_no_axe_violations(page)
    assert set(
        Practice.objects.filter(ods_code__in=["K82001", "K82002"]).values_list("delivery_partner", flat=True)
    ) == {riverside.practice.delivery_partner_id}
    riverside.refresh_from_db()
    assert riverside.go_live_on == moved_go_live
    assert Event.objects.filter(migration=riverside, reason="Imported from orders-fixed.csv").exists()
    assert MigrationImport.objects.get(filename="orders-fixed.csv").applied_by == delivery_partner_user


def test_a_file_that_cannot_be_read_is_refused_on_the_upload_page(
    page, sign_in, delivery_partner_user, current_migration, tmp_path
):
    today = timezone.localdate().strftime("%d/%m/%Y")
    path = tmp_path / "orders.csv"
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, ["K82001", "Café Surgery", "QWE", "EMIS Web", "SystmOne", today, ""]])
    path.write_bytes(text.getvalue().encode("cp1252"))
    sign_in(page, delivery_partner_user)
    page.goto("/migrations/import/")

    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.locator(".nhsuk-error-summary")).to_contain_text("The file is not saved as UTF-8 text: row 2")
    expect(page).to_have_title(re.compile(r"^Error: "))
    assert_no_axe_violations(page)
    assert not MigrationImport.objects.exists()
