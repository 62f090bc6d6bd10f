"""Recurring series: visits booked together from an RFC 5545 RRULE (physical therapy on
Tuesdays and Thursdays, twelve times).

``preview`` is the conflict report: every occurrence with whether it can be booked, why not,
and up to three other times the same week. ``book_series`` books every occurrence through
``service.book`` (so each obeys the same rules as a single booking) in one savepoint: if any
occurrence cannot be booked, nothing is, and the report says which. Once booked, each visit is an
ordinary appointment carrying ``series_id``; changing one is a reschedule or a cancel of it."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.errors import AppError, Conflict, ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.scheduling import availability, service
from carebridge.scheduling.models import (
    Appointment,
    AppointmentSeries,
    AppointmentType,
    Location,
    Offering,
    Practitioner,
)
from carebridge.scheduling.schemas import BookIn, Slot, SlotQuery
from carebridge.scheduling.waitlist_schemas import (
    MAX_OCCURRENCES,
    Occurrence,
    SeriesBooked,
    SeriesBookIn,
    SeriesDetail,
    SeriesPreview,
    SeriesQuery,
    SeriesRead,
)
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings

ALTERNATIVES = 3


class SeriesNotBooked(Conflict):
    code = "series-not-booked"
    title = "The series could not be booked"


@dataclass
class _Plan:
    rrule: str
    zone: str
    first_start: dt.datetime
    kind: AppointmentType
    modality: str
    occurrences: list[Occurrence]


def _local_first_start(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first start as a naive local wall-clock time (the RRULE's floating DTSTART)."""
    if value.tzinfo is not None:
        value = value.astimezone(tz)
    return value.replace(tzinfo=None, second=0, microsecond=0)


def _rule(q: SeriesQuery, first: dt.datetime) -> tuple[str, list[dt.datetime]]:
    """The normalized rule and its local (naive) occurrence starts."""
    normalized = availability.parse_rrule(q.rrule, valid_from=first.date())
    parts = {name: value for name, _, value in (p.partition("=") for p in normalized.split(";"))}
    if "COUNT" not in parts and "UNTIL" not in parts:
        message = "A series needs an end: give COUNT (visits) or UNTIL (last local date)"
        raise ValidationFailed(message, fields={"rrule": message})
    expanded = normalized
    if "UNTIL" in parts and "T" not in parts["UNTIL"]:  # a date: the whole last day counts
        expanded = normalized.replace(f"UNTIL={parts['UNTIL']}", f"UNTIL={parts['UNTIL']}T235959")
    compiled = dateutil_rrule.rrulestr(expanded, dtstart=first)
    assert isinstance(compiled, dateutil_rrule.rrule)
    starts = list(itertools.islice(compiled, MAX_OCCURRENCES + 1))
    if len(starts) > MAX_OCCURRENCES:
        message = f"A series has at most {MAX_OCCURRENCES} visits; this rule gives more"
        raise ValidationFailed(message, fields={"rrule": message})
    if not starts:
        message = "The rule gives no visit on or after the first start"
        raise ValidationFailed(message, fields={"rrule": message})
    return normalized, starts


def _shown(moment: dt.datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%a %d %b %Y %H:%M}"


def _plan(db: Session, q: SeriesQuery, now: dt.datetime) -> _Plan:
    kind = service._get(db, AppointmentType, q.appointment_type_id, "visit type")
    patient = service._get(db, Patient, q.patient_id, "patient")
    person = service._get(db, Practitioner, q.practitioner_id, "practitioner")
    place = service._get(db, Location, q.location_id, "location")
    if patient.status in ("merged", "deceased"):
        raise ValidationFailed(f"Cannot book for a {patient.status} chart")
    if db.get(Offering, (person.id, kind.id)) is None:
        raise ValidationFailed(
            f"{person.name} does not offer {kind.name}",
            fields={"appointment_type_id": "Choose a visit type this practitioner offers."},
        )
    tz = ZoneInfo(place.timezone)
    first = _local_first_start(q.first_start, tz)
    normalized, local_starts = _rule(q, first)
    count = len(local_starts)
    wrong = sorted(i for i in [*q.overrides, *q.skip] if not 0 <= i < count)
    if wrong:
        message = f"Occurrence indexes run from 0 to {count - 1}; {wrong} is not one of them"
        raise ValidationFailed(message, fields={"overrides": message})
    modality = q.modality or kind.modality
    occurrences: list[Occurrence] = []
    for index, local in enumerate(local_starts):
        start = q.overrides.get(index) or local.replace(tzinfo=tz).astimezone(dt.UTC)
        occurrences.append(
            Occurrence(
                index=index,
                starts_at=start,
                local_start=_shown(start, tz),
                status="ok",
                overridden=index in q.overrides,
            )
        )
    held = dt.timedelta(minutes=kind.duration_minutes + kind.buffer_minutes)
    for occ in occurrences:
        if occ.index in q.skip:
            occ.status, occ.reason = "skipped", "left out on request"
        elif occ.starts_at <= now:
            occ.status, occ.reason = "past", "that time is in the past"
        else:
            occ.reason = service._fits_availability(
                db, kind, person.id, place.id, occ.starts_at, modality, patient.id, None
            ) or _overlap(occ, occurrences, held)
            if occ.reason is not None:
                occ.status = "conflict"
    for occ in occurrences:
        if occ.status == "conflict":
            occ.alternatives = _alternatives(db, q, occ, occurrences, held, tz, now)
    return _Plan(
        rrule=normalized,
        zone=place.timezone,
        first_start=local_starts[0].replace(tzinfo=tz).astimezone(dt.UTC),
        kind=kind,
        modality=modality,
        occurrences=occurrences,
    )


def _overlap(occ: Occurrence, planned: list[Occurrence], held: dt.timedelta) -> str | None:
    """Two visits of one series at overlapping times (an override can make them so)."""
    for other in planned:
        if other.index >= occ.index or other.status != "ok":
            continue
        if other.starts_at < occ.starts_at + held and occ.starts_at < other.starts_at + held:
            return f"it overlaps visit {other.index} of this series ({other.local_start})"
    return None


def _alternatives(
    db: Session,
    q: SeriesQuery,
    occ: Occurrence,
    planned: list[Occurrence],
    held: dt.timedelta,
    tz: ZoneInfo,
    now: dt.datetime,
) -> list[Slot]:
    """Up to three free times with the same practitioner and location in the occurrence's
    (local, Monday-to-Sunday) week that clash with no other visit of the series."""
    day = occ.starts_at.astimezone(tz).date()
    monday = day - dt.timedelta(days=day.isoweekday() - 1)
    first = max(monday, now.astimezone(tz).date())
    days = (monday + dt.timedelta(days=7) - first).days
    if days < 1:
        return []
    others = [o.starts_at for o in planned if o.index != occ.index and o.status == "ok"]
    found = service.search_slots(
        db,
        SlotQuery(
            appointment_type_id=q.appointment_type_id,
            practitioner_id=q.practitioner_id,
            location_id=q.location_id,
            modality=q.modality,
            start=first,
            days=days,
            patient_id=q.patient_id,
            limit=ALTERNATIVES + len(others),
        ),
        now=now,
    )
    free = [
        slot
        for slot in found
        if all(not (s < slot.starts_at + held and slot.starts_at < s + held) for s in others)
    ]
    return free[:ALTERNATIVES]


def preview(db: Session, q: SeriesQuery, *, now: dt.datetime | None = None) -> SeriesPreview:
    """The conflict report of a series before it is booked."""
    plan = _plan(db, q, now or utcnow())
    return SeriesPreview(
        rrule=plan.rrule,
        timezone=plan.zone,
        occurrences=plan.occurrences,
        bookable=sum(o.status == "ok" for o in plan.occurrences),
        conflicts=sum(o.status == "conflict" for o in plan.occurrences),
    )


def book_series(db: Session, actor: Actor, settings: Settings, data: SeriesBookIn) -> SeriesBooked:
    """Book the series, all or nothing. Past and skipped occurrences are left out, and with
    ``on_conflict="skip"`` so are those the preview shows in conflict; every other occurrence
    is booked through ``service.book``. Any refusal undoes the lot and is a 409 whose
    ``occurrences`` say which visits failed and why, with alternatives."""
    plan = _plan(db, data, utcnow())
    tz = ZoneInfo(plan.zone)
    wanted: list[Occurrence] = []
    for occ in plan.occurrences:
        if occ.status == "conflict" and data.on_conflict == "skip":
            occ.status, occ.reason = "skipped", f"left out: {occ.reason}"
        if occ.status in ("ok", "conflict"):
            wanted.append(occ)
    if not wanted:
        raise ValidationFailed(
            "Nothing to book: every occurrence is past or left out",
            extra={"occurrences": [o.model_dump(mode="json") for o in plan.occurrences]},
        )
    savepoint = db.begin_nested()
    series = AppointmentSeries(
        patient_id=data.patient_id,
        appointment_type_id=data.appointment_type_id,
        practitioner_id=data.practitioner_id,
        rrule=plan.rrule,
        first_start=plan.first_start,
        note=data.note,
        status="active",
    )
    db.add(series)
    db.flush()
    booked: list[Appointment] = []
    failed: list[Occurrence] = []
    for occ in wanted:
        try:
            made = service.book(
                db,
                actor,
                settings,
                BookIn(
                    patient_id=data.patient_id,
                    appointment_type_id=data.appointment_type_id,
                    practitioner_id=data.practitioner_id,
                    location_id=data.location_id,
                    starts_at=occ.starts_at,
                    modality=data.modality,
                    note=data.note,
                ),
            )
        except AppError as exc:
            if occ.status != "conflict":  # refused although the plan found it free
                occ.status, occ.reason = "conflict", exc.detail
                occ.alternatives = [
                    Slot.model_validate(a) for a in exc.extra.get("alternatives", [])
                ][:ALTERNATIVES]
            failed.append(occ)
            continue
        row = db.get(Appointment, made.id)
        assert row is not None
        row.series_id = series.id
        booked.append(row)
        occ.status, occ.appointment_id = "booked", row.id
    if failed:
        savepoint.rollback()
        for occ in wanted:
            if occ.status == "booked":
                occ.status, occ.appointment_id = "ok", None
        listed = "; ".join(f"visit {o.index} ({o.local_start}): {o.reason}" for o in failed)
        raise SeriesNotBooked(
            f"Nothing was booked: {len(failed)} of {len(wanted)} visits cannot be booked. "
            + listed,
            extra={"occurrences": [o.model_dump(mode="json") for o in plan.occurrences]},
        )
    db.flush()
    savepoint.commit()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="AppointmentSeries",
        entity_id=series.id,
        patient_id=series.patient_id,
        reason=f"{len(booked)} visits, {plan.rrule}, first {_shown(plan.first_start, tz)}",
    )
    return SeriesBooked(
        series=SeriesRead.model_validate(series),
        occurrences=plan.occurrences,
        appointments=[service.read(row, settings) for row in booked],
    )


def get(db: Session, actor: Actor, settings: Settings, series_id: uuid.UUID) -> SeriesDetail:
    series = service._get(db, AppointmentSeries, series_id, "series")
    rows = db.scalars(
        select(Appointment)
        .where(Appointment.series_id == series.id)
        .order_by(Appointment.starts_at)
    )
    record(
        db,
        actor,
        Action.READ,
        entity_type="AppointmentSeries",
        entity_id=series.id,
        patient_id=series.patient_id,
    )
    return SeriesDetail(
        series=SeriesRead.model_validate(series),
        appointments=[service.read(row, settings) for row in rows],
    )
