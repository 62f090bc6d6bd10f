"""The tables of transport: a ride requested for an appointment.

A ride keeps its history of changes (``__versioned__``). Its pickup time is derived from
the appointment (start minus the travel buffer) and stored so the board and the timer can
query it; the listener below keeps it current when the appointment moves, and cancels the
ride when the appointment is cancelled, in the same flush as the appointment's change,
whichever screen, API or link made it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk
from carebridge.db.history import ACTOR_KEY
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Action, Actor, record
from carebridge.transport.codes import OPEN_STATUSES

# Appointment statuses that end the ride's purpose.
ENDED_VISIT = ("cancelled", "entered-in-error")


class Ride(UuidPk, Tracked, Base):
    """Transport to (and, with ``return_ride``, back from) an appointment."""

    __tablename__ = "rides"
    __versioned__ = True
    __table_args__ = (
        Index("ix_rides_status_pickup", "status", "pickup_at"),
        Index("ix_rides_patient", "patient_id", "pickup_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"), index=True)
    pickup_address: Mapped[str] = mapped_column(String(300))
    mobility: Mapped[str] = mapped_column(String(16))  # codes.MOBILITY
    escort: Mapped[str] = mapped_column(String(12), default="none")  # codes.ESCORTS
    escort_name: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)
    buffer_minutes: Mapped[int]
    pickup_at: Mapped[dt.datetime]
    return_ride: Mapped[bool] = mapped_column(Boolean, default=False)
    provider: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="requested")
    confirmation_number: Mapped[str | None] = mapped_column(String(64))
    status_reason: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[dt.datetime | None]


@event.listens_for(Session, "before_flush")
def _follow_appointments(session: Session, _ctx: object, _instances: object) -> None:
    """A moved appointment moves its open rides' pickup; a cancelled one cancels them."""
    changed = []
    for obj in session.dirty:
        if not isinstance(obj, Appointment):
            continue
        state = inspect(obj)
        moved = state.attrs.starts_at.history.has_changes()
        ended = state.attrs.status.history.has_changes() and obj.status in ENDED_VISIT
        if moved or ended:
            changed.append((obj, ended))
    if not changed:
        return
    with session.no_autoflush:
        for visit, ended in changed:
            rides = session.scalars(
                select(Ride).where(Ride.appointment_id == visit.id, Ride.status.in_(OPEN_STATUSES))
            ).all()
            for ride in rides:
                ride.updated_by = session.info.get(ACTOR_KEY)
                if ended:
                    ride.status = "cancelled"
                    ride.status_reason = f"The appointment was {visit.status}."
                    what = "cancelled with its appointment"
                else:
                    ride.pickup_at = visit.starts_at - dt.timedelta(minutes=ride.buffer_minutes)
                    what = f"pickup moved to {ride.pickup_at.isoformat()} with its appointment"
                record(
                    session,
                    Actor.system("transport"),
                    Action.UPDATE,
                    entity_type="Ride",
                    entity_id=ride.id,
                    patient_id=ride.patient_id,
                    reason=what,
                )
