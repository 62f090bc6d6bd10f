"""The tables of social: screenings (one instrument's answers, scored) and the social needs
a positive domain records, with their dates and status."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class Screening(UuidPk, Tracked, Base):
    """One completed screening (FHIR QuestionnaireResponse). ``answers`` is
    ``{link_id: [answer codes]}`` as given; ``results`` is each domain's result
    ``[{"domain", "positive", "total"}]`` as scored when it was saved."""

    __tablename__ = "social_screenings"
    __table_args__ = (Index("ix_social_screenings_patient", "patient_id", "screened_at"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    instrument: Mapped[str] = mapped_column(String(32))
    instrument_version: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="completed")
    respondent: Mapped[str] = mapped_column(String(16))  # patient | caregiver
    language: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(16))  # in-person | phone
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    positive: Mapped[bool] = mapped_column(Boolean)
    screened_at: Mapped[dt.datetime]
    screened_on: Mapped[dt.date] = mapped_column(Date)  # the clinic's calendar day
    rescreen_due_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)  # why it was entered in error


class SocialNeed(UuidPk, Tracked, Base):
    """A need a positive domain recorded: open until addressed or declined by the patient."""

    __tablename__ = "social_needs"
    __table_args__ = (Index("ix_social_needs_patient", "patient_id", "status"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    screening_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("social_screenings.id"), index=True)
    domain: Mapped[str] = mapped_column(String(24))  # instruments.DOMAINS
    # open | addressed | declined; entered-in-error with the screening that found it
    status: Mapped[str] = mapped_column(String(16), default="open")
    identified_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
