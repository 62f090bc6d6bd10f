"""Team queues: which ones a person works, and who supervises each."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.tasks.models import QueueMember, WorkQueue


def member_codes(db: Session, user_id: uuid.UUID) -> list[str]:
    """Codes of the active queues ``user_id`` works, alphabetically."""
    return list(
        db.scalars(
            select(WorkQueue.code)
            .join(QueueMember, QueueMember.queue_id == WorkQueue.id)
            .where(QueueMember.user_id == user_id, WorkQueue.is_active.is_(True))
            .order_by(WorkQueue.code)
        )
    )


def by_code(db: Session, code: str) -> WorkQueue | None:
    return db.scalar(select(WorkQueue).where(WorkQueue.code == code))
