"""A template editor walks the admin in a real browser, with the Content Security Policy on: a
new draft from the published version, an item retitled on its phase's page, then published with
a change note. The migration under way keeps its copy; the next one gets the new version."""

import os

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from migrations_app.models import ItemTemplate, TemplateVersion
from tests.conftest import with_two_factor_device
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_TITLE = "Check the dates against staff availability and leave"
SCREENSHOTS = os.environ.get("BROWSER_SCREENSHOTS")  # a folder, to look at the pages by eye


def snap(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


@pytest.fixture
def template_editor(db):
    user = with_two_factor_device(UserFactory(email="editor@england.nhs.uk", full_name="Tess Editor", is_staff=True))
    user.groups.add(Group.objects.get(name="Template editors"))
    return user


def test_an_editor_drafts_edits_and_publishes_a_version(
    page, sign_in, template_editor, guide_version, current_migration
):
    item = guide_version.items().first()
    old_title = item.title
    sign_in(page, template_editor)

    page.goto("/admin/migrations_app/templateversion/")
    snap(page, "1-versions")
    page.get_by_role("link", name=str(guide_version), exact=True).click()
    snap(page, "2-published-version")
    page.get_by_role("link", name="Make a new draft from this version").click()
    page.get_by_role("button", name="Make the draft").click()

    draft = TemplateVersion.objects.get(status=TemplateVersion.Status.DRAFT)
    expect(page).to_have_url(f"{page.url.split('/admin/')[0]}/admin/migrations_app/templateversion/{draft.pk}/change/")
    snap(page, "3-draft")
    page.goto(f"/admin/migrations_app/phasetemplate/{draft.phases.get(position=item.phase.position).pk}/change/")
    title = page.locator(f"input[name$='-title'][value='{old_title}']")
    title.fill(NEW_TITLE)
    snap(page, "4-phase-items")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")

    page.goto(f"/admin/migrations_app/templateversion/{draft.pk}/change/")
    page.get_by_role("link", name="Publish").click()
    snap(page, "5-publish")
    page.get_by_label("Change note").fill("Dates checked against staff leave, as the guide now says.")
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.locator(".messagelist")).to_contain_text("version 2")
    snap(page, "6-published")

    draft.refresh_from_db()
    assert draft.status == TemplateVersion.Status.PUBLISHED and draft.number == 2
    assert ItemTemplate.objects.get(phase__version=draft, key=item.key).title == NEW_TITLE
    assert current_migration.items.get(key=item.key).title == old_title
