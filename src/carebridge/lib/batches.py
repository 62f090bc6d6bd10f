"""Long lists of ids read in slices: a bound IN (...) list stays under the databases' limits
(SQLite 32,766 parameters, PostgreSQL 65,535) and each statement stays cheap to plan."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
IN_LIST = 500  # ids per IN (...) list


def chunked(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    if size < 1:
        raise ValueError("size must be at least 1")
    for first in range(0, len(items), size):
        yield items[first : first + size]
