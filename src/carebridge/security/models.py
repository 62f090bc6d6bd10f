"""Security records: users, sign-in sessions, API tokens and the append-only audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from carebridge.db.base import Base, BigIntPk, Tracked, UuidPk
from carebridge.lib.time import utcnow


class User(UuidPk, Tracked, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]


class UserSession(UuidPk, Base):
    """A browser sign-in. The cookie holds a random key; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "active", or a step still owed after the password: "totp" (enter a code) or
    # "enroll" (set up a second factor the role requires).
    stage: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(UuidPk, Base):
    """A bearer token for /api; printed once at creation, only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # SMART scopes narrowing the token through FHIR (None: all its user may do), and the one
    # patient its patient/ scopes are about.
    scopes: Mapped[str | None] = mapped_column(Text)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))

    user: Mapped[User] = relationship(lazy="joined")


class AuditEvent(Base):
    """One row per access or change. Append-only: the ORM refuses updates and deletes, and
    database triggers (see the migration) refuse them on SQLite and PostgreSQL alike."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_patient_time", "patient_id", "occurred_at"),
        Index("ix_audit_events_user_time", "user_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[uuid.UUID | None]
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(255))
    patient_id: Mapped[uuid.UUID | None]
    client_addr: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _ctx: object, _instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")
