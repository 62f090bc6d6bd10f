"""Pydantic models of eligibility checks: what the API takes to start one and what it gives
back. ``result`` is the plain reading of the 271 (see ``coverage.eligibility.result_json``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CheckCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_date: dt.date | None = Field(
        None, description="The day of the planned service; today (clinic time) when left out"
    )


class CheckSummary(BaseModel):
    """One check as the history lists it (without the raw X12)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    coverage_id: uuid.UUID
    appointment_id: uuid.UUID | None
    service_date: dt.date
    trigger: Literal["manual", "batch", "api"]
    status: Literal["pending", "complete", "rejected", "failed"]
    trace_number: str
    control_number: int
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    answered_at: dt.datetime | None
    active: bool | None
    result: dict[str, Any] | None
    task_id: uuid.UUID | None
    created_at: dt.datetime
    version: int


class CheckRead(CheckSummary):
    """One check with the inquiry we sent and the answer exactly as received."""

    request_x12: str
    response_x12: str | None


class CheckPage(BaseModel):
    items: list[CheckSummary]
    page: int
    size: int
    has_more: bool
