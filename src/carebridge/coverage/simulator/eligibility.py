"""The simulated payer's eligibility answers: a 270 in, a 271 (005010X279A1) out.

The answer depends on the inquiry alone, so the demo and the tests see the same thing every
time. The 271 echoes the envelope's parties (swapped), the BHT reference, the payer and
provider loops, the member's name, member id and birth date, and each trace number (TRN,
with TRN01 = 2, "referenced transaction"). What it says is decided by the subscriber's
member id (NM109 of the subscriber loop), read in capitals:

* not 8 to 20 letters and digits -> rejected, AAA 72 (invalid member id; correct and resend);
* ending in ``99`` -> rejected, AAA 75 (no such subscriber);
* ending in ``0`` -> not active (EB01 = 6), with the plan's name;
* otherwise active (EB01 = 1). The last digit picks the plan:

  - 1, 2, 3: PPO, office visit copay $25, urgent care $50, coinsurance 20%, deductible
    $1,500, out-of-pocket maximum $6,000;
  - 4, 5, 6: HMO, office visit copay $15, urgent care $40, coinsurance 10%, deductible $500,
    out-of-pocket maximum $4,000, and a primary care provider (NM1*P3 in loop 2120);
  - 7, 8, 9: high-deductible plan, copay $40 (urgent care too), coinsurance 30%, deductible $3,000,
    out-of-pocket maximum $7,000.

  The second-to-last digit says how far into the year the member is: it is the tenths of
  the deductible and of the out-of-pocket maximum already met (``..35`` -> 30% met), so
  the remaining amounts (EB06 = 29) differ between members. Physical therapy (PT) and
  occupational therapy (AD) need prior authorization (EB11 = Y) on every plan; MRI
  (service type 62) as well on the HMO and the high-deductible plan.

When the inquiry is about a dependent (a 2000D loop), the answer for the patient is in a
dependent loop under the subscriber, as the guide has it. The plan's name is the payer's
name with the kind of plan ("Prairie Mutual Health HMO").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from carebridge.coverage.clearinghouse import ClearinghouseError
from carebridge.coverage.x12.codec import Segment, build_interchange, parse, write
from carebridge.coverage.x12.eligibility import VERSION

MEMBER_ID = re.compile(r"[A-Z0-9]{8,20}")
PT, OT, MRI = "PT", "AD", "62"


@dataclass(frozen=True, slots=True)
class PlanRules:
    kind: str
    insurance_type: str  # EB04
    office_copay: Decimal
    urgent_care_copay: Decimal
    coinsurance: Decimal  # a fraction
    deductible: Decimal
    out_of_pocket: Decimal
    authorization: tuple[str, ...]  # service types needing prior authorization
    primary_care: bool = False


PPO = PlanRules("PPO", "PR", Decimal(25), Decimal(50), Decimal("0.2"), Decimal(1500),
                Decimal(6000), (PT, OT))  # fmt: skip
HMO = PlanRules("HMO", "HM", Decimal(15), Decimal(40), Decimal("0.1"), Decimal(500),
                Decimal(4000), (PT, OT, MRI), primary_care=True)  # fmt: skip
HIGH_DEDUCTIBLE = PlanRules("high-deductible plan", "C1", Decimal(40), Decimal(40),
                            Decimal("0.3"), Decimal(3000), Decimal(7000),
                            (PT, OT, MRI))  # fmt: skip
PRIMARY_CARE = ("WELLS", "GRACE", "1679576722")  # the simulated payer's family doctor


def rules_for(member_id: str) -> PlanRules:
    last = member_id[-1]
    return PPO if last in "123" else HMO if last in "456" else HIGH_DEDUCTIBLE


@dataclass(slots=True)
class _Member:
    """One subscriber or dependent loop of the inquiry."""

    level: str  # "22" or "23"
    traces: list[Segment] = field(default_factory=list)
    name: Segment | None = None
    demographics: Segment | None = None


@dataclass(slots=True)
class _Inquiry:
    reference: str = ""
    payer: Segment | None = None
    provider: Segment | None = None
    members: list[_Member] = field(default_factory=list)
    service_date: str = ""


def _read_inquiry(body: tuple[Segment, ...]) -> _Inquiry:
    inquiry = _Inquiry()
    member: _Member | None = None
    for segment in body:
        if segment.id == "BHT":
            inquiry.reference = segment.element(3)
        elif segment.id == "HL":
            member = None
            if segment.element(3) in {"22", "23"}:
                member = _Member(segment.element(3))
                inquiry.members.append(member)
        elif segment.id == "NM1" and segment.element(1) == "PR":
            inquiry.payer = segment
        elif segment.id == "NM1" and segment.element(1) == "1P":
            inquiry.provider = segment
        elif member is None:
            continue
        elif segment.id == "TRN":
            member.traces.append(segment)
        elif segment.id == "NM1":
            member.name = segment
        elif segment.id == "DMG":
            member.demographics = segment
        elif segment.id == "DTP" and segment.element(1) == "291":
            inquiry.service_date = segment.element(3)
    return inquiry


def _seg(segment_id: str, *elements: str) -> Segment:
    return Segment(segment_id, elements)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _benefits(member_id: str, payer_name: str) -> list[Segment]:
    """The EB segments (and the primary care provider loop) for an active or inactive member."""
    rules = rules_for(member_id)
    plan = f"{payer_name} {rules.kind}"
    if member_id.endswith("0"):
        return [_seg("EB", "6", "IND", "30", rules.insurance_type, plan)]
    met = Decimal(int(member_id[-2]) if member_id[-2].isdigit() else 0) / 10

    def eb(code: str, service: str, period: str, amount: str = "", percent: str = "") -> Segment:
        return _seg(
            "EB",
            code,
            "IND",
            service,
            rules.insurance_type,
            "",
            period,
            amount,
            percent,
            "",
            "",
            "",
            "Y",
        )  # fmt: skip  (EB12 = Y: in network)

    segments = [_seg("EB", "1", "IND", "30", rules.insurance_type, plan)]
    if rules.primary_care:
        last, first, npi = PRIMARY_CARE
        segments += [
            _seg("EB", "L", "IND", "30"),
            _seg("LS", "2120"),
            _seg("NM1", "P3", "1", last, first, "", "", "", "XX", npi),
            _seg("LE", "2120"),
        ]
    segments += [
        eb("B", "98", "27", _money(rules.office_copay)),
        eb("B", "UC", "27", _money(rules.urgent_care_copay)),
        eb("A", "30", "27", "", str(rules.coinsurance)),
        eb("C", "30", "23", _money(rules.deductible)),
        eb("C", "30", "29", _money(rules.deductible * (1 - met))),
        eb("G", "30", "23", _money(rules.out_of_pocket)),
        eb("G", "30", "29", _money(rules.out_of_pocket * (1 - met))),
    ]
    for service in rules.authorization:
        segments.append(_seg("EB", "1", "IND", service, "", "", "", "", "", "", "", "Y", "Y"))
    return segments


def _rejection(member_id: str) -> Segment | None:
    if not MEMBER_ID.fullmatch(member_id):
        return _seg("AAA", "N", "", "72", "C")
    if member_id.endswith("99"):
        return _seg("AAA", "Y", "", "75", "C")
    return None


def _answer_transaction(body: tuple[Segment, ...]) -> list[Segment]:
    inquiry = _read_inquiry(body)
    if inquiry.payer is None or inquiry.provider is None or not inquiry.members:
        raise ClearinghouseError(
            "the simulator needs a payer, a provider and a subscriber loop in the 270",
            transient=False,
        )
    subscriber = inquiry.members[0]
    member_id = (subscriber.name.element(9) if subscriber.name else "").strip().upper()
    payer_name = inquiry.payer.element(3)
    rejection = _rejection(member_id)
    out = [
        _seg("BHT", "0022", "11", inquiry.reference, *_stamp(body)),
        _seg("HL", "1", "", "20", "1"),
        inquiry.payer,
        _seg("HL", "2", "1", "21", "1"),
        inquiry.provider,
    ]
    for number, member in enumerate(inquiry.members, start=3):
        parent = "2" if member.level == "22" else "3"
        has_child = member.level == "22" and len(inquiry.members) > 1
        out.append(_seg("HL", str(number), parent, member.level, "1" if has_child else "0"))
        out += [_seg("TRN", "2", t.element(2), t.element(3)) for t in member.traces]
        if member.name is not None:
            out.append(member.name)
        patient = member is inquiry.members[-1]
        if patient and rejection is not None:
            out.append(rejection)
            continue
        if member.demographics is not None:
            out.append(member.demographics)
        if patient:
            year = (inquiry.service_date or "20260101")[:4]
            out.append(_seg("DTP", "346", "D8", f"{year}0101"))
            out += _benefits(member_id, payer_name)
    return out


def _stamp(body: tuple[Segment, ...]) -> tuple[str, str]:
    for segment in body:
        if segment.id == "BHT":
            return segment.element(4), segment.element(5)
    return "20260101", "0000"


def answer(x12_270: str) -> str:
    """The 271 for every 270 in the interchange, in one interchange back to the sender."""
    interchange = parse(x12_270)
    isa = interchange.header
    gs = interchange.groups[0].header
    bodies = [
        ("271", _answer_transaction(t.body))
        for g in interchange.groups
        for t in g.transactions
        if t.code == "270"
    ]
    created = datetime.strptime(gs.element(4) + gs.element(5)[:4], "%Y%m%d%H%M")  # noqa: DTZ007
    reply = build_interchange(
        bodies,
        sender_id=isa.element(8).strip(),
        receiver_id=isa.element(6).strip(),
        control_number=int(isa.element(13)),
        functional_code="HB",
        version=VERSION,
        created=created,
    )
    return write(reply)
