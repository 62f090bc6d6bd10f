"""When a scheduled report is due: its weekday and hour on the clinic's wall clock, for the
last full week (Monday to Sunday, local), never before the report was made, once a week.
Worked by hand in America/Chicago (CST UTC-6; CDT UTC-5 from 10 March to 3 November 2013)."""

from __future__ import annotations

import datetime as dt

from carebridge.reports import service
from carebridge.reports.models import ScheduledReport
from carebridge.settings import Settings

SETTINGS = Settings(secret_key="unit-" + "x" * 40, timezone="America/Chicago")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def report(weekday: int, hour: int, **values: object) -> ScheduledReport:
    made = ScheduledReport(
        name="r", measure_keys=[], recipient_ids=[], weekday=weekday, hour=hour, is_active=True
    )
    made.created_at = utc(2013, 1, 1)
    made.last_sent_for = None
    for key, value in values.items():
        setattr(made, key, value)
    return made


def test_last_full_week_is_monday_to_sunday_local() -> None:
    # Monday 4 March 2013 03:00 UTC is still Sunday 3 March 21:00 in Chicago: the week of
    # 25 February is not over there, so the last full one began on 18 February.
    assert service.last_full_week(SETTINGS, utc(2013, 3, 4, 3)) == dt.date(2013, 2, 18)
    # 06:00 UTC is Monday 00:00 CST: the week of 25 February has just ended.
    assert service.last_full_week(SETTINGS, utc(2013, 3, 4, 6)) == dt.date(2013, 2, 25)
    assert service.last_full_week(SETTINGS, utc(2013, 3, 11, 6)) == dt.date(2013, 3, 4)


def test_send_time_follows_the_wall_clock_across_daylight_saving() -> None:
    friday_17 = report(4, 17)
    assert service.send_time(SETTINGS, friday_17, dt.date(2013, 3, 4)) == utc(2013, 3, 8, 23)
    assert service.send_time(SETTINGS, friday_17, dt.date(2013, 3, 11)) == utc(2013, 3, 15, 22)
    # Sunday 10 March 02:00 does not exist in Chicago: it goes at 03:00 CDT (08:00 UTC).
    sunday_2 = report(6, 2)
    assert service.send_time(SETTINGS, sunday_2, dt.date(2013, 3, 4)) == utc(2013, 3, 10, 8)


def test_due_once_per_week_and_not_before_it_was_made() -> None:
    monday_7 = report(0, 7)
    assert service.due_week(SETTINGS, monday_7, utc(2013, 3, 4, 12, 59)) is None
    assert service.due_week(SETTINGS, monday_7, utc(2013, 3, 4, 13)) == dt.date(2013, 2, 25)
    monday_7.last_sent_for = dt.date(2013, 2, 25)
    assert service.due_week(SETTINGS, monday_7, utc(2013, 3, 6, 13)) is None
    assert service.due_week(SETTINGS, monday_7, utc(2013, 3, 11, 12)) == dt.date(2013, 3, 4)
    # Made on Tuesday 5 March: this week's Monday time has passed, so the first is 11 March.
    late = report(0, 7, created_at=utc(2013, 3, 5, 15))
    assert service.due_week(SETTINGS, late, utc(2013, 3, 6, 13)) is None
    assert service.next_send(SETTINGS, late, utc(2013, 3, 6, 13)) == utc(2013, 3, 11, 12)
    assert service.due_week(SETTINGS, late, utc(2013, 3, 11, 12)) == dt.date(2013, 3, 4)
    # An inactive report is never due.
    assert service.due_week(SETTINGS, report(0, 7, is_active=False), utc(2013, 3, 4, 13)) is None


def test_median_shown_to_one_decimal() -> None:
    def figure(median: float | None) -> service.Figure:
        return service.Figure(dt.date(2013, 3, 4), dt.date(2013, 3, 10), 1, 2, 0.5, median)

    assert figure(31.958333333333332).median_text == "32.0"
    assert figure(1234567.25).median_text == "1234567.2"
    assert figure(2.0).median_text == "2.0"
    assert figure(None).median_text == "—"
