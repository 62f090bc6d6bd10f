"""Create and Read models of team messaging (the JSON API speaks these)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class AttachmentIn(BaseModel):
    """A small file sent with a message through the API (its bytes in base64)."""

    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(max_length=100)] = "application/octet-stream"
    content_base64: str = Field(description="The file's bytes, base64-encoded")


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(description="Plain text, kept as written; @username mentions a colleague")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=5)


class ThreadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Subject
    to: list[Username] = Field(
        default_factory=list, max_length=30, description="Usernames of the colleagues written to"
    )
    patient_id: uuid.UUID | None = Field(None, description="The patient the thread is about")
    text: Text
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=5)


class Person(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str


class AttachmentRead(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int


class MessageRead(BaseModel):
    id: uuid.UUID
    seq: int
    author: Person
    text: str
    created_at: dt.datetime
    mentions: list[str] = Field(description="Usernames mentioned with @")
    attachments: list[AttachmentRead]


class ParticipantRead(BaseModel):
    person: Person
    joined_as: str
    read_seq: int


class PatientRef(BaseModel):
    id: uuid.UUID
    mrn: str
    name: str


class ThreadSummary(BaseModel):
    """One row of an inbox: the thread, and how much of it the caller has not read."""

    id: uuid.UUID
    subject: str
    patient: PatientRef | None
    message_count: int
    unread: int
    last_message_at: dt.datetime
    last_author: str | None
    participants: list[str] = Field(description="Display names")


class ThreadRead(BaseModel):
    id: uuid.UUID
    subject: str
    patient: PatientRef | None
    created_at: dt.datetime
    created_by: uuid.UUID
    message_count: int
    unread: int
    participants: list[ParticipantRead]
    messages: list[MessageRead]


class ReadState(BaseModel):
    thread_id: uuid.UUID
    read_seq: int
    unread: int
    unread_total: int = Field(description="Unread messages across all the caller's threads")
