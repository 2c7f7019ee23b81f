"""The header's menu: the dashboard, for people whose home it is, and starting and importing
migrations, for those who may; the page it is on marked as current. A practice's people, whose
home is their migration, get none."""

import re

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory
from tests.pages import detail_url

pytestmark = pytest.mark.django_db


def menu(html: str) -> list[tuple[str, bool]]:
    """The menu's links, each with whether it is marked as the current page."""
    found = re.search(r'<nav class="nhsuk-header__navigation" aria-label="Menu">(.*?)</nav>', html, re.DOTALL)
    if found is None:
        return []
    return [
        (label, bool(current))
        for current, label in re.findall(
            r'class="nhsuk-header__navigation-link" href="[^"]*"( aria-current="page")?>([^<]+)</a>', found.group(1)
        )
    ]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("delivery_partner_user", [("Dashboard", True), ("Start a migration", False), ("Import migrations", False)]),
        ("support_admin", [("Dashboard", True), ("Start a migration", False), ("Import migrations", False)]),
        ("icb_user", [("Dashboard", True)]),
        ("national_viewer", [("Dashboard", True)]),
    ],
)
def test_people_who_look_across_practices_have_the_menu(persona, expected, request, client, migration):
    client.force_login(request.getfixturevalue(persona))

    assert menu(client.get(reverse("migrations:dashboard")).content.decode()) == expected


def test_the_page_the_menu_leads_to_is_marked_current(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)

    start = menu(client.get(reverse("migrations:migration_start")).content.decode())
    detail = menu(client.get(detail_url(migration)).content.decode())

    assert start == [("Dashboard", False), ("Start a migration", True), ("Import migrations", False)]
    assert detail == [("Dashboard", False), ("Start a migration", False), ("Import migrations", False)]


def test_a_practices_people_have_no_menu_but_one_of_several_practices_has_the_dashboard(
    client, migration, other_migration, practice_manager
):
    client.force_login(practice_manager)
    one_practice = menu(client.get(detail_url(migration)).content.decode())
    MembershipFactory(user=practice_manager, practice=other_migration.practice, role="practice_staff")
    two_practices = menu(client.get(detail_url(migration)).content.decode())

    assert one_practice == []
    assert two_practices == [("Dashboard", False)]
