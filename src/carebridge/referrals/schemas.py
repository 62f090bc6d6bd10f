"""Pydantic models for directory entries and referrals (Create / Update / Read kept apart).

Shapes and code lists are checked here (an NPI's check digit, a Direct address's form);
what needs the database or the terminology (ICD-10-CM codes, the provider, the patient's
documents and appointments) is the service's, so its error names the field at fault.
Updates carry the record's ``version``; a stale one is a 409.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from carebridge.lib.checksums import npi_is_valid
from carebridge.referrals import codes

_DIRECT = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def _known(values: Sequence[str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"unknown {what} '{value}'; use one of {', '.join(values)}")
        return value

    return AfterValidator(check)


def _listed(values: Sequence[str]) -> Any:
    """OpenAPI shows the values a text field takes."""
    return Field(json_schema_extra={"enum": list(values)})


def _npi(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not npi_is_valid(value):
        raise ValueError(
            f"'{value[:12]}' is not a valid NPI: an NPI is 10 digits with a correct check "
            "digit; check it against the NPPES registry"
        )
    return value


def _direct(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not _DIRECT.fullmatch(value):
        raise ValueError(
            "a Direct address looks like an email address, e.g. dr.lee@direct.example.org"
        )
    return value


ProviderKind = Annotated[
    str, _known(tuple(codes.PROVIDER_KINDS), "provider kind"), _listed(codes.PROVIDER_KINDS)
]
ServiceKind = Annotated[
    str, _known(tuple(codes.SERVICE_KINDS), "service kind"), _listed(codes.SERVICE_KINDS)
]
Direction = Annotated[str, _known(tuple(codes.DIRECTIONS), "direction"), _listed(codes.DIRECTIONS)]
Urgency = Annotated[str, _known(tuple(codes.URGENCIES), "urgency"), _listed(codes.URGENCIES)]
Status = Annotated[str, _known(tuple(codes.STATUSES), "status"), _listed(codes.STATUSES)]
ActionName = Annotated[str, _known(tuple(codes.ACTIONS), "action"), _listed(codes.ACTIONS)]
Npi = Annotated[str | None, Field(default=None, max_length=10), AfterValidator(_npi)]
DirectAddress = Annotated[str | None, Field(default=None, max_length=254), AfterValidator(_direct)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Short = Annotated[str | None, Field(default=None, max_length=200)]
Phone = Annotated[str | None, Field(default=None, max_length=20)]
Reason = Annotated[str, Field(min_length=1, max_length=4000)]
Note = Annotated[str | None, Field(default=None, max_length=4000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- the directory ---------------------------------------------------------------------------


class _ProviderDetails(_In):
    """What a directory entry holds besides its name, kind and active flag (all optional)."""

    organization: Short = None
    npi: Npi = None
    specialty: Annotated[str | None, Field(default=None, max_length=100)] = None
    address_line: Short = None
    city: Annotated[str | None, Field(default=None, max_length=100)] = None
    state: Annotated[str | None, Field(default=None, pattern=r"^[A-Z]{2}$")] = None
    postal_code: Annotated[str | None, Field(default=None, pattern=r"^\d{5}(-\d{4})?$")] = None
    phone: Phone = None
    fax: Phone = None
    direct_address: DirectAddress = None


class ProviderCreate(_ProviderDetails):
    name: Name
    kind: ProviderKind
    active: bool = True


class ProviderUpdate(_ProviderDetails):
    """Only the fields sent change; ``version`` is the copy the change was made to."""

    version: int
    name: Name | None = None
    kind: ProviderKind | None = None
    active: bool | None = None


class ProviderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    organization: str | None
    npi: str | None
    specialty: str | None
    address_line: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    phone: str | None
    fax: str | None
    direct_address: str | None
    active: bool
    version: int


# --- referrals -------------------------------------------------------------------------------


class ReferralCreate(_In):
    direction: Direction = "outgoing"
    provider_id: uuid.UUID = Field(
        description="The directory entry referred to (outgoing) or referring (incoming)"
    )
    service_kind: ServiceKind
    reason: Reason
    urgency: Urgency = "routine"
    diagnoses: list[Annotated[str, Field(max_length=10)]] = Field(
        default_factory=list, max_length=12, description="ICD-10-CM codes, billable"
    )
    attachment_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=20, description="Documents of the same patient"
    )
    note: Note = None


class ReferralUpdate(_In):
    """Details of an open referral; only the fields sent change. Status changes are
    transitions (``ReferralTransition``)."""

    version: int
    provider_id: uuid.UUID | None = None
    service_kind: ServiceKind | None = None
    reason: Reason | None = None
    urgency: Urgency | None = None
    diagnoses: list[Annotated[str, Field(max_length=10)]] | None = Field(
        default=None, max_length=12
    )
    attachment_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)
    note: Note = None


class ReferralTransition(_In):
    """One step of the lifecycle. ``reason`` is required to decline or cancel; to schedule,
    give ``appointment_id`` (booked with us) or ``scheduled_for`` (an outside date)."""

    action: ActionName
    version: int
    reason: Annotated[str | None, Field(default=None, max_length=2000)] = None
    appointment_id: uuid.UUID | None = None
    scheduled_for: dt.date | None = None
    seen_on: dt.date | None = None
    report_received_on: dt.date | None = None


class Diagnosis(BaseModel):
    code: str
    display: str


class ReferralRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    patient_id: uuid.UUID
    direction: str
    provider: ProviderRead
    service_kind: str
    reason: str
    urgency: str
    diagnoses: list[Diagnosis]
    attachment_ids: list[uuid.UUID]
    status: str
    status_reason: str | None
    note: str | None
    sent_at: dt.datetime | None
    accepted_at: dt.datetime | None
    appointment_id: uuid.UUID | None
    scheduled_for: dt.date | None
    seen_on: dt.date | None
    report_received_on: dt.date | None
    closed_at: dt.datetime | None
    created_at: dt.datetime
    created_by: uuid.UUID | None
    version: int
    # When the open step's timer fires (not scheduled / no report), and whether it has.
    due_on: dt.date | None = None
    overdue: bool = False
    actions: list[str] = Field(default_factory=list)


class StatusChange(BaseModel):
    """One entry of a referral's status history."""

    version: int
    status: str
    changed_at: dt.datetime
    changed_by: str | None
    reason: str | None
