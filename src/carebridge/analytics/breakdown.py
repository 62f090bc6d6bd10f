"""A measure's counted cases by month and by who or where they belong to.

A ``MeasureResult`` carries its cases (``results.Case``): the patient, the local date the case
is dated by and whether it meets the measure, with the practitioner and location when the
record names them. This module turns them into what the dashboard shows:

* ``trend``: numerator, denominator and rate per calendar month of ``Case.on``, every month of
  the period listed (an empty month has no rate);
* ``attribute`` then ``groups``: the cases by one dimension,

  - provider: the case's practitioner, else the patient's primary care provider on the care
    team on the case's date (a team member with role "pcp" who is one of our practitioners:
    a staff member whose user is the practitioner's, or an outside provider with the
    practitioner's NPI), else "Not attributed";
  - coordinator: the patient's primary coordinator (``Patient.primary_coordinator_id``), else
    "No primary coordinator";
  - location: the case's location, else "Not attributed";
  - payer: the payer of the patient's primary coverage (rank 1, status active) in force on the
    case's date, else "No coverage on file";

* ``select``: the cases that match chosen values of the dimensions (the dashboard filters);
* ``figures``: counts, rate, distinct patients and median of a set of cases, as ``Tally``
  would have given them.

Look-ups are set queries over the cases' patients (a few per dimension, in chunks), never one
query per patient.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from carebridge.analytics.results import Case
from carebridge.careplans.models import CareTeamMember
from carebridge.coverage.models import Coverage, Payer
from carebridge.lib.batches import chunked
from carebridge.patients.models import Patient
from carebridge.scheduling.models import Location, Practitioner
from carebridge.security.models import User

DIMENSIONS: dict[str, str] = {
    "provider": "Provider",
    "coordinator": "Coordinator",
    "location": "Location",
    "payer": "Payer",
}
# What a case attributed to nobody is called, per dimension.
UNATTRIBUTED: dict[str, str] = {
    "provider": "Not attributed",
    "coordinator": "No primary coordinator",
    "location": "Not attributed",
    "payer": "No coverage on file",
}
# The filter value that picks the cases attributed to nobody.
NOBODY = "none"
PCP_ROLE = "pcp"
# Below this many patients the look-ups filter by patient id (in chunks); above it, reading
# the whole (small) table of care-team PCPs or primary coverages is cheaper.
_WHOLE_TABLE_FROM = 20_000


@dataclass(frozen=True)
class Span:
    """Something true of a patient from ``start`` to ``end`` (inclusive; None: open)."""

    start: dt.date | None
    end: dt.date | None
    value: uuid.UUID

    def covers(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Attribution:
    """Who and where each case belongs to, read once for a set of cases."""

    pcp: Mapping[uuid.UUID, Sequence[Span]] = field(default_factory=dict)
    coverage: Mapping[uuid.UUID, Sequence[Span]] = field(default_factory=dict)
    coordinator: Mapping[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    names: Mapping[str, Mapping[uuid.UUID, str]] = field(default_factory=dict)

    def of(self, case: Case, dimension: str) -> uuid.UUID | None:
        """The id the case is attributed to in ``dimension`` (None: nobody)."""
        if dimension == "provider":
            return case.provider_id or _on(self.pcp.get(case.patient_id, ()), case.on)
        if dimension == "location":
            return case.location_id
        if dimension == "coordinator":
            return self.coordinator.get(case.patient_id)
        if dimension == "payer":
            return _on(self.coverage.get(case.patient_id, ()), case.on)
        raise ValueError(f"unknown dimension {dimension!r}")

    def label(self, dimension: str, value: uuid.UUID | None) -> str:
        if value is None:
            return UNATTRIBUTED[dimension]
        return self.names.get(dimension, {}).get(value, "Unknown")


def _on(spans: Iterable[Span], day: dt.date) -> uuid.UUID | None:
    """The value of the latest-starting span in force on ``day``."""
    found = [s for s in spans if s.covers(day)]
    if not found:
        return None
    return max(found, key=lambda s: s.start or dt.date.min).value


def _rows(
    db: Session, query: Select[*tuple[Any, ...]], column: Any, ids: Sequence[uuid.UUID]
) -> Iterator[Any]:
    """``query``'s rows for the patients ``ids`` (``column`` is its patient id column)."""
    if len(ids) >= _WHOLE_TABLE_FROM:
        wanted = set(ids)
        for row in db.execute(query):
            if row[0] in wanted:
                yield row
        return
    for chunk in chunked(ids):
        yield from db.execute(query.where(column.in_(chunk)))


def _names(db: Session, model: Any, label: Any, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    listed = sorted(ids, key=str)
    for chunk in chunked(listed):
        for value, name in db.execute(select(model.id, label).where(model.id.in_(chunk))):
            names[value] = name
    return names


def attribute(db: Session, cases: Sequence[Case]) -> Attribution:
    """Read, for the cases' patients, their care-team PCPs, primary coverages and primary
    coordinators, and the names of everyone and everywhere the cases are attributed to."""
    ids = sorted({c.patient_id for c in cases}, key=str)
    if not ids:
        return Attribution()
    pcp: dict[uuid.UUID, list[Span]] = defaultdict(list)
    team = (
        select(CareTeamMember.patient_id, CareTeamMember.start_on, CareTeamMember.end_on)
        .where(CareTeamMember.role == PCP_ROLE)
        .order_by(CareTeamMember.patient_id)
    )
    staff = team.add_columns(Practitioner.id).join(
        Practitioner, Practitioner.user_id == CareTeamMember.user_id
    )
    outside = team.add_columns(Practitioner.id).join(
        Practitioner, Practitioner.npi == CareTeamMember.npi
    )
    for query in (
        staff.where(CareTeamMember.user_id.is_not(None)),
        outside.where(CareTeamMember.npi.is_not(None), CareTeamMember.user_id.is_(None)),
    ):
        for patient_id, start, end, practitioner_id in _rows(
            db, query, CareTeamMember.patient_id, ids
        ):
            pcp[patient_id].append(Span(start, end, practitioner_id))

    coverage: dict[uuid.UUID, list[Span]] = defaultdict(list)
    primary = select(
        Coverage.patient_id, Coverage.start_on, Coverage.end_on, Coverage.payer_ref
    ).where(Coverage.status == "active", Coverage.rank == 1)
    for patient_id, start, end, payer in _rows(db, primary, Coverage.patient_id, ids):
        coverage[patient_id].append(Span(start, end, payer))

    coordinator: dict[uuid.UUID, uuid.UUID] = {}
    owners = select(Patient.id, Patient.primary_coordinator_id).where(
        Patient.primary_coordinator_id.is_not(None)
    )
    for patient_id, user_id in _rows(db, owners, Patient.id, ids):
        coordinator[patient_id] = user_id

    partial = Attribution(pcp=pcp, coverage=coverage, coordinator=coordinator)
    used: dict[str, set[uuid.UUID]] = {d: set() for d in DIMENSIONS}
    for case in cases:
        for dimension in DIMENSIONS:
            value = partial.of(case, dimension)
            if value is not None:
                used[dimension].add(value)
    names = {
        "provider": _names(db, Practitioner, Practitioner.name, used["provider"]),
        "location": _names(db, Location, Location.name, used["location"]),
        "coordinator": _names(db, User, User.display_name, used["coordinator"]),
        "payer": _names(db, Payer, Payer.name, used["payer"]),
    }
    return Attribution(pcp=pcp, coverage=coverage, coordinator=coordinator, names=names)


def wanted(value: str) -> uuid.UUID | str | None:
    """A filter's value as typed: "" (everyone) -> None, "none" -> NOBODY, else the id;
    anything else raises ValueError."""
    value = value.strip()
    if not value:
        return None
    if value == NOBODY:
        return NOBODY
    return uuid.UUID(value)


def select_cases(
    cases: Iterable[Case], attribution: Attribution, chosen: Mapping[str, uuid.UUID | str | None]
) -> list[Case]:
    """The cases whose every chosen dimension matches (``NOBODY``: attributed to nobody)."""
    active = {d: v for d, v in chosen.items() if v is not None}
    if not active:
        return list(cases)
    kept = []
    for case in cases:
        for dimension, value in active.items():
            found = attribution.of(case, dimension)
            if (found is None and value != NOBODY) or (found is not None and found != value):
                break
        else:
            kept.append(case)
    return kept


@dataclass(frozen=True)
class Figures:
    """Counts over some cases, as ``Tally.result`` gives them."""

    numerator: int
    denominator: int
    numerator_patients: int
    denominator_patients: int
    median_days: float | None

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def figures(cases: Sequence[Case]) -> Figures:
    met = [c for c in cases if c.met]
    days = [c.days for c in cases if c.days is not None]
    return Figures(
        numerator=len(met),
        denominator=len(cases),
        numerator_patients=len({c.patient_id for c in met}),
        denominator_patients=len({c.patient_id for c in cases}),
        median_days=float(statistics.median(days)) if days else None,
    )


@dataclass(frozen=True)
class Month:
    month: dt.date  # its first day
    figures: Figures

    @property
    def label(self) -> str:
        return f"{self.month:%b %Y}"


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the calendar months from ``first``'s to ``last``'s."""
    found = []
    day = first.replace(day=1)
    while day <= last:
        found.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return found


def trend(cases: Sequence[Case], first: dt.date, last: dt.date) -> list[Month]:
    """Figures per month of ``Case.on`` over every month from ``first`` to ``last``."""
    by_month: dict[dt.date, list[Case]] = defaultdict(list)
    for case in cases:
        by_month[case.on.replace(day=1)].append(case)
    return [Month(m, figures(by_month.get(m, []))) for m in months(first, last)]


@dataclass(frozen=True)
class Group:
    """The cases attributed to one value of a dimension."""

    dimension: str
    value: uuid.UUID | None
    label: str
    figures: Figures

    @property
    def key(self) -> str:
        """The value as the filter takes it."""
        return NOBODY if self.value is None else str(self.value)


def groups(cases: Sequence[Case], attribution: Attribution, dimension: str) -> list[Group]:
    """The cases by ``dimension``, by name, the unattributed last."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    by_value: dict[uuid.UUID | None, list[Case]] = defaultdict(list)
    for case in cases:
        by_value[attribution.of(case, dimension)].append(case)
    found = [
        Group(dimension, value, attribution.label(dimension, value), figures(items))
        for value, items in by_value.items()
    ]
    found.sort(key=lambda g: (g.value is None, g.label.casefold(), str(g.value)))
    return found
