"""The milestone date boxes: what a person may type in the day, month and year of an NHS.UK date
input, and the message (naming the boxes to fix) for anything else. Then the same through the
milestones page: a form error, and nothing changed."""

import re
from datetime import date

import pytest
from django.urls import reverse

from migrations_app.forms import DateInputError, parse_date
from migrations_app.models import Milestone, PracticeMigration
from tests.pages import schedule

pytestmark = pytest.mark.django_db

LABEL = "Go-live"
REAL_DATE = "Go-live must be a real date, for example 27 3 2027"
DIGITS_0_TO_9 = "Go-live must be typed with the numbers 0 to 9, for example 27 3 2027"
DAY_RANGE = "Go-live day must be a number between 1 and 31"
MONTH_RANGE = "Go-live month must be a number between 1 and 12"
FOUR_NUMBERS = "Go-live year must include 4 numbers"
YEARS = "Go-live must be between 1 January 2000 and 31 December 2099"
WHOLE_DATE = {"day", "month", "year"}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        pytest.param(("9", "6", "2025"), date(2025, 6, 9), id="plain"),
        pytest.param(("09", "06", "2025"), date(2025, 6, 9), id="leading zeros"),
        pytest.param((" 9 ", "\t6", "2025\n"), date(2025, 6, 9), id="spaces around"),
        pytest.param(("\u00a09", "6\u3000", "2025"), date(2025, 6, 9), id="unicode spaces around"),
        pytest.param(("29", "2", "2028"), date(2028, 2, 29), id="29 February of a leap year"),
        pytest.param(("1", "1", "2000"), date(2000, 1, 1), id="earliest"),
        pytest.param(("31", "12", "2099"), date(2099, 12, 31), id="latest"),
        pytest.param(("", "", ""), None, id="all empty: not agreed yet"),
        pytest.param((" ", "\t", ""), None, id="only spaces: not agreed yet"),
    ],
)
def test_a_date_typed_in_the_three_boxes_is_read(typed, expected):
    assert parse_date(LABEL, *typed) == expected


@pytest.mark.parametrize(
    ("typed", "message", "boxes"),
    [
        pytest.param(("", "6", "2025"), "Go-live must include a day", {"day"}, id="no day"),
        pytest.param(("", "6", ""), "Go-live must include a day and year", {"day", "year"}, id="month only"),
        pytest.param(("32", "6", "2025"), DAY_RANGE, {"day"}, id="day 32"),
        pytest.param(("0", "6", "2025"), DAY_RANGE, {"day"}, id="day 0"),
        pytest.param(("2147483648", "6", "2025"), DAY_RANGE, {"day"}, id="day past 2**31"),
        pytest.param(("9" * 5000, "6", "2025"), DAY_RANGE, {"day"}, id="day of 5000 digits"),
        pytest.param(("9", "13", "2025"), MONTH_RANGE, {"month"}, id="month 13"),
        pytest.param(("9", "0", "2025"), MONTH_RANGE, {"month"}, id="month 0"),
        pytest.param(("9", "99999999999999999999", "2025"), MONTH_RANGE, {"month"}, id="month of 20 digits"),
        pytest.param(("9", "6", "202"), FOUR_NUMBERS, {"year"}, id="year of 3 digits"),
        pytest.param(("9", "6", "20255"), FOUR_NUMBERS, {"year"}, id="year of 5 digits"),
        pytest.param(("9", "6", "25"), FOUR_NUMBERS, {"year"}, id="year of 2 digits"),
        pytest.param(("32", "13", "2025"), REAL_DATE, {"day", "month"}, id="day and month out of range"),
        pytest.param(("9", "6", "1999"), YEARS, WHOLE_DATE, id="year before 2000"),
        pytest.param(("9", "6", "0000"), YEARS, WHOLE_DATE, id="year 0"),
        pytest.param(("9", "6", "2100"), YEARS, WHOLE_DATE, id="year 2100"),
        pytest.param(("31", "12", "9999"), YEARS, WHOLE_DATE, id="year 9999"),
        pytest.param(("31", "2", "2027"), REAL_DATE, {"day"}, id="31 February"),
        pytest.param(("29", "2", "2027"), REAL_DATE, {"day"}, id="29 February of a common year"),
        pytest.param(("31", "4", "2027"), REAL_DATE, {"day"}, id="31 April"),
        pytest.param(("١٢", "6", "2025"), DIGITS_0_TO_9, {"day"}, id="Arabic-Indic day"),
        pytest.param(("12", "６", "2025"), DIGITS_0_TO_9, {"month"}, id="full-width month"),
        pytest.param(("12", "6", "٢٠٢٥"), DIGITS_0_TO_9, {"year"}, id="Arabic-Indic year"),
        pytest.param(("1١", "6", "2025"), DIGITS_0_TO_9, {"day"}, id="mixed scripts"),
        pytest.param(("²", "6", "2025"), REAL_DATE, {"day"}, id="superscript two"),
        pytest.param(("9", "six", "2025"), REAL_DATE, {"month"}, id="month in words"),
        pytest.param(("1 2", "6", "2025"), REAL_DATE, {"day"}, id="space inside"),
        pytest.param(("-9", "6", "2025"), REAL_DATE, {"day"}, id="minus sign"),
        pytest.param(("+9", "6", "2025"), REAL_DATE, {"day"}, id="plus sign"),
        pytest.param(("9.0", "6", "2025"), REAL_DATE, {"day"}, id="decimal point"),
        pytest.param(("9", "6", "2_025"), REAL_DATE, {"year"}, id="underscore, as int() accepts"),
        pytest.param(("9\x00", "6", "2025"), REAL_DATE, {"day"}, id="NUL character"),
    ],
)
def test_a_wrong_date_gets_the_nhs_date_input_message_and_names_the_boxes_to_fix(typed, message, boxes):
    with pytest.raises(DateInputError) as raised:
        parse_date(LABEL, *typed)

    assert raised.value.messages == [message]
    assert raised.value.parts == boxes


# --- through the milestones page ---------------------------------------------------------------------


def milestone_data(migration: PracticeMigration, go_live: tuple[str, str, str], confirm: str) -> dict:
    """Every milestone's boxes as the form shows them, go-live typed over."""
    data = {"reason": "The supplier moved the go-live", "confirm": confirm}
    for milestone in Milestone:
        current = getattr(migration, milestone.field_name)
        typed = go_live if milestone == Milestone.GO_LIVE else (str(current.day), str(current.month), str(current.year))
        data |= {
            f"{milestone.value}-{part}": value for part, value in zip(("day", "month", "year"), typed, strict=True)
        }
    return data


def highlighted_boxes(html: str, milestone: str) -> set[str]:
    return {
        part
        for part in ("day", "month", "year")
        if re.search(rf'class="[^"]*nhsuk-input--error[^"]*" id="{milestone}-{part}"', html)
    }


@pytest.mark.parametrize(
    ("go_live", "message", "boxes"),
    [
        pytest.param(("2147483648", "6", "2025"), DAY_RANGE, {"day"}, id="day past 2**31"),
        pytest.param(("9", "99999999999999999999", "2025"), MONTH_RANGE, {"month"}, id="month of 20 digits"),
        pytest.param(("١٢", "6", "2025"), DIGITS_0_TO_9, {"day"}, id="Arabic-Indic day"),
        pytest.param(("9", "6", "20255"), FOUR_NUMBERS, {"year"}, id="year of 5 digits"),
        pytest.param(("31", "12", "9999"), YEARS, WHOLE_DATE, id="year 9999"),
    ],
)
@pytest.mark.parametrize("confirm", ["", "yes"])
def test_a_date_out_of_range_or_in_other_digits_is_a_form_error_and_changes_nothing(
    go_live, message, boxes, confirm, client, migration, practice_manager
):
    before = schedule(migration)
    client.force_login(practice_manager)

    response = client.post(
        reverse("migrations:milestones_edit", kwargs={"pk": migration.pk}),
        milestone_data(migration, go_live, confirm),
    )

    html = response.content.decode()
    assert response.status_code == 400
    first_box = next(part for part in ("day", "month", "year") if part in boxes)
    assert f'<li><a href="#go_live-{first_box}">{message}</a></li>' in html
    assert f'<span class="nhsuk-u-visually-hidden">Error:</span> {message}</span>' in html
    assert highlighted_boxes(html, "go_live") == boxes
    assert highlighted_boxes(html, "fdp") == set()
    assert schedule(migration) == before
