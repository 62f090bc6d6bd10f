"""Refusals of a thread are kept in the audit log although the request fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from carebridge.lib.errors import Forbidden
from carebridge.security.audit import Actor
from carebridge.security.deps import refuse


@contextmanager
def refusals_recorded(db: Session, actor: Actor) -> Iterator[None]:
    """Run a use case; when it refuses the actor (Forbidden), roll back what it did, keep an
    access-denied audit row (with the thread and patient) and let the refusal through."""
    try:
        yield
    except Forbidden as exc:
        patient = exc.extra.get("patient_id")
        refuse(
            db,
            actor,
            entity_type="TeamThread",
            entity_id=exc.extra.get("entity_id"),
            patient_id=uuid.UUID(patient) if isinstance(patient, str) else None,
            reason=exc.detail,
        )
        raise
