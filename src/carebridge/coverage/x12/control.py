"""Interchange control numbers (ISA13): each interchange we send carries a new one.

The counter is one row per sender id, advanced with UPDATE ... RETURNING so two workers
never take the same number (the row lock on PostgreSQL, the write lock on SQLite). ISA13 is
nine digits, so the counter wraps after 999,999,999 as the guide allows.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebridge.coverage.models import ControlNumber

LIMIT = 999_999_999


def next_control_number(db: Session, sender_id: str) -> int:
    """The next number for ``sender_id``, taken in the caller's transaction."""
    for _ in range(2):
        taken = db.execute(
            update(ControlNumber)
            .where(ControlNumber.sender_id == sender_id)
            .values(last_value=ControlNumber.last_value % LIMIT + 1)
            .returning(ControlNumber.last_value)
        ).scalar_one_or_none()
        if taken is not None:
            return taken
        try:
            with db.begin_nested():  # another worker may create the row at the same moment
                db.add(ControlNumber(sender_id=sender_id, last_value=1))
            return 1
        except IntegrityError:
            continue
    raise RuntimeError(f"could not take a control number for {sender_id!r}")
