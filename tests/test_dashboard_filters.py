"""The dashboard's filters, search, sort and pages, all in the query string, through the client;
a bad filter value is explained and the other filters still apply. Today is tests.conftest.TODAY,
when the demo migration goes live in 60 days."""

import re
from datetime import timedelta
from html import unescape

import pytest

from migrations_app.dashboard import rows
from migrations_app.dashboard.rag import Rag
from migrations_app.models import PracticeMigration
from migrations_app.views import dashboard as dashboard_views
from tests.conftest import TODAY, going_live
from tests.factories import DeliveryPartnerFactory, ICBFactory, PracticeFactory, SupplierFactory
from tests.pages import CSV_URL, DASHBOARD_URL, error_summary, listed, names, open_dashboard

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


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


def test_filter_by_current_phase_by_dates(client, world, admin_user):
    # The phase is the milestones', whatever the checklist: Valley is live although none of its items is done.
    client.force_login(admin_user)

    found = {
        phase: listed(client.get(DASHBOARD_URL, {"phase": phase}))
        for phase in ["early-phases", "planning-for-cutover", "post-go-live", "dates-not-agreed", "cutover-and-go-live"]
    }

    assert found == {
        "early-phases": [world["riverside"].pk],  # IDP on 14 April
        "planning-for-cutover": [world["hilltop"].pk],  # data checking signed off, FDP on 21 April
        "post-go-live": [world["valley"].pk],
        "dates-not-agreed": [world["faraway"].pk],
        "cutover-and-go-live": [],
    }


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


@pytest.mark.parametrize("search", ["walker\u2019s", "Walker's", "walker\u2018s  lane"])
def test_search_takes_a_phones_apostrophe_for_a_straight_one_and_a_run_of_spaces_as_one(
    search, client, guide_version, admin_user
):
    walkers = going_live(TODAY, practice=PracticeFactory(name="Walker's Lane Surgery"), template_version=guide_version)
    going_live(TODAY, practice=PracticeFactory(name="Walkers Lane Surgery"), template_version=guide_version)

    response = open_dashboard(client, admin_user, {"search": search})

    assert listed(response) == [walkers.pk]


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


def test_a_reader_of_every_migration_is_offered_the_organisations_and_systems_that_have_one(client, world, admin_user):
    # An ICB and a delivery partner with a practice but no migration, and ones with no practice; a
    # system nobody is moving to or from.
    PracticeFactory(icb=ICBFactory(name="Quiet ICB"), delivery_partner=DeliveryPartnerFactory(name="Quiet partner"))
    ICBFactory(name="Empty ICB")
    DeliveryPartnerFactory(name="Empty partner")
    SupplierFactory(system_name="Unused System")

    form = open_dashboard(client, admin_user).context["form"]

    migrations = PracticeMigration.objects.select_related("practice", "source_supplier", "target_supplier")
    assert {value for value, _ in form.fields["icb"].choices if value} == {m.practice.icb_id for m in migrations}
    assert {value for value, _ in form.fields["delivery_partner"].choices if value} == {
        m.practice.delivery_partner_id for m in migrations if m.practice.delivery_partner_id
    }
    assert {label for value, label in form.fields["suppliers"].choices if value} == {
        f"{m.source_supplier.system_name} to {m.target_supplier.system_name}" for m in migrations
    }
    offered = " ".join(
        label for field in ("icb", "delivery_partner", "suppliers") for _, label in form.fields[field].choices
    )
    assert "Quiet" not in offered and "Empty" not in offered and "Unused" not in offered


# --- bad filter values --------------------------------------------------------------------------------

BAD_FILTERS = [
    ({"icb": "abc"}, "Select an ICB from the list"),
    ({"delivery_partner": "12x"}, "Select a delivery partner from the list"),
    ({"suppliers": "1-2-3"}, "Select a pair of systems from the list"),
    ({"phase": "launch"}, "Select a phase from the list"),
    ({"go_live": "soon"}, "Select a go-live window from the list"),
    ({"rag": "purple"}, "Select red, amber or green"),
    ({"status": "archived"}, "Select a status from the list"),
    ({"sort": "colour"}, "Sort by one of the table's columns"),
    ({"page": "0"}, "Enter a page number, 1 or more"),
    ({"page": "two"}, "Enter a page number, 1 or more"),
    ({"search": "x" * 101}, "Search for at most 100 characters"),
    ({"search": "Riv\x00"}, "Search for letters, numbers and punctuation only"),
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


# What each column sorts by, in Python: the database's order must agree with it.
PYTHON_SORT_KEYS = {
    "practice": lambda row: row.practice_name.casefold(),
    "ods_code": lambda row: row.ods_code,
    "icb": lambda row: row.icb_name.casefold(),
    "suppliers": lambda row: row.suppliers.casefold(),
    "phase": lambda row: row.phase_index,
    "go_live": lambda row: row.go_live_on,
    "days_to_go": lambda row: row.days_to_go,
    "percent": lambda row: row.percent,
    "overdue": lambda row: row.overdue,
    "blocked": lambda row: row.blocked,
    "next_due": lambda row: row.next_due_on,
    "rag": lambda row: row.rag.rank if row.rag else None,
}


def test_every_column_of_the_table_but_the_checklist_is_sortable():
    assert set(rows.SORTABLE) == set(PYTHON_SORT_KEYS)


@pytest.mark.parametrize("key", sorted(rows.SORTABLE))
def test_every_sortable_column_sorts_both_ways(key, client, world, admin_user):
    ascending = open_dashboard(client, admin_user, {"sort": key})
    descending = client.get(DASHBOARD_URL, {"sort": f"-{key}"})

    sort_key = PYTHON_SORT_KEYS[key]
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
    assert link.endswith("#results-heading")  # the page opens at the table, not at its top
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
