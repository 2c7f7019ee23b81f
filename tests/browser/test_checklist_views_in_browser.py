"""The migration page's focus in a real browser: the checklist views followed in place with htmx and
as plain links without JavaScript, item actions inside a filtered view, collapsed phases, the
grouped "This week" panel, and axe on each of these states."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from migrations_app.models import ItemKind, ItemStatus, PracticeMigration
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.browser.test_checklist_in_browser import MARKED_AS_DONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEW_LABELS = {
    "mine": "My items",
    "open": "Open",
    "overdue": "Overdue",
    "next-30-days": "Due in the next 30 days",
    "all": "All",
}


def page_path(migration: PracticeMigration, view: str = "") -> str:
    return f"/migrations/{migration.pk}/" + (f"?show={view}" if view else "")


def views_nav(page: Page):
    return page.get_by_role("navigation", name="Checklist views")


def visible_items(page: Page) -> set[int]:
    ids = page.locator("li.tracker-item:visible").evaluate_all("rows => rows.map(row => row.id)")
    return {int(row_id.removeprefix("item-")) for row_id in ids}


def overdue_items(migration: PracticeMigration) -> set[int]:
    today = timezone.localdate()
    return {each.pk for each in migration.items.all() if each.is_open and each.due_on and each.due_on < today}


def test_a_view_link_updates_the_checklist_in_place_and_the_address(page, sign_in, practice_manager, current_migration):
    sign_in(page, practice_manager)
    expect(views_nav(page).get_by_role("link", name=re.compile(r"^Open"))).to_have_attribute("aria-current", "page")
    page.evaluate("() => { window.__marker = 1 }")

    views_nav(page).get_by_role("link", name=re.compile(r"^Overdue")).click()

    expect(page).to_have_url(re.compile(rf"/migrations/{current_migration.pk}/\?show=overdue$"))
    overdue_link = views_nav(page).get_by_role("link", name=re.compile(r"^Overdue"))
    expect(overdue_link).to_have_attribute("aria-current", "page")
    expect(overdue_link).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text("Overdue: ")
    assert page.evaluate("() => window.__marker") == 1, "the page reloaded"
    assert visible_items(page) == overdue_items(current_migration)

    page.go_back()

    expect(page).to_have_url(re.compile(rf"/migrations/{current_migration.pk}/$"))
    expect(views_nav(page).get_by_role("link", name=re.compile(r"^Open"))).to_have_attribute("aria-current", "page")


def test_back_after_a_change_in_a_view_shows_the_checklist_as_it_now_is(
    page, sign_in, practice_manager, current_migration
):
    sign_in(page, practice_manager)
    open_link = views_nav(page).get_by_role("link", name=re.compile(r"^Open"))
    open_count = int(re.search(r"\d+", open_link.inner_text()).group())
    views_nav(page).get_by_role("link", name=re.compile(r"^Overdue")).click()
    expect(page).to_have_url(re.compile(r"\?show=overdue$"))
    task = next(
        each
        for each in current_migration.items.filter(pk__in=overdue_items(current_migration)).order_by("due_on")
        if not each.is_gate
    )
    page.locator(f"#item-{task.pk}").get_by_role("button", name="Mark as done").click()
    expect(page.locator("#announcer")).to_have_text(MARKED_AS_DONE)

    page.go_back()

    # Read again from the server, not a copy kept from before the change (nor kept in the browser's
    # storage at all: htmx's history cache is off).
    expect(page).to_have_url(re.compile(rf"/migrations/{current_migration.pk}/$"))
    expect(views_nav(page).get_by_role("link", name=re.compile(r"^Open"))).to_contain_text(str(open_count - 1))
    expect(page.locator(f"#item-{task.pk}")).to_have_count(0)  # done: no longer in the Open view
    assert page.evaluate("() => localStorage.getItem('htmx-history-cache')") is None


def test_a_view_link_works_as_a_plain_link_without_javascript(
    page_without_js, sign_in, practice_manager, current_migration
):
    page = page_without_js
    sign_in(page, practice_manager, javascript=False)

    views_nav(page).get_by_role("link", name=re.compile(r"^Overdue")).click()

    expect(page).to_have_url(re.compile(rf"/migrations/{current_migration.pk}/\?show=overdue$"))
    expect(views_nav(page).get_by_role("link", name=re.compile(r"^Overdue"))).to_have_attribute("aria-current", "page")
    assert visible_items(page) == overdue_items(current_migration)


def test_marking_an_item_done_works_inside_a_filtered_view(page, sign_in, practice_manager, current_migration):
    sign_in(page, practice_manager)
    page.goto(page_path(current_migration, "overdue"))
    task = next(
        each
        for each in current_migration.items.filter(pk__in=overdue_items(current_migration)).order_by("due_on")
        if not each.is_gate
    )
    row = page.locator(f"#item-{task.pk}")

    row.get_by_role("button", name="Mark as done").click()

    expect(page.locator(f"#item-{task.pk}-status .nhsuk-tag").first).to_have_text("Done")
    expect(row.get_by_role("button", name="Reopen")).to_be_visible()
    expect(page.locator("#announcer")).to_have_text(MARKED_AS_DONE)
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE


def test_a_finished_phase_links_to_its_closed_items_and_is_collapsed_in_all(
    page, sign_in, practice_manager, current_migration
):
    first = current_migration.phases.order_by("position").first()
    for task in current_migration.items.filter(phase=first, kind=ItemKind.TASK).exclude(
        status__in=[ItemStatus.NOT_APPLICABLE, ItemStatus.DONE]
    ):
        task.complete(practice_manager)
    current_migration.items.filter(phase=first).exclude(status__in=[ItemStatus.NOT_APPLICABLE, ItemStatus.DONE]).update(
        status=ItemStatus.NOT_APPLICABLE, reason="Signed elsewhere"
    )
    sign_in(page, practice_manager)
    section = page.locator(f"section[aria-labelledby='phase-{first.pk}-heading']")
    # In the Open view, where the person lands: its progress, and the way to its closed items.
    expect(section.locator(f"#phase-{first.pk}-progress")).to_be_visible()
    expect(section).to_contain_text("Every item in this phase is done or not applicable")
    expect(section.locator("li.tracker-item")).to_have_count(0)
    page.get_by_role("navigation", name="Checklist views").get_by_role("link", name=re.compile("^All")).click()
    expect(section.locator(f"#phase-{first.pk}-progress")).to_be_visible()
    expect(section.locator("li.tracker-item").first).to_be_hidden()

    section.locator("summary").first.click()

    expect(section.locator("li.tracker-item").first).to_be_visible()
    assert_no_axe_violations(page)
    # The items loaded as the phase opened work as any other: reopen one in place.
    row = section.locator("li.tracker-item").first
    row.get_by_role("button", name="Reopen").click()
    expect(row.get_by_role("button", name="Mark as done")).to_be_visible()
    expect(page.locator("#announcer")).to_have_text("Reopened")


def test_a_collapsed_phase_is_one_link_away_without_javascript(
    page_without_js, sign_in, practice_manager, current_migration
):
    page = page_without_js
    last = current_migration.phases.order_by("position").last()
    sign_in(page, practice_manager, javascript=False)
    page.goto(page_path(current_migration, "open"))
    section = page.locator(f"section[aria-labelledby='phase-{last.pk}-heading']")
    expect(section.locator("li.tracker-item")).to_have_count(0)

    section.locator("summary").first.click()
    section.get_by_role("link", name=re.compile("^Show these items")).click()

    expect(page).to_have_url(re.compile(rf"\?show=open&phase={last.pk}#phase-{last.pk}-heading$"))
    expect(section.locator("li.tracker-item").first).to_be_visible()


def test_this_week_lists_the_five_most_overdue_and_links_to_the_overdue_view(
    page, sign_in, practice_manager, current_migration
):
    overdue = overdue_items(current_migration)
    assert len(overdue) > 5
    sign_in(page, practice_manager)
    panel = page.locator("#this-week")
    expect(panel.get_by_role("heading", name=f"Overdue ({len(overdue)})")).to_be_visible()
    expect(panel.locator("#this-week-overdue + ul > li")).to_have_count(5)

    panel.get_by_role("link", name=f"See all {len(overdue)} overdue items").click()

    expect(page).to_have_url(re.compile(r"\?show=overdue#checklist$"))
    assert visible_items(page) == overdue


@pytest.mark.parametrize("view", ["", *VIEW_LABELS])
def test_each_view_has_no_axe_violations(view, page, sign_in, practice_manager, current_migration):
    sign_in(page, practice_manager)
    page.goto(page_path(current_migration, view))
    expect(views_nav(page)).to_be_visible()

    assert_no_axe_violations(page)


def test_a_view_swapped_in_with_htmx_has_no_axe_violations(page, sign_in, practice_manager, current_migration):
    sign_in(page, practice_manager)
    views_nav(page).get_by_role("link", name=re.compile(r"^Due in the next 30 days")).click()
    expect(page).to_have_url(re.compile(r"\?show=next-30-days$"))

    assert_no_axe_violations(page)


def test_a_view_with_nothing_in_it_says_so_without_axe_violations(page, sign_in, practice_manager, current_migration):
    current_migration.items.filter(due_on__lt=timezone.localdate()).update(
        status=ItemStatus.DONE, completed_by=practice_manager, completed_at=timezone.now()
    )
    sign_in(page, practice_manager)
    page.goto(page_path(current_migration, "overdue"))

    expect(page.get_by_text("No overdue items.")).to_be_visible()
    assert_no_axe_violations(page)
