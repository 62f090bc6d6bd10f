"""The Charlson comorbidity index from ICD-10 diagnosis codes.

Conditions are found with the ICD-10 coding algorithm of Quan et al., "Coding algorithms for
defining comorbidities in ICD-9-CM and ICD-10 administrative data", Med Care 2005;43:1130-9
(Table 1, ICD-10 column), and weighted as Charlson et al. weighted them (J Chronic Dis 1987):
1 for most conditions, 2 for diabetes with chronic complications, hemiplegia or paraplegia,
renal disease and any malignancy, 3 for moderate or severe liver disease, 6 for metastatic
solid tumour and AIDS/HIV.

Where a condition has a milder and a more severe form, only the more severe is counted:
mild vs moderate/severe liver disease, diabetes without vs with chronic complications, and
any malignancy vs metastatic solid tumour.

Codes are compared without their dot and case-insensitively; a code matches a condition when
it starts with one of the condition's prefixes (``I21`` matches ``I21.4`` and ``I214``).
ICD-10-CM codes (as the United States uses them) share these prefixes; categories that exist
only in the WHO edition (``E14``, ``F00``, ``B21``...) are kept so that codes from another
edition are still recognised."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def _span(stem: str, first: int, last: int, width: int = 1) -> tuple[str, ...]:
    """Prefixes ``stem`` + each number from ``first`` to ``last`` (zero-padded to
    ``width``): ``_span("I4", 25, 29, 2)`` is I425, I426, ..., I429."""
    return tuple(f"{stem}{n:0{width}d}" for n in range(first, last + 1))


@dataclass(frozen=True)
class Condition:
    key: str
    label: str
    weight: int
    prefixes: tuple[str, ...]


CONDITIONS: tuple[Condition, ...] = (
    Condition("mi", "Myocardial infarction", 1, ("I21", "I22", "I252")),
    Condition(
        "chf",
        "Congestive heart failure",
        1,
        (
            "I099",
            "I110",
            "I130",
            "I132",
            "I255",
            "I420",
            *_span("I42", 5, 9),
            "I43",
            "I50",
            "P290",
        ),
    ),
    Condition(
        "pvd",
        "Peripheral vascular disease",
        1,
        (
            "I70",
            "I71",
            "I731",
            "I738",
            "I739",
            "I771",
            "I790",
            "I792",
            "K551",
            "K558",
            "K559",
            "Z958",
            "Z959",
        ),
    ),
    Condition(
        "cevd",
        "Cerebrovascular disease",
        1,
        ("G45", "G46", "H340", *_span("I", 60, 69, 2)),
    ),
    Condition("dementia", "Dementia", 1, (*_span("F0", 0, 3), "F051", "G30", "G311")),
    Condition(
        "copd",
        "Chronic pulmonary disease",
        1,
        (
            "I278",
            "I279",
            *_span("J", 40, 47, 2),
            *_span("J", 60, 67, 2),
            "J684",
            "J701",
            "J703",
        ),
    ),
    Condition(
        "rheumatic",
        "Rheumatic disease",
        1,
        ("M05", "M06", "M315", "M32", "M33", "M34", "M351", "M353", "M360"),
    ),
    Condition("pud", "Peptic ulcer disease", 1, _span("K", 25, 28, 2)),
    Condition(
        "mild_liver",
        "Mild liver disease",
        1,
        (
            "B18",
            *_span("K70", 0, 3),
            "K709",
            *_span("K71", 3, 5),
            "K717",
            "K73",
            "K74",
            "K760",
            *_span("K76", 2, 4),
            "K768",
            "K769",
            "Z944",
        ),
    ),
    Condition(
        "diabetes",
        "Diabetes without chronic complication",
        1,
        tuple(f"E1{t}{d}" for t in range(0, 5) for d in (0, 1, 6, 8, 9)),
    ),
    Condition(
        "diabetes_complicated",
        "Diabetes with chronic complication",
        2,
        tuple(f"E1{t}{d}" for t in range(0, 5) for d in (2, 3, 4, 5, 7)),
    ),
    Condition(
        "hemiplegia",
        "Hemiplegia or paraplegia",
        2,
        ("G041", "G114", "G801", "G802", "G81", "G82", *_span("G83", 0, 4), "G839"),
    ),
    Condition(
        "renal",
        "Renal disease",
        2,
        (
            "I120",
            "I131",
            *_span("N03", 2, 7),
            *_span("N05", 2, 7),
            "N18",
            "N19",
            "N250",
            *_span("Z49", 0, 2),
            "Z940",
            "Z992",
        ),
    ),
    Condition(
        "cancer",
        "Any malignancy, including lymphoma and leukaemia, except skin",
        2,
        (
            *_span("C", 0, 26, 2),
            *_span("C", 30, 34),
            *_span("C", 37, 41),
            "C43",
            *_span("C", 45, 58),
            *_span("C", 60, 76),
            *_span("C", 81, 85),
            "C88",
            *_span("C", 90, 97),
        ),
    ),
    Condition(
        "severe_liver",
        "Moderate or severe liver disease",
        3,
        (
            "I850",
            "I859",
            "I864",
            "I982",
            "K704",
            "K711",
            "K721",
            "K729",
            "K765",
            "K766",
            "K767",
        ),
    ),
    Condition("metastatic", "Metastatic solid tumour", 6, _span("C", 77, 80)),
    Condition("aids", "AIDS/HIV", 6, ("B20", "B21", "B22", "B24")),
)
BY_KEY = {c.key: c for c in CONDITIONS}
# The milder form is not counted when the more severe one is present.
HIERARCHY: dict[str, str] = {
    "mild_liver": "severe_liver",
    "diabetes": "diabetes_complicated",
    "cancer": "metastatic",
}


def normalize(code: str) -> str:
    """``e11.65`` -> ``E1165``: upper case, no dot, no spaces."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def conditions_of(code: str) -> list[str]:
    """The Charlson conditions (keys) one ICD-10 code belongs to; empty if none."""
    plain = normalize(code)
    if not plain:
        return []
    return [c.key for c in CONDITIONS if plain.startswith(c.prefixes)]


@dataclass
class CharlsonResult:
    score: int
    # condition key -> the codes that showed it (all found, before the hierarchy)
    found: dict[str, list[str]] = field(default_factory=dict)
    # condition keys counted in the score, after the hierarchy, in CONDITIONS order
    counted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "conditions": [
                {
                    "key": key,
                    "label": BY_KEY[key].label,
                    "weight": BY_KEY[key].weight,
                    "codes": self.found[key],
                }
                for key in self.counted
            ],
            "not_counted": [
                {"key": key, "label": BY_KEY[key].label, "because": HIERARCHY[key]}
                for key in self.found
                if key not in self.counted
            ],
        }


def charlson(codes: Iterable[str]) -> CharlsonResult:
    """The Charlson index of a set of ICD-10 codes (each condition counts once)."""
    found: dict[str, list[str]] = {}
    for code in codes:
        for key in conditions_of(code):
            shown = code.strip().upper()
            if shown not in found.setdefault(key, []):
                found[key].append(shown)
    counted = [
        c.key
        for c in CONDITIONS
        if c.key in found and not (c.key in HIERARCHY and HIERARCHY[c.key] in found)
    ]
    ordered = {c.key: found[c.key] for c in CONDITIONS if c.key in found}
    return CharlsonResult(
        score=sum(BY_KEY[key].weight for key in counted), found=ordered, counted=counted
    )
