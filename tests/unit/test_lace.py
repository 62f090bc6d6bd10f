"""LACE (van Walraven et al., CMAJ 2010): each component's table, and whole cases whose
arithmetic is written out beside them."""

from __future__ import annotations

import pytest

from carebridge.transitions.lace import (
    HIGH_RISK,
    MAXIMUM,
    acuity_points,
    comorbidity_points,
    ed_points,
    lace,
    length_points,
)


@pytest.mark.parametrize(
    ("days", "points"),
    [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (6, 4), (7, 5), (13, 5), (14, 7), (90, 7)],
)
def test_length_of_stay_points(days: int, points: int) -> None:
    assert length_points(days) == points


def test_acuity_points() -> None:
    assert acuity_points(True) == 3
    assert acuity_points(False) == 0


@pytest.mark.parametrize(
    ("score", "points"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 5), (5, 5), (12, 5)]
)
def test_charlson_points(score: int, points: int) -> None:
    assert comorbidity_points(score) == points


@pytest.mark.parametrize(("visits", "points"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (9, 4)])
def test_ed_visit_points(visits: int, points: int) -> None:
    assert ed_points(visits) == points


def test_lowest_and_highest_possible() -> None:
    assert lace(0, False, 0, 0).score == 0
    # L 14+ days = 7, A = 3, C >= 4 = 5, E >= 4 = 4: 7 + 3 + 5 + 4 = 19, the maximum.
    top = lace(30, True, 8, 6)
    assert top.score == MAXIMUM == 19
    assert (top.l, top.a, top.c, top.e) == (7, 3, 5, 4)


def test_worked_case_high_risk() -> None:
    # Emergency admission, 5 days (L 4-6 days = 4), A = 3, Charlson 2 (CHF 1 + COPD 1 -> C = 2),
    # one ED visit in 6 months (E = 1): 4 + 3 + 2 + 1 = 10 -> high risk (>= 10).
    result = lace(5, True, 2, 1)
    assert (result.l, result.a, result.c, result.e) == (4, 3, 2, 1)
    assert result.score == 10
    assert result.high_risk
    assert HIGH_RISK == 10


def test_worked_case_low_risk() -> None:
    # Elective admission, 2 days (L = 2), A = 0, Charlson 0, no ED visits: 2 -> low risk.
    result = lace(2, False, 0, 0)
    assert result.score == 2
    assert not result.high_risk


def test_worked_case_just_below_threshold() -> None:
    # Urgent, 3 days (L = 3), A = 3, Charlson 3 (C = 3), no ED visits: 3 + 3 + 3 + 0 = 9.
    assert lace(3, True, 3, 0).score == 9


def test_components_are_shown() -> None:
    shown = lace(8, True, 4, 2).as_dict()
    # 7-13 days = 5, acute = 3, Charlson 4 -> 5, 2 ED visits = 2: 15.
    assert shown["score"] == 15
    assert shown["high_risk"] is True
    assert {k: v["points"] for k, v in shown["components"].items()} == {
        "L": 5,
        "A": 3,
        "C": 5,
        "E": 2,
    }
    assert shown["components"]["L"]["value"] == 8
    assert shown["components"]["E"]["label"] == "ED visits in the previous 6 months"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((-1, False, 0, 0), "length of stay"),
        ((1, False, -1, 0), "Charlson"),
        ((1, False, 0, -2), "ED visits"),
    ],
)
def test_negative_inputs_are_refused_by_name(args: tuple[int, bool, int, int], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        lace(*args)
