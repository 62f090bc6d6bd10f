"""Payment plans: a total paid in monthly instalments that sum exactly to it (to the cent).

An instalment is late when it is unpaid after its due date (computed, never stored). The
worker, once a pass (``run``), queues a reminder a few days before each due date through the
outbox, on the channel the patient prefers and has allowed (as appointment reminders do),
and raises a task when an instalment is ``LATE_TASK_DAYS`` days late. Both happen once per
instalment: the instalment remembers its reminder (or why it was skipped) and its task.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.billing import codes
from carebridge.billing.estimate import money
from carebridge.billing.models import Claim, Instalment, PaymentPlan
from carebridge.billing.schemas import (
    InstalmentRead,
    PaymentIn,
    PlanCancel,
    PlanCreate,
    PlanRead,
)
from carebridge.db import counters
from carebridge.db.session import unit_of_work
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.messaging import service as outbox
from carebridge.patients.models import Patient
from carebridge.patients.service import may_contact
from carebridge.scheduling.reminders import channel_configured, mobile_number
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.tasks import service as tasks

log = logging.getLogger(__name__)

ENTITY = "PaymentPlan"
REMIND_DAYS = 3  # the reminder goes out this many days before the due date
LATE_TASK_DAYS = 10  # a task is raised when an instalment is this many days late
BOARD_LIMIT = 300
CENT = Decimal("0.01")
WORKER = Actor.system("worker")


def schedule(
    total: Decimal, first_due_on: dt.date, *, count: int | None = None, each: Decimal | None = None
) -> list[tuple[dt.date, Decimal]]:
    """Due dates (monthly) and amounts. With ``count`` the total is split evenly, the last
    instalment taking the odd cents; with ``each`` every instalment is that amount and the
    last one the rest. The amounts always sum to ``total`` exactly."""
    if count is None:
        assert each is not None
        if each > total:
            raise ValidationFailed(
                f"The instalment {money(each)} is more than the total {money(total)}.",
                fields={"instalment_amount": "More than the total."},
            )
        count = int((total / each).to_integral_value(ROUND_CEILING))
        amounts = [each] * (count - 1)
    else:
        base = (total / count).quantize(CENT, ROUND_DOWN)
        if base <= 0:
            raise ValidationFailed(
                f"{money(total)} cannot be split into {count} instalments of at least one cent.",
                fields={"instalments": "Too many instalments for the total."},
            )
        amounts = [base] * (count - 1)
    if count > 60:
        raise ValidationFailed(
            f"That makes {count} instalments; a plan has at most 60. Raise the amount of each.",
            fields={"instalment_amount": "At most 60 instalments."},
        )
    amounts.append(total - sum(amounts, Decimal(0)))
    return [(first_due_on + relativedelta(months=i), amount) for i, amount in enumerate(amounts)]


# --- reading -------------------------------------------------------------------------------


def _plan(db: Session, plan_id: uuid.UUID) -> PaymentPlan:
    plan = db.get(PaymentPlan, plan_id)
    if plan is None:
        raise NotFound(f"No payment plan with id {plan_id}")
    return plan


def _instalments(db: Session, plan_id: uuid.UUID) -> list[Instalment]:
    return list(
        db.scalars(
            select(Instalment).where(Instalment.plan_id == plan_id).order_by(Instalment.sequence)
        )
    )


def _reminder(item: Instalment) -> str:
    if item.reminder_outbox_id is not None:
        return "queued"
    if item.reminder_skipped:
        return f"skipped: {item.reminder_skipped}"
    return "planned"


def _read(
    db: Session, plan: PaymentPlan, today: dt.date, patient: Patient | None = None
) -> PlanRead:
    patient = patient or db.get(Patient, plan.patient_id)
    assert patient is not None  # foreign key
    items = []
    for item in _instalments(db, plan.id):
        late = plan.status == "active" and item.paid_on is None and item.due_on < today
        items.append(
            InstalmentRead(
                id=item.id,
                sequence=item.sequence,
                due_on=item.due_on,
                amount=item.amount,
                paid_amount=item.paid_amount,
                paid_on=item.paid_on,
                late=late,
                days_late=(today - item.due_on).days if late else 0,
                reminder=_reminder(item),
                version=item.version,
            )
        )
    paid = sum((i.paid_amount or Decimal(0) for i in items), Decimal(0))
    return PlanRead(
        id=plan.id,
        number=plan.number,
        patient_id=plan.patient_id,
        patient_name=f"{patient.family_name}, {patient.given_names}",
        mrn=patient.mrn,
        total=plan.total,
        paid=paid,
        balance=plan.total - paid,
        frequency=plan.frequency,
        first_due_on=plan.first_due_on,
        status=plan.status,
        claim_id=plan.claim_id,
        note=plan.note,
        instalments=items,
        late=any(i.late for i in items),
        created_at=plan.created_at,
        version=plan.version,
    )


def _audit(
    db: Session, actor: Actor, action: Action, plan: PaymentPlan, reason: str | None
) -> None:
    record(
        db,
        actor,
        action,
        entity_type=ENTITY,
        entity_id=plan.id,
        patient_id=plan.patient_id,
        reason=reason,
    )


def get(db: Session, actor: Actor, plan_id: uuid.UUID, today: dt.date) -> PlanRead:
    plan = _plan(db, plan_id)
    _audit(db, actor, Action.READ, plan, None)
    return _read(db, plan, today)


def for_patient(db: Session, actor: Actor, patient_id: uuid.UUID, today: dt.date) -> list[PlanRead]:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    rows = db.scalars(
        select(PaymentPlan)
        .where(PaymentPlan.patient_id == patient_id)
        .order_by(PaymentPlan.created_at.desc())
    )
    record(db, actor, Action.READ, entity_type=ENTITY, patient_id=patient_id, reason="list")
    return [_read(db, plan, today, patient) for plan in rows]


def board(
    db: Session,
    actor: Actor,
    today: dt.date,
    *,
    status: str | None = "active",
    limit: int = BOARD_LIMIT,
) -> list[PlanRead]:
    """Plans across patients, late ones first (the longest late first)."""
    query = select(PaymentPlan, Patient).join(Patient, Patient.id == PaymentPlan.patient_id)
    if status:
        query = query.where(PaymentPlan.status == status)
    rows = db.execute(query.order_by(PaymentPlan.created_at, PaymentPlan.id).limit(limit)).all()
    record(db, actor, Action.READ, entity_type=ENTITY, reason="billing board")
    found = [_read(db, plan, today, patient) for plan, patient in rows]
    return sorted(
        found, key=lambda p: (not p.late, -max((i.days_late for i in p.instalments), default=0))
    )


# --- changing ------------------------------------------------------------------------------


def create(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: PlanCreate, today: dt.date
) -> PlanRead:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; make the plan on the "
            "surviving chart. Nothing was saved."
        )
    if data.first_due_on < today:
        raise ValidationFailed(
            f"The first due date {data.first_due_on:%d %b %Y} has passed; choose today or later.",
            fields={"first_due_on": "The first due date is in the past."},
        )
    if data.claim_id is not None:
        claim = db.get(Claim, data.claim_id)
        if claim is None or claim.patient_id != patient.id:
            raise ValidationFailed(
                f"Claim {data.claim_id} is not one of this patient's claims.",
                fields={"claim_id": "Choose one of the patient's claims."},
            )
    dates = schedule(
        data.total, data.first_due_on, count=data.instalments, each=data.instalment_amount
    )
    plan = PaymentPlan(
        number=counters.next_number(db, "payment-plan", "P"),
        patient_id=patient.id,
        total=data.total,
        frequency=data.frequency,
        first_due_on=data.first_due_on,
        status="active",
        claim_id=data.claim_id,
        note=data.note,
    )
    db.add(plan)
    db.flush()
    for sequence, (due_on, amount) in enumerate(dates, start=1):
        db.add(Instalment(plan_id=plan.id, sequence=sequence, due_on=due_on, amount=amount))
    db.flush()
    _audit(db, actor, Action.CREATE, plan, f"{plan.number} {money(plan.total)} in {len(dates)}")
    return _read(db, plan, today, patient)


def pay(
    db: Session, actor: Actor, instalment_id: uuid.UUID, data: PaymentIn, today: dt.date
) -> PlanRead:
    """Record an instalment as paid (its whole amount, on a day not in the future)."""
    item = db.get(Instalment, instalment_id)
    if item is None:
        raise NotFound(f"No instalment with id {instalment_id}")
    check_version("This instalment", item.version, data.version)
    plan = _plan(db, item.plan_id)
    if plan.status != "active":
        raise Conflict(
            f"Payment plan {plan.number} is {codes.PLAN_STATUSES[plan.status].lower()}; no "
            "payment can be recorded on it. Nothing was saved."
        )
    if item.paid_on is not None:
        raise Conflict(
            f"Instalment {item.sequence} was already paid on {item.paid_on:%d %b %Y}. "
            "Nothing was saved."
        )
    if data.amount != item.amount:
        raise ValidationFailed(
            f"Instalment {item.sequence} is {money(item.amount)}; record that amount. To change "
            "the schedule, cancel the plan and make a new one for the balance.",
            fields={"amount": f"The instalment is {money(item.amount)}."},
        )
    if data.paid_on > today:
        raise ValidationFailed(
            f"The payment date {data.paid_on:%d %b %Y} is in the future.",
            fields={"paid_on": "The payment date cannot be in the future."},
        )
    item.paid_amount = data.amount
    item.paid_on = data.paid_on
    db.flush()
    if all(i.paid_on is not None for i in _instalments(db, plan.id)):
        plan.status = "completed"
    plan.updated_at = utcnow()  # a payment makes a new version of the plan
    db.flush()
    _audit(db, actor, Action.UPDATE, plan, f"instalment {item.sequence} paid")
    if item.late_task_id is not None:
        _close_late_task(db, actor, item)
    return _read(db, plan, today)


def cancel(
    db: Session, actor: Actor, plan_id: uuid.UUID, data: PlanCancel, today: dt.date
) -> PlanRead:
    plan = _plan(db, plan_id)
    check_version("This payment plan", plan.version, data.version)
    if plan.status != "active":
        raise Conflict(
            f"Payment plan {plan.number} is already {codes.PLAN_STATUSES[plan.status].lower()}."
        )
    plan.status = "cancelled"
    plan.note = data.note
    pending = [
        i.reminder_outbox_id
        for i in _instalments(db, plan.id)
        if i.paid_on is None and i.reminder_outbox_id
    ]
    outbox.cancel(db, [p for p in pending if p is not None], "the payment plan was cancelled")
    db.flush()
    _audit(db, actor, Action.UPDATE, plan, "cancelled")
    return _read(db, plan, today)


def _close_late_task(db: Session, actor: Actor, item: Instalment) -> None:
    from carebridge.tasks.models import Task
    from carebridge.tasks.schemas import TaskUpdate

    task = db.get(Task, item.late_task_id)
    if task is None or not task.is_open:
        return
    tasks.update(
        db,
        actor,
        task.id,
        TaskUpdate(version=task.version, status="completed", reason="The instalment was paid."),
    )


# --- the worker's pass ---------------------------------------------------------------------


def _channel(
    db: Session, settings: Settings, patient: Patient, day: dt.date
) -> tuple[str | None, str]:
    """The channel to remind on (the preferred one first), or None and why not."""
    order = ["sms", "email"] if patient.preferred_contact_method == "sms" else ["email", "sms"]
    reasons = []
    for channel in order:
        address = patient.email if channel == "email" else mobile_number(patient)
        if not channel_configured(settings, channel):
            reasons.append(f"no {channel} delivery is configured")
        elif not address:
            reasons.append("no email address" if channel == "email" else "no mobile phone")
        elif not may_contact(db, patient.id, channel, day):
            reasons.append(f"{channel} contact not allowed")
        else:
            return channel, ""
    return None, "; ".join(reasons)


def queue_reminders(db: Session, settings: Settings, now: dt.datetime) -> int:
    """Queue the reminder of each unpaid instalment due within REMIND_DAYS (once each)."""
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    rows = db.execute(
        select(Instalment, PaymentPlan, Patient)
        .join(PaymentPlan, PaymentPlan.id == Instalment.plan_id)
        .join(Patient, Patient.id == PaymentPlan.patient_id)
        .where(
            PaymentPlan.status == "active",
            Instalment.paid_on.is_(None),
            Instalment.due_on >= today,
            Instalment.due_on <= today + dt.timedelta(days=REMIND_DAYS),
            Instalment.reminder_outbox_id.is_(None),
            Instalment.reminder_skipped.is_(None),
        )
        .limit(500)
    ).all()
    queued = 0
    for item, plan, patient in rows:
        channel, why = _channel(db, settings, patient, today)
        if channel is None:
            item.reminder_skipped = why[:200]
            continue
        text = (
            f"{settings.clinic_name}: your payment plan instalment of {money(item.amount)} is due "
            f"on {item.due_on:%a %d %b %Y}. Questions? Call {settings.clinic_phone}."
        )
        message = outbox.enqueue(
            db,
            channel=channel,
            recipient=str(patient.email if channel == "email" else mobile_number(patient)),
            subject=f"Payment due {item.due_on:%d %b %Y}" if channel == "email" else None,
            body=text,
            patient_id=patient.id,
            focus_type=ENTITY,
            focus_id=plan.id,
            not_before=now,
            dedupe_key=f"instalment-reminder:{item.id}",
        )
        item.reminder_outbox_id = message.id
        queued += 1
    db.flush()
    return queued


def raise_late_tasks(db: Session, settings: Settings, now: dt.datetime) -> int:
    """A task for each instalment LATE_TASK_DAYS days late, owned by the patient's primary
    coordinator (or the coordinators' queue); once per instalment."""
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    rows = db.execute(
        select(Instalment, PaymentPlan, Patient)
        .join(PaymentPlan, PaymentPlan.id == Instalment.plan_id)
        .join(Patient, Patient.id == PaymentPlan.patient_id)
        .where(
            PaymentPlan.status == "active",
            Instalment.paid_on.is_(None),
            Instalment.due_on <= today - dt.timedelta(days=LATE_TASK_DAYS),
            Instalment.late_task_id.is_(None),
        )
        .limit(500)
    ).all()
    for item, plan, patient in rows:
        days = (today - item.due_on).days
        task = tasks.create(
            db,
            WORKER,
            title=f"Payment plan {plan.number}: instalment {item.sequence} is {days} days late",
            description=(
                f"{money(item.amount)} was due on {item.due_on:%d %b %Y} and is unpaid. Call "
                "the patient about the payment or a new plan, then record the payment."
            ),
            patient_id=patient.id,
            kind="call",
            owner_id=patient.primary_coordinator_id,
            queue=None if patient.primary_coordinator_id else "coordinators",
            focus_type=ENTITY,
            focus_id=plan.id,
            dedupe_key=f"instalment-late:{item.id}",
        )
        item.late_task_id = task.id
    db.flush()
    return len(rows)


def run(factory: sessionmaker[Session], settings: Settings, now: dt.datetime | None = None) -> None:
    """The worker's hook: reminders and late tasks, in their own unit of work."""
    now = now or utcnow()
    with unit_of_work(factory) as db:
        reminded = queue_reminders(db, settings, now)
        late = raise_late_tasks(db, settings, now)
    if reminded or late:
        log.info("payment plans: %d reminders queued, %d late tasks raised", reminded, late)
