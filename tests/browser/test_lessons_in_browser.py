"""Retrospectives and the Lessons page in a browser: the delivery partner writes the retrospective
after go-live and finds its lesson on the Lessons page, another delivery partner does not; no axe
violations on the form, its error state and the Lessons page, at desktop and phone widths."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from migrations_app.models import Retrospective, Role
from tests.browser.test_accessibility import assert_no_axe_violations
from tests.conftest import with_two_factor_device
from tests.factories import GO_LIVE_ON, MILESTONE_DATES, MembershipFactory, UserFactory, make_migration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LESSON = "Ring every third party the day before cutover as well as a week before"
WIDTHS = [1280, 390]


@pytest.fixture
def live_migration(guide_version, practice, source_supplier, target_supplier, delivery_partner_user):
    """The demo practice's migration, gone live yesterday (the live server reads the real clock)."""
    shift = timezone.localdate() - timedelta(days=1) - GO_LIVE_ON
    return make_migration(
        practice=practice,
        source_supplier=source_supplier,
        target_supplier=target_supplier,
        template_version=guide_version,
        created_by=delivery_partner_user,
        **{name: day + shift for name, day in MILESTONE_DATES.items()},
    )


@pytest.fixture
def other_partner_user(guide_version):
    """A delivery partner's project manager at another practice, with a lesson of their own."""
    user = with_two_factor_device(UserFactory(email="other.partner@example.nhs.uk", full_name="Olu Other"))
    other = make_migration(template_version=guide_version)
    MembershipFactory(
        user=user, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=other.practice.delivery_partner
    )
    return user


def fill_retrospective(page) -> None:
    for area in ("Data quality", "Training", "Third parties", "Cutover", "Supplier"):
        verdict = "Did not go well" if area == "Third parties" else "Went well"
        page.get_by_role("group", name=area).get_by_label(verdict, exact=True).check()
    page.get_by_label("Comment on third parties (optional)").fill("The pharmacy link came back two days late")
    page.get_by_label("The lesson you would pass on").fill(LESSON)


def test_the_delivery_partner_writes_a_retrospective_and_finds_it_among_the_lessons(
    page, sign_in, delivery_partner_user, live_migration
):
    sign_in(page, delivery_partner_user)
    page.goto(f"/migrations/{live_migration.pk}/")
    page.get_by_role("link", name="Write the delivery partner project manager's retrospective").click()
    fill_retrospective(page)
    page.get_by_role("button", name="Save retrospective").click()

    expect(page.locator("main")).to_contain_text("Retrospective saved.")
    expect(page.locator("#retrospective")).to_contain_text(f"Written by {delivery_partner_user}")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Lessons").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lessons learned")
    expect(page.locator("main")).to_contain_text(LESSON)
    expect(page.locator("#count-third_parties")).to_contain_text("0 1")
    assert Retrospective.objects.get().written_by == delivery_partner_user


def test_another_delivery_partner_does_not_see_the_lesson(
    page, sign_in, delivery_partner_user, other_partner_user, live_migration
):
    Retrospective.write(
        live_migration,
        Role.DELIVERY_PARTNER,
        by=delivery_partner_user,
        verdicts=dict.fromkeys(Retrospective.Area.values, "went_well"),
        comments={},
        lesson=LESSON,
    )
    sign_in(page, other_partner_user)
    page.goto("/lessons/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Lessons learned")
    expect(page.locator("main")).to_contain_text(
        "No lessons yet: none of the migrations you can see has a retrospective."
    )
    expect(page.locator("main")).not_to_contain_text(LESSON)
    page.goto("/lessons/?area=training")
    expect(page.locator("main")).to_contain_text("No lessons match these filters.")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_retrospective_form_and_its_errors_have_no_axe_violations(
    width, page, sign_in, practice_manager, live_migration
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, practice_manager)
    page.goto(f"/migrations/{live_migration.pk}/retrospective/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Retrospective")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert_no_axe_violations(page)

    page.get_by_role("group", name="Training").get_by_label("Went well", exact=True).check()
    page.get_by_role("button", name="Save retrospective").click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Select whether data quality went well, did not go well or does not apply")
    expect(summary).to_contain_text("Enter the lesson you would pass on")
    expect(page.get_by_role("group", name="Training").get_by_label("Went well", exact=True)).to_be_checked()
    assert page.title().startswith("Error: ")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert_no_axe_violations(page)
    assert not Retrospective.objects.exists()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_lessons_page_has_no_axe_violations(
    width, page, sign_in, delivery_partner_user, practice_manager, live_migration
):
    for side, by in ((Role.PRACTICE_MANAGER, practice_manager), (Role.DELIVERY_PARTNER, delivery_partner_user)):
        Retrospective.write(
            live_migration,
            side,
            by=by,
            verdicts=dict.fromkeys(Retrospective.Area.values, "went_well") | {"cutover": "did_not_go_well"},
            comments={"cutover": "Registrations were not paused"},
            lesson=f"{LESSON} ({side})",
        )
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, delivery_partner_user)
    page.goto("/lessons/?area=cutover")

    expect(page.locator("main")).to_contain_text("Showing 1 to 2 of 2 lessons")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert_no_axe_violations(page)
