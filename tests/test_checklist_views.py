"""The migration page's focus: the views of the checklist (`?show=`), collapsed phases, each seed
question shown once, the grouped "This week" panel and due rules in words. The query count of
every view is pinned in test_migration_page.py; the browser's side is in
browser/test_checklist_views_in_browser.py."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from migrations_app import access, checklist, scheduling
from migrations_app.models import ItemStatus, Milestone, Role
from tests.conftest import TODAY
from tests.pages import DUE_SOON_KEY, OVERDUE_KEY, detail_url, element, item, item_url, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

# Session, user, standing (with the user's roles), the migration, its items, its phases: the
# checklist alone, without the rest of the page (the People section).
CHECKLIST_VIEW_HTMX_QUERIES = 6


def open_page(client, user, migration, view: str | None = None, **headers):
    client.force_login(user)
    response = client.get(detail_url(migration), {"show": view} if view else {}, headers=headers)
    assert response.status_code == 200
    return response


def items_in(markup: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<li class="nhsuk-task-list__item tracker-item" id="item-(\d+)"', markup)}


def rendered(response) -> set[int]:
    """The items of the view: on the page, or loaded (as htmx would) when a collapsed phase opens."""
    shown = items_in(html(response))
    for phase_pk, url in collapsed_phases(response):
        loaded = response.client.get(url.replace("&amp;", "&"), headers=phase_headers(phase_pk))
        assert loaded.status_code == 200
        shown |= items_in(loaded.content.decode())
    return shown


def collapsed_phases(response) -> list[tuple[str, str]]:
    """(phase id, address) of each collapsed phase whose items load when it opens."""
    return re.findall(r'id="phase-(\d+)-items" hx-get="([^"]+)"', html(response))


def phase_headers(phase_pk) -> dict:
    return {"HX-Request": "true", "HX-Target": f"phase-{phase_pk}-items"}


def html(response) -> str:
    return response.content.decode()


def phase_section(response, phase) -> str:
    match = re.search(
        rf'<section class="tracker-phase" aria-labelledby="phase-{phase.pk}-heading">(.*?)</section>',
        html(response),
        re.DOTALL,
    )
    assert match, f"no section for phase {phase}"
    return match.group(1)


def mark_done(items, by) -> None:
    """Close items in bulk, as done by `by` (the page reads the items, not the kept counts)."""
    items.update(status=ItemStatus.DONE, completed_by=by, completed_at=timezone.now())


def open_items(migration):
    return [each for each in migration.items.all() if each.is_open]


# --- the views ------------------------------------------------------------------------------------------


def test_a_practice_user_starts_on_the_open_items(client, migration, practice_manager):
    done = item(migration, OVERDUE_KEY)
    done.complete(practice_manager)

    response = open_page(client, practice_manager, migration)

    assert response.context["checklist"].view == "open"
    assert rendered(response) == {each.pk for each in open_items(migration)}
    assert done.pk not in rendered(response)
    assert 'aria-current="page">Open <span class="tracker-views__count" id="view-open-count">' in html(response)


def test_an_unknown_view_shows_the_open_items(client, migration, practice_manager):
    response = open_page(client, practice_manager, migration, "everything")

    assert response.context["checklist"].view == "open"


def test_the_all_view_shows_every_item_closed_or_not(client, migration, practice_manager):
    item(migration, OVERDUE_KEY).complete(practice_manager)

    response = open_page(client, practice_manager, migration, "all")

    assert rendered(response) == set(migration.items.values_list("pk", flat=True))


def test_the_overdue_view_shows_only_the_open_items_past_their_due_date(client, migration, practice_manager):
    item(migration, OVERDUE_KEY).complete(practice_manager)

    response = open_page(client, practice_manager, migration, "overdue")

    expected = {each.pk for each in open_items(migration) if each.due_on < TODAY}
    assert expected and rendered(response) == expected
    assert item(migration, OVERDUE_KEY).pk not in expected


def test_the_next_30_days_view_shows_open_items_due_from_today_to_30_days_ahead(client, migration, practice_manager):
    response = open_page(client, practice_manager, migration, "next-30-days")

    window = (TODAY, TODAY + timedelta(days=30))
    expected = {each.pk for each in open_items(migration) if window[0] <= each.due_on <= window[1]}
    assert expected and rendered(response) == expected
    assert item(migration, DUE_SOON_KEY).pk in expected


def test_my_items_are_the_open_items_owned_by_me_or_unowned_in_my_role(
    client, migration, practice_manager, practice_staff
):
    given_to_staff = item(migration, OVERDUE_KEY)  # the practice manager's role
    given_to_staff.assign_owner(practice_manager, practice_staff, memberships=access.owner_memberships(given_to_staff))

    response = open_page(client, practice_staff, migration, "mine")

    _, staff_access = access.get_migration(practice_staff, migration.pk)
    expected = {each.pk for each in open_items(migration) if staff_access.holds(each)}
    assert given_to_staff.pk in expected
    assert rendered(response) == expected
    unowned_staff_items = migration.items.filter(owner=None, responsible_role=Role.PRACTICE_STAFF)
    assert {each.pk for each in unowned_staff_items if each.is_open} <= expected
    assert item(migration, DUE_SOON_KEY).pk not in expected  # the practice manager's


@pytest.mark.parametrize("persona", ["national_viewer", "support_admin"])
def test_someone_with_no_role_at_the_practice_is_not_offered_my_items(client, migration, persona, request):
    # A national viewer or support admin holds no role at the practice, so no item is theirs.
    user = request.getfixturevalue(persona)

    response = open_page(client, user, migration, "mine")

    nav = element(html(response), "checklist")
    assert "My items" not in text(nav)
    assert "?show=mine" not in nav
    assert re.search(r'aria-current="page">Open ', nav)  # the default view instead
    assert rendered(response) == {each.pk for each in open_items(migration)}


def test_a_later_phase_with_none_of_my_items_says_so_rather_than_offering_to_show_none(client, migration, icb_user):
    response = open_page(client, icb_user, migration, "mine")

    page = html(response)
    assert "Show 0" not in text(page)
    _, icb_access = access.get_migration(icb_user, migration.pk)
    mine_by_phase = {phase.pk: 0 for phase in migration.phases.all()}
    for each in open_items(migration):
        mine_by_phase[each.phase_id] += icb_access.holds(each)
    empty = [pk for pk, count in mine_by_phase.items() if not count]
    assert empty
    for phase_pk in empty:
        section = phase_section(response, migration.phases.get(pk=phase_pk))
        assert "None of the open items is yours in this phase." in text(section)
        assert "<details" not in section


def test_a_view_with_nothing_in_it_says_so(client, migration, practice_manager):
    mark_done(migration.items.filter(due_on__lt=TODAY), practice_manager)

    response = open_page(client, practice_manager, migration, "overdue")

    assert "No overdue items." in text(html(response))
    assert rendered(response) == set()


def test_each_view_link_is_a_plain_link_that_htmx_follows_in_place(client, migration, practice_manager):
    response = open_page(client, practice_manager, migration, "overdue")

    nav = element(html(response), "checklist")
    for key in checklist.VIEWS:
        url = f"{detail_url(migration)}?show={key}"
        assert f'href="{url}" hx-get="{url}"' in nav
    assert re.search(
        r'aria-current="page">Overdue <span class="tracker-views__count" id="view-overdue-count">\(\d+\)', nav
    )
    assert nav.count('aria-current="page"') == 1
    assert 'hx-target="#checklist"' in nav and 'hx-push-url="true"' in nav


def test_htmx_gets_the_checklist_alone_in_the_chosen_view(
    client, migration, practice_manager, django_assert_num_queries
):
    client.force_login(practice_manager)

    with django_assert_num_queries(CHECKLIST_VIEW_HTMX_QUERIES):
        response = client.get(
            detail_url(migration), {"show": "overdue"}, headers={"HX-Request": "true", "HX-Target": "checklist"}
        )

    body = html(response)
    assert body.lstrip().startswith('<div id="checklist"')
    assert "<html" not in body and "This week" not in body
    assert 'aria-current="page" autofocus>Overdue' in body
    assert 'id="announcer" class="nhsuk-u-visually-hidden" role="status" hx-swap-oob="true">Overdue: ' in body
    assert {"HX-Request", "HX-Target"} <= {part.strip() for part in response["Vary"].split(",")}


# --- collapsed phases -----------------------------------------------------------------------------------


def test_a_finished_phase_shows_its_progress_in_every_view_and_its_closed_items_only_in_all_and_closed(
    client, migration, practice_manager
):
    first = migration.phases.order_by("position").first()
    mark_done(migration.items.filter(phase=first).exclude(status=ItemStatus.NOT_APPLICABLE), practice_manager)
    done = migration.items.filter(phase=first, status=ItemStatus.DONE).count()
    an_item = f'id="item-{migration.items.filter(phase=first).first().pk}"'

    collapsed = phase_section(open_page(client, practice_manager, migration, "all"), first)
    before, details = collapsed.split('<details class="nhsuk-details tracker-phase__details">')
    assert f"{done} of {done} applicable items done." in text(before)
    assert f"Show the {migration.items.filter(phase=first).count()} closed items" in text(details)
    for view in set(checklist.VIEWS) - {"closed", "all"}:
        section = phase_section(open_page(client, practice_manager, migration, view), first)
        assert f"{done} of {done} applicable items done." in text(section), view
        assert "Every item in this phase is done or not applicable: see them in the Closed view" in text(section)
        assert f"?show=closed#phase-{first.pk}-heading" in section
        assert "<details" not in section and an_item not in section, view


def test_the_closed_view_shows_the_done_and_not_applicable_items_to_reopen_from_every_phase(
    client, migration, practice_manager
):
    first = migration.phases.order_by("position").first()
    mark_done(migration.items.filter(phase=first).exclude(status=ItemStatus.NOT_APPLICABLE), practice_manager)
    later = migration.items.exclude(phase=first).filter(status=ItemStatus.TO_DO).first()
    mark_done(migration.items.filter(pk=later.pk), practice_manager)
    closed = migration.items.exclude(status__in=[ItemStatus.TO_DO, ItemStatus.BLOCKED])

    built = open_page(client, practice_manager, migration, "closed").context["checklist"]

    shown = {each.pk for phase in built.phases for group in phase.shown for each in group.items}
    assert shown == set(closed.values_list("pk", flat=True))
    assert not built.phases[0].collapsed  # finished, and open in this view to reopen from
    assert ("closed", closed.count()) in {(view.key, view.count) for view in built.views}


def test_the_open_view_collapses_later_phases_with_nothing_due_in_the_next_30_days(client, migration, practice_manager):
    built = open_page(client, practice_manager, migration).context["checklist"]

    last = built.phases[-1]
    assert all(each.due_on > TODAY + timedelta(days=30) for group in last.shown for each in group.items)
    assert last.collapsed
    assert not built.current_phase.collapsed
    assert not open_page(client, practice_manager, migration, "all").context["checklist"].phases[-1].collapsed


def test_a_collapsed_phase_loads_its_items_when_opened_and_is_one_link_away_without_javascript(
    client, migration, practice_manager
):
    response = open_page(client, practice_manager, migration)
    last = response.context["checklist"].phases[-1]
    expected = {each.pk for group in last.shown for each in group.items}

    section = phase_section(response, last.phase)
    url = f"{detail_url(migration)}?show=open&phase={last.phase.pk}"
    loaded = client.get(url, headers=phase_headers(last.phase.pk))
    without_javascript = client.get(url)

    assert last.collapsed and expected
    assert items_in(section) == set()
    assert f'href="{url.replace("&", "&amp;")}#phase-{last.phase.pk}-heading">Show these items' in section
    assert items_in(loaded.content.decode()) == expected
    assert "<html" not in loaded.content.decode()
    expanded = without_javascript.context["checklist"].phases[-1]
    assert not expanded.collapsed
    assert expected <= items_in(phase_section(without_javascript, last.phase))


def test_a_phase_asked_for_by_something_else_than_a_phase_id_changes_nothing(client, migration, practice_manager):
    client.force_login(practice_manager)
    for value in ["x", "-1", "99999999999999999999999", "0", "²", "١٢"]:
        response = client.get(detail_url(migration), {"phase": value}, headers=phase_headers(value))

        assert response.status_code == 200
        assert "<html" in response.content.decode()
        assert response.context["checklist"].expand in (None, 0)


# --- each seed question once ----------------------------------------------------------------------------


def test_each_seed_question_is_shown_once_leading_its_group(client, migration, practice_manager):
    response = open_page(client, practice_manager, migration, "all")

    groups = [group for phase in response.context["checklist"].phases for group in phase.shown if group.question]
    assert len(groups) > 10
    for group in groups:
        assert f'<h3 class="nhsuk-heading-s tracker-group">{escape(group.title)}</h3>' not in html(response)
        assert f'role="group" aria-labelledby="item-{group.question.pk}-title"' in html(response)


def test_a_group_whose_question_the_view_leaves_out_is_headed_by_the_question(client, migration, practice_manager):
    question = item(migration, OVERDUE_KEY)  # "Have you prepared for the Initial data production?"
    assert migration.items.filter(group=question.title).count() > 1
    question.complete(practice_manager)

    response = open_page(client, practice_manager, migration)

    assert html(response).count(f'<h3 class="nhsuk-heading-s tracker-group">{escape(question.title)}</h3>') == 1


# --- "This week" ----------------------------------------------------------------------------------------


def test_this_week_lists_the_five_most_overdue_then_counts_by_phase_and_links_to_the_overdue_view(
    client, migration, practice_manager
):
    response = open_page(client, practice_manager, migration)

    built = response.context["checklist"]
    panel = element(html(response), "this-week")
    overdue_part, due_soon_part = panel.split("Due in the next 7 days")
    overdue = sorted(
        (each for each in open_items(migration) if each.due_on < TODAY),
        key=lambda each: (each.due_on, each.phase.position, each.position),
    )
    assert len(overdue) > checklist.MOST_OVERDUE
    linked = re.findall(r'\?show=overdue#item-(\d+)"', overdue_part)
    assert [int(pk) for pk in linked] == [each.pk for each in overdue[:5]]
    for phase, count in built.overdue_by_phase:
        assert f"{escape(phase.phase.title)}</a>: {count} overdue" in overdue_part
    assert sum(count for _, count in built.overdue_by_phase) == len(overdue)
    assert f'?show=overdue#checklist">See all {len(overdue)} overdue items</a>' in overdue_part
    assert f"?show=next-30-days#item-{item(migration, DUE_SOON_KEY).pk}" in due_soon_part


def test_this_week_lists_every_overdue_item_when_there_are_five_or_fewer(client, migration, practice_manager):
    overdue = list(migration.items.filter(due_on__lt=TODAY).order_by("due_on", "phase__position", "position"))
    mark_done(migration.items.filter(pk__in=[each.pk for each in overdue[3:]]), practice_manager)

    panel = element(html(open_page(client, practice_manager, migration)), "this-week")

    assert "Overdue (3)" in text(panel)
    assert "See all" not in panel and "Overdue by phase" not in panel


# --- due rules in words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "offset_days", "words"),
    [
        (Milestone.GO_LIVE, 0, "On go-live"),
        (Milestone.GO_LIVE, 3, "3 days after go-live"),
        (Milestone.GO_LIVE, 1, "1 day after go-live"),
        (Milestone.IDP, -7, "1 week before initial data production (IDP)"),
        (Milestone.FDP, -35, "5 weeks before final data production (FDP)"),
        (Milestone.KICK_OFF, 14, "2 weeks after kick-off"),
        (Milestone.FDP, -9, "9 days before final data production (FDP)"),
    ],
)
def test_a_due_rule_reads_in_words(anchor, offset_days, words):
    assert scheduling.due_rule(anchor, offset_days) == words


def test_the_item_page_says_when_the_item_falls_due_in_words(client, migration, practice_manager):
    task = item(migration, OVERDUE_KEY)  # IDP - 7
    client.force_login(practice_manager)

    page = text(client.get(item_url("item_detail", task)).content.decode())

    assert task.due_rule == "1 week before initial data production (IDP)"
    assert "Due 7 April 2025 1 week before initial data production (IDP)" in page
    assert "days from" not in page


@pytest.mark.parametrize(
    ("came_from", "back_to"), [("?show=overdue", "?show=overdue"), ("?show=nonsense", ""), ("", "")]
)
def test_an_action_without_javascript_returns_to_the_view_it_was_sent_from(
    client, migration, practice_manager, came_from, back_to
):
    task = migration.items.filter(kind="task", status=ItemStatus.TO_DO).first()
    client.force_login(practice_manager)

    response = client.post(
        item_url("item_complete", task), headers={"referer": f"http://testserver{detail_url(migration)}{came_from}"}
    )

    assert response.status_code == 302
    # Done, the item is in none of these views: the page opens at its phase.
    assert response.url == f"{detail_url(migration)}{back_to}#phase-{task.phase_id}-heading"
    assert migration.items.get(pk=task.pk).status == ItemStatus.DONE
    # The confirmation is at the phase, where the page opens, and not at the top as well.
    page = client.get(response.url).content.decode()
    phase = re.search(rf'<section [^>]*aria-labelledby="phase-{task.phase_id}-heading".*?</section>', page, re.DOTALL)
    assert f"Marked as done: {escape(task.title)}" in phase.group(0)
    assert page.count(f"Marked as done: {escape(task.title)}") == 1


@pytest.mark.parametrize(("view", "shown"), [("all", True), ("open", False), ("overdue", False)])
def test_an_item_done_without_javascript_opens_the_page_at_it_while_the_view_still_shows_it(
    client, migration, practice_manager, view, shown
):
    task = migration.items.filter(kind="task", status=ItemStatus.TO_DO).first()
    client.force_login(practice_manager)
    referer = {"referer": f"http://testserver{detail_url(migration)}?show={view}"}

    done = client.post(item_url("item_complete", task), headers=referer)
    reopened = client.post(item_url("item_reopen", task), {"revision": task.revision + 1}, headers=referer)

    # At its row with its phase expanded, or at its phase.
    at_item, at_phase = f"&phase={task.phase_id}#item-{task.pk}", f"#phase-{task.phase_id}-heading"
    assert done.url == f"{detail_url(migration)}?show={view}" + (at_item if shown else at_phase)
    # Open again, it is back in the Open and All views, and in Overdue while it is overdue.
    overdue = task.due_on < timezone.localdate()
    assert reopened.url.endswith(at_item if view in ("all", "open") or overdue else at_phase)
    assert migration.items.get(pk=task.pk).status == ItemStatus.TO_DO


def test_a_later_phase_collapsed_in_my_items_counts_the_viewers_own_items(client, migration, practice_manager):
    built = open_page(client, practice_manager, migration, "mine").context["checklist"]
    last = built.phases[-1]
    assert last.collapsed and last.shown_count

    section = phase_section(open_page(client, practice_manager, migration, "mine"), last.phase)

    items = "item" if last.shown_count == 1 else "items"
    assert f"Show your {last.shown_count} open {items}, none due in the next 30 days" in text(section)


@pytest.mark.parametrize(("view", "whose"), [("open", ""), ("mine", "your ")])
def test_an_item_ticked_in_a_collapsed_phase_updates_what_its_link_counts(
    client, migration, practice_manager, view, whose
):
    built = open_page(client, practice_manager, migration, view).context["checklist"]
    last = built.phases[-1]
    assert last.collapsed and last.shown_count > 1
    task = next(each for group in last.shown for each in group.items if each.kind == "task")
    page_address = f"http://testserver{detail_url(migration)}?show={view}&phase={last.phase.pk}"

    answer = client.post(
        item_url("item_complete", task), headers={"HX-Request": "true", "HX-Current-URL": page_address}
    ).content.decode()

    summary = element(answer, f"phase-{last.phase.pk}-summary")
    assert 'hx-swap-oob="true"' in summary
    count = last.shown_count - 1
    items = "item" if count == 1 else "items"
    assert f"Show {whose}{count} open {items}, none due in the next 30 days" in text(summary)


def test_a_collapsed_phases_link_in_another_view_counts_all_it_shows(client, migration, practice_manager):
    first = open_page(client, practice_manager, migration, "all").context["checklist"].phases[0]
    task = next(each for group in first.groups for each in group.items if each.kind == "task")
    page_address = f"http://testserver{detail_url(migration)}?show=all"

    answer = client.post(
        item_url("item_complete", task), headers={"HX-Request": "true", "HX-Current-URL": page_address}
    ).content.decode()

    count = migration.items.filter(phase=first.phase).count()
    assert f"Show the {count} items" in text(element(answer, f"phase-{first.phase.pk}-summary"))
