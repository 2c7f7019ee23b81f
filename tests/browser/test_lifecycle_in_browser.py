"""A delivery partner puts a migration on hold, resumes it and cancels another, in a real browser:
each new page and each error state passes axe, and the status banner says what happened."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import Event, PracticeMigration
from migrations_app.models.checklist_items import COMPLETION_GATE_KEY
from tests.browser.conftest import milestones_around
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.factories import PracticeFactory, make_migration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOLD_REASON = "Waiting for the new supplier to agree a go-live date"
CANCEL_REASON = "The practice merged with its neighbour"


def expect_error(page: Page, message: str) -> None:
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(message)
    assert page.title().startswith("Error: ")
    expect(page.locator(".nhsuk-error-message")).to_contain_text(message)


def test_a_delivery_partner_holds_resumes_and_cancels_migrations(
    page, sign_in, current_migration, guide_version, delivery_partner, delivery_partner_user
):
    other = make_migration(
        practice=PracticeFactory(name="Hilltop Surgery", delivery_partner=delivery_partner),
        template_version=guide_version,
        **milestones_around(timezone.localdate()),
    )
    sign_in(page, delivery_partner_user)

    # On hold: first without a reason.
    page.goto(f"/migrations/{current_migration.pk}/")
    page.get_by_role("link", name="Put on hold").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Put the migration on hold")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Put on hold").click()
    expect_error(page, "Enter why the migration is on hold")
    assert_no_axe_violations(page)
    page.get_by_label("Why is the migration on hold?").fill(HOLD_REASON)
    page.get_by_role("button", name="Put on hold").click()

    page.wait_for_url(f"**/migrations/{current_migration.pk}/")
    banner = page.locator("#migration-status")
    expect(banner).to_contain_text("On hold since")
    expect(banner).to_contain_text(HOLD_REASON)
    expect(page.get_by_role("link", name="Put on hold")).to_have_count(0)
    assert_no_axe_violations(page)

    # Resume, with go-live a week later: a preview of the due dates that move, then confirm.
    page.get_by_role("link", name="Resume").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Resume the migration")
    assert_no_axe_violations(page)
    go_live = page.get_by_role("group", name="Go-live")
    go_live.get_by_label("Day").fill("31")
    go_live.get_by_label("Month").fill("2")
    page.get_by_role("button", name="Preview and resume").click()
    expect_error(page, "Go-live must be a real date")
    assert_no_axe_violations(page)
    new_go_live = current_migration.go_live_on + timedelta(days=7)
    go_live.get_by_label("Day").fill(str(new_go_live.day))
    go_live.get_by_label("Month").fill(str(new_go_live.month))
    go_live.get_by_label("Year").fill(str(new_go_live.year))
    page.get_by_role("button", name="Preview and resume").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check before resuming")
    expect(page.get_by_role("heading", name="Due dates that move")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Resume the migration").click()

    page.wait_for_url(f"**/migrations/{current_migration.pk}/")
    expect(page.locator(".nhsuk-inset-text").first).to_contain_text("Migration resumed.")
    expect(page.locator("#migration-status")).to_have_count(0)
    current_migration.refresh_from_db()
    assert current_migration.status == PracticeMigration.Status.ACTIVE
    assert current_migration.go_live_on == new_go_live

    # Cancel another: the warning, the error state, then the read-only page.
    page.goto(f"/migrations/{other.pk}/")
    page.get_by_role("link", name="Cancel migration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel the migration")
    expect(page.locator(".nhsuk-warning-callout")).to_contain_text("This cannot be undone")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Cancel the migration").click()
    expect_error(page, "Enter why the migration is cancelled")
    assert_no_axe_violations(page)
    page.get_by_label("Why is the migration cancelled?").fill(CANCEL_REASON)
    page.get_by_role("button", name="Cancel the migration").click()

    page.wait_for_url(f"**/migrations/{other.pk}/")
    expect(page.locator("#migration-status")).to_contain_text(f"Reason: {CANCEL_REASON}")
    expect(page.get_by_role("button", name="Mark as done")).to_have_count(0)
    expect(page.get_by_role("link", name="Change milestone dates")).to_have_count(0)
    assert_no_axe_violations(page)
    other.refresh_from_db()
    assert other.status == PracticeMigration.Status.CANCELLED
    assert list(
        Event.objects.filter(kind=Event.Kind.MIGRATION_STATUS, actor=delivery_partner_user)
        .order_by("pk")
        .values_list("migration", "new_value")
    ) == [(current_migration.pk, "on_hold"), (current_migration.pk, "active"), (other.pk, "cancelled")]


def test_a_completed_migration_is_reopened_from_its_banner(page, sign_in, current_migration, practice_manager):
    gate = current_migration.items.get(key=COMPLETION_GATE_KEY)
    gate.sign_off(practice_manager, override_reason="Everything re-entered; agreed at the project board")
    sign_in(page, practice_manager)

    page.goto(f"/migrations/{current_migration.pk}/")
    expect(page.locator("#migration-status")).to_contain_text("Completed")
    expect(page.get_by_role("button", name="Mark as done")).to_have_count(0)
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Reopen the migration").click()

    page.wait_for_url(f"**/migrations/{current_migration.pk}/?phase={gate.phase_id}#item-{gate.pk}")
    expect(page.locator("#migration-status")).to_have_count(0)
    current_migration.refresh_from_db()
    assert current_migration.status == PracticeMigration.Status.ACTIVE
