"""Access measures, computed on demand: third-next-available, no-show rate and lead time.

* Third-next-available (TNAA): calendar days from today to the practitioner's third free time
  for a visit type within the next 62 days, in the free time's location zone; the third rather
  than the first, so one chance cancellation does not flatter the figure.
* No-show rate: no-shows among past visits that started in the period, over no-shows plus
  visits that took place (fulfilled, arrived, checked-in).
* Lead time: median days from booking (``created_at``) to the visit, over appointments
  created in the period that kept their time (booked, arrived, checked in, fulfilled, no-show).

Period bounds are local dates in the clinic's zone (``Settings.timezone``), both inclusive.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.lib.errors import ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.scheduling import service
from carebridge.scheduling.models import Appointment, AppointmentType, Offering, Practitioner
from carebridge.scheduling.schemas import MAX_WINDOW_DAYS, Slot, SlotQuery
from carebridge.scheduling.waitlist_schemas import (
    AccessMeasures,
    LeadTime,
    NoShowRate,
    PractitionerMeasures,
    ThirdNextAvailable,
)
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings

TNAA_WINDOW_DAYS = MAX_WINDOW_DAYS  # 62
# Searched a week at a time: search_slots caps the times it generates per practitioner, so
# one long search could miss an early time of a second working-hours rule.
TNAA_STEP_DAYS = 7
ATTENDED = ("fulfilled", "arrived", "checked-in")
LEAD_STATUSES = ("booked", "arrived", "checked-in", "fulfilled", "noshow")
MAX_PERIOD_DAYS = 731


def _next_free(
    db: Session, practitioner_id: uuid.UUID, kind_id: uuid.UUID, now: dt.datetime, wanted: int
) -> list[Slot]:
    """The practitioner's first ``wanted`` free times for the visit type in the window."""
    found: list[Slot] = []
    first_day = now.date()
    offset = 0
    while offset < TNAA_WINDOW_DAYS and len(found) < wanted:
        days = min(TNAA_STEP_DAYS, TNAA_WINDOW_DAYS - offset)
        found.extend(
            service.search_slots(
                db,
                SlotQuery(
                    appointment_type_id=kind_id,
                    practitioner_id=practitioner_id,
                    start=first_day + dt.timedelta(days=offset),
                    days=days,
                    limit=200,
                ),
                now=now,
            )
        )
        offset += days
    found.sort(key=lambda s: s.starts_at)
    return found[:wanted]


def third_next_available(
    db: Session, practitioner_id: uuid.UUID, kind: AppointmentType, now: dt.datetime
) -> ThirdNextAvailable:
    slots = _next_free(db, practitioner_id, kind.id, now, 3)
    if len(slots) < 3:
        return ThirdNextAvailable(
            appointment_type_id=kind.id,
            appointment_type_name=kind.name,
            days=None,
            third_slot_at=None,
        )
    third = slots[2]
    tz = ZoneInfo(third.timezone)
    days = (third.starts_at.astimezone(tz).date() - now.astimezone(tz).date()).days
    return ThirdNextAvailable(
        appointment_type_id=kind.id,
        appointment_type_name=kind.name,
        days=days,
        third_slot_at=third.starts_at,
    )


def _bounds(settings: Settings, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if end < start:
        raise ValidationFailed("end is before start", fields={"end": "Choose a later day."})
    if (end - start).days > MAX_PERIOD_DAYS:
        message = f"A period of at most {MAX_PERIOD_DAYS} days"
        raise ValidationFailed(message, fields={"start": message})
    tz = ZoneInfo(settings.timezone)
    low = dt.datetime.combine(start, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return low, high.astimezone(dt.UTC)


def no_show_rates(
    db: Session, low: dt.datetime, high: dt.datetime, now: dt.datetime
) -> dict[uuid.UUID, NoShowRate]:
    counts: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    rows = db.execute(
        select(Appointment.practitioner_id, Appointment.status, func.count())
        .where(
            Appointment.starts_at >= low,
            Appointment.starts_at < min(high, now),
            Appointment.status.in_((*ATTENDED, "noshow")),
        )
        .group_by(Appointment.practitioner_id, Appointment.status)
    )
    for pid, status, n in rows:
        counts[pid][status] += n
    out: dict[uuid.UUID, NoShowRate] = {}
    for pid, c in counts.items():
        attended = sum(c[s] for s in ATTENDED)
        total = attended + c["noshow"]
        out[pid] = NoShowRate(
            noshow=c["noshow"],
            attended=attended,
            rate=round(c["noshow"] / total, 4) if total else None,
        )
    return out


def lead_times(db: Session, low: dt.datetime, high: dt.datetime) -> dict[uuid.UUID, LeadTime]:
    waits: dict[uuid.UUID, list[float]] = defaultdict(list)
    rows = db.execute(
        select(Appointment.practitioner_id, Appointment.created_at, Appointment.starts_at).where(
            Appointment.created_at >= low,
            Appointment.created_at < high,
            Appointment.status.in_(LEAD_STATUSES),
        )
    )
    for pid, created, starts in rows:
        waits[pid].append((starts - created).total_seconds() / 86400)
    return {
        pid: LeadTime(appointments=len(days), median_days=round(statistics.median(days), 1))
        for pid, days in waits.items()
    }


def access(
    db: Session,
    actor: Actor,
    settings: Settings,
    *,
    start: dt.date,
    end: dt.date,
    practitioner_id: uuid.UUID | None = None,
    appointment_type_id: uuid.UUID | None = None,
    now: dt.datetime | None = None,
) -> AccessMeasures:
    """Every active practitioner's (or one's) measures: TNAA per visit type offered, no-show
    rate and lead time over the period."""
    now = now or utcnow()
    low, high = _bounds(settings, start, end)
    query = select(Practitioner).where(Practitioner.active)
    if practitioner_id is not None:
        query = query.where(Practitioner.id == practitioner_id)
    people = list(db.scalars(query.order_by(Practitioner.name)))
    offered: dict[uuid.UUID, list[AppointmentType]] = defaultdict(list)
    kinds = (
        select(Offering.practitioner_id, AppointmentType)
        .join(AppointmentType, AppointmentType.id == Offering.appointment_type_id)
        .where(AppointmentType.active, Offering.practitioner_id.in_([p.id for p in people]))
        .order_by(AppointmentType.name)
    )
    if appointment_type_id is not None:
        kinds = kinds.where(AppointmentType.id == appointment_type_id)
    for pid, kind in db.execute(kinds):
        offered[pid].append(kind)
    noshow = no_show_rates(db, low, high, now)
    lead = lead_times(db, low, high)
    record(db, actor, Action.READ, entity_type="AccessMeasures", reason=f"{start}..{end}")
    return AccessMeasures(
        start=start,
        end=end,
        computed_at=now,
        window_days=TNAA_WINDOW_DAYS,
        practitioners=[
            PractitionerMeasures(
                practitioner_id=p.id,
                practitioner_name=p.name,
                third_next_available=[
                    third_next_available(db, p.id, kind, now) for kind in offered[p.id]
                ],
                no_show=noshow.get(p.id, NoShowRate(noshow=0, attended=0, rate=None)),
                lead_time=lead.get(p.id, LeadTime(appointments=0, median_days=None)),
            )
            for p in people
        ],
    )
