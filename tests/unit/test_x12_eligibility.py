"""270 building and 271 reading (005010X279A1) against the codec and the published samples."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from carebridge.coverage.x12 import parse
from carebridge.coverage.x12.eligibility import (
    REJECT_REASONS,
    Dependent,
    EligibilityRequest,
    build_270,
    read_271,
)

# The samples live beside the checkout (../shared/data), as in CI.
DIR_271 = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "x12" / "271_005010X279A1"
)
needs_samples = pytest.mark.skipif(
    not DIR_271.is_dir(), reason=f"271 samples not found in {DIR_271} (../shared/data is absent)"
)
# ST02 4321 but SE02 4323: the codec rightly rejects it, so its AAA cannot be read as published.
BROKEN = "subscriber-health-benefit-check-error.271"

NOW = datetime(2024, 1, 2, 9, 30)  # noqa: DTZ001 - X12 times are local, no zone
REQUEST = EligibilityRequest(
    payer_name="ABC COMPANY",
    payer_id="842610001",
    provider_name="BONE AND JOINT CLINIC",
    provider_npi="1234567893",
    subscriber_last_name="SMITH",
    subscriber_first_name="JOHN",
    member_id="123456789",
    subscriber_birth_date=date(1963, 5, 19),
    subscriber_sex="male",
    service_date=date(2024, 1, 2),
    trace_number="93175-012547",
    trace_originator_id="9877281234",
)


def _segments(text: str) -> list[list[str]]:
    (group,) = parse(text).groups
    (transaction,) = group.transactions
    assert transaction.code == "270"
    assert transaction.header.element(3) == "005010X279A1"
    assert group.header.element(1) == "HS"
    return [[s.id, *s.elements] for s in transaction.body]


def test_build_270_subscriber_round_trips_through_codec() -> None:
    body = _segments(build_270(REQUEST, control_number=42, sender_id="S", receiver_id="R", now=NOW))
    assert body[0][:3] == ["BHT", "0022", "13"]
    hls = [s[1:] for s in body if s[0] == "HL"]
    assert hls == [["1", "", "20", "1"], ["2", "1", "21", "1"], ["3", "2", "22", "0"]]
    assert ["NM1", "PR", "2", "ABC COMPANY", "", "", "", "", "PI", "842610001"] in body
    assert ["NM1", "1P", "2", "BONE AND JOINT CLINIC", "", "", "", "", "XX", "1234567893"] in body
    assert ["NM1", "IL", "1", "SMITH", "JOHN", "", "", "", "MI", "123456789"] in body
    assert ["DMG", "D8", "19630519", "M"] in body
    assert ["TRN", "1", "93175-012547", "9877281234"] in body
    assert ["DTP", "291", "D8", "20240102"] in body
    assert body[-1] == ["EQ", "30"]


def test_build_270_dependent_carries_inquiry_on_dependent_loop() -> None:
    request = replace(
        REQUEST,
        service_type_codes=("30", "98"),
        dependent=Dependent("SMITH", "MARY", date(1998, 10, 14), "female"),
    )
    body = _segments(build_270(request, control_number=7, sender_id="S", receiver_id="R", now=NOW))
    hls = [s[1:] for s in body if s[0] == "HL"]
    assert hls[2:] == [["3", "2", "22", "1"], ["4", "3", "23", "0"]]
    dependent_loop = body[body.index(["HL", "4", "3", "23", "0"]) :]
    assert ["NM1", "03", "1", "SMITH", "MARY"] in dependent_loop
    assert ["DMG", "D8", "19981014", "F"] in dependent_loop
    assert ["TRN", "1", "93175-012547", "9877281234"] in dependent_loop
    assert dependent_loop[-1] == ["EQ", "30^98"]


def test_build_270_rejects_unknown_sex() -> None:
    request = replace(REQUEST, subscriber_sex="x")
    with pytest.raises(ValueError, match="sex"):
        build_270(request, control_number=1, sender_id="S", receiver_id="R", now=NOW)


@needs_samples
def test_read_271_subscriber_sample() -> None:
    (result,) = read_271((DIR_271 / "subscriber-health-benefit-check.271").read_text())
    assert result.level == "subscriber"
    assert (result.last_name, result.first_name, result.member_id) == ("SMITH", "JOHN", "123456789")
    assert result.trace_numbers == ["93175-012547"]
    assert result.active is True
    assert result.plan_description == "GOLD 123 PLAN"
    assert (result.birth_date, result.sex) == ("19630519", "M")
    copays = [b for b in result.benefits if b.kind == "copay"]
    assert [(b.amount, b.in_network) for b in copays] == [
        (Decimal("10.00"), True),
        (Decimal("30.00"), False),
    ]
    assert copays[0].time_period_label == "visit"
    assert copays[0].service_types == ("1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC")
    assert copays[0].coverage_level == ""
    assert result.primary_care_provider is not None
    assert result.primary_care_provider.last_name == "JONES"
    assert result.primary_care_provider.id == "0202034"
    assert result.rejections == []


@needs_samples
def test_read_271_dependent_sample() -> None:
    subscriber, dependent = read_271((DIR_271 / "dependent-health-benefit-check.271").read_text())
    assert subscriber.level == "subscriber"
    assert subscriber.benefits == []
    assert dependent.level == "dependent"
    assert (dependent.last_name, dependent.first_name) == ("SMITH", "MARY")
    assert dependent.member_id == "123456789"  # the subscriber's id
    assert dependent.trace_numbers == ["93175-012547"]
    assert dependent.active is True
    assert Decimal("10.00") in [b.amount for b in dependent.benefits]
    assert dependent.primary_care_provider is not None


SAMPLES = sorted(DIR_271.glob("*.271")) if DIR_271.is_dir() else []


@needs_samples
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_read_271_every_sample_reports_active_coverage(path: Path) -> None:
    if path.name == BROKEN:
        pytest.skip(f"{BROKEN}: SE02 4323 does not match ST02 4321, so the codec rejects it")
    results = read_271(path.read_text())
    assert results[-1].active is True
    assert results[-1].trace_numbers == ["93175-012547"]


@needs_samples
def test_read_271_error_sample_with_envelope_corrected() -> None:
    text = (DIR_271 / BROKEN).read_text().replace("SE*8*4323", "SE*8*4321")
    (result,) = read_271(text)
    assert result.level == "receiver"
    (rejection,) = result.rejections
    assert (rejection.code, rejection.valid, rejection.follow_up) == ("50", True, "N")
    assert rejection.explanation == REJECT_REASONS["50"]


AAA_271 = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         "
    "*240102*0930*^*00501*000000001*0*T*:~"
    "GS*HB*PAYER*CLINIC*20240102*0930*1*X*005010X279A1~"
    "ST*271*0001*005010X279A1~"
    "BHT*0022*11*T1*20240102*0930~"
    "HL*1**20*1~NM1*PR*2*ABC COMPANY*****PI*842610001~"
    "HL*2*1*21*1~NM1*1P*2*CLINIC*****XX*1234567893~"
    "HL*3*2*22*0~TRN*2*93175-012547*9877281234~"
    "NM1*IL*1*SMITH*JOHN****MI*12345~AAA*N**72*C~"
    "SE*11*0001~GE*1*1~IEA*1*000000001~"
)


def test_read_271_aaa_explains_invalid_member_id() -> None:
    (result,) = read_271(AAA_271)
    assert result.active is None
    assert result.trace_numbers == ["93175-012547"]
    (rejection,) = result.rejections
    assert (rejection.code, rejection.valid, rejection.follow_up) == ("72", False, "C")
    assert "member id" in rejection.explanation


def test_read_271_unknown_reject_code_still_explained() -> None:
    (result,) = read_271(AAA_271.replace("AAA*N**72*C", "AAA*N**99*C"))
    assert "99" in result.rejections[0].explanation
