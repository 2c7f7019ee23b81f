"""The dashboard's summary panel, through the client: counts by RAG and phase, the go-lives in the
next four weeks, the chart by go-live month and phase (every month from the first go-live to the
last), and cutover length by supplier pair (and the live migrations it leaves out, with no FDP
date). Today is tests.conftest.TODAY, when the demo migration goes live in 60 days."""

import re
from datetime import date, timedelta
from html import unescape

import pytest

from migrations_app.dashboard.rag import Rag
from tests.conftest import TODAY, going_live
from tests.factories import PracticeFactory, SupplierFactory
from tests.pages import open_dashboard, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


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


def month_bar(html: str, label: str) -> tuple[str, str]:
    """The chart's bar of the month `label`: its SVG's content and its total."""
    match = re.search(
        rf'<span class="tracker-chart__label">{label}</span>\s*<svg [^>]*>(.*?)</svg>\s*'
        r'<span class="tracker-chart__total">(\d+)</span>',
        html,
    )
    assert match, f"no bar for {label}"
    return match.group(1), match.group(2)


def month_cells(html: str, label: str) -> list[str]:
    """The chart's table row of the month `label`, as a person reads it: a count per phase, then all."""
    match = re.search(rf'<th scope="row" [^>]*>{label}</th>(.*?)</tr>', html, re.DOTALL)
    assert match, f"no table row for {label}"
    return text(match.group(1)).split()


def test_the_chart_counts_migrations_by_go_live_month_and_phase_with_a_table(client, world, admin_user):
    response = open_dashboard(client, admin_user)

    months = [(month.label, month.total) for month in response.context["summary"].months]
    # May 2025 has no go-live: it is there, at 0, so the months read as a timeline.
    assert months == [
        ("March 2025", 1),
        ("April 2025", 1),
        ("May 2025", 0),
        ("June 2025", 1),
        ("Go-live not agreed", 1),
    ]
    html = response.content.decode()
    assert '<th scope="col" class="nhsuk-table__header">Go-live month</th>' in html
    assert "<svg" in html and "style=" not in html  # the chart is SVG, styled by class (the CSP forbids inline style)


def test_a_month_with_no_go_lives_between_two_that_have_some_is_charted_at_0(client, guide_version, admin_user):
    # November 2025 and February 2026: December and January (across the new year) have none.
    for go_live_on in [date(2025, 11, 17), date(2026, 2, 9), date(2026, 2, 16)]:
        going_live(go_live_on, practice=PracticeFactory(), template_version=guide_version)

    response = open_dashboard(client, admin_user)

    months = [(month.label, month.total) for month in response.context["summary"].months]
    assert months == [("November 2025", 1), ("December 2025", 0), ("January 2026", 0), ("February 2026", 2)]
    html = response.content.decode()
    phases = len(response.context["summary"].phases)
    assert month_bar(html, "December 2025") == ("", "0")  # no segment
    assert month_bar(html, "February 2026")[0].count("<rect") == 1
    assert month_cells(html, "January 2026") == ["0"] * (phases + 1)
    assert "Every month from the first go-live to the last has a bar: a month with no go-lives shows 0." in text(html)


def test_go_lives_more_than_three_years_apart_chart_only_their_months(client, guide_version, admin_user):
    # A go-live typed years out (2031 for 2026) does not add five years of empty months.
    for go_live_on in [date(2025, 11, 17), date(2026, 2, 9), date(2031, 2, 10)]:
        going_live(go_live_on, practice=PracticeFactory(), template_version=guide_version)

    response = open_dashboard(client, admin_user)

    months = [(month.label, month.total) for month in response.context["summary"].months]
    assert months == [("November 2025", 1), ("February 2026", 1), ("February 2031", 1)]
    html = text(response.content.decode())
    assert "Only months with go-lives have a bar: the first and the last are more than three years apart." in html
    assert "Every month from the first go-live" not in html


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


def test_the_cutover_lengths_say_how_many_live_migrations_they_leave_out_for_want_of_an_fdp_date(
    client, guide_version, admin_user
):
    for days_ago, fdp_before in [
        (10, 3),
        (20, None),  # live, no FDP date: left out, and counted as left out
        (30, None),
        (-5, None),  # not live yet: neither
    ]:
        go_live_on = TODAY - timedelta(days=days_ago)
        going_live(
            go_live_on,
            practice=PracticeFactory(),
            template_version=guide_version,
            fdp_on=None if fdp_before is None else go_live_on - timedelta(days=fdp_before),
        )

    response = open_dashboard(client, admin_user)

    summary = response.context["summary"]
    assert [(cutover.count, cutover.median_days) for cutover in summary.cutovers] == [(1, 3)]
    assert summary.live_without_fdp == 2
    page = text(response.content.decode())
    assert "Cutover length (FDP to go-live) of the live migrations with an FDP date, by systems" in page
    assert "2 live migrations without an FDP date are left out." in page


def test_when_no_live_migration_has_an_fdp_date_the_cutover_lengths_say_so(client, guide_version, admin_user):
    going_live(TODAY - timedelta(days=10), practice=PracticeFactory(), template_version=guide_version, fdp_on=None)

    response = open_dashboard(client, admin_user)

    page = text(response.content.decode())
    assert "None of the live migrations has an FDP date." in page
    assert "None of these migrations is live yet." not in page
    assert "1 live migration without an FDP date is left out." in page


def test_the_cutover_lengths_leave_nothing_out_when_every_live_migration_has_an_fdp_date(client, world, admin_user):
    response = open_dashboard(client, admin_user)

    assert response.context["summary"].live_without_fdp == 0
    assert "without an FDP date" not in text(response.content.decode())
