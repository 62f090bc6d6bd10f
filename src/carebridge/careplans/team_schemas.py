"""Pydantic models for care-team members and barriers to care (Create / Update / Read kept
apart). Single fields are checked here (an NPI's check digit, a phone number, a known role or
barrier); what needs the database or another field (an active user, a related person of this
patient, an end date after the start) is checked by ``careplans.team`` and
``careplans.barriers``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from carebridge.careplans.codes import BARRIERS, MEMBER_KINDS, TEAM_ROLES
from carebridge.lib.checksums import npi_is_valid
from carebridge.patients.schemas import Email, Phone


def _known(table: dict[str, str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in table:
            raise ValueError(f"unknown {what} '{value}'; use one of {', '.join(table)}")
        return value

    return AfterValidator(check)


def _npi(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        raise ValueError(f"an NPI is 10 digits; '{value}' is not")
    if not npi_is_valid(digits):
        raise ValueError(
            f"NPI {digits} fails its check digit (the last digit); look for a mistyped "
            "or swapped digit"
        )
    return digits


MemberKind = Annotated[
    Literal["staff", "provider", "caregiver"], Field(description=", ".join(MEMBER_KINDS))
]
TeamRole = Annotated[str, _known(TEAM_ROLES, "care-team role")]
BarrierKind = Annotated[str, _known(BARRIERS, "barrier")]
Npi = Annotated[str, AfterValidator(_npi)]
Note = Annotated[str, Field(max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CareTeamMemberCreate(_In):
    """``staff``: give ``user_id`` (an active user). ``provider``: give ``name`` (and the
    NPI, organization and contact details you have). ``caregiver``: give
    ``related_person_id`` (one of this patient's family and contacts) or a ``name``."""

    member_kind: MemberKind
    role: TeamRole
    user_id: uuid.UUID | None = None
    related_person_id: uuid.UUID | None = None
    name: str | None = Field(None, min_length=1, max_length=150)
    organization: str | None = Field(None, max_length=200)
    npi: Npi | None = None
    phone: Phone | None = None
    email: Email | None = None
    start_on: dt.date
    end_on: dt.date | None = None
    note: Note | None = None


class CareTeamMemberUpdate(_In):
    """Only the fields sent are changed; ``version`` must match. Who the member is (kind,
    user, related person) does not change: end the membership and add the new one."""

    version: int
    role: TeamRole | None = None
    name: str | None = Field(None, min_length=1, max_length=150)
    organization: str | None = Field(None, max_length=200)
    npi: Npi | None = None
    phone: Phone | None = None
    email: Email | None = None
    start_on: dt.date | None = None
    end_on: dt.date | None = None
    note: Note | None = None


class CareTeamMemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    member_kind: str
    role: str
    user_id: uuid.UUID | None
    related_person_id: uuid.UUID | None
    name: str
    organization: str | None
    npi: str | None
    phone: str | None
    email: str | None
    start_on: dt.date
    end_on: dt.date | None
    note: str | None
    version: int


class CareTeamRead(BaseModel):
    patient_id: uuid.UUID
    primary_coordinator_id: uuid.UUID | None
    primary_coordinator_name: str | None
    members: list[CareTeamMemberRead] = Field(description="Current members first, then past")


class BarrierCreate(_In):
    kind: BarrierKind
    note: Note | None = None
    identified_on: dt.date | None = Field(None, description="Default: today")


class BarrierUpdate(_In):
    """Resolve with ``status: resolved`` (``resolved_on`` defaults to today); reopen with
    ``status: active``."""

    version: int
    note: Note | None = None
    status: Literal["active", "resolved"] | None = None
    identified_on: dt.date | None = None
    resolved_on: dt.date | None = None


class BarrierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    kind: str
    status: str
    note: str | None
    identified_on: dt.date
    resolved_on: dt.date | None
    version: int
