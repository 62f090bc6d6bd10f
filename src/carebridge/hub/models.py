"""The tables of hub: care-team threads, who takes part in each (and how far they have read),
the messages (append-only: never edited or deleted; a correction is a new message) and the
small files attached to them.

A thread is append-only too: its subject and patient never change. Its two counters
(``message_count``, ``last_message_at``) are moved by one atomic UPDATE per message, so two
colleagues replying at once never collide on a version. Read state is a sequence number:
each message has its place in the thread (``seq``), each participant the last place read.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, UuidPk
from carebridge.lib.time import utcnow


class TeamThread(UuidPk, Base):
    """A conversation inside the care team, about one patient or about nothing clinical."""

    __tablename__ = "team_threads"
    __table_args__ = (Index("ix_team_threads_patient", "patient_id", "last_message_at"),)

    subject: Mapped[str] = mapped_column(String(200))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ThreadParticipant(Base):
    """A person in a thread: how they came in, and the last message they have read."""

    __tablename__ = "team_thread_participants"
    __table_args__ = (Index("ix_team_thread_participants_user", "user_id", "thread_id"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team_threads.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    joined_as: Mapped[str] = mapped_column(String(16))  # author | recipient | mention
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    added_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    read_seq: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[dt.datetime | None]


class TeamMessage(UuidPk, Base):
    """One message, kept exactly as written."""

    __tablename__ = "team_messages"
    __table_args__ = (UniqueConstraint("thread_id", "seq", name="uq_team_messages_thread_seq"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team_threads.id"))
    seq: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TeamAttachment(UuidPk, Base):
    """A small file sent with a message, stored as received (never opened or run by us)."""

    __tablename__ = "team_message_attachments"

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
