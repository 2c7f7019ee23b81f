"""What a dashboard row says, through the client: practice, ICB, systems, current phase, go-live,
progress, overdue and blocked counts, the next item due and the RAG status, and its links. Today is
tests.conftest.TODAY, when the demo migration goes live in 60 days."""

import pytest
from django.urls import reverse

from migrations_app.dashboard import rows
from migrations_app.dashboard.rag import Rag, assess
from migrations_app.models import ChecklistItem, ChecklistProgress, ItemKind, ItemStatus
from migrations_app.models.choices import OPEN_STATUSES
from tests.conftest import NOW, TODAY
from tests.factories import GO_LIVE_ON
from tests.pages import DASHBOARD_URL, open_dashboard, table_row

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


# --- what a row says ----------------------------------------------------------------------------------


def test_a_row_shows_practice_icb_systems_phase_go_live_progress_counts_next_item_and_rag(
    client, migration, delivery_partner_user, practice_manager
):
    items = migration.items.all()
    items.get(key="agree-go-live-date").complete(practice_manager)
    items.get(key="source-supplier-notified").mark_blocked(practice_manager, "Waiting for the supplier")
    open_items = ChecklistItem.objects.filter(migration=migration, status__in=OPEN_STATUSES)
    overdue = open_items.filter(due_on__lt=TODAY)
    next_item = open_items.filter(due_on__gte=TODAY).order_by("due_on", "phase__position", "position").first()
    applicable = items.exclude(status=ItemStatus.NOT_APPLICABLE).count()
    expected_rag = assess(
        applicable=applicable,
        done=1,
        done_ahead=items.filter(status=ItemStatus.DONE, due_on__gte=TODAY).count(),
        overdue=overdue.count(),
        gates_overdue=overdue.filter(kind=ItemKind.GATE).count(),
    )

    response = open_dashboard(client, delivery_partner_user)

    (row,) = response.context["page"].object_list
    assert (row.practice_name, row.ods_code, row.icb_name) == (
        "Riverside Medical Centre",
        "H85001",
        "NHS South West London Integrated Care Board",
    )
    assert row.suppliers == "EMIS Web to SystmOne"
    assert row.phase_title == "Early phases: decision to migrate to pre-migration tasks"
    assert (row.go_live_on, row.days_to_go) == (GO_LIVE_ON, 60)
    assert (row.done, row.applicable, row.percent) == (1, applicable, round(100 / applicable))
    assert (row.overdue, row.blocked) == (overdue.count(), 1)
    assert (row.next_due_on, row.next_item_title) == (next_item.due_on, next_item.title)
    assert (row.rag, row.rag_reason) == expected_rag
    text = table_row(response.content.decode(), migration)
    assert text.startswith("Riverside Medical Centre H85001 NHS South West London Integrated Care Board")
    assert (
        "EMIS Web to SystmOne Early phases: decision to migrate to pre-migration tasks On track"
        f" 9 Jun 2025 60 {row.percent}%" in text
    )
    assert f"{row.percent}% {overdue.count()} 1 {next_item.due_on:%-d %b %Y}: {next_item.title[:40]}" in text
    assert text.endswith(f"{expected_rag.rag.label} {expected_rag.reason}")


def test_counts_read_by_id_or_for_every_migration_are_the_same(
    client, world, admin_user, practice_manager, monkeypatch
):
    # Up to LOOK_UP_IDS_UP_TO rows the overdue counts and next due dates are read for the rows'
    # ids, above it for every migration and the rows' kept: both must give the same rows.
    world["riverside"].items.get(key="agree-go-live-date").complete(practice_manager)
    world["hilltop"].items.get(key="source-supplier-notified").mark_blocked(practice_manager, "Waiting")
    by_id = open_dashboard(client, admin_user, {"status": "all", "sort": "next_due"}).context["page"].object_list

    monkeypatch.setattr(rows, "LOOK_UP_IDS_UP_TO", 0)
    for_every_migration = client.get(DASHBOARD_URL, {"status": "all", "sort": "next_due"}).context["page"].object_list
    only_two = client.get(DASHBOARD_URL, {"search": "Valley"}).context["page"].object_list

    assert len(by_id) == 4
    assert any(row.overdue for row in by_id) and any(row.overdue == 0 for row in by_id)
    assert for_every_migration == by_id
    assert [row.practice_name for row in only_two] == ["Valley Health Centre"]


def test_a_row_links_to_the_migration_page_and_its_next_item(client, migration, delivery_partner_user):
    response = open_dashboard(client, delivery_partner_user)

    (row,) = response.context["page"].object_list
    html = response.content.decode()
    assert f'href="{reverse("migrations:migration_detail", kwargs={"pk": migration.pk})}"' in html
    item_url = reverse("migrations:item_detail", kwargs={"pk": migration.pk, "item_pk": row.next_item_pk})
    assert f'href="{item_url}"' in html


def test_a_migration_with_every_item_closed_keeps_its_phase_by_dates_and_has_nothing_due(client, migration, admin_user):
    migration.items.exclude(status=ItemStatus.NOT_APPLICABLE).update(
        status=ItemStatus.DONE, completed_by=admin_user, completed_at=NOW
    )
    ChecklistProgress.recount([migration.pk])

    response = open_dashboard(client, admin_user)

    (row,) = response.context["page"].object_list
    assert (row.phase_title, row.checklist_text) == (
        "Early phases: decision to migrate to pre-migration tasks",
        "Checklist complete",
    )
    assert (row.percent, row.next_due_on, row.rag) == (100, None, Rag.GREEN)
    assert "Nothing due" in table_row(response.content.decode(), migration)
