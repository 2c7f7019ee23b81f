"""Migrations on hold, completed and cancelled on the dashboard, through the client: the status
filter (in progress and on hold by default), the "On hold" tag and reason in place of a RAG status,
no overdue items while on hold, the RAG filter and sort, the summary and the CSV, and the same
query count. Today is tests.conftest.TODAY: the world's migrations have overdue items."""

import pytest

from migrations_app.dashboard.rag import Rag
from tests.pages import CSV_URL, DASHBOARD_URL, csv_rows, listed, open_dashboard, table_row
from tests.test_dashboard_queries import DASHBOARD_QUERIES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

HOLD_REASON = "Waiting for the new supplier to agree a go-live date"
CANCEL_REASON = "The practice merged with its neighbour"


@pytest.fixture
def paused(world, delivery_partner_user, admin_user):
    """Riverside (which has overdue items) on hold, Faraway cancelled."""
    world["riverside"].hold(delivery_partner_user, HOLD_REASON)
    world["faraway"].cancel(admin_user, CANCEL_REASON)
    return world


def row_of(response, migration):
    return next(row for row in response.context["page"].object_list if row.pk == migration.pk)


def test_a_migration_on_hold_shows_its_status_and_reason_instead_of_a_rag_and_nothing_overdue(
    client, paused, admin_user
):
    riverside = paused["riverside"]
    assert riverside.items.filter(status="to_do", due_on__lt="2025-04-10").exists()

    response = open_dashboard(client, admin_user)

    row = row_of(response, riverside)
    assert (row.rag, row.rag_label, row.rag_reason) == (None, "On hold", HOLD_REASON)
    assert (row.overdue, row.gates_overdue) == (0, 0)
    assert table_row(response.content.decode(), riverside).endswith(f"On hold {HOLD_REASON}")
    assert '<strong class="nhsuk-tag nhsuk-tag--grey">On hold</strong>' in response.content.decode()


def test_the_status_filter_offers_each_status_and_defaults_to_in_progress_and_on_hold(client, paused, admin_user):
    response = open_dashboard(client, admin_user)
    cancelled = client.get(DASHBOARD_URL, {"status": "cancelled"})
    on_hold = client.get(DASHBOARD_URL, {"status": "on_hold"})

    assert [label for _, label in response.context["form"].fields["status"].choices] == [
        "In progress or on hold",
        "On hold",
        "Completed",
        "Cancelled",
        "All",
    ]
    assert set(listed(response)) == {paused[name].pk for name in ("riverside", "hilltop", "valley")}
    assert listed(on_hold) == [paused["riverside"].pk]
    assert listed(cancelled) == [paused["faraway"].pk]
    assert (row_of(cancelled, paused["faraway"]).rag_label, row_of(cancelled, paused["faraway"]).rag_reason) == (
        "Cancelled",
        CANCEL_REASON,
    )


def test_rag_filters_leave_migrations_on_hold_out_and_the_rag_sort_puts_them_last(client, paused, admin_user):
    every_rag = open_dashboard(client, admin_user, {"rag": [rag.value for rag in Rag]})
    by_rag = client.get(DASHBOARD_URL, {"sort": "rag"})
    by_rag_descending = client.get(DASHBOARD_URL, {"sort": "-rag"})

    assert paused["riverside"].pk not in listed(every_rag)
    assert set(listed(every_rag)) == {paused["hilltop"].pk, paused["valley"].pk}
    assert listed(by_rag)[-1] == listed(by_rag_descending)[-1] == paused["riverside"].pk


def test_the_summary_and_the_csv_say_on_hold(client, paused, admin_user):
    response = open_dashboard(client, admin_user, {"status": "all"})
    csv = client.get(CSV_URL, {"status": "all"})

    summary = response.context["summary"]
    assert summary.not_rated == [("on_hold", "On hold", 1), ("cancelled", "Cancelled", 1)]
    assert sum(count for _, count in summary.by_rag) == 2
    html = response.content.decode()
    assert 'href="?status=on_hold">Show only on hold<span class="nhsuk-u-visually-hidden"> migrations' in html
    header, *rows = csv_rows(csv)
    lines = {line[0]: dict(zip(header, line, strict=True)) for line in rows}
    assert lines["Riverside Medical Centre"]["RAG status"] == "On hold"
    assert lines["Riverside Medical Centre"]["Overdue"] == "0"
    assert lines["Faraway Practice"]["RAG status"] == "Cancelled"


def test_the_csv_gives_the_status_alone_and_its_reason_in_the_next_column(client, paused, admin_user):
    # A spreadsheet filters the Status column by its few values, not by one value per reason.
    header, *lines = csv_rows(open_dashboard(client, admin_user, {"status": "all"}, url=CSV_URL))

    assert header[header.index("Status") + 1] == "Status reason"
    statuses = {line[0]: (line[header.index("Status")], line[header.index("Status reason")]) for line in lines}
    assert statuses == {
        "Riverside Medical Centre": ("On hold", HOLD_REASON),
        "Faraway Practice": ("Cancelled", CANCEL_REASON),
        "Hilltop Surgery": ("In progress", ""),
        "Valley Health Centre": ("In progress", ""),
    }


def test_the_dashboard_with_migrations_on_hold_and_cancelled_runs_the_same_queries(
    client, paused, delivery_partner_user, django_assert_num_queries
):
    client.force_login(delivery_partner_user)
    client.get(DASHBOARD_URL)

    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(DASHBOARD_URL, {"status": "all"})

    assert paused["riverside"].pk in listed(response)
