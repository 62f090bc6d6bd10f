"""Pydantic models for users, tokens and audit events (Create / Update / Read kept apart)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from carebridge.security.roles import Role

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(pattern=USERNAME_PATTERN, description="lower-case letters, digits . _ -")
    display_name: str = Field(min_length=1, max_length=128)
    role: Role
    password: str = Field(min_length=1, max_length=256)

    @field_validator("username", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    is_active: bool
    totp_enabled: bool
    must_change_password: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    username: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    scopes: str | None = None
    patient_id: uuid.UUID | None = None


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    user_id: uuid.UUID | None
    username: str | None
    role: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    patient_id: uuid.UUID | None
    client_addr: str | None
    request_id: str | None
    outcome: str
    reason: str | None


class AuditFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str | None = None
    patient_id: uuid.UUID | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None


class Me(BaseModel):
    id: uuid.UUID | None
    username: str
    role: str
