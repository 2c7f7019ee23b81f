"""The dashboard's CSV export, through the client: the table's columns and every row of the
filtered, sorted view, streamed in chunks, with formula-like cells quoted. Today is
tests.conftest.TODAY, when the demo migration goes live in 60 days."""

import csv
import io
import re
from datetime import timedelta

import pytest

from migrations_app.dashboard import rows
from migrations_app.models import PracticeMigration
from migrations_app.views import dashboard as dashboard_views
from tests.conftest import TODAY, going_live
from tests.factories import PracticeFactory
from tests.pages import CSV_URL, csv_rows, open_dashboard, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


# --- CSV ----------------------------------------------------------------------------------------------


def test_the_csv_has_the_tables_columns_then_its_own_and_every_row_of_the_filtered_sorted_view(
    client, world, admin_user, monkeypatch
):
    monkeypatch.setattr(dashboard_views, "PAGE_SIZE", 2)
    params = {"sort": "-practice", "status": "all", "page": "2"}
    page = open_dashboard(client, admin_user, params)

    response = client.get(CSV_URL, params)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="migrations-2025-04-10.csv"'
    header, *lines = csv_rows(response)
    table_headings = re.findall(r'<a class="tracker-sort" href="[^"]*">([^<]+)', page.content.decode())
    assert header == [column.heading for column in rows.COLUMNS]
    assert header[: len(table_headings)] == table_headings
    assert header[len(table_headings) :] == [
        "RAG reason",
        "Checklist",
        "Delivery partner",
        "Status",
        "Status reason",
        "IDP",
        "FDP",
        "Old system access ends",
        "Old system access end agreed",
        "Next item",
        "Next item owner",
        "Last change",
        "Last check-in",
        "Check-in RAG status",
        "Check-in missed",
    ]
    assert [line[0] for line in lines] == [
        "Valley Health Centre",
        "Riverside Medical Centre",
        "Hilltop Surgery",
        "Faraway Practice",
    ]


def test_a_csv_line_holds_the_values_of_the_table_row(client, migration, delivery_partner_user):
    page = open_dashboard(client, delivery_partner_user)
    (row,) = page.context["page"].object_list

    _, line = csv_rows(client.get(CSV_URL))

    assert line == [
        "Riverside Medical Centre",
        "H85001",
        "NHS South West London Integrated Care Board",
        "EMIS Web to SystmOne",
        "Early phases: decision to migrate to pre-migration tasks",
        "2025-06-09",
        "60",
        str(row.percent),
        str(row.overdue),
        "0",
        row.next_due_on.isoformat(),
        row.rag.label,
        row.rag_reason,  # as the table gives it under the status
        "Checklist in step with the dates",
        migration.practice.delivery_partner.name,
        "In progress",
        "",  # no status reason: only a migration on hold or cancelled has one
        "2025-04-14",
        "2025-06-06",
        "2025-09-07",
        "Yes",
        row.next_item_title,
        row.next_item_owner,
        "2025-04-10",  # made today
        "",  # no check-in yet
        "",
        "No",
    ]
    assert row.next_item_owner == "Practice manager"  # no one named: the responsible role
    assert row.rag_reason and row.rag_reason in page.content.decode()


def test_the_csv_gives_the_expected_end_of_old_system_access_until_one_is_agreed(
    client, migration, delivery_partner_user, settings
):
    # As the migration page gives it: go-live plus OLD_SYSTEM_ACCESS_DAYS, marked as not agreed.
    settings.OLD_SYSTEM_ACCESS_DAYS = 90
    PracticeMigration.objects.filter(pk=migration.pk).update(old_system_access_end_on=None)

    header, line = csv_rows(open_dashboard(client, delivery_partner_user, url=CSV_URL))

    values = dict(zip(header, line, strict=True))
    expected = migration.go_live_on + timedelta(days=90)
    assert (values["Old system access ends"], values["Old system access end agreed"]) == (expected.isoformat(), "No")
    page = client.get(f"/migrations/{migration.pk}/").content.decode()
    assert f"{expected.day} {expected:%B %Y} (expected" in text(page)

    PracticeMigration.objects.filter(pk=migration.pk).update(go_live_on=None)
    header, line = csv_rows(open_dashboard(client, delivery_partner_user, url=CSV_URL))
    values = dict(zip(header, line, strict=True))
    assert (values["Old system access ends"], values["Old system access end agreed"]) == ("", "")


def test_the_csv_follows_the_filters(client, world, admin_user, icb):
    response = open_dashboard(client, admin_user, {"icb": icb.pk}, url=CSV_URL)

    assert sorted(line[0] for line in csv_rows(response)[1:]) == ["Riverside Medical Centre", "Valley Health Centre"]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(client, guide_version, admin_user):
    going_live(TODAY, practice=PracticeFactory(name='=HYPERLINK("http://x")'), template_version=guide_version)

    response = open_dashboard(client, admin_user, url=CSV_URL)

    assert csv_rows(response)[1][0] == '\'=HYPERLINK("http://x")'


def test_a_status_reason_that_a_spreadsheet_would_run_as_a_formula_is_quoted(
    client, migration, delivery_partner_user, admin_user
):
    migration.hold(delivery_partner_user, "=cmd|' /C calc'!A0")

    header, line = csv_rows(open_dashboard(client, admin_user, url=CSV_URL))

    values = dict(zip(header, line, strict=True))
    assert (values["Status"], values["Status reason"]) == ("On hold", "'=cmd|' /C calc'!A0")


def test_the_csv_of_many_rows_is_sent_in_chunks(client, guide_version, admin_user, monkeypatch):
    monkeypatch.setattr("migrations_app.dashboard.export.CHUNK", 2)
    for _ in range(5):
        going_live(TODAY + timedelta(days=30), practice=PracticeFactory(), template_version=guide_version)

    response = open_dashboard(client, admin_user, url=CSV_URL)

    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 3  # the header, then 2 + 2 + 1 rows
    lines = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert all(line[10] for line in lines[1:]), "every row has its next item, whichever chunk it is in"


def test_a_live_migrations_days_to_go_live_is_a_negative_number_in_the_csv(
    client, practice, guide_version, delivery_partner_user
):
    # A number a spreadsheet sorts by, where the table says "Live 18 days".
    going_live(TODAY - timedelta(days=18), practice=practice, template_version=guide_version)
    page = open_dashboard(client, delivery_partner_user)

    header, line = csv_rows(client.get(CSV_URL))

    assert "Live 18 days" in page.content.decode()
    assert line[header.index("Days to go-live")] == "-18"
