"""Barriers to care: reading them for the chart banner and the worklist."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.careplans.models import Barrier


def active_kinds(db: Session, patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The kinds of each patient's active barriers, in one query whatever the number of
    patients (the worklist shows them on every row)."""
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    if not patient_ids:
        return found
    rows = db.execute(
        select(Barrier.patient_id, Barrier.kind)
        .where(Barrier.patient_id.in_(list(patient_ids)), Barrier.status == "active")
        .order_by(Barrier.patient_id, Barrier.kind)
    )
    for patient_id, kind in rows:
        if kind not in found[patient_id]:
            found[patient_id].append(kind)
    return found
