"""Payers, their plans, and the coverages a patient holds (FHIR Coverage).

A coverage keeps what an eligibility request (X12 270) needs: the payer and its EDI payer
id, the member id and group, the subscriber when the patient is a dependent, the order of
benefits and the dates. Coverages are never deleted: they end (``end_on``), or are
cancelled or entered in error. Every class keeps its history of changes (``__versioned__``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, Date, ForeignKey, Index, SmallInteger, String, Text
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
