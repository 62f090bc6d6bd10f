"""Pydantic models of the community API (Create / Read kept apart; no database here)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from carebridge.community import codes
from carebridge.referrals.schemas import ReferralRead, Urgency


def _need(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in codes.NEEDS:
        raise ValueError(f"unknown need '{value}'; use one of {', '.join(codes.NEEDS)}")
    return value


Need = Annotated[
    str | None,
    AfterValidator(_need),
    Field(default=None, json_schema_extra={"enum": list(codes.NEEDS)}),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlaceRead(BaseModel):
    id: uuid.UUID
    name: str | None
    address: str
    latitude: float | None
    longitude: float | None
    distance_km: float | None = None


class HoursRead(BaseModel):
    weekday: int = Field(description="1 = Monday ... 7 = Sunday")
    day: str
    opens_at: dt.time
    closes_at: dt.time


class ServiceRead(BaseModel):
    """A community service with what a coordinator needs to refer: who runs it, the needs it
    meets, languages, phones, weekly hours and locations (nearest first when searched near a
    point)."""

    id: uuid.UUID
    hsds_id: str
    name: str
    description: str | None
    status: str
    organization_id: uuid.UUID
    organization: str
    needs: list[str]
    languages: list[str]
    phones: list[str]
    hours: list[HoursRead]
    places: list[PlaceRead]
    distance_km: float | None = None
    open_at: bool | None = Field(None, description="Open at the time asked (when asked)")
    url: str | None = None

    @classmethod
    def of(cls, hit: Any) -> ServiceRead:
        return cls(
            id=hit.id,
            hsds_id=hit.hsds_id,
            name=hit.name,
            description=hit.description,
            status=hit.status,
            organization_id=hit.organization_id,
            organization=hit.organization,
            needs=hit.needs,
            languages=hit.languages,
            phones=hit.phones,
            hours=[
                HoursRead(weekday=h.weekday, day=h.day, opens_at=h.opens_at, closes_at=h.closes_at)
                for h in hit.hours
            ],
            places=[PlaceRead.model_validate(p, from_attributes=True) for p in hit.places],
            distance_km=None if hit.distance_km is None else round(hit.distance_km, 2),
            open_at=hit.open_at,
            url=hit.url,
        )


class ImportProblem(BaseModel):
    file: str
    line: int
    field: str
    message: str


class ImportResult(BaseModel):
    files: list[str]
    created: dict[str, int]
    updated: dict[str, int]
    skipped_schedules: int
    summary: str


class NeedsUpdate(_In):
    """Set a service's need domains by hand (a re-import then leaves them)."""

    version: int
    needs: list[Annotated[str, AfterValidator(lambda v: _need(v) or "")]] = Field(max_length=12)


class CommunityReferralCreate(_In):
    service_id: uuid.UUID
    location_id: uuid.UUID | None = Field(
        None, description="Where the patient goes (default: the service's nearest location)"
    )
    need: Need = None
    reason: Annotated[str | None, Field(default=None, max_length=4000)] = Field(
        None, description="Default: the need and the service's name"
    )
    urgency: Urgency = "routine"
    note: Annotated[str | None, Field(default=None, max_length=4000)] = None
    confirm_within_days: int = Field(7, ge=1, le=60)


class Confirmation(_In):
    """The organization confirms it took the patient on: the referral's loop closes."""

    version: int = Field(description="The referral's version")
    note: Annotated[str | None, Field(default=None, max_length=2000)] = None


class CommunityReferralRead(BaseModel):
    referral: ReferralRead
    service_id: uuid.UUID
    service: str
    organization: str
    location_id: uuid.UUID | None
    need: str | None
    confirm_within_days: int
    confirm_by: dt.date | None
    confirmed_at: dt.datetime | None
    confirmed_via: str | None
    confirmation_note: str | None
