"""The shapes every measure shares: its definition (``Measure``), its counted cases
(``Case``), its result (``MeasureResult``) and the ``Tally`` that builds one as the cases are
read. Measures live beside the records they count (``analytics.measures``,
``surveys.measures``); ``analytics.measures.REGISTRY`` lists them all."""

from __future__ import annotations

import datetime as dt
import functools
import gc
import statistics
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from carebridge.settings import Settings


@dataclass(frozen=True)
class Case:
    """One counted case of a measure (a discharge, a referral, a visit...): the patient, the
    local date it is dated by (for trends), whether it meets the measure, and, where the record
    says them, the practitioner and location it belongs to (for the breakdowns). ``days`` is
    the case's figure for a measure reported as a median (days to close, lead time); a case
    without one (a referral not closed) is left out of the median."""

    patient_id: uuid.UUID
    on: dt.date
    met: bool
    provider_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    days: float | None = None


@dataclass(frozen=True)
class MeasureResult:
    """One measure over one period. ``numerator_patients`` and ``denominator_patients`` are
    the distinct patients behind the counts (a patient with two discharges counts twice in the
    counts, once in the lists); ``cases`` are the counted cases themselves, for trends and
    breakdowns."""

    key: str
    first: dt.date
    last: dt.date
    numerator: int
    denominator: int
    numerator_patients: list[uuid.UUID] = field(default_factory=list)
    denominator_patients: list[uuid.UUID] = field(default_factory=list)
    excluded: int = 0
    # Median of the cases' ``days``, over the cases that have a figure (None when none has):
    # days to close (closed referrals, addressed needs), lead time and decision turnaround
    # (every case).
    median_days: float | None = None
    cases: list[Case] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


Compute = Callable[[Session, Settings, dt.date, dt.date], MeasureResult]


@dataclass(frozen=True)
class Measure:
    """A measure's definition as the dashboard and the docs show it. ``group`` gathers
    measures on the dashboard (Transitions, Referrals, Access...); ``lower_is_better`` marks
    the rates where a fall is good news (readmissions, no-shows, denials); ``median_label``
    names the median a measure reports beside its rate ("median days to close")."""

    key: str
    title: str
    numerator: str
    denominator: str
    exclusions: str
    period: str
    compute: Compute
    group: str = ""
    lower_is_better: bool = False
    median_label: str | None = None


def local_bounds(
    settings: Settings, first: dt.date, last: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants of the start of ``first`` and the end of ``last`` (exclusive), local."""
    zone = ZoneInfo(settings.timezone)
    start = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


@dataclass
class Tally:
    """A measure's counts as its cases are read: each one excluded, or in the denominator
    and, when it meets the measure, in the numerator too."""

    numerator: int = 0
    denominator: int = 0
    excluded: int = 0
    met_by: set[uuid.UUID] = field(default_factory=set)
    counted: set[uuid.UUID] = field(default_factory=set)
    cases: list[Case] = field(default_factory=list)

    def exclude(self) -> None:
        self.excluded += 1

    def count(
        self,
        patient_id: uuid.UUID,
        met: bool,
        on: dt.date,
        provider_id: uuid.UUID | None = None,
        location_id: uuid.UUID | None = None,
        days: float | None = None,
    ) -> None:
        self.denominator += 1
        self.counted.add(patient_id)
        if met:
            self.numerator += 1
            self.met_by.add(patient_id)
        self.cases.append(Case(patient_id, on, met, provider_id, location_id, days))

    def result(self, key: str, first: dt.date, last: dt.date) -> MeasureResult:
        figures = [c.days for c in self.cases if c.days is not None]
        return MeasureResult(
            key=key,
            first=first,
            last=last,
            numerator=self.numerator,
            denominator=self.denominator,
            numerator_patients=sorted(self.met_by, key=str),
            denominator_patients=sorted(self.counted, key=str),
            excluded=self.excluded,
            median_days=float(statistics.median(figures)) if figures else None,
            cases=self.cases,
        )


_pause = threading.Lock()
_paused = 0  # computes running with the collector paused
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a measure counts its cases.

    A measure over a large panel keeps hundreds of thousands of rows and cases alive at once,
    none of them in reference cycles (reference counting frees them all when the compute
    ends). The collector's passes over that growing heap took 40-50 % of a compute's time at
    100k patients and grew faster than the cases did. Computes on other threads share the
    pause: the collector comes back when the last one ends, as it was before the first.
    """
    global _paused, _was_enabled
    with _pause:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _pause:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def collector_paused_while(compute: Compute) -> Compute:
    """``compute`` run inside ``collector_paused``."""

    @functools.wraps(compute)
    def run(db: Session, settings: Settings, first: dt.date, last: dt.date) -> MeasureResult:
        with collector_paused():
            return compute(db, settings, first, last)

    return run
