"""Reading HL7 v2 ADT messages: the header (MSH), the event (EVN), the patient (PID), the visit
(PV1, PV2), diagnoses (DG1) and merges (MRG), over python-hl7's parser.

Every value comes back unescaped (``\\T\\`` is ``&``), repetitions as lists, timestamps as
aware UTC datetimes (a timestamp without an offset is the sender's local time, taken from the
``timezone`` setting). Whatever is wrong raises :class:`Hl7Error` naming the segment and field
(``PID-7``) and carrying the HL7 table 0357 error code and the acknowledgment code (AE or AR)
the sender should get.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import hl7

# HL7 table 0357, message error condition codes.
SEGMENT_SEQUENCE = "100"
REQUIRED_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNSUPPORTED_PROCESSING_ID = "202"
UNSUPPORTED_VERSION = "203"
UNKNOWN_KEY = "204"
DUPLICATE_KEY = "205"
INTERNAL_ERROR = "207"

CODE_TEXT = {
    SEGMENT_SEQUENCE: "Segment sequence error",
    REQUIRED_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION: "Unsupported version id",
    UNKNOWN_KEY: "Unknown key identifier",
    DUPLICATE_KEY: "Duplicate key identifier",
    INTERNAL_ERROR: "Application internal error",
}

SUPPORTED_VERSIONS = frozenset(
    {"2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"}
)
PROCESSING_IDS = frozenset({"P", "T", "D"})  # HL7 table 0103

_TS = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?(?:([+-])(\d{2})(\d{2}))?$"
)
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")


class Hl7Error(Exception):
    """What is wrong with a message, where (``PID-3``, ``MSH-12``) and the table 0357 code.
    ``ack_code`` is ``AR`` (the message cannot be taken at all: not HL7, unsupported type,
    event, version or encoding) or ``AE`` (a well-formed message whose content we cannot
    apply)."""

    def __init__(self, message: str, location: str | None, code: str, ack_code: str = "AE"):
        super().__init__(message)
        self.message = message
        self.location = location
        self.code = code
        self.ack_code = ack_code


def reject(message: str, location: str | None, code: str) -> Hl7Error:
    return Hl7Error(message, location, code, ack_code="AR")


@dataclass(frozen=True)
class Header:
    """MSH, as needed to answer and to recognise a repeated message."""

    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    sent_at: dt.datetime | None
    message_type: str
    event: str
    structure: str
    control_id: str
    processing_id: str
    version: str

    @property
    def sender(self) -> str:
        return f"{self.sending_application}|{self.sending_facility}"


@dataclass(frozen=True)
class Ident:
    """A CX identifier: value, its assigning authority and its type (table 0203)."""

    value: str
    authority: str
    type: str


@dataclass
class Person:
    """PID: who the message is about."""

    identifiers: list[Ident]
    family: str
    given: str
    birth_date: dt.date | None
    sex: str | None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    phones: list[str] = field(default_factory=list)
    account_number: str | None = None
    deceased_at: dt.datetime | None = None


@dataclass
class Visit:
    """PV1 (with PV2's expected discharge disposition where PV1-36 is empty)."""

    patient_class: str
    location: str | None
    facility: str | None
    prior_location: str | None
    admission_type: str | None
    hospital_service: str | None
    admit_source: str | None
    attending: str | None
    visit_number: str | None
    discharge_disposition: str | None
    admit_at: dt.datetime | None
    discharge_at: dt.datetime | None


@dataclass(frozen=True)
class Diagnosis:
    """DG1: a coded diagnosis; ``system`` as the sender gave it (I10, ICD10, I9, SCT...)."""

    code: str
    text: str
    system: str
    type: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "text": self.text, "system": self.system, "type": self.type}


@dataclass(frozen=True)
class Merge:
    """MRG: the identifiers, account and visit the patient was known by before."""

    prior_identifiers: list[Ident]
    prior_account: str | None
    prior_visit: str | None


# --- the message ------------------------------------------------------------------------------


def normalise(raw: str) -> str:
    """Segments separated by carriage returns, as the standard says, whatever the sender used;
    a byte-order mark and blank lines dropped."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\r").replace("\n", "\r")
    segments = [s.rstrip() for s in text.split("\r")]
    return "\r".join(s for s in segments if s.strip())


class Segment:
    """One segment, split into fields only when first read: ``fields[n]`` is field ``n`` as
    sent (for MSH, ``fields[1]`` is MSH-1, the field separator, and ``fields[2]`` MSH-2)."""

    __slots__ = ("_fields", "_separator", "name", "text")

    def __init__(self, text: str, field_sep: str):
        self.name = text[:3]
        self.text = text
        self._separator = field_sep
        self._fields: list[str] | None = None

    @property
    def fields(self) -> list[str]:
        if self._fields is None:
            if self.name == "MSH":
                self._fields = ["MSH", self._separator, *self.text[4:].split(self._separator)]
            else:
                self._fields = self.text.split(self._separator)
        return self._fields


class Message:
    """A parsed message with accessors that always give unescaped strings.

    Only the segment boundaries are found up front; a segment is split into fields, and a
    field into repetitions, components and subcomponents, when it is read, so the long
    segments an ADT message carries and we never read (OBX, IN1, GT1, ROL, NK1) cost nothing.
    Unescaping is python-hl7's, with this message's separators."""

    def __init__(self, raw: str):
        text = normalise(raw)
        if not text.startswith("MSH"):
            raise reject("The message does not start with an MSH segment", "MSH", SEGMENT_SEQUENCE)
        if len(text) < 8:
            raise reject("The MSH segment is cut short", "MSH-2", REQUIRED_MISSING)
        self.field_sep = text[3]
        self.encoding = text[4:8]
        seps = self.field_sep + self.encoding
        if self.field_sep.isalnum() or len(set(seps)) != 5 or any(c.isalnum() for c in seps):
            raise reject(
                "MSH-1 and MSH-2 must be five different separator characters (|^~\\&)",
                "MSH-2",
                DATA_TYPE_ERROR,
            )
        self.component_sep = self.encoding[0]
        self.repetition_sep = self.encoding[1]
        self.escape_char = self.encoding[2]
        self.subcomponent_sep = self.encoding[3]
        self._segments: list[Segment] = []
        for number, segment_text in enumerate(text.split("\r"), start=1):
            name = segment_text[:3]
            if not _SEGMENT_ID.match(name) or segment_text[3:4] not in ("", self.field_sep):
                raise reject(
                    f"Segment {number} ({segment_text[:10]!r}) is not a valid segment",
                    f"segment {number}",
                    SEGMENT_SEQUENCE,
                )
            self._segments.append(Segment(segment_text, self.field_sep))
        self._escapes = hl7.Message(
            esc=self.escape_char,
            separators="\r"
            + self.field_sep
            + self.repetition_sep
            + self.component_sep
            + self.subcomponent_sep,
        )

    def segments(self, name: str) -> list[Segment]:
        return [s for s in self._segments if s.name == name]

    def segment(self, name: str) -> Segment | None:
        return next((s for s in self._segments if s.name == name), None)

    def names(self) -> list[str]:
        return [s.name for s in self._segments]

    def raw_field(self, segment: Segment, number: int) -> str:
        if segment.name == "MSH":
            if number == 1:
                return self.field_sep
            if number == 2:
                return self.encoding
        fields = segment.fields
        if number >= len(fields):
            return ""
        return fields[number]

    def _unescape(self, text: str) -> str:
        if self.escape_char not in text:
            return text
        try:
            return str(self._escapes.unescape(text))
        except ValueError:
            shown = text if len(text) <= 60 else text[:59] + "…"
            raise reject(f"an escape sequence is not valid HL7 in {shown!r}", None, "102") from None

    def repetitions(self, segment: Segment, number: int) -> list[list[list[str]]]:
        """Field ``number`` as repetitions of components of subcomponents, unescaped."""
        text = self.raw_field(segment, number)
        if not text:
            return []
        return [
            [
                [self._unescape(sub) for sub in component.split(self.subcomponent_sep)]
                for component in repetition.split(self.component_sep)
            ]
            for repetition in text.split(self.repetition_sep)
        ]

    def value(self, segment: Segment, number: int, component: int = 1, sub: int = 1) -> str:
        """One value (first repetition), unescaped and stripped; "" when absent."""
        reps = self.repetitions(segment, number)
        return pick(reps[0], component, sub) if reps else ""


def pick(repetition: list[list[str]], component: int, sub: int = 1) -> str:
    if component > len(repetition):
        return ""
    subs = repetition[component - 1]
    if sub > len(subs):
        return ""
    value = subs[sub - 1].strip()
    return "" if value == '""' else value


# --- timestamps -------------------------------------------------------------------------------


def timestamp(value: str, location: str, zone: str) -> dt.datetime | None:
    """An HL7 DTM/TS as an aware UTC datetime; without an offset it is the sender's local
    time in ``zone``. Empty gives ``None``; anything else unreadable is an error at
    ``location``."""
    value = value.strip()
    if not value:
        return None
    match = _TS.match(value)
    if match is None:
        raise Hl7Error(
            f"{location} {value!r} is not an HL7 timestamp (YYYYMMDDHHMMSS[+ZZZZ])",
            location,
            DATA_TYPE_ERROR,
        )
    year, month, day, hour, minute, second, fraction, sign, oh, om = match.groups()
    try:
        if sign:
            offset = dt.timedelta(hours=int(oh), minutes=int(om))
            tz: dt.tzinfo = dt.timezone(offset if sign == "+" else -offset)
        else:
            tz = ZoneInfo(zone)
        micro = int((fraction or "0").ljust(6, "0")[:6])
        local = dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError as exc:
        raise Hl7Error(
            f"{location} {value!r} is not a valid date and time: {exc}", location, DATA_TYPE_ERROR
        ) from None
    return local.astimezone(dt.UTC)


def date_of(value: str, location: str) -> dt.date | None:
    """The calendar date an HL7 timestamp names, as written (a birth date is a date in the
    place of birth; its offset does not move it)."""
    value = value.strip()
    if not value:
        return None
    match = _TS.match(value)
    if match is None or match.group(3) is None:
        raise Hl7Error(f"{location} {value!r} is not a date (YYYYMMDD)", location, DATA_TYPE_ERROR)
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise Hl7Error(
            f"{location} {value!r} is not a valid date: {exc}", location, DATA_TYPE_ERROR
        ) from None


# --- segments ---------------------------------------------------------------------------------


def header(message: Message, zone: str) -> Header:
    msh = message.segment("MSH")
    if msh is None:  # Message() already checked; kept for the type checker
        raise reject("No MSH segment", "MSH", SEGMENT_SEQUENCE)
    v = message.value
    control_id = v(msh, 10)
    message_type = v(msh, 9, 1)
    event = v(msh, 9, 2)
    if not event:
        evn = message.segment("EVN")
        event = v(evn, 1) if evn is not None else ""
    version = v(msh, 12, 1)
    try:
        sent_at = timestamp(v(msh, 7), "MSH-7", zone)
    except Hl7Error:
        sent_at = None
    return Header(
        sending_application=v(msh, 3),
        sending_facility=v(msh, 4),
        receiving_application=v(msh, 5),
        receiving_facility=v(msh, 6),
        sent_at=sent_at,
        message_type=message_type,
        event=event,
        structure=v(msh, 9, 3),
        control_id=control_id,
        processing_id=v(msh, 11, 1),
        version=version,
    )


def check_header(head: Header) -> None:
    """What makes a message unacceptable as a whole (answered AR)."""
    if not head.control_id:
        raise reject("MSH-10 (message control id) is empty", "MSH-10", REQUIRED_MISSING)
    if not head.message_type:
        raise reject("MSH-9 (message type) is empty", "MSH-9", REQUIRED_MISSING)
    if head.message_type != "ADT":
        raise reject(
            f"Message type {head.message_type} is not supported; this interface takes ADT",
            "MSH-9",
            UNSUPPORTED_MESSAGE_TYPE,
        )
    if not head.version:
        raise reject("MSH-12 (version id) is empty", "MSH-12", REQUIRED_MISSING)
    if head.version not in SUPPORTED_VERSIONS:
        raise reject(
            f"HL7 version {head.version} is not supported (2.2 to 2.8.2 are)",
            "MSH-12",
            UNSUPPORTED_VERSION,
        )
    if head.processing_id and head.processing_id not in PROCESSING_IDS:
        raise reject(
            f"Processing id {head.processing_id} is not one of P, T, D",
            "MSH-11",
            UNSUPPORTED_PROCESSING_ID,
        )
    if not re.fullmatch(r"A\d{2}", head.event):
        raise reject(
            f"MSH-9.2 (trigger event) {head.event or 'is empty'}: not an ADT event",
            "MSH-9",
            UNSUPPORTED_EVENT,
        )


def event_time(message: Message, zone: str) -> dt.datetime | None:
    """When the event happened: EVN-6 (event occurred), else EVN-2 (recorded)."""
    evn = message.segment("EVN")
    if evn is None:
        return None
    return timestamp(message.value(evn, 6), "EVN-6", zone) or timestamp(
        message.value(evn, 2), "EVN-2", zone
    )


def identifiers(message: Message, segment: Segment, number: int) -> list[Ident]:
    found = []
    for rep in message.repetitions(segment, number):
        value = pick(rep, 1)
        if not value:
            continue
        authority = pick(rep, 4, 2) or pick(rep, 4, 1)
        if not authority and len(rep) >= 4 and len(rep[3]) == 1:
            authority = pick(rep, 4)
        found.append(Ident(value=value, authority=authority, type=pick(rep, 5).upper()))
    return found


_SEX = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "other"}


def person(message: Message, zone: str, *, segment: Segment | None = None) -> Person:
    pid = segment if segment is not None else message.segment("PID")
    if pid is None:
        raise Hl7Error("The message has no PID segment", "PID", SEGMENT_SEQUENCE)
    ids = identifiers(message, pid, 3)
    if not ids:
        raise Hl7Error(
            "PID-3 (patient identifier list) is empty: the patient cannot be identified",
            "PID-3",
            REQUIRED_MISSING,
        )
    names = message.repetitions(pid, 5)
    legal = next((n for n in names if pick(n, 7) == "L"), names[0] if names else [])
    family = pick(legal, 1, 1)
    given = " ".join(p for p in (pick(legal, 2), pick(legal, 3)) if p)
    sex_code = message.value(pid, 8).upper()
    address = next(iter(message.repetitions(pid, 11)), [])
    phones = []
    for number in (13, 14):
        for rep in message.repetitions(pid, number):
            text = pick(rep, 1)
            if not text and pick(rep, 6) and pick(rep, 7):
                text = pick(rep, 6) + pick(rep, 7)
            if text:
                phones.append(text)
    return Person(
        identifiers=ids,
        family=family,
        given=given,
        birth_date=date_of(message.value(pid, 7), "PID-7"),
        sex=_SEX.get(sex_code[:1]) if sex_code else None,
        address_line1=pick(address, 1, 1) or None,
        address_line2=pick(address, 2) or None,
        city=pick(address, 3) or None,
        state=pick(address, 4) or None,
        postal_code=pick(address, 5) or None,
        phones=phones,
        account_number=message.value(pid, 18) or None,
        deceased_at=timestamp(message.value(pid, 29), "PID-29", zone),
    )


def _location(rep: list[list[str]]) -> str | None:
    parts = [pick(rep, 1, 1), pick(rep, 2, 1), pick(rep, 3, 1)]
    shown = " ".join(p for p in parts if p)
    return shown or None


def _person_name(rep: list[list[str]]) -> str | None:
    name = " ".join(p for p in (pick(rep, 6), pick(rep, 3), pick(rep, 2, 1)) if p)
    return name or pick(rep, 1) or None


def visit(message: Message, zone: str, *, segment: Segment | None = None) -> Visit:
    pv1 = segment if segment is not None else message.segment("PV1")
    if pv1 is None:
        raise Hl7Error("The message has no PV1 segment", "PV1", SEGMENT_SEQUENCE)
    location = next(iter(message.repetitions(pv1, 3)), [])
    prior = next(iter(message.repetitions(pv1, 6)), [])
    attending = next(iter(message.repetitions(pv1, 7)), [])
    disposition = message.value(pv1, 36)
    pv2 = message.segment("PV2")
    return Visit(
        patient_class=message.value(pv1, 2).upper(),
        location=_location(location),
        facility=pick(location, 4, 1) or None,
        prior_location=_location(prior),
        admission_type=message.value(pv1, 4)[:4] or None,
        hospital_service=message.value(pv1, 10)[:40] or None,
        admit_source=message.value(pv1, 14)[:8] or None,
        attending=_person_name(attending),
        visit_number=message.value(pv1, 19) or None,
        discharge_disposition=(disposition or (message.value(pv2, 23) if pv2 is not None else ""))[
            :8
        ]
        or None,
        admit_at=timestamp(message.value(pv1, 44), "PV1-44", zone),
        discharge_at=timestamp(message.value(pv1, 45), "PV1-45", zone),
    )


_CODING_SYSTEMS = {"I10": "ICD-10", "ICD10": "ICD-10", "I10C": "ICD-10-CM", "I9": "ICD-9"}


def diagnoses(message: Message) -> list[Diagnosis]:
    found = []
    for dg1 in message.segments("DG1"):
        coded = next(iter(message.repetitions(dg1, 3)), [])
        code = pick(coded, 1)
        text = pick(coded, 2) or message.value(dg1, 4)
        system = pick(coded, 3) or message.value(dg1, 2)
        if not code and not text:
            continue
        found.append(
            Diagnosis(
                code=code,
                text=text,
                system=_CODING_SYSTEMS.get(system.upper(), system),
                type=message.value(dg1, 6) or None,
            )
        )
    return found


def merges(message: Message) -> list[Merge]:
    return [
        Merge(
            prior_identifiers=identifiers(message, mrg, 1),
            prior_account=message.value(mrg, 3) or None,
            prior_visit=message.value(mrg, 5) or None,
        )
        for mrg in message.segments("MRG")
    ]
