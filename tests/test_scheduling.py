"""The due-date and milestone-order rules, as plain functions."""

from datetime import date

import pytest

from migrations_app.scheduling import MILESTONE_ORDER, due_date, milestone_order_errors

pytestmark = pytest.mark.django_db

GO_LIVE_BEFORE_FDP = "Go-live cannot be before final data production (FDP)."
FDP_NOT_AFTER_IDP = "Final data production (FDP) must be after initial data production (IDP)."


def test_due_date_before_the_anchor_for_a_negative_offset():
    dates = {"go_live": date(2025, 6, 9)}

    assert due_date(dates, "go_live", -34) == date(2025, 5, 6)


def test_due_date_after_the_anchor_for_a_positive_offset():
    dates = {"go_live": date(2025, 6, 9)}

    assert due_date(dates, "go_live", 14) == date(2025, 6, 23)


def test_due_date_on_the_anchor_for_a_zero_offset():
    dates = {"fdp": date(2025, 6, 6)}

    assert due_date(dates, "fdp", 0) == date(2025, 6, 6)


def test_due_date_counts_calendar_days_across_a_leap_day_and_a_year_end():
    dates = {"idp": date(2024, 2, 28), "go_live": date(2024, 12, 30)}

    assert due_date(dates, "idp", 1) == date(2024, 2, 29)
    assert due_date(dates, "go_live", 7) == date(2025, 1, 6)


def test_due_date_reads_only_its_own_anchor():
    dates = {"idp": date(2025, 4, 14), "fdp": date(2025, 6, 6)}

    assert due_date(dates, "idp", -35) == date(2025, 3, 10)


def test_due_date_is_none_while_the_anchor_milestone_is_unset():
    dates = {"go_live": None, "fdp": date(2025, 6, 6)}

    assert due_date(dates, "go_live", -7) is None


def test_due_date_is_none_when_the_anchor_milestone_is_missing_altogether():
    assert due_date({"fdp": date(2025, 6, 6)}, "old_system_access_end", -7) is None


def test_milestones_in_the_guide_order_have_no_errors():
    dates = {
        "order_accepted": date(2025, 3, 3),
        "kick_off": date(2025, 3, 10),
        "technical_survey": date(2025, 3, 13),
        "idp": date(2025, 4, 14),
        "data_checking_signoff": date(2025, 5, 2),
        "cutover_planning": date(2025, 5, 8),
        "fdp": date(2025, 6, 6),
        "go_live": date(2025, 6, 9),
        "old_system_access_end": date(2025, 9, 7),
    }

    assert milestone_order_errors(dates) == {}


def test_go_live_before_fdp_is_an_error_on_go_live():
    dates = {"fdp": date(2025, 6, 6), "go_live": date(2025, 6, 5)}

    assert milestone_order_errors(dates) == {"go_live_on": GO_LIVE_BEFORE_FDP}


def test_go_live_on_the_day_of_fdp_is_allowed():
    dates = {"fdp": date(2025, 6, 6), "go_live": date(2025, 6, 6)}

    assert milestone_order_errors(dates) == {}


def test_fdp_before_idp_is_an_error_on_fdp():
    dates = {"idp": date(2025, 4, 14), "fdp": date(2025, 4, 11)}

    assert milestone_order_errors(dates) == {"fdp_on": FDP_NOT_AFTER_IDP}


def test_fdp_on_the_same_day_as_idp_is_an_error_because_the_rule_is_strict():
    dates = {"idp": date(2025, 4, 14), "fdp": date(2025, 4, 14)}

    assert milestone_order_errors(dates) == {"fdp_on": FDP_NOT_AFTER_IDP}


def test_fdp_the_day_after_idp_is_allowed():
    dates = {"idp": date(2025, 4, 14), "fdp": date(2025, 4, 15)}

    assert milestone_order_errors(dates) == {}


def test_unset_dates_are_not_compared():
    dates = {"idp": date(2025, 4, 14), "fdp": None, "go_live": None, "old_system_access_end": date(2025, 9, 7)}

    assert milestone_order_errors(dates) == {}


def test_an_empty_plan_has_no_errors():
    assert milestone_order_errors({}) == {}


def test_two_rules_broken_on_one_milestone_report_the_first_rule_only():
    # FDP is before both the data-checking sign-off and IDP; one message per field is enough for a form.
    dates = {"idp": date(2025, 4, 14), "data_checking_signoff": date(2025, 5, 2), "fdp": date(2025, 4, 1)}

    assert milestone_order_errors(dates) == {
        "fdp_on": "Data checking must be signed off before final data production (FDP).",
    }


def test_each_broken_rule_reports_its_later_milestone():
    dates = {"kick_off": date(2025, 3, 10), "order_accepted": date(2025, 3, 11), "technical_survey": date(2025, 3, 9)}

    assert milestone_order_errors(dates) == {
        "kick_off_on": "Kick-off cannot be before the order is accepted.",
        "technical_survey_on": "The technical survey cannot be before kick-off.",
    }


@pytest.mark.parametrize("rule", MILESTONE_ORDER, ids=lambda rule: f"{rule.earlier.value}-{rule.later.value}")
def test_every_rule_rejects_its_later_milestone_a_day_early(rule):
    dates = {rule.earlier.value: date(2025, 5, 1), rule.later.value: date(2025, 4, 30)}

    assert milestone_order_errors(dates) == {rule.later.field_name: rule.message}


def test_go_live_before_the_order_is_accepted_is_an_error_even_with_the_dates_between_unset():
    # When an order is accepted, usually only it and a provisional go-live date are known. A go-live
    # date before the order must still be caught, not waved through because kick-off, IDP and FDP
    # are blank.
    dates = {"order_accepted": date(2025, 3, 3), "go_live": date(2025, 2, 3)}

    assert "go_live_on" in milestone_order_errors(dates)
