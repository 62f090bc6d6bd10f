"""Pydantic models for the waitlist, recurring series and access measures."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from carebridge.scheduling.codes import DayPart, Modality
from carebridge.scheduling.schemas import AppointmentRead, Aware, Slot

MAX_OCCURRENCES = 52
Weekday = Annotated[int, Field(ge=1, le=7)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- waitlist ----------------------------------------------------------------------------


class WaitlistCreate(_In):
    patient_id: uuid.UUID
    appointment_type_id: uuid.UUID
    practitioner_id: uuid.UUID | None = Field(None, description="Only this practitioner")
    location_id: uuid.UUID | None = Field(None, description="Only this location")
    earliest: dt.date = Field(description="First day the patient could come")
    latest: dt.date | None = Field(None, description="Last day (none: open-ended)")
    weekdays: list[Weekday] = Field(
        default_factory=list, max_length=7, description="ISO weekdays 1=Mon..7=Sun; empty: any"
    )
    day_part: DayPart | None = Field(None, description="morning (before 12:00) or afternoon")
    priority: int = Field(3, ge=1, le=5, description="1 is most urgent")
    note: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _window(self) -> WaitlistCreate:
        if self.latest is not None and self.latest < self.earliest:
            raise ValueError("latest is before earliest")
        self.weekdays = sorted(set(self.weekdays))
        return self


class WaitlistRead(_Read):
    id: uuid.UUID
    patient_id: uuid.UUID
    appointment_type_id: uuid.UUID
    practitioner_id: uuid.UUID | None
    location_id: uuid.UUID | None
    earliest: dt.date
    latest: dt.date | None
    weekdays: list[int]
    day_part: str | None
    priority: int
    status: str
    note: str | None
    offered_appointment_id: uuid.UUID | None
    created_at: dt.datetime
    version: int


class WaitlistChangeIn(_In):
    version: int


class DeclineRead(BaseModel):
    declined: WaitlistRead
    next_offer: WaitlistRead | None = Field(
        description="The entry the freed time was offered to next, if any matched"
    )


# --- recurring series ----------------------------------------------------------------------


class SeriesQuery(_In):
    patient_id: uuid.UUID
    appointment_type_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    rrule: str = Field(
        min_length=1,
        max_length=200,
        examples=["FREQ=WEEKLY;BYDAY=TU,TH;COUNT=12"],
        description=f"RFC 5545 RRULE with COUNT or UNTIL, at most {MAX_OCCURRENCES} visits",
    )
    first_start: dt.datetime = Field(
        description="First visit's local wall-clock time at the location, e.g. "
        "2026-12-01T09:30 (an offset, if given, is converted to the location's zone)",
    )
    modality: Modality | None = None
    note: str | None = Field(None, max_length=1000)
    overrides: dict[int, Aware] = Field(
        default_factory=dict,
        description="Occurrence index (0-based) -> a different start for that visit",
    )
    skip: list[int] = Field(default_factory=list, description="Occurrence indexes to leave out")


class SeriesBookIn(SeriesQuery):
    on_conflict: Literal["fail", "skip"] = Field(
        "fail",
        description="fail: any occurrence that cannot be booked books nothing; "
        "skip: occurrences the preview shows in conflict are left out",
    )


class Occurrence(BaseModel):
    index: int
    starts_at: dt.datetime
    local_start: str = Field(description="Start in the location's zone, as shown to people")
    status: Literal["ok", "conflict", "past", "skipped", "booked"]
    overridden: bool = False
    reason: str | None = None
    alternatives: list[Slot] = Field(default_factory=list)
    appointment_id: uuid.UUID | None = None


class SeriesPreview(BaseModel):
    rrule: str
    timezone: str
    occurrences: list[Occurrence]
    bookable: int = Field(description="Occurrences that can be booked as planned")
    conflicts: int


class SeriesRead(_Read):
    id: uuid.UUID
    patient_id: uuid.UUID
    appointment_type_id: uuid.UUID
    practitioner_id: uuid.UUID
    rrule: str
    first_start: dt.datetime
    note: str | None
    status: str
    version: int


class SeriesBooked(BaseModel):
    series: SeriesRead
    occurrences: list[Occurrence]
    appointments: list[AppointmentRead]


class SeriesDetail(BaseModel):
    series: SeriesRead
    appointments: list[AppointmentRead]


# --- access measures -----------------------------------------------------------------------


class ThirdNextAvailable(BaseModel):
    appointment_type_id: uuid.UUID
    appointment_type_name: str
    days: int | None = Field(description="Calendar days to the 3rd free time; none if < 3 found")
    third_slot_at: dt.datetime | None


class NoShowRate(BaseModel):
    noshow: int
    attended: int = Field(description="fulfilled, arrived or checked-in")
    rate: float | None = Field(description="noshow / (attended + noshow); none with no visits")


class LeadTime(BaseModel):
    appointments: int
    median_days: float | None


class PractitionerMeasures(BaseModel):
    practitioner_id: uuid.UUID
    practitioner_name: str
    third_next_available: list[ThirdNextAvailable]
    no_show: NoShowRate
    lead_time: LeadTime


class AccessMeasures(BaseModel):
    start: dt.date
    end: dt.date
    computed_at: dt.datetime
    window_days: int
    practitioners: list[PractitionerMeasures]
