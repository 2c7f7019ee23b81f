"""The dashboard across practices, through the client: who sees which rows, what a row says, the
filters, search, sort and pages (all in the query string), the summary panel, the CSV export, bad
filter values, the planted-marker access test and the pinned query counts."""

import csv
import io
import re
from datetime import date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from migrations_app.dashboard import rows
from migrations_app.dashboard.rag import Rag, assess
from migrations_app.models import ChecklistItem, ChecklistProgress, ItemKind, ItemStatus, PracticeMigration, Role
from migrations_app.models.choices import OPEN_STATUSES
from migrations_app.views import dashboard as dashboard_views
from tests.conftest import with_two_factor_device
from tests.factories import (
    GO_LIVE_ON,
    MILESTONE_DATES,
    DeliveryPartnerFactory,
    ICBFactory,
    MembershipFactory,
    PracticeFactory,
    SupplierFactory,
    UserFactory,
    make_migration,
)

pytestmark = pytest.mark.django_db

# Thursday 10 April 2025, 09:30 in London: the demo migration goes live on Monday 9 June, 60 days on.
TODAY = date(2025, 4, 10)
NOW = datetime(2025, 4, 10, 9, 30, tzinfo=ZoneInfo("Europe/London"))

DASHBOARD_URL = reverse("migrations:dashboard")
CSV_URL = reverse("migrations:dashboard_csv")


@pytest.fixture(autouse=True)
def frozen_now(time_machine) -> datetime:
    time_machine.move_to(NOW, tick=False)
    return NOW


def going_live(on: date | None, *, practice, template_version, source=None, target=None, **fields):
    """A migration whose milestones are the demo's moved to go-live on `on` (None: no dates yet)."""
    if on is None:
        dates = dict.fromkeys(MILESTONE_DATES)
    else:
        dates = {name: day + (on - GO_LIVE_ON) for name, day in MILESTONE_DATES.items()}
    return make_migration(
        practice=practice,
        source_supplier=source,
        target_supplier=target,
        template_version=template_version,
        **(dates | fields),
    )


@pytest.fixture
def world(guide_version, migration, icb, delivery_partner, source_supplier, target_supplier):
    """Four migrations around the demo practice's (Riverside, ICB and delivery partner of the personas):
    Hilltop (same delivery partner, another ICB, going live in 2 weeks, the systems the other way),
    Valley (same ICB, another delivery partner, live 10 days ago), Faraway (neither, no dates)."""
    hilltop = going_live(
        TODAY + timedelta(days=14),
        practice=PracticeFactory(
            name="Hilltop Surgery", ods_code="K81002", icb=ICBFactory(), delivery_partner=delivery_partner
        ),
        source=target_supplier,
        target=source_supplier,
        template_version=guide_version,
    )
    valley = going_live(
        TODAY - timedelta(days=10),
        practice=PracticeFactory(
            name="Valley Health Centre", ods_code="K81003", icb=icb, delivery_partner=DeliveryPartnerFactory()
        ),
        source=source_supplier,
        target=target_supplier,
        template_version=guide_version,
    )
    faraway = going_live(
        None, practice=PracticeFactory(name="Faraway Practice", ods_code="Y01234"), template_version=guide_version
    )
    return {"riverside": migration, "hilltop": hilltop, "valley": valley, "faraway": faraway}


def open_dashboard(client, user, params: dict | None = None, url: str = DASHBOARD_URL):
    client.force_login(user)
    return client.get(url, params or {})


def listed(response) -> list[int]:
    return [row.pk for row in response.context["page"].object_list]


def names(response) -> list[str]:
    return [row.practice_name for row in response.context["page"].object_list]


def csv_rows(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def table_row(html: str, migration: PracticeMigration) -> str:
    match = re.search(rf'<tr class="nhsuk-table__row" id="migration-{migration.pk}">(.*?)</tr>', html, re.S)
    assert match, f"no row for migration {migration.pk}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def error_summary(html: str) -> str:
    match = re.search(r'<div class="nhsuk-error-summary".*?</div>\s*</div>', html, re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split()) if match else ""


# --- landing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["delivery_partner_user", "icb_user", "admin_user"])
def test_delivery_partner_icb_and_staff_users_land_on_the_dashboard(persona, request, client, migration):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("migrations:home"))

    assert response.status_code == 302
    assert response.url == DASHBOARD_URL


def test_a_practice_user_still_lands_on_their_migration(client, migration, practice_manager):
    client.force_login(practice_manager)

    response = client.get(reverse("migrations:home"))

    assert response.url == reverse("migrations:migration_detail", kwargs={"pk": migration.pk})


# --- who sees which rows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("delivery_partner_user", {"riverside", "hilltop"}),
        ("icb_user", {"riverside", "valley"}),
        ("admin_user", {"riverside", "hilltop", "valley", "faraway"}),
        ("practice_manager", {"riverside"}),
        ("outsider", set()),
    ],
)
def test_each_user_gets_one_row_per_migration_they_may_see(persona, expected, request, client, world):
    response = open_dashboard(client, request.getfixturevalue(persona))

    assert response.status_code == 200
    assert sorted(listed(response)) == sorted(world[name].pk for name in expected)
    html = response.content.decode()
    for name, each in world.items():
        assert (f'id="migration-{each.pk}"' in html) == (name in expected)


def test_cancelled_migrations_are_left_out_and_completed_ones_shown_when_asked(client, world, admin_user):
    PracticeMigration.objects.filter(pk=world["faraway"].pk).update(status="cancelled", finished_at=NOW)
    PracticeMigration.objects.filter(pk=world["valley"].pk).update(status="completed", finished_at=NOW)

    in_progress = open_dashboard(client, admin_user)
    completed = client.get(DASHBOARD_URL, {"status": "completed"})
    both = client.get(DASHBOARD_URL, {"status": "all"})

    assert set(listed(in_progress)) == {world["riverside"].pk, world["hilltop"].pk}
    assert listed(completed) == [world["valley"].pk]
    assert set(listed(both)) == {world["riverside"].pk, world["hilltop"].pk, world["valley"].pk}


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
        f"EMIS Web to SystmOne Early phases: decision to migrate to pre-migration tasks 9 Jun 2025 60 {row.percent}%"
        in text
    )
    assert f"{row.percent}% {overdue.count()} 1 {next_item.due_on:%-d %b %Y}: {next_item.title[:40]}" in text
    assert text.endswith(f"{expected_rag.rag.label} {expected_rag.reason}")


def test_counts_read_by_id_or_for_every_migration_are_the_same(
    client, world, admin_user, practice_manager, monkeypatch
):
    # Up to LOOK_UP_IDS_UP_TO rows the next due dates are read for the rows' ids, above it for
    # every migration and the rows' kept: both must give the same rows.
    world["riverside"].items.get(key="agree-go-live-date").complete(practice_manager)
    world["hilltop"].items.get(key="source-supplier-notified").mark_blocked(practice_manager, "Waiting")
    by_id = open_dashboard(client, admin_user, {"status": "all", "sort": "next_due"}).context["page"].object_list

    monkeypatch.setattr(rows, "LOOK_UP_IDS_UP_TO", 0)
    for_every_migration = client.get(DASHBOARD_URL, {"status": "all", "sort": "next_due"}).context["page"].object_list
    only_two = client.get(DASHBOARD_URL, {"search": "Valley"}).context["page"].object_list

    assert len(by_id) == 4
    assert for_every_migration == by_id
    assert [row.practice_name for row in only_two] == ["Valley Health Centre"]


def test_a_row_links_to_the_migration_page_and_its_next_item(client, migration, delivery_partner_user):
    response = open_dashboard(client, delivery_partner_user)

    (row,) = response.context["page"].object_list
    html = response.content.decode()
    assert f'href="{reverse("migrations:migration_detail", kwargs={"pk": migration.pk})}"' in html
    item_url = reverse("migrations:item_detail", kwargs={"pk": migration.pk, "item_pk": row.next_item_pk})
    assert f'href="{item_url}"' in html


def test_a_migration_with_every_item_closed_is_in_no_phase_and_has_nothing_due(client, migration, admin_user):
    migration.items.exclude(status=ItemStatus.NOT_APPLICABLE).update(
        status=ItemStatus.DONE, completed_by=admin_user, completed_at=NOW
    )
    ChecklistProgress.recount([migration.pk])

    response = open_dashboard(client, admin_user)

    (row,) = response.context["page"].object_list
    assert (row.phase_title, row.percent, row.next_due_on, row.rag) == ("All items closed", 100, None, Rag.GREEN)
    assert "Nothing due" in table_row(response.content.decode(), migration)


# --- filters and search -------------------------------------------------------------------------------


def test_filter_by_icb_delivery_partner_and_systems(client, world, admin_user, icb, delivery_partner):
    riverside, hilltop, valley = world["riverside"], world["hilltop"], world["valley"]
    client.force_login(admin_user)
    pair = f"{hilltop.source_supplier_id}-{hilltop.target_supplier_id}"

    by_icb = client.get(DASHBOARD_URL, {"icb": icb.pk})
    by_partner = client.get(DASHBOARD_URL, {"delivery_partner": delivery_partner.pk})
    by_systems = client.get(DASHBOARD_URL, {"suppliers": pair})
    combined = client.get(DASHBOARD_URL, {"icb": icb.pk, "delivery_partner": delivery_partner.pk})

    assert set(listed(by_icb)) == {riverside.pk, valley.pk}
    assert set(listed(by_partner)) == {riverside.pk, hilltop.pk}
    assert listed(by_systems) == [hilltop.pk]
    assert listed(combined) == [riverside.pk]


def test_filter_by_current_phase(client, world, admin_user):
    # Valley is live: close everything before its post go-live phase.
    valley = world["valley"]
    valley.items.exclude(phase__key="post-go-live").exclude(status=ItemStatus.NOT_APPLICABLE).update(
        status=ItemStatus.DONE, completed_by=admin_user, completed_at=NOW
    )
    ChecklistProgress.recount([valley.pk])  # the bulk write went round the item methods
    client.force_login(admin_user)

    post = client.get(DASHBOARD_URL, {"phase": "post-go-live"})
    early = client.get(DASHBOARD_URL, {"phase": "early-phases"})

    assert listed(post) == [valley.pk]
    assert set(listed(early)) == {world["riverside"].pk, world["hilltop"].pk, world["faraway"].pk}


def test_filter_by_rag_status(client, world, admin_user):
    client.force_login(admin_user)
    every = client.get(DASHBOARD_URL).context["page"].object_list
    by_rag = {rag: {row.pk for row in every if row.rag == rag} for rag in Rag}

    red = client.get(DASHBOARD_URL, {"rag": "red"})
    green = client.get(DASHBOARD_URL, {"rag": "green"})
    red_or_green = client.get(DASHBOARD_URL, {"rag": ["red", "green"]})

    assert by_rag[Rag.RED] and by_rag[Rag.GREEN], "the world should have red and green migrations"
    assert set(listed(red)) == by_rag[Rag.RED]
    assert set(listed(green)) == by_rag[Rag.GREEN]
    assert set(listed(red_or_green)) == by_rag[Rag.RED] | by_rag[Rag.GREEN]


@pytest.mark.parametrize(
    ("window", "days_in", "days_out"),
    [
        ("past", [-1, -30], [0, 1]),
        ("next-4-weeks", [0, 27], [-1, 28]),
        ("next-3-months", [0, 90], [-1, 91]),
        ("later", [91, 200], [90, 0]),
    ],
)
def test_go_live_windows_include_their_first_and_last_days(
    window, days_in, days_out, client, guide_version, admin_user
):
    made = {
        days: going_live(TODAY + timedelta(days=days), practice=PracticeFactory(), template_version=guide_version)
        for days in days_in + days_out
    }
    not_agreed = going_live(None, practice=PracticeFactory(), template_version=guide_version)
    client.force_login(admin_user)

    response = client.get(DASHBOARD_URL, {"go_live": window})
    not_agreed_response = client.get(DASHBOARD_URL, {"go_live": "not-agreed"})

    assert set(listed(response)) == {made[days].pk for days in days_in}
    assert listed(not_agreed_response) == [not_agreed.pk]


@pytest.mark.parametrize("search", ["valley", "VALLEY HEALTH", "k81003", "K8100"])
def test_search_by_practice_name_or_ods_code_ignores_case(search, client, world, admin_user):
    response = open_dashboard(client, admin_user, {"search": search})

    expected = {world["valley"].pk} if search != "K8100" else {world["hilltop"].pk, world["valley"].pk}
    assert set(listed(response)) == expected


def test_the_form_shows_the_filters_in_force(client, world, admin_user, icb):
    response = open_dashboard(client, admin_user, {"icb": icb.pk, "rag": "red", "search": "Riv", "sort": "-go_live"})

    html = response.content.decode()
    assert f'<option value="{icb.pk}" selected>{icb.name}</option>' in html
    assert re.search(r'id="id_rag_0" name="rag" type="checkbox" value="red" checked', html)
    assert 'name="search" type="text" spellcheck="false" value="Riv"' in html
    assert '<input type="hidden" name="sort" value="-go_live">' in html


def test_filter_options_list_only_organisations_and_systems_the_user_can_see(
    client, world, delivery_partner_user, delivery_partner
):
    response = open_dashboard(client, delivery_partner_user)

    form = response.context["form"]
    icbs = {value for value, _ in form.fields["icb"].choices if value}
    partners = {value for value, _ in form.fields["delivery_partner"].choices if value}
    assert icbs == {world["riverside"].practice.icb_id, world["hilltop"].practice.icb_id}
    assert partners == {delivery_partner.pk}
    assert [label for value, label in form.fields["suppliers"].choices if value] == [
        "EMIS Web to SystmOne",
        "SystmOne to EMIS Web",
    ]


# --- bad filter values --------------------------------------------------------------------------------

BAD_FILTERS = [
    ({"icb": "abc"}, "Select an ICB from the list"),
    ({"delivery_partner": "12x"}, "Select a delivery partner from the list"),
    ({"suppliers": "1-2-3"}, "Select a pair of systems from the list"),
    ({"phase": "launch"}, "Select a phase from the list"),
    ({"go_live": "soon"}, "Select a go-live window from the list"),
    ({"rag": "purple"}, "Select red, amber or green"),
    ({"status": "cancelled"}, "Select a status from the list"),
    ({"sort": "colour"}, "Sort by one of the table's columns"),
    ({"page": "0"}, "Enter a page number, 1 or more"),
    ({"page": "two"}, "Enter a page number, 1 or more"),
    ({"search": "x" * 101}, "Search for at most 100 characters"),
    ({"search": "Riv\x00"}, "Null characters are not allowed."),
]


@pytest.mark.parametrize(("params", "message"), BAD_FILTERS, ids=lambda value: str(value)[:30])
def test_a_bad_filter_value_is_explained_and_the_other_filters_still_apply(params, message, client, world, admin_user):
    other = {"rag": "red"} if "rag" not in params else {"search": "Hilltop"}

    response = open_dashboard(client, admin_user, params | other)

    assert response.status_code == 400
    assert message in error_summary(response.content.decode())
    expected = open_dashboard(client, admin_user, other)
    assert listed(response) == listed(expected)


def test_links_on_a_page_with_a_bad_filter_leave_the_bad_value_out(client, world, admin_user, icb):
    response = open_dashboard(client, admin_user, {"icb": icb.pk, "go_live": "soon", "sort": "practice"})

    html = unescape(response.content.decode())
    assert response.status_code == 400
    assert f'href="{CSV_URL}?icb={icb.pk}&sort=practice"' in html
    assert "go_live=soon" not in html


def test_an_icb_the_user_cannot_see_is_not_a_choice(client, world, delivery_partner_user):
    valley_only_icb = ICBFactory()
    going_live(
        TODAY, practice=PracticeFactory(icb=valley_only_icb), template_version=world["riverside"].template_version
    )

    response = open_dashboard(client, delivery_partner_user, {"icb": valley_only_icb.pk})

    assert response.status_code == 400
    assert "Select an ICB from the list" in error_summary(response.content.decode())


def test_a_page_past_the_end_shows_the_last_page(client, world, admin_user, monkeypatch):
    monkeypatch.setattr(dashboard_views, "PAGE_SIZE", 3)

    response = open_dashboard(client, admin_user, {"page": "99"})

    assert response.status_code == 200
    assert response.context["page"].number == 2


def test_the_csv_refuses_bad_filters_with_the_messages(client, world, admin_user):
    response = open_dashboard(client, admin_user, {"icb": "abc", "page": "0"}, url=CSV_URL)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Select an ICB from the list" in response.content.decode()


# --- sort ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("practice", ["Faraway Practice", "Hilltop Surgery", "Riverside Medical Centre", "Valley Health Centre"]),
        ("-practice", ["Valley Health Centre", "Riverside Medical Centre", "Hilltop Surgery", "Faraway Practice"]),
        # No go-live date agreed: last either way.
        ("go_live", ["Valley Health Centre", "Hilltop Surgery", "Riverside Medical Centre", "Faraway Practice"]),
        ("-go_live", ["Riverside Medical Centre", "Hilltop Surgery", "Valley Health Centre", "Faraway Practice"]),
        ("ods_code", ["Riverside Medical Centre", "Hilltop Surgery", "Valley Health Centre", "Faraway Practice"]),
    ],
)
def test_sort_by_a_column_either_way(sort, expected, client, world, admin_user):
    response = open_dashboard(client, admin_user, {"sort": sort})

    assert names(response) == expected


@pytest.mark.parametrize("key", sorted(rows.SORTABLE))
def test_every_sortable_column_sorts_both_ways(key, client, world, admin_user):
    ascending = open_dashboard(client, admin_user, {"sort": key})
    descending = client.get(DASHBOARD_URL, {"sort": f"-{key}"})

    sort_key = rows.SORTABLE[key].sort_key
    values = [sort_key(row) for row in ascending.context["page"].object_list]
    present = [value for value in values if value is not None]
    assert present == sorted(present)
    assert values[len(present) :] == [None] * (len(values) - len(present))
    values = [sort_key(row) for row in descending.context["page"].object_list]
    present = [value for value in values if value is not None]
    assert present == sorted(present, reverse=True)


def test_the_default_order_puts_red_first(client, world, admin_user):
    response = open_dashboard(client, admin_user)

    ranks = [row.rag.rank for row in response.context["page"].object_list]
    assert ranks == sorted(ranks)


def test_column_headings_say_how_the_table_is_sorted_and_link_to_the_other_way(client, world, admin_user, icb):
    response = open_dashboard(client, admin_user, {"sort": "overdue", "icb": icb.pk, "page": "1"})

    html = response.content.decode()
    heading = re.search(
        r'<th scope="col"[^>]*aria-sort="ascending">\s*<a class="tracker-sort" href="([^"]+)">Overdue', html
    )
    assert heading, "the Overdue heading should say it sorts ascending"
    link = unescape(heading.group(1))
    assert f"icb={icb.pk}" in link and "sort=-overdue" in link and "page=" not in link
    assert html.count("aria-sort=") == 1


# --- pages --------------------------------------------------------------------------------------------


def test_pages_keep_the_filters_and_sort_in_their_links(client, world, admin_user, monkeypatch):
    monkeypatch.setattr(dashboard_views, "PAGE_SIZE", 2)

    first = open_dashboard(client, admin_user, {"sort": "practice", "status": "all"})
    second = client.get(DASHBOARD_URL, {"sort": "practice", "status": "all", "page": "2"})

    assert names(first) == ["Faraway Practice", "Hilltop Surgery"]
    assert names(second) == ["Riverside Medical Centre", "Valley Health Centre"]
    html = unescape(first.content.decode())
    assert 'href="?sort=practice&status=all&page=2" aria-label="Page 2"' in html
    assert 'href="?sort=practice&status=all&page=2" class="nhsuk-pagination__next"' in html
    assert "Showing 1 to 2 of 4 migrations" in html


# --- the summary panel --------------------------------------------------------------------------------


def test_the_summary_counts_by_rag_and_phase_and_lists_the_go_lives_in_the_next_4_weeks(client, world, admin_user):
    response = open_dashboard(client, admin_user)

    summary = response.context["summary"]
    every = response.context["page"].object_list
    assert summary.total == 4
    assert dict(summary.by_rag) == {rag: sum(1 for row in every if row.rag == rag) for rag in Rag}
    phases = {phase.title: phase.count for phase in summary.phases}
    assert sum(phases.values()) == 4
    assert phases["Early phases: decision to migrate to pre-migration tasks"] == sum(
        1 for row in every if row.phase_key == "early-phases"
    )
    assert [row.pk for row in summary.soon] == [world["hilltop"].pk]
    html = unescape(response.content.decode())
    assert "Going live in the next 4 weeks: 1" in html
    assert "24 Apr: " in html and "Hilltop Surgery</a> (K81002)" in html


def test_the_chart_counts_migrations_by_go_live_month_and_phase_with_a_table(client, world, admin_user):
    response = open_dashboard(client, admin_user)

    months = {month.label: month.total for month in response.context["summary"].months}
    assert months == {"March 2025": 1, "April 2025": 1, "June 2025": 1, "Go-live not agreed": 1}
    html = response.content.decode()
    assert '<th scope="col" class="nhsuk-table__header">Go-live month</th>' in html
    assert "<svg" in html and "style=" not in html  # the chart is SVG, styled by class (the CSP forbids inline style)


def test_cutover_length_by_supplier_pair_counts_live_migrations_only(client, guide_version, admin_user):
    emis, tpp, vision = (SupplierFactory(system_name=name) for name in ("EMIS Web", "SystmOne", "Vision"))
    for days_ago, fdp_before, source, target in [
        (10, 3, emis, tpp),
        (20, 7, emis, tpp),
        (30, 4, emis, tpp),
        (5, 14, vision, tpp),
        (-5, 3, emis, tpp),  # not live yet: left out
    ]:
        go_live_on = TODAY - timedelta(days=days_ago)
        going_live(
            go_live_on,
            practice=PracticeFactory(),
            source=source,
            target=target,
            template_version=guide_version,
            fdp_on=go_live_on - timedelta(days=fdp_before),
        )

    response = open_dashboard(client, admin_user)

    figures = [(c.suppliers, c.count, c.median_days, c.longest_days) for c in response.context["summary"].cutovers]
    assert figures == [
        ("EMIS Web to SystmOne", 3, 4, 7),
        ("Vision to SystmOne", 1, 14, 14),
        ("All supplier pairs", 4, 5.5, 14),
    ]
    assert "5.5" in response.content.decode()


# --- CSV ----------------------------------------------------------------------------------------------


def test_the_csv_has_the_tables_columns_and_every_row_of_the_filtered_sorted_view(
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
    assert header == [column.heading for column in rows.COLUMNS] == table_headings
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
        f"{row.next_due_on.isoformat()} {row.next_item_title}",
        row.rag.label,
    ]


def test_the_csv_follows_the_filters(client, world, admin_user, icb):
    response = open_dashboard(client, admin_user, {"icb": icb.pk}, url=CSV_URL)

    assert sorted(line[0] for line in csv_rows(response)[1:]) == ["Riverside Medical Centre", "Valley Health Centre"]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(client, guide_version, admin_user):
    going_live(TODAY, practice=PracticeFactory(name='=HYPERLINK("http://x")'), template_version=guide_version)

    response = open_dashboard(client, admin_user, url=CSV_URL)

    assert csv_rows(response)[1][0] == '\'=HYPERLINK("http://x")'


def test_the_csv_of_many_rows_is_sent_in_chunks(client, guide_version, admin_user, monkeypatch):
    monkeypatch.setattr("migrations_app.dashboard.export.CHUNK", 2)
    for _ in range(5):
        going_live(TODAY + timedelta(days=30), practice=PracticeFactory(), template_version=guide_version)

    response = open_dashboard(client, admin_user, url=CSV_URL)

    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 3  # the header, then 2 + 2 + 1 rows
    lines = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert all(line[10] for line in lines[1:]), "every row has its next item, whichever chunk it is in"


# --- access: a planted marker appears nowhere ---------------------------------------------------------

MARKER = "Zqxmarker"


def pages_to_check(marked: PracticeMigration, same_icb: PracticeMigration) -> list[tuple[str, dict]]:
    """Every view of the dashboard, including filters aimed straight at the marked migration."""
    views = [
        {},
        {"status": "all"},
        {"status": "completed"},
        {"search": MARKER[1:-1]},  # part of the name, so that the search box echoing it is no leak
        {"search": marked.practice.ods_code},
        {"icb": marked.practice.icb_id},
        {"delivery_partner": marked.practice.delivery_partner_id},
        {"suppliers": f"{marked.source_supplier_id}-{marked.target_supplier_id}"},
        {"phase": "closed"},
        {"page": "2"},
        *({"rag": rag.value} for rag in Rag),
        *({"go_live": window} for window in [*rows.GO_LIVE_WINDOWS, rows.GO_LIVE_NOT_AGREED]),
        *({"sort": sort} for key in rows.SORTABLE for sort in (key, f"-{key}")),
    ]
    return (
        [(DASHBOARD_URL, params) for params in views]
        + [(CSV_URL, params) for params in views]
        + [(reverse("migrations:rag_help"), {}), (reverse("migrations:home"), {})]
    )


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8-sig")


def test_another_organisations_practice_appears_in_no_page_option_chart_or_csv(
    client, guide_version, world, delivery_partner_user, icb_user, admin_user, icb
):
    # Another ICB and delivery partner, their own systems, a practice that has gone live (so it
    # would count in the cutover figures) and one with no dates (its own chart row).
    other_icb = ICBFactory(name=f"{MARKER} Integrated Care Board")
    other_partner = DeliveryPartnerFactory(name=f"{MARKER} Support Unit")
    marked = going_live(
        TODAY - timedelta(days=5),
        practice=PracticeFactory(name=f"{MARKER} Surgery", icb=other_icb, delivery_partner=other_partner),
        source=SupplierFactory(name=f"{MARKER} Health", system_name=f"{MARKER} Web"),
        target=SupplierFactory(name=f"{MARKER} Systems", system_name=f"{MARKER} One"),
        template_version=guide_version,
    )
    going_live(
        None,
        practice=PracticeFactory(name=f"{MARKER} Lane Surgery", icb=other_icb, delivery_partner=other_partner),
        template_version=guide_version,
    )
    # In the ICB user's ICB but with another delivery partner: the delivery partner must not see it.
    same_icb = going_live(
        TODAY + timedelta(days=3),
        practice=PracticeFactory(name="Samezqx Surgery", icb=icb, delivery_partner=DeliveryPartnerFactory()),
        template_version=guide_version,
    )
    # A second delivery-partner user, of the marked organisation, who can see it.
    marked_partner_user = with_two_factor_device(UserFactory())
    MembershipFactory(
        user=marked_partner_user, role=Role.DELIVERY_PARTNER, practice=None, delivery_partner=other_partner
    )

    checks = {delivery_partner_user: [MARKER, "Samezqx"], icb_user: [MARKER]}
    leaks = []
    for user, markers in checks.items():
        client.force_login(user)
        for url, params in pages_to_check(marked, same_icb):
            content = body(client.get(url, params)).lower()
            leaks += [f"{user.email} {url} {params}: {marker}" for marker in markers if marker.lower() in content]
    assert not leaks, "\n".join(leaks)

    # The test can fail: staff, and the marked organisation's own user, do see the marker everywhere.
    for user in (admin_user, marked_partner_user):
        client.force_login(user)
        page = body(client.get(DASHBOARD_URL, {"status": "all"}))
        assert f"{MARKER} Surgery" in page and f"{MARKER} Web to {MARKER} One" in page
        assert f'<option value="{other_icb.pk}">{MARKER} Integrated Care Board</option>' in page
        assert f"{MARKER} Surgery" in body(client.get(CSV_URL))


# --- query counts -------------------------------------------------------------------------------------

# Session, user, the user's two-factor device, the user's standing (access.standing_of: permissions
# to read every migration, delivery-partner membership); the facets (ICBs, delivery partners, systems) and the
# checklist phases for the filters; the rows; their overdue counts; their items done ahead of plan;
# the next due dates (of the page's rows, or of every row when sorted by them) and the items due
# on them for the page's rows.
DASHBOARD_QUERIES = 11
# The same, with every row's next due date, and the items due on them once per chunk of 500 rows.
CSV_QUERIES = 11


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
