"""Health care services review (278), implementation guide 005010X217: the request we send for a
prior authorization and the payer's response.

The codec handles the envelope (GS01 ``HI``); this module knows the HL loop structure:
20 utilization management organization (the payer) -> 21 requester (us, by NPI) ->
22 subscriber -> (23 dependent) -> EV patient event (UM, HI diagnoses, event dates, the
ordering provider) -> SS services (SV1 procedure and units, service dates, rendering provider).
The response repeats the loops with an HCR (the decision) at the event and at each service,
HSD the quantity approved and DTP the dates approved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from carebridge.coverage.codes import SEX_X12
from carebridge.coverage.x12.codec import Segment, X12Error, build_interchange, parse, write

VERSION = "005010X217"
FUNCTIONAL_CODE = "HI"
# HCR01 action codes we understand, and what they mean.
ACTIONS: dict[str, str] = {
    "A1": "certified in total",
    "A2": "certified, partial",
    "A3": "not certified",
    "A4": "pended",
    "A6": "modified",
    "C": "cancelled",
    "CT": "contact payer",
    "NA": "no action required",
}


# --- building the request ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    """A person (``first_name`` given) or an organization, with its NPI when it has one."""

    last_name: str
    first_name: str = ""
    npi: str = ""

    def nm1(self, entity: str) -> Segment:
        kind = "1" if self.first_name else "2"
        ids = ("XX", self.npi) if self.npi else ()
        return _trimmed("NM1", entity, kind, self.last_name, self.first_name, "", "", "", *ids)


def _trimmed(segment_id: str, *elements: str) -> Segment:
    """A segment without trailing empty elements (X12 forbids trailing separators)."""
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return Segment(segment_id, tuple(values))


@dataclass(frozen=True, slots=True)
class Patient:
    last_name: str
    first_name: str
    birth_date: date
    sex: str  # a key of SEX_X12


@dataclass(frozen=True, slots=True)
class ServiceLine:
    code: str  # CPT/HCPCS, already normalized
    units: int
    modifiers: tuple[str, ...] = ()
    rendering: Party | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    payer_name: str
    payer_id: str
    requester: Party  # the clinic, with its NPI
    subscriber: Patient
    member_id: str
    diagnoses: tuple[str, ...]  # ICD-10-CM, the first is the principal one
    start: date
    end: date
    services: tuple[ServiceLine, ...]
    trace_number: str  # BHT03 and TRN02: the payer echoes it so we match the answer
    trace_originator_id: str  # TRN03: "1" + our EIN
    service_type: str = "1"  # UM03 (1 medical care, 4 diagnostic imaging, PT physical therapy)
    ordering: Party | None = None
    dependent: Patient | None = None  # the patient when they are not the subscriber
    place_of_service: str = "11"  # UM04-1, office
    attachments: tuple[str, ...] = ()  # our ids of supporting documents (PWK06)


def _sex(value: str) -> str:
    try:
        return SEX_X12[value]
    except KeyError:
        raise ValueError(f"sex {value!r} is not one of {sorted(SEX_X12)}") from None


def _range(start: date, end: date) -> str:
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


def _icd(code: str) -> str:
    return code.replace(".", "")


def build_278(
    request: AuthorizationRequest,
    *,
    control_number: int,
    sender_id: str,
    receiver_id: str,
    now: datetime,
) -> str:
    """One 278 request (BHT 0007/13) for the request's services, as an interchange."""
    if not request.services:
        raise ValueError("at least one service line is required (loop 2000F)")
    if not request.diagnoses:
        raise ValueError("at least one diagnosis is required (HI)")
    if request.end < request.start:
        raise ValueError("the service dates end before they start (DTP)")

    def seg(segment_id: str, *elements: str) -> Segment:
        return Segment(segment_id, elements)

    body = [
        seg("BHT", "0007", "13", request.trace_number, f"{now:%Y%m%d}", f"{now:%H%M}"),
        seg("HL", "1", "", "20", "1"),
        seg("NM1", "X3", "2", request.payer_name, "", "", "", "", "PI", request.payer_id),
        seg("HL", "2", "1", "21", "1"),
        request.requester.nm1("1P"),
        seg("HL", "3", "2", "22", "1"),
        seg("NM1", "IL", "1", request.subscriber.last_name, request.subscriber.first_name,
            "", "", "", "MI", request.member_id),
        seg("DMG", "D8", f"{request.subscriber.birth_date:%Y%m%d}", _sex(request.subscriber.sex)),
    ]  # fmt: skip
    hl = 3
    if request.dependent is not None:
        hl = 4
        dep = request.dependent
        body += [
            seg("HL", "4", "3", "23", "1"),
            seg("NM1", "QC", "1", dep.last_name, dep.first_name),
            seg("DMG", "D8", f"{dep.birth_date:%Y%m%d}", _sex(dep.sex)),
        ]
    event = hl + 1
    diagnoses = [
        f"{'ABK' if i == 0 else 'ABF'}:{_icd(code)}"
        for i, code in enumerate(request.diagnoses[:12])
    ]
    body += [
        seg("HL", str(event), str(hl), "EV", "1"),
        seg("TRN", "1", request.trace_number, request.trace_originator_id),
        seg("UM", "HS", "I", request.service_type, f"{request.place_of_service}:B"),
        seg("DTP", "AAH", "RD8", _range(request.start, request.end)),
        seg("HI", *diagnoses),
    ]
    # Supporting documents: PWK01 OZ support data, PWK02 EL sent electronically, PWK06 our id.
    body += [seg("PWK", "OZ", "EL", "", "", "AC", doc) for doc in request.attachments]
    if request.ordering is not None:
        body.append(request.ordering.nm1("DK"))
    for number, line in enumerate(request.services, start=1):
        if line.units <= 0:
            raise ValueError(f"service line {number}: units must be at least 1 (SV104)")
        procedure = ":".join(("HC", line.code, *line.modifiers[:4]))
        body += [
            seg("HL", str(event + number), str(event), "SS", "0"),
            seg("TRN", "1", f"{request.trace_number}-{number}", request.trace_originator_id),
            seg("UM", "HS", "I", request.service_type),
            seg("DTP", "472", "RD8", _range(request.start, request.end)),
            seg("SV1", procedure, "0", "UN", str(line.units)),
        ]
        if line.rendering is not None:
            body.append(line.rendering.nm1("SJ"))
    interchange = build_interchange(
        [("278", body)],
        sender_id=sender_id,
        receiver_id=receiver_id,
        control_number=control_number,
        functional_code=FUNCTIONAL_CODE,
        version=VERSION,
        created=now,
    )
    return write(interchange)


# --- reading the response ------------------------------------------------------------------


@dataclass(slots=True)
class Decision:
    """One HCR with what follows it: the action, the payer's number, the reason, and the
    approved quantity (HSD) and dates (DTP)."""

    action: str = ""  # HCR01
    auth_number: str = ""  # HCR02
    reason: str = ""  # HCR03
    units: int | None = None  # HSD02
    start: date | None = None
    end: date | None = None


@dataclass(slots=True)
class ServiceDecision(Decision):
    code: str = ""  # SV1/SV2 procedure code
    trace_number: str = ""  # the line's TRN02 (ours, echoed)


@dataclass(slots=True)
class Rejection:
    code: str  # AAA03
    follow_up: str  # AAA04
    loop: str  # the HL level code it was in, or "" before the first HL


@dataclass(slots=True)
class AuthorizationResponse:
    trace_numbers: list[str] = field(default_factory=list)
    member_id: str = ""
    event: Decision = field(default_factory=Decision)
    services: list[ServiceDecision] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _date_range(segment: Segment, index: int) -> tuple[date, date]:
    qualifier, value = segment.element(2), segment.element(3)
    try:
        if qualifier == "RD8":
            first, _, last = value.partition("-")
            return (
                datetime.strptime(first, "%Y%m%d").date(),  # noqa: DTZ007 - a calendar date
                datetime.strptime(last, "%Y%m%d").date(),  # noqa: DTZ007
            )
        if qualifier == "D8":
            day = datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007
            return day, day
    except ValueError:
        pass
    raise X12Error(
        f"date {value!r} with qualifier {qualifier!r} is not a CCYYMMDD date or range",
        segment_id="DTP",
        segment_index=index,
        element=3,
    )


def read_278(text: str) -> AuthorizationResponse:
    """The payer's decision; X12Error naming the segment and position when the answer is
    malformed, is not a 278 response, or carries a decision we cannot read."""
    interchange = parse(text)
    position = 1  # ISA
    for group in interchange.groups:
        position += 1  # GS
        for transaction in group.transactions:
            position += 1  # ST
            if transaction.code == "278":
                return _read(transaction.body, position + 1)
            position += len(transaction.body) + 1
        position += 1  # GE
    raise X12Error(
        "the answer holds no 278 transaction", segment_id="ST", segment_index=3, element=1
    )


def _read(body: tuple[Segment, ...], first: int) -> AuthorizationResponse:
    result = AuthorizationResponse()
    level = ""
    current: Decision | None = None
    bht = body[0] if body else None
    if bht is None or bht.id != "BHT":
        raise X12Error("a 278 begins with BHT", segment_id="BHT", segment_index=first)
    if bht.element(2) != "11":
        raise X12Error(
            f"BHT02 is {bht.element(2)!r}: this is not a response (11)",
            segment_id="BHT",
            segment_index=first,
            element=2,
        )
    for offset, segment in enumerate(body):
        index = first + offset
        if segment.id == "HL":
            level = segment.element(3)
            if level == "EV":
                current = result.event
            elif level == "SS":
                line = ServiceDecision()
                result.services.append(line)
                current = line
            else:
                current = None
        elif segment.id == "AAA":
            result.rejections.append(Rejection(segment.element(3), segment.element(4), level))
        elif segment.id == "NM1" and segment.element(1) == "IL" and segment.element(8) == "MI":
            result.member_id = segment.element(9)
        elif segment.id == "TRN" and level in ("EV", "SS"):
            if level == "EV":
                result.trace_numbers.append(segment.element(2))
            elif isinstance(current, ServiceDecision):
                current.trace_number = segment.element(2)
        elif current is None:
            continue
        elif segment.id == "HCR":
            action = segment.element(1)
            if action not in ACTIONS:
                raise X12Error(
                    f"HCR01 action code {action!r} is not one of {', '.join(ACTIONS)}",
                    segment_id="HCR",
                    segment_index=index,
                    element=1,
                )
            current.action = action
            current.auth_number = segment.element(2)
            current.reason = segment.element(3)
        elif segment.id == "HSD":
            quantity = segment.element(2)
            if quantity:
                try:
                    current.units = int(float(quantity))
                except ValueError:
                    raise X12Error(
                        f"HSD02 quantity {quantity!r} is not a number",
                        segment_id="HSD",
                        segment_index=index,
                        element=2,
                    ) from None
        elif segment.id == "DTP" and segment.element(1) in ("AAH", "472"):
            current.start, current.end = _date_range(segment, index)
        elif segment.id in ("SV1", "SV2") and isinstance(current, ServiceDecision):
            current.code = segment.component(1, 2)
    if not result.rejections and not result.event.action:
        # Some payers decide per service only: the event takes the services' common answer.
        actions = {s.action for s in result.services if s.action}
        if not actions:
            raise X12Error(
                "the response has no HCR decision and no AAA rejection",
                segment_id="SE",
                segment_index=first + len(body),
            )
        result.event.action = "A1" if actions == {"A1"} else "A3" if actions == {"A3"} else "A2"
        result.event.auth_number = next(
            (s.auth_number for s in result.services if s.auth_number), ""
        )
    return result


# --- the response, built (the simulator and tests answer with it) ------------------------


@dataclass(frozen=True, slots=True)
class LineAnswer:
    code: str
    action: str
    units: int
    reason: str = ""


def build_278_response(
    request_text: str,
    *,
    action: str,
    auth_number: str,
    reason: str,
    lines: list[LineAnswer],
    start: date,
    end: date,
    control_number: int,
    now: datetime,
) -> str:
    """A 278 response (BHT 0007/11) to ``request_text``: its loops echoed, decisions added."""
    request = parse(request_text)
    transaction = request.groups[0].transactions[0]
    isa = request.header
    answer: list[Segment] = []
    line_number = 0
    for segment in transaction.body:
        if segment.id == "BHT":
            answer.append(
                Segment("BHT", ("0007", "11", segment.element(3), f"{now:%Y%m%d}", f"{now:%H%M}"))
            )
            continue
        if segment.id == "TRN":
            answer.append(Segment("TRN", ("2", *segment.elements[1:])))
            continue
        answer.append(segment)
        if segment.id == "HL" and segment.element(3) == "EV":
            answer.append(_trimmed("HCR", action, auth_number, reason))
        if segment.id == "DTP" and segment.element(1) == "AAH" and action in ("A1", "A2"):
            answer[-1] = Segment("DTP", ("AAH", "RD8", _range(start, end)))
        if segment.id == "SV1" and line_number < len(lines):
            line = lines[line_number]
            line_number += 1
            number = f"{auth_number}-{line_number}" if line.action in ("A1", "A2") else ""
            answer.append(_trimmed("HCR", line.action, number, line.reason))
            if line.action in ("A1", "A2"):
                answer.append(Segment("HSD", ("FL", str(line.units))))
    interchange = build_interchange(
        [("278", answer)],
        sender_id=isa.element(8).strip(),
        receiver_id=isa.element(6).strip(),
        control_number=control_number,
        functional_code=FUNCTIONAL_CODE,
        version=VERSION,
        created=now,
    )
    return write(interchange)
