"""A migration's lifecycle through the pages: putting it on hold and cancelling it (a reason or an
error summary, nothing changed), resuming it with a preview of the due dates that move, the status
banner and its actions, and read-only finished migrations: every change to a cancelled or completed
migration is a 403 for everyone, support admins too, except reopening a completed migration's
"migration complete" gate. (Who may use each route: tests/access_routes.py.)"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from migrations_app.models import Event, ItemStatus, PracticeMigration, Role
from migrations_app.models.checklist_items import COMPLETION_GATE_KEY
from tests.access_routes import (
    ASSIGN_OWNERS,
    CANCEL_REASON,
    CHANGE_MIGRATION_STATUS,
    EDIT_MILESTONES,
    HOLD_REASON,
    MATRIX,
    SIGN_GATES,
    TICK,
    UPGRADE_CHECKLIST,
    milestones_data,
    send,
    sign_in,
    snapshot,
    target_of,
    url_of,
)
from tests.factories import GO_LIVE_ON, MembershipFactory, make_migration
from tests.pages import detail_url, element, error_summary, item_url, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

Status = PracticeMigration.Status
OVERRIDE = "Cutover data re-entered and staff trained; agreed at the project board"
# Work on the migration itself, which Access grants: not inviting people to its practice, nor
# starting migrations, which a finished migration leaves as they were.
MIGRATION_WORK = {TICK, EDIT_MILESTONES, SIGN_GATES, ASSIGN_OWNERS, UPGRADE_CHECKLIST, CHANGE_MIGRATION_STATUS}
WRITES = [route for route in MATRIX if route.need in MIGRATION_WORK]


def lifecycle_url(name: str, migration: PracticeMigration) -> str:
    return reverse(f"migrations:migration_{name}", kwargs={"pk": migration.pk})


def status_of(migration: PracticeMigration) -> str:
    return PracticeMigration.objects.get(pk=migration.pk).status


def completion_gate(migration: PracticeMigration):
    return migration.items.get(key=COMPLETION_GATE_KEY)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


# --- on hold ----------------------------------------------------------------------------------------------


def test_putting_on_hold_without_a_reason_is_explained_and_changes_nothing(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)
    before = snapshot()

    response = client.post(lifecycle_url("hold", migration), {"reason": "   "})

    assert response.status_code == 400
    html = response.content.decode()
    assert error_summary(html) == "Enter why the migration is on hold"
    assert '<a href="#id_reason">' in html
    assert "<title>Error: Put the migration on hold" in html
    assert snapshot() == before


def test_putting_on_hold_with_a_reason(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)
    form = client.get(lifecycle_url("hold", migration))

    response = client.post(lifecycle_url("hold", migration), {"reason": HOLD_REASON}, follow=True)

    assert form.status_code == 200
    assert response.redirect_chain == [(detail_url(migration), 302)]
    assert status_of(migration) == Status.ON_HOLD
    assert "Migration put on hold. Reminders are paused until it is resumed." in messages_of(response)
    banner = text(
        re.search(
            r'<div class="nhsuk-warning-callout" id="migration-status">(.*?)</div>', response.content.decode(), re.S
        ).group(1)
    )
    assert banner.startswith("Important: On hold On hold since 10 April 2025, put on hold by Dana Partner.")
    assert f"Reason: {HOLD_REASON}" in banner


def test_a_second_hold_is_explained_and_changes_nothing(client, migration, delivery_partner_user):
    migration.hold(delivery_partner_user, HOLD_REASON)
    client.force_login(delivery_partner_user)
    before = snapshot()

    response = client.post(lifecycle_url("hold", migration), {"reason": "Another reason"}, follow=True)

    assert response.redirect_chain == [(detail_url(migration), 302)]
    assert "This migration is already on hold. Nothing was changed." in messages_of(response)
    assert snapshot() == before


def test_the_items_of_a_migration_on_hold_can_still_be_ticked(client, migration, delivery_partner_user, practice_staff):
    migration.hold(delivery_partner_user, HOLD_REASON)
    task = migration.items.get(key="clean-up-current-data")
    client.force_login(practice_staff)

    page = client.get(detail_url(migration))
    response = client.post(item_url("item_complete", task))

    assert "Mark as done" in page.content.decode()
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE


def test_nothing_of_a_migration_on_hold_shows_as_overdue(client, migration, practice_manager, delivery_partner_user):
    client.force_login(practice_manager)
    overdue_tag = '<strong class="nhsuk-tag nhsuk-tag--red">Overdue</strong>'
    before = client.get(detail_url(migration)).content.decode()
    migration.hold(delivery_partner_user, HOLD_REASON)

    after = client.get(detail_url(migration)).content.decode()

    assert overdue_tag in before
    assert overdue_tag not in after


def test_the_page_of_a_migration_on_hold_offers_resume_and_cancel(client, migration, delivery_partner_user):
    migration.hold(delivery_partner_user, HOLD_REASON)
    client.force_login(delivery_partner_user)

    html = client.get(detail_url(migration)).content.decode()

    assert f'href="{lifecycle_url("resume", migration)}"' in html
    assert f'href="{lifecycle_url("cancel", migration)}"' in html
    assert f'href="{lifecycle_url("hold", migration)}"' not in html


@pytest.mark.parametrize("persona", ["practice_manager", "icb_user"])
def test_people_who_may_not_change_the_status_see_it_but_no_action(
    persona, request, client, migration, delivery_partner_user
):
    migration.hold(delivery_partner_user, HOLD_REASON)
    sign_in(client, request, persona)

    html = client.get(detail_url(migration)).content.decode()

    assert f"Reason: {HOLD_REASON}" in html
    assert "/resume/" not in html and "/cancel/" not in html and "/hold/" not in html


# --- resume -----------------------------------------------------------------------------------------------


def test_resuming_previews_the_due_dates_that_move_then_moves_them(client, migration, delivery_partner_user):
    migration.hold(delivery_partner_user, HOLD_REASON)
    client.force_login(delivery_partner_user)
    data = milestones_data(None, migration)
    preview_data = {key: value for key, value in data.items() if key != "confirm"}

    form = client.get(lifecycle_url("resume", migration))
    preview = client.post(lifecycle_url("resume", migration), preview_data, follow=True)
    after_preview = status_of(migration)
    response = client.post(lifecycle_url("resume", migration), data, follow=True)

    assert form.status_code == 200
    assert f"On hold since 10 April 2025: {HOLD_REASON}" in text(form.content.decode())
    assert 'name="go_live-day" type="text" inputmode="numeric" value="9"' in form.content.decode()
    moves = preview.context["moves"]
    assert preview.status_code == 200 and moves
    assert f"Due dates that move ({len(moves)})" in preview.content.decode()
    assert after_preview == Status.ON_HOLD
    assert response.redirect_chain == [(detail_url(migration), 302)]
    assert f"Migration resumed. {len(moves)} due dates moved." in messages_of(response)
    assert status_of(migration) == Status.ACTIVE
    assert PracticeMigration.objects.get(pk=migration.pk).go_live_on == GO_LIVE_ON + timedelta(days=7)
    assert Event.objects.filter(migration=migration, kind=Event.Kind.REPLAN).count() == len(moves)


def test_the_resume_preview_keeps_what_was_typed_out_of_its_address_and_back_finds_it(
    client, migration, delivery_partner_user
):
    migration.hold(delivery_partner_user, HOLD_REASON)
    client.force_login(delivery_partner_user)
    typed = {key: value for key, value in milestones_data(None, migration).items() if key != "confirm"}

    sent = client.post(lifecycle_url("resume", migration), typed)
    preview = client.get(sent.url).content.decode()
    back = re.search(r'class="nhsuk-back-link" href="([^"]+)"', preview).group(1)
    form = client.get(back).content.decode()

    assert sent.url == lifecycle_url("resume", migration) + "?preview=yes"
    assert "Supplier" not in sent.url + back
    assert 'name="go_live-day" type="text" inputmode="numeric" value="16"' in form  # as typed, a week later
    assert "Supplier moved the date" in form
    assert "Supplier moved the date" in text(element(preview, "reason"))  # the preview shows it too
    assert status_of(migration) == Status.ON_HOLD


def test_resuming_with_a_date_that_is_not_real_is_explained_and_changes_nothing(
    client, migration, delivery_partner_user
):
    migration.hold(delivery_partner_user, HOLD_REASON)
    client.force_login(delivery_partner_user)
    data = milestones_data(None, migration) | {"go_live-day": "31", "go_live-month": "2"}
    before = snapshot()

    response = client.post(lifecycle_url("resume", migration), data)

    assert response.status_code == 400
    assert error_summary(response.content.decode()) == "Go-live must be a real date, for example 27 3 2027"
    assert snapshot() == before


def test_back_after_resuming_opens_the_preview_address_and_finds_the_migration_in_progress(
    client, migration, delivery_partner_user
):
    migration.hold(delivery_partner_user, HOLD_REASON)
    client.force_login(delivery_partner_user)
    data = milestones_data(None, migration)
    typed = {key: value for key, value in data.items() if key != "confirm"}

    sent = client.post(lifecycle_url("resume", migration), typed)
    client.post(lifecycle_url("resume", migration), data, follow=True)
    back = client.get(sent.url, follow=True)

    assert sent.status_code == 302 and "preview=yes" in sent.url
    assert back.redirect_chain == [(detail_url(migration), 302)]
    assert messages_of(back) == ["This migration is in progress."]


def test_resuming_a_migration_in_progress_is_explained(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = client.get(lifecycle_url("resume", migration), follow=True)

    assert response.redirect_chain == [(detail_url(migration), 302)]
    # Only opened, not sent: where it stands, not a refusal.
    assert messages_of(response) == ["This migration is in progress."]


def test_the_hold_page_opened_again_after_holding_says_where_it_stands(client, migration, delivery_partner_user):
    # The browser's Back after putting it on hold opens the hold page again.
    client.force_login(delivery_partner_user)
    client.post(lifecycle_url("hold", migration), {"reason": HOLD_REASON}, follow=True)

    response = client.get(lifecycle_url("hold", migration), follow=True)

    assert response.redirect_chain == [(detail_url(migration), 302)]
    assert messages_of(response) == ["This migration is on hold."]


# --- cancel -----------------------------------------------------------------------------------------------


def test_cancelling_warns_it_is_final_and_needs_a_reason(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)
    before = snapshot()

    form = client.get(lifecycle_url("cancel", migration))
    refused = client.post(lifecycle_url("cancel", migration), {"reason": ""})

    assert "This cannot be undone" in form.content.decode()
    assert refused.status_code == 400
    assert error_summary(refused.content.decode()) == "Enter why the migration is cancelled"
    assert snapshot() == before


def test_cancelling_with_a_reason_makes_the_migration_read_only(client, migration, delivery_partner_user):
    client.force_login(delivery_partner_user)

    response = client.post(lifecycle_url("cancel", migration), {"reason": CANCEL_REASON}, follow=True)

    assert status_of(migration) == Status.CANCELLED
    assert "Migration cancelled. It is read-only from now on." in messages_of(response)
    html = response.content.decode()
    assert f"Cancelled on 10 April 2025 by Dana Partner. Reason: {CANCEL_REASON}" in text(html)
    for hidden in ("Mark as done", "Change milestone dates", "/hold/", "/resume/", "/cancel/", "Sign off<"):
        assert hidden not in html, hidden
    # Nor does it count down to a go-live that will not happen, or place itself in a phase.
    for gone in ("Go-live in", "Current phase", "The checklist is on track"):
        assert gone not in text(html), gone


# --- read-only: finished migrations ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["delivery_partner_user", "support_admin", "admin_user"])
@pytest.mark.parametrize("route", WRITES, ids=str)
def test_nobody_changes_a_cancelled_migration(route, persona, request, client, migration, delivery_partner_user):
    sign_in(client, request, persona)
    target = target_of(route, migration, finisher=delivery_partner_user)
    data = route.data(target, migration)
    migration.cancel(delivery_partner_user, CANCEL_REASON)
    before = snapshot()

    response = send(client, route.method, url_of(route, migration, target.pk), data)

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_nobody_changes_a_completed_migration(route, client, migration, delivery_partner_user, admin_user):
    client.force_login(admin_user)
    target = target_of(route, migration, finisher=delivery_partner_user)
    data = route.data(target, migration)
    if migration.status == Status.ON_HOLD:
        migration.resume(delivery_partner_user)
    completion_gate(migration).sign_off(delivery_partner_user, override_reason=OVERRIDE)
    before = snapshot()

    response = send(client, route.method, url_of(route, migration, target.pk), data)

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["practice_manager", "national_viewer"])
def test_a_finished_migration_can_still_be_read(persona, request, client, migration, delivery_partner_user):
    task = migration.items.get(key="clean-up-current-data")
    migration.cancel(delivery_partner_user, CANCEL_REASON)
    sign_in(client, request, persona)

    pages = [detail_url(migration), item_url("item_detail", task), item_url("item_history", task)]

    assert [client.get(url).status_code for url in pages] == [200, 200, 200]
    assert "Mark as done" not in client.get(pages[1]).content.decode()


def test_reopening_the_completion_gate_returns_a_completed_migration_to_active(client, migration, practice_manager):
    gate = completion_gate(migration)
    gate.sign_off(practice_manager, override_reason=OVERRIDE)
    gate.refresh_from_db()
    client.force_login(practice_manager)

    page = client.get(detail_url(migration)).content.decode()
    response = client.post(item_url("item_reopen", gate), {"revision": gate.revision})

    assert "Completed on 10 April 2025, when Priya Manager signed off that the migration is complete." in text(page)
    assert "Reopen the migration" in page and "Mark as done" not in page
    assert response.status_code == 302
    gate.refresh_from_db()
    assert gate.status == ItemStatus.TO_DO
    assert status_of(migration) == Status.ACTIVE


# The guide gives "migration complete" to the practice: the delivery partner may not sign it either.
@pytest.mark.parametrize("persona", ["practice_staff", "icb_user", "delivery_partner_user"])
def test_only_those_who_may_sign_the_gate_may_reopen_a_completed_migration(
    persona, request, client, migration, practice_manager
):
    gate = completion_gate(migration)
    gate.sign_off(practice_manager, override_reason=OVERRIDE)
    gate.refresh_from_db()
    sign_in(client, request, persona)
    before = snapshot()

    page = client.get(detail_url(migration)).content.decode()
    response = client.post(item_url("item_reopen", gate), {"revision": gate.revision})

    assert "Reopen the migration" not in page
    assert response.status_code == 403
    assert snapshot() == before


def test_signing_the_completion_gate_on_the_page_completes_the_migration(client, migration, practice_manager):
    gate = completion_gate(migration)
    client.force_login(practice_manager)

    response = client.post(item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": OVERRIDE})

    assert response.status_code == 302
    assert status_of(migration) == Status.COMPLETED


def test_signing_the_completion_gate_of_a_migration_on_hold_is_explained(
    client, migration, practice_manager, delivery_partner_user
):
    migration.hold(delivery_partner_user, HOLD_REASON)
    gate = completion_gate(migration)
    client.force_login(practice_manager)
    before = snapshot()

    response = client.post(item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": OVERRIDE})

    assert response.status_code == 400
    assert "This migration is on hold, so it cannot be completed." in response.content.decode()
    assert snapshot() == before


# --- the home page ----------------------------------------------------------------------------------------


def test_a_practice_user_still_lands_on_their_migration_on_hold(
    client, migration, practice_manager, delivery_partner_user
):
    migration.hold(delivery_partner_user, HOLD_REASON)
    client.force_login(practice_manager)

    response = client.get(reverse("migrations:home"))

    assert response.status_code == 302
    assert response.url == detail_url(migration)


def test_the_home_page_lists_migrations_on_hold_with_their_status(
    client, guide_version, migration, practice_manager, delivery_partner_user
):
    other = make_migration(template_version=guide_version)
    MembershipFactory(user=practice_manager, practice=other.practice, role=Role.PRACTICE_MANAGER)
    other.hold(delivery_partner_user, HOLD_REASON)
    client.force_login(practice_manager)

    html = client.get(reverse("migrations:home")).content.decode()

    rows = [text(row) for row in re.findall(r'<tr class="nhsuk-table__row">(.*?)</tr>', html, re.S)][1:]
    statuses = {row.split(" (")[0]: row for row in rows}
    assert "In progress" in statuses[migration.practice.name]
    assert "On hold" in statuses[other.practice.name]
