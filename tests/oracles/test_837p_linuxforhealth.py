"""Every kind of 837P we build parses and validates in linuxforhealth-x12 (005010X222A2 models)
and passes pyx12's envelope checks: the subscriber as patient, a dependent (2000C), a
replacement (frequency 7, REF F8) with attachments (PWK), telehealth with modifiers, twelve
diagnoses and many lines. linuxforhealth's reading agrees with what we meant to send."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from carebridge.coverage.x12.claim import Claim, Paperwork, Person, ServiceLine
from tests.oracles import support
from tests.unit.test_x12_claim import CLAIM, LINE, SUBSCRIBER, _build

CHILD = Person("Rivera", "Leo", date(2015, 6, 1), "male", SUBSCRIBER.address)
MANY_DIAGNOSES = ("E11.9", "I10", "E78.5", "M54.50", "J45.909", "E03.9", "F32.A", "N18.30",
                  "I48.91", "G47.33", "K21.9", "Z79.4")  # fmt: skip
LINES = tuple(
    ServiceLine(code, Decimal(charge), Decimal(units), pointers, date(2026, 11, 19))
    for code, charge, units, pointers in (
        ("97110", "135.00", "3", (1,)),
        ("97140", "44.00", "1", (1, 2)),
        ("97112", "96.00", "2", (2, 3, 4)),
        ("G0108", "60.00", "1", (12,)),
    )
)
VARIANTS: list[tuple[str, Claim]] = [
    ("subscriber", CLAIM),
    ("dependent", replace(CLAIM, relationship="child", patient=CHILD)),
    (
        "spouse-group-name",
        replace(
            CLAIM, relationship="spouse", patient=CHILD, group_number="", group_name="ACME STAFF"
        ),
    ),
    (
        "replacement-with-attachments",
        replace(
            CLAIM,
            frequency="7",
            original_reference="C0000001",
            paperwork=(Paperwork("OB", "FX", "C0000001-1"), Paperwork("B4", "EL", "C0000001-2")),
        ),
    ),
    (
        "telehealth-modifiers",
        replace(
            CLAIM,
            place_of_service="10",
            prior_authorization="",
            lines=(replace(LINE, modifiers=("95", "25"), charge=Decimal("205")),),
        ),
    ),
    (
        "twelve-diagnoses-many-lines",
        replace(
            CLAIM,
            diagnoses=MANY_DIAGNOSES,
            lines=LINES,
            total=Decimal("335.00"),
            filing_indicator="MB",
            rank="S",
        ),
    ),
]


def _find(value: Any, key: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(value, dict):
        for name, inner in value.items():
            if name == key:
                found.append(inner)
            found += _find(inner, key)
    elif isinstance(value, list):
        for inner in value:
            found += _find(inner, key)
    return found


@pytest.fixture(scope="module")
def built() -> list[str]:
    return [_build(claim, control_number=n) for n, (_, claim) in enumerate(VARIANTS, start=1)]


@pytest.fixture(scope="module")
def outcomes(built: list[str]) -> list[support.LfhOutcome]:
    return support.lfh_parse_batch(built)


@pytest.mark.parametrize("index", range(len(VARIANTS)), ids=[name for name, _ in VARIANTS])
def test_linuxforhealth_reads_what_we_meant(outcomes: list[support.LfhOutcome], index: int) -> None:
    _, claim = VARIANTS[index]
    outcome = outcomes[index]
    assert outcome.ok, outcome.errors
    (model,) = outcome.models
    (clm,) = _find(model, "clm_segment")
    assert clm["patient_control_number"] == claim.claim_id
    assert Decimal(clm["total_claim_charge_amount"]) == claim.total
    assert clm["health_care_service_location_information"] == (
        f"{claim.place_of_service}:B:{claim.frequency}"
    )
    lines = _find(model, "sv1_segment")
    assert [Decimal(s["line_item_charge_amount"]) for s in lines] == [
        line.charge for line in claim.lines
    ]
    ((hi,),) = _find(model, "hi_segment")  # a list of HI segments: we send one
    codes = [hi[f"health_care_code_{n}"][1] for n in range(1, len(claim.diagnoses) + 1)]
    assert codes == [d.replace(".", "") for d in claim.diagnoses]
    pwk = [p for group in _find(model, "pwk_segment") for p in group]
    assert [(p["report_type_code"], p["report_transmission_code"]) for p in pwk] == [
        (p.report_type, p.transmission) for p in claim.paperwork
    ]
    if claim.relationship != "self":
        assert _find(model, "loop_2000c"), "a dependent's claim has the patient loop"


def test_pyx12_finds_nothing_wrong_with_the_envelopes(built: list[str]) -> None:
    assert support.pyx12_errors_batch(built) == [[] for _ in built]
