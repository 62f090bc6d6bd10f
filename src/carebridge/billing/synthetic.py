"""Demo billing: claims for completed visits in several states (draft, ready, accepted, paid,
partially paid, denied), open billing cases, and payment plans, one with a late instalment.

Everything goes through the billing services, as a person would do it, with the demo's
billing specialist as the actor; claims are sent to the built-in simulator whatever the
clearinghouse setting, so the demo never calls out. Seeded once (nothing when claims exist).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.billing import cases, claims, plans
from carebridge.billing.models import Claim, Instalment, PaymentPlan
from carebridge.billing.schemas import (
    AttachmentIn,
    CaseCreate,
    CaseUpdate,
    ClaimCreate,
    ClaimStep,
    PlanCreate,
)
from carebridge.coverage.clearinghouse import SimulatorConnector
from carebridge.db.history import ACTOR_KEY
from carebridge.lib.errors import AppError
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.scheduling.models import Appointment, AppointmentType, Practitioner
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.settings import Settings

BILLER = "billing"
CLAIMS = 9
# What happens to each claim, in turn.
PATHS = ("draft", "ready", "accepted", "paid", "accepted", "partially-paid", "denied", "draft",
         "accepted")  # fmt: skip
QUESTIONS = (
    ("statement", "Got a bill for $40 after my visit; I thought my insurance covered it."),
    ("denied-claim", "My insurer's letter says the claim was denied. What do I do?"),
    ("payment-plan", "Can I pay my balance over a few months?"),
    ("estimate", "How much will physical therapy cost me each visit?"),
    ("insurance", "I changed jobs and have new insurance from next month."),
)


@dataclass(frozen=True)
class BillingSeeded:
    claims: int
    cases: int
    plans: int


def _actor(db: Session) -> Actor:
    user = db.scalar(select(User).where(User.username == BILLER))
    if user is None:
        return Actor.system("demo")
    return Actor(user_id=user.id, username=user.username, role=user.role)


def _billable(db: Session, zone: str, limit: int) -> list[Appointment]:
    """Completed visits with a billable service, an NPI, an address and active coverage."""
    rows = db.scalars(
        select(Appointment)
        .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.status == "fulfilled",
            AppointmentType.service_code.is_not(None),
            Practitioner.npi.is_not(None),
            Patient.status == "active",
            Patient.address_line1.is_not(None),
            Patient.postal_code.is_not(None),
        )
        .order_by(Appointment.starts_at.desc(), Appointment.id)
        .limit(limit * 6)
    )
    found: list[Appointment] = []
    seen: set[uuid.UUID] = set()
    for visit in rows:
        if visit.patient_id in seen:
            continue
        if claims.primary_coverage(db, visit.patient_id, claims.service_day(visit, zone)) is None:
            continue
        seen.add(visit.patient_id)
        found.append(visit)
        if len(found) == limit:
            break
    return found


def _claim(
    db: Session, actor: Actor, settings: Settings, visit: Appointment, path: str, index: int
) -> bool:
    problems = claims.active_problems(db, visit.patient_id)[:4] or ["Z00.00"]
    attachments = (
        [AttachmentIn(kind="therapy-notes", required=True, transmission="FX")] if index == 7 else []
    )
    try:
        with db.begin_nested():
            made = claims.create(
                db,
                actor,
                ClaimCreate(appointment_id=visit.id, diagnoses=problems, attachments=attachments),
                settings.timezone,
            )
            if path == "draft":
                return True
            made = claims.step(db, actor, made.id, ClaimStep(action="ready", version=made.version))
            if path == "ready":
                return True
            made = claims.submit(
                db,
                actor,
                made.id,
                made.version,
                settings,
                connector=SimulatorConnector(),
                in_transaction=True,
            )
            if path == "accepted" or made.status != "accepted":
                return True
            total = made.total_charge
            paid = {
                "paid": (total * Decimal("0.8")).quantize(Decimal("0.01")),
                "partially-paid": (total * Decimal("0.5")).quantize(Decimal("0.01")),
                "denied": Decimal(0),
            }[path]
            claims.step(
                db,
                actor,
                made.id,
                ClaimStep(
                    action="outcome",
                    version=made.version,
                    outcome=path,
                    paid_amount=paid if path != "denied" else None,
                    patient_responsibility=Decimal("25.00") if path != "denied" else None,
                    note="CO-197: no prior authorization on file" if path == "denied" else None,
                ),
            )
    except AppError:
        return False
    return True


def _cases(db: Session, actor: Actor, patient_ids: list[uuid.UUID]) -> int:
    made = 0
    for index, (topic, question) in enumerate(QUESTIONS):
        if index >= len(patient_ids):
            break
        patient_id = patient_ids[index]
        case = cases.create(db, actor, patient_id, CaseCreate(topic=topic, question=question))
        made += 1
        if index == 1:
            cases.update(
                db,
                actor,
                case.id,
                CaseUpdate(
                    version=case.version,
                    status="waiting-payer",
                    note="Called the payer: they need the prior authorization number; asked "
                    "the clinic's authorization team for it.",
                ),
            )
        elif index == 4:
            cases.update(
                db,
                actor,
                case.id,
                CaseUpdate(
                    version=case.version,
                    status="resolved",
                    resolution="Asked the patient to bring the new card; coverage to be added "
                    "on the first visit of next month.",
                ),
            )
    return made


def _plans(db: Session, actor: Actor, patient_ids: list[uuid.UUID], today: dt.date) -> int:
    if len(patient_ids) < 2:
        return 0
    late = plans.create(
        db,
        actor,
        patient_ids[0],
        PlanCreate(total=Decimal("840.00"), instalments=6, first_due_on=today, note="MRI balance"),
        today,
    )
    # The plan was agreed six weeks ago: the first instalment was paid, the second is late.
    rows = list(
        db.scalars(
            select(Instalment).where(Instalment.plan_id == late.id).order_by(Instalment.sequence)
        )
    )
    start = today - dt.timedelta(days=45)
    for number, row in enumerate(rows):
        row.due_on = start + dt.timedelta(days=30 * number)
    rows[0].paid_on = rows[0].due_on
    rows[0].paid_amount = rows[0].amount
    plan_row = db.get(PaymentPlan, late.id)
    assert plan_row is not None
    plan_row.first_due_on = start
    plans.create(
        db,
        actor,
        patient_ids[1],
        PlanCreate(
            total=Decimal("300.00"),
            instalment_amount=Decimal("75.00"),
            first_due_on=today + dt.timedelta(days=2),
            note="Physical therapy copays",
        ),
        today,
    )
    db.flush()
    return 2


def seed(db: Session, settings: Settings, now: dt.datetime | None = None) -> BillingSeeded | None:
    if db.scalar(select(func.count()).select_from(Claim)):
        return None
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    actor = _actor(db)
    earlier = db.info.get(ACTOR_KEY)
    db.info[ACTOR_KEY] = actor.user_id
    try:
        visits = _billable(db, settings.timezone, CLAIMS)
        made = sum(
            _claim(db, actor, settings, visit, PATHS[i % len(PATHS)], i)
            for i, visit in enumerate(visits)
        )
        others = list(
            db.scalars(
                select(Patient.id)
                .where(Patient.status == "active")
                .order_by(Patient.mrn)
                .limit(len(QUESTIONS) + 2)
            )
        )
        opened = _cases(db, actor, others)
        planned = _plans(db, actor, others[len(QUESTIONS) :] or others, today)
        db.flush()
    finally:
        db.info[ACTOR_KEY] = earlier
    return BillingSeeded(claims=made, cases=opened, plans=planned)
