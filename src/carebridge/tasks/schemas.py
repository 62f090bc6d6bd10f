"""Pydantic models for tasks, comments, outreach, notifications and the worklist
(Create / Update / Read kept apart; none of them touches the database)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from carebridge.tasks.codes import (
    KINDS,
    OUTREACH_CHANNELS,
    OUTREACH_OUTCOMES,
    PRIORITIES,
    STATUSES,
)


def _one_of(noun: str, allowed: tuple[str, ...] | dict[str, str]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {noun} '{value}'; use one of: {', '.join(allowed)}")
        return value

    return AfterValidator(check)


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("give the time with its UTC offset, e.g. 2026-12-01T09:30:00-06:00")
    return value.astimezone(dt.UTC)


Aware = Annotated[dt.datetime, AfterValidator(_aware)]
Priority = Annotated[str, _one_of("priority", PRIORITIES)]
Kind = Annotated[str, _one_of("task type", KINDS)]
Status = Annotated[str, _one_of("task status", STATUSES)]
Channel = Annotated[str, _one_of("channel", OUTREACH_CHANNELS)]
Outcome = Annotated[str, _one_of("outcome", OUTREACH_OUTCOMES)]
QueueCode = Annotated[str, Field(min_length=1, max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- tasks -----------------------------------------------------------------------------


class TaskCreate(_In):
    """A task made by a person. With ``preset`` the template fills whatever is left out."""

    preset: str | None = Field(None, max_length=64, description="A key from /task-presets")
    title: str | None = Field(None, min_length=1, max_length=200)
    patient_id: uuid.UUID | None = None
    description: str | None = Field(None, max_length=4000)
    kind: Kind | None = None
    priority: Priority | None = None
    due_at: Aware | None = Field(None, description="Default: the template's or the priority's")
    owner_id: uuid.UUID | None = Field(None, description="A user; or leave out and give queue")
    queue: QueueCode | None = None
    focus_type: str | None = Field(None, max_length=64, examples=["Appointment"])
    focus_id: uuid.UUID | None = None
    business_status: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _complete(self) -> TaskCreate:
        if self.preset is None and not self.title:
            raise ValueError("give a title, or a preset that supplies one")
        if self.owner_id is not None and self.queue is not None:
            raise ValueError("assign the task to a person (owner_id) or a queue, not both")
        if (self.focus_type is None) != (self.focus_id is None):
            raise ValueError("give focus_type and focus_id together")
        return self


class TaskUpdate(_In):
    """A change to a task. Fields left out stay as they are. ``version`` is the version you
    read (or send it as ``If-Match``); a stale one is refused with 409 and nothing changes."""

    version: int | None = Field(None, ge=1)
    status: Status | None = None
    reason: str | None = Field(
        None, max_length=1000, description="Why (required to cancel); kept as a comment"
    )
    business_status: str | None = Field(None, max_length=64)
    priority: Priority | None = None
    due_at: Aware | None = None
    owner_id: uuid.UUID | None = None
    queue: QueueCode | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _assignment(self) -> TaskUpdate:
        if self.owner_id is not None and self.queue is not None:
            raise ValueError("assign the task to a person (owner_id) or a queue, not both")
        return self


class TaskRead(_Read):
    id: uuid.UUID
    patient_id: uuid.UUID | None
    title: str
    description: str | None
    kind: str
    status: str
    is_open: bool
    business_status: str | None
    priority: str
    risk: int
    owner_id: uuid.UUID | None
    queue: str | None
    due_at: dt.datetime
    focus_type: str | None
    focus_id: uuid.UUID | None
    template_key: str | None
    escalation_level: int
    completed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    created_by: uuid.UUID | None
    version: int


class CommentCreate(_In):
    text: str = Field(min_length=1, max_length=4000)


class CommentRead(_Read):
    id: uuid.UUID
    task_id: uuid.UUID
    text: str
    created_at: dt.datetime
    created_by: uuid.UUID | None
    author: str | None = None


class TaskDetail(BaseModel):
    task: TaskRead
    patient_name: str | None
    patient_mrn: str | None
    owner_name: str | None
    overdue: bool
    attempts: int = Field(description="Outreach attempts logged on this task")
    focus_url: str | None = Field(description="Where the record the task concerns is shown")
    comments: list[CommentRead]


class TaskRow(BaseModel):
    """A task as a list shows it: with its patient, owner, attempts and barriers."""

    task: TaskRead
    patient_name: str | None
    patient_mrn: str | None
    owner_name: str | None
    attempts: int
    barriers: list[str]
    overdue: bool
    focus_url: str | None


class TaskPage(BaseModel):
    items: list[TaskRow]
    page: int
    size: int
    has_more: bool


class HistoryEntry(BaseModel):
    at: dt.datetime
    who: str | None
    kind: Literal["created", "changed", "comment", "escalation", "outreach"]
    text: str


class BulkItem(_In):
    id: uuid.UUID
    version: int | None = Field(None, ge=1, description="Refused with 409 when stale")


class BulkIn(_In):
    """Reassign or complete several tasks, all or none: when one cannot be changed nothing
    is, and the error names the task and why."""

    action: Literal["reassign", "complete"]
    tasks: list[BulkItem] = Field(min_length=1, max_length=200)
    owner_id: uuid.UUID | None = None
    queue: QueueCode | None = None
    business_status: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _target(self) -> BulkIn:
        if self.action == "reassign" and (self.owner_id is None) == (self.queue is None):
            raise ValueError("to reassign, give either owner_id or queue")
        if self.action == "complete" and (self.owner_id is not None or self.queue is not None):
            raise ValueError("completing takes no owner_id or queue")
        if len({t.id for t in self.tasks}) != len(self.tasks):
            raise ValueError("a task is listed twice")
        return self


class BulkResult(BaseModel):
    action: str
    tasks: list[TaskRead]


class PresetRead(BaseModel):
    key: str
    title: str
    kind: str
    priority: str
    due: str = Field(description="When it is due, in words")
    description: str


# --- outreach ----------------------------------------------------------------------------


class OutreachCreate(_In):
    task_id: uuid.UUID | None = None
    channel: Channel
    direction: Literal["outbound", "inbound"] = "outbound"
    outcome: Outcome
    contact_name: str | None = Field(None, max_length=150, description="Who was reached")
    note: str | None = Field(None, max_length=4000)
    next_attempt_on: dt.date | None = Field(None, description="Not in the past (clinic day)")
    occurred_at: Aware | None = Field(None, description="Default: now; not in the future")
    complete_task: bool = Field(
        False, description="Reached (or sent): complete the task in the same change"
    )
    task_version: int | None = Field(None, ge=1, description="The task version you read")


class OutreachRead(_Read):
    id: uuid.UUID
    patient_id: uuid.UUID
    task_id: uuid.UUID | None
    channel: str
    direction: str
    outcome: str
    contact_name: str | None
    note: str | None
    next_attempt_on: dt.date | None
    occurred_at: dt.datetime
    created_by: uuid.UUID | None
    by: str | None = None


class OutreachLog(BaseModel):
    attempts: list[OutreachRead] = Field(description="Newest first")
    total: int
    by_outcome: dict[str, int]
    last_reached_at: dt.datetime | None
    next_attempt_on: dt.date | None = Field(description="The latest planned next attempt")


class OutreachLogged(BaseModel):
    attempt: OutreachRead
    task: TaskRead | None = Field(description="The task after the attempt, if one was named")


# --- worklist and notifications ------------------------------------------------------------


class CountsRead(BaseModel):
    open: int
    overdue: int
    due_today: int = Field(description="Due before the end of today, overdue included")
    unclaimed: int
    by_queue: dict[str, int]
    at_least: bool = Field(
        description="True when a source (your tasks, or a queue) has more open tasks than "
        "are counted (500): the numbers are then lower bounds"
    )


class WorklistRead(BaseModel):
    items: list[TaskRow]
    counts: CountsRead
    queues: list[str] = Field(description="The queues the caller works")
    page: int
    size: int
    has_more: bool


class NotificationRead(_Read):
    id: uuid.UUID
    text: str
    link: str | None
    patient_id: uuid.UUID | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class MarkReadIn(_In):
    ids: list[uuid.UUID] | None = Field(None, max_length=500, description="None: all")


class MarkedRead(BaseModel):
    marked: int
