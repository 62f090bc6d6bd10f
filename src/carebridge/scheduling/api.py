"""JSON API for scheduling under /api/v1: the directory, slot search and appointments."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from carebridge.authorizations.service import warnings_for_booking as booking_warnings
from carebridge.scheduling import measures, series, service, waitlist
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
from carebridge.scheduling.waitlist_schemas import (
    AccessMeasures,
    DeclineRead,
    SeriesBooked,
    SeriesBookIn,
    SeriesDetail,
    SeriesPreview,
    SeriesQuery,
    WaitlistChangeIn,
    WaitlistCreate,
    WaitlistRead,
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
    """Book. 409 ``slot-taken`` says why the time is not free and lists ``alternatives``.
    With ``from_waitlist_id`` the waitlist entry is marked booked in the same transaction."""
    settings = settings_of(request)
    booked = service.book(db, actor, settings, body)
    if body.from_waitlist_id is not None:
        waitlist.book_from_waitlist(db, actor, body.from_waitlist_id, booked)
    booked.warnings = booking_warnings(db, booked, settings.timezone)
    return booked


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


# --- waitlist ------------------------------------------------------------------------------


@router.post("/waitlist", status_code=201)
def add_to_waitlist(body: WaitlistCreate, db: Db, actor: Booker) -> WaitlistRead:
    """Waitlist a patient for a visit type (optionally one practitioner or location, a date
    range, weekdays and a part of the day). Cancelled times are offered to the best match."""
    return waitlist.add(db, actor, body)


@router.get("/waitlist")
def list_waitlist(
    db: Db,
    actor: Viewer,
    status: Annotated[str, Query(pattern=r"^(waiting|offered|booked|removed|all)$")] = "waiting",
    patient_id: uuid.UUID | None = None,
    appointment_type_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[WaitlistRead]:
    """Entries, most urgent (priority 1) first, then the longest waiting."""
    return waitlist.entries(
        db,
        actor,
        status=None if status == "all" else status,
        patient_id=patient_id,
        appointment_type_id=appointment_type_id,
        limit=limit,
    )


@router.post("/waitlist/{entry_id}/remove")
def remove_from_waitlist(
    entry_id: uuid.UUID, body: WaitlistChangeIn, db: Db, actor: Booker
) -> WaitlistRead:
    return waitlist.remove(db, actor, entry_id, body.version)


@router.post("/waitlist/{entry_id}/decline")
def decline_waitlist_offer(
    entry_id: uuid.UUID, body: WaitlistChangeIn, request: Request, db: Db, actor: Booker
) -> DeclineRead:
    """The patient declined the time offered: the entry waits again and the time is offered
    to the next matching entry (``next_offer``)."""
    return waitlist.decline_offer(db, actor, settings_of(request), entry_id, body.version)


# --- recurring series ------------------------------------------------------------------------


@router.post("/series/preview")
def preview_series(body: SeriesQuery, db: Db, actor: Viewer) -> SeriesPreview:
    """Each occurrence of the RRULE: ok, conflict (why, and up to 3 other times that week) or
    past. Nothing is booked."""
    return series.preview(db, body)


@router.post("/series", status_code=201)
def book_series(body: SeriesBookIn, request: Request, db: Db, actor: Booker) -> SeriesBooked:
    """Book every occurrence, all or nothing: 409 ``series-not-booked`` lists the
    ``occurrences`` and which could not be booked."""
    return series.book_series(db, actor, settings_of(request), body)


@router.get("/series/{series_id}")
def read_series(series_id: uuid.UUID, request: Request, db: Db, actor: Viewer) -> SeriesDetail:
    return series.get(db, actor, settings_of(request), series_id)


# --- access measures -------------------------------------------------------------------------


@router.get("/measures/access")
def access_measures(
    request: Request,
    db: Db,
    actor: Viewer,
    start: Annotated[
        dt.date | None, Query(description="First day (clinic zone); default 30 days ago")
    ] = None,
    end: Annotated[dt.date | None, Query(description="Last day, inclusive; default today")] = None,
    practitioner_id: uuid.UUID | None = None,
    appointment_type_id: uuid.UUID | None = None,
) -> AccessMeasures:
    """Third-next-available per practitioner and visit type (days), no-show rate and median
    lead time over the period, computed now."""
    settings = settings_of(request)
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    last = end or today
    return measures.access(
        db,
        actor,
        settings,
        start=start or last - dt.timedelta(days=30),
        end=last,
        practitioner_id=practitioner_id,
        appointment_type_id=appointment_type_id,
    )
