"""The outbox. A message is written in the same transaction as the change that causes it and
delivered later by the worker, which records the real result of every attempt."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, BigIntPk, UuidPk
from carebridge.lib.time import utcnow


class OutboxMessage(UuidPk, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )

    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"), index=True)
    focus_type: Mapped[str | None] = mapped_column(String(64))
    focus_id: Mapped[uuid.UUID | None]
    # pending -> sent | failed (gave up) | cancelled; "sending" while a worker holds it.
    status: Mapped[str] = mapped_column(String(12), default="pending")
    not_before: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(200))  # the far side's message id
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeliveryAttempt(Base):
    """One try at delivering a message, with what the far side answered."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox.id"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(12))  # accepted | failed | skipped
    detail: Mapped[str | None] = mapped_column(Text)
