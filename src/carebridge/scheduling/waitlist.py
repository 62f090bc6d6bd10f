"""The waitlist: patients who want an earlier or a particular time, and offering them the
times that cancellations free.

A freed time goes to the best waiting match (priority, then the oldest entry). The offer is a
task for the scheduling queue, plus a message to the patient on every channel they allow. When
the patient declines, the entry waits again and the time goes to the next match; who has been
offered a time is read back from the offer tasks' dedupe keys, so nobody is offered the same
time twice."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.messaging import service as messaging
from carebridge.patients.models import Patient
from carebridge.patients.service import may_contact
from carebridge.scheduling import availability, service
from carebridge.scheduling.models import (
    HOLDING,
    Appointment,
    AppointmentType,
    Location,
    Practitioner,
    WaitlistEntry,
)
from carebridge.scheduling.schemas import AppointmentRead
from carebridge.scheduling.waitlist_schemas import DeclineRead, WaitlistCreate, WaitlistRead
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task

FOCUS = "WaitlistEntry"
OPEN = ("waiting", "offered")
OFFER_DUE = dt.timedelta(hours=2)
CHANNELS = ("sms", "email")


def _entry(db: Session, entry_id: uuid.UUID) -> WaitlistEntry:
    row = db.get(WaitlistEntry, entry_id)
    if row is None:
        raise NotFound(f"No waitlist entry with id {entry_id}")
    return row


def _check_version(row: WaitlistEntry, version: int) -> None:
    check_version("This waitlist entry", row.version, version)


def _audit(db: Session, actor: Actor, action: Action, row: WaitlistEntry, reason: str) -> None:
    record(
        db,
        actor,
        action,
        entity_type=FOCUS,
        entity_id=row.id,
        patient_id=row.patient_id,
        reason=reason,
    )


# --- entries -------------------------------------------------------------------------------


def add(db: Session, actor: Actor, data: WaitlistCreate) -> WaitlistRead:
    patient = db.get(Patient, data.patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {data.patient_id}")
    if patient.status in ("merged", "deceased"):
        raise ValidationFailed(f"Cannot waitlist a {patient.status} chart")
    if db.get(AppointmentType, data.appointment_type_id) is None:
        raise NotFound(f"No visit type with id {data.appointment_type_id}")
    if data.practitioner_id is not None and db.get(Practitioner, data.practitioner_id) is None:
        raise NotFound(f"No practitioner with id {data.practitioner_id}")
    if data.location_id is not None and db.get(Location, data.location_id) is None:
        raise NotFound(f"No location with id {data.location_id}")
    row = WaitlistEntry(**data.model_dump(), status="waiting")
    db.add(row)
    db.flush()
    _audit(db, actor, Action.CREATE, row, f"waitlisted, priority {row.priority}")
    return WaitlistRead.model_validate(row)


def entries(
    db: Session,
    actor: Actor,
    *,
    status: str | None = "waiting",
    patient_id: uuid.UUID | None = None,
    appointment_type_id: uuid.UUID | None = None,
    limit: int = 200,
) -> list[WaitlistRead]:
    """Entries in working order: most urgent first, then the longest waiting."""
    query = select(WaitlistEntry)
    if status is not None:
        query = query.where(WaitlistEntry.status == status)
    if patient_id is not None:
        query = query.where(WaitlistEntry.patient_id == patient_id)
    if appointment_type_id is not None:
        query = query.where(WaitlistEntry.appointment_type_id == appointment_type_id)
    rows = list(
        db.scalars(
            query.order_by(
                WaitlistEntry.priority, WaitlistEntry.created_at, WaitlistEntry.id
            ).limit(limit)
        )
    )
    for pid in dict.fromkeys(r.patient_id for r in rows):  # each patient shown, once
        record(db, actor, Action.READ, entity_type=FOCUS, patient_id=pid)
    return [WaitlistRead.model_validate(r) for r in rows]


def remove(db: Session, actor: Actor, entry_id: uuid.UUID, version: int) -> WaitlistRead:
    """Take a patient off the waitlist (the entry is kept, as ``removed``)."""
    row = _entry(db, entry_id)
    _check_version(row, version)
    if row.status not in OPEN:
        raise Conflict(f"A {row.status} waitlist entry cannot be removed")
    row.status = "removed"
    db.flush()
    _audit(db, actor, Action.UPDATE, row, "removed from the waitlist")
    return WaitlistRead.model_validate(row)


def book_from_waitlist(
    db: Session, actor: Actor, entry_id: uuid.UUID, appointment: AppointmentRead
) -> WaitlistRead:
    """Mark an entry booked once ``appointment`` was booked for it (called after
    ``service.book`` in the same unit of work, so a refusal here books nothing)."""
    row = _entry(db, entry_id)
    if row.patient_id != appointment.patient_id:
        raise ValidationFailed(
            "That waitlist entry is for another patient",
            fields={"from_waitlist_id": "Choose an entry of this patient."},
        )
    if row.status not in OPEN:
        raise Conflict(
            f"That waitlist entry is already {row.status}",
            fields={"from_waitlist_id": f"The entry is {row.status}."},
        )
    row.status = "booked"
    db.flush()
    _audit(db, actor, Action.UPDATE, row, f"booked as appointment {appointment.id}")
    return WaitlistRead.model_validate(row)


def decline_offer(
    db: Session, actor: Actor, settings: Settings, entry_id: uuid.UUID, version: int
) -> DeclineRead:
    """The patient does not want the time offered: the entry waits again and the time is
    offered to the next match (never again to anyone it was offered to)."""
    row = _entry(db, entry_id)
    _check_version(row, version)
    if row.status != "offered" or row.offered_appointment_id is None:
        raise Conflict(f"Only an offered entry can decline; this one is {row.status}")
    freed = db.get(Appointment, row.offered_appointment_id)
    row.status = "waiting"
    row.offered_appointment_id = None
    db.flush()
    _audit(db, actor, Action.UPDATE, row, "declined the offered time")
    following = offer_freed_slot(db, actor, settings, freed) if freed is not None else None
    return DeclineRead(
        declined=WaitlistRead.model_validate(row),
        next_offer=None if following is None else WaitlistRead.model_validate(following),
    )


# --- offering freed times --------------------------------------------------------------------


def _wants(entry: WaitlistEntry, day: dt.date, clock: dt.time, weekday: int) -> bool:
    if day < entry.earliest or (entry.latest is not None and day > entry.latest):
        return False
    if entry.weekdays and weekday not in entry.weekdays:
        return False
    if entry.day_part == "morning" and clock >= service.MORNING_ENDS:
        return False
    return not (entry.day_part == "afternoon" and clock < service.MORNING_ENDS)


def _offer_key(entry_id: uuid.UUID, appointment_id: uuid.UUID) -> str:
    return f"waitlist-offer:{entry_id}:{appointment_id}"


def matches(db: Session, freed: Appointment) -> list[WaitlistEntry]:
    """Waiting entries that would take the freed time, best first; entries already offered
    this time (and the patient who gave it up) are left out."""
    place = db.get(Location, freed.location_id)
    if place is None:
        return []
    day, clock, weekday = availability.local_parts(freed.starts_at, place.timezone)
    rows = db.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.status == "waiting",
            WaitlistEntry.appointment_type_id == freed.appointment_type_id,
            or_(
                WaitlistEntry.practitioner_id.is_(None),
                WaitlistEntry.practitioner_id == freed.practitioner_id,
            ),
            or_(
                WaitlistEntry.location_id.is_(None),
                WaitlistEntry.location_id == freed.location_id,
            ),
            WaitlistEntry.earliest <= day,
            or_(WaitlistEntry.latest.is_(None), WaitlistEntry.latest >= day),
            WaitlistEntry.patient_id != freed.patient_id,
        )
        .order_by(WaitlistEntry.priority, WaitlistEntry.created_at, WaitlistEntry.id)
    )
    found = [e for e in rows if _wants(e, day, clock, weekday)]
    if not found:
        return []
    offered = set(
        db.scalars(
            select(Task.dedupe_key).where(
                Task.dedupe_key.in_([_offer_key(e.id, freed.id) for e in found])
            )
        )
    )
    return [e for e in found if _offer_key(e.id, freed.id) not in offered]


def offer_freed_slot(
    db: Session, actor: Actor, settings: Settings, cancelled_appointment: Appointment
) -> WaitlistEntry | None:
    """Offer the time ``cancelled_appointment`` held to the best waiting match that can still
    take it; give back the entry offered, or None. Nothing is offered for a time already past,
    while another entry holds an offer of it, or once it is taken again."""
    freed = cancelled_appointment
    now = utcnow()
    if freed.starts_at <= now or freed.status in HOLDING:
        return None
    pending = db.scalar(
        select(WaitlistEntry.id).where(
            WaitlistEntry.status == "offered", WaitlistEntry.offered_appointment_id == freed.id
        )
    )
    if pending is not None:
        return None
    kind = db.get(AppointmentType, freed.appointment_type_id)
    place = db.get(Location, freed.location_id)
    person = db.get(Practitioner, freed.practitioner_id)
    if kind is None or place is None or person is None:
        return None
    for entry in matches(db, freed):
        patient = db.get(Patient, entry.patient_id)
        if patient is None or patient.status in ("merged", "deceased"):
            continue
        if _patient_busy(db, entry.patient_id, freed):
            continue  # this patient cannot come then; the next one may
        problem = service._fits_availability(
            db,
            kind,
            freed.practitioner_id,
            freed.location_id,
            freed.starts_at,
            freed.modality,
            entry.patient_id,
            None,
        )
        if problem is not None:
            return None  # the time itself is gone (rebooked, closed, hours changed)
        try:
            with db.begin_nested():
                _offer(db, actor, settings, entry, freed, patient, kind, place, person, now)
        except StaleDataError:
            continue  # offered another time at this very moment; try the next entry
        return entry
    return None


def _patient_busy(db: Session, patient_id: uuid.UUID, freed: Appointment) -> bool:
    return (
        db.scalar(
            select(Appointment.id)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status.in_(HOLDING),
                Appointment.starts_at < freed.ends_at,
                Appointment.ends_at > freed.starts_at,
            )
            .limit(1)
        )
        is not None
    )


def _offer(
    db: Session,
    actor: Actor,
    settings: Settings,
    entry: WaitlistEntry,
    freed: Appointment,
    patient: Patient,
    kind: AppointmentType,
    place: Location,
    person: Practitioner,
    now: dt.datetime,
) -> None:
    entry.status = "offered"
    entry.offered_appointment_id = freed.id
    db.flush()
    local = freed.starts_at.astimezone(ZoneInfo(place.timezone))
    when = f"{local:%a} {local.day} {local:%b %H:%M}"
    name = f"{patient.given_names} {patient.family_name}"
    phones = _telecoms(patient, "phone")
    tasks.create(
        db,
        actor,
        title=f"Offer freed slot {when} to {name}"[:200],
        patient_id=patient.id,
        description=(
            f"{kind.name} with {person.name} at {place.name}, {local:%a %d %b %Y %H:%M} "
            f"({place.timezone}) was cancelled. {name} is waitlisted (priority "
            f"{entry.priority}) and fits it. Call "
            f"{phones[0] if phones else 'the patient'}; book it with this waitlist entry, or "
            "record that they declined so the next patient is offered the time."
            + (f"\nWaitlist note: {entry.note}" if entry.note else "")
        ),
        priority="urgent" if entry.priority == 1 else "routine",
        queue="scheduling",
        kind="scheduling",
        due_at=min(now + OFFER_DUE, freed.starts_at),
        focus_type=FOCUS,
        focus_id=entry.id,
        dedupe_key=_offer_key(entry.id, freed.id),
    )
    _audit(db, actor, Action.UPDATE, entry, f"offered the time of appointment {freed.id}")
    for channel in CHANNELS:
        if not may_contact(db, patient.id, channel, local.date()):
            continue
        recipient = _recipient(patient, channel)
        if recipient is None:
            continue
        _message(db, settings, entry, freed, patient, place, channel, recipient, when)


def _telecoms(patient: Patient, system: str) -> list[str]:
    rows = [t for t in patient.telecoms if t.system == system and t.status == "active"]
    rows.sort(key=lambda t: (t.use != "mobile", t.rank))
    return [t.value for t in rows]


def _recipient(patient: Patient, channel: str) -> str | None:
    if channel == "sms":
        mobiles = [
            t.value
            for t in sorted(patient.telecoms, key=lambda t: t.rank)
            if t.system == "phone" and t.use == "mobile" and t.status == "active"
        ]
        return mobiles[0] if mobiles else None
    emails = _telecoms(patient, "email")
    return patient.email or (emails[0] if emails else None)


def _message(
    db: Session,
    settings: Settings,
    entry: WaitlistEntry,
    freed: Appointment,
    patient: Patient,
    place: Location,
    channel: str,
    recipient: str,
    when: str,
) -> None:
    call = f"call {place.name} at {place.phone}" if place.phone else f"call {place.name}"
    messaging.enqueue(
        db,
        channel=channel,
        recipient=recipient,
        subject="An earlier appointment is available" if channel == "email" else None,
        body=(
            f"{settings.clinic_name}: an appointment time opened on {when} at {place.name}. "
            f"You are on our waitlist; if you would like it, please {call} soon."
        ),
        patient_id=patient.id,
        focus_type=FOCUS,
        focus_id=entry.id,
        dedupe_key=f"{_offer_key(entry.id, freed.id)}:{channel}",
    )
