"""Professional claim (837P, implementation guide 005010X222A2) and its acknowledgement (999).

The codec handles the envelope; this module knows the claim's loops:
1000A submitter and 1000B receiver, then the HL tree 20 billing provider (2010AA) ->
22 subscriber (SBR, 2010BA subscriber, 2010BB payer) -> 23 patient when a dependent (PAT),
with the claim (2300 CLM, PWK, REF G1, HI), the rendering provider (2310B) and the service
lines (2400 LX, SV1, DTP 472) under the patient's level.

``build_837p`` refuses a claim that does not add up (ValueError naming what), so every claim
it writes parses with our codec and reads back with ``read_837p``; ``read_999`` reads the
acknowledgement that says whether the clearinghouse took it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from carebridge.coverage.codes import RELATIONSHIP_X12, SEX_X12
from carebridge.coverage.x12.codec import Segment, build_interchange, parse, write

VERSION = "005010X222A2"
ACK_VERSION = "005010X231A1"
MAX_DIAGNOSES = 12  # HI holds twelve codes; the first is the principal one (ABK)
MAX_POINTERS = 4  # SV107: up to four diagnoses per service line
MAX_LINES = 50  # service lines per 837P claim

# Claim frequency (CLM05-3): an original claim, or a replacement of one the payer took.
FREQUENCIES: dict[str, str] = {"1": "Original claim", "7": "Replacement of a prior claim"}

# Place of service codes (CMS) a clinic like ours bills with.
PLACES_OF_SERVICE: dict[str, str] = {
    "11": "Office",
    "02": "Telehealth provided other than in the patient's home",
    "10": "Telehealth provided in the patient's home",
    "12": "Home",
}

# PWK01 attachment report types used for clinic claims (X12 code list 755, a subset).
REPORT_TYPES: dict[str, str] = {
    "OB": "Operative note",
    "09": "Progress report",
    "B4": "Referral form",
    "CT": "Certification",
    "DG": "Diagnostic report",
    "LA": "Laboratory results",
    "M1": "Medical record attachment",
    "PN": "Physical therapy notes",
    "OZ": "Support data for claim",
    "EB": "Explanation of benefits",
}
# PWK02 how the attachment travels.
TRANSMISSIONS: dict[str, str] = {
    "BM": "By mail",
    "EL": "Electronically only",
    "FX": "By fax",
    "AA": "Available on request at the clinic",
}

# Provider taxonomy codes (PRV03) for the rendering provider's specialty.
TAXONOMY: dict[str, str] = {
    "family-medicine": "207Q00000X",
    "internal-medicine": "207R00000X",
    "cardiology": "207RC0000X",
    "endocrinology": "207RE0101X",
    "pulmonology": "207RP1001X",
    "behavioral-health": "103T00000X",
    "physical-therapy": "225100000X",
    "nutrition": "133V00000X",
    "nursing": "163W00000X",
    "laboratory": "246QM0706X",
}
DEFAULT_TAXONOMY = "208D00000X"  # general practice


@dataclass(frozen=True, slots=True)
class Address:
    line: str
    city: str
    state: str
    postal_code: str  # 5 or 9 digits, no dash


@dataclass(frozen=True, slots=True)
class BillingProvider:
    name: str
    npi: str
    tax_id: str  # EIN, 9 digits
    address: Address
    contact_name: str
    phone: str  # 10 digits


@dataclass(frozen=True, slots=True)
class Person:
    last_name: str
    first_name: str
    birth_date: date
    sex: str  # a key of SEX_X12
    address: Address


@dataclass(frozen=True, slots=True)
class RenderingProvider:
    last_name: str
    first_name: str
    npi: str
    taxonomy: str = DEFAULT_TAXONOMY


@dataclass(frozen=True, slots=True)
class ServiceLine:
    code: str  # CPT/HCPCS, normalized
    charge: Decimal
    units: Decimal
    pointers: tuple[int, ...]  # 1-based positions in Claim.diagnoses, 1 to 4 of them
    service_date: date
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Paperwork:
    """An attachment sent apart from the claim (PWK): what it is, how, and its control number."""

    report_type: str  # a key of REPORT_TYPES
    transmission: str  # a key of TRANSMISSIONS
    control_number: str


@dataclass(frozen=True, slots=True)
class Claim:
    claim_id: str  # CLM01, our patient control number, at most 20 characters
    total: Decimal  # CLM02, must equal the sum of the lines' charges
    place_of_service: str  # a key of PLACES_OF_SERVICE
    diagnoses: tuple[str, ...]  # ICD-10-CM, with or without the dot; first is principal
    lines: tuple[ServiceLine, ...]
    payer_name: str
    payer_id: str
    rank: str  # SBR01: P, S or T
    filing_indicator: str  # SBR09, coverage.codes.PLAN_TYPE_X12
    subscriber: Person
    member_id: str
    rendering: RenderingProvider
    relationship: str = "self"  # a key of RELATIONSHIP_X12; anything else adds the 2000C loop
    patient: Person | None = None  # the patient when not the subscriber
    group_number: str = ""
    group_name: str = ""
    prior_authorization: str = ""  # REF G1
    frequency: str = "1"  # a key of FREQUENCIES
    original_reference: str = ""  # REF F8, required for a replacement (frequency 7)
    paperwork: tuple[Paperwork, ...] = ()


def _money(value: Decimal) -> str:
    """Amounts as the guide writes them: no trailing zeros beyond cents, no leading zeros."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text[:-3] if text.endswith(".00") else text.rstrip("0")


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _plain(value: str) -> str:
    """Free text (names, addresses) without the characters the default separators use."""
    return " ".join(value.translate(_DELIMITERS).split()).upper()


_DELIMITERS = str.maketrans(dict.fromkeys("*~:^", " "))


def _zip(value: str, what: str) -> str:
    digits = value.replace("-", "")
    if not (digits.isdigit() and len(digits) in (5, 9)):
        raise ValueError(f"{what} ZIP code {value!r} must be 5 or 9 digits")
    return digits


def check(claim: Claim) -> None:
    """Refuse a claim that cannot be billed as it stands (ValueError naming what is wrong)."""
    if not claim.claim_id or len(claim.claim_id) > 20:
        raise ValueError("the claim id (CLM01) must be 1 to 20 characters")
    if not claim.diagnoses:
        raise ValueError("a claim needs at least one diagnosis (HI)")
    if len(claim.diagnoses) > MAX_DIAGNOSES:
        raise ValueError(f"a claim holds at most {MAX_DIAGNOSES} diagnoses")
    if not claim.lines:
        raise ValueError("a claim needs at least one service line")
    if len(claim.lines) > MAX_LINES:
        raise ValueError(f"a claim holds at most {MAX_LINES} service lines")
    for number, line in enumerate(claim.lines, start=1):
        if line.charge <= 0:
            raise ValueError(f"line {number}: the charge must be more than zero")
        if line.units <= 0:
            raise ValueError(f"line {number}: the units must be more than zero")
        if not 1 <= len(line.pointers) <= MAX_POINTERS:
            raise ValueError(f"line {number}: point to 1 to {MAX_POINTERS} diagnoses")
        for pointer in line.pointers:
            if not 1 <= pointer <= len(claim.diagnoses):
                raise ValueError(
                    f"line {number}: diagnosis pointer {pointer} points past the "
                    f"{len(claim.diagnoses)} diagnoses of the claim"
                )
        if len(line.modifiers) > 4:
            raise ValueError(f"line {number}: at most four modifiers")
    total = sum((line.charge for line in claim.lines), Decimal(0))
    if total != claim.total:
        raise ValueError(
            f"the claim total {claim.total} does not equal the sum of its lines {total}"
        )
    if claim.place_of_service not in PLACES_OF_SERVICE:
        raise ValueError(f"place of service {claim.place_of_service!r} is not one we bill")
    if claim.frequency not in FREQUENCIES:
        raise ValueError(f"claim frequency {claim.frequency!r} is not 1 or 7")
    if claim.frequency == "7" and not claim.original_reference:
        raise ValueError("a replacement claim (frequency 7) needs the original claim's number")
    if claim.relationship not in RELATIONSHIP_X12:
        raise ValueError(f"relationship {claim.relationship!r} is not one of {RELATIONSHIP_X12}")
    if claim.relationship != "self" and claim.patient is None:
        raise ValueError("a dependent's claim needs the patient's own name and birth date")
    for paper in claim.paperwork:
        if paper.report_type not in REPORT_TYPES or paper.transmission not in TRANSMISSIONS:
            raise ValueError(f"attachment {paper.report_type}/{paper.transmission} is not known")


def _address(address: Address, what: str) -> list[Segment]:
    return [
        Segment("N3", (_plain(address.line),)),
        Segment("N4", (_plain(address.city), address.state, _zip(address.postal_code, what))),
    ]


def _body(claim: Claim, provider: BillingProvider, submitter_id: str, receiver: tuple[str, str],
          reference: str, now: datetime) -> list[Segment]:  # fmt: skip
    def seg(segment_id: str, *elements: str) -> Segment:
        return Segment(segment_id, elements)

    subscriber = claim.subscriber
    dependent = claim.relationship != "self"
    body = [
        seg("BHT", "0019", "00", reference, f"{now:%Y%m%d}", f"{now:%H%M}", "CH"),
        # 1000A submitter (us, identified by the id the clearinghouse knows us by) and contact.
        seg("NM1", "41", "2", _plain(provider.name), "", "", "", "", "46", submitter_id),
        seg("PER", "IC", _plain(provider.contact_name), "TE", provider.phone),
        # 1000B receiver.
        seg("NM1", "40", "2", _plain(receiver[0]), "", "", "", "", "46", receiver[1]),
        # 2000A billing provider.
        seg("HL", "1", "", "20", "1"),
        seg("NM1", "85", "2", _plain(provider.name), "", "", "", "", "XX", provider.npi),
        *_address(provider.address, "billing provider"),
        seg("REF", "EI", provider.tax_id),
        # 2000B subscriber: SBR02 is 18 only when the subscriber is the patient.
        seg("HL", "2", "1", "22", "1" if dependent else "0"),
        seg(
            "SBR", claim.rank, "" if dependent else "18", claim.group_number,
            "" if claim.group_number else claim.group_name, "", "", "", "",
            claim.filing_indicator,
        ),
        seg("NM1", "IL", "1", _plain(subscriber.last_name), _plain(subscriber.first_name),
            "", "", "", "MI", claim.member_id),
    ]  # fmt: skip
    if not dependent:  # the subscriber's address and demographics are the patient's
        body += [
            *_address(subscriber.address, "subscriber"),
            seg("DMG", "D8", f"{subscriber.birth_date:%Y%m%d}", SEX_X12[subscriber.sex]),
        ]
    body.append(
        seg("NM1", "PR", "2", _plain(claim.payer_name), "", "", "", "", "PI", claim.payer_id)
    )
    if dependent:
        patient = claim.patient
        assert patient is not None  # check() refused it otherwise
        body += [
            seg("HL", "3", "2", "23", "0"),
            seg("PAT", RELATIONSHIP_X12[claim.relationship]),
            seg("NM1", "QC", "1", _plain(patient.last_name), _plain(patient.first_name)),
            *_address(patient.address, "patient"),
            seg("DMG", "D8", f"{patient.birth_date:%Y%m%d}", SEX_X12[patient.sex]),
        ]
    # 2300 claim.
    body.append(
        seg(
            "CLM",
            claim.claim_id,
            _money(claim.total),
            "",
            "",
            f"{claim.place_of_service}:B:{claim.frequency}",
            "Y",
            "A",
            "Y",
            "Y",
        )
    )
    for paper in claim.paperwork:
        body.append(
            seg("PWK", paper.report_type, paper.transmission, "", "", "AC", paper.control_number)
        )
    if claim.frequency == "7":
        body.append(seg("REF", "F8", claim.original_reference))
    if claim.prior_authorization:
        body.append(seg("REF", "G1", claim.prior_authorization))
    codes = [code.replace(".", "").upper() for code in claim.diagnoses]
    body.append(
        seg("HI", *(f"{'ABK' if i == 0 else 'ABF'}:{code}" for i, code in enumerate(codes)))
    )
    # 2310B rendering provider.
    rendering = claim.rendering
    body += [
        seg("NM1", "82", "1", _plain(rendering.last_name), _plain(rendering.first_name),
            "", "", "", "XX", rendering.npi),
        seg("PRV", "PE", "PXC", rendering.taxonomy),
    ]  # fmt: skip
    # 2400 service lines.
    for number, line in enumerate(claim.lines, start=1):
        procedure = ":".join(("HC", line.code, *line.modifiers))
        body += [
            seg("LX", str(number)),
            seg(
                "SV1",
                procedure,
                _money(line.charge),
                "UN",
                _quantity(line.units),
                "",
                "",
                ":".join(str(p) for p in line.pointers),
            ),
            seg("DTP", "472", "D8", f"{line.service_date:%Y%m%d}"),
        ]
    return body


def build_837p(
    claim: Claim,
    provider: BillingProvider,
    *,
    control_number: int,
    sender_id: str,
    receiver_id: str,
    receiver_name: str,
    now: datetime,
) -> str:
    """One 837P interchange holding ``claim``; ValueError when the claim does not add up."""
    check(claim)
    body = _body(claim, provider, sender_id, (receiver_name, receiver_id), claim.claim_id, now)
    interchange = build_interchange(
        [("837", body)],
        sender_id=sender_id,
        receiver_id=receiver_id,
        control_number=control_number,
        functional_code="HC",
        version=VERSION,
        created=now,
    )
    return write(interchange)


# --- reading an 837P back (the simulator, the claim page and the tests) --------------------------


@dataclass(slots=True)
class ClaimSummary:
    claim_id: str = ""
    total: Decimal = Decimal(0)
    place_of_service: str = ""
    frequency: str = ""
    member_id: str = ""
    payer_id: str = ""
    hierarchy: list[str] = field(default_factory=list)  # HL03 levels in order, e.g. 20 22 23
    diagnoses: list[str] = field(default_factory=list)
    line_charges: list[Decimal] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)
    prior_authorization: str = ""
    paperwork: list[tuple[str, str]] = field(default_factory=list)
    service_dates: list[str] = field(default_factory=list)
    control_number: str = ""  # ST02
    group_control_number: str = ""  # GS06


def read_837p(text: str) -> list[ClaimSummary]:
    """What each 837 transaction of an interchange claims; X12Error if malformed."""
    found: list[ClaimSummary] = []
    for group in parse(text).groups:
        for transaction in group.transactions:
            if transaction.code != "837":
                continue
            summary = ClaimSummary(
                control_number=transaction.control_number,
                group_control_number=group.control_number,
            )
            for segment in transaction.body:
                _read_segment(summary, segment)
            found.append(summary)
    return found


def _read_segment(summary: ClaimSummary, segment: Segment) -> None:
    if segment.id == "HL":
        summary.hierarchy.append(segment.element(3))
    elif segment.id == "NM1" and segment.element(1) == "IL":
        summary.member_id = segment.element(9)
    elif segment.id == "NM1" and segment.element(1) == "PR":
        summary.payer_id = segment.element(9)
    elif segment.id == "CLM":
        summary.claim_id = segment.element(1)
        summary.total = Decimal(segment.element(2) or "0")
        summary.place_of_service = segment.component(5, 1)
        summary.frequency = segment.component(5, 3)
    elif segment.id == "PWK":
        summary.paperwork.append((segment.element(1), segment.element(2)))
    elif segment.id == "REF" and segment.element(1) == "G1":
        summary.prior_authorization = segment.element(2)
    elif segment.id == "HI":
        summary.diagnoses += [
            segment.component(position, 2) for position in range(1, len(segment.elements) + 1)
        ]
    elif segment.id == "SV1":
        summary.procedures.append(segment.component(1, 2))
        summary.line_charges.append(Decimal(segment.element(2) or "0"))
    elif segment.id == "DTP" and segment.element(1) == "472":
        summary.service_dates.append(segment.element(3))


# --- the 999 acknowledgement ---------------------------------------------------------------------

# IK304 segment syntax error codes and IK403 element error codes, in plain words.
SEGMENT_ERRORS: dict[str, str] = {
    "1": "unrecognized segment",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I9": "implementation dependent 'not used' segment present",
}
ELEMENT_ERRORS: dict[str, str] = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "I10": "implementation 'not used' data element present",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent data element missing",
}


@dataclass(slots=True)
class Acknowledgement:
    accepted: bool
    errors: list[str] = field(default_factory=list)  # one plain sentence per IK3/IK4


def read_999(text: str) -> Acknowledgement:
    """Whether the 999 accepts the claim's transaction set, and the errors it names."""
    interchange = parse(text)
    codes = [t.code for g in interchange.groups for t in g.transactions]
    if codes != ["999"]:
        raise ValueError(f"expected one 999 acknowledgement, found {', '.join(codes) or 'none'}")
    transaction = interchange.groups[0].transactions[0]
    accepted: bool | None = None
    errors: list[str] = []
    where = ""
    for segment in transaction.body:
        if segment.id == "IK3":
            where = f"segment {segment.element(1)} at position {segment.element(2)}"
            if segment.element(3):
                where += f" (loop {segment.element(3)})"
            problem = SEGMENT_ERRORS.get(segment.element(4), f"error {segment.element(4)}")
            errors.append(f"{where}: {problem}")
        elif segment.id == "IK4":
            element = segment.component(1, 1)
            problem = ELEMENT_ERRORS.get(segment.element(3), f"error {segment.element(3)}")
            bad = segment.element(4)
            errors.append(f"{where}, element {element}: {problem}" + (f" ({bad!r})" if bad else ""))
        elif segment.id == "IK5" or (segment.id == "AK9" and accepted is None):
            accepted = segment.element(1) in {"A", "E"}
    if accepted is None:
        raise ValueError("the 999 has neither IK5 nor AK9: it says nothing about the claim")
    return Acknowledgement(accepted=accepted, errors=errors)
