"""The HOSPITAL score of the risk of potentially avoidable readmission within 30 days
(Donzé et al., JAMA Intern Med 2013;173:632-8).

    H  haemoglobin at discharge < 12 g/dL -> 1
    O  discharge from an oncology service -> 2
    S  sodium at discharge < 135 mmol/L -> 1
    P  any coded procedure during the stay -> 1
    I  index admission urgent or emergent (non-elective) -> 1
    T  hospital admissions in the previous 12 months: 0-1 -> 0, 2-5 -> 2, > 5 -> 5
    A  length of stay >= 5 days -> 2

Total 0-13: 0-4 low (5.8% in the derivation cohort), 5-6 intermediate (11.9%), 7 or more
high (22.8%).

What we use: the last haemoglobin (LOINC 718-7, or any OBX named haemoglobin) and sodium
(LOINC 2951-2 / 2947-0) reported in OBX segments of the stay's ADT messages; the procedure
from PR1 segments of those messages (none reported counts as none, and says so); oncology
from the hospital service (PV1-10) naming oncology; urgency from the admission type (PV1-4);
admissions from the patient's earlier inpatient and observation stays. Without both
laboratory values the score is not computed, and the missing inputs are named."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HEMOGLOBIN_CODES = frozenset({"718-7", "20509-6", "30313-1", "30350-3", "30351-1"})
SODIUM_CODES = frozenset({"2951-2", "2947-0", "39791-9", "32717-1"})
ONCOLOGY_WORDS = ("ONC", "HEM/ONC", "HEMATOLOGY-ONCOLOGY")


@dataclass(frozen=True)
class DischargeLabs:
    hemoglobin_g_dl: float | None = None
    sodium_mmol_l: float | None = None
    procedure: bool | None = None  # None: no PR1 seen at all


def bands(score: int) -> str:
    if score >= 7:
        return "High"
    if score >= 5:
        return "Intermediate"
    return "Low"


def admissions_points(admissions: int) -> int:
    if admissions < 0:
        raise ValueError(f"admissions must not be negative, got {admissions}")
    if admissions <= 1:
        return 0
    if admissions <= 5:
        return 2
    return 5


def is_oncology(hospital_service: str | None) -> bool:
    service = (hospital_service or "").strip().upper()
    return bool(service) and any(word in service for word in ONCOLOGY_WORDS)


@dataclass
class Hospital:
    """The score (None when not computed), its components and what was missing."""

    score: int | None
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        if self.score is None:
            return {
                "score": None,
                "computed": False,
                "reason": "not computed: inputs missing (" + ", ".join(self.missing) + ")",
                "missing": self.missing,
            }
        return {
            "score": self.score,
            "computed": True,
            "band": bands(self.score),
            "components": self.components,
            "notes": self.notes,
        }


def hospital(
    labs: DischargeLabs,
    *,
    oncology: bool,
    urgent: bool,
    admissions_last_year: int,
    length_of_stay_days: int,
) -> Hospital:
    missing = []
    if labs.hemoglobin_g_dl is None:
        missing.append("haemoglobin at discharge")
    if labs.sodium_mmol_l is None:
        missing.append("sodium at discharge")
    if labs.hemoglobin_g_dl is None or labs.sodium_mmol_l is None:
        return Hospital(score=None, missing=missing)
    notes = []
    if labs.procedure is None:
        notes.append("no procedure (PR1) was reported for the stay: counted as none")
    if length_of_stay_days < 0:
        raise ValueError(f"length of stay must not be negative, got {length_of_stay_days}")
    components: dict[str, dict[str, Any]] = {
        "H": {
            "label": "Haemoglobin at discharge < 12 g/dL",
            "value": labs.hemoglobin_g_dl,
            "points": 1 if labs.hemoglobin_g_dl < 12 else 0,
        },
        "O": {
            "label": "Discharge from oncology",
            "value": oncology,
            "points": 2 if oncology else 0,
        },
        "S": {
            "label": "Sodium at discharge < 135 mmol/L",
            "value": labs.sodium_mmol_l,
            "points": 1 if labs.sodium_mmol_l < 135 else 0,
        },
        "P": {
            "label": "Procedure during the stay",
            "value": bool(labs.procedure),
            "points": 1 if labs.procedure else 0,
        },
        "I": {
            "label": "Urgent or emergent admission",
            "value": urgent,
            "points": 1 if urgent else 0,
        },
        "T": {
            "label": "Admissions in the previous 12 months",
            "value": admissions_last_year,
            "points": admissions_points(admissions_last_year),
        },
        "A": {
            "label": "Length of stay >= 5 days",
            "value": length_of_stay_days,
            "points": 2 if length_of_stay_days >= 5 else 0,
        },
    }
    return Hospital(
        score=sum(int(c["points"]) for c in components.values()),
        components=components,
        notes=notes,
    )


# --- reading the inputs from raw ADT messages -----------------------------------------------


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _hemoglobin(value: float, unit: str) -> float:
    unit = unit.strip().lower().replace(" ", "")
    if unit in {"g/l"}:
        return value / 10
    if unit in {"mmol/l"}:
        return value * 1.611  # haemoglobin (Fe) mmol/L -> g/dL
    return value  # g/dL as sent (the usual unit)


def labs_from_messages(raws: Iterable[str]) -> DischargeLabs:
    """The last haemoglobin and sodium (OBX, numeric, any result status but ``W`` wrong) and
    whether any PR1 procedure segment was present, reading messages oldest first."""
    hemoglobin: float | None = None
    sodium: float | None = None
    procedure: bool | None = None
    for raw in raws:
        text = raw.replace("\r\n", "\r").replace("\n", "\r")
        if not text.startswith("MSH") or len(text) < 8:
            continue
        field_sep, comp_sep = text[3], text[4]
        for segment in text.split("\r"):
            fields = segment.split(field_sep)
            if fields[0] == "PR1":
                procedure = True
            if fields[0] != "OBX" or len(fields) < 6:
                continue
            if len(fields) > 11 and fields[11].strip().upper() == "W":
                continue
            ident = fields[3].split(comp_sep)
            code, name = ident[0].strip(), (ident[1] if len(ident) > 1 else "").lower()
            value = _number(fields[5].split(comp_sep)[0])
            if value is None:
                continue
            unit = fields[6].split(comp_sep)[0] if len(fields) > 6 else ""
            if code in HEMOGLOBIN_CODES or "hemoglobin" in name or "haemoglobin" in name:
                if "a1c" not in name:
                    hemoglobin = round(_hemoglobin(value, unit), 2)
            elif code in SODIUM_CODES or name.startswith("sodium"):
                sodium = value
    return DischargeLabs(hemoglobin, sodium, procedure)
