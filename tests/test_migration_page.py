"""The migration page and its actions, through the browser-facing views: what people see, what a
POST saves (or does not), with and without htmx."""

import re
from datetime import date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils.html import escape

from migrations_app.models import (
    ChecklistItem,
    ChecklistTemplate,
    Condition,
    Event,
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
from tests.factories import (
    GO_LIVE_ON,
    PASSWORD,
    DeliveryPartnerFactory,
    MembershipFactory,
    PracticeFactory,
    UserFactory,
    make_migration,
)

pytestmark = pytest.mark.django_db

# Thursday 10 April 2025, 09:30 in London. With the demo milestones, IDP is on Monday 14 April (4 days
# away) and go-live on Monday 9 June.
TODAY = date(2025, 4, 10)
NOW = datetime(2025, 4, 10, 9, 30, tzinfo=ZoneInfo("Europe/London"))

OVERDUE_KEY = "prepared-for-idp"  # IDP - 7: due 7 April
DUE_SOON_KEY = "extract-provided-to-new-supplier"  # IDP: due 14 April
LATER_KEY = "cutover-period-dates"  # cutover planning: due 8 May
STAFF_TASK_KEY = "clean-up-current-data"  # practice staff's, IDP - 14: due 31 March
GATE_KEY = "data-checking-sign-off"  # the clinical lead's gate, last of the IDP phase

STALE_MESSAGE = "Someone else changed this item"


@pytest.fixture(autouse=True)
def frozen_now(time_machine) -> datetime:
    time_machine.move_to(NOW, tick=False)
    return NOW


# --- helpers ------------------------------------------------------------------------------------------


def detail_url(migration: PracticeMigration) -> str:
    return reverse("migrations:migration_detail", kwargs={"pk": migration.pk})


def item_url(name: str, item: ChecklistItem) -> str:
    return reverse(f"migrations:{name}", kwargs={"pk": item.migration_id, "item_pk": item.pk})


def item(migration: PracticeMigration, key: str) -> ChecklistItem:
    return migration.items.get(key=key)


def htmx_post(client, url: str, data: dict | None = None):
    return client.post(url, data or {}, headers={"HX-Request": "true"})


def element(html: str, element_id: str) -> str:
    """The markup of the element with this id, to its closing tag (for elements that do not nest
    an element of their own kind)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>.*?</\1>', html, re.DOTALL)
    assert match, f"no element with id {element_id!r}"
    return match.group(0)


def error_summary(html: str) -> str:
    match = re.search(r'<ul class="nhsuk-list nhsuk-error-summary__list">(.*?)</ul>', html, re.DOTALL)
    assert match, "no error summary on the page"
    return match.group(1)


def text(markup: str) -> str:
    """Markup as a person reads it: tags dropped, entities decoded, white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def applicable(items) -> int:
    return sum(1 for each in items if each.status != ItemStatus.NOT_APPLICABLE)


def status_events(checklist_item: ChecklistItem) -> list[tuple]:
    return list(
        checklist_item.events.order_by("pk").values_list("kind", "actor__email", "old_value", "new_value", "reason")
    )


# --- landing --------------------------------------------------------------------------------------------


def test_a_practice_user_lands_on_their_migration_after_signing_in(client, migration, practice_manager):
    response = client.post(reverse("login"), {"username": practice_manager.email, "password": PASSWORD}, follow=True)

    assert response.redirect_chain == [(reverse("migrations:home"), 302), (detail_url(migration), 302)]
    assert response.status_code == 200
    assert response.context["migration"] == migration


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
    client.force_login(practice_manager)

    html = client.get(detail_url(migration)).content.decode()

    panel = element(html, "this-week")
    overdue, due_soon = panel.split("Due in the next 7 days")
    assert "Overdue (" in overdue
    assert escape(item(migration, OVERDUE_KEY).title) in overdue
    assert "due 7 April" in overdue
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


# --- mark as done ---------------------------------------------------------------------------------------


def test_mark_as_done_saves_who_and_when_logs_it_and_returns_to_the_item(client, migration, practice_staff):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = client.post(item_url("item_complete", task))

    assert response.status_code == 302
    assert response.url == f"{detail_url(migration)}#item-{task.pk}"
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE
    assert task.completed_by == practice_staff
    assert task.completed_at == NOW
    assert status_events(task) == [("status", practice_staff.email, "to_do", "done", "")]
    page = client.get(response.url).content.decode()
    assert f"Marked as done: {escape(task.title)}" in page


def test_mark_as_done_with_htmx_returns_the_item_and_out_of_band_progress(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    response = htmx_post(client, item_url("item_complete", task))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f'<li class="nhsuk-task-list__item tracker-item" id="item-{task.pk}">' in html
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE
    assert task.completed_by == practice_manager
    phase_items = list(task.phase.items.all())
    phase_progress = element(html, f"phase-{task.phase_id}-progress")
    overall = element(html, "overall-progress")
    this_week = element(html, "this-week")
    for fragment in (phase_progress, overall, this_week):
        assert 'hx-swap-oob="true"' in fragment.split(">", 1)[0]
    open_in_phase = sum(1 for each in phase_items if each.is_open)
    assert text(phase_progress) == f"1 of {applicable(phase_items)} applicable items done, {open_in_phase} open."
    assert f"1 of {applicable(migration.items.all())} applicable items done." in text(overall)
    assert escape(task.title) not in this_week  # no longer overdue
    assert escape(item(migration, DUE_SOON_KEY).title) in this_week
    assert "Marked as done" in element(html, "announcer")


def test_two_people_ticking_the_same_item_both_succeed_and_both_are_logged(
    client, migration, practice_manager, clinical_lead
):
    task = item(migration, OVERDUE_KEY)
    url = item_url("item_complete", task)

    client.force_login(practice_manager)
    first = client.post(url)
    client.force_login(clinical_lead)
    second = client.post(url)

    assert (first.status_code, second.status_code) == (302, 302)
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE
    assert task.completed_by == practice_manager
    assert status_events(task) == [
        ("status", practice_manager.email, "to_do", "done", ""),
        ("status", clinical_lead.email, "done", "done", ""),
    ]


# --- not applicable and blocked need a reason -----------------------------------------------------------

MARKS = [
    pytest.param("item_not_applicable", "not applicable", ItemStatus.NOT_APPLICABLE, id="not applicable"),
    pytest.param("item_blocked", "blocked", ItemStatus.BLOCKED, id="blocked"),
]


@pytest.mark.parametrize("reason", ["", "   "])
@pytest.mark.parametrize(("route", "label", "status"), MARKS)
def test_marking_without_a_reason_shows_the_error_and_saves_nothing(
    route, label, status, reason, client, migration, practice_staff
):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = client.post(item_url(route, task), {"revision": task.revision, "reason": reason})

    html = response.content.decode()
    assert response.status_code == 400
    assert f"Enter a reason why this item is {label}" in error_summary(html)
    assert f'id="reason-{task.pk}-error"' in html
    task.refresh_from_db()
    assert (task.status, task.reason, task.revision) == (ItemStatus.TO_DO, "", 0)
    assert status_events(task) == []


@pytest.mark.parametrize(("route", "label", "status"), MARKS)
def test_marking_without_a_reason_with_htmx_returns_the_item_with_the_error(
    route, label, status, client, migration, practice_staff
):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = htmx_post(client, item_url(route, task), {"revision": task.revision, "reason": ""})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f'id="item-{task.pk}"' in html
    error = re.search(rf'id="reason-{task.pk}-error">(.*?)</span>\s*<textarea', html, re.DOTALL)
    assert error, "no error message next to the reason box"
    assert f"Enter a reason why this item is {label}" in text(error.group(1))
    task.refresh_from_db()
    assert (task.status, task.reason) == (ItemStatus.TO_DO, "")
    assert status_events(task) == []


@pytest.mark.parametrize(("route", "label", "status"), MARKS)
def test_marking_with_a_reason_saves_the_status_and_the_reason(route, label, status, client, migration, practice_staff):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_staff)

    response = client.post(item_url(route, task), {"revision": task.revision, "reason": "  Waiting for the CSU  "})

    assert response.status_code == 302
    assert response.url == f"{detail_url(migration)}#item-{task.pk}"
    task.refresh_from_db()
    assert (task.status, task.reason, task.completed_by) == (status, "Waiting for the CSU", None)
    assert status_events(task) == [("status", practice_staff.email, "to_do", status, "Waiting for the CSU")]
    page = client.get(detail_url(migration)).content.decode()
    assert "Reason: Waiting for the CSU" in page


# --- stale forms ----------------------------------------------------------------------------------------

STALE_ACTIONS = [
    pytest.param("item_not_applicable", {"reason": "Not used here"}, id="not applicable"),
    pytest.param("item_blocked", {"reason": "Waiting"}, id="blocked"),
    pytest.param("item_note", {"note": "My note"}, id="note"),
    pytest.param("item_reopen", {}, id="reopen"),
]


def load_then_someone_else_changes(migration, practice_manager, clinical_lead) -> tuple[ChecklistItem, int]:
    """The item as a page showed it (done, at some revision), then changed by someone else."""
    task = item(migration, OVERDUE_KEY)
    task.complete(practice_manager)
    seen_revision = task.revision
    task.set_note(clinical_lead, "Supplier confirmed by phone", expected_revision=seen_revision)
    return task, seen_revision


def item_state(task: ChecklistItem) -> tuple:
    task.refresh_from_db()
    return (task.status, task.reason, task.note, task.revision, task.completed_by_id, task.events.count())


@pytest.mark.parametrize(("route", "fields"), STALE_ACTIONS)
def test_a_stale_form_says_someone_else_changed_the_item_and_saves_nothing(
    route, fields, client, migration, practice_manager, clinical_lead
):
    task, seen_revision = load_then_someone_else_changes(migration, practice_manager, clinical_lead)
    before = item_state(task)
    client.force_login(practice_manager)

    response = client.post(item_url(route, task), {"revision": seen_revision, **fields})

    assert response.status_code == 400
    assert STALE_MESSAGE in error_summary(response.content.decode())
    assert item_state(task) == before


@pytest.mark.parametrize(("route", "fields"), STALE_ACTIONS)
def test_a_stale_form_sent_with_htmx_says_someone_else_changed_the_item_and_saves_nothing(
    route, fields, client, migration, practice_manager, clinical_lead
):
    task, seen_revision = load_then_someone_else_changes(migration, practice_manager, clinical_lead)
    before = item_state(task)
    client.force_login(practice_manager)

    response = htmx_post(client, item_url(route, task), {"revision": seen_revision, **fields})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="item-{task.pk}"' in html
    assert STALE_MESSAGE in html
    assert item_state(task) == before


def test_the_form_after_a_stale_post_carries_the_new_revision(client, migration, practice_manager, clinical_lead):
    task, seen_revision = load_then_someone_else_changes(migration, practice_manager, clinical_lead)
    client.force_login(practice_manager)
    client.post(item_url("item_reopen", task), {"revision": seen_revision})
    task.refresh_from_db()

    retry = client.post(item_url("item_reopen", task), {"revision": task.revision})

    assert retry.status_code == 302
    task.refresh_from_db()
    assert task.status == ItemStatus.TO_DO


# --- notes and history ----------------------------------------------------------------------------------


def test_a_note_is_saved_shown_and_can_be_edited(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)
    client.force_login(practice_manager)

    added = client.post(item_url("item_note", task), {"revision": task.revision, "note": "Asked the CSU"})
    task.refresh_from_db()
    edited = client.post(item_url("item_note", task), {"revision": task.revision, "note": "CSU booked 11 April"})

    assert (added.status_code, edited.status_code) == (302, 302)
    task.refresh_from_db()
    assert task.note == "CSU booked 11 April"
    page = client.get(detail_url(migration)).content.decode()
    assert "Note: CSU booked 11 April" in page
    assert "Asked the CSU" not in page
    item_page = client.get(item_url("item_detail", task)).content.decode()
    assert "CSU booked 11 April" in item_page


def test_the_history_lists_who_did_what_and_why_newest_first(
    client, time_machine, migration, practice_manager, clinical_lead, practice_staff
):
    task = item(migration, STAFF_TASK_KEY)
    client.force_login(practice_manager)
    client.post(item_url("item_note", task), {"revision": 0, "note": "Started the clean-up"})
    time_machine.shift(timedelta(hours=1))
    client.force_login(clinical_lead)
    client.post(item_url("item_note", task), {"revision": 1, "note": "Half done"})
    time_machine.shift(timedelta(hours=1))
    client.force_login(practice_staff)
    client.post(item_url("item_blocked", task), {"revision": 2, "reason": "Waiting for the supplier's tool"})

    response = client.get(item_url("item_history", task))

    assert response.status_code == 200
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", response.content.decode(), re.DOTALL).group(1)
    rows = [
        [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]
    assert rows == [
        ["10 Apr 2025 11:30", "Sam Staff", "Status changed: To do to Blocked", "Waiting for the supplier's tool"],
        ["10 Apr 2025 10:30", "Dr Chris Lead", "Note changed: Started the clean-up to Half done", ""],
        ["10 Apr 2025 09:30", "Priya Manager", "Note changed: (empty) to Started the clean-up", ""],
    ]


# --- sign-off gates -------------------------------------------------------------------------------------


def test_signing_a_gate_with_earlier_items_open_needs_a_reason_and_saves_nothing_without_one(
    client, migration, clinical_lead
):
    gate = item(migration, GATE_KEY)
    earlier = list(ChecklistItem.objects.open().filter(phase=gate.phase, position__lt=gate.position))
    assert earlier
    client.force_login(clinical_lead)

    response = client.post(item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": ""})

    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert "These earlier items are still open" in summary
    assert escape(earlier[0].title) in summary
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by, gate.override_reason) == (ItemStatus.TO_DO, None, "")
    assert status_events(gate) == []


def test_signing_a_gate_with_an_override_reason_stores_it_and_shows_it_in_the_history(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    client.force_login(clinical_lead)

    response = client.post(
        item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": "Checked at the IDP review"}
    )

    assert response.status_code == 302
    assert response.url == f"{detail_url(migration)}#item-{gate.pk}"
    gate.refresh_from_db()
    assert gate.status == ItemStatus.DONE
    assert gate.completed_by == clinical_lead
    assert gate.completed_at == NOW
    assert gate.override_reason == "Checked at the IDP review"
    assert status_events(gate) == [("sign_off", clinical_lead.email, "to_do", "done", "Checked at the IDP review")]
    history = text(client.get(item_url("item_history", gate)).content.decode())
    assert "Dr Chris Lead Signed off: To do to Done Checked at the IDP review" in history
    item_page = client.get(item_url("item_detail", gate)).content.decode()
    assert "Signed with earlier items open: Checked at the IDP review" in item_page


def test_signing_a_gate_once_earlier_items_are_closed_needs_no_reason(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    for earlier in ChecklistItem.objects.open().filter(phase=gate.phase, position__lt=gate.position):
        earlier.complete(clinical_lead)
    client.force_login(clinical_lead)

    response = client.post(item_url("item_sign_off", gate), {"revision": gate.revision, "override_reason": ""})

    assert response.status_code == 302
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by, gate.override_reason) == (ItemStatus.DONE, clinical_lead, "")


def test_plain_mark_as_done_on_a_gate_does_not_tick_it_but_goes_to_the_sign_off(client, migration, clinical_lead):
    gate = item(migration, GATE_KEY)
    client.force_login(clinical_lead)

    response = client.post(item_url("item_complete", gate))

    assert response.status_code == 302
    assert response.url == item_url("item_detail", gate)
    gate.refresh_from_db()
    assert (gate.status, gate.completed_by) == (ItemStatus.TO_DO, None)
    assert status_events(gate) == []
    sign_off_page = client.get(response.url).content.decode()
    assert 'id="sign-off"' in sign_off_page


# --- milestones -----------------------------------------------------------------------------------------


def date_boxes(html: str, milestone: str) -> tuple[str, str, str]:
    return tuple(
        re.search(rf'name="{milestone}-{part}"[^>]*value="([^"]*)"', html).group(1) for part in ("day", "month", "year")
    )


def milestone_data(migration: PracticeMigration, **changed: tuple[str, str, str]) -> dict:
    """Every milestone's three boxes as the form shows them, with `changed` typed over."""
    data = {"reason": "The supplier moved the go-live"}
    for milestone in Milestone:
        current = getattr(migration, milestone.field_name)
        day, month, year = changed.get(milestone.value) or (str(current.day), str(current.month), str(current.year))
        data |= {f"{milestone.value}-day": day, f"{milestone.value}-month": month, f"{milestone.value}-year": year}
    return data


def schedule(migration: PracticeMigration) -> tuple:
    """The milestones, every due date and the event count: what a milestone change would touch."""
    fresh = PracticeMigration.objects.get(pk=migration.pk)
    return (
        fresh.milestone_dates(),
        dict(migration.items.values_list("pk", "due_on")),
        Event.objects.filter(migration=migration).count(),
    )


def test_the_milestones_form_shows_the_current_dates_in_day_month_and_year_boxes(client, migration, practice_manager):
    client.force_login(practice_manager)

    html = client.get(reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})).content.decode()

    assert date_boxes(html, "go_live") == ("9", "6", "2025")
    assert date_boxes(html, "fdp") == ("6", "6", "2025")
    assert date_boxes(html, "order_accepted") == ("3", "3", "2025")


def test_moving_go_live_shows_a_preview_then_saves_on_confirmation(client, migration, practice_manager):
    url = reverse("migrations:milestones_edit", kwargs={"pk": migration.pk})
    sign_off = item(migration, "go-live-sign-off")
    already_done = item(migration, "registration-links-checked")  # go-live anchored too, but done
    already_done.complete(practice_manager)
    before = schedule(migration)
    client.force_login(practice_manager)
    data = milestone_data(migration, go_live=("16", "6", "2025"))

    preview = client.post(url, data)

    html = preview.content.decode()
    assert preview.status_code == 200
    assert "9 June 2025 to <strong>16 June 2025</strong>" in html
    moved = [text(row) for row in re.findall(r"<tr class=\"nhsuk-table__row\">(.*?)</tr>", html, re.DOTALL)]
    assert f"{sign_off.title} 9 Jun 2025 16 Jun 2025" in moved
    assert not any(row.startswith(already_done.title) for row in moved)
    assert schedule(migration) == before

    saved = client.post(url, data | {"confirm": "yes"})

    assert saved.status_code == 302
    assert saved.url == detail_url(migration)
    migration.refresh_from_db()
    assert migration.go_live_on == date(2025, 6, 16)
    sign_off.refresh_from_db()
    already_done.refresh_from_db()
    assert sign_off.due_on == date(2025, 6, 16)
    assert already_done.due_on == date(2025, 6, 9)
    open_on_go_live = migration.items.filter(anchor=Milestone.GO_LIVE).exclude(
        status__in=[ItemStatus.DONE, ItemStatus.NOT_APPLICABLE]
    )
    assert all(each.due_on == GO_LIVE_ON + timedelta(days=7 + each.offset_days) for each in open_on_go_live)
    events = Event.objects.filter(migration=migration, actor=practice_manager)
    assert list(events.filter(kind=Event.Kind.MILESTONE).values_list("field", "old_value", "new_value", "reason")) == [
        ("go_live_on", "2025-06-09", "2025-06-16", "The supplier moved the go-live")
    ]
    assert events.filter(kind=Event.Kind.REPLAN).count() == open_on_go_live.count()


def test_saving_the_milestones_unchanged_says_so_and_changes_nothing(client, migration, practice_manager):
    before = schedule(migration)
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:milestones_edit", kwargs={"pk": migration.pk}), milestone_data(migration), follow=True
    )

    assert response.redirect_chain == [(detail_url(migration), 302)]
    assert "No dates were changed." in response.content.decode()
    assert schedule(migration) == before


@pytest.mark.parametrize(
    ("go_live", "message"),
    [
        pytest.param(("5", "6", "2025"), "Go-live cannot be before final data production (FDP).", id="before FDP"),
        pytest.param(("31", "2", "2027"), "Go-live must be a real date, for example 27 3 2027", id="no 31 February"),
        pytest.param(("9", "six", "2025"), "Go-live must be a real date, for example 27 3 2027", id="month in words"),
        pytest.param(("9", "6", ""), "Go-live must include a year", id="no year"),
        pytest.param(("", "6", ""), "Go-live must include a day and year", id="month only"),
    ],
)
@pytest.mark.parametrize("confirm", ["", "yes"])
def test_a_wrong_milestone_date_is_explained_and_changes_nothing(
    go_live, message, confirm, client, migration, practice_manager
):
    before = schedule(migration)
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:milestones_edit", kwargs={"pk": migration.pk}),
        milestone_data(migration, go_live=go_live) | {"confirm": confirm},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert message in error_summary(html)
    assert 'id="go_live-error"' in html
    assert date_boxes(html, "go_live") == go_live  # what was typed is kept
    assert schedule(migration) == before


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
    version.publish("For query counts")
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


# Session, user, the user's standing (access.standing_of), the migration, the user's roles on it, its
# items (with who completed them), its phases.
MIGRATION_PAGE_QUERIES = 7
# Session, user, standing, the migration, roles, the item; the change (savepoint, locked re-read, update, the
# migration's done count (ChecklistProgress, read by the dashboard), event, release: in a test the
# request runs inside the test's transaction); then the items and phases again for the out-of-band
# progress and "This week".
ITEM_COMPLETE_HTMX_QUERIES = 14


@pytest.mark.parametrize("size", [10, 100])
def test_the_migration_page_runs_the_same_queries_whatever_the_checklist_size(size, client, django_assert_num_queries):
    migration, manager = migration_of(size)
    assert migration.items.count() == size
    client.force_login(manager)

    with django_assert_num_queries(MIGRATION_PAGE_QUERIES):
        response = client.get(detail_url(migration))

    assert response.status_code == 200
    assert response.content.decode().count('class="nhsuk-task-list__item tracker-item"') == size


@pytest.mark.parametrize("size", [10, 100])
def test_marking_done_with_htmx_runs_the_same_queries_whatever_the_checklist_size(
    size, client, django_assert_num_queries
):
    migration, manager = migration_of(size)
    task = migration.items.filter(kind=ItemKind.TASK, status=ItemStatus.TO_DO).last()
    client.force_login(manager)

    with django_assert_num_queries(ITEM_COMPLETE_HTMX_QUERIES):
        response = htmx_post(client, item_url("item_complete", task))

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == ItemStatus.DONE
