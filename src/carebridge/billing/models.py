"""Claims with their attachments checklist, billing inquiries (cases with notes), and payment
plans with their instalments.

Claims, cases and plans keep their history of changes (``__versioned__``): every status of
a claim, with who changed it and when, stays readable. A claim's diagnoses and service lines
are JSON on the claim itself, so each version holds the claim exactly as it was sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk

Money = Numeric(10, 2)


class Claim(UuidPk, Tracked, Base):
    """A professional claim (837P) for one completed visit, sent to the patient's payer.

    ``lines`` are ``[{"code", "modifiers": [...], "charge": "125.00", "units": "1",
    "pointers": [1, 2], "service_date": "2026-11-19"}]``; ``diagnoses`` are
    ``[{"code": "E11.9", "display": ...}]``, the first the principal one. The raw 837 and the
    999 that answered it are kept as sent and received.
    """

    __tablename__ = "claims"
    __versioned__ = True
    __table_args__ = (
        Index("ix_claims_patient", "patient_id", "created_at"),
        Index("ix_claims_status", "status", "updated_at"),
    )

    number: Mapped[str] = mapped_column(String(12), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"), index=True)
    coverage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coverages.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # codes.CLAIM_STATUSES
    place_of_service: Mapped[str] = mapped_column(String(2))
    diagnoses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    total_charge: Mapped[Decimal] = mapped_column(Money)
    prior_authorization: Mapped[str | None] = mapped_column(String(50))
    # 1 original; 7 replacement, once the clearinghouse accepted an earlier submission.
    frequency: Mapped[str] = mapped_column(String(1), default="1")
    ever_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    submissions: Mapped[int] = mapped_column(default=0)
    control_number: Mapped[int | None] = mapped_column(BigInteger)
    request_x12: Mapped[str | None] = mapped_column(Text)
    response_x12: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    # The clearinghouse's errors (rejected), or why sending failed; one per line.
    last_error: Mapped[str | None] = mapped_column(Text)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    patient_responsibility: Mapped[Decimal | None] = mapped_column(Money)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    status_note: Mapped[str | None] = mapped_column(Text)


class ClaimAttachment(UuidPk, Tracked, Base):
    """One item of a claim's attachments checklist: received when it links a document of the
    patient. Sent with the claim as a PWK segment (report type, how it travels)."""

    __tablename__ = "claim_attachments"

    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # codes.ATTACHMENT_KINDS
    label: Mapped[str] = mapped_column(String(200))
    report_type: Mapped[str] = mapped_column(String(2))  # PWK01
    transmission: Mapped[str] = mapped_column(String(2), default="FX")  # PWK02
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))


class BillingCase(UuidPk, Tracked, Base):
    """A patient's billing question, worked until it is resolved."""

    __tablename__ = "billing_cases"
    __versioned__ = True
    __table_args__ = (
        Index("ix_billing_cases_patient", "patient_id", "status"),
        Index("ix_billing_cases_status", "status", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(12), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    topic: Mapped[str] = mapped_column(String(16))  # codes.CASE_TOPICS
    status: Mapped[str] = mapped_column(String(16), default="open")  # codes.CASE_STATUSES
    question: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None]


class BillingCaseNote(UuidPk, Base):
    """A note on a case: what was said or done, by whom and when. Notes are only added."""

    __tablename__ = "billing_case_notes"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("billing_cases.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class PaymentPlan(UuidPk, Tracked, Base):
    """An agreement that the patient pays ``total`` in instalments."""

    __tablename__ = "payment_plans"
    __versioned__ = True
    __table_args__ = (Index("ix_payment_plans_patient", "patient_id", "status"),)

    number: Mapped[str] = mapped_column(String(12), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    total: Mapped[Decimal] = mapped_column(Money)
    frequency: Mapped[str] = mapped_column(String(12), default="monthly")
    first_due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="active")  # codes.PLAN_STATUSES
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Instalment(UuidPk, Tracked, Base):
    """One payment of a plan. Late is computed (unpaid past ``due_on``), not stored."""

    __tablename__ = "instalments"
    __table_args__ = (Index("ix_instalments_due", "paid_on", "due_on"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payment_plans.id"), index=True)
    sequence: Mapped[int] = mapped_column(SmallInteger)
    due_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    reminder_outbox_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outbox.id"))
    reminder_skipped: Mapped[str | None] = mapped_column(String(200))
    late_task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id"))
