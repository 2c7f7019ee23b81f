"""axe-core on every kind of page, in the states people meet them in: no violations allowed."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import Page, expect

from migrations_app.models import PracticeMigration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA (axe tags each success criterion with the version that introduced it) and axe's
# best practices. Only violations are gathered in full (axe's resultTypes): every rule still runs,
# and a run over the 131-item checklist takes about a third less time.
AXE_RUN = """async () => await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
    resultTypes: ['violations']
})"""
ITEM_KEY = "secure-dates-and-peoples-time"


def assert_no_axe_violations(page: Page) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (or `make install`) to install axe-core.")
    # An assertion on the address or the text can pass while the stylesheet is still loading, and
    # axe would then measure an unstyled page (every header link "too small"): wait for the load.
    page.wait_for_load_state("load")
    page.add_script_tag(url="/__axe.min.js")
    results = page.evaluate(AXE_RUN)
    violations = results["violations"]
    report = "\n".join(
        f"- {violation['id']} ({violation['impact']}): {violation['help']}\n"
        + "\n".join(f"    {node['target']}" for node in violation["nodes"])
        for violation in violations
    )
    assert not violations, f"axe found {len(violations)} violation(s) on {page.url}:\n{report}"


def sign_in_and_open(page: Page, sign_in, user, path: str):
    sign_in(page, user)
    return page.goto(path)


def migration_path(migration: PracticeMigration) -> str:
    return f"/migrations/{migration.pk}/"


def item_path(migration: PracticeMigration, suffix: str = "") -> str:
    item = migration.items.get(key=ITEM_KEY)
    return f"/migrations/{migration.pk}/items/{item.pk}/{suffix}"


# --- signed out ------------------------------------------------------------------------------------


def test_sign_in_page(page, frontend_loaded):
    page.goto("/accounts/login/")
    frontend_loaded(page)

    assert_no_axe_violations(page)


def test_the_check_finds_a_violation(page):
    """The check itself can fail: an image without a text alternative and a field without a
    label, put on a real page, are both reported."""
    page.goto("/accounts/login/")
    page.evaluate(
        """() => document.querySelector('main').insertAdjacentHTML('beforeend',
            '<img src="data:,"><input type="text" name="unlabelled">')"""
    )

    with pytest.raises(AssertionError) as failed:
        assert_no_axe_violations(page)

    assert "image-alt" in str(failed.value)
    assert "label" in str(failed.value)


def test_sign_in_page_with_an_error(page, practice_manager):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(practice_manager.email)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a correct e-mail address and password")

    assert_no_axe_violations(page)


def test_password_reset_page(page, frontend_loaded):
    page.goto("/accounts/password_reset/")
    frontend_loaded(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")

    assert_no_axe_violations(page)


# --- the checklist ---------------------------------------------------------------------------------


def test_migration_page(page, sign_in, practice_manager, current_migration):
    sign_in(page, practice_manager)
    expect(page.locator("#this-week")).to_contain_text("Overdue")

    assert_no_axe_violations(page)


def test_migration_page_after_an_htmx_update(page, sign_in, practice_manager, current_migration):
    item = current_migration.items.get(key=ITEM_KEY)
    sign_in(page, practice_manager)
    page.locator(f"#item-{item.pk}").get_by_role("button", name="Mark as done").click()
    expect(page.locator(f"#item-{item.pk}-status .nhsuk-tag").first).to_have_text("Done")

    assert_no_axe_violations(page)


def test_item_page(page, sign_in, practice_manager, current_migration):
    response = sign_in_and_open(page, sign_in, practice_manager, item_path(current_migration))
    assert response.status == 200

    assert_no_axe_violations(page)


def test_item_page_with_errors(page, sign_in, practice_manager, current_migration):
    sign_in_and_open(page, sign_in, practice_manager, item_path(current_migration))
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Not applicable").click()
    assert navigation.value.status == 400
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a reason why this item is not applicable")

    assert_no_axe_violations(page)


def test_item_history_page(page, sign_in, practice_manager, current_migration):
    item = current_migration.items.get(key=ITEM_KEY)
    item.complete(practice_manager)
    sign_in_and_open(page, sign_in, practice_manager, item_path(current_migration, "history/"))
    expect(page.get_by_role("table")).to_contain_text("Priya Manager")

    assert_no_axe_violations(page)


# --- milestones ------------------------------------------------------------------------------------


def test_milestones_form(page, sign_in, practice_manager, current_migration):
    response = sign_in_and_open(page, sign_in, practice_manager, migration_path(current_migration) + "milestones/")
    assert response.status == 200

    assert_no_axe_violations(page)


def test_milestones_form_with_errors(page, sign_in, practice_manager, current_migration):
    sign_in_and_open(page, sign_in, practice_manager, migration_path(current_migration) + "milestones/")
    go_live = page.get_by_role("group", name="Go-live", exact=True)
    go_live.get_by_label("Day").fill("31")
    go_live.get_by_label("Month").fill("2")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Go-live must be a real date")

    assert_no_axe_violations(page)


def test_milestones_preview(page, sign_in, practice_manager, current_migration):
    later = current_migration.go_live_on + timedelta(days=7)
    sign_in_and_open(page, sign_in, practice_manager, migration_path(current_migration) + "milestones/")
    go_live = page.get_by_role("group", name="Go-live", exact=True)
    go_live.get_by_label("Day").fill(str(later.day))
    go_live.get_by_label("Month").fill(str(later.month))
    go_live.get_by_label("Year").fill(str(later.year))
    page.get_by_role("button", name="Preview changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the changes before saving")

    assert_no_axe_violations(page)


# --- lists and error pages -------------------------------------------------------------------------


def test_home_dashboard_for_a_delivery_partner(page, sign_in, delivery_partner_user, current_migration):
    # A delivery partner lands on the dashboard (tests/browser/test_dashboard_in_browser.py has more).
    sign_in(page, delivery_partner_user)
    expect(page.locator("#migrations-table")).to_contain_text(current_migration.practice.name)

    assert_no_axe_violations(page)


def test_page_not_found(page, sign_in, outsider, current_migration):
    response = sign_in_and_open(page, sign_in, outsider, migration_path(current_migration))
    assert response.status == 404

    assert_no_axe_violations(page)


def test_permission_denied_page(page, sign_in, practice_staff, current_migration):
    response = sign_in_and_open(page, sign_in, practice_staff, migration_path(current_migration) + "milestones/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have permission to do this")

    assert_no_axe_violations(page)


def test_server_error_page(page):
    """The 500 page renders without a request; shown here as the browser would get it, with its styles."""
    page.goto("/accounts/login/")
    page.set_content(render_to_string("500.html"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    stylesheet_loaded = page.evaluate(
        "() => [...document.styleSheets].some(sheet => (sheet.href || '').includes('/static/build/nhsuk.css'))"
    )
    assert stylesheet_loaded

    assert_no_axe_violations(page)
