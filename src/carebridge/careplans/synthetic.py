"""Demo care plans: some of the demo patients get a plan from the template that fits their
chart (type 2 diabetes, high blood pressure, heart failure, COPD, or recovery after a recent
operation), started weeks or months ago, with measurements recorded over those months, some
reviews done, some due soon or overdue, goals past their date, and activities under way.

Everything goes through ``careplans.service``, as a coordinator's work would, so the plans'
history and audit trail look like real use.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.careplans import library, service
from carebridge.careplans.models import CarePlan
from carebridge.careplans.schemas import (
    ActivityRead,
    ActivityUpdate,
    CarePlanCreate,
    GoalRead,
    MeasurementCreate,
)
from carebridge.lib.time import utcnow
from carebridge.patients.models import Condition, PastEvent, Patient
from carebridge.patients.terminology import ICD10CM
from carebridge.security.audit import Actor

# Template, the ICD-10-CM category prefixes (or procedures) that qualify, how many plans,
# and how long ago (days) such a plan started.
HEART_FAILURE_CODES = ("I50",)
DIABETES_CODES = ("E11",)
COPD_CODES = ("J44",)
HYPERTENSION_CODES = ("I10", "I11", "I12", "I13")
SURGERY = ("Total knee arthroplasty", "Laparoscopic appendectomy", "Laparoscopic cholecystectomy")


@dataclass(frozen=True)
class Cohort:
    template: str
    codes: tuple[str, ...]  # empty: chosen by a past operation instead
    plans: int
    started: tuple[int, int]  # days ago, earliest and latest


COHORTS = (
    Cohort("type-2-diabetes", DIABETES_CODES, 12, (60, 240)),
    Cohort("hypertension", HYPERTENSION_CODES, 9, (20, 150)),
    Cohort("heart-failure-post-discharge", HEART_FAILURE_CODES, 8, (5, 60)),
    Cohort("copd", COPD_CODES, 6, (40, 200)),
    Cohort("post-surgical-recovery", (), 5, (3, 30)),
)

# How a measure moves over the plan: (first reading range, last reading range, decimals).
# Most patients drift towards the target, some away from it.
TRENDS: dict[str, tuple[tuple[float, float], tuple[float, float], int]] = {
    "HbA1c": ((7.4, 9.9), (6.4, 8.4), 1),
    "Systolic blood pressure": ((132, 168), (118, 150), 0),
    "Diastolic blood pressure": ((80, 98), (70, 90), 0),
    "Fasting blood glucose": ((110, 210), (85, 170), 0),
    "Moderate activity": ((20, 90), (60, 200), 0),
    "Aerobic activity": ((20, 80), (45, 160), 0),
    "Weight gain in one day": ((0, 3), (0, 2.5), 1),
    "Weight gain in one week": ((1, 6), (0, 5), 1),
    "6-minute walk distance": ((160, 300), (220, 380), 0),
    "CAT score": ((12, 26), (7, 20), 0),
    "Oxygen saturation (SpO2) at rest": ((86, 93), (88, 96), 0),
    "Daily steps": ((1200, 4000), (2500, 7000), 0),
    "Pain score at rest (0-10)": ((5, 8), (1, 5), 0),
    "Walking time": ((5, 15), (15, 45), 0),
    "Body temperature": ((37.0, 38.3), (36.6, 37.6), 1),
}
# Event counts (ED visits, readmissions): mostly none.
COUNTED = ("visits",)
READINGS = (2, 6)
DONE_ACTIVITY = ("completed", "completed", "completed", "in-progress", "cancelled")


@dataclass(frozen=True)
class CarePlansSeeded:
    plans: int
    measurements: int
    reviews_overdue: int


def _matching(db: Session, cohort: Cohort) -> list[uuid.UUID]:
    """Live patients whose chart fits the cohort, in MRN order."""
    if cohort.codes:
        prefix = func.substr(Condition.code, 1, 3)
        found = select(Condition.patient_id).where(
            Condition.code_system == ICD10CM,
            Condition.clinical_status == "active",
            prefix.in_(cohort.codes),
        )
    else:
        found = select(PastEvent.patient_id).where(
            PastEvent.kind == "procedure", PastEvent.description.in_(SURGERY)
        )
    return list(
        db.scalars(
            select(Patient.id)
            .where(Patient.id.in_(found), Patient.status == "active")
            .order_by(Patient.mrn)
        )
    )


def seed(
    db: Session,
    *,
    seed: int = 1,
    zone: str = "America/Chicago",
    today: dt.date | None = None,
) -> CarePlansSeeded | None:
    """About 40 plans across the cohorts, once (None when there are plans already, or no
    patient fits). The same seed gives the same plans."""
    if db.scalar(select(func.count()).select_from(CarePlan)):
        return None
    rng = random.Random(f"carebridge-care-plans:{seed}")  # noqa: S311 - demo data
    today = today or utcnow().astimezone(ZoneInfo(zone)).date()
    actor = Actor.system("demo")
    taken: set[uuid.UUID] = set()
    plans = readings = overdue = 0
    for cohort in COHORTS:
        candidates = [p for p in _matching(db, cohort) if p not in taken]
        rng.shuffle(candidates)
        for patient_id in candidates[: cohort.plans]:
            taken.add(patient_id)
            started = today - dt.timedelta(days=rng.randint(*cohort.started))
            made, late = _plan(db, actor, rng, patient_id, cohort.template, started, today)
            plans += 1
            readings += made
            overdue += late
    return CarePlansSeeded(plans, readings, overdue) if plans else None


def _plan(
    db: Session,
    actor: Actor,
    rng: random.Random,
    patient_id: uuid.UUID,
    template: str,
    started: dt.date,
    today: dt.date,
) -> tuple[int, int]:
    """One plan as it would look after ``today - started`` days of use: measurements,
    reviews (some skipped, so some are overdue) and activities done. Returns the number of
    measurements and whether its review is overdue."""
    plan = service.create_plan(
        db, actor, patient_id, CarePlanCreate(template_key=template, start_on=started), started
    )
    readings = sum(_measure(db, actor, rng, goal, started, today) for goal in plan.goals)
    _work_activities(db, actor, rng, plan.activities, today)
    every = library.TEMPLATES[template].review_every_days
    version = service.plan_of(db, "plan", plan.id).version
    reviewed_on = started + dt.timedelta(days=every)
    # Reviews happen on time until, for some plans, one is missed.
    keeps_up = rng.random() < 0.6
    while reviewed_on <= today - dt.timedelta(days=0 if keeps_up else every // 2):
        version = service.mark_reviewed(db, actor, plan.id, version, reviewed_on).version
        reviewed_on += dt.timedelta(days=every)
    after = service.plan_of(db, "plan", plan.id)
    late = after.next_review_on is not None and after.next_review_on < today
    return readings, int(late)


def _measure(
    db: Session,
    actor: Actor,
    rng: random.Random,
    goal: GoalRead,
    started: dt.date,
    today: dt.date,
) -> int:
    span = (today - started).days
    if span < 2 or goal.target is None:
        return 0
    count = min(rng.randint(*READINGS), span // 2 + 1)
    values = _values(rng, goal, count)
    if not values:
        return 0
    days = sorted(rng.sample(range(span + 1), count))
    for offset, value in zip(days, values, strict=True):
        service.record_measurement(
            db,
            actor,
            goal.id,
            MeasurementCreate(value=value, measured_on=started + dt.timedelta(days=offset)),
            today,
        )
    return count


def _values(rng: random.Random, goal: GoalRead, count: int) -> list[Decimal]:
    if goal.unit in COUNTED:
        return [Decimal(1 if rng.random() < 0.12 else 0) for _ in range(count)]
    trend = TRENDS.get(goal.measure or "")
    if trend is None:
        return []
    (first_low, first_high), (last_low, last_high), places = trend
    first, last = rng.uniform(first_low, first_high), rng.uniform(last_low, last_high)
    if rng.random() < 0.2:  # drifting away from the target
        first, last = last, first
    found = []
    for n in range(count):
        share = n / (count - 1) if count > 1 else 1.0
        noise = (last_high - last_low) * 0.06 * rng.uniform(-1, 1)
        found.append(Decimal(str(round(first + (last - first) * share + noise, places))))
    return found


def _work_activities(
    db: Session,
    actor: Actor,
    rng: random.Random,
    activities: Sequence[ActivityRead],
    today: dt.date,
) -> None:
    """Activities due more than a few days ago are mostly done; those due soon are
    scheduled or under way; later ones have not started."""
    for activity in activities:
        if activity.due_on is None:
            continue
        if activity.due_on < today - dt.timedelta(days=3):
            status = rng.choice(DONE_ACTIVITY)
        elif activity.due_on <= today + dt.timedelta(days=7):
            status = rng.choice(("scheduled", "in-progress", "not-started"))
        else:
            continue
        if status != activity.status:
            service.update_activity(
                db, actor, activity.id, ActivityUpdate(version=activity.version, status=status)
            )
