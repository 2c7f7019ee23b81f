"""The guide data's second edition against what issue 14 found in the first: gates, timing, roles,
content and conditions (the links are in test_guide_links.py).

Every test here fails on the first edition: point EDITION at
guide_file.EARLIER_EDITIONS / "practice-migration-1.yaml" to see it.
"""

from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest

from migrations_app.checklist_templates import guide_file
from migrations_app.management.commands.seed_demo import _milestones
from migrations_app.models import Condition
from migrations_app.models.choices import PRACTICE_ROLES

EDITION = guide_file.GUIDE_FILE

GO_LIVE = date(2026, 12, 21)  # a Monday
# The demo data's guide-shaped plan around that go-live.
PLAN = {milestone: GO_LIVE + timedelta(days=days) for milestone, days in _milestones(0).items()}


@cache
def edition(path: Path) -> dict:
    return guide_file.parse(path.read_text(encoding="utf-8"))


def phases() -> list[dict]:
    return edition(EDITION)["phases"]


def items() -> dict[str, dict]:
    return {item["key"]: item for phase in phases() for item in phase["items"]}


def gates() -> dict[str, dict]:
    return {key: item for key, item in items().items() if item.get("kind") == "gate"}


def phase_of(key: str) -> str | None:
    return next((phase["key"] for phase in phases() for item in phase["items"] if item["key"] == key), None)


def due(item: dict) -> date:
    """When an item falls due in the demo plan: its milestone plus its offset, before any rolling."""
    return PLAN[item["anchor"]] + timedelta(days=item["offset_days"])


def waits_for(key: str) -> list[str]:
    """What a gate waits for: its own list, else (a first-edition gate) the earlier items of its
    phase, as ChecklistItem.dependencies reads them."""
    for phase in phases():
        keys = [item["key"] for item in phase["items"]]
        if key in keys:
            gate = phase["items"][keys.index(key)]
            return keys[: keys.index(key)] if gate.get("depends_on") is None else gate["depends_on"]
    raise AssertionError(f"No gate {key}")


def in_group(group: str) -> dict[str, dict]:
    return {key: item for key, item in items().items() if item.get("group") == group}


# --- gates ---------------------------------------------------------------------------------------


def test_every_gate_names_the_items_it_waits_for():
    found = gates()

    unnamed = [key for key, gate in found.items() if not gate.get("depends_on")]

    assert len(found) == 8
    assert unnamed == []


def test_every_item_a_gate_waits_for_falls_due_no_later_than_the_gate():
    everything = items()

    late = {
        key: [waited for waited in waits_for(key) if due(everything[waited]) > due(gate)]
        for key, gate in gates().items()
    }

    assert {key: waited for key, waited in late.items() if waited} == {}


def test_the_icb_approves_the_order_before_the_new_supplier_accepts_it():
    gate = items().get("icb-order-approved")

    assert gate is not None
    assert (gate["kind"], gate["role"], phase_of("icb-order-approved")) == ("gate", "icb_lead", "early-phases")
    assert due(gate) < PLAN["order_accepted"]
    assert {"icb-business-case-funding-approved", "agree-provisional-go-live-date"} <= set(waits_for(gate["key"]))


def test_the_clinical_lead_signs_the_clinical_risk_assessment_once_the_plan_is_agreed():
    gate = items().get("clinical-risk-assessment-signed-off")

    assert gate is not None
    assert (gate["kind"], gate["role"]) == ("gate", "clinical_lead")
    assert PLAN["kick_off"] < due(gate) < PLAN["idp"]
    assert {"dp-kick-off-meeting-held", "agree-go-live-date"} <= set(waits_for(gate["key"]))


def test_the_icb_signs_its_own_gates():
    icb_gates = {key: gate["role"] for key, gate in gates().items() if gate.get("group") == "ICB approvals"}

    assert icb_gates == {
        "icb-business-case-funding-approved": "icb_lead",
        "icb-order-approved": "icb_lead",
        "icb-extra-hardware-approved": "icb_lead",
    }


def test_each_gate_is_signed_by_the_role_the_guide_gives_it():
    signers = {key: gate["role"] for key, gate in gates().items()}

    assert signers == {
        "icb-business-case-funding-approved": "icb_lead",
        "icb-order-approved": "icb_lead",
        "icb-extra-hardware-approved": "icb_lead",
        "clinical-risk-assessment-signed-off": "clinical_lead",
        "technical-requirements-signed-off": "practice_manager",
        "data-checking-sign-off": "clinical_lead",
        "go-live-sign-off": "practice_manager",
        "migration-complete": "practice_manager",
    }


def test_the_clinical_lead_signs_the_data_off_once_every_reported_issue_is_rechecked():
    gate = items()["data-checking-sign-off"]

    assert gate["role"] == "clinical_lead"
    assert "data-checked-and-issues-rechecked" in waits_for("data-checking-sign-off")


def test_the_practice_manager_signs_go_live_once_the_go_live_data_is_rechecked():
    gate = items()["go-live-sign-off"]

    assert gate["role"] == "practice_manager"
    assert {"go-live-data-rechecked", "dmd-mapping-checked", "registration-links-checked"} <= set(
        waits_for("go-live-sign-off")
    )


def test_the_practice_manager_signs_migration_complete_once_all_cutover_data_is_re_entered():
    gate = items()["migration-complete"]
    re_entry = set(in_group("Re-entry of cutover data"))

    assert gate["role"] == "practice_manager"
    assert {"reissue-repeat-dispensing", "re-enter-prescribing-formulary"} <= re_entry
    assert re_entry | {"go-live-sign-off", "icb-extended-old-system-access"} <= set(waits_for("migration-complete"))


# --- timing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["target-supplier-confirmed-go-live", "source-supplier-notified"])
def test_the_suppliers_are_settled_at_procurement_before_kick_off(key):
    item = items()[key]

    assert item["anchor"] == "order_accepted"
    assert due(item) < PLAN["kick_off"]


def test_the_agreed_go_live_date_is_due_at_kick_off_not_on_go_live_itself():
    item = items()["agree-go-live-date"]

    assert (item["anchor"], item["offset_days"]) == ("kick_off", 0)


@pytest.mark.parametrize("key", ["training-plan", "training-overview"])
def test_the_training_plan_falls_between_kick_off_and_the_cutover_meeting(key):
    item = items()[key]

    assert PLAN["kick_off"] < due(item) < PLAN["cutover_planning"]


def test_third_parties_are_reminded_the_week_before_and_on_the_day_their_links_are_switched_off():
    everything = items()
    switch_off = due(everything["dp-links-and-feeds-switched-off"])

    assert switch_off == PLAN["fdp"] - timedelta(days=2)
    assert due(everything["dp-third-parties-reminded-week-before"]) == switch_off - timedelta(days=7)
    assert due(everything["dp-third-parties-reminded-on-fdp-day"]) == switch_off


def test_the_old_system_access_check_is_due_at_go_live():
    item = items()["old-system-access"]

    assert (item["anchor"], item["offset_days"]) == ("go_live", 0)


def test_third_party_links_are_switched_back_on_on_go_live_day():
    switch_on = {
        **in_group("Switch links back on"),
        "third-parties-switched-back-on": items()["third-parties-switched-back-on"],
    }

    not_on_the_day = {key: due(item) for key, item in switch_on.items() if due(item) != GO_LIVE}

    assert len(switch_on) >= 10
    assert not_on_the_day == {}


def test_the_screening_feed_is_switched_back_on_instead_of_re_entering_results():
    everything = items()
    switch_on = in_group("Switch links back on")

    screening = [key for key, item in switch_on.items() if "screening" in item["title"].lower()]

    assert "re-enter-screening" not in everything
    assert screening == ["switch-on-screening-feeds"]
    assert due(switch_on["switch-on-screening-feeds"]) == GO_LIVE


# --- content -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "phase", "anchor"),
    [
        ("subsidiary-extracts-requested", "early-phases", "order_accepted"),
        ("subsidiary-extracts-taken-at-idp", "initial-data-production", "idp"),
        ("subsidiary-extracts-taken-at-fdp", "cutover-and-go-live", "fdp"),
        ("third-party-compatibility-checked", "early-phases", "technical_survey"),
        ("business-justification-completed", "early-phases", "order_accepted"),
        ("test-system-admin-users-set-up", "initial-data-production", "idp"),
        ("test-system-admin-training", "initial-data-production", "idp"),
        ("data-checked-and-issues-rechecked", "initial-data-production", "data_checking_signoff"),
        ("cancel-repeat-dispensing-issues", "planning-for-cutover", "fdp"),
        ("reissue-repeat-dispensing", "post-go-live", "go_live"),
        ("go-live-data-rechecked", "cutover-and-go-live", "go_live"),
        ("templates-exported", "planning-for-cutover", "fdp"),
        ("third-party-databases-backed-up", "planning-for-cutover", "fdp"),
        ("appointment-breather-slots", "planning-for-cutover", "fdp"),
        ("appointment-booking-limited", "planning-for-cutover", "cutover_planning"),
        ("booked-appointments-transferred", "cutover-and-go-live", "go_live"),
        ("go-live-date-reconfirmed-with-new-supplier", "cutover-and-go-live", "go_live"),
        ("re-enter-prescribing-formulary", "post-go-live", "go_live"),
        ("retrospective-held", "post-go-live", "go_live"),
    ],
)
def test_the_guide_content_the_first_edition_lacked_is_in_its_phase(key, phase, anchor):
    item = items().get(key)

    assert item is not None
    assert (phase_of(key), item["anchor"]) == (phase, anchor)
    assert item["link"].startswith("https://nhsconnect.github.io/prm-practice-migration/guide")


def test_the_retired_gpsoc_tracking_database_is_no_longer_listed():
    mentions = [
        key
        for key, item in items().items()
        if any(word in f"{item['title']} {item.get('link', '')}".lower() for word in ("tracking database", "gpsoc"))
        or "tracking-database" in key
    ]

    assert mentions == []


def test_the_pcse_list_check_replaces_the_nhais_reconciliation():
    everything = items()
    check = everything.get("patient-list-checked-with-pcse")

    assert "pds-reconciliation-needed" not in everything
    assert check is not None
    assert phase_of("patient-list-checked-with-pcse") == "early-phases"
    assert check["link"].endswith("/guide/pre-migration-tasks#clean-up-the-current-system-data")
    assert [key for key, item in everything.items() if "reconciliation" in item.get("link", "")] == []


def test_the_first_edition_keys_are_kept_but_those_of_replaced_items():
    first = edition(guide_file.EARLIER_EDITIONS / "practice-migration-1.yaml")

    removed = {item["key"] for phase in first["phases"] for item in phase["items"]} - set(items())

    assert removed == {
        "pds-reconciliation-needed",
        "re-enter-screening",
        "tracking-database-updated",
        "dp-tracking-database-updated",
    }


# --- conditions and roles ------------------------------------------------------------------------


def test_items_for_document_management_repeat_dispensing_and_online_services_apply_only_where_used():
    everything = items()
    expected = {
        "switch-on-document-management": Condition.USES_DOCUMENT_MANAGEMENT,
        "cancel-repeat-dispensing-issues": Condition.ELECTRONIC_REPEAT_DISPENSING,
        "reissue-repeat-dispensing": Condition.ELECTRONIC_REPEAT_DISPENSING,
        "online-patient-services-available": Condition.OFFERS_ONLINE_SERVICES,
        "switch-on-nhs-app-and-patient-apps": Condition.OFFERS_ONLINE_SERVICES,
    }

    conditions = {key: everything[key].get("condition") if key in everything else None for key in expected}

    assert conditions == expected
    assert {item.get("condition") for item in everything.values()} >= set(Condition.values)


@pytest.mark.parametrize(
    "key",
    [
        "dp-links-and-feeds-switched-off",
        "dp-third-parties-reminded-week-before",
        "dp-third-parties-reminded-on-fdp-day",
    ],
)
def test_the_practice_switches_its_links_off_and_reminds_third_parties(key):
    item = items()[key]

    assert item["role"] in PRACTICE_ROLES
    assert item["group"] != "Delivery partner tasks"


@pytest.mark.parametrize("key", ["plan-prescriptions", "plan-consultations"])
def test_the_clinical_lead_plans_prescriptions_and_consultations_for_the_cutover(key):
    assert items()[key]["role"] == "clinical_lead"
