from __future__ import annotations

import datetime as dt

import pytest

from carebridge.settings import Settings
from carebridge.transitions.business_days import (
    add_business_days,
    end_of_day,
    federal_holidays,
    local_date,
)

PLAIN = Settings(timezone="America/Chicago")
D = dt.date


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2026, 3, 10), 2, D(2026, 3, 12)),  # Tuesday -> Thursday
        (D(2026, 3, 12), 2, D(2026, 3, 16)),  # Thursday -> Friday, (weekend), Monday
        (D(2026, 3, 13), 2, D(2026, 3, 17)),  # Friday -> Monday, Tuesday
        (D(2026, 3, 14), 2, D(2026, 3, 17)),  # Saturday -> Monday, Tuesday
        (D(2026, 3, 15), 1, D(2026, 3, 16)),  # Sunday -> Monday
        (D(2026, 3, 10), 0, D(2026, 3, 10)),
        (D(2026, 3, 2), 10, D(2026, 3, 16)),  # two full weeks
    ],
)
def test_weekends_are_skipped(start: dt.date, n: int, expected: dt.date) -> None:
    assert add_business_days(start, n, PLAIN, None) == expected


def test_friday_before_a_monday_federal_holiday() -> None:
    # Labor Day 2026 is Monday 7 September: Friday's discharge -> Tuesday, Wednesday.
    assert add_business_days(D(2026, 9, 4), 2, PLAIN, None) == D(2026, 9, 9)
    assert add_business_days(D(2026, 9, 4), 1, PLAIN, None) == D(2026, 9, 8)


def test_observed_holiday_is_skipped_not_the_weekend_day() -> None:
    # 4 July 2026 is a Saturday: observed Friday 3 July.
    assert D(2026, 7, 3) in federal_holidays(D(2026, 7, 1), D(2026, 7, 31))
    assert add_business_days(D(2026, 7, 2), 1, PLAIN, None) == D(2026, 7, 6)
    # 4 July 2027 is a Sunday: observed Monday 5 July.
    assert add_business_days(D(2027, 7, 2), 1, PLAIN, None) == D(2027, 7, 6)


def test_thanksgiving_and_christmas() -> None:
    # Thanksgiving Thursday 26 Nov 2026: Wednesday + 2 -> Friday, Monday.
    assert add_business_days(D(2026, 11, 25), 2, PLAIN, None) == D(2026, 11, 30)
    # Christmas Friday 25 Dec 2026 and New Year Friday 1 Jan 2027.
    assert add_business_days(D(2026, 12, 24), 1, PLAIN, None) == D(2026, 12, 28)
    assert add_business_days(D(2026, 12, 31), 1, PLAIN, None) == D(2027, 1, 4)


def test_clinic_holidays_from_settings() -> None:
    closed = Settings(clinic_holidays=[D(2026, 3, 11), D(2026, 3, 12)])
    assert add_business_days(D(2026, 3, 10), 2, closed, None) == D(2026, 3, 16)


def test_long_spans_cross_the_lookahead_window() -> None:
    # 100 business days from Monday 5 Jan 2026, counted by hand with the 2026 holidays.
    closed = federal_holidays(D(2026, 1, 1), D(2026, 12, 31))
    day, counted = D(2026, 1, 5), 0
    while counted < 100:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            counted += 1
    assert add_business_days(D(2026, 1, 5), 100, PLAIN, None) == day


def test_negative_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_days(D(2026, 3, 10), -1, PLAIN, None)


def test_end_of_day_is_clinic_local() -> None:
    # 23:59 in Chicago in March 2026 (CDT, UTC-5) is 04:59 UTC the next day.
    assert end_of_day(D(2026, 3, 12), PLAIN) == dt.datetime(2026, 3, 13, 4, 59, tzinfo=dt.UTC)
    # In January (CST, UTC-6).
    assert end_of_day(D(2026, 1, 12), PLAIN) == dt.datetime(2026, 1, 13, 5, 59, tzinfo=dt.UTC)


def test_local_date_of_a_late_evening_discharge() -> None:
    # 02:30 UTC on Saturday is 21:30 Friday in Chicago.
    moment = dt.datetime(2026, 9, 5, 2, 30, tzinfo=dt.UTC)
    assert local_date(moment, PLAIN) == D(2026, 9, 4)
    assert local_date(moment.replace(tzinfo=None), PLAIN) == D(2026, 9, 4)
