"""The LACE index of the risk of death or unplanned readmission within 30 days of discharge
(van Walraven et al., CMAJ 2010;182:551-7).

    L  length of stay in days: <1 -> 0, 1 -> 1, 2 -> 2, 3 -> 3, 4-6 -> 4, 7-13 -> 5, >=14 -> 7
    A  acute (emergent) admission -> 3
    C  Charlson comorbidity index score: 0 -> 0, 1 -> 1, 2 -> 2, 3 -> 3, >=4 -> 5
    E  emergency department visits in the 6 months before admission:
       0 -> 0, 1 -> 1, 2 -> 2, 3 -> 3, >=4 -> 4

The total runs from 0 to 19; 10 or more is high risk. Length of stay is counted in calendar
days from the day of admission to the day of discharge (a same-day stay is 0 days)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HIGH_RISK = 10
MAXIMUM = 19


def length_points(days: int) -> int:
    if days < 0:
        raise ValueError(f"length of stay must not be negative, got {days} days")
    if days < 1:
        return 0
    if days <= 3:
        return days
    if days <= 6:
        return 4
    if days <= 13:
        return 5
    return 7


def acuity_points(acute: bool) -> int:
    return 3 if acute else 0


def comorbidity_points(charlson_score: int) -> int:
    if charlson_score < 0:
        raise ValueError(f"Charlson score must not be negative, got {charlson_score}")
    return charlson_score if charlson_score <= 3 else 5


def ed_points(visits: int) -> int:
    if visits < 0:
        raise ValueError(f"ED visits must not be negative, got {visits}")
    return min(visits, 4)


@dataclass(frozen=True)
class Lace:
    length_of_stay_days: int
    acute: bool
    charlson_score: int
    ed_visits: int

    @property
    def l(self) -> int:  # noqa: E743 - the paper's letter
        return length_points(self.length_of_stay_days)

    @property
    def a(self) -> int:
        return acuity_points(self.acute)

    @property
    def c(self) -> int:
        return comorbidity_points(self.charlson_score)

    @property
    def e(self) -> int:
        return ed_points(self.ed_visits)

    @property
    def score(self) -> int:
        return self.l + self.a + self.c + self.e

    @property
    def high_risk(self) -> bool:
        return self.score >= HIGH_RISK

    def as_dict(self) -> dict[str, Any]:
        """The score with each component: its input and its points."""
        return {
            "score": self.score,
            "high_risk": self.high_risk,
            "components": {
                "L": {
                    "label": "Length of stay",
                    "value": self.length_of_stay_days,
                    "unit": "days",
                    "points": self.l,
                },
                "A": {"label": "Acute (emergent) admission", "value": self.acute, "points": self.a},
                "C": {
                    "label": "Charlson comorbidity index",
                    "value": self.charlson_score,
                    "points": self.c,
                },
                "E": {
                    "label": "ED visits in the previous 6 months",
                    "value": self.ed_visits,
                    "points": self.e,
                },
            },
        }


def lace(length_of_stay_days: int, acute: bool, charlson_score: int, ed_visits: int) -> Lace:
    """The LACE index; refuses negative inputs (ValueError naming which)."""
    result = Lace(length_of_stay_days, acute, charlson_score, ed_visits)
    length_points(length_of_stay_days)
    comorbidity_points(charlson_score)
    ed_points(ed_visits)
    return result
