"""Tasks with FHIR Task semantics. Other domains create them only through ``tasks.service``."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class Task(UuidPk, Tracked, Base):
    __tablename__ = "tasks"
    __versioned__ = True
    __table_args__ = (
        Index("ix_tasks_owner_open", "owner_id", "status", "due_at"),
        Index("ix_tasks_queue_open", "queue", "status", "due_at"),
        Index("ix_tasks_focus", "focus_type", "focus_id"),
        # A rule or a domain event raises a given task once (idempotent workers).
        UniqueConstraint("dedupe_key", name="uq_tasks_dedupe_key"),
    )

    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # FHIR TaskStatus: requested, ready, in-progress, on-hold, completed, cancelled, ...
    status: Mapped[str] = mapped_column(String(16), default="requested")
    business_status: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8), default="routine")  # routine urgent asap stat
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    queue: Mapped[str | None] = mapped_column(String(64))  # a team queue when no one owns it
    due_at: Mapped[dt.datetime | None]
    focus_type: Mapped[str | None] = mapped_column(String(64))
    focus_id: Mapped[uuid.UUID | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[dt.datetime | None]
