"""What a batch of HL7 messages holds while it is applied (see ``inbox.batch``).

The messages' rows are written when the batch ends, so a discharge that wants the labs sent
earlier in the same stay looks here as well as in the database; and the charts and encounters
the batch has read are kept alive here, because the session's identity map holds objects only
weakly and the next message about the same person should find them there.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from carebridge.transitions.models import Hl7Message

KEY = "carebridge.hl7.pending"


class Pending:
    """Rows of messages received and not yet written, in arrival order; ``current`` is the
    raw text of the message being applied."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.by_id: dict[uuid.UUID, dict[str, Any]] = {}
        self.kept: dict[uuid.UUID, object] = {}
        self.current: str | None = None
        self.flushes = 0  # counted by ``_count_flushes``: did a failed message write anything?

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.by_id[row["id"]] = row

    def write(self, db: Session) -> None:
        """Write the rows held so far (the batch's end writes the rest)."""
        if self.rows:
            db.connection().execute(insert(Hl7Message), self.rows)
        self.rows.clear()
        self.by_id.clear()

    def raws_of(self, encounter_id: uuid.UUID) -> list[str]:
        """The stay's messages received in this batch, the one being applied last."""
        found = [r["raw"] for r in self.rows if r.get("encounter_id") == encounter_id]
        return found + ([self.current] if self.current is not None else [])


def of(db: Session) -> Pending | None:
    found = db.info.get(KEY)
    return found if isinstance(found, Pending) else None


def keep(db: Session, obj: Any) -> None:
    """Hold ``obj`` (with an ``id``) until the batch ends."""
    found = of(db)
    if found is not None:
        found.kept[obj.id] = obj


@event.listens_for(Session, "after_flush")
def _count_flushes(session: Session, _ctx: object) -> None:
    found = of(session)
    if found is not None:
        found.flushes += 1
