"""Create / Update / Read models of education. They never touch the database."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

LANGUAGES = {"en": "English", "es": "Spanish"}
AUDIENCES = {"patient": "Patient", "family": "Family or caregiver"}
DELIVERY = {"print": "Printed", "email": "Email"}
TEACH_BACK = {"understood": "Understood", "needs-review": "Needs review"}
ASSIGNMENT_STATUSES = {"assigned": "Assigned", "delivered": "Delivered", "cancelled": "Cancelled"}

Language = Literal["en", "es"]
Audience = Literal["patient", "family"]
Via = Literal["print", "email"]
TeachBackResult = Literal["understood", "needs-review"]

_PREFIX = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")


def _tag(value: str) -> str:
    text = value.strip().upper()
    if len(text) > 3 and "." not in text:
        text = f"{text[:3]}.{text[3:]}"
    if not _PREFIX.fullmatch(text):
        raise ValueError(
            f"“{value}” is not an ICD-10-CM code or prefix; use a category such as E11 or I50, "
            "or a longer code such as E11.9"
        )
    return text


def _tags(values: list[str]) -> list[str]:
    seen: list[str] = []
    for v in values:
        if v.strip() and (t := _tag(v)) not in seen:
            seen.append(t)
    return seen


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Tags = Annotated[list[str], Field(max_length=20), AfterValidator(_tags)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaterialCreate(_In):
    title: Title
    body: Body | None = Field(None, description="Plain text; markdown-lite (## heading, - item)")
    language: Language = "en"
    audience: Audience = "patient"
    tags: Tags = Field(default_factory=list, description="ICD-10-CM prefixes, e.g. E11, I50")
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    reviewed_on: dt.date | None = None


class MaterialUpdate(MaterialCreate):
    version: int
    status: Literal["active", "retired"] = "active"


class MaterialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str | None
    title: str
    body: str | None
    file_name: str | None
    language: str
    audience: str
    tags: list[str]
    source: str | None
    reviewed_on: dt.date | None
    reading_grade: float | None
    above_grade_6: bool = Field(description="Reading grade above 6: flagged for rewriting")
    status: str
    version: int


class Suggestion(BaseModel):
    material: MaterialRead
    because: list[str] = Field(description="The patient's problem codes the material matches")
    in_preferred_language: bool


class AssignmentCreate(_In):
    material_id: uuid.UUID
    care_plan_id: uuid.UUID | None = Field(
        None, description="Put it on this care plan as an education activity"
    )
    note: Note | None = None


class Delivery(_In):
    via: Via
    version: int


class TeachBack(_In):
    result: TeachBackResult
    note: Note | None = None
    on: dt.date | None = Field(None, description="The day of the teach-back (default today)")
    version: int


class AssignmentRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    material_id: uuid.UUID
    material_title: str
    material_language: str
    care_plan_id: uuid.UUID | None
    care_plan_title: str | None
    activity_id: uuid.UUID | None
    status: str
    note: str | None
    delivered_via: str | None
    delivered_at: dt.datetime | None
    outbox_message_id: uuid.UUID | None
    teach_back: str | None
    teach_back_note: str | None
    teach_back_on: dt.date | None
    created_at: dt.datetime
    version: int


class TermHit(BaseModel):
    kind: Literal["glossary", "icd10"]
    term: str = Field(description="The word, or the ICD-10-CM code")
    plain: str = Field(description="The plain explanation, or the code's official description")
    also: list[str] = Field(default_factory=list)


class TermResults(BaseModel):
    q: str
    glossary: list[TermHit]
    icd10: list[TermHit]
