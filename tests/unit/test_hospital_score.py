"""HOSPITAL score (Donzé et al., JAMA Intern Med 2013): components, bands, missing inputs,
and reading the laboratory values from raw ADT messages."""

from __future__ import annotations

import pytest

from carebridge.transitions.hospital_score import (
    DischargeLabs,
    admissions_points,
    bands,
    hospital,
    is_oncology,
    labs_from_messages,
)


@pytest.mark.parametrize(("n", "points"), [(0, 0), (1, 0), (2, 2), (5, 2), (6, 5), (20, 5)])
def test_admissions_points(n: int, points: int) -> None:
    assert admissions_points(n) == points


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "Low"), (4, "Low"), (5, "Intermediate"), (6, "Intermediate"), (7, "High"), (13, "High")],
)
def test_bands(score: int, band: str) -> None:
    assert bands(score) == band


def test_every_point_counted() -> None:
    # H 1 (11.0 < 12) + O 2 + S 1 (130 < 135) + P 1 + I 1 + T 5 (> 5 admissions) + A 2 (>= 5 days)
    # = 13, the maximum.
    result = hospital(
        DischargeLabs(11.0, 130, True),
        oncology=True,
        urgent=True,
        admissions_last_year=6,
        length_of_stay_days=5,
    )
    assert result.score == 13
    assert result.as_dict()["band"] == "High"


def test_worked_case_intermediate() -> None:
    # Hb 11.5 -> H 1; not oncology O 0; Na 138 -> S 0; no procedure reported P 0 (noted);
    # urgent I 1; 2 admissions T 2; 6 days A 2: 1 + 0 + 0 + 0 + 1 + 2 + 2 = 6.
    result = hospital(
        DischargeLabs(11.5, 138, None),
        oncology=False,
        urgent=True,
        admissions_last_year=2,
        length_of_stay_days=6,
    )
    shown = result.as_dict()
    assert shown["score"] == 6
    assert shown["band"] == "Intermediate"
    assert {k: v["points"] for k, v in shown["components"].items()} == {
        "H": 1,
        "O": 0,
        "S": 0,
        "P": 0,
        "I": 1,
        "T": 2,
        "A": 2,
    }
    assert "counted as none" in shown["notes"][0]


def test_thresholds_are_strict() -> None:
    # Hb exactly 12 and Na exactly 135 are not low; 4 days is not >= 5.
    result = hospital(
        DischargeLabs(12.0, 135, False),
        oncology=False,
        urgent=False,
        admissions_last_year=1,
        length_of_stay_days=4,
    )
    assert result.score == 0


def test_missing_inputs_are_named() -> None:
    result = hospital(
        DischargeLabs(None, 140, None),
        oncology=False,
        urgent=True,
        admissions_last_year=0,
        length_of_stay_days=3,
    )
    shown = result.as_dict()
    assert shown["score"] is None
    assert shown["computed"] is False
    assert shown["reason"] == "not computed: inputs missing (haemoglobin at discharge)"
    both = hospital(
        DischargeLabs(), oncology=False, urgent=False, admissions_last_year=0, length_of_stay_days=1
    )
    assert both.missing == ["haemoglobin at discharge", "sodium at discharge"]


def test_oncology_service() -> None:
    assert is_oncology("ONC")
    assert is_oncology("hem/onc")
    assert not is_oncology("MED")
    assert not is_oncology(None)


def test_labs_are_read_from_obx_and_pr1() -> None:
    first = "\r".join(
        [
            "MSH|^~\\&|HIS|GENERAL|CB|CB|20260301||ADT^A01|1|P|2.5",
            "OBX|1|NM|718-7^Hemoglobin^LN||10.1|g/dL|||||F",
        ]
    )
    last = "\r".join(
        [
            "MSH|^~\\&|HIS|GENERAL|CB|CB|20260305||ADT^A03|2|P|2.5",
            "OBX|1|NM|718-7^Hemoglobin^LN||125|g/L|||||F",
            "OBX|2|NM|2951-2^Sodium^LN||133|mmol/L|||||F",
            "OBX|3|NM|2951-2^Sodium^LN||150|mmol/L|||||W",  # wrong: ignored
            "OBX|4|NM|4548-4^Hemoglobin A1c^LN||7.1|%|||||F",  # not haemoglobin
            "PR1|1||0DTJ4ZZ^Resection^ICD10PCS",
        ]
    )
    labs = labs_from_messages([first, last])
    assert labs == DischargeLabs(hemoglobin_g_dl=12.5, sodium_mmol_l=133.0, procedure=True)


def test_labs_absent_or_unreadable() -> None:
    assert labs_from_messages(["not hl7", "MSH|^~\\&|A|B\rOBX|1|ST|718-7^Hb^LN||high|g/dL"]) == (
        DischargeLabs(None, None, None)
    )
