"""JSON API for scheduling under /api/v1: the directory, slot search and appointments."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from carebridge.scheduling import service
from carebridge.scheduling.schemas import (
    AppointmentRead,
    AppointmentTypeCreate,
    AppointmentTypeRead,
    AvailabilityRuleCreate,
    AvailabilityRuleRead,
    BookIn,
    CancelIn,
    HolidayCreate,
    HolidayRead,
    LocationCreate,
    LocationRead,
    PractitionerCreate,
    PractitionerRead,
    RescheduleIn,
    RoomCreate,
    RoomRead,
    Slot,
    SlotQuery,
    StatusIn,
    TimeOffCreate,
    TimeOffRead,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["scheduling"])
Viewer = Annotated[Actor, Depends(Require(Permission.SCHEDULE_VIEW))]
Booker = Annotated[Actor, Depends(Require(Permission.SCHEDULE_BOOK))]
Manager = Annotated[Actor, Depends(Require(Permission.DIRECTORY_MANAGE))]


@router.get("/practitioners")
def list_practitioners(db: Db, actor: Viewer) -> list[PractitionerRead]:
    return service.practitioners(db)


@router.post("/practitioners", status_code=201)
def create_practitioner(body: PractitionerCreate, db: Db, actor: Manager) -> PractitionerRead:
    return service.create_practitioner(db, actor, body)


class OfferingsIn(BaseModel):
    appointment_type_codes: list[str] = Field(min_length=1)


@router.post("/practitioners/{practitioner_id}/offerings", status_code=204)
def add_offerings(
    practitioner_id: uuid.UUID, body: OfferingsIn, db: Db, actor: Manager
) -> Response:
    service.offer(db, practitioner_id, body.appointment_type_codes)
    return Response(status_code=204)


@router.get("/locations")
def list_locations(db: Db, actor: Viewer) -> list[LocationRead]:
    return service.locations(db)


@router.post("/locations", status_code=201)
def create_location(body: LocationCreate, db: Db, actor: Manager) -> LocationRead:
    return service.create_location(db, actor, body)


@router.post("/rooms", status_code=201)
def create_room(body: RoomCreate, db: Db, actor: Manager) -> RoomRead:
    return service.create_room(db, actor, body)


@router.get("/appointment-types")
def list_types(db: Db, actor: Viewer) -> list[AppointmentTypeRead]:
    return service.appointment_types(db)


@router.post("/appointment-types", status_code=201)
def create_type(body: AppointmentTypeCreate, db: Db, actor: Manager) -> AppointmentTypeRead:
    return service.create_appointment_type(db, actor, body)


@router.post("/availability-rules", status_code=201)
def create_rule(body: AvailabilityRuleCreate, db: Db, actor: Manager) -> AvailabilityRuleRead:
    """Working hours as an RFC 5545 RRULE over local times of the location."""
    return service.add_availability(db, actor, body)


@router.post("/time-off", status_code=201)
def create_time_off(body: TimeOffCreate, db: Db, actor: Manager) -> TimeOffRead:
    return service.add_time_off(db, actor, body)


@router.post("/holidays", status_code=201)
def create_holiday(body: HolidayCreate, db: Db, actor: Manager) -> HolidayRead:
    return service.add_holiday(db, actor, body)


@router.post("/slots/search")
def search_slots(body: SlotQuery, db: Db, actor: Viewer) -> list[Slot]:
    """First available times across practitioners, earliest first, each explained."""
    return service.search_slots(db, body)


@router.post("/appointments", status_code=201)
def book(body: BookIn, request: Request, db: Db, actor: Booker) -> AppointmentRead:
    """Book. 409 ``slot-taken`` says why the time is not free and lists ``alternatives``."""
    return service.book(db, actor, settings_of(request), body)


@router.get("/appointments/{appointment_id}")
def read_appointment(
    appointment_id: uuid.UUID, request: Request, db: Db, actor: Viewer
) -> AppointmentRead:
    return service.get(db, actor, settings_of(request), appointment_id)


@router.post("/appointments/{appointment_id}/reschedule")
def reschedule(
    appointment_id: uuid.UUID, body: RescheduleIn, request: Request, db: Db, actor: Booker
) -> AppointmentRead:
    return service.reschedule(db, actor, settings_of(request), appointment_id, body)


@router.post("/appointments/{appointment_id}/cancel")
def cancel(
    appointment_id: uuid.UUID, body: CancelIn, request: Request, db: Db, actor: Booker
) -> AppointmentRead:
    return service.cancel(db, actor, settings_of(request), appointment_id, body)


@router.post("/appointments/{appointment_id}/status")
def change_status(
    appointment_id: uuid.UUID, body: StatusIn, request: Request, db: Db, actor: Booker
) -> AppointmentRead:
    """Arrived, checked in, fulfilled, no-show."""
    return service.set_status(db, actor, settings_of(request), appointment_id, body)


@router.get("/patients/{patient_id}/appointments")
def patient_appointments(
    patient_id: uuid.UUID, request: Request, db: Db, actor: Viewer
) -> list[AppointmentRead]:
    return service.for_patient(db, actor, settings_of(request), patient_id)


@router.get("/calendar")
def calendar(
    request: Request,
    db: Db,
    actor: Viewer,
    start: Annotated[dt.date, Query(description="First day (UTC)")],
    days: Annotated[int, Query(ge=1, le=31)] = 1,
    practitioner_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
) -> list[AppointmentRead]:
    begin = dt.datetime.combine(start, dt.time(), dt.UTC)
    return service.calendar(
        db,
        actor,
        settings_of(request),
        start=begin,
        end=begin + dt.timedelta(days=days),
        practitioner_id=practitioner_id,
        location_id=location_id,
    )
