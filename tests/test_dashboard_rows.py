"""What a dashboard row says, through the client: practice, ICB, systems, current phase, go-live,
progress, overdue and blocked counts, the next item due and the RAG status, and its links. Today is
tests.conftest.TODAY, when the demo migration goes live in 60 days."""

from datetime import timedelta

import pytest
from django.urls import reverse

from migrations_app.dashboard import rows
from migrations_app.dashboard.rag import Rag, assess
from migrations_app.models import ChecklistItem, ChecklistProgress, ItemKind, ItemStatus
from migrations_app.models.choices import OPEN_STATUSES
from migrations_app.tasks import count_day
from migrations_app.views import dashboard as dashboard_views
from tests.conftest import NOW, TODAY
from tests.factories import GO_LIVE_ON, added_at_its_start, kept_and_counted_day_figures
from tests.pages import DASHBOARD_URL, open_dashboard, table_row

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


# --- what a row says ----------------------------------------------------------------------------------


def test_a_row_shows_practice_icb_systems_phase_go_live_progress_counts_next_item_and_rag(
    client, migration, delivery_partner_user, practice_manager
):
    added_at_its_start(migration)
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
        "EMIS Web to SystmOne Early phases: decision to migrate to pre-migration tasks Checklist in step with the dates"
        f" 9 Jun 2025 60 {row.percent}%" in text
    )
    assert f"{row.percent}% {overdue.count()} 1 {next_item.due_on:%-d %b %Y}: {next_item.title[:40]}" in text
    assert text.endswith(f"{expected_rag.rag.label} {expected_rag.reason} No check-in yet")


def test_figures_kept_for_today_and_counted_by_the_page_are_the_same(client, world, admin_user, practice_manager):
    # A row whose day figures were counted for another day (or never) is counted in the page's own
    # query; one counted for today is read as kept. Both must give the same rows.
    world["riverside"].items.get(key="agree-go-live-date").complete(practice_manager)
    world["hilltop"].items.get(key="source-supplier-notified").mark_blocked(practice_manager, "Waiting")
    query = {"status": "all", "sort": "next_due"}
    kept = open_dashboard(client, admin_user, query).context["page"].object_list
    assert ChecklistProgress.objects.filter(counts_on=TODAY).count() == 4

    # Counted yesterday, with figures that would be wrong today.
    ChecklistProgress.objects.update(
        counts_on=TODAY - timedelta(days=1), overdue=50, gates_overdue=50, done_ahead=0, next_due_on=None
    )
    counted_by_the_page = client.get(DASHBOARD_URL, query).context["page"].object_list
    ChecklistProgress.objects.update(counts_on=None)
    never_counted = client.get(DASHBOARD_URL, query).context["page"].object_list
    only_one = client.get(DASHBOARD_URL, {"search": "Valley"}).context["page"].object_list

    assert len(kept) == 4
    assert any(row.overdue for row in kept) and any(row.overdue == 0 for row in kept)
    assert counted_by_the_page == kept
    assert never_counted == kept
    assert [row.practice_name for row in only_one] == ["Valley Health Centre"]


def test_the_quarter_hourly_task_counts_the_day_figures_of_every_migration_counted_before_today(
    world, practice_manager
):
    world["riverside"].items.get(key="agree-go-live-date").complete(practice_manager)
    ChecklistProgress.objects.exclude(migration=world["hilltop"]).update(
        counts_on=TODAY - timedelta(days=1), overdue=0, gates_overdue=0
    )
    ChecklistProgress.objects.filter(migration=world["valley"]).update(counts_on=None)

    counted = count_day()

    assert counted == 3
    for progress in ChecklistProgress.objects.select_related("migration"):
        kept, counted = kept_and_counted_day_figures(progress, TODAY)
        assert progress.counts_on == TODAY
        assert kept == counted
    assert any(progress.overdue for progress in ChecklistProgress.objects.all())
    assert count_day() == 0


def test_a_row_links_to_the_migration_page_and_its_next_item(client, migration, delivery_partner_user):
    response = open_dashboard(client, delivery_partner_user)

    (row,) = response.context["page"].object_list
    html = response.content.decode()
    assert f'href="{reverse("migrations:migration_detail", kwargs={"pk": migration.pk})}"' in html
    item_url = reverse("migrations:item_detail", kwargs={"pk": migration.pk, "item_pk": row.next_item_pk})
    assert f'href="{item_url}"' in html


def test_each_row_names_the_first_open_item_due_on_its_own_next_date(client, world, admin_user, practice_manager):
    # Migrations at different points, next due on different days, one with its first item of that
    # day done so that another of the same day comes next: each row reads its own.
    riverside = world["riverside"]
    first_due = (
        riverside.items.filter(status__in=OPEN_STATUSES, due_on__gte=TODAY)
        .order_by("due_on", "phase__position", "position")
        .first()
    )
    first_due.complete(practice_manager)

    page = open_dashboard(client, admin_user, {"status": "all"}).context["page"].object_list

    expected = {}
    for migration in world.values():
        following = (
            ChecklistItem.objects.filter(migration=migration, status__in=OPEN_STATUSES, due_on__gte=TODAY)
            .order_by("due_on", "phase__position", "position")
            .first()
        )
        expected[migration.pk] = (following.due_on, following.pk, following.title) if following else (None, None, "")
    assert {row.pk: (row.next_due_on, row.next_item_pk, row.next_item_title) for row in page} == expected
    assert len({row.next_due_on for row in page if row.next_due_on}) >= 2
    assert expected[riverside.pk][1] != first_due.pk


def test_a_migration_whose_open_items_are_all_overdue_says_so_rather_than_nothing_due(client, migration, admin_user):
    added_at_its_start(migration)
    migration.items.filter(due_on__gte=TODAY).update(status=ItemStatus.DONE, completed_by=admin_user, completed_at=NOW)
    ChecklistProgress.recount([migration.pk])

    response = open_dashboard(client, admin_user)

    (row,) = response.context["page"].object_list
    assert (row.next_due_on, row.overdue > 0) == (None, True)
    assert f" {row.overdue} {row.blocked} Nothing more: every open item is overdue Red " in table_row(
        response.content.decode(), migration
    )


def test_open_items_without_a_due_date_are_not_called_overdue(client, migration, admin_user):
    added_at_its_start(migration)
    # The dates after today not agreed yet: the open items left without one are not overdue.
    migration.items.filter(due_on__gte=TODAY).update(due_on=None)
    ChecklistProgress.recount([migration.pk])

    response = open_dashboard(client, admin_user)

    (row,) = response.context["page"].object_list
    assert (row.next_due_on, row.overdue > 0, row.applicable - row.done > row.overdue) == (None, True, True)
    html = table_row(response.content.decode(), migration)
    assert "No other open item has a due date yet" in html
    assert "every open item is overdue" not in html

    migration.items.update(due_on=None)
    ChecklistProgress.recount([migration.pk])
    html = table_row(open_dashboard(client, admin_user).content.decode(), migration)
    assert "No open item has a due date yet" in html


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


def test_the_beat_schedules_the_count_of_the_day_and_only_tasks_the_workers_know():
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "migrations_app.tasks.count_day" in scheduled
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)


@pytest.mark.parametrize("sort", ["rag", "-overdue", "practice", "-go_live", "next_due"])
def test_a_page_chosen_before_its_rows_are_read_is_the_same_page(client, world, admin_user, monkeypatch, sort):
    # Among many matches the page's migrations are chosen first (rows.CHOSEN_FIRST_ABOVE): the same
    # rows, in the same order, on every page.
    monkeypatch.setattr(dashboard_views, "PAGE_SIZE", 2)
    pages = []
    for chosen_first_above in (10_000, 0):
        monkeypatch.setattr(rows, "CHOSEN_FIRST_ABOVE", chosen_first_above)
        pages.append(
            [
                [
                    row.pk
                    for row in open_dashboard(client, admin_user, url=f"{DASHBOARD_URL}?sort={sort}&page={number}")
                    .context["page"]
                    .object_list
                ]
                for number in (1, 2)
            ]
        )

    assert pages[0] == pages[1]
    assert sorted(pk for page in pages[1] for pk in page) == sorted(migration.pk for migration in world.values())
