"""The audit trail: one helper every domain uses to record reads and writes.

``record`` writes inside the caller's unit of work, so the row commits or rolls back with
the change it describes. Refusals that must be kept although the request fails are recorded by
``security.deps.refuse``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from carebridge.security.models import AuditEvent


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


def _event(
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
) -> AuditEvent:
    return AuditEvent(
        user_id=actor.user_id if actor else None,
        username=((actor.username if actor else username) or "")[:64] or None,
        role=actor.role if actor else None,
        action=action.value,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id)[:255],
        patient_id=patient_id,
        client_addr=actor.client_addr if actor else client_addr,
        request_id=actor.request_id if actor else request_id,
        outcome=outcome.value,
        reason=reason,
    )


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
    db.add(
        _event(
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
    )
