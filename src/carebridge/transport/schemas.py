"""Pydantic models for rides (Create / Update / Read kept apart).

Code lists (mobility, escort, action) and shapes are checked here; what needs the
appointment (whether the pickup comes before it, whose it is) is the service's, so its
error names the field at fault too. Changes carry the ride's ``version``; a stale one is 409.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from carebridge.transport import codes


def _known(values: Mapping[str, str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"unknown {what} '{value}'; use one of {', '.join(values)}")
        return value

    return AfterValidator(check)


def _listed(values: Mapping[str, str]) -> Any:
    return Field(json_schema_extra={"enum": list(values)})


Mobility = Annotated[str, _known(codes.MOBILITY, "mobility need"), _listed(codes.MOBILITY)]
Escort = Annotated[str, _known(codes.ESCORTS, "escort"), _listed(codes.ESCORTS)]
Status = Annotated[str, _known(codes.STATUSES, "ride status"), _listed(codes.STATUSES)]
ActionName = Annotated[str, _known(codes.ACTIONS, "action"), _listed(codes.ACTIONS)]
Address = Annotated[str, Field(min_length=5, max_length=300)]
Buffer = Annotated[
    int,
    Field(
        ge=codes.MIN_BUFFER_MINUTES,
        le=codes.MAX_BUFFER_MINUTES,
        description="Minutes between pickup and the appointment's start",
    ),
]
Text = Annotated[str | None, Field(default=None, max_length=2000)]
Short = Annotated[str | None, Field(default=None, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RideCreate(_In):
    """A ride to an appointment. The pickup address defaults to the patient's home address;
    the pickup time is the appointment's start minus ``buffer_minutes`` (default: the
    clinic's travel buffer), or give ``pickup_at`` and the buffer is worked out from it."""

    pickup_address: Address | None = None
    mobility: Mobility
    escort: Escort = "none"
    escort_name: Annotated[str | None, Field(default=None, max_length=120)] = None
    notes: Text = None
    buffer_minutes: Buffer | None = None
    pickup_at: AwareDatetime | None = None
    return_ride: bool = False
    provider: Short = None


class RideUpdate(_In):
    """Details of an open ride; only the fields sent change. Status changes are
    transitions (``RideTransition``)."""

    version: int
    pickup_address: Address | None = None
    mobility: Mobility | None = None
    escort: Escort | None = None
    escort_name: Annotated[str | None, Field(default=None, max_length=120)] = None
    notes: Text = None
    buffer_minutes: Buffer | None = None
    pickup_at: AwareDatetime | None = None
    return_ride: bool | None = None
    provider: Short = None


class RideTransition(_In):
    """One step: ``confirm`` needs the ride company's ``confirmation_number`` (and takes a
    ``provider`` if not set before); ``cancel`` needs a ``reason``."""

    action: ActionName
    version: int
    confirmation_number: Annotated[str | None, Field(default=None, max_length=64)] = None
    provider: Short = None
    reason: Text = None


class RideRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    appointment_id: uuid.UUID
    appointment_starts_at: dt.datetime
    timezone: str
    pickup_address: str
    mobility: str
    escort: str
    escort_name: str | None
    notes: str | None
    buffer_minutes: int
    pickup_at: dt.datetime
    return_ride: bool
    provider: str | None
    status: str
    confirmation_number: str | None
    status_reason: str | None
    confirmed_at: dt.datetime | None
    created_at: dt.datetime
    version: int
    # Still unconfirmed within 48 hours of pickup: the coordinators are chasing it.
    needs_confirmation: bool = False
    actions: list[str] = Field(default_factory=list)


class RideChange(BaseModel):
    """One entry of a ride's history: what it looked like after each change."""

    version: int
    changed_at: dt.datetime
    changed_by: str | None
    status: str
    pickup_at: dt.datetime | None
    summary: str
