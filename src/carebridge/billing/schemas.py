"""Pydantic models for claims, billing cases, payment plans and estimates (Create / Update /
Read kept apart).

Shapes and code lists are checked here (a modifier's form, an amount's cents, a pointer's
range); what needs the database or a code set (the visit, the coverage, ICD-10-CM and
CPT/HCPCS codes, the patient's documents) is the service's, so its error names the field.
Changes carry the record's ``version``; a stale one is a 409.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from carebridge.billing import codes
from carebridge.coverage.x12.claim import TRANSMISSIONS


def _known(values: Sequence[str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"unknown {what} '{value}'; use one of {', '.join(values)}")
        return value

    return AfterValidator(check)


def _listed(values: Sequence[str]) -> Any:
    return Field(json_schema_extra={"enum": list(values)})


Amount = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)]
Paid = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
Units = Annotated[Decimal, Field(gt=0, le=999, decimal_places=3)]
Modifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{2}$", description="Two letters or digits")]
Topic = Annotated[str, _known(tuple(codes.CASE_TOPICS), "topic"), _listed(codes.CASE_TOPICS)]
CaseStatus = Annotated[
    str, _known(tuple(codes.CASE_STATUSES), "status"), _listed(codes.CASE_STATUSES)
]
ClaimStatus = Annotated[
    str, _known(tuple(codes.CLAIM_STATUSES), "status"), _listed(codes.CLAIM_STATUSES)
]
Outcome = Annotated[str, _known(tuple(codes.OUTCOMES), "outcome"), _listed(codes.OUTCOMES)]
AttachmentKind = Annotated[
    str, _known(tuple(codes.ATTACHMENT_KINDS), "attachment kind"), _listed(codes.ATTACHMENT_KINDS)
]
Transmission = Annotated[str, _known(tuple(TRANSMISSIONS), "transmission"), _listed(TRANSMISSIONS)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Note = Annotated[str | None, Field(default=None, max_length=4000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- claims --------------------------------------------------------------------------------


class ClaimLineIn(_In):
    code: Annotated[str, Field(min_length=1, max_length=10, description="CPT or HCPCS")]
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    charge: Amount
    units: Units = Decimal(1)
    pointers: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=lambda: [1],
        min_length=1,
        max_length=4,
        description="Positions (1-12) in the claim's diagnoses",
    )
    service_date: dt.date | None = Field(None, description="Default: the day of the visit")


class AttachmentIn(_In):
    kind: AttachmentKind
    label: Annotated[str | None, Field(default=None, max_length=200)] = None
    required: bool = True
    transmission: Transmission = "FX"
    document_id: uuid.UUID | None = None


class ClaimCreate(_In):
    """A claim for a completed visit. What is left out is filled in: the primary active
    coverage, the patient's active problems as diagnoses, the visit type's service at the
    fee schedule's charge."""

    appointment_id: uuid.UUID
    coverage_id: uuid.UUID | None = None
    diagnoses: list[Annotated[str, Field(max_length=10)]] | None = Field(
        None, max_length=12, description="ICD-10-CM, billable; the first is the principal one"
    )
    lines: list[ClaimLineIn] | None = Field(None, min_length=1, max_length=50)
    total: Amount | None = Field(None, description="When given, must equal the lines' sum")
    prior_authorization: Annotated[str | None, Field(default=None, max_length=50)] = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class ClaimUpdate(_In):
    """Correct a draft, ready or rejected claim; only the fields sent change."""

    version: int
    diagnoses: list[Annotated[str, Field(max_length=10)]] | None = Field(None, max_length=12)
    lines: list[ClaimLineIn] | None = Field(None, min_length=1, max_length=50)
    total: Amount | None = None
    prior_authorization: Annotated[str | None, Field(default=None, max_length=50)] = None
    coverage_id: uuid.UUID | None = None


class ClaimStep(_In):
    """``ready`` / ``reopen``; or ``outcome`` with the payer's decision: paid, partially paid
    (both with the amount paid) or denied, and the patient's responsibility."""

    action: Annotated[
        str,
        _known(("ready", "reopen", "outcome"), "action"),
        _listed(("ready", "reopen", "outcome")),
    ]
    version: int
    outcome: Outcome | None = None
    paid_amount: Paid | None = None
    patient_responsibility: Paid | None = None
    decided_on: dt.date | None = None
    note: Note = None


class ClaimSubmit(_In):
    version: int


class AttachmentUpdate(_In):
    """Mark a checklist item received (a document of the patient) or missing (null)."""

    version: int
    document_id: uuid.UUID | None = None


class Diagnosis(BaseModel):
    code: str
    display: str


class ClaimLineRead(BaseModel):
    code: str
    description: str = ""
    modifiers: list[str]
    charge: Decimal
    units: Decimal
    pointers: list[int]
    service_date: dt.date


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    label: str
    report_type: str
    transmission: str
    required: bool
    document_id: uuid.UUID | None
    received: bool = False
    version: int


class ClaimRead(BaseModel):
    id: uuid.UUID
    number: str
    patient_id: uuid.UUID
    appointment_id: uuid.UUID
    coverage_id: uuid.UUID
    payer_name: str
    status: str
    place_of_service: str
    diagnoses: list[Diagnosis]
    lines: list[ClaimLineRead]
    total_charge: Decimal
    prior_authorization: str | None
    frequency: str
    submissions: int
    submitted_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    last_error: str | None
    paid_amount: Decimal | None
    patient_responsibility: Decimal | None
    decided_on: dt.date | None
    status_note: str | None
    attachments: list[AttachmentRead]
    missing: list[str] = Field(default_factory=list, description="Required items not received")
    service_date: dt.date
    created_at: dt.datetime
    version: int


class ClaimRaw(BaseModel):
    """The 837 as last sent and the 999 that answered it."""

    request_x12: str | None
    response_x12: str | None


class StatusChange(BaseModel):
    version: int
    status: str
    changed_at: dt.datetime
    changed_by: str | None
    detail: str | None


# --- billing cases -------------------------------------------------------------------------


class CaseCreate(_In):
    topic: Topic
    question: Text
    owner_id: uuid.UUID | None = None
    claim_id: uuid.UUID | None = None


class CaseUpdate(_In):
    """Change status, owner or linked claim, and/or add a note; ``resolution`` is required to
    resolve."""

    version: int
    status: CaseStatus | None = None
    owner_id: uuid.UUID | None = None
    claim_id: uuid.UUID | None = None
    note: Note = None
    resolution: Note = None


class CaseNoteRead(BaseModel):
    body: str
    created_at: dt.datetime
    created_by: str | None


class CaseRead(BaseModel):
    id: uuid.UUID
    number: str
    patient_id: uuid.UUID
    patient_name: str = ""
    mrn: str = ""
    topic: str
    status: str
    question: str
    owner_id: uuid.UUID | None
    owner_name: str | None = None
    claim_id: uuid.UUID | None
    claim_number: str | None = None
    resolution: str | None
    resolved_at: dt.datetime | None
    notes: list[CaseNoteRead] = Field(default_factory=list)
    created_at: dt.datetime
    version: int


# --- payment plans -------------------------------------------------------------------------


class PlanCreate(_In):
    """Give either the number of instalments or the amount of each (the last one takes the
    remainder, so they sum exactly to the total)."""

    total: Amount
    instalments: Annotated[int | None, Field(default=None, ge=1, le=60)] = None
    instalment_amount: Amount | None = None
    first_due_on: dt.date
    frequency: Annotated[str, _known(tuple(codes.FREQUENCIES), "frequency")] = "monthly"
    claim_id: uuid.UUID | None = None
    note: Note = None

    @model_validator(mode="after")
    def _one_way(self) -> PlanCreate:
        if (self.instalments is None) == (self.instalment_amount is None):
            raise ValueError("give the number of instalments or the amount of each, not both")
        return self


class PaymentIn(_In):
    version: int
    amount: Amount
    paid_on: dt.date


class PlanCancel(_In):
    version: int
    note: Text


class InstalmentRead(BaseModel):
    id: uuid.UUID
    sequence: int
    due_on: dt.date
    amount: Decimal
    paid_amount: Decimal | None
    paid_on: dt.date | None
    late: bool
    days_late: int
    reminder: str
    version: int


class PlanRead(BaseModel):
    id: uuid.UUID
    number: str
    patient_id: uuid.UUID
    patient_name: str = ""
    mrn: str = ""
    total: Decimal
    paid: Decimal
    balance: Decimal
    frequency: str
    first_due_on: dt.date
    status: str
    claim_id: uuid.UUID | None
    note: str | None
    instalments: list[InstalmentRead]
    late: bool
    created_at: dt.datetime
    version: int


# --- estimates -----------------------------------------------------------------------------


class EstimateIn(_In):
    patient_id: uuid.UUID
    code: Annotated[str, Field(min_length=1, max_length=10, description="CPT or HCPCS")]
    allowed: Amount | None = Field(None, description="Default: the fee schedule's charge")


class EstimateRead(BaseModel):
    patient_id: uuid.UUID
    code: str
    description: str
    service_type: str
    available: bool
    allowed: Decimal
    patient_pays: Decimal
    plan_pays: Decimal
    steps: list[str]
    message: str
    payer_name: str | None
    checked_at: dt.datetime | None
