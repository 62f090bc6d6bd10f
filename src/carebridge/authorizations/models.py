"""Prior authorizations, their service lines, supporting documents, submissions to the payer
and appeals.

An authorization keeps its history of changes (``__versioned__``): every status change is kept
with who made it and when. Each submission keeps the raw request and the raw answer (X12 278
or the PAS JSON) as sent and received, even when the answer could not be read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class PriorAuthorization(UuidPk, Tracked, Base):
    """A request to a payer to approve services for a patient under one of their coverages
    (FHIR Claim with use=preauthorization, answered by a ClaimResponse).

    The ordering provider is one of our practitioners; the rendering provider is one of ours
    or an outside provider from the referral directory. ``auth_number`` is the payer's
    authorization number (HCR02 / ClaimResponse.preAuthRef); ``number`` is ours.
    """

    __tablename__ = "prior_authorizations"
    __versioned__ = True
    __table_args__ = (
        Index("ix_prior_authorizations_patient", "patient_id", "status"),
        Index("ix_prior_authorizations_status_end", "status", "approved_end"),
        Index("ix_prior_authorizations_due", "status", "next_attempt_at"),
    )

    number: Mapped[str] = mapped_column(String(12), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    coverage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coverages.id"))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referrals.id"))
    ordering_practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"))
    rendering_practitioner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("practitioners.id")
    )
    rendering_provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("outside_providers.id")
    )
    # [{"code": "M54.50", "display": "..."}], the first is the principal diagnosis.
    diagnoses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # codes.STATUSES
    requested_start: Mapped[dt.date] = mapped_column(Date)
    requested_end: Mapped[dt.date] = mapped_column(Date)
    approved_start: Mapped[dt.date | None] = mapped_column(Date)
    approved_end: Mapped[dt.date | None] = mapped_column(Date)
    auth_number: Mapped[str | None] = mapped_column(String(50))
    decision_reason: Mapped[str | None] = mapped_column(Text)  # denial or pend reason
    decided_at: Mapped[dt.datetime | None]
    decision_source: Mapped[str | None] = mapped_column(String(12))  # payer | manual | appeal
    note: Mapped[str | None] = mapped_column(Text)
    # A submission waiting for its next try after a transient clearinghouse error.
    next_attempt_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class AuthorizationService(UuidPk, Base):
    """One service line: a CPT/HCPCS code with its units requested and (after the decision)
    approved. Lines are replaced as a whole while the request is a draft or pended."""

    __tablename__ = "prior_authorization_services"

    authorization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prior_authorizations.id"), index=True
    )
    line: Mapped[int] = mapped_column(SmallInteger)
    code: Mapped[str] = mapped_column(String(5))
    modifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    units_requested: Mapped[int]
    units_approved: Mapped[int | None]
    decision: Mapped[str | None] = mapped_column(String(20))  # codes.DECISIONS per line


class AuthorizationDocument(Base):
    """A document of the same patient sent in support of the request."""

    __tablename__ = "prior_authorization_documents"

    authorization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prior_authorizations.id"), primary_key=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), primary_key=True)


class AuthorizationSubmission(UuidPk, Tracked, Base):
    """One sending of the request to the payer, with the raw request and answer both ways.

    ``status``: ``pending`` (a transient error; it is tried again), ``answered`` (the answer was
    read and applied) or ``failed`` (attempts used up, refused, or an answer that could not be
    read; ``error`` says which segment or field)."""

    __tablename__ = "prior_authorization_submissions"
    __table_args__ = (Index("ix_pa_submissions_authorization", "authorization_id", "created_at"),)

    authorization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prior_authorizations.id"))
    channel: Mapped[str] = mapped_column(String(12))  # coverage.codes.PRIOR_AUTH_CHANNELS
    control_number: Mapped[int | None] = mapped_column(BigInteger)
    trace_number: Mapped[str] = mapped_column(String(50), unique=True)
    request_payload: Mapped[str] = mapped_column(Text)
    response_payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    answered_at: Mapped[dt.datetime | None]


class AuthorizationAppeal(UuidPk, Tracked, Base):
    """An appeal of a denial. An overturned appeal turns the denial into an approval."""

    __tablename__ = "prior_authorization_appeals"
    __versioned__ = True

    authorization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prior_authorizations.id"), index=True
    )
    level: Mapped[str] = mapped_column(String(12))  # codes.APPEAL_LEVELS
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(12), default="pending")  # codes.APPEAL_OUTCOMES
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
