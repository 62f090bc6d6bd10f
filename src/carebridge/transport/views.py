"""The screens of transport: the Ride page of an appointment (request, confirm, complete,
no-show, cancel, with the ride's history), the rides board across patients (by pickup day,
unconfirmed rides flagged) and the Rides tab on the chart.

Pages only: every use case is a call into ``transport.service``, which audits reads and
changes. Each write runs in a savepoint, so a refused one leaves nothing and the page comes
back with the reason beside the field and what was typed kept.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.lib.errors import AppError, NotFound
from carebridge.lib.time import utcnow
from carebridge.patients import views as chart_views
from carebridge.patients.models import Patient
from carebridge.scheduling.models import Appointment, AppointmentType, Location, Practitioner
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.transport import codes, service
from carebridge.transport.models import Ride
from carebridge.transport.schemas import RideCreate, RideTransition, RideUpdate
from carebridge.web.render import clinic_today, format_when, go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.TRANSPORT_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.TRANSPORT_WRITE))]
Posted = chart_views.Posted

TAB = "rides"
REQUEST_FIELDS = (
    "pickup_address",
    "mobility",
    "escort",
    "escort_name",
    "notes",
    "buffer_minutes",
    "provider",
)
STEP_FIELDS = ("confirmation_number", "provider", "reason")
LABELS = {
    "pickup_address": "pickup address",
    "pickup_at": "pickup time",
    "buffer_minutes": "travel buffer",
    "escort_name": "escort's name",
    "confirmation_number": "confirmation number",
    "provider": "ride company",
    "mobility": "mobility need",
}
OPTIONS: dict[str, list[tuple[str, str]]] = {
    "mobility": [("", "Choose…"), *codes.MOBILITY.items()],
    "escort": list(codes.ESCORTS.items()),
    "filter_status": [("", "All but cancelled"), *codes.STATUSES.items()],
    "days": [("1", "1 day"), ("3", "3 days"), ("7", "7 days"), ("14", "14 days")],
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _on_form(errors: dict[str, str]) -> dict[str, str]:
    """The pickup time is typed in the ``pickup_time`` box."""
    return {("pickup_time" if k == "pickup_at" else k): v for k, v in errors.items()}


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else "form"
        message = chart_views.plain(name, error)
        label = LABELS.get(name)
        if label:
            message = message.replace(name.replace("_", " "), label)
        found.setdefault(name, message)
    return found


# --- the appointment as the ride page shows it ---------------------------------------------


@dataclass(frozen=True)
class VisitFacts:
    appointment: Appointment
    kind: str
    person: str
    place: str
    address: str | None
    zone: str

    @property
    def when(self) -> str:
        return format_when(self.appointment.starts_at, self.zone)

    @property
    def local_day(self) -> dt.date:
        return self.appointment.starts_at.astimezone(ZoneInfo(self.zone)).date()


def _facts(db: Session, visit: Appointment) -> VisitFacts:
    kind = db.get(AppointmentType, visit.appointment_type_id)
    person = db.get(Practitioner, visit.practitioner_id)
    place = db.get(Location, visit.location_id)
    # Foreign keys: each exists.
    assert kind is not None
    assert person is not None
    assert place is not None
    return VisitFacts(visit, kind.name, person.name, place.name, place.address, place.timezone)


def _visit(db: Session, appointment_id: uuid.UUID) -> Appointment:
    visit = db.get(Appointment, appointment_id)
    if visit is None:
        raise NotFound(f"No appointment with id {appointment_id}")
    return visit


def _ride_page(
    request: Request,
    db: Session,
    actor: Actor,
    appointment_id: uuid.UUID,
    form: dict[str, Any] | None,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    visit = _visit(db, appointment_id)
    chart = chart_views.open_chart(request, db, actor, visit.patient_id, "/rides")
    if isinstance(chart, Response):
        return chart
    facts = _facts(db, visit)
    rides = service.for_appointment(db, actor, visit.id)
    current = rides[0] if rides and rides[0].status in codes.OPEN_STATUSES else None
    patient = db.get(Patient, visit.patient_id)
    assert patient is not None  # foreign key
    defaults = {
        "pickup_address": service.home_address(patient) or "",
        "escort": "none",
        "mobility": "",
    }
    return chart_views.chart_page(
        request,
        "transport/ride.html",
        chart,
        {
            "visit": facts,
            "ride": current,
            "past": [r for r in rides if r is not current],
            "history": service.history(db, actor, current.id) if current else [],
            "form": form if form is not None else defaults,
            "errors": errors,
            "tcodes": codes,
            "topts": OPTIONS,
            "default_buffer": service.default_buffer(settings_of(request)),
            "can_request": visit.status in service.UPCOMING_VISIT and visit.modality == "in-person",
            "can_write": allows(actor.role, Permission.TRANSPORT_WRITE),
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/appointments/{appointment_id}/ride")
def ride_page(request: Request, db: Db, actor: Reader, appointment_id: uuid.UUID) -> Response:
    return _ride_page(request, db, actor, appointment_id, None, {})


def _pickup_at(form: FormData, facts: VisitFacts) -> dt.datetime | None:
    """The pickup time typed as HH:MM on the appointment's own day, in its time zone."""
    typed = _text(form, "pickup_time")
    if not typed:
        return None
    try:
        clock = dt.time.fromisoformat(typed)
    except ValueError:
        raise ValueError(typed) from None
    return dt.datetime.combine(facts.local_day, clock, ZoneInfo(facts.zone))


@router.post("/appointments/{appointment_id}/ride", dependencies=[Csrf])
def request_ride(
    request: Request, db: Db, actor: Writer, appointment_id: uuid.UUID, form: Posted
) -> Response:
    typed: dict[str, Any] = {k: _text(form, k) for k in (*REQUEST_FIELDS, "pickup_time")}
    typed["return_ride"] = bool(_text(form, "return_ride"))
    facts = _facts(db, _visit(db, appointment_id))
    try:
        pickup = _pickup_at(form, facts)
    except ValueError:
        errors = {"pickup_time": "Enter the pickup time as hours and minutes, e.g. 08:45."}
        return _ride_page(request, db, actor, appointment_id, typed, errors, 422)
    try:
        data = RideCreate.model_validate(
            {
                **{k: v for k in REQUEST_FIELDS if (v := _text(form, k))},
                "return_ride": typed["return_ride"],
                "pickup_at": pickup,
            }
        )
        with db.begin_nested():
            ride = service.create(db, actor, settings_of(request), appointment_id, data)
    except ValidationError as exc:
        errors = _on_form(_errors(exc))
        return _ride_page(request, db, actor, appointment_id, typed, errors, 422)
    except AppError as exc:
        errors = _on_form(chart_views.app_errors(exc, "form"))
        return _ride_page(request, db, actor, appointment_id, typed, errors, exc.status)
    pickup_words = format_when(ride.pickup_at, ride.timezone)
    return go_back(
        request,
        f"/appointments/{appointment_id}/ride",
        f"Ride requested: pickup {pickup_words}. Confirm it once the ride company gives a "
        "confirmation number.",
    )


def _owned_ride(db: Session, ride_id: uuid.UUID) -> Ride:
    ride = db.get(Ride, ride_id)
    if ride is None:
        raise NotFound(f"No ride with id {ride_id}")
    return ride


@router.post("/rides/{ride_id}", dependencies=[Csrf])
def edit_ride(
    request: Request, db: Db, actor: Writer, ride_id: uuid.UUID, form: Posted
) -> Response:
    """Change an open ride's details; a confirmed ride stays confirmed."""
    appointment_id = _owned_ride(db, ride_id).appointment_id
    typed: dict[str, Any] = {k: _text(form, k) for k in (*REQUEST_FIELDS, "pickup_time")}
    typed["return_ride"] = bool(_text(form, "return_ride"))
    typed["edit"] = "yes"
    facts = _facts(db, _visit(db, appointment_id))
    try:
        pickup = _pickup_at(form, facts)
    except ValueError:
        errors = {"pickup_time": "Enter the pickup time as hours and minutes, e.g. 08:45."}
        return _ride_page(request, db, actor, appointment_id, typed, errors, 422)
    values: dict[str, Any] = {
        "version": _text(form, "version"),
        "return_ride": typed["return_ride"],
        **{k: _text(form, k) or None for k in ("escort_name", "notes", "provider")},
        **{k: v for k in ("pickup_address", "mobility", "escort") if (v := _text(form, k))},
    }
    if pickup is not None:
        values["pickup_at"] = pickup
    elif _text(form, "buffer_minutes"):
        values["buffer_minutes"] = _text(form, "buffer_minutes")
    try:
        data = RideUpdate.model_validate(values)
        with db.begin_nested():
            service.update(db, actor, settings_of(request), ride_id, data)
    except ValidationError as exc:
        errors = _on_form(_errors(exc))
        return _ride_page(request, db, actor, appointment_id, typed, errors, 422)
    except AppError as exc:
        errors = _on_form(chart_views.app_errors(exc, "form"))
        return _ride_page(request, db, actor, appointment_id, typed, errors, exc.status)
    return go_back(request, f"/appointments/{appointment_id}/ride", "Ride details saved.")


@router.post("/rides/{ride_id}/status", dependencies=[Csrf])
def change_status(
    request: Request, db: Db, actor: Writer, ride_id: uuid.UUID, form: Posted
) -> Response:
    appointment_id = _owned_ride(db, ride_id).appointment_id
    typed = {k: _text(form, k) for k in (*STEP_FIELDS, "action")}
    try:
        data = RideTransition.model_validate(
            {
                **{k: v for k in STEP_FIELDS if (v := _text(form, k))},
                "action": _text(form, "action"),
                "version": _text(form, "version"),
            }
        )
        with db.begin_nested():
            changed = service.transition(db, actor, settings_of(request), ride_id, data)
    except ValidationError as exc:
        return _ride_page(request, db, actor, appointment_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _ride_page(request, db, actor, appointment_id, typed, errors, exc.status)
    return go_back(
        request,
        f"/appointments/{appointment_id}/ride",
        f"The ride is now {codes.STATUSES[changed.status].lower()}.",
    )


# --- the chart tab -------------------------------------------------------------------------


@router.get("/patients/{patient_id}/rides")
def chart_rides(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/rides")
    if isinstance(chart, Response):
        return chart
    rides = service.for_patient(db, actor, patient_id)
    open_for = {r.appointment_id for r in rides if r.status in codes.OPEN_STATUSES}
    upcoming = [
        _facts(db, visit)
        for visit in db.scalars(
            select(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status.in_(service.UPCOMING_VISIT),
                Appointment.modality == "in-person",
                Appointment.starts_at > utcnow(),
            )
            .order_by(Appointment.starts_at)
            .limit(20)
        )
        if visit.id not in open_for
    ]
    return chart_views.chart_page(
        request,
        "transport/list.html",
        chart,
        {
            "rides": rides,
            "upcoming": upcoming,
            "tcodes": codes,
            "can_write": allows(actor.role, Permission.TRANSPORT_WRITE),
        },
        tab=TAB,
    )


# --- the board -----------------------------------------------------------------------------


@router.get("/rides")
def rides_board(
    request: Request, db: Db, actor: Reader, day: str = "", days: str = "7", status: str = ""
) -> Response:
    today = clinic_today(request)
    try:
        start = dt.date.fromisoformat(day) if day else today
    except ValueError:
        start = today
    span = int(days) if days in dict(OPTIONS["days"]) else 7
    chosen = {
        "day": start.isoformat(),
        "days": str(span),
        "status": status if status in codes.STATUSES else "",
    }
    zone = settings_of(request).timezone
    rows = service.board(db, actor, zone, start, span, chosen["status"] or None)
    return render(
        request,
        "transport/board.html",
        {
            "rows": rows,
            "chosen": chosen,
            "topts": OPTIONS,
            "tcodes": codes,
            "today": today,
            "unconfirmed": sum(1 for r in rows if r.ride.needs_confirmation),
            "limit": service.BOARD_LIMIT,
        },
        active="rides",
    )
