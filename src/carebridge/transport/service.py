"""Ride use cases: request a ride for an appointment, change it, move it through its
lifecycle, list rides (the board, a chart, an appointment), read its history, and the
timer that chases rides still unconfirmed 48 hours before pickup.

Every read and change is audited with the patient. Services flush and never commit; a
refused change raises before anything is written. A change that alters what the reminder
says about the ride (confirming, cancelling, changing a confirmed ride) plans the
appointment's reminders again, so the messages not yet sent carry the ride as it now is.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.db.history import RecordVersion
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import as_utc, utcnow
from carebridge.patients.models import Patient
from carebridge.scheduling import reminders
from carebridge.scheduling.models import Appointment, Location
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task
from carebridge.transport import codes
from carebridge.transport.models import ENDED_VISIT, Ride
from carebridge.transport.schemas import (
    RideChange,
    RideCreate,
    RideRead,
    RideTransition,
    RideUpdate,
)

ENTITY = "Ride"
WORKER = Actor.system("worker")
BOARD_LIMIT = 1000
UPCOMING_VISIT = ("proposed", "pending", "booked")
WARNING = dt.timedelta(hours=codes.UNCONFIRMED_WARNING_HOURS)


def default_buffer(settings: Settings) -> int:
    """The clinic's travel buffer (``CAREBRIDGE_RIDE_BUFFER_MINUTES``, 60 by default)."""
    return settings.ride_buffer_minutes


def home_address(patient: Patient) -> str | None:
    """The patient's address on one line, or None when there is none on file."""
    street = ", ".join(p for p in (patient.address_line1, patient.address_line2) if p)
    if not street:
        return None
    place = " ".join(p for p in (patient.state, patient.postal_code) if p)
    return ", ".join(p for p in (street, patient.city, place) if p)


# --- reading -------------------------------------------------------------------------------


def _ride(db: Session, ride_id: uuid.UUID) -> Ride:
    ride = db.get(Ride, ride_id)
    if ride is None:
        raise NotFound(f"No ride with id {ride_id}")
    return ride


def _appointment(db: Session, appointment_id: uuid.UUID) -> Appointment:
    visit = db.get(Appointment, appointment_id)
    if visit is None:
        raise NotFound(f"No appointment with id {appointment_id}")
    return visit


def zone_of(db: Session, visit: Appointment) -> str:
    """The time zone of the appointment's location (where pickup times are read)."""
    location = db.get(Location, visit.location_id)
    assert location is not None  # foreign key
    return location.timezone


def _read(
    db: Session, ride: Ride, visit: Appointment | None = None, now: dt.datetime | None = None
) -> RideRead:
    visit = visit or _appointment(db, ride.appointment_id)
    now = now or utcnow()
    return RideRead.model_validate(
        {
            **{c: getattr(ride, c) for c in RideRead.model_fields if hasattr(ride, c)},
            "appointment_starts_at": visit.starts_at,
            "timezone": zone_of(db, visit),
            "needs_confirmation": ride.status == "requested"
            and now < ride.pickup_at <= now + WARNING,
            "actions": codes.actions_from(ride.status),
        }
    )


def get(db: Session, actor: Actor, ride_id: uuid.UUID) -> RideRead:
    ride = _ride(db, ride_id)
    record(
        db, actor, Action.READ, entity_type=ENTITY, entity_id=ride.id, patient_id=ride.patient_id
    )
    return _read(db, ride)


def for_appointment(db: Session, actor: Actor, appointment_id: uuid.UUID) -> list[RideRead]:
    """The rides of one appointment, the open one first, then newest first."""
    visit = _appointment(db, appointment_id)
    rides = db.scalars(
        select(Ride).where(Ride.appointment_id == visit.id).order_by(Ride.created_at.desc())
    ).all()
    record(
        db,
        actor,
        Action.READ,
        entity_type=ENTITY,
        patient_id=visit.patient_id,
        reason=f"rides of appointment {visit.id}",
    )
    found = [_read(db, ride, visit) for ride in rides]
    return sorted(found, key=lambda r: r.status not in codes.OPEN_STATUSES)


def for_patient(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[RideRead]:
    """The patient's rides, latest pickup first."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    rows = db.execute(
        select(Ride, Appointment)
        .join(Appointment, Appointment.id == Ride.appointment_id)
        .where(Ride.patient_id == patient_id)
        .order_by(Ride.pickup_at.desc(), Ride.id)
    ).all()
    record(db, actor, Action.READ, entity_type=ENTITY, patient_id=patient_id, reason="list")
    return [_read(db, ride, visit) for ride, visit in rows]


@dataclass(frozen=True)
class BoardRow:
    ride: RideRead
    patient_name: str
    mrn: str
    day: dt.date


def board(
    db: Session,
    actor: Actor,
    zone: str,
    start: dt.date,
    days: int = 7,
    status: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> list[BoardRow]:
    """Rides picking up from ``start`` for ``days`` days (in ``zone``), by pickup time.
    Without a status, cancelled rides are left out."""
    tz = ZoneInfo(zone)
    first = dt.datetime.combine(start, dt.time(), tz)
    last = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(), tz)
    query = (
        select(Ride, Appointment, Patient.given_names, Patient.family_name, Patient.mrn)
        .join(Appointment, Appointment.id == Ride.appointment_id)
        .join(Patient, Patient.id == Ride.patient_id)
        .where(Ride.pickup_at >= first, Ride.pickup_at < last)
    )
    if status:
        query = query.where(Ride.status == status)
    else:
        query = query.where(Ride.status != "cancelled")
    rows = db.execute(query.order_by(Ride.pickup_at, Ride.id).limit(BOARD_LIMIT)).all()
    record(db, actor, Action.READ, entity_type=ENTITY, reason="rides board")
    return [
        BoardRow(
            _read(db, ride, visit, now),
            f"{family}, {given}",
            mrn,
            ride.pickup_at.astimezone(tz).date(),
        )
        for ride, visit, given, family, mrn in rows
    ]


def _summary(data: dict[str, Any]) -> str:
    parts = [codes.MOBILITY_SHORT.get(str(data.get("mobility")), str(data.get("mobility")))]
    if data.get("escort") == "caregiver":
        parts.append(f"escort {data.get('escort_name')}")
    if data.get("provider"):
        parts.append(str(data["provider"]))
    if data.get("confirmation_number"):
        parts.append(f"confirmation {data['confirmation_number']}")
    if data.get("status_reason"):
        parts.append(f"reason: {data['status_reason']}")
    return "; ".join(parts)


def _moment(value: Any) -> dt.datetime | None:
    return as_utc(dt.datetime.fromisoformat(value)) if isinstance(value, str) else None


def history(db: Session, actor: Actor, ride_id: uuid.UUID) -> list[RideChange]:
    """Every change of the ride, with who made it and when (from its versions)."""
    ride = _ride(db, ride_id)
    rows = db.execute(
        select(RecordVersion, User.username)
        .outerjoin(User, User.id == RecordVersion.changed_by)
        .where(RecordVersion.entity_type == ENTITY, RecordVersion.entity_id == ride.id)
        .order_by(RecordVersion.version, RecordVersion.id)
    ).all()
    record(
        db,
        actor,
        Action.READ,
        entity_type=ENTITY,
        entity_id=ride.id,
        patient_id=ride.patient_id,
        reason="history",
    )
    return [
        RideChange(
            version=version.version,
            changed_at=version.changed_at,
            changed_by=name,
            status=str(version.data.get("status")),
            pickup_at=_moment(version.data.get("pickup_at")),
            summary=_summary(version.data),
        )
        for version, name in rows
    ]


# --- checking input ------------------------------------------------------------------------


def _pickup_buffer(
    visit: Appointment,
    zone: str,
    buffer_minutes: int | None,
    pickup_at: dt.datetime | None,
    fallback: int,
) -> int:
    """The buffer a ride gets: from ``pickup_at`` when given (it must come before the
    appointment), else ``buffer_minutes``, else ``fallback``."""
    if pickup_at is None:
        return buffer_minutes if buffer_minutes is not None else fallback
    start = visit.starts_at.astimezone(ZoneInfo(zone))
    if buffer_minutes is not None:
        raise ValidationFailed(
            "Give either a pickup time or a travel buffer, not both.",
            fields={"pickup_at": "Leave the pickup time empty to use the travel buffer."},
        )
    if pickup_at >= visit.starts_at:
        raise ValidationFailed(
            f"The pickup time is not before the appointment ({start:%a %d %b %Y, %H:%M} "
            f"{zone}); the ride must arrive first. Nothing was saved.",
            fields={"pickup_at": f"Pick up before the appointment starts at {start:%H:%M}."},
        )
    minutes = math.ceil((visit.starts_at - pickup_at).total_seconds() / 60)
    if not codes.MIN_BUFFER_MINUTES <= minutes <= codes.MAX_BUFFER_MINUTES:
        raise ValidationFailed(
            f"A pickup {minutes} minutes before the appointment is outside "
            f"{codes.MIN_BUFFER_MINUTES} to {codes.MAX_BUFFER_MINUTES} minutes.",
            fields={
                "pickup_at": f"Pick up {codes.MIN_BUFFER_MINUTES} min to "
                f"{codes.MAX_BUFFER_MINUTES // 60} h before the appointment."
            },
        )
    return minutes


def _escort_name(escort: str, name: str | None) -> str | None:
    if escort == "caregiver" and not name:
        raise ValidationFailed(
            "A caregiver escort needs a name, so the driver knows who rides along.",
            fields={"escort_name": "Enter the name of the caregiver who rides along."},
        )
    return name if escort == "caregiver" else None


def _ridable(db: Session, visit: Appointment) -> Patient:
    if visit.status not in UPCOMING_VISIT:
        raise ValidationFailed(
            f"The appointment is {visit.status}; rides are requested for upcoming visits only.",
            fields={"appointment_id": f"This appointment is {visit.status}."},
        )
    if visit.modality != "in-person":
        raise ValidationFailed(
            f"This is a {visit.modality} visit; the patient does not travel for it.",
            fields={"appointment_id": "Only in-person visits need a ride."},
        )
    patient = db.get(Patient, visit.patient_id)
    assert patient is not None  # foreign key
    if patient.status == "merged":
        raise Conflict(f"Chart {patient.mrn} was merged into another chart. Nothing was saved.")
    return patient


# --- changing ------------------------------------------------------------------------------


def create(
    db: Session, actor: Actor, settings: Settings, appointment_id: uuid.UUID, data: RideCreate
) -> RideRead:
    visit = _appointment(db, appointment_id)
    patient = _ridable(db, visit)
    zone = zone_of(db, visit)
    open_ride = db.scalar(
        select(Ride.id).where(Ride.appointment_id == visit.id, Ride.status.in_(codes.OPEN_STATUSES))
    )
    if open_ride is not None:
        raise Conflict(
            "This appointment already has an open ride; change or cancel it instead. "
            "Nothing was saved.",
            extra={"ride_id": str(open_ride)},
        )
    address = data.pickup_address or home_address(patient)
    if not address:
        raise ValidationFailed(
            "The patient has no address on file; type where the driver picks them up.",
            fields={"pickup_address": "Enter the pickup address."},
        )
    buffer = _pickup_buffer(
        visit, zone, data.buffer_minutes, data.pickup_at, default_buffer(settings)
    )
    ride = Ride(
        patient_id=patient.id,
        appointment_id=visit.id,
        pickup_address=address,
        mobility=data.mobility,
        escort=data.escort,
        escort_name=_escort_name(data.escort, data.escort_name),
        notes=data.notes,
        buffer_minutes=buffer,
        pickup_at=visit.starts_at - dt.timedelta(minutes=buffer),
        return_ride=data.return_ride,
        provider=data.provider,
        status="requested",
    )
    db.add(ride)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type=ENTITY,
        entity_id=ride.id,
        patient_id=patient.id,
        reason=f"ride requested ({ride.mobility}) for appointment {visit.id}",
    )
    return _read(db, ride, visit)


def _open(ride: Ride) -> None:
    if ride.status not in codes.OPEN_STATUSES:
        raise Conflict(
            f"This ride is {codes.STATUSES[ride.status].lower()}; it can no longer change. "
            "Request a new ride instead. Nothing was saved."
        )


def update(
    db: Session, actor: Actor, settings: Settings, ride_id: uuid.UUID, data: RideUpdate
) -> RideRead:
    """Change an open ride's details; a confirmed ride stays confirmed (tell the ride
    company), and its reminders are planned again with the new details."""
    ride = _ride(db, ride_id)
    check_version("This ride", ride.version, data.version)
    _open(ride)
    visit = _appointment(db, ride.appointment_id)
    zone = zone_of(db, visit)
    sent = data.model_dump(exclude_unset=True, exclude={"version", "pickup_at", "buffer_minutes"})
    if "buffer_minutes" in data.model_fields_set or "pickup_at" in data.model_fields_set:
        buffer = _pickup_buffer(
            visit, zone, data.buffer_minutes, data.pickup_at, ride.buffer_minutes
        )
        ride.buffer_minutes = buffer
        ride.pickup_at = visit.starts_at - dt.timedelta(minutes=buffer)
    escort = sent.get("escort") or ride.escort
    name = sent.get("escort_name", ride.escort_name)
    ride.escort_name = _escort_name(escort, name)
    ride.escort = escort
    for key in ("pickup_address", "mobility", "return_ride"):
        if sent.get(key) is not None:
            setattr(ride, key, sent[key])
    for key in ("notes", "provider"):
        if key in sent:
            setattr(ride, key, sent[key])
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type=ENTITY,
        entity_id=ride.id,
        patient_id=ride.patient_id,
        reason="details changed",
    )
    if ride.status == "confirmed":
        reminders.plan(db, settings, visit)
    return _read(db, ride, visit)


def transition(
    db: Session, actor: Actor, settings: Settings, ride_id: uuid.UUID, data: RideTransition
) -> RideRead:
    ride = _ride(db, ride_id)
    check_version("This ride", ride.version, data.version)
    allowed = codes.actions_from(ride.status)
    if data.action not in allowed:
        can = ", ".join(allowed) or "nothing: the ride is over"
        raise Conflict(
            f"A {codes.STATUSES[ride.status].lower()} ride cannot take '{data.action}'; it "
            f"can take {can}. Nothing was saved.",
            extra={"allowed": allowed},
        )
    if data.action == "confirm":
        if not data.confirmation_number:
            raise ValidationFailed(
                "Confirming a ride needs the confirmation number the ride company gave.",
                fields={"confirmation_number": "Enter the ride company's confirmation number."},
            )
        provider = data.provider or ride.provider
        if not provider:
            raise ValidationFailed(
                "Say which ride company or Medicaid transport broker confirmed the ride.",
                fields={"provider": "Enter the ride company or broker."},
            )
        ride.provider = provider
        ride.confirmation_number = data.confirmation_number
        ride.confirmed_at = utcnow()
        ride.status_reason = None
    elif data.action == "cancel":
        if not data.reason:
            raise ValidationFailed(
                "Say why the ride is cancelled.",
                fields={"reason": "Enter why the ride is cancelled."},
            )
        ride.status_reason = data.reason
    elif data.reason:
        ride.status_reason = data.reason
    before = ride.status
    ride.status = codes.ACTIONS[data.action]
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type=ENTITY,
        entity_id=ride.id,
        patient_id=ride.patient_id,
        reason=f"status {before} -> {ride.status}",
    )
    _finish_task(db, actor, ride)
    visit = _appointment(db, ride.appointment_id)
    if ride.status in ("confirmed", "cancelled"):
        reminders.plan(db, settings, visit)
    return _read(db, ride, visit)


def _finish_task(db: Session, actor: Actor, ride: Ride) -> None:
    """Once a ride is confirmed (or over), nobody need chase its confirmation."""
    reason = f"The ride is now {codes.STATUSES[ride.status].lower()}."
    tasks.complete_open(db, actor, reason, Task.dedupe_key == _task_key(ride))


# --- the timer -----------------------------------------------------------------------------


@dataclass
class TimerSummary:
    raised: int = 0
    moved: int = 0
    cancelled: int = 0

    def line(self) -> str:
        return (
            f"{self.raised} unconfirmed-ride task(s) raised, {self.moved} pickup(s) moved, "
            f"{self.cancelled} ride(s) cancelled with their appointment"
        )


def _task_key(ride: Ride) -> str:
    return f"{codes.TASK_KEY}:{ride.id}"


def run_timers(
    db: Session, settings: Settings, now: dt.datetime | None = None, limit: int = 500
) -> TimerSummary:
    """Once a minute: open rides follow their appointment (a safety net for the flush
    listener), and a ride still unconfirmed within 48 hours of pickup raises one task for
    the coordinators (once per ride, however often this runs)."""
    now = now or utcnow()
    summary = TimerSummary()
    rows = db.execute(
        select(Ride, Appointment)
        .join(Appointment, Appointment.id == Ride.appointment_id)
        .where(Ride.status.in_(codes.OPEN_STATUSES), Ride.pickup_at > now - dt.timedelta(days=1))
        .order_by(Ride.pickup_at)
        .limit(limit)
    ).all()
    for ride, visit in rows:
        if visit.status in ENDED_VISIT:
            ride.status, ride.status_reason = "cancelled", f"The appointment was {visit.status}."
            summary.cancelled += 1
            db.flush()
            _worker_note(db, ride, "cancelled with its appointment")
            continue
        pickup = visit.starts_at - dt.timedelta(minutes=ride.buffer_minutes)
        if ride.pickup_at != pickup:
            ride.pickup_at = pickup
            summary.moved += 1
            db.flush()
            _worker_note(db, ride, "pickup moved with its appointment")
        if ride.status == "requested" and now < ride.pickup_at <= now + WARNING:
            summary.raised += _raise_task(db, ride, visit, now)
    return summary


def _worker_note(db: Session, ride: Ride, reason: str) -> None:
    record(
        db,
        WORKER,
        Action.UPDATE,
        entity_type=ENTITY,
        entity_id=ride.id,
        patient_id=ride.patient_id,
        reason=reason,
    )


def _raise_task(db: Session, ride: Ride, visit: Appointment, now: dt.datetime) -> int:
    key = _task_key(ride)
    if db.scalar(select(Task.id).where(Task.dedupe_key == key)) is not None:
        return 0
    zone = zone_of(db, visit)
    pickup = ride.pickup_at.astimezone(ZoneInfo(zone))
    hours = max(1, int((ride.pickup_at - now).total_seconds() // 3600))
    tasks.create(
        db,
        WORKER,
        title=f"Ride not confirmed: pickup {pickup:%a %d %b, %H:%M}",
        description=(
            f"The {codes.MOBILITY_SHORT[ride.mobility].lower()} ride requested for this "
            f"patient's appointment picks up in about {hours} h ({pickup:%a %d %b %Y, %H:%M} "
            f"{zone}) from {ride.pickup_address} and is still not confirmed"
            f"{' with ' + ride.provider if ride.provider else ''}. Call the ride company or "
            f"broker, then confirm it with their confirmation number at "
            f"/appointments/{visit.id}/ride."
        ),
        patient_id=ride.patient_id,
        priority="urgent",
        kind="scheduling",
        queue="coordinators",
        due_at=min(ride.pickup_at - dt.timedelta(hours=12), now + dt.timedelta(hours=4)),
        focus_type="Appointment",
        focus_id=visit.id,
        dedupe_key=key,
        template_key=codes.TASK_KEY,
    )
    return 1
