"""Offset paging parameters shared by list endpoints and screens."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page:
    number: int = 1
    size: int = 50

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ValueError("page number starts at 1")
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise ValueError(f"page size must be between 1 and {MAX_PAGE_SIZE}")

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size
