"""Demo social needs screenings: the AHC HRSN answered by several demo patients over the past
year and a half, with a fixed seed. Most screen negative; some are positive with open needs
(housing, food and transportation, utilities, safety at a total of 11 or more), one need is
already addressed, and two patients are due to be screened again (screened 14 months ago,
and positive 8 months ago)."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.db.history import ACTOR_KEY
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.social import service
from carebridge.social.models import Screening
from carebridge.social.schemas import NeedUpdate, ScreeningCreate

COORDINATOR = "coordinator"
PATIENTS = 16

NEGATIVE: dict[str, list[str]] = {
    "71802-3": ["LA31993-1"],
    "96778-6": ["LA9-3"],
    "88122-7": ["LA28398-8"],
    "88123-5": ["LA28398-8"],
    "93030-5": ["LA32-8"],
    "96779-4": ["LA32-8"],
    "95618-5": ["LA6270-8"],
    "95617-7": ["LA6270-8"],
    "95616-9": ["LA6270-8"],
    "95615-1": ["LA6270-8"],
}
# What makes each profile positive, over the negative answers.
PROFILES: dict[str, dict[str, list[str]]] = {
    "negative": {},
    "housing": {"71802-3": ["LA31994-9"], "96778-6": ["LA28580-1", "LA32001-2"]},
    "food-transport": {"88122-7": ["LA6729-3"], "88123-5": ["LA6729-3"], "93030-5": ["LA33-6"]},
    "utilities": {"96779-4": ["LA33-6"]},
    "safety": {  # 3 + 4 + 2 + 3 = 12
        "95618-5": ["LA10082-8"],
        "95617-7": ["LA16644-9"],
        "95616-9": ["LA10066-1"],
        "95615-1": ["LA10082-8"],
    },
    "homeless-food": {"71802-3": ["LA31995-6"], "88122-7": ["LA28397-0"]},
}


def _actor(db: Session) -> Actor:
    user = db.scalar(select(User).where(User.username == COORDINATOR))
    if user is None:
        return Actor.system("demo")
    return Actor(user_id=user.id, username=user.username, role=user.role)


def seed(
    db: Session, *, seed: int = 1, zone: str = "America/Chicago", now: dt.datetime | None = None
) -> int | None:
    """The screenings, once (None when there are screenings already or no patients); how
    many were made. The same seed gives the same data."""
    if db.scalar(select(func.count()).select_from(Screening)):
        return None
    patients = list(
        db.scalars(
            select(Patient.id)
            .where(Patient.status == "active")
            .order_by(Patient.mrn)
            .limit(PATIENTS)
        )
    )
    if not patients:
        return None
    rng = random.Random(f"carebridge-social:{seed}")  # noqa: S311 - demo data
    now = now or utcnow()
    actor = _actor(db)
    earlier = db.info.get(ACTOR_KEY)
    db.info[ACTOR_KEY] = actor.user_id
    made = 0
    try:
        for i, patient_id in enumerate(patients):
            if i == 0:  # due: screened 14 months ago, negative
                plan = [("negative", 425)]
            elif i == 1:  # due: positive 8 months ago, needs still open
                plan = [("food-transport", 240)]
            elif i == 2:  # negative a year and a half ago, housing now
                plan = [("negative", 540), ("housing", 12)]
            else:
                profile = rng.choices(list(PROFILES), weights=(10, 2, 2, 1, 1, 1))[0]
                plan = [(profile, rng.randrange(3, 150))]
            for profile, days_ago in plan:
                answers = {**NEGATIVE, **PROFILES[profile]}
                data = ScreeningCreate(
                    answers=dict(answers),
                    respondent="caregiver" if rng.random() < 0.2 else "patient",
                    mode="phone" if rng.random() < 0.4 else "in-person",
                    language=rng.choices(("en", "es"), weights=(3, 1))[0],
                )
                when = now - dt.timedelta(days=days_ago, hours=rng.randrange(0, 6))
                service.create(db, actor, patient_id, data, zone, now=when)
                made += 1
                if profile == "utilities":  # the shut-off was sorted out with the company
                    for need in service.open_needs(db, patient_id):
                        if need.domain == "utilities":
                            service.update_need(
                                db,
                                actor,
                                need.id,
                                NeedUpdate(version=need.version, status="addressed"),
                                zone,
                            )
        db.flush()
    finally:
        db.info[ACTOR_KEY] = earlier
    return made
