"""Pydantic models for prior authorizations (Create / Update / Read kept apart).

Shapes and code lists are checked here; what needs the database or the code sets (procedure
codes through ``normalize_procedure``, ICD-10-CM, the coverage, providers and documents of
this patient) is the service's, so its error names the field at fault. Changes carry the
record's ``version``; a stale one is a 409.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from carebridge.authorizations import codes


def _known(values: Sequence[str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"unknown {what} '{value}'; use one of {', '.join(values)}")
        return value

    return AfterValidator(check)


def _listed(values: Sequence[str]) -> Any:
    return Field(json_schema_extra={"enum": list(values)})


Decision = Annotated[
    str, _known(tuple(codes.DECISIONS), "decision"), _listed(tuple(codes.DECISIONS))
]
AppealLevel = Annotated[
    str, _known(tuple(codes.APPEAL_LEVELS), "appeal level"), _listed(tuple(codes.APPEAL_LEVELS))
]
AppealOutcome = Annotated[
    str,
    _known(tuple(codes.APPEAL_OUTCOMES), "appeal outcome"),
    _listed(tuple(codes.APPEAL_OUTCOMES)),
]
Status = Annotated[str, _known(tuple(codes.STATUSES), "status"), _listed(tuple(codes.STATUSES))]
Modifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{2}$")]
Note = Annotated[str | None, Field(default=None, max_length=4000)]
Code = Annotated[str, Field(min_length=1, max_length=20)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ServiceLineIn(_In):
    code: Code = Field(description="CPT or HCPCS code")
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units_requested: int = Field(ge=1, le=999)


class AuthorizationCreate(_In):
    coverage_id: uuid.UUID = Field(description="One of the patient's coverages")
    ordering_practitioner_id: uuid.UUID = Field(description="Our practitioner who orders it")
    rendering_practitioner_id: uuid.UUID | None = Field(
        None, description="Our practitioner who gives the service"
    )
    rendering_provider_id: uuid.UUID | None = Field(
        None, description="Or an outside provider from the referral directory"
    )
    referral_id: uuid.UUID | None = None
    diagnoses: list[Code] = Field(min_length=1, max_length=12, description="ICD-10-CM codes")
    services: list[ServiceLineIn] = Field(min_length=1, max_length=12)
    document_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    requested_start: dt.date
    requested_end: dt.date
    note: Note = None


class AuthorizationUpdate(_In):
    """Only the fields sent change (a draft or a pended request); ``services`` replaces the
    lines as a whole."""

    version: int
    coverage_id: uuid.UUID | None = None
    ordering_practitioner_id: uuid.UUID | None = None
    rendering_practitioner_id: uuid.UUID | None = None
    rendering_provider_id: uuid.UUID | None = None
    referral_id: uuid.UUID | None = None
    diagnoses: list[Code] | None = Field(None, min_length=1, max_length=12)
    services: list[ServiceLineIn] | None = Field(None, min_length=1, max_length=12)
    document_ids: list[uuid.UUID] | None = Field(None, max_length=20)
    requested_start: dt.date | None = None
    requested_end: dt.date | None = None
    note: Note = None


class VersionIn(_In):
    version: int


class CancelIn(_In):
    version: int
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class LineDecision(_In):
    line: int = Field(ge=1, le=12)
    units_approved: int = Field(ge=0, le=999)


class DecisionIn(_In):
    """A decision recorded by hand (a phone or fax answer). For an approval give the payer's
    authorization number and the approved dates; units default to those requested."""

    version: int
    decision: Decision
    auth_number: Annotated[str | None, Field(default=None, max_length=50)] = None
    approved_start: dt.date | None = None
    approved_end: dt.date | None = None
    reason: Annotated[str | None, Field(default=None, max_length=2000)] = None
    lines: list[LineDecision] = Field(default_factory=list, max_length=12)


class AppealCreate(_In):
    version: int = Field(description="The authorization's version")
    level: AppealLevel = "first"
    submitted_on: dt.date
    reason: Annotated[str, Field(min_length=1, max_length=4000)]


class AppealDecisionIn(_In):
    version: int = Field(description="The appeal's version")
    outcome: AppealOutcome
    decided_on: dt.date
    note: Note = None


class Diagnosis(BaseModel):
    code: str
    display: str


class ServiceLineRead(BaseModel):
    line: int
    code: str
    description: str
    modifiers: list[str]
    units_requested: int
    units_approved: int | None
    decision: str | None
    units_used: int = 0
    units_remaining: int | None = None
    over_by: int = 0


class SubmissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    trace_number: str
    control_number: int | None
    status: str
    outcome: str | None
    error: str | None
    attempts: int
    request_payload: str
    response_payload: str | None
    created_at: dt.datetime
    answered_at: dt.datetime | None


class AppealRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    level: str
    submitted_on: dt.date
    reason: str
    outcome: str
    decided_on: dt.date | None
    note: str | None
    version: int


class AuthorizationRead(BaseModel):
    id: uuid.UUID
    number: str
    patient_id: uuid.UUID
    patient_name: str
    mrn: str
    coverage_id: uuid.UUID
    payer_name: str
    channel: str
    member_id: str
    referral_id: uuid.UUID | None
    ordering_practitioner_id: uuid.UUID
    ordering_name: str
    rendering_practitioner_id: uuid.UUID | None
    rendering_provider_id: uuid.UUID | None
    rendering_name: str | None
    diagnoses: list[Diagnosis]
    services: list[ServiceLineRead]
    document_ids: list[uuid.UUID]
    status: str
    requested_start: dt.date
    requested_end: dt.date
    approved_start: dt.date | None
    approved_end: dt.date | None
    auth_number: str | None
    decision_reason: str | None
    decided_at: dt.datetime | None
    decision_source: str | None
    note: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    cancel_reason: str | None
    created_at: dt.datetime
    version: int
    # Worked out: days until the approved end, and the flags the board sorts by.
    days_left: int | None = None
    expiring_soon: bool = False
    over_used: bool = False
    low_units: bool = False
    actions: list[str] = Field(default_factory=list)


class AuthorizationDetail(AuthorizationRead):
    submissions: list[SubmissionRead] = Field(default_factory=list)
    appeals: list[AppealRead] = Field(default_factory=list)


class StatusChange(BaseModel):
    version: int
    status: str
    changed_at: dt.datetime
    changed_by: str | None
    auth_number: str | None
    reason: str | None


class BookingWarning(BaseModel):
    code: str
    message: str
