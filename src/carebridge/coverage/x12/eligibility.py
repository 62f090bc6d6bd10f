"""Eligibility inquiry (270) and response (271), implementation guide 005010X279A1.

The codec handles the envelope; this module only knows the HL loop structure:
20 information source (payer) -> 21 information receiver (us) -> 22 subscriber -> 23 dependent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from carebridge.coverage.codes import SEX_X12
from carebridge.coverage.x12.codec import Segment, build_interchange, parse, write

VERSION = "005010X279A1"

# --- building the 270 ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dependent:
    """The patient when they are not the subscriber (5010: dependents have no own member id)."""

    last_name: str
    first_name: str
    birth_date: date
    sex: str  # a key of SEX_X12: "female", "male" or "unknown"


@dataclass(frozen=True, slots=True)
class EligibilityRequest:
    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    subscriber_last_name: str
    subscriber_first_name: str
    member_id: str
    subscriber_birth_date: date
    subscriber_sex: str  # a key of SEX_X12
    service_date: date
    trace_number: str  # echoed back by the payer in the 271 TRN, to match the answer to us
    trace_originator_id: str  # TRN03: "1" + our EIN, identifies whose trace number it is
    service_type_codes: tuple[str, ...] = ("30",)  # 30 = health benefit plan coverage
    dependent: Dependent | None = None


def _demographics(birth_date: date, sex: str) -> Segment:
    """DMG with the birth date, and the sex when known: the 270 guide's DMG03 takes only F
    or M, so an unknown sex is left out rather than sent as U."""
    try:
        code = SEX_X12[sex]
    except KeyError:
        raise ValueError(f"sex {sex!r} is not one of {sorted(SEX_X12)}") from None
    elements = ["D8", birth_date.strftime("%Y%m%d")]
    if code in {"F", "M"}:
        elements.append(code)
    return Segment("DMG", tuple(elements))


def build_270(
    request: EligibilityRequest,
    *,
    control_number: int,
    sender_id: str,
    receiver_id: str,
    now: datetime,
) -> str:
    """One 270 inquiry for the subscriber, or for their dependent when ``request.dependent``."""
    if not request.service_type_codes:
        raise ValueError("at least one service type code is required (EQ01)")

    def seg(segment_id: str, *elements: str) -> Segment:
        return Segment(segment_id, elements)

    dependent = request.dependent
    # The guide puts TRN, DTP and EQ on the patient's loop: the dependent's if there is one.
    patient_loop = [
        seg("TRN", "1", request.trace_number, request.trace_originator_id),
    ]
    subscriber_name = seg(
        "NM1", "IL", "1", request.subscriber_last_name, request.subscriber_first_name,
        "", "", "", "MI", request.member_id,
    )  # fmt: skip
    subscriber_dmg = _demographics(request.subscriber_birth_date, request.subscriber_sex)
    inquiry = [
        seg("DTP", "291", "D8", request.service_date.strftime("%Y%m%d")),
        # EQ01 repeats: one EQ asks about several service types at once.
        seg("EQ", "^".join(request.service_type_codes)),
    ]
    body = [
        seg("BHT", "0022", "13", request.trace_number, f"{now:%Y%m%d}", f"{now:%H%M}"),
        seg("HL", "1", "", "20", "1"),
        seg("NM1", "PR", "2", request.payer_name, "", "", "", "", "PI", request.payer_id),
        seg("HL", "2", "1", "21", "1"),
        seg("NM1", "1P", "2", request.provider_name, "", "", "", "", "XX", request.provider_npi),
        seg("HL", "3", "2", "22", "1" if dependent else "0"),
    ]  # fmt: skip
    if dependent is None:
        body += [*patient_loop, subscriber_name, subscriber_dmg, *inquiry]
    else:
        body += [
            subscriber_name,
            subscriber_dmg,
            seg("HL", "4", "3", "23", "0"),
            *patient_loop,
            seg("NM1", "03", "1", dependent.last_name, dependent.first_name),
            _demographics(dependent.birth_date, dependent.sex),
            *inquiry,
        ]
    interchange = build_interchange(
        [("270", body)],
        sender_id=sender_id,
        receiver_id=receiver_id,
        control_number=control_number,
        functional_code="HS",
        version=VERSION,
        created=now,
    )
    return write(interchange)


# --- reading the 271 -----------------------------------------------------------------------------

# EB01 eligibility or benefit information codes that decide coverage status.
ACTIVE_CODES = frozenset("12345")  # active, full risk / services capitated, to PCP, pending invest.
INACTIVE_CODES = frozenset("678")  # inactive, pending eligibility update, pending investigation

BenefitKind = Literal["copay", "coinsurance", "deductible", "out_of_pocket", "other"]
BENEFIT_KINDS: dict[str, BenefitKind] = {
    "B": "copay",
    "A": "coinsurance",
    "C": "deductible",
    "G": "out_of_pocket",
}

# EB06 time period qualifiers, so a front desk sees "remaining" rather than "29".
TIME_PERIODS: dict[str, str] = {
    "6": "hour",
    "7": "day",
    "13": "24 hours",
    "21": "years",
    "22": "service year",
    "23": "calendar year",
    "24": "year to date",
    "25": "contract",
    "26": "episode",
    "27": "visit",
    "28": "outlier",
    "29": "remaining",
    "30": "exceeded",
    "31": "not exceeded",
    "32": "lifetime",
    "33": "lifetime remaining",
    "34": "month",
    "35": "week",
    "36": "admission",
}

# AAA03 reject reasons, with what the person sending the inquiry should do about them.
REJECT_REASONS: dict[str, str] = {
    "15": "Required data is missing: check that every required field of the inquiry is filled.",
    "41": "The payer does not accept this inquiry from us: check our enrollment with the payer.",
    "42": "The payer cannot answer right now: resend the inquiry later.",
    "43": "The payer does not recognise our provider identifier: check the clinic NPI.",
    "50": "The payer says we are not eligible to send inquiries: contact the payer.",
    "58": "The birth date is missing or does not match: check it against the insurance card.",
    "72": "The member id is missing or wrong: re-enter it exactly as on the insurance card.",
    "73": "The name is missing or does not match: enter it exactly as on the insurance card.",
    "75": "The payer has no such subscriber: check the payer, member id, name and birth date.",
    "76": "The payer found more than one match: add the member id and birth date.",
    "79": "The payer could not identify us or the payer: check the payer id and our ids.",
}


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str  # AAA03
    follow_up: str  # AAA04: C = correct and resubmit, N = do not resubmit, R = resubmit as is...
    valid: bool  # AAA01: Y if the request was valid but could not be answered
    explanation: str


@dataclass(frozen=True, slots=True)
class Provider:
    last_name: str
    first_name: str
    id_qualifier: str  # NM108, e.g. XX = NPI, SV = payer-assigned
    id: str


@dataclass(frozen=True, slots=True)
class Benefit:
    code: str  # EB01
    kind: BenefitKind
    coverage_level: str  # EB02: IND individual, FAM family, ...
    service_types: tuple[str, ...]  # EB03 repetitions
    insurance_type: str  # EB04
    plan_description: str  # EB05
    time_period: str  # EB06 code
    amount: Decimal | None  # EB07
    percent: Decimal | None  # EB08, a fraction: 0.2 means 20%
    authorization_required: bool | None  # EB11: None when the payer does not say (U or absent)
    in_network: bool | None  # EB12: None when it does not apply (W) or is unknown (U)

    @property
    def time_period_label(self) -> str:
        return TIME_PERIODS.get(self.time_period, self.time_period)


@dataclass(slots=True)
class EligibilityResult:
    level: Literal["subscriber", "dependent", "receiver"]  # receiver: rejected before a member
    last_name: str = ""
    first_name: str = ""
    member_id: str = ""  # the subscriber's id, also for dependents
    birth_date: str = ""  # DMG02, CCYYMMDD
    sex: str = ""  # DMG03
    trace_numbers: list[str] = field(default_factory=list)
    active: bool | None = None  # None when no EB01 says either way
    plan_description: str = ""
    benefits: list[Benefit] = field(default_factory=list)
    authorization_required: bool = False  # any benefit with EB11 = Y
    primary_care_provider: Provider | None = None
    rejections: list[Rejection] = field(default_factory=list)


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _yes_no(value: str) -> bool | None:
    return {"Y": True, "N": False}.get(value)


def _rejection(segment: Segment) -> Rejection:
    code = segment.element(3)
    return Rejection(
        code=code,
        follow_up=segment.element(4),
        valid=segment.element(1) == "Y",
        explanation=REJECT_REASONS.get(code, f"Rejected with reason {code}: contact the payer."),
    )


def _benefit(segment: Segment) -> Benefit:
    code = segment.element(1)
    service_types = segment.element(3)
    return Benefit(
        code=code,
        kind=BENEFIT_KINDS.get(code, "other"),
        coverage_level=segment.element(2),
        service_types=tuple(segment.repetitions(3)) if service_types else (),
        insurance_type=segment.element(4),
        plan_description=segment.element(5),
        time_period=segment.element(6),
        amount=_decimal(segment.element(7)),
        percent=_decimal(segment.element(8)),
        authorization_required=_yes_no(segment.element(11)),
        in_network=_yes_no(segment.element(12)),
    )


def read_271(text: str) -> list[EligibilityResult]:
    """One result per subscriber or dependent loop, in file order; X12Error if malformed.

    Rejections in the payer or receiver loops apply to every member below them; with no member
    loop at all they come back as a single "receiver" result.
    """
    results: list[EligibilityResult] = []
    for group in parse(text).groups:
        for transaction in group.transactions:
            if transaction.code == "271":
                results += _read_transaction(transaction.body)
    return results


def _read_transaction(body: tuple[Segment, ...]) -> list[EligibilityResult]:
    results: list[EligibilityResult] = []
    upper_rejections: list[Rejection] = []  # AAA in loops 20/21
    subscribers: dict[str, EligibilityResult] = {}  # HL01 -> subscriber, for dependents' ids
    current: EligibilityResult | None = None
    in_2120 = False  # between LS and LE: NM1 there names a benefit-related entity, not the member
    for segment in body:
        if segment.id == "HL":
            level = segment.element(3)
            in_2120 = False
            current = None
            if level in {"22", "23"}:
                current = EligibilityResult("subscriber" if level == "22" else "dependent")
                parent = subscribers.get(segment.element(2))
                if level == "22":
                    subscribers[segment.element(1)] = current
                elif parent is not None:
                    current.member_id = parent.member_id
                current.rejections.extend(upper_rejections)
                results.append(current)
        elif segment.id == "AAA":
            if current is None:
                upper_rejections.append(_rejection(segment))
            else:
                current.rejections.append(_rejection(segment))
        elif current is None:
            continue
        elif segment.id == "LS":
            in_2120 = True
        elif segment.id == "LE":
            in_2120 = False
        elif segment.id == "NM1" and in_2120:
            if segment.element(1) == "P3":
                current.primary_care_provider = Provider(
                    segment.element(3), segment.element(4), segment.element(8), segment.element(9)
                )
        elif segment.id == "NM1" and segment.element(1) in {"IL", "03"}:
            current.last_name = segment.element(3)
            current.first_name = segment.element(4)
            if segment.element(8) == "MI":
                current.member_id = segment.element(9)
        elif segment.id == "TRN":
            current.trace_numbers.append(segment.element(2))
        elif segment.id == "DMG":
            current.birth_date = segment.element(2)
            current.sex = segment.element(3)
        elif segment.id == "EB":
            _add_benefit(current, _benefit(segment))
    if not results and upper_rejections:
        results.append(EligibilityResult("receiver", rejections=upper_rejections))
    return results


def _add_benefit(result: EligibilityResult, benefit: Benefit) -> None:
    result.benefits.append(benefit)
    # One active EB is enough; an inactive one only decides when nothing said active.
    if benefit.code in ACTIVE_CODES:
        result.active = True
        if not result.plan_description:
            result.plan_description = benefit.plan_description
    elif benefit.code in INACTIVE_CODES and result.active is None:
        result.active = False
    if benefit.authorization_required:
        result.authorization_required = True
