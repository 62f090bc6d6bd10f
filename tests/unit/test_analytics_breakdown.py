"""Breakdowns of a measure's cases, by month and by dimension, on hand-made cases whose
answers are worked out in the comments (no database: the attribution is given)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from carebridge.analytics import breakdown
from carebridge.analytics.breakdown import NOBODY, Attribution, Span
from carebridge.analytics.results import Case

P1, P2, P3 = (uuid.UUID(int=n) for n in (1, 2, 3))  # patients
DR_A, DR_B = uuid.UUID(int=101), uuid.UUID(int=102)  # practitioners
HERE = uuid.UUID(int=201)  # location
ACME, BOLT = uuid.UUID(int=301), uuid.UUID(int=302)  # payers
UNA = uuid.UUID(int=401)  # coordinator


def day(month: int, d: int) -> dt.date:
    return dt.date(2010, month, d)


# P1: Jan 10 met (Dr A on the record), Feb 3 not met (no practitioner: PCP Dr B from Feb 1)
# P2: Jan 31 met (no practitioner, no PCP), Mar 1 met with days 4 and location HERE
# P3: Mar 31 not met, days 9 (in the median all the same)
CASES = [
    Case(P1, day(1, 10), True, provider_id=DR_A, days=2.0),
    Case(P1, day(2, 3), False),
    Case(P2, day(1, 31), True, days=6.0),
    Case(P2, day(3, 1), True, location_id=HERE, days=4.0),
    Case(P3, day(3, 31), False, days=9.0),
]
ATTRIBUTION = Attribution(
    # P1's PCP: Dr A until Jan 31, Dr B from Feb 1.
    pcp={
        P1: [Span(day(1, 1), day(1, 31), DR_A), Span(day(2, 1), None, DR_B)],
    },
    # P1: Acme all along, then Bolt from Feb 2 (the latest start wins while both hold);
    # P3: Acme ended Mar 30, so nothing on Mar 31.
    coverage={
        P1: [Span(day(1, 1), None, ACME), Span(day(2, 2), None, BOLT)],
        P3: [Span(None, day(3, 30), ACME)],
    },
    coordinator={P2: UNA, P3: UNA},
    names={
        "provider": {DR_A: "Dr A", DR_B: "Dr B"},
        "location": {HERE: "Main clinic"},
        "coordinator": {UNA: "Una"},
        "payer": {ACME: "Acme", BOLT: "Bolt"},
    },
)


def counts(groups: list[breakdown.Group]) -> list[tuple[str, int, int]]:
    return [(g.label, g.figures.numerator, g.figures.denominator) for g in groups]


def test_figures_count_cases_patients_and_the_median_of_every_figure() -> None:
    f = breakdown.figures(CASES)
    # Met: P1 Jan 10, P2 Jan 31, P2 Mar 1 = 3 of 5; patients met {P1, P2}, counted all 3.
    assert (f.numerator, f.denominator) == (3, 5)
    assert (f.numerator_patients, f.denominator_patients) == (2, 3)
    assert f.rate == 3 / 5
    # Median of every case with a figure, met or not (as Tally.result takes it):
    # 2, 6, 4 and P3's 9 -> (4 + 6) / 2 = 5.
    assert f.median_days == 5.0
    empty = breakdown.figures([])
    assert (empty.rate, empty.median_days) == (None, None)


def test_trend_lists_every_month_of_the_period() -> None:
    months = breakdown.trend(CASES, day(1, 1), day(4, 15))
    assert [(m.label, m.figures.numerator, m.figures.denominator) for m in months] == [
        ("Jan 2010", 2, 2),  # Jan 10 and Jan 31, both met
        ("Feb 2010", 0, 1),  # Feb 3
        ("Mar 2010", 1, 2),  # Mar 1 met, Mar 31 not
        ("Apr 2010", 0, 0),  # no cases: no rate
    ]
    assert months[3].figures.rate is None
    assert breakdown.months(day(11, 15), dt.date(2011, 2, 1)) == [
        day(11, 1),
        day(12, 1),
        dt.date(2011, 1, 1),
        dt.date(2011, 2, 1),
    ]


def test_by_provider_the_record_first_then_the_pcp_on_the_day() -> None:
    # Jan 10: Dr A on the record. Feb 3: no practitioner, PCP then Dr B. P2 and P3: nobody.
    assert counts(breakdown.groups(CASES, ATTRIBUTION, "provider")) == [
        ("Dr A", 1, 1),
        ("Dr B", 0, 1),
        ("Not attributed", 2, 3),
    ]


def test_by_payer_the_primary_coverage_in_force_on_the_day() -> None:
    # P1 Jan 10: Acme; P1 Feb 3: Acme and Bolt both hold, Bolt started later -> Bolt.
    # P2: no coverage (both cases). P3 Mar 31: Acme ended Mar 30 -> none.
    assert counts(breakdown.groups(CASES, ATTRIBUTION, "payer")) == [
        ("Acme", 1, 1),
        ("Bolt", 0, 1),
        ("No coverage on file", 2, 3),
    ]


def test_by_coordinator_and_location() -> None:
    assert counts(breakdown.groups(CASES, ATTRIBUTION, "coordinator")) == [
        ("Una", 2, 3),  # P2 twice (met), P3 (not)
        ("No primary coordinator", 1, 2),  # P1 twice
    ]
    assert counts(breakdown.groups(CASES, ATTRIBUTION, "location")) == [
        ("Main clinic", 1, 1),
        ("Not attributed", 2, 4),
    ]
    with pytest.raises(ValueError, match="unknown dimension"):
        breakdown.groups(CASES, ATTRIBUTION, "ward")


def test_select_cases_by_value_by_nobody_and_by_several() -> None:
    def on(chosen: dict[str, uuid.UUID | str | None]) -> list[tuple[uuid.UUID, dt.date]]:
        return [(c.patient_id, c.on) for c in breakdown.select_cases(CASES, ATTRIBUTION, chosen)]

    assert on({}) == [(c.patient_id, c.on) for c in CASES]
    assert on({"provider": None}) == [(c.patient_id, c.on) for c in CASES]
    assert on({"provider": DR_B}) == [(P1, day(2, 3))]
    assert on({"provider": NOBODY}) == [(P2, day(1, 31)), (P2, day(3, 1)), (P3, day(3, 31))]
    # Una's cases with no provider: P2's two and P3's; and of those at HERE, only Mar 1.
    assert on({"coordinator": UNA, "provider": NOBODY}) == [
        (P2, day(1, 31)),
        (P2, day(3, 1)),
        (P3, day(3, 31)),
    ]
    assert on({"coordinator": UNA, "location": HERE}) == [(P2, day(3, 1))]
    assert on({"payer": ACME, "coordinator": UNA}) == []


def test_filter_values_as_typed() -> None:
    assert breakdown.wanted("") is None
    assert breakdown.wanted("  none ") == NOBODY
    assert breakdown.wanted(str(DR_A)) == DR_A
    with pytest.raises(ValueError, match="badly formed"):
        breakdown.wanted("Dr A")


def test_group_keys_and_labels() -> None:
    groups = breakdown.groups(CASES, ATTRIBUTION, "provider")
    assert [g.key for g in groups] == [str(DR_A), str(DR_B), NOBODY]
    assert ATTRIBUTION.label("payer", None) == "No coverage on file"
    assert ATTRIBUTION.label("payer", uuid.UUID(int=999)) == "Unknown"
    assert Span(day(1, 1), day(1, 31), DR_A).covers(day(1, 31))
    assert not Span(day(1, 1), day(1, 31), DR_A).covers(day(2, 1))
