"""Demo rides: transport requested by the demo coordinator for about one in five upcoming
in-person appointments of the demo schedule, most confirmed with a ride company or the
Medicaid transport broker, some still only requested, one cancelled, and one still
unconfirmed within 48 hours of pickup so the rides board flags it and the worklist has the
task the worker would raise.

Everything goes through ``transport.service``, so each ride's history and audit trail look
like real use. The same seed gives the same rides.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.db.history import ACTOR_KEY
from carebridge.lib.time import utcnow
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.settings import Settings
from carebridge.transport import codes, service
from carebridge.transport.models import Ride
from carebridge.transport.schemas import RideCreate, RideTransition

COORDINATOR = "coordinator"
SHARE = 0.2
MOST = 30
COMPANIES = (
    "MTM Medicaid NEMT (Illinois broker)",
    "ModivCare",
    "Lakeside Wheelchair Transport",
    "Metro Access Paratransit",
    "Windy City Medical Rides",
)
MOBILITY_MIX = (
    ("ambulatory", 0.40),
    ("assisted", 0.20),
    ("wheelchair", 0.28),
    ("bariatric", 0.04),
    ("stretcher", 0.08),
)
NOTES = (
    None,
    "Ring the bell twice; patient is hard of hearing.",
    "Uses portable oxygen.",
    "Service dog rides along.",
    "Pick up at the side entrance (ramp).",
    None,
    "Call the daughter 10 minutes before arriving.",
)
# The visit left unconfirmed: its pickup (an hour before) falls within the next 48 hours.
SOON = dt.timedelta(hours=codes.UNCONFIRMED_WARNING_HOURS)
CAREGIVERS = ("Luis Garcia", "Ana Morales", "James Carter", "Keisha Brown", "Tom Nowak")


@dataclass(frozen=True)
class RidesSeeded:
    rides: int
    confirmed: int
    unconfirmed_soon: int
    tasks: int


def _mobility(rng: random.Random) -> str:
    return rng.choices([m for m, _ in MOBILITY_MIX], [w for _, w in MOBILITY_MIX])[0]


def _details(rng: random.Random, mobility: str | None = None) -> RideCreate:
    escort = "caregiver" if rng.random() < 0.25 else "none"
    return RideCreate(
        mobility=mobility or _mobility(rng),
        escort=escort,
        escort_name=rng.choice(CAREGIVERS) if escort == "caregiver" else None,
        notes=rng.choice(NOTES),
        buffer_minutes=rng.choice((45, 60, 60, 60, 75, 90)),
        return_ride=rng.random() < 0.7,
        provider=rng.choice(COMPANIES) if rng.random() < 0.6 else None,
    )


def seed(
    db: Session, settings: Settings, *, seed: int = 1, now: dt.datetime | None = None
) -> RidesSeeded | None:
    """The rides, once (None when there are rides already or no upcoming in-person visit)."""
    if db.scalar(select(func.count()).select_from(Ride)):
        return None
    now = now or utcnow()
    rng = random.Random(f"carebridge-rides:{seed}")  # noqa: S311 - demo data
    visits = list(
        db.scalars(
            select(Appointment)
            .where(
                Appointment.status.in_(service.UPCOMING_VISIT),
                Appointment.modality == "in-person",
                Appointment.starts_at > now + dt.timedelta(hours=4),
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )
    if not visits:
        return None
    user = db.scalar(select(User).where(User.username == COORDINATOR))
    actor = (
        Actor(user_id=user.id, username=user.username, role=user.role)
        if user is not None
        else Actor.system("demo")
    )
    # One visit the day after tomorrow-ish stays unconfirmed within 48 hours of pickup.
    soon = next((v for v in visits if v.starts_at <= now + SOON), None)
    chosen = [v for v in visits if v is not soon and rng.random() < SHARE][: MOST - 1]
    earlier = db.info.get(ACTOR_KEY)
    db.info[ACTOR_KEY] = actor.user_id
    confirmed = 0
    try:
        if soon is not None:
            service.create(db, actor, settings, soon.id, _details(rng, "wheelchair"))
        for i, visit in enumerate(chosen):
            ride = service.create(db, actor, settings, visit.id, _details(rng))
            roll = rng.random()
            if visit.starts_at < now + dt.timedelta(hours=72):
                roll = 0.0  # only the one chosen above waits unconfirmed this close
            if roll < 0.62:
                provider = ride.provider or rng.choice(COMPANIES)
                service.transition(
                    db,
                    actor,
                    settings,
                    ride.id,
                    RideTransition(
                        action="confirm",
                        version=ride.version,
                        provider=provider,
                        confirmation_number=f"{provider[:3].upper()}-{rng.randint(10000, 99999)}",
                    ),
                )
                confirmed += 1
            elif i == 3 or roll > 0.95:
                service.transition(
                    db,
                    actor,
                    settings,
                    ride.id,
                    RideTransition(
                        action="cancel",
                        version=ride.version,
                        reason="Family member will drive the patient.",
                    ),
                )
    finally:
        db.info[ACTOR_KEY] = earlier
    # What the worker would raise on its next pass, so the worklist shows it now.
    raised = service.run_timers(db, settings, now)
    total = len(chosen) + (1 if soon is not None else 0)
    return RidesSeeded(total, confirmed, 1 if soon is not None else 0, raised.raised)
