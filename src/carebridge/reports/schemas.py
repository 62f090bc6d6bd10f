"""What a scheduled report's form sends: checked at the edge, named when wrong. Whether the
recipients are users of the app, active and reachable by email is the service's check (it
needs the database)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator

from carebridge.analytics.measures import REGISTRY

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ReportIn(BaseModel):
    """A new report, or a report's new settings (``version`` when editing one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    measure_keys: list[str] = Field(min_length=1)
    recipient_ids: list[uuid.UUID] = Field(min_length=1)
    # Addresses typed on the form (user id -> address, checked by the service, which names
    # the field of a wrong one); a recipient without one here must have one on file.
    addresses: dict[uuid.UUID, str] = Field(default_factory=dict)
    weekday: int = Field(ge=0, le=6)
    hour: int = Field(ge=0, le=23)
    version: int | None = None

    @field_validator("measure_keys")
    @classmethod
    def _known_measures(cls, keys: list[str]) -> list[str]:
        unknown = [k for k in keys if k not in REGISTRY]
        if unknown:
            raise ValueError(f"unknown measure {', '.join(unknown)}")
        return list(dict.fromkeys(keys))

    @field_validator("recipient_ids")
    @classmethod
    def _once_each(cls, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        return list(dict.fromkeys(ids))
