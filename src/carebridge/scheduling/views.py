"""Scheduling screens: the chart's Appointments tab (find a time and book it, the patient's
visits and what can be done with them, their waitlist entries), moving or cancelling a visit,
the provider calendar (day and week), a location's day across its practitioners, the
waitlist, and the access measures with their chart.

Pages only: every use case is a call into ``scheduling.service``, ``waitlist`` or
``measures``, which audit reads and changes (calendars read through ``service.calendar``).
Forms post with a CSRF token; a write runs in a savepoint, so a refused one leaves nothing
behind and the page comes back with the reason next to the form and what was typed kept.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import ImmutableMultiDict, QueryParams

from carebridge.authorizations.service import warnings_for_booking as booking_warnings
from carebridge.lib.errors import AppError, ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.patients import codes as patient_codes
from carebridge.patients import views as chart_views
from carebridge.patients.models import Patient
from carebridge.scheduling import measures, service, waitlist
from carebridge.scheduling.codes import CANCEL_REASONS, TRANSITIONS
from carebridge.scheduling.models import (
    HOLDING,
    Appointment,
    AppointmentType,
    Location,
    Practitioner,
    WaitlistEntry,
)
from carebridge.scheduling.schemas import (
    AppointmentRead,
    AppointmentTypeRead,
    BookIn,
    CancelIn,
    LocationRead,
    PractitionerRead,
    RescheduleIn,
    Slot,
    SlotQuery,
    StatusIn,
)
from carebridge.scheduling.waitlist_schemas import AccessMeasures, WaitlistCreate, WaitlistRead
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.web.render import format_when, go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Viewer = Annotated[Actor, Depends(Require(Permission.SCHEDULE_VIEW))]
Booker = Annotated[Actor, Depends(Require(Permission.SCHEDULE_BOOK))]
Posted = chart_views.Posted

SLOT_LIMIT = 15
UPCOMING = ("proposed", "pending", "booked", "arrived", "checked-in")
MOVABLE = ("proposed", "pending", "booked")
# Statuses that say how a visit went: not offered before the visit's day.
ON_THE_DAY = ("arrived", "checked-in", "fulfilled", "noshow")
STATUS_WORDS = {
    "noshow": "No-show",
    "fulfilled": "Completed",
    "checked-in": "Checked in",
    "entered-in-error": "Entered in error",
}
ACTION_WORDS = {
    "arrived": "Arrived",
    "checked-in": "Checked in",
    "fulfilled": "Completed",
    "noshow": "No-show",
    "booked": "Booked (undo no-show)",
}
MODALITY_WORDS = {"in-person": "In person", "video": "Video", "phone": "Phone"}
WEEKDAYS = (
    ("1", "Mon"),
    ("2", "Tue"),
    ("3", "Wed"),
    ("4", "Thu"),
    ("5", "Fri"),
    ("6", "Sat"),
    ("7", "Sun"),
)
WEEKDAY_NAMES = dict(WEEKDAYS)
DAY_PARTS = (("", "Any time"), ("morning", "Morning (before 12:00)"), ("afternoon", "Afternoon"))
PART_WORDS = {"morning": "mornings", "afternoon": "afternoons"}
SEARCH_FIELDS = (
    "appointment_type_id",
    "practitioner_id",
    "location_id",
    "modality",
    "language",
    "start",
    "days",
    "day_part",
)
WAIT_FIELDS = (
    "appointment_type_id",
    "practitioner_id",
    "location_id",
    "earliest",
    "latest",
    "day_part",
    "priority",
    "note",
)
WAIT_STATUSES = (
    ("open", "Waiting or offered"),
    ("waiting", "Waiting"),
    ("offered", "Offered a time"),
    ("booked", "Booked"),
    ("removed", "Removed"),
    ("all", "All"),
)
LABELS = {
    "appointment_type_id": "visit type",
    "practitioner_id": "practitioner",
    "location_id": "location",
    "modality": "way of meeting",
    "language": "language",
    "start": "first day",
    "days": "number of days",
    "weekdays": "weekdays",
    "day_part": "time of day",
    "earliest": "first day",
    "latest": "last day",
    "priority": "priority",
    "note": "note",
    "reason": "reason",
    "mrn": "MRN",
}


# --- small helpers -----------------------------------------------------------------------


def _text(form: ImmutableMultiDict[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _weekdays(form: ImmutableMultiDict[str, Any]) -> list[str]:
    return [v for v in form.getlist("weekdays") if isinstance(v, str) and v in WEEKDAY_NAMES]


def _sentence(text: str) -> str:
    text = text.strip().removeprefix("Value error, ")
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _plain(name: str, error: Any) -> str:
    """One pydantic error, said as how to fix it."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    label = LABELS.get(name, name.replace("_", " "))
    if kind == "missing":
        return f"Choose the {label}." if name.endswith("_id") else f"Enter the {label}."
    if kind in ("uuid_parsing", "uuid_type", "literal_error", "enum"):
        return f"Choose the {label} from the list."
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"Enter the {label} as YYYY-MM-DD, e.g. 2026-11-24."
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "Enter a whole number."
    if kind == "greater_than_equal":
        return f"Enter {ctx.get('ge')} or more."
    if kind == "less_than_equal":
        return f"Enter at most {ctx.get('le')}."
    if kind == "string_too_long":
        return f"Use at most {ctx.get('max_length')} characters."
    return _sentence(str(error.get("msg", "Check this field")))


def _errors(exc: ValidationError, default: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ()
        name = str(loc[0]) if loc else default
        found.setdefault(name, _plain(name, error))
    return found


def _local_path(value: str, default: str) -> str:
    """Where to go back to: only a path on this site (never another host)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _today(zone: str) -> dt.date:
    return utcnow().astimezone(ZoneInfo(zone)).date()


def _span(start: dt.datetime, end: dt.datetime, zone: str) -> str:
    tz = ZoneInfo(zone)
    return f"{start.astimezone(tz):%H:%M}\u2013{end.astimezone(tz):%H:%M}"  # en dash


def _status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("-", " ").capitalize())


def _name(patient: Patient | None) -> str:
    return f"{patient.family_name}, {patient.given_names}" if patient else "Unknown patient"


def _spoken_name(patient: Patient | None) -> str:
    return f"{patient.given_names} {patient.family_name}" if patient else "the patient"


# --- the directory, read once per page -----------------------------------------------------


@dataclass
class Directory:
    """Practitioners, locations and visit types by id (inactive ones fetched when shown)."""

    db: Session
    people: dict[uuid.UUID, PractitionerRead]
    places: dict[uuid.UUID, LocationRead]
    kinds: dict[uuid.UUID, AppointmentTypeRead]
    clinic_zone: str

    @classmethod
    def load(cls, db: Session, clinic_zone: str) -> Directory:
        return cls(
            db=db,
            people={p.id: p for p in service.practitioners(db)},
            places={p.id: p for p in service.locations(db)},
            kinds={k.id: k for k in service.appointment_types(db)},
            clinic_zone=clinic_zone,
        )

    def person(self, ident: uuid.UUID | None) -> str:
        if ident is None:
            return "Any practitioner"
        if ident not in self.people:
            row = self.db.get(Practitioner, ident)
            if row is None:
                return "Unknown practitioner"
            self.people[ident] = PractitionerRead.model_validate(row)
        return self.people[ident].name

    def place(self, ident: uuid.UUID) -> LocationRead | None:
        if ident not in self.places:
            row = self.db.get(Location, ident)
            if row is None:
                return None
            self.places[ident] = LocationRead.model_validate(row)
        return self.places[ident]

    def place_name(self, ident: uuid.UUID | None) -> str:
        place = self.place(ident) if ident is not None else None
        return place.name if place else "Any location"

    def zone(self, ident: uuid.UUID) -> str:
        place = self.place(ident)
        return place.timezone if place else self.clinic_zone

    def kind(self, ident: uuid.UUID) -> str:
        if ident not in self.kinds:
            row = self.db.get(AppointmentType, ident)
            if row is None:
                return "Unknown visit type"
            self.kinds[ident] = AppointmentTypeRead.model_validate(row)
        return self.kinds[ident].name

    def type_options(self, blank: str | None = "Choose…") -> list[tuple[str, str]]:
        found = [("", blank)] if blank is not None else []
        for k in self.kinds.values():
            how = MODALITY_WORDS.get(k.modality, k.modality).lower()
            found.append((str(k.id), f"{k.name} ({k.duration_minutes} min, {how})"))
        return found

    def people_options(self, blank: str | None = "Any practitioner") -> list[tuple[str, str]]:
        found = [("", blank)] if blank is not None else []
        return found + [(str(p.id), p.name) for p in self.people.values()]

    def place_options(self, blank: str | None = "Any location") -> list[tuple[str, str]]:
        found = [("", blank)] if blank is not None else []
        return found + [(str(p.id), p.name) for p in self.places.values()]


def _patients(db: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Patient]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_(wanted)))}


# --- one appointment as the screens show it ------------------------------------------------


@dataclass
class Visit:
    a: AppointmentRead
    kind: str
    person: str
    place: str
    zone: str
    patient: str
    actions: list[tuple[str, str]]
    can_move: bool
    can_cancel: bool

    @property
    def when(self) -> str:
        return format_when(self.a.starts_at, self.zone)

    @property
    def day(self) -> str:
        """The local day of the visit, for a link to that day's calendar."""
        return self.a.starts_at.astimezone(ZoneInfo(self.zone)).date().isoformat()

    @property
    def how(self) -> str:
        if self.a.modality == "in-person":
            return self.place
        return f"{MODALITY_WORDS.get(self.a.modality, self.a.modality)} visit"

    @property
    def status_word(self) -> str:
        return _status_word(self.a.status)

    @property
    def reason(self) -> str:
        if not self.a.cancel_reason:
            return ""
        return CANCEL_REASONS.get(self.a.cancel_reason, self.a.cancel_reason)


def _visit(
    d: Directory, a: AppointmentRead, now: dt.datetime, patient: Patient | None = None
) -> Visit:
    zone = d.zone(a.location_id)
    tz = ZoneInfo(zone)
    # Arrived, checked in, completed and no-show are offered from the visit's own day on.
    on_the_day = a.starts_at.astimezone(tz).date() <= now.astimezone(tz).date()
    actions = [
        (status, ACTION_WORDS[status])
        for status in TRANSITIONS.get(a.status, ())
        if status in ACTION_WORDS and (on_the_day or status not in ON_THE_DAY)
    ]
    return Visit(
        a=a,
        kind=d.kind(a.appointment_type_id),
        person=d.person(a.practitioner_id),
        place=d.place_name(a.location_id),
        zone=zone,
        patient=_name(patient),
        actions=actions,
        can_move=a.status in MOVABLE and a.starts_at > now,
        can_cancel="cancelled" in TRANSITIONS.get(a.status, ()),
    )


# --- finding times -------------------------------------------------------------------------


@dataclass
class Search:
    """The search form as typed, the query it makes, and what it found."""

    form: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    slots: list[Slot] = field(default_factory=list)
    ran: bool = False

    @property
    def carried(self) -> str:
        """The search, to send along with a Book button and come back to on a refusal."""
        pairs = [(k, v) for k, v in self.form.items() if k != "weekdays" and v]
        pairs += [("weekdays", w) for w in self.form.get("weekdays", [])]
        return urlencode(pairs)


def _search_form(params: ImmutableMultiDict[str, Any], today: dt.date) -> dict[str, Any]:
    form: dict[str, Any] = {name: _text(params, name) for name in SEARCH_FIELDS}
    form["weekdays"] = _weekdays(params)
    form["start"] = form["start"] or today.isoformat()
    form["days"] = form["days"] or "14"
    return form


def _run_search(
    db: Session,
    form: dict[str, Any],
    *,
    patient_id: uuid.UUID,
    appointment_type_id: uuid.UUID | None = None,
    modality: str | None = None,
) -> Search:
    found = Search(form=form, ran=True)
    data: dict[str, Any] = {
        k: v for k, v in form.items() if k in SEARCH_FIELDS and k != "weekdays" and v
    }
    if appointment_type_id is not None:
        data["appointment_type_id"] = appointment_type_id
    if modality is not None:
        data["modality"] = modality
    if not data.get("appointment_type_id"):
        found.errors["appointment_type_id"] = "Choose the visit type to find times for."
        return found
    data["weekdays"] = [int(w) for w in form.get("weekdays", [])]
    data.update(patient_id=patient_id, limit=SLOT_LIMIT)
    try:
        query = SlotQuery.model_validate(data)
        found.slots = service.search_slots(db, query)
    except ValidationError as exc:
        found.errors = _errors(exc, "appointment_type_id")
    except AppError as exc:
        found.errors = {"appointment_type_id": _sentence(exc.detail)}
    return found


@dataclass
class Refusal:
    """Why a booking or a move did not happen, with times to choose instead."""

    detail: str
    alternatives: list[Slot] = field(default_factory=list)
    taken: bool = False


def _refusal(exc: AppError) -> Refusal:
    alternatives = [Slot.model_validate(s) for s in exc.extra.get("alternatives", [])]
    detail = exc.detail
    if exc.fields:
        detail += " " + " ".join(_sentence(v) for v in exc.fields.values())
    return Refusal(detail, alternatives, taken=isinstance(exc, service.SlotTaken))


# --- the chart's Appointments tab ----------------------------------------------------------


def _choices(d: Directory) -> dict[str, Any]:
    return {
        "types": d.type_options(),
        "wait_types": d.type_options(),
        "people": d.people_options(),
        "places": d.place_options(),
        "modalities": [("", "As the visit type says"), *MODALITY_WORDS.items()],
        "languages": [("", "Any language"), *patient_codes.LANGUAGES.items()],
        "weekdays": list(WEEKDAYS),
        "day_parts": list(DAY_PARTS),
        "priorities": [
            ("1", "1 (most urgent)"),
            ("2", "2"),
            ("3", "3 (routine)"),
            ("4", "4"),
            ("5", "5 (least urgent)"),
        ],
        "cancel_reasons": [("", "Choose…"), *CANCEL_REASONS.items()],
    }


@dataclass
class Waiting:
    """A waitlist entry as the screens show it."""

    e: WaitlistRead
    patient: str
    patient_id: uuid.UUID
    mrn: str
    kind: str
    constraints: str
    offered: str | None


def _constraints(d: Directory, e: WaitlistRead) -> str:
    parts = [f"From {e.earliest:%d %b %Y}" + (f" to {e.latest:%d %b %Y}" if e.latest else "")]
    if e.weekdays:
        parts.append(", ".join(WEEKDAY_NAMES[str(w)] for w in e.weekdays))
    if e.day_part:
        parts.append(PART_WORDS.get(e.day_part, e.day_part))
    if e.practitioner_id:
        parts.append(f"only {d.person(e.practitioner_id)}")
    if e.location_id:
        parts.append(f"only at {d.place_name(e.location_id)}")
    return "; ".join(parts)


def _waiting(db: Session, d: Directory, rows: Sequence[WaitlistRead]) -> list[Waiting]:
    people = _patients(db, (r.patient_id for r in rows))
    shown = []
    for e in rows:
        offered = None
        if e.offered_appointment_id is not None:
            freed = db.get(Appointment, e.offered_appointment_id)
            if freed is not None:
                offered = (
                    f"{format_when(freed.starts_at, d.zone(freed.location_id))} with "
                    f"{d.person(freed.practitioner_id)}"
                )
        patient = people.get(e.patient_id)
        shown.append(
            Waiting(
                e=e,
                patient=_name(patient),
                patient_id=e.patient_id,
                mrn=patient.mrn if patient else "",
                kind=d.kind(e.appointment_type_id),
                constraints=_constraints(d, e),
                offered=offered,
            )
        )
    return shown


def _wait_defaults(today: dt.date, appointment_type_id: str = "") -> dict[str, Any]:
    return {
        "appointment_type_id": appointment_type_id,
        "earliest": today.isoformat(),
        "priority": "3",
        "weekdays": [],
    }


def _appointments_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    params: ImmutableMultiDict[str, Any],
    searched: bool,
    refusal: Refusal | None = None,
    wait_form: dict[str, Any] | None = None,
    wait_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/appointments")
    if isinstance(chart, Response):
        return chart
    settings = settings_of(request)
    now = utcnow()
    d = Directory.load(db, settings.timezone)
    today = _today(settings.timezone)
    rows = service.for_patient(db, actor, settings, patient_id)
    visits = [_visit(d, a, now) for a in rows]
    upcoming = [v for v in reversed(visits) if v.a.status in UPCOMING and v.a.ends_at > now]
    ahead = {v.a.id for v in upcoming}
    past = [v for v in visits if v.a.id not in ahead]
    can_change = allows(actor.role, Permission.SCHEDULE_BOOK)
    can_book = can_change and chart.patient.status not in ("deceased", "merged")
    search = Search(form=_search_form(params, today))
    if can_book and searched and refusal is None:
        search = _run_search(db, search.form, patient_id=patient_id)
    entries = [
        e
        for e in waitlist.entries(db, actor, status=None, patient_id=patient_id)
        if e.status in waitlist.OPEN
    ]
    return chart_views.chart_page(
        request,
        "scheduling/appointments.html",
        chart,
        {
            "upcoming": upcoming,
            "past": past,
            "can_book": can_book,
            "can_change": can_change,
            "search": search,
            "refusal": refusal,
            "choices": _choices(d),
            "entries": _waiting(db, d, entries),
            "wait_form": wait_form
            or _wait_defaults(today, search.form.get("appointment_type_id", "")),
            "wait_errors": wait_errors or {},
            "back": f"/patients/{patient_id}/appointments",
            "now": now,
            "modality_words": MODALITY_WORDS,
        },
        tab="appointments",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/appointments")
def chart_appointments(request: Request, db: Db, actor: Viewer, patient_id: uuid.UUID) -> Response:
    params = request.query_params
    return _appointments_page(
        request, db, actor, patient_id, params=params, searched="appointment_type_id" in params
    )


def _booked_message(d: Directory, booked: AppointmentRead) -> str:
    zone = d.zone(booked.location_id)
    where = (
        f" at {d.place_name(booked.location_id)}"
        if booked.modality == "in-person"
        else f", {MODALITY_WORDS.get(booked.modality, booked.modality).lower()} visit"
    )
    message = (
        f"Booked: {d.kind(booked.appointment_type_id)} on "
        f"{format_when(booked.starts_at, zone)} with {d.person(booked.practitioner_id)}{where}. "
        "Reminders are planned on the channels the patient allows."
    )
    if booked.join_url:
        message += f" Video join link: {booked.join_url}"
    return message


@router.post("/patients/{patient_id}/appointments", dependencies=[Csrf])
def book(request: Request, db: Db, actor: Booker, patient_id: uuid.UUID, form: Posted) -> Response:
    settings = settings_of(request)
    carried = QueryParams(_text(form, "search"))
    try:
        data = BookIn.model_validate(
            {
                "patient_id": patient_id,
                "appointment_type_id": _text(form, "appointment_type_id"),
                "practitioner_id": _text(form, "practitioner_id"),
                "location_id": _text(form, "location_id"),
                "starts_at": _text(form, "starts_at"),
                "modality": _text(form, "modality") or None,
            }
        )
    except ValidationError:
        refusal = Refusal("That time could not be read. Search again and choose a time.")
        return _appointments_page(
            request,
            db,
            actor,
            patient_id,
            params=carried,
            searched=True,
            refusal=refusal,
            status_code=422,
        )
    try:
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            booked = service.book(db, actor, settings, data)
    except AppError as exc:
        return _appointments_page(
            request,
            db,
            actor,
            patient_id,
            params=carried,
            searched=True,
            refusal=_refusal(exc),
            status_code=exc.status,
        )
    d = Directory.load(db, settings.timezone)
    warnings = booking_warnings(db, booked, settings.timezone)
    if warnings:  # booked all the same: the scheduler is told what to sort out
        message = _booked_message(d, booked) + " Warning: " + " ".join(warnings)
        return go_back(request, f"/patients/{patient_id}/appointments", message, "info")
    return go_back(request, f"/patients/{patient_id}/appointments", _booked_message(d, booked))


# --- moving and cancelling a visit ---------------------------------------------------------


def _reschedule_page(
    request: Request,
    db: Session,
    actor: Actor,
    appointment_id: uuid.UUID,
    *,
    params: ImmutableMultiDict[str, Any],
    refusal: Refusal | None = None,
    cancel_form: dict[str, Any] | None = None,
    cancel_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    appointment = service.get(db, actor, settings, appointment_id)
    chart = chart_views.open_chart(request, db, actor, appointment.patient_id, "/appointments")
    if isinstance(chart, Response):
        return chart
    now = utcnow()
    d = Directory.load(db, settings.timezone)
    visit = _visit(d, appointment, now)
    search = Search(form=_search_form(params, _today(settings.timezone)))
    if visit.can_move and refusal is None:
        search = _run_search(
            db,
            search.form,
            patient_id=appointment.patient_id,
            appointment_type_id=appointment.appointment_type_id,
            modality=appointment.modality,
        )
    return chart_views.chart_page(
        request,
        "scheduling/reschedule.html",
        chart,
        {
            "visit": visit,
            "search": search,
            "refusal": refusal,
            "choices": _choices(d),
            "cancel_form": cancel_form or {},
            "cancel_errors": cancel_errors or {},
            "now": now,
            "modality_words": MODALITY_WORDS,
        },
        tab="appointments",
        status_code=status_code,
    )


@router.get("/appointments/{appointment_id}/reschedule")
def reschedule_page(request: Request, db: Db, actor: Booker, appointment_id: uuid.UUID) -> Response:
    return _reschedule_page(request, db, actor, appointment_id, params=request.query_params)


@router.post("/appointments/{appointment_id}/reschedule", dependencies=[Csrf])
def reschedule(
    request: Request, db: Db, actor: Booker, appointment_id: uuid.UUID, form: Posted
) -> Response:
    settings = settings_of(request)
    carried = QueryParams(_text(form, "search"))
    try:
        data = RescheduleIn.model_validate(
            {
                "version": _text(form, "version"),
                "starts_at": _text(form, "starts_at"),
                "practitioner_id": _text(form, "practitioner_id") or None,
                "location_id": _text(form, "location_id") or None,
            }
        )
        with db.begin_nested():
            moved = service.reschedule(db, actor, settings, appointment_id, data)
    except ValidationError:
        refusal = Refusal("That time could not be read. Choose a time from the list.")
        return _reschedule_page(
            request, db, actor, appointment_id, params=carried, refusal=refusal, status_code=422
        )
    except AppError as exc:
        if exc.status == 404:
            raise
        return _reschedule_page(
            request,
            db,
            actor,
            appointment_id,
            params=carried,
            refusal=_refusal(exc),
            status_code=exc.status,
        )
    d = Directory.load(db, settings.timezone)
    where = f" at {d.place_name(moved.location_id)}" if moved.modality == "in-person" else ""
    return go_back(
        request,
        f"/patients/{moved.patient_id}/appointments",
        f"Moved: {d.kind(moved.appointment_type_id)} is now "
        f"{format_when(moved.starts_at, d.zone(moved.location_id))} with "
        f"{d.person(moved.practitioner_id)}{where}. Reminders were planned again for the new "
        "time.",
    )


@router.post("/appointments/{appointment_id}/cancel", dependencies=[Csrf])
def cancel(
    request: Request, db: Db, actor: Booker, appointment_id: uuid.UUID, form: Posted
) -> Response:
    settings = settings_of(request)
    typed = {"reason": _text(form, "reason"), "note": _text(form, "note")}
    errors: dict[str, str] = {}
    cancelled: AppointmentRead | None = None
    if not typed["reason"]:
        errors["reason"] = "Choose why the appointment is cancelled."
    else:
        try:
            data = CancelIn.model_validate(
                {
                    "version": _text(form, "version"),
                    "reason": typed["reason"],
                    "note": typed["note"] or None,
                }
            )
            with db.begin_nested():
                cancelled = service.cancel(db, actor, settings, appointment_id, data)
        except ValidationError as exc:
            errors = _errors(exc, "reason")
            if "version" in errors:
                errors = {"reason": "Reload the page and try again."}
        except AppError as exc:
            if exc.status == 404:
                raise
            errors = {"reason": _sentence(exc.detail)}
    if cancelled is None:
        return _reschedule_page(
            request,
            db,
            actor,
            appointment_id,
            params=QueryParams(),
            cancel_form=typed,
            cancel_errors=errors,
            status_code=409 if "changed by someone else" in errors.get("reason", "") else 422,
        )
    d = Directory.load(db, settings.timezone)
    reason = CANCEL_REASONS.get(cancelled.cancel_reason or "", "no reason given")
    message = (
        f"Cancelled: {d.kind(cancelled.appointment_type_id)} on "
        f"{format_when(cancelled.starts_at, d.zone(cancelled.location_id))} with "
        f"{d.person(cancelled.practitioner_id)} ({reason}). Its reminders were stopped."
    )
    offered = db.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.offered_appointment_id == appointment_id,
            WaitlistEntry.status == "offered",
        )
    )
    if offered is not None:
        message += (
            f" Offered to {_spoken_name(db.get(Patient, offered.patient_id))} from the "
            "waitlist; a task was raised."
        )
    return go_back(request, f"/patients/{cancelled.patient_id}/appointments", message)


@router.post("/appointments/{appointment_id}/status", dependencies=[Csrf])
def change_status(
    request: Request, db: Db, actor: Booker, appointment_id: uuid.UUID, form: Posted
) -> Response:
    settings = settings_of(request)
    back = _text(form, "back")
    try:
        data = StatusIn.model_validate(
            {"status": _text(form, "status"), "version": _text(form, "version")}
        )
        with db.begin_nested():
            changed = service.set_status(db, actor, settings, appointment_id, data)
    except ValidationError:
        return go_back(
            request, _local_path(back, "/schedule"), "Reload the page and try again.", "error"
        )
    except AppError as exc:
        if exc.status == 404:
            raise
        return go_back(
            request, _local_path(back, "/schedule"), f"Not changed: {exc.detail}", "error"
        )
    d = Directory.load(db, settings.timezone)
    when = format_when(changed.starts_at, d.zone(changed.location_id))
    return go_back(
        request,
        _local_path(back, f"/patients/{changed.patient_id}/appointments"),
        f"{d.kind(changed.appointment_type_id)} on {when}: {_status_word(changed.status)}.",
    )


# --- calendars -----------------------------------------------------------------------------


@dataclass
class Block:
    visit: Visit
    rows: int
    span: str
    patient_id: uuid.UUID


@dataclass
class Cell:
    working: bool
    block: Block | None = None


@dataclass
class Row:
    label: str
    on_hour: bool
    shown: bool  # the label is drawn on the hour and half hour; quarters are for readers only
    cells: list[Cell]


@dataclass
class Column:
    label: str
    note: str
    href: str | None
    current: bool = False


@dataclass
class Grid:
    columns: list[Column]
    rows: list[Row]
    step: int
    zone: str
    cancelled: list[Block]
    overflow: list[Block]
    booked: int


@dataclass
class ColumnSpec:
    column: Column
    day: dt.date
    working: list[tuple[dt.datetime, dt.datetime]]
    appointments: list[AppointmentRead]


def _minute(moment: dt.datetime, day: dt.date, tz: ZoneInfo) -> int:
    """Minutes after local midnight of ``day`` (clamped to the day)."""
    local = moment.astimezone(tz)
    if local.date() < day:
        return 0
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


def _hours_text(working: Sequence[tuple[dt.datetime, dt.datetime]], zone: str) -> str:
    return ", ".join(_span(s, e, zone) for s, e in working)


def _grid(
    specs: Sequence[ColumnSpec],
    d: Directory,
    patients: dict[uuid.UUID, Patient],
    zone: str,
    step: int,
    now: dt.datetime,
) -> Grid:
    """A time grid: one row per ``step`` minutes of the local day (08:00-17:00 at least,
    widened to the working hours and visits shown), one column per spec; a visit is one cell
    spanning its rows. Cancelled visits hold no time and are listed apart."""
    tz = ZoneInfo(zone)
    low, high = 8 * 60, 17 * 60
    for spec in specs:
        for s, e in spec.working:
            low = min(low, _minute(s, spec.day, tz) // 60 * 60)
            high = max(high, math.ceil(_minute(e, spec.day, tz) / 60) * 60)
        for a in spec.appointments:
            if a.status != "cancelled":
                low = min(low, _minute(a.starts_at, spec.day, tz) // 60 * 60)
                high = max(high, math.ceil(_minute(a.ends_at, spec.day, tz) / 60) * 60)
    count = (high - low) // step
    table: list[list[Cell | None]] = []
    cancelled: list[Block] = []
    overflow: list[Block] = []
    booked = 0
    for spec in specs:
        work = [(_minute(s, spec.day, tz), _minute(e, spec.day, tz)) for s, e in spec.working]
        cells: list[Cell | None] = [
            Cell(working=any(ws < low + (i + 1) * step and we > low + i * step for ws, we in work))
            for i in range(count)
        ]
        ordered = sorted(spec.appointments, key=lambda a: (a.status not in HOLDING, a.starts_at))
        for a in ordered:
            block = Block(
                visit=_visit(d, a, now, patients.get(a.patient_id)),
                rows=1,
                span=_span(a.starts_at, a.ends_at, zone),
                patient_id=a.patient_id,
            )
            if a.status == "cancelled":
                cancelled.append(block)
                continue
            first = max((_minute(a.starts_at, spec.day, tz) - low) // step, 0)
            last = min(math.ceil((_minute(a.ends_at, spec.day, tz) - low) / step), count)
            last = max(last, first + 1)
            spanned = cells[first:last]
            if first >= count or any(c is None or c.block is not None for c in spanned):
                overflow.append(block)
                continue
            block.rows = last - first
            head = cells[first]
            assert head is not None
            head.block = block
            for i in range(first + 1, last):
                cells[i] = None
            booked += 1
        table.append(cells)
    rows = []
    for i in range(count):
        minute = low + i * step
        rows.append(
            Row(
                label=f"{minute // 60:02d}:{minute % 60:02d}",
                on_hour=minute % 60 == 0,
                shown=minute % 30 == 0,
                cells=[c for col in table if (c := col[i]) is not None],
            )
        )
    return Grid(
        columns=[s.column for s in specs],
        rows=rows,
        step=step,
        zone=zone,
        cancelled=cancelled,
        overflow=overflow,
        booked=booked,
    )


def _day_bounds(day: dt.date, days: int, zone: str) -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _on_day(moment: dt.datetime, day: dt.date, tz: ZoneInfo) -> bool:
    return moment.astimezone(tz).date() == day


def _schedule_zone(d: Directory, location_ids: Iterable[uuid.UUID]) -> str:
    """The zone a practitioner's calendar is drawn in: their locations' zone when they all
    share one, else the clinic's."""
    zones = {d.zone(i) for i in location_ids}
    return zones.pop() if len(zones) == 1 else d.clinic_zone


def _schedule_nav(active: str) -> list[tuple[str, str, bool]]:
    return [
        ("Provider calendar", "/schedule", active == "calendar"),
        ("Location day", "/schedule/location", active == "location"),
        ("Waitlist", "/waitlist", active == "waitlist"),
        ("Access measures", "/schedule/measures", active == "measures"),
    ]


def _default_practitioner(db: Session, actor: Actor, d: Directory) -> uuid.UUID | None:
    if actor.user_id is not None:
        mine = db.scalar(
            select(Practitioner.id).where(
                Practitioner.user_id == actor.user_id, Practitioner.active
            )
        )
        if mine is not None:
            return mine
    return next(iter(d.people), None)


@router.get("/schedule")
def provider_calendar(request: Request, db: Db, actor: Viewer) -> Response:
    params = request.query_params
    settings = settings_of(request)
    now = utcnow()
    d = Directory.load(db, settings.timezone)
    view = params.get("view") if params.get("view") in ("day", "week") else "day"
    chosen = _uuid(params.get("practitioner_id"))
    person = chosen if chosen in d.people else _default_practitioner(db, actor, d)
    today = _today(settings.timezone)
    asked = params.get("day", "")
    day = _date(asked) or today
    context: dict[str, Any] = {
        "schedule_nav": _schedule_nav("calendar"),
        "people": d.people_options(blank=None),
        "person_id": person,
        "person": d.person(person) if person else "",
        "view": view,
        "day": day,
        "today": today,
        "day_error": "Enter the day as YYYY-MM-DD, e.g. 2026-11-24."
        if asked and not _date(asked)
        else "",
        "grid": None,
    }
    if person is None:
        return render(request, "scheduling/calendar.html", context, active="schedule")
    first = day - dt.timedelta(days=day.weekday()) if view == "week" else day
    days = 7 if view == "week" else 1
    # The zone comes from where they work (a day either side, for a location in another
    # zone); the visits are then read for exactly the days shown, so only patients on
    # screen are audited as read.
    probe_start, probe_end = _day_bounds(first, days, settings.timezone)
    working = service.working_hours(
        db,
        start=probe_start - dt.timedelta(days=1),
        end=probe_end + dt.timedelta(days=1),
        practitioner_id=person,
    )
    zone = _schedule_zone(d, [w.location_id for w in working])
    tz = ZoneInfo(zone)
    start, end = _day_bounds(first, days, zone)
    appointments = service.calendar(
        db, actor, settings, start=start, end=end, practitioner_id=person
    )
    specs = []
    for offset in range(days):
        current = first + dt.timedelta(days=offset)
        hours = [(w.starts_at, w.ends_at) for w in working if _on_day(w.starts_at, current, tz)]
        places = dict.fromkeys(
            d.place_name(w.location_id) for w in working if _on_day(w.starts_at, current, tz)
        )
        note = (
            f"Works {_hours_text(hours, zone)}" + (f" · {', '.join(places)}" if places else "")
            if hours
            else "Not working"
        )
        label = f"{current:%a %d %b}" if view == "week" else f"{d.person(person)}"
        link = urlencode({"practitioner_id": str(person), "day": current.isoformat()})
        specs.append(
            ColumnSpec(
                column=Column(
                    label=label,
                    note=note,
                    href=f"/schedule?{link}" if view == "week" else None,
                    current=current == today,
                ),
                day=current,
                working=hours,
                appointments=[a for a in appointments if _on_day(a.starts_at, current, tz)],
            )
        )
    patients = _patients(db, (a.patient_id for s in specs for a in s.appointments))
    shown = any(s.working or s.appointments for s in specs)
    step = 30 if view == "week" else 15
    context.update(
        grid=_grid(specs, d, patients, zone, step, now) if shown else None,
        first=first,
        last=first + dt.timedelta(days=days - 1),
        prev=first - dt.timedelta(days=days),
        next=first + dt.timedelta(days=days),
    )
    return render(request, "scheduling/calendar.html", context, active="schedule")


@router.get("/schedule/location")
def location_day(request: Request, db: Db, actor: Viewer) -> Response:
    params = request.query_params
    settings = settings_of(request)
    now = utcnow()
    d = Directory.load(db, settings.timezone)
    chosen = _uuid(params.get("location_id"))
    place = chosen if chosen in d.places else next(iter(d.places), None)
    today = _today(settings.timezone)
    asked = params.get("day", "")
    day = _date(asked) or today
    context: dict[str, Any] = {
        "schedule_nav": _schedule_nav("location"),
        "places": d.place_options(blank=None),
        "place_id": place,
        "place": d.place_name(place) if place else "",
        "day": day,
        "today": today,
        "day_error": "Enter the day as YYYY-MM-DD, e.g. 2026-11-24."
        if asked and not _date(asked)
        else "",
        "grid": None,
        "prev": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1),
    }
    if place is None:
        return render(request, "scheduling/location.html", context, active="schedule")
    zone = d.zone(place)
    tz = ZoneInfo(zone)
    start, end = _day_bounds(day, 1, zone)
    working = service.working_hours(db, start=start, end=end, location_id=place)
    appointments = service.calendar(db, actor, settings, start=start, end=end, location_id=place)
    appointments = [a for a in appointments if _on_day(a.starts_at, day, tz)]
    ids = dict.fromkeys(
        [w.practitioner_id for w in working] + [a.practitioner_id for a in appointments]
    )
    specs = []
    for pid in sorted(ids, key=d.person):
        hours = [(w.starts_at, w.ends_at) for w in working if w.practitioner_id == pid]
        link = urlencode({"practitioner_id": str(pid), "day": day.isoformat()})
        specs.append(
            ColumnSpec(
                column=Column(
                    label=d.person(pid),
                    note=f"Works {_hours_text(hours, zone)}" if hours else "Not working here",
                    href=f"/schedule?{link}",
                ),
                day=day,
                working=hours,
                appointments=[a for a in appointments if a.practitioner_id == pid],
            )
        )
    patients = _patients(db, (a.patient_id for a in appointments))
    context.update(grid=_grid(specs, d, patients, zone, 15, now) if specs else None)
    return render(request, "scheduling/location.html", context, active="schedule")


# --- the waitlist --------------------------------------------------------------------------


def _wait_form(form: ImmutableMultiDict[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {name: _text(form, name) for name in (*WAIT_FIELDS, "mrn")}
    typed["weekdays"] = _weekdays(form)
    return typed


def _wait_create(patient_id: uuid.UUID, typed: dict[str, Any]) -> WaitlistCreate:
    data: dict[str, Any] = {k: v for k, v in typed.items() if k in WAIT_FIELDS and v}
    data["weekdays"] = [int(w) for w in typed.get("weekdays", [])]
    data["patient_id"] = patient_id
    return WaitlistCreate.model_validate(data)


def _wait_errors(exc: ValidationError) -> dict[str, str]:
    errors = _errors(exc, "latest")
    if "latest" in errors and "before earliest" in errors["latest"]:
        errors["latest"] = "The last day is before the first day; check the dates."
    return errors


def _waitlist_page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    status: str,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    d = Directory.load(db, settings.timezone)
    if status == "open":
        rows = waitlist.entries(db, actor, status="offered") + waitlist.entries(
            db, actor, status="waiting"
        )
        rows.sort(key=lambda e: (e.priority, e.created_at))
    else:
        rows = waitlist.entries(db, actor, status=None if status == "all" else status)
    today = _today(settings.timezone)
    return render(
        request,
        "scheduling/waitlist.html",
        {
            "schedule_nav": _schedule_nav("waitlist"),
            "entries": _waiting(db, d, rows),
            "status": status,
            "statuses": list(WAIT_STATUSES),
            "choices": _choices(d),
            "form": form or _wait_defaults(today),
            "errors": errors or {},
            "can_book": allows(actor.role, Permission.SCHEDULE_BOOK),
            "back": "/waitlist" + (f"?status={status}" if status != "open" else ""),
        },
        status_code=status_code,
        active="schedule",
    )


@router.get("/waitlist")
def waitlist_list(request: Request, db: Db, actor: Viewer, status: str = "open") -> Response:
    chosen = status if status in dict(WAIT_STATUSES) else "open"
    return _waitlist_page(request, db, actor, status=chosen)


@router.post("/waitlist", dependencies=[Csrf])
def waitlist_add(request: Request, db: Db, actor: Booker, form: Posted) -> Response:
    typed = _wait_form(form)
    mrn = "".join(ch for ch in typed["mrn"] if ch.isdigit())
    errors: dict[str, str] = {}
    patient = db.scalar(select(Patient).where(Patient.mrn == mrn)) if mrn else None
    if not mrn:
        errors["mrn"] = "Enter the patient's MRN (8 digits, on the chart banner)."
    elif patient is None:
        errors["mrn"] = f"No chart has MRN {mrn}; check the number on the patient's banner."
    try:
        data = _wait_create(patient.id if patient else uuid.uuid4(), typed)
    except ValidationError as exc:
        errors.update(_wait_errors(exc))
    if not errors and patient is not None:
        try:
            with db.begin_nested():
                waitlist.add(db, actor, data)
        except AppError as exc:
            errors = {"mrn": _sentence(exc.detail)}
        else:
            settings = settings_of(request)
            d = Directory.load(db, settings.timezone)
            return go_back(
                request,
                "/waitlist",
                f"{_spoken_name(patient)} (MRN {patient.mrn}) is on the waitlist for "
                f"{d.kind(data.appointment_type_id)}, priority {data.priority}.",
            )
    return _waitlist_page(
        request, db, actor, status="open", form=typed, errors=errors, status_code=422
    )


@router.post("/patients/{patient_id}/waitlist", dependencies=[Csrf])
def chart_waitlist_add(
    request: Request, db: Db, actor: Booker, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _wait_form(form)
    try:
        data = _wait_create(patient_id, typed)
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            waitlist.add(db, actor, data)
    except ValidationError as exc:
        errors = _wait_errors(exc)
    except AppError as exc:
        if exc.status == 404 and "patient" in exc.detail:
            raise
        errors = {"appointment_type_id": _sentence(exc.detail)}
    else:
        d = Directory.load(db, settings_of(request).timezone)
        return go_back(
            request,
            f"/patients/{patient_id}/appointments",
            f"Added to the waitlist for {d.kind(data.appointment_type_id)}, priority "
            f"{data.priority}. A cancelled time that fits is offered automatically.",
        )
    return _appointments_page(
        request,
        db,
        actor,
        patient_id,
        params=QueryParams(),
        searched=False,
        wait_form=typed,
        wait_errors=errors,
        status_code=422,
    )


def _entry_back(form: ImmutableMultiDict[str, Any]) -> str:
    return _local_path(_text(form, "back"), "/waitlist")


@router.post("/waitlist/{entry_id}/remove", dependencies=[Csrf])
def waitlist_remove(
    request: Request, db: Db, actor: Booker, entry_id: uuid.UUID, form: Posted
) -> Response:
    back = _entry_back(form)
    version = _text(form, "version")
    if not version.isdigit():
        return go_back(request, back, "Reload the page and try again.", "error")
    try:
        with db.begin_nested():
            removed = waitlist.remove(db, actor, entry_id, int(version))
    except AppError as exc:
        return go_back(request, back, f"Not removed: {exc.detail}", "error")
    patient = db.get(Patient, removed.patient_id)
    return go_back(request, back, f"{_spoken_name(patient)} was taken off the waitlist.")


@router.post("/waitlist/{entry_id}/decline", dependencies=[Csrf])
def waitlist_decline(
    request: Request, db: Db, actor: Booker, entry_id: uuid.UUID, form: Posted
) -> Response:
    back = _entry_back(form)
    version = _text(form, "version")
    if not version.isdigit():
        return go_back(request, back, "Reload the page and try again.", "error")
    try:
        with db.begin_nested():
            outcome = waitlist.decline_offer(
                db, actor, settings_of(request), entry_id, int(version)
            )
    except AppError as exc:
        return go_back(request, back, f"Not changed: {exc.detail}", "error")
    who = _spoken_name(db.get(Patient, outcome.declined.patient_id))
    message = f"{who} declined the time and is waiting again."
    if outcome.next_offer is not None:
        following = _spoken_name(db.get(Patient, outcome.next_offer.patient_id))
        message += f" Offered next to {following} from the waitlist; a task was raised."
    else:
        message += " Nobody else on the waitlist fits it; the time stays free to book."
    return go_back(request, back, message)


@router.post("/waitlist/{entry_id}/book", dependencies=[Csrf])
def waitlist_book(
    request: Request, db: Db, actor: Booker, entry_id: uuid.UUID, form: Posted
) -> Response:
    """Book the time an entry was offered, and mark the entry booked, in one unit of work."""
    back = _entry_back(form)
    settings = settings_of(request)
    entry = db.get(WaitlistEntry, entry_id)
    freed = (
        db.get(Appointment, entry.offered_appointment_id)
        if entry is not None and entry.offered_appointment_id is not None
        else None
    )
    if entry is None or freed is None or entry.status != "offered":
        return go_back(request, back, "That entry has no time on offer any more.", "error")
    try:
        with db.begin_nested():
            booked = service.book(
                db,
                actor,
                settings,
                BookIn.model_validate(
                    {
                        "patient_id": entry.patient_id,
                        "appointment_type_id": freed.appointment_type_id,
                        "practitioner_id": freed.practitioner_id,
                        "location_id": freed.location_id,
                        "starts_at": freed.starts_at,
                        "modality": freed.modality,
                        "from_waitlist_id": entry.id,
                    }
                ),
            )
            waitlist.book_from_waitlist(db, actor, entry.id, booked)
    except AppError as exc:
        return go_back(request, back, f"Not booked: {exc.detail}", "error")
    d = Directory.load(db, settings.timezone)
    return go_back(request, back, _booked_message(d, booked))


# --- access measures -----------------------------------------------------------------------


@dataclass
class Bar:
    """One row of the chart: a group heading (``value`` unused) or a bar."""

    label: str
    y: float
    heading: bool = False
    value: int | None = None
    width: float = 0.0
    text: str = ""


@dataclass
class BarChart:
    """A horizontal bar chart drawn on the server (coordinates in SVG user units)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bar: int
    rows: list[Bar]
    ticks: list[tuple[float, str]]
    summary: str


NICE_STEPS = (1, 2, 5, 7, 10, 14, 20, 30, 50, 100)
CHART_WIDTH, CHART_LEFT, CHART_RIGHT, CHART_TOP = 560, 190, 64, 8
HEADING_ROW, BAR_ROW, BAR = 24, 26, 16


def _days(value: int) -> str:
    return f"{value} day" if value == 1 else f"{value} days"


def _bar_chart(
    groups: Sequence[tuple[str, Sequence[tuple[str, int | None]]]], window: int
) -> BarChart:
    """Bars of days per (group, label) -- practitioners and their visit types; a missing value
    (fewer than three free times in the window) is no bar and said in words."""
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    values = [v for _, bars in groups for _, v in bars if v is not None]
    biggest = max(values, default=0) or 1
    step = next((n for n in NICE_STEPS if biggest / n <= 5), NICE_STEPS[-1])
    axis_max = max(math.ceil(biggest / step) * step, step)
    rows: list[Bar] = []
    said: list[str] = []
    y = float(CHART_TOP)
    for group, bars in groups:
        rows.append(Bar(label=group, y=y + HEADING_ROW - 8, heading=True))
        y += HEADING_ROW
        for label, value in bars:
            text = f"none within {window} days" if value is None else _days(value)
            width = 0.0 if value is None else value / axis_max * plot_width
            rows.append(
                Bar(label=label, y=y + (BAR_ROW - BAR) / 2, value=value, width=width, text=text)
            )
            said.append(f"{group}, {label}: {text}")
            y += BAR_ROW
    plot_height = int(y - CHART_TOP)
    ticks = [(CHART_LEFT + v / axis_max * plot_width, str(v)) for v in range(0, axis_max + 1, step)]
    return BarChart(
        width=CHART_WIDTH,
        height=CHART_TOP + plot_height + 46,
        left=CHART_LEFT,
        top=CHART_TOP,
        plot_width=plot_width,
        plot_height=plot_height,
        bar=BAR,
        rows=rows,
        ticks=ticks,
        summary="; ".join(said) + ".",
    )


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


@router.get("/schedule/measures")
def access_measures(request: Request, db: Db, actor: Viewer) -> Response:
    params = request.query_params
    settings = settings_of(request)
    d = Directory.load(db, settings.timezone)
    today = _today(settings.timezone)
    form = {
        "start": params.get("start", ""),
        "end": params.get("end", ""),
        "appointment_type_id": params.get("appointment_type_id", ""),
    }
    errors: dict[str, str] = {}
    end = _date(form["end"]) or today
    start = _date(form["start"]) or end - dt.timedelta(days=30)
    for name in ("start", "end"):
        if form[name] and _date(form[name]) is None:
            errors[name] = "Enter the day as YYYY-MM-DD, e.g. 2026-11-24."
    kind = _uuid(form["appointment_type_id"])
    form.update(start=form["start"] or start.isoformat(), end=form["end"] or end.isoformat())
    result: AccessMeasures | None = None
    if not errors:
        try:
            result = measures.access(
                db,
                actor,
                settings,
                start=start,
                end=end,
                appointment_type_id=kind if kind in d.kinds else None,
            )
        except ValidationFailed as exc:
            errors = {k: _sentence(v) for k, v in exc.fields.items()} or {"start": exc.detail}
            if "end" in errors:
                errors["end"] = "The period ends before it starts; choose a later day."
    chart = None
    if result is not None:
        groups = [
            (
                p.practitioner_name,
                [(t.appointment_type_name, t.days) for t in p.third_next_available],
            )
            for p in result.practitioners
            if p.third_next_available
        ]
        chart = _bar_chart(groups, result.window_days) if groups else None
    return render(
        request,
        "scheduling/measures.html",
        {
            "schedule_nav": _schedule_nav("measures"),
            "form": form,
            "errors": errors,
            "result": result,
            "chart": chart,
            "types": d.type_options(blank="All visit types"),
            "percent": _percent,
        },
        status_code=422 if errors else 200,
        active="schedule",
    )
