"""The migration page, through the browser-facing views: where people land, what the page shows
(the practice, the countdown, the phases, "This week", progress), the home page's list, and the
pinned query counts. The actions on items are in test_item_actions.py, milestones in
test_milestones_page.py."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from migrations_app import checklist
from migrations_app.checklist_templates import publishing
from migrations_app.models import (
    CheckIn,
    ChecklistProgress,
    ChecklistTemplate,
    Condition,
    ItemKind,
    ItemStatus,
    ItemTemplate,
    Milestone,
    PhaseTemplate,
    PracticeMigration,
    Role,
    TemplateVersion,
    User,
)
from migrations_app.models.checklist_items import CATCH_UP_DAYS
from migrations_app.models.choices import CheckInRag, CheckInSide
from tests.conftest import NOW, TODAY
from tests.factories import (
    PASSWORD,
    DeliveryPartnerFactory,
    MembershipFactory,
    PracticeFactory,
    UserFactory,
    make_migration,
)
from tests.pages import (
    DUE_SOON_KEY,
    LATER_KEY,
    OVERDUE_KEY,
    applicable,
    detail_url,
    element,
    htmx_post,
    item,
    item_url,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


# --- landing --------------------------------------------------------------------------------------------


def test_a_practice_user_lands_on_their_migration_after_signing_in(client, migration, practice_manager):
    response = client.post(reverse("login"), {"username": practice_manager.email, "password": PASSWORD}, follow=True)

    assert response.redirect_chain == [(reverse("migrations:home"), 302), (detail_url(migration), 302)]
    assert response.status_code == 200
    assert response.context["migration"] == migration


@pytest.mark.parametrize(
    ("persona", "linked"),
    [("practice_manager", False), ("delivery_partner_user", True), ("icb_user", True), ("admin_user", True)],
)
def test_all_migrations_is_offered_to_whoever_has_more_than_this_practice_to_see(
    persona, linked, request, client, migration
):
    # A practice's people start on this page (home sends them here): a link back to it would go nowhere.
    client.force_login(request.getfixturevalue(persona))

    html = client.get(detail_url(migration)).content.decode()

    assert ('class="nhsuk-back-link" href="/">All migrations</a>' in html) is linked


@pytest.mark.parametrize("persona", ["delivery_partner_user", "icb_user"])
def test_delivery_partner_and_icb_users_land_on_the_dashboard_of_their_migrations(
    persona, request, client, guide_version, migration, icb
):
    # A practice in the same ICB, supported by another delivery partner; and one elsewhere.
    same_icb = make_migration(
        practice=PracticeFactory(icb=icb, delivery_partner=DeliveryPartnerFactory()), template_version=guide_version
    )
    elsewhere = make_migration(template_version=guide_version)
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("migrations:home"), follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [(reverse("migrations:dashboard"), 302)]
    listed = {row.pk for row in response.context["page"].object_list}
    expected = {migration.pk, same_icb.pk} if persona == "icb_user" else {migration.pk}
    assert listed == expected
    for each in (migration, same_icb, elsewhere):
        assert (f'href="{detail_url(each)}"' in html) == (each.pk in expected)
    assert f'{detail_url(migration)}">Riverside Medical Centre</a>' in html


def test_the_page_shows_the_practice_suppliers_countdown_and_phases(client, migration, practice_manager):
    client.force_login(practice_manager)

    response = client.get(detail_url(migration))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Riverside Medical Centre (H85001)" in html
    assert "EMIS Web to SystmOne" in html
    days = (migration.go_live_on - TODAY).days
    assert days == 60
    assert f"Go-live in {days} days" in html
    for phase in migration.phases.all():
        assert escape(phase.title) in html


def test_the_this_week_panel_lists_overdue_items_and_items_due_in_the_next_7_days(client, migration, practice_manager):
    done_but_late = item(migration, "select-test-patient-records")  # due 7 April too, but done
    done_but_late.complete(practice_manager)
    most_overdue = migration.items.filter(due_on__lt=TODAY).exclude(pk=done_but_late.pk)
    most_overdue = most_overdue.order_by("due_on", "phase__position", "position").first()
    client.force_login(practice_manager)

    html = client.get(detail_url(migration)).content.decode()

    panel = element(html, "this-week")
    overdue, due_soon = panel.split("Due in the next 7 days")
    assert "Overdue (" in overdue
    assert escape(most_overdue.title) in overdue
    assert f"due {most_overdue.due_on.day} {most_overdue.due_on:%B}" in overdue
    assert escape(item(migration, DUE_SOON_KEY).title) in due_soon
    assert "due Monday 14 April" in due_soon
    assert escape(item(migration, LATER_KEY).title) not in panel
    assert escape(done_but_late.title) not in panel


def test_the_page_counts_applicable_items_done(client, migration, practice_manager):
    for key in (OVERDUE_KEY, DUE_SOON_KEY):
        item(migration, key).complete(practice_manager)
    total = applicable(migration.items.all())
    assert total < migration.items.count()  # conditional items are not applicable here
    client.force_login(practice_manager)

    html = client.get(detail_url(migration)).content.decode()

    assert f"2 of {total} applicable items done." in text(element(html, "overall-progress"))


# --- the home page's list -------------------------------------------------------------------------------

# Session, user, the user's standing (access.standing_of) and dashboard membership
# (access.lands_on_dashboard), the first two migrations (is there only one?), then the list with
# each migration's kept counts (ChecklistProgress) in the same query.
HOME_QUERIES = 6


@pytest.mark.parametrize("practices", [2, 5])
def test_the_home_page_lists_each_migration_in_progress_with_its_kept_counts_in_the_same_queries(
    practices, client, guide_version, migration, practice_manager, django_assert_num_queries
):
    others = [make_migration(template_version=guide_version) for _ in range(practices - 1)]
    for other in others:
        MembershipFactory(user=practice_manager, practice=other.practice, role=Role.PRACTICE_MANAGER)
    finished = make_migration(template_version=guide_version)
    finished.status, finished.finished_at = PracticeMigration.Status.COMPLETED, finished.created_at
    finished.save()
    MembershipFactory(user=practice_manager, practice=finished.practice, role=Role.PRACTICE_MANAGER)
    for key in (OVERDUE_KEY, DUE_SOON_KEY):
        item(migration, key).complete(practice_manager)
    client.force_login(practice_manager)
    client.get(reverse("migrations:home"))  # the session's first request records the sign-in time

    with django_assert_num_queries(HOME_QUERIES):
        response = client.get(reverse("migrations:home"))

    assert response.status_code == 200
    rows = [
        text(row) for row in re.findall(r'<tr class="nhsuk-table__row">(.*?)</tr>', response.content.decode(), re.S)
    ]
    expected = [(migration, 2), *((other, 0) for other in others)]
    assert len(rows) == 1 + len(expected)  # the heading, then each migration in progress
    for listed, done in expected:
        row = next(row for row in rows if row.startswith(listed.practice.name))
        assert row.endswith(f"{done} of {applicable(listed.items.all())}")
    assert not any(row.startswith(finished.practice.name) for row in rows)


# --- query counts ---------------------------------------------------------------------------------------

PHASES = 5


def checklist_of(size: int) -> TemplateVersion:
    """A published checklist of `size` items over five phases: groups of five, a gate closing each
    phase, and one item in ten applying only to dispensing practices."""
    version = TemplateVersion.objects.create(
        template=ChecklistTemplate.objects.create(slug=f"checklist-of-{size}", name=f"Checklist of {size}")
    )
    phases = [
        PhaseTemplate.objects.create(version=version, key=f"phase-{number}", title=f"Phase {number}", position=number)
        for number in range(PHASES)
    ]
    per_phase = size // PHASES
    ItemTemplate.objects.bulk_create(
        ItemTemplate(
            phase=phases[number // per_phase],
            key=f"item-{number}",
            title=f"Item {number}",
            group=f"Question {number // 5}",
            guide_url="https://example.org/guide",
            responsible_role=Role.PRACTICE_MANAGER,
            anchor=Milestone.IDP,
            offset_days=number - size // 2,
            kind=ItemKind.GATE if number % per_phase == per_phase - 1 else ItemKind.TASK,
            condition=Condition.DISPENSING_PRACTICE if number % 10 == 3 else "",
            position=number,
        )
        for number in range(size)
    )
    publishing.publish(version, "For query counts")
    return version


def migration_of(size: int) -> tuple[PracticeMigration, User]:
    """A migration of a `size`-item checklist, a third of it done by three people, with notes."""
    practice = PracticeFactory()
    manager = UserFactory()
    MembershipFactory(user=manager, practice=practice, role=Role.PRACTICE_MANAGER)
    migration = make_migration(practice=practice, template_version=checklist_of(size))
    finishers = [manager, UserFactory(), UserFactory()]
    for number, each in enumerate(migration.items.filter(kind=ItemKind.TASK, status=ItemStatus.TO_DO)):
        if number % 3 == 0:
            each.complete(finishers[number % len(finishers)])
        elif number % 3 == 1:
            each.set_note(manager, f"Note {number}")
    return migration, manager


# Session, user, the user's standing (access.standing_of, which gives their roles on the migration
# too), the migration, its items, the people they name (owners and who completed them: none on a
# checklist that names nobody), its phases; the People section: the memberships relating people to
# the practice (with their users) and its pending invitations (with who sent them); its weekly
# check-ins (with who gave them); a checklist upgrade applied in the last two weeks (with who applied it).
MIGRATION_PAGE_QUERIES = 11
# An htmx tick or reopen: session, user, standing (access.standing_of, with the person's roles);
# the item locked with its migration and its practice (access.get_item); the change (update, the
# migration's counts in ChecklistProgress, event); the migration's items again, in the change's
# transaction, for what the change moved on the page (checklist.change_of), which also gives the
# sign-off requests their gates, so that nothing more is read once it commits. Counted as the request
# runs outside a test: with what runs on commit, without the transaction's own statements.
ITEM_COMPLETE_HTMX_QUERIES = 8
ITEM_REOPEN_HTMX_QUERIES = 8
# SAVEPOINT and RELEASE in a test, where the request's transaction nests in the test's; BEGIN and
# COMMIT outside one.
TRANSACTION_CONTROL = re.compile(r"(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|BEGIN|COMMIT)\b")


def queries_run(client, url: str, data: dict, on_commit) -> list[str]:
    """The queries of an htmx POST and of what runs once it commits, less the transaction's own."""
    with CaptureQueriesContext(connection) as captured, on_commit(execute=True):
        response = htmx_post(client, url, data)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries if not TRANSACTION_CONTROL.match(query["sql"])]


@pytest.mark.parametrize("view", ["", *checklist.VIEWS])
@pytest.mark.parametrize("size", [10, 100])
def test_the_migration_page_runs_the_same_queries_whatever_the_checklist_size_and_view(
    size, view, client, django_assert_num_queries
):
    migration, manager = migration_of(size)
    assert migration.items.count() == size
    client.force_login(manager)

    with django_assert_num_queries(MIGRATION_PAGE_QUERIES):
        response = client.get(detail_url(migration), {"show": view} if view else {})

    assert response.status_code == 200
    assert response.context["checklist"].view == (view or checklist.DEFAULT_VIEW)
    if view == "all":
        assert response.content.decode().count('class="nhsuk-task-list__item tracker-item"') == size


@pytest.mark.parametrize("size", [10, 100])
@pytest.mark.parametrize(
    ("action", "before", "after", "expected"),
    [
        ("item_complete", ItemStatus.TO_DO, ItemStatus.DONE, ITEM_COMPLETE_HTMX_QUERIES),
        ("item_reopen", ItemStatus.DONE, ItemStatus.TO_DO, ITEM_REOPEN_HTMX_QUERIES),
    ],
)
def test_a_tick_with_htmx_runs_the_same_queries_whatever_the_checklist_size(
    size, action, before, after, expected, client, django_capture_on_commit_callbacks
):
    migration, manager = migration_of(size)
    task = migration.items.filter(kind=ItemKind.TASK, status=before).last()
    client.force_login(manager)
    data = {"revision": task.revision, "reason": ""} if action == "item_reopen" else {}

    queries = queries_run(client, item_url(action, task), data, django_capture_on_commit_callbacks)

    assert len(queries) == expected, "\n\n".join(queries)
    task.refresh_from_db()
    assert task.status == after


# --- the RAG status, as the dashboard gives it ----------------------------------------------------------


def rag_on_the_dashboard(client, user, migration) -> str:
    client.force_login(user)
    row = re.search(
        rf'id="migration-{migration.pk}".*?tracker-cell--rag" role="cell">(.*?)'
        r'<span class="tracker-reason tracker-check-in',
        client.get(reverse("migrations:dashboard"), {"status": "all"}).content.decode(),
        re.DOTALL,
    )
    return text(row.group(1))


def rag_on_the_page(client, user, migration) -> str:
    client.force_login(user)
    status = element(client.get(detail_url(migration)).content.decode(), "rag-status")
    found = re.search(r"<p[^>]*>RAG status:.*?</p>", status, re.DOTALL)
    return text(found.group(0)) if found else ""


@pytest.mark.parametrize("state", ["as planned", "gates done", "all done", "red check-in", "on hold"])
def test_the_page_gives_the_rag_status_the_dashboard_gives(
    client, migration, practice_manager, delivery_partner_user, state
):
    overdue = migration.items.filter(due_on__lt=TODAY)
    done = {"status": ItemStatus.DONE, "completed_by": practice_manager, "completed_at": NOW}
    if state == "gates done":
        overdue.filter(kind=ItemKind.GATE).update(**done)
    elif state == "all done":
        migration.items.update(**done)
    elif state == "red check-in":
        overdue.update(**done)
        CheckIn.give(migration, side=CheckInSide.PRACTICE, rag=CheckInRag.RED, note="Worried", by=practice_manager)
    elif state == "on hold":
        migration.hold(practice_manager, "Waiting for the ICB")
    ChecklistProgress.recount([migration.pk])

    dashboard = rag_on_the_dashboard(client, delivery_partner_user, migration)
    page = rag_on_the_page(client, practice_manager, migration)

    if state == "on hold":
        assert dashboard.startswith("On hold")
        assert page == ""  # the status banner says it is on hold; nothing is due
    else:
        assert page == f"RAG status: {dashboard}. How the RAG status is worked out"
    expected = {"as planned": "Red", "gates done": "Red", "all done": "Green", "red check-in": "Amber"}.get(state)
    assert expected is None or page.startswith(f"RAG status: {expected} ")


def test_the_checklist_comes_before_what_changes_seldom_and_the_top_links_to_each(client, migration, practice_manager):
    client.force_login(practice_manager)

    html = client.get(detail_url(migration)).content.decode()

    links = element(html, "on-this-page")
    assert re.findall(r'href="#([a-z-]+)"', links) == ["checklist", "milestones", "conditions", "people"]
    marks = ('id="on-this-page"', 'id="this-week"', 'id="check-ins"', '<div id="checklist"')
    order = [html.index(mark) for mark in marks]
    order += [html.index(f'id="{section}"') for section in ("milestones", "conditions", "people")]
    assert order == sorted(order)
    assert re.search(r'<div id="checklist"[^>]*>\s*(?:\{#.*?#\}\s*)?<h2[^>]*>Checklist</h2>', html)


def test_overdue_items_due_before_the_migration_was_added_are_pointed_out_to_catch_up_on(
    client, migration, practice_manager
):
    client.force_login(practice_manager)
    before_added = migration.items.filter(due_on__lt=TODAY, status=ItemStatus.TO_DO).count()
    assert before_added > 1  # the migration was started today, its order months ago

    started_late_html = element(client.get(detail_url(migration)).content.decode(), "rag-status")
    started_late = text(started_late_html)
    PracticeMigration.objects.filter(pk=migration.pk).update(created_at=NOW - timedelta(days=365))
    started_on_time = text(element(client.get(detail_url(migration)).content.decode(), "rag-status"))

    assert (
        f"{before_added} overdue items were due before this migration was added to the tracker on "
        f"{TODAY:%-d %B %Y}. If they were done before then, mark them as done here: a sign-off gate is signed off "
        f"by its signer. Until {TODAY + timedelta(days=CATCH_UP_DAYS):%-d %B %Y}, an overdue gate among them does "
        "not by itself make the migration red. See the overdue items"
    ) in started_late
    assert '<a href="?show=overdue#checklist">See the overdue items</a>' in started_late_html
    assert "added to the tracker" not in started_on_time
    assert started_on_time.startswith("RAG status: Red")


def test_once_the_catch_up_time_is_over_the_note_no_longer_promises_amber(
    client, migration, practice_manager, time_machine
):
    time_machine.move_to(NOW + timedelta(days=CATCH_UP_DAYS), tick=False)
    client.force_login(practice_manager)

    note = text(element(client.get(detail_url(migration)).content.decode(), "rag-status"))

    assert "a sign-off gate is signed off by its signer. See the overdue items" in note
    assert "not by itself make the migration red" not in note
    assert note.startswith("RAG status: Red")


def test_one_ordinary_item_due_before_the_migration_was_added_is_named_as_one(client, migration, practice_manager):
    overdue = migration.items.filter(due_on__lt=TODAY, status=ItemStatus.TO_DO).order_by("pk")
    kept = overdue.filter(kind=ItemKind.TASK).first()
    overdue.exclude(pk=kept.pk).update(status=ItemStatus.DONE, completed_by=practice_manager, completed_at=NOW)
    ChecklistProgress.recount([migration.pk])
    client.force_login(practice_manager)

    note = text(element(client.get(detail_url(migration)).content.decode(), "rag-status"))

    assert (
        "1 overdue item was due before this migration was added to the tracker on "
        f"{TODAY:%-d %B %Y}. If it was done before then, mark it as done here. See the overdue item"
    ) in note


def test_an_item_whose_milestone_has_no_date_says_which_milestone_it_waits_for(
    client, practice_manager, guide_version, practice
):
    undated = make_migration(practice=practice, template_version=guide_version, kick_off_on=None)
    item = undated.items.filter(anchor="kick_off", offset_days=0).first()
    client.force_login(practice_manager)

    page = text(client.get(detail_url(undated), {"show": "all"}).content.decode())
    item_page = text(
        client.get(reverse("migrations:item_detail", kwargs={"pk": undated.pk, "item_pk": item.pk})).content.decode()
    )

    assert f"{item.title}" in page and "Due date not agreed yet (on kick-off)." in page
    assert "Due Not agreed yet On kick-off" in item_page  # its page says so as it did
