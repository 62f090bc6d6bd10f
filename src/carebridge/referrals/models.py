"""The directory of outside providers and the referrals sent to or received from them.

Both keep their history of changes (``__versioned__``): every status change of a referral is
kept with who made it and when.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class OutsideProvider(UuidPk, Tracked, Base):
    """A provider or organization outside the clinic that we refer to or hear from. Our own
    clinicians are ``scheduling.Practitioner``."""

    __tablename__ = "outside_providers"
    __versioned__ = True
    __table_args__ = (Index("ix_outside_providers_name", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    organization: Mapped[str | None] = mapped_column(String(200))
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    kind: Mapped[str] = mapped_column(String(24))  # codes.PROVIDER_KINDS
    specialty: Mapped[str | None] = mapped_column(String(100))
    address_line: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    fax: Mapped[str | None] = mapped_column(String(20))
    direct_address: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Referral(UuidPk, Tracked, Base):
    """FHIR ServiceRequest (category referral): outgoing (we send the patient to
    ``provider``) or incoming (``provider`` sent the patient to us)."""

    __tablename__ = "referrals"
    __versioned__ = True
    __table_args__ = (
        Index("ix_referrals_patient", "patient_id", "status"),
        # The tracker and the timers read open referrals by status and step date.
        Index("ix_referrals_status_sent", "status", "sent_at"),
        Index("ix_referrals_status_seen", "status", "seen_on"),
    )

    number: Mapped[str] = mapped_column(String(12), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    direction: Mapped[str] = mapped_column(String(8))  # outgoing | incoming
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outside_providers.id"), index=True)
    service_kind: Mapped[str] = mapped_column(String(24))  # codes.SERVICE_KINDS
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(8), default="routine")
    # [{"code": "E11.9", "display": "Type 2 diabetes mellitus without complications"}]
    diagnoses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # Why it was declined or cancelled (the latest such reason).
    status_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    accepted_at: Mapped[dt.datetime | None]
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"))
    scheduled_for: Mapped[dt.date | None] = mapped_column(Date)
    seen_on: Mapped[dt.date | None] = mapped_column(Date)
    report_received_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None]


class ReferralAttachment(Base):
    """A document of the same patient sent with (or received with) a referral."""

    __tablename__ = "referral_attachments"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), primary_key=True)
