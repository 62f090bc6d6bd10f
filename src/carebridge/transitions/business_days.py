"""Business days of the clinic: Monday to Friday, less the US federal holidays (as observed:
a holiday on a Saturday is taken the Friday before, on a Sunday the Monday after, by the
``holidays`` library), the days listed in ``settings.clinic_holidays`` and the clinic-wide
closures of the scheduling domain (``Holiday`` rows without a location)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.scheduling.models import Holiday
from carebridge.settings import Settings

# How far past the start to look for closures at a time; extended while counting if needed.
_WINDOW = dt.timedelta(days=60)


def federal_holidays(first: dt.date, last: dt.date) -> set[dt.date]:
    """US federal holidays observed in ``[first, last]``."""
    calendar = holiday_calendars.country_holidays(
        "US", years=range(first.year, last.year + 1), observed=True
    )
    return {day for day in calendar if first <= day <= last}


def clinic_closures(
    first: dt.date, last: dt.date, settings: Settings, db: Session | None
) -> set[dt.date]:
    """Every day in ``[first, last]`` the clinic is closed besides weekends."""
    closed = federal_holidays(first, last)
    closed.update(day for day in settings.clinic_holidays if first <= day <= last)
    if db is not None:
        closed.update(
            db.scalars(
                select(Holiday.day).where(
                    Holiday.location_id.is_(None), Holiday.day >= first, Holiday.day <= last
                )
            )
        )
    return closed


def is_business_day(day: dt.date, closed: Iterable[dt.date]) -> bool:
    return day.weekday() < 5 and day not in set(closed)


def add_business_days(start: dt.date, n: int, settings: Settings, db: Session | None) -> dt.date:
    """The ``n``-th business day after ``start`` (``start`` itself does not count, whatever
    it is); ``n == 0`` gives ``start`` back."""
    if n < 0:
        raise ValueError(f"business days to add must not be negative, got {n}")
    day = start
    counted = 0
    window_end = start
    closed: set[dt.date] = set()
    while counted < n:
        day += dt.timedelta(days=1)
        if day > window_end:
            window_end = day + _WINDOW
            closed = clinic_closures(day, window_end, settings, db)
        if day.weekday() < 5 and day not in closed:
            counted += 1
    return day


def end_of_day(day: dt.date, settings: Settings) -> dt.datetime:
    """The last minute of ``day`` in the clinic's time zone, in UTC (when a task due "on
    that day" is late)."""
    zone = ZoneInfo(settings.timezone)
    local = dt.datetime.combine(day, dt.time(23, 59), tzinfo=zone)
    return local.astimezone(dt.UTC)


def local_date(moment: dt.datetime, settings: Settings) -> dt.date:
    """The clinic-local calendar date of an aware (or UTC-naive) moment."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(settings.timezone)).date()
