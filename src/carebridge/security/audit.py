"""The audit trail: one helper every domain uses to record reads and writes.

``record`` writes inside the caller's unit of work, so the row commits or rolls back with
the change it describes. Refusals that must be kept although the request fails are recorded by
``security.deps.refuse``. Inside ``deferred`` (a writer applying thousands of messages per
transaction) the rows are kept in memory and written in one INSERT before the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from carebridge.lib.time import utcnow
from carebridge.security.models import AuditEvent

_DEFERRED = "carebridge.audit.deferred"


class Action(StrEnum):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    LOGIN = "login"
    LOGOUT = "logout"
    FAILED_LOGIN = "failed-login"
    EXPORT = "export"
    ACCESS_DENIED = "access-denied"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class Actor:
    """Who is acting, from where. The system itself acts with ``user_id=None``."""

    user_id: uuid.UUID | None
    username: str
    role: str
    client_addr: str | None = None
    request_id: str | None = None
    must_change_password: bool = False

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name, role="system")


def _values(
    actor: Actor | None,
    action: Action,
    *,
    entity_type: str | None,
    entity_id: object | None,
    patient_id: uuid.UUID | None,
    outcome: Outcome,
    reason: str | None,
    username: str | None,
    client_addr: str | None,
    request_id: str | None,
) -> dict[str, Any]:
    return {
        "occurred_at": utcnow(),
        "user_id": actor.user_id if actor else None,
        "username": ((actor.username if actor else username) or "")[:64] or None,
        "role": actor.role if actor else None,
        "action": action.value,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id)[:255],
        "patient_id": patient_id,
        "client_addr": actor.client_addr if actor else client_addr,
        "request_id": actor.request_id if actor else request_id,
        "outcome": outcome.value,
        "reason": reason,
    }


def record(
    db: Session,
    actor: Actor | None,
    action: Action,
    *,
    entity_type: str | None = None,
    entity_id: object | None = None,
    patient_id: uuid.UUID | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    reason: str | None = None,
    username: str | None = None,
    client_addr: str | None = None,
    request_id: str | None = None,
) -> None:
    values = _values(
        actor,
        action,
        entity_type=entity_type,
        entity_id=entity_id,
        patient_id=patient_id,
        outcome=outcome,
        reason=reason,
        username=username,
        client_addr=client_addr,
        request_id=request_id,
    )
    held = db.info.get(_DEFERRED)
    if isinstance(held, Deferred):
        held.rows.append(values)
    else:
        db.add(AuditEvent(**values))


class Deferred:
    """Audit rows recorded inside ``deferred``, not yet written. A caller that rolls back a
    savepoint forgets the rows recorded since: ``undo(mark())``."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def mark(self) -> int:
        return len(self.rows)

    def undo(self, mark: int) -> None:
        del self.rows[mark:]


def held(db: Session) -> Deferred | None:
    """The rows ``deferred`` holds for this session, if it is inside one."""
    found = db.info.get(_DEFERRED)
    return found if isinstance(found, Deferred) else None


@contextmanager
def deferred(db: Session) -> Iterator[Deferred]:
    """Hold the audit rows recorded inside and write them in one INSERT when the block ends
    without an error (an error leaves them unwritten: the caller rolls back anyway). Nested
    blocks share the outer one's rows."""
    outer = held(db)
    if outer is not None:
        yield outer
        return
    rows = Deferred()
    db.info[_DEFERRED] = rows
    try:
        yield rows
        if rows.rows:
            db.connection().execute(insert(AuditEvent), rows.rows)
    finally:
        db.info.pop(_DEFERRED, None)
