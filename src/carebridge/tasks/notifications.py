"""In-app notifications: what a person should know about (an escalated task, an admission)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.time import utcnow
from carebridge.tasks.models import Notification


def notify(
    db: Session,
    user_id: uuid.UUID,
    text: str,
    *,
    link: str | None = None,
    patient_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """Tell ``user_id`` something. With a ``dedupe_key`` they are told once."""
    if dedupe_key is not None:
        existing = db.scalar(select(Notification).where(Notification.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    note = Notification(
        user_id=user_id, text=text[:300], link=link, patient_id=patient_id, dedupe_key=dedupe_key
    )
    db.add(note)
    db.flush()
    return note


def unread(db: Session, user_id: uuid.UUID, limit: int = 20) -> list[Notification]:
    return list(
        db.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )


def mark_read(db: Session, user_id: uuid.UUID, ids: list[uuid.UUID] | None = None) -> int:
    """Mark ``user_id``'s notifications read (those in ``ids``, or all); how many changed."""
    query = select(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    now = utcnow()
    changed = 0
    for note in db.scalars(query):
        note.read_at = now
        changed += 1
    return changed
