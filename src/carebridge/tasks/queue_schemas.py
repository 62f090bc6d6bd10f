"""Pydantic models for team queues and their members (Create / Update / Read kept apart)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

# Queue codes are what tasks and settings refer to: short, lower case, stable.
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class QueueCreate(_In):
    code: str = Field(pattern=CODE_PATTERN, description="lower-case letters, digits and -")
    name: str = Field(min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    supervisor_id: uuid.UUID | None = None


class QueueUpdate(_In):
    """Only the fields sent are changed; ``version`` must match the stored one. Send
    ``supervisor_id: null`` to leave the queue without a supervisor."""

    version: int
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    supervisor_id: uuid.UUID | None = None
    is_active: bool | None = None


class MemberIn(_In):
    user_id: uuid.UUID


class MemberRead(BaseModel):
    user_id: uuid.UUID
    username: str
    display_name: str
    is_active: bool


class QueueRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    description: str | None
    supervisor_id: uuid.UUID | None
    supervisor_name: str | None
    is_active: bool
    version: int
    members: list[MemberRead]
