"""The dashboard's pinned query counts: a page, a filtered page and the CSV cost the same queries
for 5 and 50 migrations."""

from datetime import timedelta

import pytest

from tests.conftest import TODAY, going_live
from tests.factories import ICBFactory, PracticeFactory
from tests.pages import CSV_URL, DASHBOARD_URL, csv_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


# --- query counts -------------------------------------------------------------------------------------

# Session, user, the user's two-factor device, the user's standing (access.standing_of: permissions
# to read every migration, delivery-partner membership); the facets (ICBs, delivery partners, systems) and the
# checklist phases for the filters; the summary's counts grouped by RAG status, status, phase and
# go-live month, its first go-lives to come and its cutover lengths; the page's rows, sorted and
# sliced by the database, the items due next for them, and the names of their ICBs, systems and
# delivery partners (rows.add_names).
DASHBOARD_QUERIES = 12
# The same first six; then every row in one query, read as it is written, and the items due next
# and the names once per chunk of 500 rows.
CSV_QUERIES = 9


@pytest.fixture(params=[5, 50], ids=lambda count: f"{count} migrations")
def many_migrations(request, guide_version, delivery_partner, delivery_partner_user, practice_manager) -> int:
    """`count` migrations of the delivery partner's, in three ICBs, some items done, blocked and
    not applicable, some completed, one of them dispensing."""
    icbs = [ICBFactory() for _ in range(3)]
    for number in range(request.param):
        migration = going_live(
            TODAY + timedelta(days=7 * number - 40),
            practice=PracticeFactory(icb=icbs[number % 3], delivery_partner=delivery_partner),
            template_version=guide_version,
            dispensing_practice=number == 0,
        )
        items = list(migration.items.order_by("due_on")[:3])
        items[0].complete(practice_manager)
        items[1].mark_blocked(practice_manager, "Waiting for the supplier")
        items[2].mark_not_applicable(practice_manager, "Not used here")
    return request.param


def test_the_dashboard_runs_the_same_queries_for_5_and_50_migrations(
    many_migrations, client, delivery_partner_user, django_assert_num_queries
):
    client.force_login(delivery_partner_user)
    client.get(DASHBOARD_URL)  # the session's first request records the sign-in time

    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(DASHBOARD_URL)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        sorted_by_next_due = client.get(DASHBOARD_URL, {"sort": "next_due"})

    assert response.status_code == sorted_by_next_due.status_code == 200
    assert response.context["page"].paginator.count == many_migrations
    assert all(row.next_item_title for row in response.context["page"].object_list)
    assert all(row.next_item_title for row in sorted_by_next_due.context["page"].object_list)


def test_a_filtered_dashboard_page_runs_the_same_queries(
    many_migrations, client, delivery_partner_user, django_assert_num_queries
):
    client.force_login(delivery_partner_user)
    client.get(DASHBOARD_URL)

    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(DASHBOARD_URL, {"rag": ["red", "amber"], "search": "Test", "go_live": "past"})

    assert response.status_code == 200


def test_the_csv_runs_the_same_queries_for_5_and_50_migrations(
    many_migrations, client, delivery_partner_user, django_assert_num_queries
):
    client.force_login(delivery_partner_user)
    client.get(DASHBOARD_URL)

    with django_assert_num_queries(CSV_QUERIES):
        response = client.get(CSV_URL)
        lines = csv_rows(response)

    assert len(lines) == many_migrations + 1
