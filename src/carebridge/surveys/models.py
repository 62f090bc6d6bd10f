"""The tables of surveys: one invitation per fulfilled visit invited (its link's token kept
only as a SHA-256 hash), and at most one response per invitation.

A response is never changed once given: it has no version or history. The overall rating is
a column (the satisfaction measure counts it in SQL); every answer, by item key, is in
``answers``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk
from carebridge.lib.time import utcnow


class SurveyInvitation(UuidPk, Tracked, Base):
    """A survey sent for one fulfilled visit, answerable from its link until ``expires_at``."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        Index("ix_survey_invitations_patient_created", "patient_id", "created_at"),
        Index("ix_survey_invitations_created", "created_at"),  # the results page's period
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    language: Mapped[str] = mapped_column(String(8), default="en")
    outbox_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outbox.id"))
    expires_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]


class SurveyResponse(UuidPk, Base):
    """The answers given from an invitation's link."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_answered", "answered_at"),)

    invitation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_invitations.id"), unique=True
    )
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"))
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    language: Mapped[str] = mapped_column(String(8), default="en")
    overall: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
