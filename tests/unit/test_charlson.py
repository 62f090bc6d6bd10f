"""Charlson comorbidity from ICD-10 codes, Quan et al. 2005 (Med Care 43:1130) coding:
every condition's code ranges at their edges and just outside them, the Charlson weights,
and the hierarchy rules."""

from __future__ import annotations

import pytest

from carebridge.transitions.charlson import CONDITIONS, charlson, conditions_of, normalize

# (code, the one condition it must show) - first and last of each range, and codes inside.
INSIDE = [
    # myocardial infarction: I21.x, I22.x, I25.2
    ("I21.0", "mi"),
    ("I21.A1", "mi"),
    ("I22.9", "mi"),
    ("I25.2", "mi"),
    # congestive heart failure: I09.9, I11.0, I13.0, I13.2, I25.5, I42.0, I42.5-I42.9, I43.x,
    # I50.x, P29.0
    ("I09.9", "chf"),
    ("I11.0", "chf"),
    ("I13.0", "chf"),
    ("I13.2", "chf"),
    ("I25.5", "chf"),
    ("I42.0", "chf"),
    ("I42.5", "chf"),
    ("I42.9", "chf"),
    ("I43", "chf"),
    ("I50.9", "chf"),
    ("I50.810", "chf"),
    ("P29.0", "chf"),
    # peripheral vascular disease: I70.x, I71.x, I73.1, I73.8, I73.9, I77.1, I79.0, I79.2,
    # K55.1, K55.8, K55.9, Z95.8, Z95.9
    ("I70.0", "pvd"),
    ("I71.4", "pvd"),
    ("I73.1", "pvd"),
    ("I73.89", "pvd"),
    ("I73.9", "pvd"),
    ("I77.1", "pvd"),
    ("I79.0", "pvd"),
    ("I79.2", "pvd"),
    ("K55.1", "pvd"),
    ("K55.8", "pvd"),
    ("K55.9", "pvd"),
    ("Z95.818", "pvd"),
    ("Z95.9", "pvd"),
    # cerebrovascular disease: G45.x, G46.x, H34.0, I60.x-I69.x
    ("G45.9", "cevd"),
    ("G46.3", "cevd"),
    ("H34.00", "cevd"),
    ("I60.9", "cevd"),
    ("I63.9", "cevd"),
    ("I69.354", "cevd"),
    # dementia: F00.x-F03.x, F05.1, G30.x, G31.1
    ("F00.0", "dementia"),
    ("F01.50", "dementia"),
    ("F03.90", "dementia"),
    ("F05.1", "dementia"),
    ("G30.9", "dementia"),
    ("G31.1", "dementia"),
    # chronic pulmonary disease: I27.8, I27.9, J40.x-J47.x, J60.x-J67.x, J68.4, J70.1, J70.3
    ("I27.8", "copd"),
    ("I27.9", "copd"),
    ("J40", "copd"),
    ("J44.9", "copd"),
    ("J47.9", "copd"),
    ("J60", "copd"),
    ("J67.9", "copd"),
    ("J68.4", "copd"),
    ("J70.1", "copd"),
    ("J70.3", "copd"),
    # rheumatic disease: M05.x, M06.x, M31.5, M32.x-M34.x, M35.1, M35.3, M36.0
    ("M05.79", "rheumatic"),
    ("M06.9", "rheumatic"),
    ("M31.5", "rheumatic"),
    ("M32.9", "rheumatic"),
    ("M34.9", "rheumatic"),
    ("M35.1", "rheumatic"),
    ("M35.3", "rheumatic"),
    ("M36.0", "rheumatic"),
    # peptic ulcer disease: K25.x-K28.x
    ("K25.0", "pud"),
    ("K26.9", "pud"),
    ("K28.9", "pud"),
    # mild liver disease: B18.x, K70.0-K70.3, K70.9, K71.3-K71.5, K71.7, K73.x, K74.x, K76.0,
    # K76.2-K76.4, K76.8, K76.9, Z94.4
    ("B18.2", "mild_liver"),
    ("K70.0", "mild_liver"),
    ("K70.30", "mild_liver"),
    ("K70.9", "mild_liver"),
    ("K71.3", "mild_liver"),
    ("K71.50", "mild_liver"),
    ("K71.7", "mild_liver"),
    ("K73.9", "mild_liver"),
    ("K74.60", "mild_liver"),
    ("K76.0", "mild_liver"),
    ("K76.2", "mild_liver"),
    ("K76.4", "mild_liver"),
    ("K76.89", "mild_liver"),
    ("K76.9", "mild_liver"),
    ("Z94.4", "mild_liver"),
    # diabetes without chronic complication: E10-E14 .0 .1 .6 .8 .9
    ("E10.10", "diabetes"),
    ("E11.00", "diabetes"),
    ("E11.65", "diabetes"),
    ("E11.8", "diabetes"),
    ("E11.9", "diabetes"),
    ("E13.9", "diabetes"),
    ("E14.9", "diabetes"),
    # diabetes with chronic complication: E10-E14 .2-.5 .7
    ("E10.21", "diabetes_complicated"),
    ("E11.22", "diabetes_complicated"),
    ("E11.319", "diabetes_complicated"),
    ("E11.40", "diabetes_complicated"),
    ("E11.51", "diabetes_complicated"),
    ("E12.7", "diabetes_complicated"),
    ("E13.29", "diabetes_complicated"),
    ("E14.5", "diabetes_complicated"),
    # hemiplegia or paraplegia: G04.1, G11.4, G80.1, G80.2, G81.x, G82.x, G83.0-G83.4, G83.9
    ("G04.1", "hemiplegia"),
    ("G11.4", "hemiplegia"),
    ("G80.1", "hemiplegia"),
    ("G80.2", "hemiplegia"),
    ("G81.91", "hemiplegia"),
    ("G82.20", "hemiplegia"),
    ("G83.0", "hemiplegia"),
    ("G83.4", "hemiplegia"),
    ("G83.9", "hemiplegia"),
    # renal disease: I12.0, I13.1, N03.2-N03.7, N05.2-N05.7, N18.x, N19.x, N25.0,
    # Z49.0-Z49.2, Z94.0, Z99.2
    ("I12.0", "renal"),
    ("I13.11", "renal"),
    ("N03.2", "renal"),
    ("N03.7", "renal"),
    ("N05.2", "renal"),
    ("N05.7", "renal"),
    ("N18.3", "renal"),
    ("N18.6", "renal"),
    ("N19", "renal"),
    ("N25.0", "renal"),
    ("Z49.01", "renal"),
    ("Z49.2", "renal"),
    ("Z94.0", "renal"),
    ("Z99.2", "renal"),
    # any malignancy: C00-C26, C30-C34, C37-C41, C43, C45-C58, C60-C76, C81-C85, C88, C90-C97
    ("C00.0", "cancer"),
    ("C26.9", "cancer"),
    ("C30.0", "cancer"),
    ("C34.90", "cancer"),
    ("C37", "cancer"),
    ("C41.9", "cancer"),
    ("C43.9", "cancer"),
    ("C45.0", "cancer"),
    ("C50.911", "cancer"),
    ("C58", "cancer"),
    ("C60.9", "cancer"),
    ("C76.0", "cancer"),
    ("C81.90", "cancer"),
    ("C85.90", "cancer"),
    ("C88.0", "cancer"),
    ("C90.00", "cancer"),
    ("C97", "cancer"),
    # moderate or severe liver disease: I85.0, I85.9, I86.4, I98.2, K70.4, K71.1, K72.1,
    # K72.9, K76.5, K76.6, K76.7
    ("I85.00", "severe_liver"),
    ("I85.90", "severe_liver"),
    ("I86.4", "severe_liver"),
    ("I98.2", "severe_liver"),
    ("K70.40", "severe_liver"),
    ("K71.11", "severe_liver"),
    ("K72.10", "severe_liver"),
    ("K72.90", "severe_liver"),
    ("K76.5", "severe_liver"),
    ("K76.6", "severe_liver"),
    ("K76.7", "severe_liver"),
    # metastatic solid tumour: C77.x-C80.x
    ("C77.0", "metastatic"),
    ("C78.00", "metastatic"),
    ("C79.51", "metastatic"),
    ("C80.1", "metastatic"),
    # AIDS/HIV: B20-B22, B24
    ("B20", "aids"),
    ("B21.0", "aids"),
    ("B22.7", "aids"),
    ("B24", "aids"),
]

# Just outside a range, or a neighbour of a listed code: no Charlson condition.
OUTSIDE = [
    "I20.9",
    "I23.0",
    "I25.10",
    "I25.3",
    "I09.8",
    "I11.9",
    "I13",
    "I42.1",
    "I42.4",
    "I44.0",
    "I51.9",
    "P29.1",
    "I69",
    "I72.0",
    "I73.0",
    "I77.0",
    "I79.1",
    "K55.0",
    "Z95.1",
    "G44.1",
    "G47.33",
    "H34.1",
    "I59",
    "I70",
    "F04",
    "F05.0",
    "G31.0",
    "G29",
    "I27.0",
    "J39.9",
    "J48",
    "J59",
    "J68.3",
    "J70.0",
    "J70.2",
    "M04.1",
    "M07.60",
    "M31.4",
    "M35.0",
    "M35.2",
    "M36.1",
    "K24",
    "K29.70",
    "B17.9",
    "K70.4",
    "K71.2",
    "K71.6",
    "K72.00",
    "K76.1",
    "Z94.3",
    "E16.2",
    "E15",
    "E09.9",
    "G04.0",
    "G80.0",
    "G83.5",
    "G83.8",
    "I12.9",
    "N03.1",
    "N03.8",
    "N05.1",
    "N05.8",
    "N17.9",
    "N25.1",
    "Z49.3",
    "Z99.1",
    "C27",
    "C29",
    "C35",
    "C36",
    "C42",
    "C44.90",
    "C59",
    "C77",
    "C86.0",
    "C89",
    "C98",
    "D00.0",
    "I85.1",
    "I86.3",
    "I98.1",
    "K72.0",
    "K76.8",
    "C81",
    "B23.0",
    "B25.0",
    "",
]


@pytest.mark.parametrize(("code", "key"), INSIDE)
def test_codes_inside_each_range(code: str, key: str) -> None:
    assert conditions_of(code) == [key]


@pytest.mark.parametrize(
    "code", [c for c in OUTSIDE if c not in {"I69", "I70", "K70.4", "K76.8", "C77", "C81"}]
)
def test_codes_outside_every_range(code: str) -> None:
    assert conditions_of(code) == []


def test_three_character_categories_match() -> None:
    # The whole category counts when the condition is defined by it.
    assert conditions_of("I69") == ["cevd"]
    assert conditions_of("I70") == ["pvd"]
    assert conditions_of("C77") == ["metastatic"]
    assert conditions_of("C81") == ["cancer"]
    # And the neighbours of exclusive subcodes are the other condition's.
    assert conditions_of("K70.4") == ["severe_liver"]
    assert conditions_of("K76.8") == ["mild_liver"]


def test_code_forms() -> None:
    assert normalize(" e11.65 ") == "E1165"
    assert conditions_of("e1122") == ["diabetes_complicated"]
    assert conditions_of("I50.9 ") == ["chf"]


def test_seventeen_conditions_and_their_weights() -> None:
    weights = {c.key: c.weight for c in CONDITIONS}
    assert len(weights) == 17
    assert weights == {
        "mi": 1,
        "chf": 1,
        "pvd": 1,
        "cevd": 1,
        "dementia": 1,
        "copd": 1,
        "rheumatic": 1,
        "pud": 1,
        "mild_liver": 1,
        "diabetes": 1,
        "diabetes_complicated": 2,
        "hemiplegia": 2,
        "renal": 2,
        "cancer": 2,
        "severe_liver": 3,
        "metastatic": 6,
        "aids": 6,
    }


def test_each_condition_counts_once() -> None:
    # Two MI codes and two COPD codes: 1 + 1 = 2.
    result = charlson(["I21.4", "I22.0", "J44.9", "J45.909"])
    assert result.score == 2
    assert result.counted == ["mi", "copd"]
    assert result.found["mi"] == ["I21.4", "I22.0"]


def test_liver_hierarchy() -> None:
    # Mild (1) and moderate/severe (3): only the severe counts -> 3.
    assert charlson(["K70.30", "I85.00"]).score == 3
    assert charlson(["K70.30"]).score == 1


def test_diabetes_hierarchy() -> None:
    # Without (1) and with (2) chronic complications: only with -> 2.
    result = charlson(["E11.9", "E11.22"])
    assert result.score == 2
    assert result.counted == ["diabetes_complicated"]
    shown = result.as_dict()
    assert shown["not_counted"] == [
        {
            "key": "diabetes",
            "label": "Diabetes without chronic complication",
            "because": "diabetes_complicated",
        }
    ]


def test_cancer_hierarchy() -> None:
    # Malignancy (2) and metastatic solid tumour (6): only metastatic -> 6.
    assert charlson(["C50.911", "C78.00"]).score == 6
    assert charlson(["C50.911"]).score == 2


def test_worked_example_sum() -> None:
    # CHF 1 + COPD 1 + diabetes with complication 2 (without not counted) + renal 2
    # + metastatic 6 (malignancy not counted) + mild liver 1 = 13.
    result = charlson(["I50.22", "J44.1", "E11.9", "E11.22", "N18.4", "C34.90", "C79.51", "K74.60"])
    assert result.score == 13
    assert result.counted == [
        "chf",
        "copd",
        "mild_liver",
        "diabetes_complicated",
        "renal",
        "metastatic",
    ]


def test_no_conditions() -> None:
    assert charlson([]).score == 0
    assert charlson(["I10", "E78.5", "Z00.00"]).as_dict() == {
        "score": 0,
        "conditions": [],
        "not_counted": [],
    }
