"""Creating and reading tasks. Every domain raises work for people through ``create``."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.time import utcnow
from carebridge.security.audit import Action, Actor, record
from carebridge.tasks.codes import KINDS, PRIORITIES
from carebridge.tasks.models import Task

# When nobody says when: how long each priority may wait (the SLA the worklist and the
# escalation rules measure against).
DEFAULT_WAIT = {
    "stat": dt.timedelta(hours=1),
    "asap": dt.timedelta(hours=4),
    "urgent": dt.timedelta(days=1),
    "routine": dt.timedelta(days=3),
}


def create(
    db: Session,
    actor: Actor,
    *,
    title: str,
    patient_id: uuid.UUID | None = None,
    description: str | None = None,
    priority: str = "routine",
    owner_id: uuid.UUID | None = None,
    queue: str | None = None,
    due_at: dt.datetime | None = None,
    focus_type: str | None = None,
    focus_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    business_status: str | None = None,
    kind: str = "general",
    risk: int = 0,
    template_key: str | None = None,
) -> Task:
    """Raise a task. With a ``dedupe_key`` the same task is never raised twice: the
    existing one is returned instead."""
    if priority not in PRIORITIES:
        raise ValueError(f"unknown task priority {priority!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}")
    if dedupe_key is not None:
        existing = db.scalar(select(Task).where(Task.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    task = Task(
        title=title,
        patient_id=patient_id,
        description=description,
        priority=priority,
        owner_id=owner_id,
        queue=queue if owner_id is None else None,
        due_at=due_at or utcnow() + DEFAULT_WAIT[priority],
        kind=kind,
        risk=risk,
        template_key=template_key,
        focus_type=focus_type,
        focus_id=focus_id,
        dedupe_key=dedupe_key,
        business_status=business_status,
        status="requested" if owner_id is None else "ready",
    )
    db.add(task)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="Task",
        entity_id=task.id,
        patient_id=patient_id,
        reason=title[:200],
    )
    return task


def for_focus(db: Session, focus_type: str, focus_id: uuid.UUID) -> list[Task]:
    return list(
        db.scalars(
            select(Task)
            .where(Task.focus_type == focus_type, Task.focus_id == focus_id)
            .order_by(Task.created_at)
        )
    )
