"""The dashboard's summary panel, through the client: counts by RAG and phase, the go-lives in the
next four weeks, the chart by go-live month and phase, and cutover length by supplier pair. Today
is tests.conftest.TODAY, when the demo migration goes live in 60 days."""

from datetime import timedelta
from html import unescape

import pytest

from migrations_app.dashboard.rag import Rag
from tests.conftest import TODAY, going_live
from tests.factories import PracticeFactory, SupplierFactory
from tests.pages import open_dashboard

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
