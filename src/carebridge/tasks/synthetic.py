"""The demo worklist: a full day for the demo coordinator (Maria Alvarez, user
``coordinator``) and work waiting in the team queues, so My day opens populated.

Tasks are about real demo patients and, where it fits, their real records: upcoming visits
to confirm transport for, missed visits to call about, care plans to go over. Some are
overdue, some due today, some later in the week; several already have calls logged (no
answer, voicemail) and a few were finished yesterday. Everything goes through the task and
outreach services, as a coordinator's work would, and is made once: a second run adds
nothing."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.careplans.models import CarePlan
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.tasks import outreach, presets, queues, service
from carebridge.tasks.models import Task, TaskComment
from carebridge.tasks.notifications import notify
from carebridge.tasks.queue_schemas import QueueCreate
from carebridge.tasks.schemas import OutreachCreate, TaskUpdate

KEY = "demo-worklist"
COORDINATOR = "coordinator"
COLLEAGUE = "jchen"
QUEUES = (("coordinators", "Care coordinators"), ("scheduling", "Scheduling"))


@dataclass(frozen=True)
class Spec:
    """One demo task. ``when``: "overdue", "today", "later" or "done" (finished yesterday);
    ``who``: "me" (the demo coordinator), "colleague", or a queue code; ``focus``: the kind
    of the patient's record it is about ("upcoming", "missed", "plan"), if any."""

    title: str
    when: str
    who: str = "me"
    preset: str | None = None
    kind: str = "general"
    priority: str = "routine"
    focus: str | None = None
    attempts: tuple[str, ...] = ()  # phone outcomes already logged, oldest first
    comment: str | None = None
    business_status: str | None = None


SPECS: tuple[Spec, ...] = (
    # Overdue: what Maria must do first.
    Spec(
        "Post-discharge call: heart failure admission at Mercy Hospital",
        "overdue",
        preset="post-discharge-call",
        attempts=("no-answer", "voicemail"),
        comment="Daughter Ana is the best contact after 4 pm.",
    ),
    Spec(
        "Call about the missed follow-up visit",
        "overdue",
        kind="call",
        priority="urgent",
        focus="missed",
        attempts=("wrong-number",),
        business_status="Need a new phone number",
    ),
    Spec(
        "Check prior authorization status: cardiac MRI",
        "overdue",
        preset="prior-authorization-status",
        priority="urgent",
    ),
    Spec(
        "Medication reconciliation after the ED visit",
        "overdue",
        preset="medication-reconciliation",
    ),
    Spec(
        "Return call: question about the new insulin dose", "overdue", kind="call", priority="asap"
    ),
    # Due today.
    Spec(
        "Pre-visit call: confirm transport and the medication list",
        "today",
        kind="call",
        focus="upcoming",
        attempts=("no-answer",),
    ),
    Spec(
        "Book the 7-day follow-up after discharge",
        "today",
        preset="schedule-follow-up",
        priority="urgent",
    ),
    Spec("Benefits check before the sleep study", "today", preset="benefits-check"),
    Spec("Confirm cardiology referral appointment", "today", preset="confirm-referral-appointment"),
    Spec(
        "Arrange transport to Thursday's visit",
        "today",
        preset="arrange-transport",
        focus="upcoming",
    ),
    Spec("Follow up on the A1c result of 9.8 %", "today", kind="follow-up", priority="urgent"),
    Spec(
        "Send the heart failure self-care booklet (Spanish)",
        "today",
        preset="send-education-material",
    ),
    # Later this week.
    Spec("Go over the care plan goals with the patient", "later", kind="care-plan", focus="plan"),
    Spec("Quarterly check-in call", "later", kind="call", attempts=("voicemail",)),
    Spec(
        "Medication reconciliation with the pharmacist's list",
        "later",
        preset="medication-reconciliation",
    ),
    Spec("Check the home oxygen order was delivered", "later", kind="follow-up"),
    Spec(
        "Confirm the podiatry referral appointment", "later", preset="confirm-referral-appointment"
    ),
    Spec("Send the low-sodium diet sheet", "later", preset="send-education-material"),
    Spec("Pre-visit call before the annual wellness visit", "later", kind="call", focus="upcoming"),
    # Waiting in the queues for whoever takes them.
    Spec(
        "Post-discharge call: COPD exacerbation, Lakeshore General",
        "today",
        who="coordinators",
        preset="post-discharge-call",
        priority="asap",
    ),
    Spec(
        "Post-discharge call: hip replacement, home with home health",
        "later",
        who="coordinators",
        preset="post-discharge-call",
    ),
    Spec(
        "Housing barrier: connect with the social worker",
        "today",
        who="coordinators",
        kind="social",
        priority="urgent",
    ),
    Spec("Check the food pantry referral went through", "later", who="coordinators", kind="social"),
    Spec("New patient outreach: welcome call", "later", who="coordinators", kind="outreach"),
    Spec(
        "Move the visit: provider out on Friday",
        "today",
        who="scheduling",
        kind="scheduling",
        focus="upcoming",
        priority="urgent",
    ),
    Spec("Book the annual wellness visit", "later", who="scheduling", preset="schedule-follow-up"),
    Spec("Book the diabetes education class", "later", who="scheduling", kind="scheduling"),
    # James Chen's.
    Spec(
        "Prior authorization: home sleep study",
        "today",
        who="colleague",
        preset="prior-authorization-status",
    ),
    Spec("Call about the missed lab draw", "overdue", who="colleague", kind="call", focus="missed"),
    Spec("Benefits check for physical therapy", "later", who="colleague", preset="benefits-check"),
    # Finished yesterday (on the chart's Tasks & outreach tab and in each task's history).
    Spec(
        "Post-discharge call: pneumonia admission",
        "done",
        preset="post-discharge-call",
        attempts=("reached",),
    ),
    Spec(
        "Confirm the endocrinology referral appointment",
        "done",
        preset="confirm-referral-appointment",
    ),
)


@dataclass(frozen=True)
class WorklistSeeded:
    tasks: int
    attempts: int


def _user_id(db: Session, username: str) -> uuid.UUID | None:
    return db.scalar(select(User.id).where(User.username == username))


def _ensure_queues(db: Session, actor: Actor, members: list[uuid.UUID]) -> None:
    """The team queues the demo's tasks go to, made here only when the care-team demo has
    not made them already."""
    for code, name in QUEUES:
        if queues.by_code(db, code) is not None:
            continue
        made = queues.create_queue(db, actor, QueueCreate(code=code, name=name))
        for user_id in members:
            queues.add_member(db, actor, made.id, user_id)


def _patients(db: Session, coordinator: uuid.UUID) -> list[uuid.UUID]:
    mine = list(
        db.scalars(
            select(Patient.id)
            .where(Patient.primary_coordinator_id == coordinator, Patient.status == "active")
            .order_by(Patient.mrn)
            .limit(400)
        )
    )
    if mine:
        return mine
    return list(
        db.scalars(
            select(Patient.id).where(Patient.status == "active").order_by(Patient.mrn).limit(400)
        )
    )


def _records(
    db: Session, patient_ids: list[uuid.UUID], now: dt.datetime
) -> dict[str, list[tuple[uuid.UUID, uuid.UUID]]]:
    """(patient, record) pairs the demo tasks can be about: upcoming visits, missed visits,
    care plans."""
    upcoming = db.execute(
        select(Appointment.patient_id, Appointment.id)
        .where(
            Appointment.patient_id.in_(patient_ids),
            Appointment.status == "booked",
            Appointment.starts_at > now,
            Appointment.starts_at < now + dt.timedelta(days=7),
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(20)
    ).all()
    missed = db.execute(
        select(Appointment.patient_id, Appointment.id)
        .where(
            Appointment.patient_id.in_(patient_ids),
            Appointment.status == "noshow",
            Appointment.starts_at > now - dt.timedelta(days=14),
        )
        .order_by(Appointment.starts_at.desc(), Appointment.id)
        .limit(10)
    ).all()
    plans = db.execute(
        select(CarePlan.patient_id, CarePlan.id)
        .where(CarePlan.patient_id.in_(patient_ids), CarePlan.status == "active")
        .order_by(CarePlan.id)
        .limit(10)
    ).all()
    return {
        "upcoming": [(p, r) for p, r in upcoming],
        "missed": [(p, r) for p, r in missed],
        "plan": [(p, r) for p, r in plans],
    }


def _due(spec: Spec, rng: random.Random, now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    if spec.when == "overdue":
        return now - dt.timedelta(minutes=rng.randint(45, 60 * 52))
    if spec.when == "done":
        return now - dt.timedelta(hours=rng.randint(18, 30))
    local = now.astimezone(zone)
    tonight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    if spec.when == "today":
        left = (tonight - local).total_seconds()
        return now + dt.timedelta(seconds=left * rng.uniform(0.25, 0.95))
    day = local.date() + dt.timedelta(days=rng.randint(1, 5))
    return dt.datetime.combine(day, dt.time(rng.choice((10, 12, 15, 17))), tzinfo=zone).astimezone(
        dt.UTC
    )


def seed(
    db: Session, *, seed: int = 1, zone: str = "America/Chicago", now: dt.datetime | None = None
) -> WorklistSeeded | None:
    """The demo worklist, once (None when it exists already, or without the demo
    coordinator or patients)."""
    if db.scalar(select(Task.id).where(Task.dedupe_key.like(f"{KEY}:%")).limit(1)) is not None:
        return None
    me = _user_id(db, COORDINATOR)
    colleague = _user_id(db, COLLEAGUE)
    if me is None:
        return None
    patient_ids = _patients(db, me)
    if not patient_ids:
        return None
    rng = random.Random(f"carebridge-worklist:{seed}")  # noqa: S311 - demo data
    now = now or utcnow()
    tz = ZoneInfo(zone)
    actor = Actor.system("demo")
    _ensure_queues(db, actor, [u for u in (me, colleague) if u is not None])
    records = _records(db, patient_ids, now)
    spare = list(patient_ids)
    rng.shuffle(spare)
    made = attempts = 0
    for n, spec in enumerate(SPECS):
        if spec.who == "colleague" and colleague is None:
            continue
        patient_id, focus_type, focus_id = _subject(spec, records, spare, n)
        preset = presets.BY_KEY.get(spec.preset or "")
        owner = {"me": me, "colleague": colleague}.get(spec.who)
        task = service.create(
            db,
            actor,
            title=spec.title,
            patient_id=patient_id,
            description=preset.description if preset else None,
            priority=spec.priority
            if spec.priority != "routine" or preset is None
            else preset.priority,
            owner_id=owner,
            queue=None if owner else spec.who,
            due_at=_due(spec, rng, now, tz),
            focus_type=focus_type,
            focus_id=focus_id,
            dedupe_key=f"{KEY}:{n}",
            business_status=spec.business_status,
            kind=preset.kind if preset else spec.kind,
            risk=rng.randint(5, 95),
            template_key=preset.key if preset else None,
        )
        made += 1
        attempts += _calls(db, actor, task, spec, rng, now, zone)
        if spec.comment:
            db.add(TaskComment(task_id=task.id, text=spec.comment))
        if spec.when == "done" and task.is_open:
            service.update(
                db,
                actor,
                task.id,
                TaskUpdate(status="completed", business_status="Done"),
                version=task.version,
            )
    _tell(db, me)
    db.flush()
    return WorklistSeeded(tasks=made, attempts=attempts)


def _subject(
    spec: Spec,
    records: dict[str, list[tuple[uuid.UUID, uuid.UUID]]],
    spare: list[uuid.UUID],
    n: int,
) -> tuple[uuid.UUID, str | None, uuid.UUID | None]:
    """The patient a task is about, and the record, when the demo has one of that kind."""
    if spec.focus is not None and records.get(spec.focus):
        patient_id, record_id = records[spec.focus].pop(0)
        kind = "CarePlan" if spec.focus == "plan" else "Appointment"
        return patient_id, kind, record_id
    return spare[n % len(spare)], None, None


def _calls(
    db: Session,
    actor: Actor,
    task: Task,
    spec: Spec,
    rng: random.Random,
    now: dt.datetime,
    zone: str,
) -> int:
    """The calls already made for a task, spread over the last day or two."""
    if task.patient_id is None:
        return 0
    for number, outcome in enumerate(spec.attempts):
        hours_ago = (len(spec.attempts) - number) * rng.randint(3, 20)
        outreach.log(
            db,
            actor,
            task.patient_id,
            OutreachCreate(
                task_id=task.id,
                channel="phone",
                outcome=outcome,
                contact_name="Daughter" if outcome == "reached" else None,
                note={
                    "no-answer": "Rang out, no voicemail set up.",
                    "voicemail": "Left a message with the clinic's call-back number.",
                    "wrong-number": "Number belongs to someone else now.",
                    "reached": "Feeling better; follow-up visit booked; knows the warning signs.",
                }.get(outcome),
                occurred_at=now - dt.timedelta(hours=hours_ago),
                complete_task=outcome == "reached",
            ),
            zone=zone,
            now=now,
        )
    return len(spec.attempts)


def _tell(db: Session, me: uuid.UUID) -> None:
    first = db.scalar(
        select(Task).where(Task.dedupe_key == f"{KEY}:1")  # the missed-visit call
    )
    notify(
        db,
        me,
        "James Chen added a comment on “Call about the missed follow-up visit”: the patient's "
        "pharmacy has a newer number.",
        link=f"/tasks/{first.id}" if first else None,
        patient_id=first.patient_id if first else None,
        dedupe_key=f"{KEY}:note:1",
    )
    notify(
        db,
        me,
        "Two new discharges from Lakeshore General are waiting in the Care coordinators queue.",
        link="/?scope=queue:coordinators",
        dedupe_key=f"{KEY}:note:2",
    )
