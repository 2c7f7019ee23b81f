"""A delivery partner reviews a newer checklist version and applies it, in a real browser: each
page passes axe, and the work done on the checklist survives the upgrade."""

import pytest
from playwright.sync_api import expect

from migrations_app.models import ChecklistItem, Event, ItemStatus
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.test_upgrades import KEPT, WORKED_ON_REMOVED, next_edition, publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_delivery_partner_reviews_and_applies_an_upgrade(
    page, sign_in, current_migration, guide_version, practice_manager, delivery_partner_user
):
    current_migration.items.get(key=WORKED_ON_REMOVED).complete(practice_manager)
    current_migration.items.get(key=KEPT).complete(practice_manager)
    version_2 = publish(next_edition(guide_version))
    sign_in(page, delivery_partner_user)

    page.goto(f"/migrations/{current_migration.pk}/")
    page.get_by_role("link", name="review the changes").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Review the checklist upgrade")
    expect(page.get_by_role("heading", name="Items added (2)")).to_be_visible()
    expect(page.get_by_role("heading", name="Items removed (2)")).to_be_visible()
    assert_no_axe_violations(page)

    page.get_by_role("button", name=f"Upgrade this checklist to {version_2}").click()

    page.wait_for_url(f"**/migrations/{current_migration.pk}/")
    expect(page.locator(".nhsuk-notification-banner, .nhsuk-inset-text").first).to_contain_text("upgraded")
    page.get_by_text("Archived items (1)").click()
    expect(page.get_by_role("link", name="History").first).to_be_visible()
    assert_no_axe_violations(page)

    current_migration.refresh_from_db()
    assert current_migration.template_version == version_2
    assert current_migration.items.get(key=KEPT).status == ItemStatus.DONE
    assert ChecklistItem.all_objects.get(migration=current_migration, key=WORKED_ON_REMOVED).archived_at is not None
    assert Event.objects.filter(migration=current_migration, kind=Event.Kind.UPGRADE, item=None).count() == 1
