"""Pydantic models for message templates and messages to patients and families (Create /
Update / Read kept apart).

Shapes are checked here; placeholders, consent, addresses and the patient's next
appointment need the database and are the service's, so its errors name the field at fault.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Channel = Literal["email", "sms", "letter"]
Language = Literal["en", "es"]
LogChannel = Literal["email", "sms", "letter", "phone", "in-person"]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=64, pattern=r"^[a-z0-9-]+$"),
    Field(description="Lower-case letters, digits and dashes, e.g. missed-appointment"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


class TemplateCreate(BaseModel):
    code: Code
    name: Name
    channel: Channel
    language: Language
    subject: Subject | None = None
    body: Body


class TemplateUpdate(BaseModel):
    """Only the fields sent change; ``version`` is the copy the change was made to. The
    code, channel and language of a template are what it is: make a new one instead."""

    version: int
    name: Name | None = None
    subject: Subject | None = None
    body: Body | None = None
    active: bool | None = None


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    channel: str
    language: str
    subject: str | None
    body: str
    active: bool
    version: int
    updated_at: dt.datetime


class MessageCreate(BaseModel):
    """A message to the patient (no ``related_person_id``) or to one of their family or
    caregivers. Either a ``template_code`` (the patient's language is chosen) or free text
    in ``body`` (with ``subject`` for email and letters, written in ``language``)."""

    channel: Channel
    related_person_id: uuid.UUID | None = None
    template_code: Code | None = None
    subject: Subject | None = None
    body: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)] | None = None
    language: Language | None = Field(None, description="Of free text; default English")


class AttemptRead(BaseModel):
    attempted_at: dt.datetime
    outcome: str
    detail: str | None


class MessageRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    related_person_id: uuid.UUID | None
    recipient_name: str
    channel: str
    address: str
    template_code: str | None
    language: str
    subject: str | None
    body: str
    status: str = Field(
        description="pending, sending, sent, failed, cancelled; letters: ready, mailed"
    )
    outbox_id: uuid.UUID | None
    not_before: dt.datetime | None = Field(None, description="Held until (quiet hours)")
    last_error: str | None = None
    mailed_at: dt.datetime | None
    created_at: dt.datetime
    created_by: uuid.UUID | None
    attempts: list[AttemptRead] = Field(default_factory=list)


class Sent(BaseModel):
    """What sending did, in words for the screen: which language, and whether quiet hours
    hold the message back."""

    message: MessageRead
    notes: list[str]


class LogEntry(BaseModel):
    """One line of the communication log: a message (ours or a reminder from the outbox) or
    an outreach attempt (a call, a visit) from the outreach log."""

    kind: Literal["message", "outbox", "outreach"]
    id: uuid.UUID
    when: dt.datetime
    channel: str
    direction: str
    recipient: str | None
    summary: str
    status: str
    detail: str | None = None
    attempts: list[AttemptRead] = Field(default_factory=list)
