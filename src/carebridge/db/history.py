"""Change history for every tracked record, written automatically at flush.

Entry points put the acting user's id in ``session.info["actor_id"]`` (see
``security.deps`` and the CLI). Before a flush, tracked rows get ``created_by`` /
``updated_by`` from it; after the flush, each created or changed row of a class with
``__versioned__ = True`` leaves a full snapshot in ``record_versions``. Domains get their
history of changes without writing a line for it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Uuid, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from carebridge.db.base import Base, BigIntPk, Tracked
from carebridge.lib.time import utcnow

ACTOR_KEY = "actor_id"


class RecordVersion(Base):
    __tablename__ = "record_versions"
    __table_args__ = (
        Index("ix_record_versions_entity", "entity_type", "entity_id", "version"),
        Index("ix_record_versions_patient", "patient_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[uuid.UUID | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


def _json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID | dt.date | dt.datetime | dt.time | decimal.Decimal):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    return {col.key: _json_value(getattr(obj, col.key)) for col in mapper.column_attrs}


def _patient_of(obj: Any) -> uuid.UUID | None:
    explicit = getattr(type(obj), "__patient_attr__", "patient_id")
    value = getattr(obj, explicit, None)
    return value if isinstance(value, uuid.UUID) else None


@event.listens_for(Session, "before_flush")
def _stamp_actor(session: Session, _ctx: object, _instances: object) -> None:
    actor_id = session.info.get(ACTOR_KEY)
    for obj in session.new:
        if isinstance(obj, Tracked):
            obj.created_by = obj.created_by or actor_id
            obj.updated_by = obj.updated_by or actor_id
    for obj in session.dirty:
        if isinstance(obj, Tracked) and session.is_modified(obj, include_collections=False):
            obj.updated_by = actor_id


@event.listens_for(Session, "after_flush")
def _write_versions(session: Session, _ctx: object) -> None:
    rows = []
    now = utcnow()
    for action, objs in (("create", session.new), ("update", session.dirty)):
        for obj in objs:
            if not getattr(type(obj), "__versioned__", False):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            rows.append(
                {
                    "entity_type": type(obj).__name__,
                    "entity_id": obj.id,
                    "version": obj.version,
                    "patient_id": _patient_of(obj),
                    "action": action,
                    "changed_at": now,
                    "changed_by": session.info.get(ACTOR_KEY),
                    "data": snapshot(obj),
                }
            )
    if rows:
        session.connection().execute(insert(RecordVersion), rows)
