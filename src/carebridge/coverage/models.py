"""Payers, their plans, and the coverages a patient holds (FHIR Coverage).

A coverage keeps what an eligibility request (X12 270) needs: the payer and its EDI payer
id, the member id and group, the subscriber when the patient is a dependent, the order of
benefits and the dates. Coverages are never deleted: they end (``end_on``), or are
cancelled or entered in error. Every class keeps its history of changes (``__versioned__``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class Payer(UuidPk, Tracked, Base):
    """An insurer as the clearinghouse knows it. ``payer_id`` is the EDI payer id the
    clearinghouse routes on (NM109 of the 270's payer loop), not our record id."""

    __tablename__ = "payers"
    __versioned__ = True

    name: Mapped[str] = mapped_column(String(200))
    payer_id: Mapped[str] = mapped_column(String(80), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    website: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # How this payer takes prior authorization requests: codes.PRIOR_AUTH_CHANNELS
    # ("x12-278" through the clearinghouse, or "fhir-pas", a Da Vinci PAS bundle).
    prior_auth_channel: Mapped[str] = mapped_column(String(12), default="x12-278")


class Plan(UuidPk, Tracked, Base):
    """One of a payer's products ("Blue Choice PPO"); ``plan_type`` is one of
    ``codes.PLAN_TYPES``. ``payer_ref`` is the payer's record id."""

    __tablename__ = "plans"
    __versioned__ = True

    payer_ref: Mapped[uuid.UUID] = mapped_column(ForeignKey("payers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    plan_type: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Coverage(UuidPk, Tracked, Base):
    """A patient's insurance with one payer. When the patient is not the subscriber
    (``relationship`` other than ``self``), the subscriber's own name, birth date and sex
    are kept here, as the 270 sends them in the subscriber loop."""

    __tablename__ = "coverages"
    __versioned__ = True
    # The tab and the order-of-benefits check read a patient's coverages by status and rank.
    __table_args__ = (Index("ix_coverages_patient", "patient_id", "status", "rank"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    payer_ref: Mapped[uuid.UUID] = mapped_column(ForeignKey("payers.id"), index=True)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id"))
    member_id: Mapped[str] = mapped_column(String(80))
    group_number: Mapped[str | None] = mapped_column(String(50))
    group_name: Mapped[str | None] = mapped_column(String(200))
    relationship: Mapped[str] = mapped_column(String(8), default="self")  # codes.RELATIONSHIPS
    subscriber_family_name: Mapped[str | None] = mapped_column(String(100))
    subscriber_given_names: Mapped[str | None] = mapped_column(String(100))
    subscriber_birth_date: Mapped[dt.date | None] = mapped_column(Date)
    subscriber_sex: Mapped[str | None] = mapped_column(String(8))
    subscriber_member_id: Mapped[str | None] = mapped_column(String(80))
    rank: Mapped[int] = mapped_column(SmallInteger, default=1)  # 1 primary, 2, 3
    start_on: Mapped[dt.date] = mapped_column(Date)
    end_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")  # codes.STATUSES
    card_front_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    card_back_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    note: Mapped[str | None] = mapped_column(Text)


class EligibilityCheck(UuidPk, Tracked, Base):
    """One eligibility inquiry (270) for a coverage and what came back (271).

    A check is kept with its raw X12 both ways, even when the answer could not be read, so a
    payer's reply can always be shown to the clearinghouse. ``status`` is one of
    ``codes.CHECK_STATUSES``: ``pending`` (waiting for its next attempt), ``complete``,
    ``rejected`` (the payer answered with AAA), ``failed`` (attempts used up, or an answer
    that is unreadable or about someone else). ``result`` holds the plain reading of the 271
    (see ``coverage.eligibility``).
    """

    __tablename__ = "eligibility_checks"
    __table_args__ = (
        Index("ix_eligibility_checks_coverage", "coverage_id", "created_at"),
        Index("ix_eligibility_checks_patient", "patient_id", "created_at"),
        Index("ix_eligibility_checks_due", "status", "next_attempt_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    coverage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coverages.id"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"))
    service_date: Mapped[dt.date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(8), default="manual")  # manual | batch | api
    status: Mapped[str] = mapped_column(String(12), default="pending")
    trace_number: Mapped[str] = mapped_column(String(50), unique=True)
    control_number: Mapped[int] = mapped_column(BigInteger)
    request_x12: Mapped[str] = mapped_column(Text)
    response_x12: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None]
    active: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id"))


class ControlNumber(Base):
    """The last interchange control number (ISA13) used per sender id: each interchange we
    send must carry a new one, across processes, so it is taken under a row lock."""

    __tablename__ = "x12_control_numbers"

    sender_id: Mapped[str] = mapped_column(String(15), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)
