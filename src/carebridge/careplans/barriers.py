"""Barriers to care (transport, cost, language...): recording and resolving them per
patient, and reading them for the chart banner and the worklist. A barrier is never
deleted: it is resolved, and stays in the patient's list."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.careplans.codes import BARRIERS
from carebridge.careplans.models import Barrier
from carebridge.careplans.team import patient_for_change, patient_or_404
from carebridge.careplans.team_schemas import BarrierCreate, BarrierRead, BarrierUpdate
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.security.audit import Action, Actor, record


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


def banner_words(db: Session, patient_id: uuid.UUID) -> list[str]:
    """The patient's active barriers as the banner shows them ("Transport", "Cost")."""
    return [BARRIERS.get(k, k) for k in active_kinds(db, [patient_id]).get(patient_id, [])]


def barriers(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[BarrierRead]:
    """Active barriers first (oldest first), then resolved ones (latest resolved first)."""
    patient_or_404(db, patient_id)
    rows = [
        BarrierRead.model_validate(b)
        for b in db.scalars(select(Barrier).where(Barrier.patient_id == patient_id))
    ]
    active = sorted((b for b in rows if b.status == "active"), key=lambda b: b.identified_on)
    resolved = sorted(
        (b for b in rows if b.status != "active"),
        key=lambda b: b.resolved_on or b.identified_on,
        reverse=True,
    )
    record(db, actor, Action.READ, entity_type="Barrier", patient_id=patient_id)
    return active + resolved


def _not_future(day: dt.date, today: dt.date, field: str, what: str) -> None:
    if day > today:
        raise ValidationFailed(
            f"The {what} {day:%d %b %Y} is in the future. Nothing was saved.",
            fields={field: f"The {what} cannot be in the future."},
        )


def add_barrier(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: BarrierCreate, today: dt.date
) -> BarrierRead:
    """Record a barrier; ``today`` is the clinic's date (identified_on defaults to it).
    A second active barrier of the same kind is refused: note it on the first."""
    patient = patient_for_change(db, patient_id)
    identified = data.identified_on or today
    _not_future(identified, today, "identified_on", "date identified")
    same = db.scalar(
        select(Barrier.id).where(
            Barrier.patient_id == patient.id, Barrier.kind == data.kind, Barrier.status == "active"
        )
    )
    if same is not None:
        raise Conflict(
            f"This patient already has an active {BARRIERS[data.kind].lower()} barrier; "
            "add to its note instead. Nothing was saved.",
            fields={"kind": "Already recorded and active."},
        )
    barrier = Barrier(
        patient_id=patient.id, kind=data.kind, note=data.note, identified_on=identified
    )
    db.add(barrier)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="Barrier",
        entity_id=barrier.id,
        patient_id=patient.id,
        reason=data.kind,
    )
    return BarrierRead.model_validate(barrier)


def update_barrier(
    db: Session,
    actor: Actor,
    barrier_id: uuid.UUID,
    data: BarrierUpdate,
    today: dt.date,
    *,
    patient_id: uuid.UUID | None = None,
) -> BarrierRead:
    """Change the note or dates, resolve (``resolved_on`` defaults to today) or reopen."""
    barrier = db.get(Barrier, barrier_id)
    if barrier is None or (patient_id is not None and barrier.patient_id != patient_id):
        raise NotFound(f"No barrier with id {barrier_id}")
    patient_for_change(db, barrier.patient_id)
    check_version("This barrier", barrier.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    if "identified_on" in sent and sent["identified_on"] is None:
        raise ValidationFailed(
            "The date identified cannot be empty.",
            fields={"identified_on": "Enter the date identified."},
        )
    status = sent.pop("status", None) or barrier.status
    identified = sent.get("identified_on", barrier.identified_on)
    resolved = sent.get("resolved_on", barrier.resolved_on) if status == "resolved" else None
    if status == "resolved" and resolved is None:
        resolved = today
    _not_future(identified, today, "identified_on", "date identified")
    if resolved is not None:
        _not_future(resolved, today, "resolved_on", "date resolved")
        if resolved < identified:
            raise ValidationFailed(
                f"The date resolved {resolved:%d %b %Y} is before the date identified "
                f"{identified:%d %b %Y}. Nothing was saved.",
                fields={"resolved_on": "It cannot be resolved before it was identified."},
            )
    if status == "active" and barrier.status != "active":
        _no_other_active(db, barrier)
    for name, value in sent.items():
        setattr(barrier, name, value)
    barrier.status, barrier.resolved_on = status, resolved
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Barrier",
        entity_id=barrier.id,
        patient_id=barrier.patient_id,
        reason=status if "status" in data.model_fields_set else None,
    )
    return BarrierRead.model_validate(barrier)


def _no_other_active(db: Session, barrier: Barrier) -> None:
    other = db.scalar(
        select(Barrier.id).where(
            Barrier.patient_id == barrier.patient_id,
            Barrier.kind == barrier.kind,
            Barrier.status == "active",
            Barrier.id != barrier.id,
        )
    )
    if other is not None:
        raise Conflict(
            f"Another {BARRIERS.get(barrier.kind, barrier.kind).lower()} barrier is active; "
            "add to its note instead of reopening this one. Nothing was saved.",
            fields={"status": "Another barrier of this kind is active."},
        )
