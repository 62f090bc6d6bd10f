"""Demo education: the starter library, and handouts given to some of the demo patients who
have a care plan — some printed, some waiting, most with a teach-back recorded (understood,
or needs review with what was hard).

Everything goes through ``education.service``, as a coordinator's work would, so the care
plans show the education activities and the audit trail looks like real use.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.careplans.models import CarePlan
from carebridge.db.history import ACTOR_KEY
from carebridge.education import service, starter
from carebridge.education.models import EducationAssignment
from carebridge.education.schemas import AssignmentCreate, Delivery, TeachBack
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from carebridge.security.models import User

COORDINATOR = "coordinator"
ASSIGNED = 12
NEEDS_REVIEW = (
    "Mixed up the morning and evening pills; go over the pill box again.",
    "Not sure when to call about weight gain; review the numbers with her daughter.",
    "Could not say what the A1C test shows; explain again at the next visit.",
)


@dataclass(frozen=True)
class EducationSeeded:
    materials_added: int
    assignments: int
    teach_backs: int


def seed(db: Session, *, seed: int = 1, today: dt.date | None = None) -> EducationSeeded | None:
    """The starter library (always, idempotent), and assignments once (None when there are
    assignments already or no care plans). The same seed gives the same data."""
    added = starter.load(db)
    if db.scalar(select(func.count()).select_from(EducationAssignment)):
        return None
    plans = db.execute(
        select(CarePlan.id, CarePlan.patient_id)
        .join(Patient, Patient.id == CarePlan.patient_id)
        .where(CarePlan.status == "active", Patient.status == "active")
        .order_by(Patient.mrn, CarePlan.start_on)
    ).all()
    if not plans:
        return None
    rng = random.Random(f"carebridge-education:{seed}")  # noqa: S311 - demo data
    today = today or dt.datetime.now(dt.UTC).date()
    user = db.scalar(select(User).where(User.username == COORDINATOR))
    actor = (
        Actor(user_id=user.id, username=user.username, role=user.role)
        if user is not None
        else Actor.system("demo")
    )
    earlier = db.info.get(ACTOR_KEY)
    db.info[ACTOR_KEY] = actor.user_id
    made = taught = 0
    try:
        seen: set[object] = set()
        for plan_id, patient_id in plans:
            if made >= ASSIGNED or patient_id in seen:
                continue
            seen.add(patient_id)
            offered = service.suggestions(db, actor, patient_id)
            if not offered:
                continue
            chosen = offered[0].material
            row = service.assign(
                db,
                actor,
                patient_id,
                AssignmentCreate(material_id=chosen.id, care_plan_id=plan_id),
            )
            made += 1
            if rng.random() < 0.2:
                continue  # assigned, waiting to be given
            row = service.deliver(
                db, actor, row.id, Delivery(via="print", version=row.version), today=today
            )
            if rng.random() < 0.15:
                continue  # given, teach-back still to do
            needs_review = rng.random() < 0.3
            service.teach_back(
                db,
                actor,
                row.id,
                TeachBack(
                    result="needs-review" if needs_review else "understood",
                    note=rng.choice(NEEDS_REVIEW) if needs_review else None,
                    on=today,
                    version=row.version,
                ),
                today=today,
            )
            taught += 1
        db.flush()
    finally:
        db.info[ACTOR_KEY] = earlier
    return EducationSeeded(materials_added=added, assignments=made, teach_backs=taught)
