"""Scheduling use cases: the directory (practitioners, locations, rooms, visit types,
availability), slot search across providers, and booking without double booking."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.ids import new_secret
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.scheduling import availability, reminders
from carebridge.scheduling.codes import CANCEL_REASONS, TRANSITIONS
from carebridge.scheduling.models import (
    HOLDING,
    Appointment,
    AppointmentType,
    AvailabilityRule,
    Holiday,
    Location,
    Offering,
    Practitioner,
    Room,
    TimeOff,
)
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
    read_appointment,
)
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings

T = TypeVar("T")
STEP = dt.timedelta(minutes=15)
MORNING_ENDS = dt.time(12, 0)


class SlotTaken(Conflict):
    code = "slot-taken"
    title = "That time is not free"


# --- directory -------------------------------------------------------------------------


def _get(db: Session, model: type[T], ident: uuid.UUID, what: str) -> T:
    row = db.get(model, ident)
    if row is None:
        raise NotFound(f"No {what} with id {ident}")
    return row


def create_location(db: Session, actor: Actor, data: LocationCreate) -> LocationRead:
    location = Location(**data.model_dump())
    db.add(location)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="Location", entity_id=location.id)
    return LocationRead.model_validate(location)


def create_room(db: Session, actor: Actor, data: RoomCreate) -> RoomRead:
    _get(db, Location, data.location_id, "location")
    room = Room(**data.model_dump())
    db.add(room)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="Room", entity_id=room.id)
    return RoomRead.model_validate(room)


def create_appointment_type(
    db: Session, actor: Actor, data: AppointmentTypeCreate
) -> AppointmentTypeRead:
    if db.scalar(select(AppointmentType.id).where(AppointmentType.code == data.code)):
        raise Conflict(
            f"Visit type code {data.code!r} is taken", fields={"code": "Choose another code."}
        )
    kind = AppointmentType(**data.model_dump())
    db.add(kind)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="AppointmentType", entity_id=kind.id)
    return AppointmentTypeRead.model_validate(kind)


def create_practitioner(db: Session, actor: Actor, data: PractitionerCreate) -> PractitionerRead:
    if data.npi and db.scalar(select(Practitioner.id).where(Practitioner.npi == data.npi)):
        raise Conflict(
            f"NPI {data.npi} is already registered",
            fields={"npi": "Another practitioner has this NPI."},
        )
    values = data.model_dump(exclude={"appointment_type_codes"})
    practitioner = Practitioner(**values, calendar_token=new_secret(24))
    db.add(practitioner)
    db.flush()
    offer(db, practitioner.id, data.appointment_type_codes)
    record(db, actor, Action.CREATE, entity_type="Practitioner", entity_id=practitioner.id)
    return PractitionerRead.model_validate(practitioner)


def offer(db: Session, practitioner_id: uuid.UUID, codes: Iterable[str]) -> None:
    """Let a practitioner offer these visit types (by code)."""
    codes = list(codes)
    if not codes:
        return
    kinds = {
        k.code: k
        for k in db.scalars(select(AppointmentType).where(AppointmentType.code.in_(codes)))
    }
    unknown = sorted(set(codes) - set(kinds))
    if unknown:
        raise ValidationFailed(
            f"Unknown visit type(s): {', '.join(unknown)}",
            fields={"appointment_type_codes": "Unknown: " + ", ".join(unknown)},
        )
    have = set(
        db.scalars(
            select(Offering.appointment_type_id).where(Offering.practitioner_id == practitioner_id)
        )
    )
    for kind in kinds.values():
        if kind.id not in have:
            db.add(Offering(practitioner_id=practitioner_id, appointment_type_id=kind.id))
    db.flush()


def add_availability(
    db: Session, actor: Actor, data: AvailabilityRuleCreate
) -> AvailabilityRuleRead:
    _get(db, Practitioner, data.practitioner_id, "practitioner")
    _get(db, Location, data.location_id, "location")
    rule = AvailabilityRule(
        practitioner_id=data.practitioner_id,
        location_id=data.location_id,
        rrule=availability.parse_rrule(data.rrule, valid_from=data.valid_from),
        start_time=data.start_time,
        end_time=data.end_time,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        exdates=[d.isoformat() for d in data.exdates],
        modalities=list(data.modalities),
    )
    db.add(rule)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="AvailabilityRule", entity_id=rule.id)
    return AvailabilityRuleRead.model_validate(rule)


def add_time_off(db: Session, actor: Actor, data: TimeOffCreate) -> TimeOffRead:
    _get(db, Practitioner, data.practitioner_id, "practitioner")
    row = TimeOff(**data.model_dump())
    db.add(row)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="TimeOff", entity_id=row.id)
    return TimeOffRead.model_validate(row)


def add_holiday(db: Session, actor: Actor, data: HolidayCreate) -> HolidayRead:
    if data.location_id is not None:
        _get(db, Location, data.location_id, "location")
    row = Holiday(**data.model_dump())
    db.add(row)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise Conflict(f"{data.day} is already a holiday there") from None
    record(db, actor, Action.CREATE, entity_type="Holiday", entity_id=row.id)
    return HolidayRead.model_validate(row)


def practitioners(db: Session) -> list[PractitionerRead]:
    rows = db.scalars(select(Practitioner).where(Practitioner.active).order_by(Practitioner.name))
    return [PractitionerRead.model_validate(p) for p in rows]


def locations(db: Session) -> list[LocationRead]:
    rows = db.scalars(select(Location).where(Location.active).order_by(Location.name))
    return [LocationRead.model_validate(p) for p in rows]


def appointment_types(db: Session) -> list[AppointmentTypeRead]:
    rows = db.scalars(
        select(AppointmentType).where(AppointmentType.active).order_by(AppointmentType.name)
    )
    return [AppointmentTypeRead.model_validate(p) for p in rows]


# --- slot search -----------------------------------------------------------------------


@dataclass
class _Calendar:
    """What is known about the window: rules, busy times, holidays, rooms."""

    rules: dict[uuid.UUID, list[AvailabilityRule]]
    busy: dict[uuid.UUID, list[tuple[dt.datetime, dt.datetime]]]
    patient_busy: list[tuple[dt.datetime, dt.datetime]]
    holidays: dict[uuid.UUID | None, list[dt.date]]
    rooms: dict[uuid.UUID, list[Room]]
    room_busy: dict[uuid.UUID, list[tuple[dt.datetime, dt.datetime]]]


def _load_calendar(
    db: Session,
    practitioner_ids: Sequence[uuid.UUID],
    start: dt.datetime,
    end: dt.datetime,
    kind: AppointmentType,
    patient_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    ignore: uuid.UUID | None = None,
) -> _Calendar:
    rules: dict[uuid.UUID, list[AvailabilityRule]] = defaultdict(list)
    rule_query = select(AvailabilityRule).where(
        AvailabilityRule.practitioner_id.in_(practitioner_ids),
        AvailabilityRule.active,
        AvailabilityRule.valid_from <= end.date(),
        or_(AvailabilityRule.valid_until.is_(None), AvailabilityRule.valid_until >= start.date()),
    )
    if location_id is not None:
        rule_query = rule_query.where(AvailabilityRule.location_id == location_id)
    for rule in db.scalars(rule_query):
        rules[rule.practitioner_id].append(rule)
    busy: dict[uuid.UUID, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    holding = select(
        Appointment.practitioner_id, Appointment.starts_at, Appointment.held_until
    ).where(
        Appointment.practitioner_id.in_(practitioner_ids),
        Appointment.status.in_(HOLDING),
        Appointment.starts_at < end,
        Appointment.held_until > start,
    )
    if ignore is not None:  # the appointment being moved does not block itself
        holding = holding.where(Appointment.id != ignore)
    for pid, s, e in db.execute(holding):
        busy[pid].append((s, e))
    for pid, s, e in db.execute(
        select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.practitioner_id.in_(practitioner_ids),
            TimeOff.status == "active",
            TimeOff.starts_at < end,
            TimeOff.ends_at > start,
        )
    ):
        busy[pid].append((s, e))
    patient_busy: list[tuple[dt.datetime, dt.datetime]] = []
    if patient_id is not None:
        patient_busy = [
            (s, e)
            for s, e, aid in db.execute(
                select(Appointment.starts_at, Appointment.ends_at, Appointment.id).where(
                    Appointment.patient_id == patient_id,
                    Appointment.status.in_(HOLDING),
                    Appointment.starts_at < end,
                    Appointment.ends_at > start,
                )
            )
            if aid != ignore
        ]
    holidays: dict[uuid.UUID | None, list[dt.date]] = defaultdict(list)
    for day, loc in db.execute(
        select(Holiday.day, Holiday.location_id).where(
            Holiday.day >= start.date() - dt.timedelta(days=1),
            Holiday.day <= end.date() + dt.timedelta(days=1),
        )
    ):
        holidays[loc].append(day)
    rooms: dict[uuid.UUID, list[Room]] = defaultdict(list)
    room_busy: dict[uuid.UUID, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    if kind.room_kind:
        for room in db.scalars(select(Room).where(Room.kind == kind.room_kind, Room.active)):
            rooms[room.location_id].append(room)
        room_ids = [r.id for rs in rooms.values() for r in rs]
        for rid, s, e, aid in db.execute(
            select(
                Appointment.room_id, Appointment.starts_at, Appointment.held_until, Appointment.id
            ).where(
                Appointment.room_id.in_(room_ids),
                Appointment.status.in_(HOLDING),
                Appointment.starts_at < end,
                Appointment.held_until > start,
            )
        ):
            if rid is not None and aid != ignore:
                room_busy[rid].append((s, e))
    return _Calendar(rules, busy, patient_busy, holidays, rooms, room_busy)


def _candidates(db: Session, q: SlotQuery, kind: AppointmentType) -> list[Practitioner]:
    query = (
        select(Practitioner)
        .join(Offering, Offering.practitioner_id == Practitioner.id)
        .where(Offering.appointment_type_id == kind.id, Practitioner.active)
    )
    if q.practitioner_id is not None:
        query = query.where(Practitioner.id == q.practitioner_id)
    found = list(db.scalars(query.order_by(Practitioner.name)))
    if q.specialty:
        found = [p for p in found if q.specialty in p.specialties]
    if kind.specialties:
        found = [p for p in found if set(kind.specialties) & set(p.specialties)]
    if q.language:
        found = [p for p in found if q.language in p.languages]
    return found


def search_slots(db: Session, q: SlotQuery, *, now: dt.datetime | None = None) -> list[Slot]:
    """Free times for a visit type across every practitioner who offers it, earliest first,
    each explained. The window widens (1, 3, 7 days, then all of it) until ``limit`` times
    are found, so "first available" on a busy clinic reads a few days, not the whole window;
    the answer is the same as searching the whole window at once."""
    for days in (1, 3, 7):
        if days >= q.days:
            break
        found = _search_window(db, q.model_copy(update={"days": days}), now)
        if len(found) >= q.limit:
            return found
    return _search_window(db, q, now)


def _search_window(db: Session, q: SlotQuery, now: dt.datetime | None) -> list[Slot]:
    kind = _get(db, AppointmentType, q.appointment_type_id, "visit type")
    now = now or utcnow()
    first_day = q.start or now.date()
    window_start = max(
        now, dt.datetime.combine(first_day, dt.time(), dt.UTC) - dt.timedelta(hours=14)
    )
    window_end = dt.datetime.combine(
        first_day + dt.timedelta(days=q.days), dt.time(), dt.UTC
    ) + dt.timedelta(hours=14)
    people = _candidates(db, q, kind)
    if not people:
        return []
    places = {loc.id: loc for loc in db.scalars(select(Location))}
    cal = _load_calendar(
        db, [p.id for p in people], window_start, window_end, kind, q.patient_id, q.location_id
    )
    modality = q.modality or kind.modality
    duration = dt.timedelta(minutes=kind.duration_minutes)
    buffer = dt.timedelta(minutes=kind.buffer_minutes)
    found: list[_Candidate] = []
    cutoff: dt.datetime | None = None  # the limit-th earliest time found so far
    for person in people:
        found.extend(
            _slots_for(
                person,
                cal,
                places,
                kind,
                q,
                modality,
                duration,
                buffer,
                window_start,
                window_end,
                first_day,
                cutoff,
            )
        )
        found.sort(key=lambda c: (c.start, c.person.name))
        del found[q.limit :]
        if len(found) == q.limit:
            cutoff = found[-1].start
    # Only the times shown are turned into explained slots.
    return [
        Slot(
            starts_at=c.start,
            ends_at=c.start + duration,
            practitioner_id=c.person.id,
            practitioner_name=c.person.name,
            location_id=c.place.id,
            location_name=c.place.name,
            timezone=c.place.timezone,
            modality=modality,
            room_id=c.room,
            explanation=_explain(c.start, c.place.timezone, c.person.name, c.place.name, modality),
        )
        for c in found
    ]


class _Candidate(NamedTuple):
    start: dt.datetime
    person: Practitioner
    place: Location
    room: uuid.UUID | None


def _slots_for(
    person: Practitioner,
    cal: _Calendar,
    places: dict[uuid.UUID, Location],
    kind: AppointmentType,
    q: SlotQuery,
    modality: str,
    duration: dt.timedelta,
    buffer: dt.timedelta,
    window_start: dt.datetime,
    window_end: dt.datetime,
    first_day: dt.date,
    cutoff: dt.datetime | None,
) -> list[_Candidate]:
    """This practitioner's first free times, stopping at ``cutoff``: times later than the
    earliest ``limit`` already found elsewhere cannot make the list."""
    out: list[_Candidate] = []
    for rule in cal.rules.get(person.id, []):
        taken = 0
        if rule.modalities and modality not in rule.modalities:
            continue
        place = places[rule.location_id]
        zone = place.timezone
        weekly = availability.WeeklyRule(
            rrule=rule.rrule,
            start=rule.start_time,
            end=rule.end_time,
            valid_from=rule.valid_from,
            valid_until=rule.valid_until,
            exdates=tuple(dt.date.fromisoformat(d) for d in rule.exdates),
            zone=zone,
            key=rule.id,
        )
        free = availability.expand(weekly, window_start, window_end)
        closed = cal.holidays.get(None, []) + cal.holidays.get(place.id, [])
        busy = (
            cal.busy.get(person.id, [])
            + cal.patient_busy
            + availability.holiday_blocks(closed, zone)
        )
        free = availability.subtract(free, busy)
        last_day = first_day + dt.timedelta(days=q.days)
        for start in availability.slots(free, duration, buffer, STEP, not_before=window_start):
            if cutoff is not None and start > cutoff:
                break
            day, clock, weekday = availability.local_parts(start, zone)
            if day < first_day or day >= last_day:
                continue
            if q.weekdays and weekday not in q.weekdays:
                continue
            if q.day_part == "morning" and clock >= MORNING_ENDS:
                continue
            if q.day_part == "afternoon" and clock < MORNING_ENDS:
                continue
            room = _free_room(cal, kind, place.id, start, start + duration + buffer)
            if kind.room_kind and room is None:
                continue
            out.append(_Candidate(start, person, place, room))
            taken += 1
            if taken >= q.limit:  # this rule's first times are enough; others may be earlier
                break
    out.sort(key=lambda c: c.start)
    return out[: q.limit]


def _free_room(
    cal: _Calendar,
    kind: AppointmentType,
    location_id: uuid.UUID,
    start: dt.datetime,
    end: dt.datetime,
) -> uuid.UUID | None:
    if not kind.room_kind:
        return None
    for room in cal.rooms.get(location_id, []):
        if all(e <= start or s >= end for s, e in cal.room_busy.get(room.id, [])):
            return room.id
    return None


def _explain(start: dt.datetime, zone: str, person: str, place: str, modality: str) -> str:
    local = start.astimezone(ZoneInfo(zone))
    how = {"video": "video visit", "phone": "phone visit"}.get(modality, "in person")
    where = "" if modality != "in-person" else f" at {place}"
    return f"{local:%a %d %b %Y, %H:%M} ({zone}) with {person}{where}, {how}"


@dataclass(frozen=True)
class WorkingBlock:
    """A stretch of a practitioner's working hours at a location (UTC), for calendars."""

    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime


def working_hours(
    db: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    practitioner_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
) -> list[WorkingBlock]:
    """Working hours within ``[start, end)`` of one practitioner, or of everyone working at
    one location, with holidays and time off taken out; earliest first."""
    query = select(AvailabilityRule).where(
        AvailabilityRule.active,
        AvailabilityRule.valid_from <= end.date(),
        or_(AvailabilityRule.valid_until.is_(None), AvailabilityRule.valid_until >= start.date()),
    )
    if practitioner_id is not None:
        query = query.where(AvailabilityRule.practitioner_id == practitioner_id)
    if location_id is not None:
        query = query.where(AvailabilityRule.location_id == location_id)
    rules = list(db.scalars(query))
    if not rules:
        return []
    people = {r.practitioner_id for r in rules}
    places = {
        p.id: p
        for p in db.scalars(select(Location).where(Location.id.in_({r.location_id for r in rules})))
    }
    closed: dict[uuid.UUID | None, list[dt.date]] = defaultdict(list)
    for day, loc in db.execute(
        select(Holiday.day, Holiday.location_id).where(
            Holiday.day >= start.date() - dt.timedelta(days=1),
            Holiday.day <= end.date() + dt.timedelta(days=1),
        )
    ):
        closed[loc].append(day)
    away: dict[uuid.UUID, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for pid, s, e in db.execute(
        select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.practitioner_id.in_(people),
            TimeOff.status == "active",
            TimeOff.starts_at < end,
            TimeOff.ends_at > start,
        )
    ):
        away[pid].append((s, e))
    found: list[WorkingBlock] = []
    for rule in rules:
        place = places[rule.location_id]
        weekly = availability.WeeklyRule(
            rrule=rule.rrule,
            start=rule.start_time,
            end=rule.end_time,
            valid_from=rule.valid_from,
            valid_until=rule.valid_until,
            exdates=tuple(dt.date.fromisoformat(d) for d in rule.exdates),
            zone=place.timezone,
            key=rule.id,
        )
        blocked = away[rule.practitioner_id] + availability.holiday_blocks(
            closed[None] + closed[place.id], place.timezone
        )
        for s, e in availability.subtract(availability.expand(weekly, start, end), blocked):
            found.append(WorkingBlock(rule.practitioner_id, place.id, s, e))
    found.sort(key=lambda b: (b.starts_at, str(b.practitioner_id)))
    return found


# --- booking ---------------------------------------------------------------------------


def _alternatives(
    db: Session,
    kind_id: uuid.UUID,
    near: dt.datetime,
    patient_id: uuid.UUID | None,
    practitioner_id: uuid.UUID | None = None,
) -> list[dict[str, str]]:
    query = SlotQuery(
        appointment_type_id=kind_id,
        start=near.date(),
        days=14,
        limit=5,
        patient_id=patient_id,
        practitioner_id=practitioner_id,
    )
    slots = search_slots(db, query)
    if not slots and practitioner_id is not None:
        slots = search_slots(db, query.model_copy(update={"practitioner_id": None}))
    return [s.model_dump(mode="json") for s in slots]


def _fits_availability(
    db: Session,
    kind: AppointmentType,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
    start: dt.datetime,
    modality: str,
    patient_id: uuid.UUID,
    ignore: uuid.UUID | None,
) -> str | None:
    """None when the time is bookable, else why not (in words)."""
    end = start + dt.timedelta(minutes=kind.duration_minutes + kind.buffer_minutes)
    cal = _load_calendar(
        db,
        [practitioner_id],
        start - dt.timedelta(days=1),
        end + dt.timedelta(days=1),
        kind,
        patient_id,
        location_id,
        ignore,
    )
    place = _get(db, Location, location_id, "location")
    inside = False
    for rule in cal.rules.get(practitioner_id, []):
        if rule.modalities and modality not in rule.modalities:
            continue
        weekly = availability.WeeklyRule(
            rrule=rule.rrule,
            start=rule.start_time,
            end=rule.end_time,
            valid_from=rule.valid_from,
            valid_until=rule.valid_until,
            exdates=tuple(dt.date.fromisoformat(d) for d in rule.exdates),
            zone=place.timezone,
            key=rule.id,
        )
        for s, e in availability.expand(weekly, start - dt.timedelta(hours=1), end):
            if s <= start and end <= e:
                inside = True
    if not inside:
        return "outside the practitioner's working hours at this location"
    closed = cal.holidays.get(None, []) + cal.holidays.get(location_id, [])
    if any(s < end and start < e for s, e in availability.holiday_blocks(closed, place.timezone)):
        return "the clinic is closed that day"
    if any(s < end and start < e for s, e in cal.busy.get(practitioner_id, [])):
        return "the practitioner is already booked or away at that time"
    visit_end = start + dt.timedelta(minutes=kind.duration_minutes)
    if any(s < visit_end and start < e for s, e in cal.patient_busy):
        return "the patient already has an appointment at that time"
    if kind.room_kind and _free_room(cal, kind, location_id, start, end) is None:
        return f"no {kind.room_kind} room is free at that time"
    return None


def book(db: Session, actor: Actor, settings: Settings, data: BookIn) -> AppointmentRead:
    """Book a visit. Anything that makes the time unavailable is a 409 naming the reason,
    with the nearest alternatives; on PostgreSQL a racing booking that slipped past the
    checks is stopped by the exclusion constraints and answered the same way."""
    kind = _get(db, AppointmentType, data.appointment_type_id, "visit type")
    patient = _get(db, Patient, data.patient_id, "patient")
    person = _get(db, Practitioner, data.practitioner_id, "practitioner")
    if patient.status in ("merged", "deceased"):
        raise ValidationFailed(f"Cannot book for a {patient.status} chart")
    if db.get(Offering, (person.id, kind.id)) is None:
        raise ValidationFailed(
            f"{person.name} does not offer {kind.name}",
            fields={"appointment_type_id": "Choose a visit type this practitioner offers."},
        )
    if data.starts_at <= utcnow():
        raise ValidationFailed(
            "That time is in the past", fields={"starts_at": "Choose a time in the future."}
        )
    modality = data.modality or kind.modality
    problem = _fits_availability(
        db, kind, person.id, data.location_id, data.starts_at, modality, patient.id, None
    )
    if problem is not None:
        raise SlotTaken(
            f"Cannot book: {problem}.",
            extra={
                "alternatives": _alternatives(db, kind.id, data.starts_at, patient.id, person.id)
            },
        )
    appointment = Appointment(
        patient_id=patient.id,
        practitioner_id=person.id,
        location_id=data.location_id,
        appointment_type_id=kind.id,
        starts_at=data.starts_at,
        ends_at=data.starts_at + dt.timedelta(minutes=kind.duration_minutes),
        held_until=data.starts_at
        + dt.timedelta(minutes=kind.duration_minutes + kind.buffer_minutes),
        status="booked",
        modality=modality,
        note=data.note,
        patient_token=new_secret(24),
        room_id=data.room_id or _pick_room(db, kind, data.location_id, data.starts_at),
    )
    if modality == "video":
        appointment.telehealth_token = new_secret(24)
    if modality == "phone":
        phones = [t.value for t in patient.telecoms if t.system == "phone" and t.status == "active"]
        appointment.phone_number = phones[0] if phones else None
    _insert_or_conflict(db, appointment, kind.id, patient.id)
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="Appointment",
        entity_id=appointment.id,
        patient_id=patient.id,
    )
    reminders.plan(db, settings, appointment)
    return read(appointment, settings)


def _pick_room(
    db: Session, kind: AppointmentType, location_id: uuid.UUID, start: dt.datetime
) -> uuid.UUID | None:
    if not kind.room_kind:
        return None
    end = start + dt.timedelta(minutes=kind.duration_minutes + kind.buffer_minutes)
    cal = _load_calendar(db, [], start, end, kind, None, location_id)
    return _free_room(cal, kind, location_id, start, end)


def _insert_or_conflict(
    db: Session, appointment: Appointment, kind_id: uuid.UUID, patient_id: uuid.UUID
) -> None:
    try:
        # Added inside the savepoint, so a refused insert leaves nothing pending behind it.
        with db.begin_nested():
            db.add(appointment)
            db.flush()
    except IntegrityError as exc:
        if "overlap" not in str(exc.orig):
            raise
        raise SlotTaken(
            "Cannot book: someone else booked this time a moment ago.",
            extra={
                "alternatives": _alternatives(
                    db, kind_id, appointment.starts_at, patient_id, appointment.practitioner_id
                )
            },
        ) from None


def _appointment(db: Session, appointment_id: uuid.UUID) -> Appointment:
    return _get(db, Appointment, appointment_id, "appointment")


def _check_version(row: Appointment, version: int) -> None:
    check_version("This appointment", row.version, version)


def reschedule(
    db: Session, actor: Actor, settings: Settings, appointment_id: uuid.UUID, data: RescheduleIn
) -> AppointmentRead:
    row = _appointment(db, appointment_id)
    _check_version(row, data.version)
    if row.status not in ("booked", "pending", "proposed"):
        raise Conflict(f"A {row.status} appointment cannot be moved")
    if data.starts_at <= utcnow():
        raise ValidationFailed(
            "That time is in the past", fields={"starts_at": "Choose a time in the future."}
        )
    kind = _get(db, AppointmentType, row.appointment_type_id, "visit type")
    person_id = data.practitioner_id or row.practitioner_id
    location_id = data.location_id or row.location_id
    if db.get(Offering, (person_id, kind.id)) is None:
        raise ValidationFailed("That practitioner does not offer this visit type")
    problem = _fits_availability(
        db, kind, person_id, location_id, data.starts_at, row.modality, row.patient_id, row.id
    )
    if problem is not None:
        raise SlotTaken(
            f"Cannot move: {problem}.",
            extra={
                "alternatives": _alternatives(
                    db, kind.id, data.starts_at, row.patient_id, person_id
                )
            },
        )
    before = row.starts_at
    row.practitioner_id, row.location_id = person_id, location_id
    row.starts_at = data.starts_at
    row.ends_at = data.starts_at + dt.timedelta(minutes=kind.duration_minutes)
    row.held_until = data.starts_at + dt.timedelta(
        minutes=kind.duration_minutes + kind.buffer_minutes
    )
    row.confirmed_at = None
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        if "overlap" not in str(exc.orig):
            raise
        raise SlotTaken("Cannot move: someone else booked that time a moment ago.") from None
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Appointment",
        entity_id=row.id,
        patient_id=row.patient_id,
        reason=f"rescheduled from {before.isoformat()}",
    )
    reminders.plan(db, settings, row)
    return read(row, settings)


def cancel(
    db: Session, actor: Actor, settings: Settings, appointment_id: uuid.UUID, data: CancelIn
) -> AppointmentRead:
    row = _appointment(db, appointment_id)
    _check_version(row, data.version)
    if "cancelled" not in TRANSITIONS.get(row.status, ()):
        raise Conflict(f"A {row.status} appointment cannot be cancelled")
    row.status = "cancelled"
    row.cancel_reason = data.reason
    row.cancel_note = data.note
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Appointment",
        entity_id=row.id,
        patient_id=row.patient_id,
        reason=f"cancelled: {CANCEL_REASONS[data.reason]}",
    )
    reminders.cancel_pending(db, row)
    from carebridge.scheduling import waitlist  # imports this module

    waitlist.offer_freed_slot(db, actor, settings, row)
    return read(row, settings)


def set_status(
    db: Session, actor: Actor, settings: Settings, appointment_id: uuid.UUID, data: StatusIn
) -> AppointmentRead:
    row = _appointment(db, appointment_id)
    _check_version(row, data.version)
    if data.status not in TRANSITIONS.get(row.status, ()):
        raise Conflict(f"A {row.status} appointment cannot become {data.status}")
    zone = ZoneInfo(_get(db, Location, row.location_id, "location").timezone)
    local_day = row.starts_at.astimezone(zone).date()
    if data.status in ("arrived", "checked-in", "fulfilled", "noshow") and (
        local_day > utcnow().astimezone(zone).date()
    ):
        raise ValidationFailed(f"Cannot mark an appointment {data.status} before its day")
    if data.status == "booked":  # undoing a no-show takes the time back: it must still be free
        kind = _get(db, AppointmentType, row.appointment_type_id, "visit type")
        problem = _fits_availability(
            db,
            kind,
            row.practitioner_id,
            row.location_id,
            row.starts_at,
            row.modality,
            row.patient_id,
            row.id,
        )
        if problem is not None:
            raise SlotTaken(f"Cannot restore the booking: {problem}.")
    row.status = data.status
    now = utcnow()
    if data.status == "arrived":
        row.arrived_at = now
    if data.status == "checked-in":
        row.checked_in_at = now
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        if "overlap" not in str(exc.orig):
            raise
        raise SlotTaken("Cannot restore the booking: the time was booked again.") from None
    if data.status != "booked":  # the visit happened (or not): no more reminders for it
        reminders.cancel_pending(db, row)
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Appointment",
        entity_id=row.id,
        patient_id=row.patient_id,
        reason=f"status {data.status}",
    )
    return read(row, settings)


def get(
    db: Session, actor: Actor, settings: Settings, appointment_id: uuid.UUID
) -> AppointmentRead:
    row = _appointment(db, appointment_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type="Appointment",
        entity_id=row.id,
        patient_id=row.patient_id,
    )
    return read(row, settings)


def read(row: Appointment, settings: Settings) -> AppointmentRead:
    join = (
        settings.telehealth_url_template.replace("{token}", row.telehealth_token)
        if row.telehealth_token
        else None
    )
    return read_appointment(row, join)


def for_patient(
    db: Session, actor: Actor, settings: Settings, patient_id: uuid.UUID
) -> list[AppointmentRead]:
    rows = db.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient_id)
        .order_by(Appointment.starts_at.desc())
    )
    record(db, actor, Action.READ, entity_type="Appointment", patient_id=patient_id)
    return [read(r, settings) for r in rows]


def calendar(
    db: Session,
    actor: Actor,
    settings: Settings,
    *,
    start: dt.datetime,
    end: dt.datetime,
    practitioner_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
) -> list[AppointmentRead]:
    """Appointments in a window for one practitioner or one location (calendar views)."""
    query = select(Appointment).where(
        Appointment.starts_at < end,
        Appointment.ends_at > start,
        Appointment.status != "entered-in-error",
    )
    if practitioner_id is not None:
        query = query.where(Appointment.practitioner_id == practitioner_id)
    if location_id is not None:
        query = query.where(Appointment.location_id == location_id)
    rows = [read(r, settings) for r in db.scalars(query.order_by(Appointment.starts_at))]
    for patient_id in dict.fromkeys(r.patient_id for r in rows):  # each patient shown, once
        record(db, actor, Action.READ, entity_type="Calendar", patient_id=patient_id)
    return rows
