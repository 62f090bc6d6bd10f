"""The outreach log: every call, text, email, letter or visit made to reach a patient (or
their family), how it went and when to try again; counted per patient and per task.

Logging an attempt on a task also moves the task along in the same unit of work: work has
started (in progress), the next attempt date becomes its due date, and a patient reached
(or a message sent) can complete it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from carebridge.lib.errors import NotFound, ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.tasks import service
from carebridge.tasks.codes import OUTREACH_CHANNELS, OUTREACH_OUTCOMES
from carebridge.tasks.models import OutreachAttempt, Task
from carebridge.tasks.schemas import (
    OutreachCreate,
    OutreachLog,
    OutreachLogged,
    OutreachRead,
    TaskRead,
    TaskUpdate,
)

# What can come of each way of reaching someone. "Sent" is for messages that go one way
# (a text, an email, a letter); nobody leaves a voicemail in a letter.
OUTCOMES_BY_CHANNEL = {
    "phone": ("reached", "voicemail", "no-answer", "wrong-number", "declined"),
    "sms": ("sent", "reached", "no-answer", "wrong-number", "declined"),
    "email": ("sent", "reached", "no-answer", "wrong-number", "declined"),
    "letter": ("sent", "reached", "wrong-number", "declined"),
    "in-person": ("reached", "declined"),
}
# When the patient gets in touch with us, they were reached (or said no).
INBOUND_OUTCOMES = ("reached", "declined", "voicemail")
COMPLETES = ("reached", "sent")
# A next attempt is planned for the start of the clinic's working day.
NEXT_ATTEMPT_AT = dt.time(9, 0)
CLOCK_SLACK = dt.timedelta(minutes=5)
MOVES_TO_IN_PROGRESS = frozenset({"draft", "requested", "received", "accepted", "ready"})


def _check(data: OutreachCreate, today: dt.date, now: dt.datetime) -> None:
    allowed = OUTCOMES_BY_CHANNEL[data.channel]
    channel = OUTREACH_CHANNELS[data.channel].lower()
    if data.outcome not in allowed:
        raise ValidationFailed(
            f"A {channel} cannot end as {OUTREACH_OUTCOMES[data.outcome].lower()!r}; choose "
            f"one of: {', '.join(OUTREACH_OUTCOMES[o] for o in allowed)}.",
            fields={"outcome": f"Not possible for a {channel}."},
        )
    if data.direction == "inbound" and data.outcome not in INBOUND_OUTCOMES:
        raise ValidationFailed(
            "When the patient contacted us, the outcome is Reached, Declined or Left voicemail.",
            fields={"outcome": "Not possible when the patient contacted us."},
        )
    if data.next_attempt_on is not None and data.next_attempt_on < today:
        raise ValidationFailed(
            f"The next attempt ({data.next_attempt_on:%d %b %Y}) is in the past; choose today "
            "or a later day.",
            fields={"next_attempt_on": "Choose today or a later day."},
        )
    if data.occurred_at is not None and data.occurred_at > now + CLOCK_SLACK:
        raise ValidationFailed(
            "The attempt is dated in the future; log it after it happened.",
            fields={"occurred_at": "This time has not come yet."},
        )
    if data.complete_task and data.task_id is None:
        raise ValidationFailed(
            "There is no task to complete: choose the task this attempt was for.",
            fields={"complete_task": "No task chosen."},
        )
    if data.complete_task and data.outcome not in COMPLETES:
        raise ValidationFailed(
            "A task is completed by this attempt only when the patient was reached (or the "
            "message sent); log the attempt without completing the task.",
            fields={"complete_task": "Only when reached or sent."},
        )


def _task_of(db: Session, data: OutreachCreate, patient_id: uuid.UUID) -> Task | None:
    if data.task_id is None:
        return None
    task = db.get(Task, data.task_id)
    if task is None:
        raise ValidationFailed(
            f"No task has id {data.task_id}.", fields={"task_id": "No such task."}
        )
    if task.patient_id != patient_id:
        raise ValidationFailed(
            "That task is about another patient; log the attempt on this patient's task.",
            fields={"task_id": "Another patient's task."},
        )
    if data.complete_task and not task.is_open:
        raise service.closed_error(task, "completed")
    return task


def log(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    data: OutreachCreate,
    *,
    zone: str,
    now: dt.datetime | None = None,
) -> OutreachLogged:
    """Record an attempt to reach ``patient_id``; with a task, move the task along (see the
    module note). Everything is checked before anything is written."""
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(zone)).date()
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise ValidationFailed(
            f"Chart {patient.mrn} was merged into another chart; log the attempt there."
        )
    _check(data, today, now)
    task = _task_of(db, data, patient_id)
    change = _task_change(task, data, zone) if task is not None else None
    if task is not None and change is not None:
        # Checks the task's version and the change before the attempt is written.
        service.check_task_version(task, data.task_version or task.version)
        service.check_change(db, actor, task, change, now)
    attempt = OutreachAttempt(
        patient_id=patient_id,
        task_id=data.task_id,
        channel=data.channel,
        direction=data.direction,
        outcome=data.outcome,
        contact_name=data.contact_name or None,
        note=data.note or None,
        next_attempt_on=data.next_attempt_on,
        occurred_at=data.occurred_at or now,
    )
    db.add(attempt)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="OutreachAttempt",
        entity_id=attempt.id,
        patient_id=patient_id,
        reason=f"{data.channel} {data.direction}: {data.outcome}",
    )
    task_read: TaskRead | None = None
    if task is not None:
        if change is not None:
            task_read = service.update(db, actor, task.id, change, version=task.version, now=now)
        else:
            task_read = TaskRead.model_validate(task)
    return OutreachLogged(attempt=_read(attempt, _by(db, [attempt])), task=task_read)


def _task_change(task: Task, data: OutreachCreate, zone: str) -> TaskUpdate | None:
    if not task.is_open:
        return None  # an attempt logged on a finished task leaves the task alone
    if data.complete_task:
        status = "reached" if data.outcome == "reached" else "message sent"
        return TaskUpdate(status="completed", business_status=f"Patient {status}"[:64])
    values: dict[str, object] = {}
    if task.status in MOVES_TO_IN_PROGRESS:
        values["status"] = "in-progress"
    if data.next_attempt_on is not None:
        next_at = dt.datetime.combine(data.next_attempt_on, NEXT_ATTEMPT_AT, ZoneInfo(zone))
        values["due_at"] = max(next_at.astimezone(dt.UTC), utcnow())
        values["business_status"] = f"Next attempt {data.next_attempt_on:%d %b}"
    return TaskUpdate.model_validate(values) if values else None


def _by(db: Session, attempts: list[OutreachAttempt]) -> dict[uuid.UUID, str]:
    wanted = {a.created_by for a in attempts if a.created_by is not None}
    if not wanted:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}  # noqa: C416 - rows are not pairs to mypy


def _read(attempt: OutreachAttempt, names: dict[uuid.UUID, str]) -> OutreachRead:
    by = names.get(attempt.created_by) if attempt.created_by else None
    return OutreachRead.model_validate(attempt).model_copy(update={"by": by})


def _summary(db: Session, attempts: list[OutreachAttempt]) -> OutreachLog:
    names = _by(db, attempts)
    reached = [a.occurred_at for a in attempts if a.outcome == "reached"]
    planned = [a.next_attempt_on for a in attempts if a.next_attempt_on is not None]
    return OutreachLog(
        attempts=[_read(a, names) for a in attempts],
        total=len(attempts),
        by_outcome=dict(Counter(a.outcome for a in attempts)),
        last_reached_at=max(reached) if reached else None,
        next_attempt_on=max(planned) if planned else None,
    )


def _newest_first(db: Session, condition: ColumnElement[bool], limit: int) -> list[OutreachAttempt]:
    query = select(OutreachAttempt).where(condition)
    order = (OutreachAttempt.occurred_at.desc(), OutreachAttempt.id)
    return list(db.scalars(query.order_by(*order).limit(limit)))


def for_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, *, limit: int = 200
) -> OutreachLog:
    """A patient's outreach, newest first (the latest ``limit``), with counts."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    attempts = _newest_first(db, OutreachAttempt.patient_id == patient_id, limit)
    record(db, actor, Action.READ, entity_type="OutreachLog", patient_id=patient_id)
    return _summary(db, attempts)


def for_task(db: Session, actor: Actor, task_id: uuid.UUID) -> OutreachLog:
    task = db.get(Task, task_id)
    if task is None:
        raise NotFound(f"No task with id {task_id}")
    attempts = _newest_first(db, OutreachAttempt.task_id == task_id, 1000)
    record(
        db,
        actor,
        Action.READ,
        entity_type="OutreachLog",
        entity_id=task_id,
        patient_id=task.patient_id,
    )
    return _summary(db, attempts)
