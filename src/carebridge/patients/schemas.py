"""Pydantic models for patients (Create / Update / Read kept apart); validation at the edge:
phones become E.164, emails are checked, birth dates must be plausible."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from carebridge.lib.checksums import luhn_digit
from carebridge.patients.codes import (
    ETHNICITIES,
    IDENTIFIER_TYPES,
    RACES,
    RELATIONSHIPS,
    SHARING_CATEGORIES,
    Alcohol,
    AllergyCategory,
    AllergyStatus,
    AllergyType,
    Channel,
    ConditionStatus,
    ContactMethod,
    Criticality,
    EventKind,
    GenderIdentity,
    ItemStatus,
    Living,
    MedicationStatus,
    PatientStatus,
    Pronouns,
    RecordStatus,
    Severity,
    Sex,
    Source,
    TelecomUse,
    Tobacco,
    VerificationStatus,
)

EARLIEST_BIRTH = dt.date(1900, 1, 1)
DEFAULT_REGION = "US"


def e164(value: str) -> str:
    """Parse a phone number as typed (US default) into E.164, or say why not."""
    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValueError(f"'{value}' is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"'{value}' is not a valid phone number; include the area code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"'{value}' is not a valid email address: {exc}") from None


def plausible_birth_date(value: dt.date) -> dt.date:
    if value > dt.date.today():  # noqa: DTZ011 - a calendar date, no time involved
        raise ValueError("birth date is in the future")
    if value < EARLIEST_BIRTH:
        raise ValueError("birth date is before 1900; check the year")
    return value


def _known(table: dict[str, str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in table:
            raise ValueError(f"unknown {what} '{value}'; use one of {', '.join(table)}")
        return value

    return AfterValidator(check)


Phone = Annotated[str, AfterValidator(e164)]
Email = Annotated[str, AfterValidator(email)]
BirthDate = Annotated[dt.date, AfterValidator(plausible_birth_date)]
Race = Annotated[str, _known(RACES, "race code")]
Ethnicity = Annotated[str, _known(ETHNICITIES, "ethnicity code")]
Relationship = Annotated[str, _known(RELATIONSHIPS, "relationship")]
SharingCategory = Annotated[str, _known(SHARING_CATEGORIES, "sharing category")]
IdentifierType = Annotated[str, _known(IDENTIFIER_TYPES, "identifier type")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PhoneIn(_In):
    number: Phone
    use: TelecomUse = "mobile"


class IdentifierIn(_In):
    type: IdentifierType
    system: str = Field(min_length=1, max_length=200, description="Who issued it (URI or name)")
    value: str = Field(min_length=1, max_length=80)
    assigner: str | None = Field(None, max_length=120)


class RelatedPersonCreate(_In):
    name: str = Field(min_length=1, max_length=150)
    relationship: Relationship
    phone: Phone | None = None
    email: Email | None = None
    address: str | None = Field(None, max_length=300)
    emergency_contact: bool = False
    caregiver: bool = False
    personal_representative: bool = False
    note: Text | None = None


class RelatedPersonUpdate(_In):
    version: int
    name: str | None = Field(None, min_length=1, max_length=150)
    relationship: Relationship | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: str | None = Field(None, max_length=300)
    emergency_contact: bool | None = None
    caregiver: bool | None = None
    personal_representative: bool | None = None
    note: Text | None = None
    status: RecordStatus | None = None


class _Demographics(_In):
    preferred_name: str | None = Field(None, max_length=100)
    gender_identity: GenderIdentity | None = None
    pronouns: Pronouns | None = None
    language: Language = "en"
    interpreter_needed: bool = False
    race: list[Race] = Field(default_factory=list)
    ethnicity: Ethnicity | None = None
    email: Email | None = None
    address_line1: str | None = Field(None, max_length=150)
    address_line2: str | None = Field(None, max_length=150)
    city: str | None = Field(None, max_length=80)
    state: str | None = Field(None, max_length=40)
    postal_code: str | None = Field(None, pattern=r"^[0-9]{5}(-[0-9]{4})?$")
    country: str = Field("US", pattern=r"^[A-Z]{2}$")
    preferred_contact_method: ContactMethod | None = None
    preferred_contact_times: str | None = Field(None, max_length=120)
    alerts: Text | None = None


class PatientCreate(_Demographics):
    family_name: Name
    given_names: Name
    birth_date: BirthDate
    sex: Sex
    phones: list[PhoneIn] = Field(default_factory=list, max_length=5)
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=10)
    emergency_contacts: list[RelatedPersonCreate] = Field(default_factory=list, max_length=5)
    mrn: str | None = Field(
        None, pattern=r"^[A-Za-z0-9-]{4,16}$", description="Given only when importing a chart"
    )
    duplicate_override_reason: str | None = Field(
        None, max_length=500, description="Why this is not one of the suggested duplicates"
    )
    primary_coordinator_id: uuid.UUID | None = None


class PatientUpdate(_In):
    """Only the fields sent are changed; ``version`` must match the stored one."""

    version: int
    family_name: Name | None = None
    given_names: Name | None = None
    preferred_name: str | None = Field(None, max_length=100)
    birth_date: BirthDate | None = None
    sex: Sex | None = None
    gender_identity: GenderIdentity | None = None
    pronouns: Pronouns | None = None
    language: Language | None = None
    interpreter_needed: bool | None = None
    race: list[Race] | None = None
    ethnicity: Ethnicity | None = None
    email: Email | None = None
    phones: list[PhoneIn] | None = Field(None, max_length=5)
    address_line1: str | None = Field(None, max_length=150)
    address_line2: str | None = Field(None, max_length=150)
    city: str | None = Field(None, max_length=80)
    state: str | None = Field(None, max_length=40)
    postal_code: str | None = Field(None, pattern=r"^[0-9]{5}(-[0-9]{4})?$")
    preferred_contact_method: ContactMethod | None = None
    preferred_contact_times: str | None = Field(None, max_length=120)
    alerts: Text | None = None
    status: Literal["active", "inactive", "deceased"] | None = None
    deceased_date: dt.date | None = None
    primary_coordinator_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _deceased_needs_date(self) -> PatientUpdate:
        if self.status == "deceased" and self.deceased_date is None:
            raise ValueError("a deceased patient needs deceased_date")
        return self


class TelecomRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    system: str
    use: str
    value: str
    rank: int
    status: str


class IdentifierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str
    system: str
    value: str
    assigner: str | None
    status: str


class PatientSummary(BaseModel):
    """One row of a patient list."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    mrn: str
    family_name: str
    given_names: str
    preferred_name: str | None
    birth_date: dt.date
    sex: str
    status: str
    phone: str | None = None


class PatientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    mrn: str
    status: PatientStatus
    family_name: str
    given_names: str
    preferred_name: str | None
    birth_date: dt.date
    deceased_date: dt.date | None
    sex: Sex
    gender_identity: str | None
    pronouns: str | None
    language: str
    interpreter_needed: bool
    race: list[str]
    ethnicity: str | None
    email: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str
    preferred_contact_method: str | None
    preferred_contact_times: str | None
    alerts: str | None
    allergy_status: str
    primary_coordinator_id: uuid.UUID | None
    merged_into_id: uuid.UUID | None
    telecoms: list[TelecomRead]
    identifiers: list[IdentifierRead]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class DuplicateCandidate(BaseModel):
    patient: PatientSummary
    score: int
    level: str
    reasons: list[str]


class RelatedPersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    name: str
    relationship_code: str
    phone: str | None
    email: str | None
    address: str | None
    emergency_contact: bool
    caregiver: bool
    personal_representative: bool
    note: str | None
    status: str
    version: int


class SharingConsentCreate(_In):
    related_person_id: uuid.UUID
    categories: list[SharingCategory] = Field(min_length=1)
    signed_on: dt.date
    expires_on: dt.date | None = None
    note: Text | None = None
    document_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _expiry_after_signing(self) -> SharingConsentCreate:
        if self.expires_on is not None and self.expires_on < self.signed_on:
            raise ValueError("expires_on is before signed_on")
        return self


class SharingConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    related_person_id: uuid.UUID
    categories: list[str]
    status: str
    signed_on: dt.date
    expires_on: dt.date | None
    document_id: uuid.UUID | None
    note: str | None
    version: int


class ContactConsentCreate(_In):
    channel: Channel
    decision: Literal["permit", "deny"]
    effective_from: dt.date
    effective_until: dt.date | None = None
    source: str | None = Field(None, max_length=120)


class ContactConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    decision: str
    effective_from: dt.date
    effective_until: dt.date | None
    source: str | None
    created_at: dt.datetime


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime


# --- health history --------------------------------------------------------------------


class _ItemIn(_In):
    source: Source = "reported"
    note: Text | None = None


class ConditionCreate(_ItemIn):
    code: str = Field(min_length=1, max_length=32)
    code_system: Literal["icd-10-cm", "snomed"] = "icd-10-cm"
    display: str | None = Field(None, max_length=300, description="Required for SNOMED CT")
    clinical_status: ConditionStatus = "active"
    verification_status: VerificationStatus = "confirmed"
    onset_date: dt.date | None = None
    abatement_date: dt.date | None = None


class AllergyCreate(_ItemIn):
    substance: str = Field(min_length=1, max_length=200)
    type: AllergyType = "allergy"
    category: AllergyCategory | None = None
    criticality: Criticality | None = None
    severity: Severity | None = None
    reactions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=10
    )
    clinical_status: AllergyStatus = "active"
    onset_date: dt.date | None = None


class MedicationCreate(_ItemIn):
    name: str = Field(min_length=1, max_length=200)
    rxnorm: str | None = Field(None, pattern=r"^[0-9]{1,12}$")
    dose: str | None = Field(None, max_length=60)
    route: str | None = Field(None, max_length=30)
    frequency: str | None = Field(None, max_length=60)
    start_date: dt.date | None = None
    stop_date: dt.date | None = None
    prescriber: str | None = Field(None, max_length=150)
    status: MedicationStatus = "active"
    reason: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _stop_after_start(self) -> MedicationCreate:
        if self.start_date and self.stop_date and self.stop_date < self.start_date:
            raise ValueError("stop_date is before start_date")
        return self


class FamilyHistoryCreate(_ItemIn):
    relationship: Relationship
    condition: str = Field(min_length=1, max_length=200)
    code: str | None = Field(None, max_length=32, description="ICD-10-CM, optional")
    onset_age: int | None = Field(None, ge=0, le=120)
    deceased: bool = False
    status: ItemStatus = "completed"


class PastEventCreate(_ItemIn):
    kind: EventKind
    description: str = Field(min_length=1, max_length=300)
    code: str | None = Field(None, max_length=32)
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    facility: str | None = Field(None, max_length=150)
    status: ItemStatus = "completed"


class SocialHistoryIn(_In):
    version: int | None = Field(None, description="Required when one is already recorded")
    tobacco: Tobacco | None = None
    alcohol: Alcohol | None = None
    substance_use: str | None = Field(None, max_length=200)
    activity_minutes_per_week: int | None = Field(None, ge=0, le=10080)
    occupation: str | None = Field(None, max_length=120)
    living_situation: Living | None = None
    caregiver_at_home: bool | None = None
    source: Source = "reported"
    note: Text | None = None


class ItemStatusUpdate(_In):
    """Change the status of a history entry (e.g. resolve a problem, stop a medication,
    mark something entered in error); entries are never deleted."""

    version: int
    status: str = Field(min_length=1, max_length=24)
    note: Text | None = None
    end_date: dt.date | None = None


class HistoryItemRead(BaseModel):
    """Any health-history entry, as stored."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    kind: str
    version: int
    data: dict[str, Any]
    recorded_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class VersionRead(BaseModel):
    entity_type: str
    entity_id: uuid.UUID
    version: int
    action: str
    changed_at: dt.datetime
    changed_by: str | None
    changes: dict[str, Any]


def mrn_check_digit(digits: str) -> str:
    """Luhn check digit, so a mistyped MRN is caught before it finds the wrong chart."""
    return luhn_digit(digits)


MRN_PATTERN = re.compile(r"^[0-9]{8}$")
