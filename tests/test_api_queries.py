"""The API's pinned query counts: a page of the migration list, its next page and one migration
cost the same queries for 5 and 50 migrations; a page of a migration's items the same for 5 and 50
items, and a change to an item the same whatever the number of migrations."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.conftest import TODAY, going_live
from tests.factories import ICBFactory, PracticeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

LIST_URL = reverse("api:migration_list")

# Session, user, the user's two-factor device, the user's standing (access.standing_of); the
# checklist phases (rows.options_for); the page's rows, sorted and sliced by the database (one more
# than the page, to tell whether there is a next); the items due next for them; the names of their
# ICBs, systems and delivery partners (rows.add_names).
LIST_QUERIES = 8
# A filter by ICB, delivery partner or systems is checked against the facets of the migrations the
# person can see: one query more.
LIST_BY_FACET_QUERIES = 9
# Session, user, device, standing (with the person's roles); the migration (access.get_migration);
# the phases; its row, its next item due and its names; its items and its phases,
# counted as its page counts them (checklist.build).
DETAIL_QUERIES = 11


@pytest.fixture(params=[5, 50], ids=lambda count: f"{count} migrations")
def many_migrations(request, guide_version, delivery_partner, practice_manager) -> int:
    """`count` migrations of the delivery partner's, in three ICBs, some items done and blocked."""
    icbs = [ICBFactory() for _ in range(3)]
    for number in range(request.param):
        migration = going_live(
            TODAY + timedelta(days=7 * number - 40),
            practice=PracticeFactory(icb=icbs[number % 3], delivery_partner=delivery_partner),
            template_version=guide_version,
        )
        items = list(migration.items.order_by("due_on")[:2])
        items[0].complete(practice_manager)
        items[1].mark_blocked(practice_manager, "Waiting for the supplier")
    return request.param


def test_a_page_of_the_list_runs_the_same_queries_for_5_and_50_migrations(
    many_migrations, client, delivery_partner_user, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr("migrations_app.api.pagination.SignedCursorPagination.page_size", 4)
    client.force_login(delivery_partner_user)
    client.get(LIST_URL)  # the session's first request records the sign-in time

    with django_assert_num_queries(LIST_QUERIES):
        first = client.get(LIST_URL)
    with django_assert_num_queries(LIST_QUERIES):
        second = client.get(first.json()["next"])
    with django_assert_num_queries(LIST_QUERIES):
        filtered = client.get(LIST_URL, {"rag": ["red", "amber", "green"], "sort": "next_due", "go_live": "past"})
    icb = first.json()["results"][0]["icb"]
    icb_id = ICBFactory._meta.model.objects.get(name=icb).pk
    with django_assert_num_queries(LIST_BY_FACET_QUERIES):
        by_icb = client.get(LIST_URL, {"icb": icb_id})

    assert first.status_code == second.status_code == filtered.status_code == by_icb.status_code == 200
    assert {row["icb"] for row in by_icb.json()["results"]} == {icb}
    assert len(first.json()["results"]) == 4
    assert len(second.json()["results"]) == min(4, many_migrations - 4)
    assert all(row["next_item_due"] for row in first.json()["results"])


def test_one_migration_runs_the_same_queries_whatever_the_number_of_migrations(
    many_migrations, client, delivery_partner_user, django_assert_num_queries
):
    client.force_login(delivery_partner_user)
    client.get(LIST_URL)
    pk = client.get(LIST_URL).json()["results"][0]["id"]

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(reverse("api:migration_detail", kwargs={"pk": pk}))

    assert response.status_code == 200


# --- a migration's items ----------------------------------------------------------------------------------

# Session, user, device, standing (with the person's roles); the migration (access.get_migration);
# the page's items with their phases, owners and who completed them (one more than
# the page, to tell whether there is a next).
ITEM_LIST_QUERIES = 6
# A phase given is looked up among the migration's phases: one query more.
ITEM_LIST_BY_PHASE_QUERIES = 7
# Session, user, device, standing (with the person's roles); a savepoint; the item with its
# migration and its practice, locked (access.get_item_to_work_on); the item saved, the migration's progress
# counted again, the event; the savepoint released; the item read again for the answer
# (access.get_item).
ITEM_COMPLETE_QUERIES = 11
# A note changes no progress.
ITEM_NOTE_QUERIES = 10


@pytest.mark.parametrize("page_size", [5, 50])
def test_a_page_of_items_runs_the_same_queries_whatever_its_size(
    page_size, client, delivery_partner_user, migration, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr("migrations_app.api.items.ItemPagination.page_size", page_size)
    url = reverse("api:item_list", kwargs={"pk": migration.pk})
    client.force_login(delivery_partner_user)
    client.get(url)  # the session's first request records the sign-in time

    with django_assert_num_queries(ITEM_LIST_QUERIES):
        first = client.get(url)
    with django_assert_num_queries(ITEM_LIST_QUERIES):
        second = client.get(first.json()["next"])
    with django_assert_num_queries(ITEM_LIST_BY_PHASE_QUERIES):
        filtered = client.get(url, {"phase": "early-phases", "owner": "me", "overdue": "false", "status": "to_do"})

    assert first.status_code == second.status_code == filtered.status_code == 200
    assert len(first.json()["results"]) == len(second.json()["results"]) == page_size


def test_a_change_to_an_item_runs_the_same_queries_whatever_the_number_of_migrations(
    many_migrations, client, delivery_partner_user, migration, django_assert_num_queries
):
    item = migration.items.get(key="agree-go-live-date")
    url = reverse("api:item_action", kwargs={"pk": migration.pk, "item_pk": item.pk})
    client.force_login(delivery_partner_user)
    client.get(LIST_URL)

    with django_assert_num_queries(ITEM_COMPLETE_QUERIES):
        done = client.post(url, {"action": "complete", "revision": 0}, content_type="application/json")
    with django_assert_num_queries(ITEM_NOTE_QUERIES):
        noted = client.post(url, {"action": "note", "revision": 1, "note": "Rang"}, content_type="application/json")

    assert done.status_code == noted.status_code == 200
    assert noted.json()["revision"] == 2
