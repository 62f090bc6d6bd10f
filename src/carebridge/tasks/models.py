"""Tasks with FHIR Task semantics, the team queues they wait in, their comments, the
escalations applied to them, the outreach attempts made for them, and the in-app
notifications people receive. Other domains raise tasks only through ``tasks.service``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from carebridge.db.base import Base, Tracked, UuidPk
from carebridge.lib.time import utcnow
from carebridge.tasks.codes import OPEN_STATUSES, URGENCY

# The predicates of the partial indexes. A query uses such an index only when it states the
# same terms: write ``Task.is_open == true()`` (rendered "= 1" / "= true"), never ``is_(True)``.
OPEN = {"sqlite": "is_open = 1", "postgresql": "is_open = true"}
UNCLAIMED_OPEN = {d: f"owner_id IS NULL AND {term}" for d, term in OPEN.items()}


class Task(UuidPk, Tracked, Base):
    __tablename__ = "tasks"
    __versioned__ = True
    __table_args__ = (
        # The worklist reads an owner's open tasks, and a queue's open unclaimed ones, along
        # these indexes already in its order (most urgent first, then earliest due); status and
        # kind ride along so a filter on them is checked in the index, not the table.
        Index(
            "ix_tasks_owner_worklist", "owner_id", "is_open", "urgency", "due_at", "status", "kind"
        ),
        Index(
            "ix_tasks_queue_unclaimed",
            "queue",
            "urgency",
            "due_at",
            "status",
            "kind",
            sqlite_where=text(UNCLAIMED_OPEN["sqlite"]),
            postgresql_where=text(UNCLAIMED_OPEN["postgresql"]),
        ),
        # The worker's overdue scan; partial so it never competes with the worklist indexes.
        Index(
            "ix_tasks_open_due",
            "due_at",
            sqlite_where=text(OPEN["sqlite"]),
            postgresql_where=text(OPEN["postgresql"]),
        ),
        Index("ix_tasks_patient_open", "patient_id", "is_open"),
        Index("ix_tasks_focus", "focus_type", "focus_id"),
        # A rule or a domain event raises a given task once (idempotent workers).
        UniqueConstraint("dedupe_key", name="uq_tasks_dedupe_key"),
    )

    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # What kind of work (codes.KINDS): the worklist's "type" filter.
    kind: Mapped[str] = mapped_column(String(32), default="general")
    # FHIR TaskStatus; is_open and urgency follow status and priority (see the validators).
    status: Mapped[str] = mapped_column(String(16), default="requested")
    is_open: Mapped[bool] = mapped_column(default=True)
    business_status: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8), default="routine")  # routine urgent asap stat
    urgency: Mapped[int] = mapped_column(SmallInteger, default=URGENCY["routine"])
    # The patient's risk when the task was raised (0-100), the worklist's third sort key.
    risk: Mapped[int] = mapped_column(SmallInteger, default=0)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    queue: Mapped[str | None] = mapped_column(String(64))  # WorkQueue.code
    due_at: Mapped[dt.datetime]
    focus_type: Mapped[str | None] = mapped_column(String(64))
    focus_id: Mapped[uuid.UUID | None]
    template_key: Mapped[str | None] = mapped_column(String(64))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    completed_at: Mapped[dt.datetime | None]

    @validates("status")
    def _status(self, _key: str, value: str) -> str:
        self.is_open = value in OPEN_STATUSES
        return value

    @validates("priority")
    def _priority(self, _key: str, value: str) -> str:
        if value not in URGENCY:
            raise ValueError(f"unknown task priority {value!r}")
        self.urgency = URGENCY[value]
        return value

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("status", "requested")
        kwargs.setdefault("priority", "routine")
        super().__init__(**kwargs)


class TaskComment(UuidPk, Tracked, Base):
    """A note on a task (FHIR Task.note); who and when come from the tracked columns."""

    __tablename__ = "task_comments"
    __versioned__ = True

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    text: Mapped[str] = mapped_column(Text)


class TaskEscalation(UuidPk, Base):
    """One escalation rule applied to one task, once: the worker's idempotence record."""

    __tablename__ = "task_escalations"
    __table_args__ = (UniqueConstraint("task_id", "rule_key", name="uq_task_escalations_rule"),)

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    rule_key: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_priority: Mapped[str] = mapped_column(String(8))
    to_priority: Mapped[str] = mapped_column(String(8))
    from_owner_id: Mapped[uuid.UUID | None]
    to_queue: Mapped[str | None] = mapped_column(String(64))
    notified_user_id: Mapped[uuid.UUID | None]


class WorkQueue(UuidPk, Tracked, Base):
    """A team queue (e.g. "coordinators", "scheduling"): tasks nobody owns yet wait here
    for its members; its supervisor hears about escalations."""

    __tablename__ = "work_queues"
    __versioned__ = True

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    supervisor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    is_active: Mapped[bool] = mapped_column(default=True)


class QueueMember(UuidPk, Base):
    __tablename__ = "queue_members"
    __table_args__ = (UniqueConstraint("queue_id", "user_id", name="uq_queue_members_user"),)

    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("work_queues.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)


class OutreachAttempt(UuidPk, Tracked, Base):
    """A call, text, email or letter to a patient or their family, and how it went."""

    __tablename__ = "outreach_attempts"
    __versioned__ = True
    __table_args__ = (Index("ix_outreach_patient_when", "patient_id", "occurred_at"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # codes.OUTREACH_CHANNELS
    direction: Mapped[str] = mapped_column(String(8), default="outbound")
    outcome: Mapped[str] = mapped_column(String(16))  # codes.OUTREACH_OUTCOMES
    contact_name: Mapped[str | None] = mapped_column(String(150))
    note: Mapped[str | None] = mapped_column(Text)
    next_attempt_on: Mapped[dt.date | None] = mapped_column(Date)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Notification(UuidPk, Base):
    """Something a person should know (an escalation, an admission); read on My day."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at", "created_at"),
        UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(300))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
