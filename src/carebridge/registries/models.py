"""The tables of registries: a saved population query (``Registry``: a kind from
``registries.kinds`` with its parameters) and the tasks raised from one (``RegistryTask``),
which keep bulk task creation idempotent per registry, patient and title while the task is
open.

Built-in registries carry a ``builtin_key``; migration 0025 inserts them, so every install
has them from the first start.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class Registry(UuidPk, Tracked, Base):
    """A saved population query: who matches ``kind`` with ``parameters`` right now."""

    __tablename__ = "registries"
    __versioned__ = True

    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # kinds.KINDS
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str | None] = mapped_column(Text)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    builtin_key: Mapped[str | None] = mapped_column(String(32), unique=True)


class RegistryTask(UuidPk, Base):
    """A task raised for a patient from a registry (one per task)."""

    __tablename__ = "registry_tasks"
    __table_args__ = (Index("ix_registry_tasks_registry_patient", "registry_id", "patient_id"),)

    registry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("registries.id"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
