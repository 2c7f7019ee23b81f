"""A change made without JavaScript lands at its place on the migration page (#people, #check-ins,
#item-N), and its confirmation is shown there, in view, rather than at the top of a page scrolled
past it (checklist.place_messages)."""

import re

import pytest
from playwright.sync_api import Page, expect

from migrations_app.models import ItemStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONE_ITEM_KEY = "secure-dates-and-peoples-time"


def confirmation(page: Page, text: str):
    return page.get_by_role("status").filter(has_text=text)


@pytest.mark.parametrize("width", [1280, 390])
def test_an_invitation_sent_is_confirmed_in_the_people_section(
    page_without_js, sign_in, practice_manager, current_migration, width
):
    page = page_without_js
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, practice_manager, javascript=False)
    page.goto(f"/migrations/{current_migration.pk}/people/invite/")
    page.get_by_label("E-mail address").fill("new.colleague@example.nhs.uk")
    page.get_by_label("Practice staff").check()
    page.get_by_role("button", name="Send invitation").click()

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/#people$"))
    sent = confirmation(page, "Invitation sent to new.colleague@example.nhs.uk")
    expect(sent).to_be_in_viewport()
    expect(page.locator("#people").get_by_role("status")).to_have_count(1)

    # Cancelled from the list in the section, after a page that asks: confirmed there too.
    page.locator("#people").get_by_role("link", name=re.compile("^Cancel")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel the invitation to new.colleague@example.nhs.uk?")
    page.get_by_role("button", name="Cancel the invitation").click()
    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/#people$"))
    expect(confirmation(page, "The invitation to new.colleague@example.nhs.uk is cancelled")).to_be_in_viewport()


def test_a_check_in_saved_is_confirmed_in_the_check_ins_section(
    page_without_js, sign_in, practice_manager, current_migration
):
    page = page_without_js
    sign_in(page, practice_manager, javascript=False)
    page.goto(f"/migrations/{current_migration.pk}/check-ins/")
    page.get_by_label("Amber", exact=True).check()
    page.get_by_label("Note").fill("Waiting for the extract date.")
    page.get_by_role("button", name="Save check-in").click()

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/#check-ins$"))
    expect(confirmation(page, "This week's check-in given, as the practice manager.")).to_be_in_viewport()


def later_phase_task(migration):
    """A practice manager's task in the checklist's last phase: collapsed in the Open view, its rows
    not on the page until it is opened."""
    return migration.items.filter(kind="task", responsible_role="practice_manager").order_by("-phase__position").first()


@pytest.mark.parametrize("where", ["current phase", "later phase"])
def test_an_item_reopened_from_its_own_page_is_confirmed_in_its_row(
    page_without_js, sign_in, practice_manager, current_migration, where
):
    page = page_without_js
    item = (
        current_migration.items.get(key=DONE_ITEM_KEY)
        if where == "current phase"
        else later_phase_task(current_migration)
    )
    item.complete(practice_manager)
    sign_in(page, practice_manager, javascript=False)
    page.goto(f"/migrations/{current_migration.pk}/items/{item.pk}/")
    page.get_by_role("button", name=re.compile("^Reopen")).click()

    page.wait_for_url(re.compile(rf"/migrations/{current_migration.pk}/\?phase={item.phase_id}#item-{item.pk}$"))
    reopened = page.locator(f"#item-{item.pk}").get_by_role("status")
    expect(reopened).to_have_text(re.compile(f"Reopened: {re.escape(item.title)}"))
    expect(reopened).to_be_in_viewport()
    # Said once: not at the top of the page as well.
    expect(confirmation(page, f"Reopened: {item.title}")).to_have_count(1)
    item.refresh_from_db()
    assert item.status == ItemStatus.TO_DO
