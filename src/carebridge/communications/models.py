"""The tables of communications: message templates (one per code, channel and language) and
every message sent to a patient or their family (email and SMS through the outbox; letters
printed and mailed)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class MessageTemplate(UuidPk, Tracked, Base):
    """Text with ``{{placeholders}}`` (``codes.PLACEHOLDERS``) for one channel in one
    language. The same ``code`` in English and Spanish is the same message translated."""

    __tablename__ = "message_templates"
    __versioned__ = True
    __table_args__ = (
        UniqueConstraint("code", "channel", "language", name="uq_message_templates_code"),
    )

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(150))
    channel: Mapped[str] = mapped_column(String(8))  # email | sms | letter
    language: Mapped[str] = mapped_column(String(8))  # en | es
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PatientCommunication(UuidPk, Tracked, Base):
    """One message to a patient or a related person. Email and SMS leave through the outbox
    (``outbox_id``; its status and delivery attempts are the delivery result); a letter is
    printed and marked mailed."""

    __tablename__ = "patient_communications"
    __versioned__ = True
    __table_args__ = (Index("ix_patient_communications_patient", "patient_id", "created_at"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    related_person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("related_persons.id"))
    recipient_name: Mapped[str] = mapped_column(String(150))
    channel: Mapped[str] = mapped_column(String(8))  # email | sms | letter
    address: Mapped[str] = mapped_column(String(400))  # email, E.164 number or postal address
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("message_templates.id"))
    template_code: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    outbox_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    # Letters: ready (to print) -> mailed; email/SMS: queued (the outbox says the rest).
    status: Mapped[str] = mapped_column(String(12))
    mailed_at: Mapped[dt.datetime | None]
