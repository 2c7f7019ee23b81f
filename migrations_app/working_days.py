"""Working days in England: Monday to Friday, less the bank holidays of England (and Wales).

Due dates fall on working days (scheduling.due_date rolls them off weekends and bank holidays),
reminders go out on working days only, and escalation counts working days overdue, so a digest
never lands on Christmas Day and a bank holiday weekend does not make an item look three days
later than it is.
"""

from datetime import date, timedelta

import holidays

# England's bank holidays, substitute days included ("Boxing Day (observed)"). The object fills in
# each year the first time a date of that year is looked up.
ENGLAND_BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG")


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in ENGLAND_BANK_HOLIDAYS


def bank_holiday_name(day: date) -> str:
    """The bank holiday's name, as GOV.UK writes it ("Boxing Day (substitute day)"), or "" when
    `day` is none."""
    names = ENGLAND_BANK_HOLIDAYS.get_list(day)
    return " and ".join(name.replace("(observed)", "(substitute day)") for name in names)


def next_working_day(day: date) -> date:
    """The first working day after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def previous_working_day(day: date) -> date:
    """The last working day before `day`."""
    day -= timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def working_days_before(day: date, count: int) -> date:
    """The working day `count` working days before `day`: an item due on it (or earlier) is
    `count` or more working days overdue on `day`."""
    for _ in range(count):
        day -= timedelta(days=1)
        while not is_working_day(day):
            day -= timedelta(days=1)
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days fall after `start`, up to and including `end`."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def first_working_day_of_week(day: date) -> date | None:
    """Monday of `day`'s week, or the next working day of that week when Monday is a bank
    holiday; None in a week without a working day."""
    monday = day - timedelta(days=day.weekday())
    for offset in range(5):
        candidate = monday + timedelta(days=offset)
        if is_working_day(candidate):
            return candidate
    return None


def first_working_day_of_next_week(day: date) -> date:
    monday = day - timedelta(days=day.weekday()) + timedelta(weeks=1)
    while (first := first_working_day_of_week(monday)) is None:
        monday += timedelta(weeks=1)
    return first
