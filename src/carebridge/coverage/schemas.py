"""Pydantic models for payers, plans and coverages (Create / Update / Read kept apart).

Single fields are checked here (a member id's format, a known plan type or relationship);
what needs the database or several fields together (end before start, two primaries at once,
the subscriber of a dependent, a card image of this patient) is checked by
``coverage.service`` on the record as it would be saved, for a create and an update alike."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from carebridge.coverage.codes import PLAN_TYPES
from carebridge.patients.schemas import Phone

MEMBER_ID_MAX = 80


def _member_id(value: str) -> str:
    if not value:
        raise ValueError("enter the member id printed on the card")
    if any(ch.isspace() for ch in value):
        raise ValueError(
            f"a member id has no spaces; type '{value}' as '{''.join(value.split())}' "
            "exactly as on the card"
        )
    if len(value) > MEMBER_ID_MAX:
        raise ValueError(f"a member id is at most {MEMBER_ID_MAX} characters")
    return value


def _plan_type(value: str) -> str:
    if value not in PLAN_TYPES:
        raise ValueError(f"unknown plan type '{value}'; use one of {', '.join(PLAN_TYPES)}")
    return value


def _website(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("a website starts with https:// (e.g. https://www.example-health.com)")
    return value


MemberId = Annotated[str, AfterValidator(_member_id)]
PlanType = Annotated[str, AfterValidator(_plan_type)]
PriorAuthChannel = Literal["x12-278", "fhir-pas"]
Relationship = Literal["self", "spouse", "child", "other"]
Rank = Annotated[int, Field(ge=1, le=3, description="1 primary, 2 secondary, 3 tertiary")]
Status = Literal["active", "cancelled", "entered-in-error"]
Sex = Literal["female", "male", "unknown"]
Note = Annotated[str, Field(max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PayerCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    payer_id: str = Field(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9-]+$",
        description="The clearinghouse's EDI payer id (letters, digits and dashes)",
    )
    phone: Phone | None = None
    website: Annotated[str, AfterValidator(_website), Field(max_length=300)] | None = None
    prior_auth_channel: PriorAuthChannel = "x12-278"
    active: bool = True


class PayerUpdate(_In):
    """Only the fields sent change; ``version`` is the copy the change was made to.
    ``active: false`` deactivates the payer: it can no longer be chosen for a new coverage."""

    version: int
    name: str | None = Field(None, min_length=1, max_length=200)
    payer_id: str | None = Field(None, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9-]+$")
    phone: Phone | None = None
    website: Annotated[str, AfterValidator(_website), Field(max_length=300)] | None = None
    prior_auth_channel: PriorAuthChannel | None = None
    active: bool | None = None


class PayerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    payer_id: str = Field(description="EDI payer id")
    phone: str | None
    website: str | None
    prior_auth_channel: str = Field(description="x12-278 or fhir-pas")
    active: bool
    version: int


class PlanCreate(_In):
    payer_ref: uuid.UUID = Field(description="The payer's record id (PayerRead.id)")
    name: str = Field(min_length=1, max_length=200)
    plan_type: PlanType
    active: bool = True


class PlanUpdate(_In):
    """Only the fields sent change; ``active: false`` deactivates the plan."""

    version: int
    name: str | None = Field(None, min_length=1, max_length=200)
    plan_type: PlanType | None = None
    active: bool | None = None


class PlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    payer_ref: uuid.UUID
    name: str
    plan_type: str
    active: bool
    version: int


class _CoverageFields(_In):
    plan_id: uuid.UUID | None = None
    group_number: str | None = Field(None, max_length=50)
    group_name: str | None = Field(None, max_length=200)
    subscriber_family_name: str | None = Field(None, min_length=1, max_length=100)
    subscriber_given_names: str | None = Field(None, min_length=1, max_length=100)
    subscriber_birth_date: dt.date | None = None
    subscriber_sex: Sex | None = None
    subscriber_member_id: MemberId | None = None
    end_on: dt.date | None = None
    card_front_id: uuid.UUID | None = Field(None, description="A document of this patient")
    card_back_id: uuid.UUID | None = Field(None, description="A document of this patient")
    note: Note | None = None


class CoverageCreate(_CoverageFields):
    """``relationship`` other than ``self``: give the subscriber's family and given names,
    birth date and sex. ``rank`` 1 is primary, 2 secondary, 3 tertiary."""

    payer_ref: uuid.UUID = Field(description="The payer's record id (PayerRead.id)")
    member_id: MemberId
    relationship: Relationship = "self"
    rank: Rank = 1
    start_on: dt.date
    status: Status = "active"


class CoverageUpdate(_CoverageFields):
    """Only the fields sent are changed; ``version`` must match the stored one."""

    version: int
    payer_ref: uuid.UUID | None = None
    member_id: MemberId | None = None
    relationship: Relationship | None = None
    rank: Rank | None = None
    start_on: dt.date | None = None
    status: Status | None = None


class Subscriber(BaseModel):
    """The person the policy is in the name of, as a 270 names them: the patient when
    ``relationship`` is ``self``."""

    family_name: str
    given_names: str
    birth_date: dt.date | None
    sex: str | None
    member_id: str


class CoverageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    payer_ref: uuid.UUID
    payer_name: str
    payer_id: str = Field(description="EDI payer id of the payer")
    plan_id: uuid.UUID | None
    plan_name: str | None
    plan_type: str | None
    member_id: str
    group_number: str | None
    group_name: str | None
    relationship: str
    subscriber: Subscriber
    rank: int
    start_on: dt.date
    end_on: dt.date | None
    status: str
    card_front_id: uuid.UUID | None
    card_back_id: uuid.UUID | None
    note: str | None
    version: int
