"""837P building (005010X222A2): loops, counts and totals through our own codec, and the
simulated clearinghouse's 999 acknowledgement read back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from carebridge.coverage.simulator import claims as simulator
from carebridge.coverage.x12 import parse
from carebridge.coverage.x12.claim import (
    Address,
    BillingProvider,
    Claim,
    Paperwork,
    Person,
    RenderingProvider,
    ServiceLine,
    build_837p,
    read_837p,
    read_999,
)

NOW = datetime(2026, 11, 20, 16, 5)  # noqa: DTZ001 - X12 times are local, no zone
PROVIDER = BillingProvider(
    name="Carebridge Clinic",
    npi="1245319599",
    tax_id="741234567",
    address=Address("1200 Main Street", "Austin", "TX", "787011234"),
    contact_name="Billing office",
    phone="5125550100",
)
SUBSCRIBER = Person(
    "Rivera", "Ana", date(1970, 3, 4), "female", Address("5 Elm St", "Austin", "TX", "78702")
)
LINE = ServiceLine("99213", Decimal("125.00"), Decimal(1), (1, 2), date(2026, 11, 19))
CLAIM = Claim(
    claim_id="C0000001",
    total=Decimal("205.00"),
    place_of_service="11",
    diagnoses=("E11.9", "I10"),
    lines=(LINE, ServiceLine("36415", Decimal("80"), Decimal(1), (1,), date(2026, 11, 19))),
    payer_name="Lone Star Health",
    payer_id="LSH01",
    rank="P",
    filing_indicator="CI",
    subscriber=SUBSCRIBER,
    member_id="LSH123456",
    rendering=RenderingProvider("Okafor", "Grace", "1679576722", "207Q00000X"),
    group_number="G100",
    prior_authorization="PA778899",
)


def _build(claim: Claim = CLAIM, control_number: int = 17) -> str:
    return build_837p(
        claim,
        PROVIDER,
        control_number=control_number,
        sender_id="CAREBRIDGE",
        receiver_id="CLEARINGHOUSE",
        receiver_name="Clearinghouse",
        now=NOW,
    )


def _body(text: str) -> list[list[str]]:
    (group,) = parse(text).groups
    (transaction,) = group.transactions
    assert transaction.code == "837"
    assert transaction.header.element(3) == "005010X222A2"
    assert group.header.element(1) == "HC"
    return [[s.id, *s.elements] for s in transaction.body]


def test_subscriber_claim_has_every_loop_in_order() -> None:
    text = _build()
    interchange = parse(text)
    assert interchange.control_number == "000000017"
    body = _body(text)
    ids = [s[0] for s in body]
    # 1000A, 1000B, 2000A/2010AA, 2000B/2010BA/2010BB, 2300, 2310B, 2400 x2; no 2000C.
    assert ids == [
        "BHT", "NM1", "PER", "NM1",
        "HL", "NM1", "N3", "N4", "REF",
        "HL", "SBR", "NM1", "N3", "N4", "DMG", "NM1",
        "CLM", "REF", "HI",
        "NM1", "PRV",
        "LX", "SV1", "DTP", "LX", "SV1", "DTP",
    ]  # fmt: skip
    assert body[0] == ["BHT", "0019", "00", "C0000001", "20261120", "1605", "CH"]
    assert body[5] == ["NM1", "85", "2", "CAREBRIDGE CLINIC", "", "", "", "", "XX", "1245319599"]
    assert body[7] == ["N4", "AUSTIN", "TX", "787011234"]
    assert body[8] == ["REF", "EI", "741234567"]
    assert body[9] == ["HL", "2", "1", "22", "0"]
    assert body[10] == ["SBR", "P", "18", "G100", "", "", "", "", "", "CI"]
    assert body[11][1] == "IL"
    assert body[11][-2:] == ["MI", "LSH123456"]
    assert body[14] == ["DMG", "D8", "19700304", "F"]
    assert body[15][1] == "PR"
    assert body[15][-2:] == ["PI", "LSH01"]
    assert body[16] == ["CLM", "C0000001", "205", "", "", "11:B:1", "Y", "A", "Y", "Y"]
    assert body[17] == ["REF", "G1", "PA778899"]
    assert body[18] == ["HI", "ABK:E119", "ABF:I10"]
    assert body[19][1:3] == ["82", "1"]
    assert body[19][-2:] == ["XX", "1679576722"]
    assert body[20] == ["PRV", "PE", "PXC", "207Q00000X"]
    assert body[22] == ["SV1", "HC:99213", "125", "UN", "1", "", "", "1:2"]
    assert body[23] == ["DTP", "472", "D8", "20261119"]


def test_totals_and_counts_read_back() -> None:
    (summary,) = read_837p(_build())
    assert summary.claim_id == "C0000001"
    assert summary.total == sum(summary.line_charges) == Decimal("205")
    assert summary.procedures == ["99213", "36415"]
    assert summary.diagnoses == ["E119", "I10"]
    assert summary.hierarchy == ["20", "22"]
    assert summary.place_of_service == "11"
    assert summary.frequency == "1"
    # SE01 counts ST..SE: the codec checked it; here it is the body plus the two.
    transaction = parse(_build()).groups[0].transactions[0]
    assert transaction.trailer.element(1) == str(len(transaction.body) + 2)


def test_dependent_claim_adds_patient_loop() -> None:
    child = Person("Rivera", "Leo", date(2015, 6, 1), "male", SUBSCRIBER.address)
    body = _body(_build(replace(CLAIM, relationship="child", patient=child)))
    hls = [s[1:] for s in body if s[0] == "HL"]
    assert hls == [["1", "", "20", "1"], ["2", "1", "22", "1"], ["3", "2", "23", "0"]]
    sbr = next(s for s in body if s[0] == "SBR")
    assert sbr[2] == ""  # SBR02 18 only when the subscriber is the patient
    pat = body.index(["PAT", "19"])
    assert body[pat + 1][:5] == ["NM1", "QC", "1", "RIVERA", "LEO"]
    assert body[pat + 4] == ["DMG", "D8", "20150601", "M"]
    # The subscriber's own address and DMG are left out for a dependent's claim.
    assert [s[0] for s in body[10:14]] == ["SBR", "NM1", "NM1", "HL"]


def test_replacement_and_attachments_and_modifiers() -> None:
    claim = replace(
        CLAIM,
        frequency="7",
        original_reference="C0000001",
        place_of_service="10",
        lines=(replace(LINE, modifiers=("95", "25"), charge=Decimal("205.00")),),
        paperwork=(Paperwork("OB", "FX", "C0000001-1"),),
    )
    body = _body(_build(claim))
    clm = body.index(next(s for s in body if s[0] == "CLM"))
    assert body[clm][5] == "10:B:7"
    assert body[clm + 1] == ["PWK", "OB", "FX", "", "", "AC", "C0000001-1"]
    assert body[clm + 2] == ["REF", "F8", "C0000001"]
    assert next(s for s in body if s[0] == "SV1")[1] == "HC:99213:95:25"
    (summary,) = read_837p(_build(claim))
    assert summary.paperwork == [("OB", "FX")]


def test_names_with_separators_are_cleaned() -> None:
    claim = replace(CLAIM, subscriber=replace(SUBSCRIBER, last_name="O*Neil~Smith:Jr"))
    body = _body(_build(claim))
    assert body[11][3] == "O NEIL SMITH JR"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"total": Decimal("200.00")}, "does not equal the sum"),
        ({"diagnoses": ()}, "at least one diagnosis"),
        ({"diagnoses": tuple(f"E11.{i}" for i in range(13))}, "at most 12"),
        ({"lines": ()}, "at least one service line"),
        ({"lines": (replace(LINE, pointers=(3,)),), "total": Decimal(125)}, "points past"),
        ({"lines": (replace(LINE, pointers=(1, 2, 1, 2, 1)),), "total": Decimal(125)}, "1 to 4"),
        ({"lines": (replace(LINE, charge=Decimal(0)),), "total": Decimal(0)}, "more than zero"),
        ({"place_of_service": "99"}, "place of service"),
        ({"frequency": "7"}, "original claim"),
        ({"relationship": "child"}, "patient's own name"),
        ({"claim_id": "X" * 21}, "1 to 20"),
    ],
)
def test_bad_claims_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _build(replace(CLAIM, **change))  # type: ignore[arg-type]


def test_bad_zip_is_refused() -> None:
    bad = replace(SUBSCRIBER, address=replace(SUBSCRIBER.address, postal_code="7870"))
    with pytest.raises(ValueError, match="subscriber ZIP code"):
        _build(replace(CLAIM, subscriber=bad))


def test_simulator_accepts_a_good_claim() -> None:
    reply = simulator.answer(_build())
    assert parse(reply).groups[0].transactions[0].code == "999"
    ack = read_999(reply)
    assert ack.accepted
    assert ack.errors == []
    assert simulator.answer(_build()) == reply  # deterministic
    assert parse(reply).control_number == "000000017"


def test_simulator_rejects_a_member_id_and_names_it() -> None:
    ack = read_999(simulator.answer(_build(replace(CLAIM, member_id="ERR0001"))))
    assert not ack.accepted
    assert ack.errors[0].startswith("segment NM1 at position 13 (loop 2010BA)")
    assert "invalid code value ('ERR0001')" in ack.errors[1]


def test_simulator_rejects_a_future_service_date() -> None:
    late = replace(LINE, service_date=date(2026, 12, 1), charge=Decimal("205"))
    ack = read_999(simulator.answer(_build(replace(CLAIM, lines=(late,)))))
    assert not ack.accepted
    assert any("DTP" in error and "invalid date" in error for error in ack.errors)


def test_simulator_rejects_totals_that_do_not_add_up() -> None:
    text = _build().replace("CLM*C0000001*205*", "CLM*C0000001*250*")
    ack = read_999(simulator.answer(text))
    assert not ack.accepted
    assert any("segment CLM" in error and "('250')" in error for error in ack.errors)


def test_read_999_refuses_other_transactions() -> None:
    with pytest.raises(ValueError, match="expected one 999"):
        read_999(_build())
