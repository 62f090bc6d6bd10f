"""Pydantic models for scheduling (Create / Update / Read kept apart)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from carebridge.coverage.procedures import normalize_procedure
from carebridge.lib.checksums import npi_is_valid
from carebridge.lib.errors import ValidationFailed
from carebridge.patients.schemas import Language, Phone
from carebridge.scheduling.codes import CANCEL_REASONS, SPECIALTIES, DayPart, Modality, VisitKind

MAX_WINDOW_DAYS = 62


def _npi(value: str) -> str:
    if not npi_is_valid(value):
        raise ValueError(f"'{value}' is not a valid NPI (10 digits with a valid check digit)")
    return value


def _specialty(value: str) -> str:
    if value not in SPECIALTIES:
        raise ValueError(f"unknown specialty '{value}'; use one of {', '.join(SPECIALTIES)}")
    return value


def _zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{value}' (use an IANA name such as America/Chicago)"
        ) from None
    return value


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("give the time with its UTC offset, e.g. 2026-12-01T09:30:00-06:00")
    return value.astimezone(dt.UTC)


def _cancel_reason(value: str) -> str:
    if value not in CANCEL_REASONS:
        raise ValueError(f"unknown cancellation reason '{value}'")
    return value


Npi = Annotated[str, AfterValidator(_npi)]
Specialty = Annotated[str, AfterValidator(_specialty)]
Zone = Annotated[str, AfterValidator(_zone)]
Aware = Annotated[dt.datetime, AfterValidator(_aware)]
CancelReason = Annotated[str, AfterValidator(_cancel_reason)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PractitionerCreate(_In):
    name: str = Field(min_length=1, max_length=150)
    npi: Npi | None = None
    specialties: list[Specialty] = Field(min_length=1)
    languages: list[Language] = Field(default_factory=lambda: ["en"])
    phone: Phone | None = None
    appointment_type_codes: list[str] = Field(default_factory=list)
    user_id: uuid.UUID | None = Field(None, description="The practitioner's own sign-in")


class PractitionerRead(_Read):
    id: uuid.UUID
    name: str
    npi: str | None
    specialties: list[str]
    languages: list[str]
    phone: str | None
    active: bool


class LocationCreate(_In):
    name: str = Field(min_length=1, max_length=150)
    timezone: Zone
    address: str | None = Field(None, max_length=300)
    phone: Phone | None = None


class LocationRead(_Read):
    id: uuid.UUID
    name: str
    timezone: str
    address: str | None
    phone: str | None


class RoomCreate(_In):
    location_id: uuid.UUID
    name: str = Field(min_length=1, max_length=80)
    kind: str = Field(min_length=1, max_length=32)


class RoomRead(_Read):
    id: uuid.UUID
    location_id: uuid.UUID
    name: str
    kind: str


def _service_code(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return normalize_procedure(value)
    except ValidationFailed as exc:
        raise ValueError(exc.detail) from None


class AppointmentTypeCreate(_In):
    code: str = Field(pattern=r"^[a-z0-9-]{2,32}$")
    name: str = Field(min_length=1, max_length=120)
    duration_minutes: int = Field(ge=5, le=480)
    buffer_minutes: int = Field(0, ge=0, le=120)
    modality: Modality = "in-person"
    visit_kind: VisitKind = "follow-up"
    specialties: list[Specialty] = Field(default_factory=list)
    room_kind: str | None = Field(None, max_length=32)
    service_code: Annotated[str | None, AfterValidator(_service_code)] = Field(
        None, max_length=10, description="CPT or HCPCS code billed for the visit"
    )
    prior_auth_required: bool = Field(
        False, description="Booking warns when the patient has no approved authorization"
    )


class AppointmentTypeRead(_Read):
    id: uuid.UUID
    code: str
    name: str
    duration_minutes: int
    buffer_minutes: int
    modality: str
    visit_kind: str
    specialties: list[str]
    room_kind: str | None
    service_code: str | None = None
    prior_auth_required: bool = False


class AvailabilityRuleCreate(_In):
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    rrule: str = Field(min_length=1, max_length=200, examples=["FREQ=WEEKLY;BYDAY=MO,WE,FR"])
    start_time: dt.time
    end_time: dt.time
    valid_from: dt.date
    valid_until: dt.date | None = None
    exdates: list[dt.date] = Field(default_factory=list, max_length=200)
    modalities: list[Modality] = Field(default_factory=list)

    @model_validator(mode="after")
    def _times(self) -> AvailabilityRuleCreate:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class AvailabilityRuleRead(_Read):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    rrule: str
    start_time: dt.time
    end_time: dt.time
    valid_from: dt.date
    valid_until: dt.date | None
    exdates: list[str]
    modalities: list[str]
    active: bool


class TimeOffCreate(_In):
    practitioner_id: uuid.UUID
    starts_at: Aware
    ends_at: Aware
    kind: str = Field("time-off", pattern=r"^(time-off|block)$")
    reason: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _order(self) -> TimeOffCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class TimeOffRead(_Read):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    kind: str
    reason: str | None
    status: str


class HolidayCreate(_In):
    day: dt.date
    name: str = Field(min_length=1, max_length=120)
    location_id: uuid.UUID | None = None


class HolidayRead(_Read):
    id: uuid.UUID
    day: dt.date
    name: str
    location_id: uuid.UUID | None


class SlotQuery(_In):
    appointment_type_id: uuid.UUID
    practitioner_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    specialty: Specialty | None = None
    language: Language | None = None
    modality: Modality | None = None
    start: dt.date | None = Field(None, description="First day; default today")
    days: int = Field(14, ge=1, le=MAX_WINDOW_DAYS)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=list)
    day_part: DayPart | None = None
    patient_id: uuid.UUID | None = Field(None, description="Skip times the patient is booked")
    limit: int = Field(20, ge=1, le=200)


class Slot(BaseModel):
    starts_at: dt.datetime
    ends_at: dt.datetime
    practitioner_id: uuid.UUID
    practitioner_name: str
    location_id: uuid.UUID
    location_name: str
    timezone: str
    modality: str
    room_id: uuid.UUID | None
    explanation: str


class BookIn(_In):
    patient_id: uuid.UUID
    appointment_type_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    starts_at: Aware
    modality: Modality | None = None
    room_id: uuid.UUID | None = None
    note: str | None = Field(None, max_length=1000)
    from_waitlist_id: uuid.UUID | None = None


class RescheduleIn(_In):
    version: int
    starts_at: Aware
    practitioner_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None


class CancelIn(_In):
    version: int
    reason: CancelReason
    note: str | None = Field(None, max_length=1000)


class StatusIn(_In):
    version: int
    status: str = Field(pattern=r"^(booked|arrived|checked-in|fulfilled|noshow)$")


class AppointmentRead(_Read):
    id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    room_id: uuid.UUID | None
    appointment_type_id: uuid.UUID
    series_id: uuid.UUID | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    modality: str
    cancel_reason: str | None
    cancel_note: str | None
    join_url: str | None = None
    phone_number: str | None
    confirmed_at: dt.datetime | None
    note: str | None
    version: int
    # Booking warnings (never refusals), e.g. no approved prior authorization for the service.
    warnings: list[str] = Field(default_factory=list)


def read_appointment(appointment: Any, join_url: str | None) -> AppointmentRead:
    out = AppointmentRead.model_validate(appointment)
    out.join_url = join_url
    return out
