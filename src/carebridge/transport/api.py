"""The JSON API of transport under /api/v1: rides requested for appointments. Changes carry
the ride's ``version`` (reads return it, and as a weak ETag); a stale one is a 409 and
nothing is saved. Status changes are transitions: ``POST /rides/{id}/transitions``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.lib.time import utcnow
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.transport import service
from carebridge.transport.schemas import (
    RideChange,
    RideCreate,
    RideRead,
    RideTransition,
    RideUpdate,
    Status,
)
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["transport"])
Reader = Annotated[Actor, Depends(Require(Permission.TRANSPORT_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.TRANSPORT_WRITE))]


@router.get("/rides")
def list_rides(
    request: Request,
    db: Db,
    actor: Reader,
    date: Annotated[
        dt.date | None, Query(description="First pickup day (clinic time zone); default today")
    ] = None,
    days: Annotated[int, Query(ge=1, le=62, description="How many days from `date`")] = 1,
    status: Annotated[Status | None, Query(description="Default: all but cancelled")] = None,
) -> list[RideRead]:
    """Rides by pickup time (at most 1000)."""
    zone = settings_of(request).timezone
    start = date or utcnow().astimezone(ZoneInfo(zone)).date()
    rows = service.board(db, actor, zone, start, days, status)
    return [row.ride for row in rows]


@router.get("/patients/{patient_id}/rides")
def list_patient_rides(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[RideRead]:
    return service.for_patient(db, actor, patient_id)


@router.get("/appointments/{appointment_id}/rides")
def list_appointment_rides(appointment_id: uuid.UUID, db: Db, actor: Reader) -> list[RideRead]:
    return service.for_appointment(db, actor, appointment_id)


@router.post("/appointments/{appointment_id}/rides", status_code=201)
def request_ride(
    appointment_id: uuid.UUID,
    body: RideCreate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> RideRead:
    """Request a ride for an in-person appointment. 422 names the field at fault (a pickup
    not before the appointment, an unknown mobility need, a caregiver without a name); 409
    when the appointment already has an open ride."""
    ride = service.create(db, actor, settings_of(request), appointment_id, body)
    response.headers["Location"] = f"/api/v1/rides/{ride.id}"
    set_etag(response, ride.version)
    return ride


@router.get("/rides/{ride_id}")
def read_ride(ride_id: uuid.UUID, response: Response, db: Db, actor: Reader) -> RideRead:
    ride = service.get(db, actor, ride_id)
    set_etag(response, ride.version)
    return ride


@router.patch("/rides/{ride_id}")
def update_ride(
    ride_id: uuid.UUID,
    body: RideUpdate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> RideRead:
    """Change an open ride's details (not its status: see transitions)."""
    ride = service.update(db, actor, settings_of(request), ride_id, body)
    set_etag(response, ride.version)
    return ride


@router.post("/rides/{ride_id}/transitions")
def transition_ride(
    ride_id: uuid.UUID,
    body: RideTransition,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> RideRead:
    """confirm (with the confirmation number), complete, no-show or cancel (with a reason).
    409 when the status does not allow the step (the reply lists what does)."""
    ride = service.transition(db, actor, settings_of(request), ride_id, body)
    set_etag(response, ride.version)
    return ride


@router.get("/rides/{ride_id}/history")
def ride_history(ride_id: uuid.UUID, db: Db, actor: Reader) -> list[RideChange]:
    """Every change of the ride, with who made it and when."""
    return service.history(db, actor, ride_id)
