"""Aware time only: everything is stored in UTC and shown in a location's zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Give back ``value`` in UTC; naive values (SQLite returns them) are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def age_on(born: date, today: date) -> tuple[int, int]:
    """Whole years and the months beyond them, on ``today``."""
    months = (today.year - born.year) * 12 + today.month - born.month
    if today.day < born.day:
        months -= 1
    months = max(months, 0)
    return months // 12, months % 12


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(value: str) -> date | None:
    """A day typed exactly as YYYY-MM-DD, else None: ``date.fromisoformat`` alone also takes
    "20260131" and week dates ("2026-W05-1"); a day that does not exist (2026-02-30) is None."""
    if not _ISO_DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
