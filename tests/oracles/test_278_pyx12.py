"""Our 278 requests (005010X217) and the simulator's 278 responses pass pyx12's envelope
checks (ISA/GS/ST ids and counts against their trailers, element values, HL numbering), for
each shape we build: subscriber and dependent, one and several service lines, modifiers,
supporting documents; and pyx12 flags the envelope damage our codec rejects too."""

from __future__ import annotations

import datetime as dt

import pytest

from carebridge.coverage.simulator import authorization as simulator
from carebridge.coverage.x12 import X12Error, parse
from carebridge.coverage.x12.authorization import (
    AuthorizationRequest,
    Party,
    Patient,
    ServiceLine,
    build_278,
)
from tests.oracles import support

NOW = dt.datetime(2026, 11, 26, 9, 30)  # noqa: DTZ001 - X12 times are local, no zone
BASE = AuthorizationRequest(
    payer_name="PRAIRIE MUTUAL HEALTH",
    payer_id="PMH01",
    requester=Party("CAREBRIDGE CLINIC", npi="1245319599"),
    subscriber=Patient("RUIZ", "ROSA", dt.date(1948, 7, 2), "female"),
    member_id="XQK481920301",
    diagnoses=("M17.11", "M62.81"),
    start=dt.date(2026, 12, 1),
    end=dt.date(2027, 2, 28),
    services=(ServiceLine("97110", 12, ("GP",), Party("OKAFOR", "ADA", "1679576722")),),
    trace_number="PA0000001S1",
    trace_originator_id="1741234567",
    service_type="PT",
    ordering=Party("CHEN", "MAYA", "1548293047"),
)


def variants() -> list[str]:
    from dataclasses import replace

    shapes = [
        BASE,
        replace(BASE, dependent=Patient("RUIZ", "LENA", dt.date(2012, 3, 4), "female")),
        replace(
            BASE,
            services=(ServiceLine("97110", 8), ServiceLine("97140", 4, ("GP", "59"))),
            attachments=("DOC1", "DOC2"),
        ),
        replace(BASE, services=(ServiceLine("72148", 1),), service_type="4", ordering=None),
    ]
    return [
        build_278(
            shape, control_number=n, sender_id="CAREBRIDGE", receiver_id="CLEARINGHOUSE", now=NOW
        )
        for n, shape in enumerate(shapes, start=1)
    ]


@pytest.fixture(scope="module")
def requests() -> list[str]:
    return variants()


def test_our_278_requests_pass_pyx12(requests: list[str]) -> None:
    for text, errors in zip(requests, support.pyx12_errors_batch(requests), strict=True):
        assert errors == [], f"{errors}\n{text}"


def test_simulator_278_responses_pass_pyx12(requests: list[str]) -> None:
    answers = [simulator.answer_278(text) for text in requests]
    for text, errors in zip(answers, support.pyx12_errors_batch(answers), strict=True):
        assert errors == [], f"{errors}\n{text}"


def test_damage_we_reject_pyx12_flags_too(requests: list[str]) -> None:
    good = requests[0]
    damaged = [
        good.replace("~SE*", "~SE*9", 1),  # wrong segment count
        good.replace("IEA*1*000000001", "IEA*1*000000009", 1),  # control number mismatch
        good.replace("GE*1*1~", "GE*2*1~", 1),  # wrong transaction count
    ]
    for text in damaged:
        with pytest.raises(X12Error):
            parse(text)
    for text, errors in zip(damaged, support.pyx12_errors_batch(damaged), strict=True):
        assert errors, f"pyx12 accepted damaged X12:\n{text}"
