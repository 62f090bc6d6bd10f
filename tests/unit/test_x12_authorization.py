"""The 278 request (005010X217) we build and the 278 response we read: loops, segments and
decisions, the simulator's rules, and malformed answers refused naming segment and position."""

from __future__ import annotations

import datetime as dt

import pytest

from carebridge.coverage.simulator import authorization as simulator
from carebridge.coverage.x12.authorization import (
    AuthorizationRequest,
    Party,
    Patient,
    ServiceLine,
    build_278,
    read_278,
)
from carebridge.coverage.x12.codec import X12Error, parse, write

NOW = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)


def request(**extra: object) -> AuthorizationRequest:
    values: dict[str, object] = {
        "payer_name": "Prairie Mutual Health",
        "payer_id": "PMH01",
        "requester": Party("Carebridge Clinic", npi="1245319599"),
        "subscriber": Patient("Ruiz", "Rosa", dt.date(1948, 7, 2), "female"),
        "member_id": "XQK481920301",
        "diagnoses": ("M54.50", "M62.81"),
        "start": dt.date(2026, 12, 1),
        "end": dt.date(2027, 2, 28),
        "services": (ServiceLine("97110", 8, ("GP",), Party("Okafor", "Ada", "1679576722")),),
        "trace_number": "PA0000001T1",
        "trace_originator_id": "1741234567",
        "service_type": "PT",
        "ordering": Party("Chen", "Maya", "1548293047"),
    }
    values.update(extra)
    return AuthorizationRequest(**values)  # type: ignore[arg-type]


def build(**extra: object) -> str:
    return build_278(request(**extra), control_number=42, sender_id="CAREBRIDGE",
                     receiver_id="CLEARINGHOUSE", now=NOW)  # fmt: skip


def segments(text: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(s.id, s.elements) for s in parse(text).segments()]


def test_request_has_the_x217_loops_in_order() -> None:
    text = build()
    found = segments(text)
    ids = [(sid, els) for sid, els in found]
    assert ("GS", ("HI", "CAREBRIDGE", "CLEARINGHOUSE", "20261126", "0930", "1", "X",
                   "005010X217")) in ids  # fmt: skip
    assert ("ST", ("278", "0001", "005010X217")) in ids
    assert ("BHT", ("0007", "13", "PA0000001T1", "20261126", "0930")) in ids
    hls = [els for sid, els in found if sid == "HL"]
    assert [h[2] for h in hls] == ["20", "21", "22", "EV", "SS"]
    assert hls[3][:2] == ("4", "3")
    assert hls[4][:2] == ("5", "4")
    assert ("NM1", ("X3", "2", "Prairie Mutual Health", "", "", "", "", "PI", "PMH01")) in ids
    assert ("NM1", ("1P", "2", "Carebridge Clinic", "", "", "", "", "XX", "1245319599")) in ids
    assert ("UM", ("HS", "I", "PT", "11:B")) in ids
    assert ("HI", ("ABK:M5450", "ABF:M6281")) in ids
    assert ("DTP", ("472", "RD8", "20261201-20270228")) in ids
    assert ("SV1", ("HC:97110:GP", "0", "UN", "8")) in ids
    assert ("NM1", ("SJ", "1", "Okafor", "Ada", "", "", "", "XX", "1679576722")) in ids
    assert ("NM1", ("DK", "1", "Chen", "Maya", "", "", "", "XX", "1548293047")) in ids
    assert parse(text).control_number == "000000042"


def test_dependent_gets_its_own_loop_under_the_subscriber() -> None:
    text = build(dependent=Patient("Ruiz", "Lena", dt.date(2012, 3, 4), "female"))
    hls = [els for sid, els in segments(text) if sid == "HL"]
    assert [h[2] for h in hls] == ["20", "21", "22", "23", "EV", "SS"]
    assert ("NM1", ("QC", "1", "Ruiz", "Lena")) in segments(text)


def test_request_refuses_what_a_payer_would_reject() -> None:
    with pytest.raises(ValueError, match="service line"):
        build(services=())
    with pytest.raises(ValueError, match="units"):
        build(services=(ServiceLine("97110", 0),))
    with pytest.raises(ValueError, match="diagnosis"):
        build(diagnoses=())


def test_simulator_certifies_in_total_and_the_answer_reads_back() -> None:
    answer = read_278(simulator.answer_278(build()))
    assert answer.event.action == "A1"
    assert answer.event.auth_number == simulator.auth_number("PA0000001T1")
    assert answer.trace_numbers == ["PA0000001T1"]
    assert answer.member_id == "XQK481920301"
    assert (answer.event.start, answer.event.end) == (dt.date(2026, 12, 1), dt.date(2027, 2, 28))
    [line] = answer.services
    assert (line.code, line.action, line.units) == ("97110", "A1", 8)


def test_simulator_is_deterministic() -> None:
    first = read_278(simulator.answer_278(build()))
    second = read_278(simulator.answer_278(build()))
    assert first.event.auth_number == second.event.auth_number


def test_simulator_partial_pend_and_denial() -> None:
    partial = read_278(simulator.answer_278(build(services=(ServiceLine("97110", 20),))))
    assert partial.event.action == "A2"
    assert partial.services[0].units == simulator.UNIT_LIMIT
    pended = read_278(simulator.answer_278(build(services=(ServiceLine("72148", 1),))))
    assert (pended.event.action, pended.event.reason, pended.event.auth_number) == ("A4", "0U", "")
    with_records = read_278(
        simulator.answer_278(build(services=(ServiceLine("72148", 1),), attachments=("D1",)))
    )
    assert with_records.event.action == "A1"
    denied = read_278(simulator.answer_278(build(services=(ServiceLine("95811", 1),))))
    assert (denied.event.action, denied.event.reason) == ("A3", "AA")
    mixed = read_278(
        simulator.answer_278(build(services=(ServiceLine("97110", 4), ServiceLine("95811", 1))))
    )
    assert mixed.event.action == "A2"
    assert [s.action for s in mixed.services] == ["A1", "A3"]


def _replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_malformed_answers_name_the_segment_and_position() -> None:
    good = simulator.answer_278(build())
    with pytest.raises(X12Error, match=r"segment \d+, HCR01"):
        read_278(_replace(good, "HCR*A1", "HCR*ZZ"))
    with pytest.raises(X12Error, match="SE01"):
        read_278(_replace(good, "HSD*FL*8~", ""))
    with pytest.raises(X12Error, match="truncated"):
        read_278(good[: len(good) // 2])
    with pytest.raises(X12Error, match="BHT02"):
        read_278(build())  # our own request is not a response
    interchange = parse(good)
    bad_date = write(interchange).replace("RD8*20261201-20270228", "RD8*2026-12-01", 1)
    with pytest.raises(X12Error, match="DTP03"):
        read_278(bad_date)


def test_error_position_points_at_the_bad_segment() -> None:
    good = simulator.answer_278(build())
    bad = _replace(good, "HCR*A1", "HCR*ZZ")
    position = next(i for i, s in enumerate(parse(bad).segments(), start=1) if s.id == "HCR")
    with pytest.raises(X12Error) as caught:
        read_278(bad)
    assert caught.value.segment_index == position
