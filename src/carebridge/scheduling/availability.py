"""Availability engine: working-hour rules, free time and bookable start times.

Pure functions, no database. Conventions:

* An interval is a half-open ``(start, end)`` pair of aware datetimes; every interval this module
  returns is in UTC, sorted, and has ``start < end``.
* A :class:`WeeklyRule` holds *local wall-clock* times (09:00-17:00) in the location's IANA zone
  and an RFC 5545 RRULE value. Each occurrence is built as a local date + time and only then
  converted to UTC, so 09:00-17:00 stays 09:00-17:00 local on both sides of a daylight-saving
  change while its UTC hours move by the change.
* Local times that do not exist or exist twice are read with ``fold=0`` (Python's rule, PEP 495):

  - a time inside a spring-forward gap is read with the offset in force *before* the gap, which
    lands it as far past the gap as it was into it: 02:30 on the day America/Chicago skips
    02:00-03:00 becomes 03:30 local (08:30 UTC). So on that day a block starting in the gap
    starts late (02:30-05:00 gives 03:30-05:00), a block lying wholly in the gap moves an hour
    on (02:00-02:45 gives 03:00-03:45), and a block whose end comes before its moved start
    (02:30-03:15) is dropped for that day;
  - a time repeated by a fall-back change is its *first* occurrence (the daylight-time one), so
    a 01:00-03:00 block on that day spans three real hours.

* Recurrence is expanded with dateutil in naive local ("floating") time, the RFC 5545 way of
  expressing wall-clock recurrence; those naive values never leave this module.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil import rrule as dateutil_rrule

from carebridge.lib.errors import ValidationFailed

__all__ = [
    "Interval",
    "WeeklyRule",
    "check_zone",
    "expand",
    "holiday_blocks",
    "local_parts",
    "merge",
    "parse_rrule",
    "slots",
    "subtract",
]

Interval: TypeAlias = tuple[datetime, datetime]

_ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# --------------------------------------------------------------------------- time zones

# Names the zone database lists but that are no place's zone.
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def check_zone(name: str) -> str:
    """Give back ``name`` if it is a known IANA time zone, else raise ValidationFailed."""
    if name in _known_zones():
        try:
            return ZoneInfo(name).key
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    message = f"{name!r} is not a known IANA time zone (for example 'America/Chicago')"
    raise ValidationFailed(message, fields={"timezone": message})


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(check_zone(name))


# --------------------------------------------------------------------------- RRULE values

_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_FINER_FREQS = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
_TIME_PARTS = frozenset({"BYHOUR", "BYMINUTE", "BYSECOND"})
# Canonical order of the parts in a normalized rule.
_PART_ORDER = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "WKST",
)
_DAY_PARTS = ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# name: (smallest magnitude, largest magnitude, negative values allowed)
_NUMBER_LISTS = {
    "BYMONTH": (1, 12, False),
    "BYWEEKNO": (1, 53, True),
    "BYYEARDAY": (1, 366, True),
    "BYMONTHDAY": (1, 31, True),
    "BYSETPOS": (1, 366, True),
}
_POSITIVE = re.compile(r"[0-9]{1,6}")
_SIGNED = re.compile(r"[+-]?[0-9]{1,3}")
_BYDAY = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"[0-9]{8}(T[0-9]{6})?")
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Any fixed start does for checking that dateutil accepts a rule.
_CHECK_START = date(2000, 1, 3)


def _invalid(text: str, problem: str) -> ValidationFailed:
    shown = " ".join(text.split())
    if len(shown) > 80:
        shown = shown[:77] + "..."
    message = f"Recurrence rule {shown!r} is not valid: {problem}"
    return ValidationFailed(message, fields={"rrule": message})


def parse_rrule(text: str, *, valid_from: date | None = None) -> str:
    """Check an RRULE value and give back its normalized text.

    The value is one RRULE (an ``RRULE:`` prefix is allowed and dropped), repeating DAILY or
    coarser; the time of day comes from the working block, so BYHOUR/BYMINUTE/BYSECOND are
    refused, and so is DTSTART (a rule starts on its ``valid_from`` date). UNTIL is a local date
    (``YYYYMMDD``) or local date-time (``YYYYMMDDTHHMMSS``) in the location's zone, not UTC.
    Rules that can never occur are refused; with ``valid_from`` the rule must also have an
    occurrence on or after that date. Normalized: upper case, no spaces, parts in a fixed order.
    Raises ValidationFailed with ``fields={"rrule": ...}`` naming the rule and what is wrong.
    """
    normalized = _normalize(text)
    if valid_from is not None and _first_occurrence(normalized, valid_from) is None:
        raise _invalid(text, f"it has no occurrence on or after {valid_from.isoformat()}")
    return normalized


@lru_cache(maxsize=1024)
def _normalize(text: str) -> str:
    body = text.strip().upper()
    if "\n" in body or "\r" in body:
        raise _invalid(text, "give a single RRULE value, without DTSTART, RDATE or EXDATE lines")
    body = body.removeprefix("RRULE:")
    if "DTSTART" in body:
        raise _invalid(
            text, "DTSTART is not part of the rule; the rule starts on its valid-from date"
        )
    body = body.removesuffix(";")
    if not body:
        raise _invalid(text, "it is empty")
    parts: dict[str, str] = {}
    for chunk in body.split(";"):
        name, sep, value = chunk.partition("=")
        name = name.strip()
        value = ",".join(item.strip() for item in value.split(","))
        if not sep or not name or not value:
            raise _invalid(text, f"{chunk.strip()!r} is not NAME=VALUE")
        if name in parts:
            raise _invalid(text, f"{name} is given twice")
        parts[name] = value
    _check_parts(text, parts)
    normalized = ";".join(f"{name}={parts[name]}" for name in _PART_ORDER if name in parts)
    try:  # dateutil has the last word on anything the checks above let through
        dateutil_rrule.rrulestr(normalized, dtstart=_midnight(_CHECK_START))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise _invalid(text, str(exc)) from exc
    return normalized


def _check_parts(text: str, parts: dict[str, str]) -> None:
    for name in parts:
        if name in _TIME_PARTS:
            raise _invalid(
                text, f"{name} is not allowed: the time of day comes from the working hours"
            )
        if name not in _PART_ORDER:
            raise _invalid(text, f"unknown part {name!r}")
    for name, (low, high, signed) in _NUMBER_LISTS.items():
        for value in parts.get(name, "").split(",") if name in parts else ():
            pattern = _SIGNED if signed else _POSITIVE
            number = int(value) if pattern.fullmatch(value) else 0
            if not low <= abs(number) <= high:
                allowed = f"{low}..{high}" + (f" or -{high}..-{low}" if signed else "")
                raise _invalid(text, f"{name} value {value!r} is not in {allowed}")
    for value in parts["BYDAY"].split(",") if "BYDAY" in parts else ():
        if not _BYDAY.fullmatch(value):
            raise _invalid(
                text,
                f"BYDAY value {value!r} is not a weekday (MO, TU, WE, TH, FR, SA, SU), "
                "optionally after a position such as 1MO or -1FR",
            )
    if "WKST" in parts and parts["WKST"] not in _WEEKDAYS:
        raise _invalid(text, f"WKST value {parts['WKST']!r} is not a weekday")

    freq = parts.get("FREQ")
    if freq is None:
        raise _invalid(text, "FREQ is missing")
    if freq in _FINER_FREQS:
        raise _invalid(
            text,
            f"FREQ={freq} is finer than DAILY; working hours repeat by day, week, month or year",
        )
    if freq not in _FREQS:
        raise _invalid(text, f"FREQ={freq} is not one of {', '.join(_FREQS)}")
    for name in ("INTERVAL", "COUNT"):
        if name in parts and (not _POSITIVE.fullmatch(parts[name]) or int(parts[name]) < 1):
            raise _invalid(text, f"{name} must be a whole number of at least 1")
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        if until.endswith("Z") or not _UNTIL.fullmatch(until):
            raise _invalid(
                text,
                f"UNTIL={until} must be a local date (YYYYMMDD) or local date-time "
                "(YYYYMMDDTHHMMSS) in the location's zone, not UTC",
            )
        if "COUNT" in parts:
            raise _invalid(text, "COUNT and UNTIL cannot both be given")
    if "BYWEEKNO" in parts and freq != "YEARLY":
        raise _invalid(text, "BYWEEKNO needs FREQ=YEARLY")
    if "BYYEARDAY" in parts and freq != "YEARLY":
        raise _invalid(text, "BYYEARDAY needs FREQ=YEARLY")
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise _invalid(text, "BYMONTHDAY cannot be used with FREQ=WEEKLY")
    for value in parts["BYDAY"].split(",") if "BYDAY" in parts else ():
        position = _BYDAY.fullmatch(value)
        if position is None or not position.group(1):
            continue
        if freq not in ("MONTHLY", "YEARLY"):
            raise _invalid(
                text, f"BYDAY value {value} has a position, which needs MONTHLY or YEARLY"
            )
        if "BYWEEKNO" in parts:
            raise _invalid(
                text, f"BYDAY value {value} has a position, which BYWEEKNO does not allow"
            )
        limit = 5 if freq == "MONTHLY" or "BYMONTH" in parts else 53
        if not 1 <= abs(int(position.group(1))) <= limit:
            raise _invalid(text, f"BYDAY position in {value} is not in 1..{limit} or -{limit}..-1")
    _check_can_occur(text, freq, parts)


def _check_can_occur(text: str, freq: str, parts: dict[str, str]) -> None:
    """Refuse quickly the rules that can never match (dateutil would search to year 9999)."""
    if "BYSETPOS" in parts and freq in ("DAILY", "WEEKLY"):
        per_period = 1 if freq == "DAILY" else len(set(parts.get("BYDAY", "MO").split(",")))
        if all(abs(int(value)) > per_period for value in parts["BYSETPOS"].split(",")):
            raise _invalid(
                text,
                f"it never occurs: BYSETPOS picks beyond the {per_period} day(s) of each period",
            )
    if "BYMONTH" in parts and "BYMONTHDAY" in parts:
        months = [int(value) for value in parts["BYMONTH"].split(",")]
        days = [abs(int(value)) for value in parts["BYMONTHDAY"].split(",")]
        if not any(day <= _MONTH_DAYS[month - 1] for month in months for day in days):
            raise _invalid(text, "it never occurs: none of the BYMONTH months has those days")


@lru_cache(maxsize=1024)
def _parts(normalized: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, value) for name, _, value in (part.partition("=") for part in normalized.split(";"))
    )


def _midnight(day: date) -> datetime:
    """Local midnight of ``day`` as the naive ("floating") datetime dateutil recurs over."""
    return datetime.combine(day, time())


@lru_cache(maxsize=512)
def _compiled(text: str, start: date) -> dateutil_rrule.rrule:
    compiled = dateutil_rrule.rrulestr(text, dtstart=_midnight(start))
    assert isinstance(compiled, dateutil_rrule.rrule)
    return compiled


@lru_cache(maxsize=1024)
def _first_occurrence(normalized: str, valid_from: date) -> date | None:
    start = _midnight(valid_from)
    first = _compiled(normalized, valid_from).after(start, inc=True)
    return None if first is None else first.date()


def _iteration_start(normalized: str, valid_from: date, low: date) -> tuple[str, date]:
    """A rule equivalent to ``normalized`` from ``valid_from``, but started close to ``low``.

    dateutil always iterates from DTSTART. Moving the start forward by whole periods of the
    rule (``INTERVAL`` days, weeks, months or years) keeps every occurrence on or after ``low``
    the same, provided the periods that select them are whole: so the start is kept one full
    period before ``low``, and the defaults dateutil takes from DTSTART (the day of the month,
    the month) are written out. COUNT counts from the real start, so such rules are not moved.
    """
    parts = dict(_parts(normalized))
    if "COUNT" in parts or low <= valid_from:
        return normalized, valid_from
    freq = parts["FREQ"]
    interval = int(parts.get("INTERVAL", "1"))
    if freq in ("DAILY", "WEEKLY"):
        period = interval * (7 if freq == "WEEKLY" else 1)
        periods = (low - valid_from).days // period - 1
        if periods <= 0:
            return normalized, valid_from
        return normalized, valid_from + timedelta(days=periods * period)
    if freq == "MONTHLY":
        months = (low.year - valid_from.year) * 12 + low.month - valid_from.month
        periods = months // interval - 1
        if periods <= 0:
            return normalized, valid_from
        index = valid_from.month - 1 + periods * interval
        start = date(valid_from.year + index // 12, index % 12 + 1, 1)
    else:  # YEARLY
        periods = (low.year - valid_from.year) // interval - 1
        if periods <= 0:
            return normalized, valid_from
        start = date(valid_from.year + periods * interval, 1, 1)
    if not any(name in parts for name in _DAY_PARTS):
        parts["BYMONTHDAY"] = str(valid_from.day)
        if freq == "YEARLY":
            parts.setdefault("BYMONTH", str(valid_from.month))
    text = ";".join(f"{name}={parts[name]}" for name in _PART_ORDER if name in parts)
    return text, start


def _occurrence_days(normalized: str, valid_from: date, low: date, high: date) -> list[date]:
    """Local dates in ``[low, high]`` on which the rule started on ``valid_from`` occurs."""
    text, start = _iteration_start(normalized, valid_from, low)
    found = _compiled(text, start).between(_midnight(low), _midnight(high), inc=True)
    return [moment.date() for moment in found]


# --------------------------------------------------------------------------- working rules


@dataclass(frozen=True, kw_only=True)
class WeeklyRule:
    """Recurring working hours: ``start``-``end`` local time on each day the RRULE selects.

    ``valid_from`` and ``valid_until`` are inclusive local dates; ``exdates`` are local dates
    skipped. ``key`` is the caller's id for the rule, carried untouched. Construction checks
    everything and raises ValidationFailed (fields ``rrule``, ``timezone``, ``start_time``,
    ``end_time``, ``valid_until``); the stored ``rrule`` is the normalized text.
    """

    rrule: str
    start: time
    end: time
    valid_from: date
    valid_until: date | None = None
    zone: str
    key: Hashable
    exdates: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        check_zone(self.zone)
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            message = "Working hours are local wall-clock times, without a zone"
            raise ValidationFailed(message, fields={"start_time": message})
        if self.end <= self.start:
            message = (
                f"Working hours must end after they start "
                f"({self.start.isoformat('minutes')}-{self.end.isoformat('minutes')})"
            )
            raise ValidationFailed(message, fields={"end_time": message})
        if self.valid_until is not None and self.valid_until < self.valid_from:
            message = f"Valid until {self.valid_until} is before valid from {self.valid_from}"
            raise ValidationFailed(message, fields={"valid_until": message})
        # Checking that the rule occurs at all also bounds every later search (see expand).
        normalized = parse_rrule(self.rrule, valid_from=self.valid_from)
        object.__setattr__(self, "rrule", normalized)
        object.__setattr__(self, "start", self.start.replace(fold=0))
        object.__setattr__(self, "end", self.end.replace(fold=0))
        object.__setattr__(self, "exdates", tuple(sorted(set(self.exdates))))


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def expand(rule: WeeklyRule, window_start: datetime, window_end: datetime) -> list[Interval]:
    """The rule's working intervals that overlap ``[window_start, window_end)``, clipped to it.

    Sorted aware UTC intervals. Each occurrence is the local date the RRULE selects combined
    with the local start and end times in the rule's zone (``fold=0``, see the module notes),
    then converted to UTC. The search starts near the window, not at ``valid_from``, so the
    cost follows the window's length, not the rule's age.
    """
    low_utc = _utc(window_start, "window_start")
    high_utc = _utc(window_end, "window_end")
    if high_utc <= low_utc:
        return []
    zone = _zone(rule.zone)
    # A day's block lies within that local day, so local days one either side cover the window.
    low = max(_shift_day(low_utc.astimezone(zone).date(), -1), rule.valid_from)
    high = _shift_day(high_utc.astimezone(zone).date(), 1)
    if rule.valid_until is not None:
        high = min(high, rule.valid_until)
    if high < low:
        return []
    skipped = set(rule.exdates)
    found: list[Interval] = []
    for day in _occurrence_days(rule.rrule, rule.valid_from, low, high):
        if day in skipped:
            continue
        start = datetime.combine(day, rule.start, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, rule.end, tzinfo=zone).astimezone(UTC)
        start, end = max(start, low_utc), min(end, high_utc)
        if start < end:
            found.append((start, end))
    return found


def _shift_day(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return day


# --------------------------------------------------------------------------- intervals


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals: sorted, disjoint and not touching, in UTC; empty ones dropped."""
    ordered = sorted(
        (_utc(start, "interval start"), _utc(end, "interval end"))
        for start, end in intervals
        if start < end
    )
    merged: list[Interval] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(free: Iterable[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """The parts of ``free`` not covered by ``busy``: sorted, disjoint, in UTC.

    Either list may be unsorted or overlap itself; O((n + m) log(n + m)).
    """
    busy_merged = merge(busy)
    result: list[Interval] = []
    index = 0
    for start, end in merge(free):
        # Busy intervals ending at or before this free start cannot touch it or any later one.
        while index < len(busy_merged) and busy_merged[index][1] <= start:
            index += 1
        cursor = start
        scan = index
        while scan < len(busy_merged) and busy_merged[scan][0] < end:
            busy_start, busy_end = busy_merged[scan]
            if busy_start > cursor:
                result.append((cursor, busy_start))
            cursor = max(cursor, busy_end)
            if busy_end >= end:
                break
            scan += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def holiday_blocks(dates: Iterable[date], zone: str) -> list[Interval]:
    """Whole local days (local midnight to the next local midnight) as merged UTC intervals.

    A day with a daylight-saving change is 23 or 25 hours long.
    """
    tz = _zone(zone)
    return merge(
        (
            datetime.combine(day, time(), tzinfo=tz).astimezone(UTC),
            datetime.combine(day + _ONE_DAY, time(), tzinfo=tz).astimezone(UTC),
        )
        for day in set(dates)
    )


def _ceil_to_step(moment: datetime, step: timedelta) -> datetime:
    remainder = (moment - _EPOCH) % step
    return moment if not remainder else moment + (step - remainder)


def slots(
    free: Iterable[Interval],
    duration: timedelta,
    buffer: timedelta,
    step: timedelta = timedelta(minutes=15),
    not_before: datetime | None = None,
) -> Iterator[datetime]:
    """Candidate start times, in order, for a visit of ``duration`` followed by ``buffer``.

    A start is yielded when ``[start, start + duration + buffer)`` lies inside one free
    interval (touching free intervals count as one) and ``start >= not_before``. Starts are
    multiples of ``step`` counted from the Unix epoch in UTC, so with a step that divides an
    hour they fall on the same minutes past the hour in any zone with a whole-hour offset.
    """
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if buffer < timedelta(0):
        raise ValueError("buffer must not be negative")
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    earliest = None if not_before is None else _utc(not_before, "not_before")
    needed = duration + buffer
    for start, end in merge(free):
        if earliest is not None:
            if earliest >= end:
                continue
            start = max(start, earliest)
        candidate = _ceil_to_step(start, step)
        while candidate + needed <= end:
            yield candidate
            candidate += step


def local_parts(moment: datetime, zone: str) -> tuple[date, time, int]:
    """``moment`` in ``zone``: local date, local wall-clock time (naive) and ISO weekday (1=Mon)."""
    local = _utc(moment, "moment").astimezone(_zone(zone))
    return local.date(), local.time(), local.isoweekday()
