"""Pydantic models for screenings and needs (Create / Update / Read kept apart).

Shapes and code lists are checked here; whether the answers are complete and valid for the
instrument is the service's (``instruments.problems``), so its error names each item."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from carebridge.social.instruments import DOMAINS

Respondent = Literal["patient", "caregiver"]
Mode = Literal["in-person", "phone"]
NeedStatus = Literal["open", "addressed", "declined"]
RESPONDENTS = {"patient": "Patient", "caregiver": "Caregiver"}
MODES = {"in-person": "In person", "phone": "Phone"}
NEED_STATUSES = {"open": "Open", "addressed": "Addressed", "declined": "Declined by patient"}
NEED_STATUS_WORDS = {**NEED_STATUSES, "entered-in-error": "Entered in error"}
Code = Annotated[str, Field(min_length=1, max_length=32)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScreeningCreate(_In):
    instrument: Annotated[str, Field(max_length=32)] = "ahc-hrsn"
    respondent: Respondent = "patient"
    language: Annotated[str, Field(min_length=2, max_length=8)] = "en"
    mode: Mode = "in-person"
    answers: dict[Code, list[Code] | Code] = Field(
        default_factory=dict,
        description="{item linkId (its LOINC code): answer code, or a list for choose-all}",
    )
    note: Annotated[str | None, Field(default=None, max_length=2000)] = None

    def answer_lists(self) -> dict[str, list[str]]:
        return {k: [v] if isinstance(v, str) else list(v) for k, v in self.answers.items()}


class DomainResultRead(BaseModel):
    domain: str
    title: str
    positive: bool
    total: int | None = None


class AnswerRead(BaseModel):
    link_id: str
    text: str
    answers: list[dict[str, str]]


class ScreeningRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    instrument: str
    instrument_title: str
    status: str
    respondent: str
    language: str
    mode: str
    screened_at: dt.datetime
    screened_on: dt.date
    positive: bool
    results: list[DomainResultRead]
    positive_domains: list[str]
    answers: list[AnswerRead]
    rescreen_due_on: dt.date
    note: str | None
    status_reason: str | None = None
    version: int


class NeedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    screening_id: uuid.UUID
    domain: str
    title: str = ""
    status: str
    identified_on: dt.date
    closed_on: dt.date | None
    note: str | None
    version: int

    def model_post_init(self, context: Any, /) -> None:
        self.title = DOMAINS.get(self.domain, self.domain)


class NeedUpdate(_In):
    version: int
    status: NeedStatus | None = None
    note: Annotated[str | None, Field(default=None, max_length=2000)] = None


class ScreeningInError(_In):
    """A screening recorded by mistake (another patient's answers, say): it stays, marked
    entered in error, and the needs it found that are still open end with it."""

    version: int
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class RescreenRead(BaseModel):
    patient_id: uuid.UUID
    last_screened_on: dt.date | None
    due_on: dt.date | None
    overdue: bool
