"""JSON API for hospital stays and transitions of care under /api/v1. Changes carry the
record's ``version`` (reads return it, and as a weak ETag); a stale one is a 409 and nothing
is saved."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.transitions import service
from carebridge.transitions.schemas import (
    Census,
    EncounterRead,
    RiskBand,
    TransitionChange,
    TransitionRead,
    TransitionUpdate,
)
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["transitions"])
Reader = Annotated[Actor, Depends(Require(Permission.TRANSITION_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.TRANSITION_WRITE))]


def _zone(request: Request) -> str:
    return settings_of(request).timezone


@router.get("/transitions/census")
def census(
    request: Request,
    db: Db,
    actor: Reader,
    facility: Annotated[str | None, Query(max_length=227)] = None,
    coordinator_id: uuid.UUID | None = None,
    risk: RiskBand | None = None,
) -> Census:
    """Who from our panel is in hospital now, who was discharged and still needs contact
    (highest LACE first), what is overdue, in follow-up, and done in the last two weeks."""
    return service.census(
        db, actor, _zone(request), facility=facility, coordinator_id=coordinator_id, risk=risk
    )


@router.get("/transitions")
def list_transitions(
    request: Request,
    db: Db,
    actor: Reader,
    status: Literal["open", "done", "cancelled"] | None = None,
    risk: RiskBand | None = None,
    facility: Annotated[str | None, Query(max_length=227)] = None,
    coordinator_id: uuid.UUID | None = None,
    overdue: bool = False,
) -> list[TransitionRead]:
    """Transitions across patients, newest discharge first (at most 500)."""
    return service.list_transitions(
        db,
        actor,
        _zone(request),
        status=status,
        risk=risk,
        facility=facility,
        coordinator_id=coordinator_id,
        overdue_only=overdue,
    )


@router.get("/transitions/{transition_id}")
def read_transition(
    transition_id: uuid.UUID, request: Request, response: Response, db: Db, actor: Reader
) -> TransitionRead:
    found = service.get(db, actor, transition_id, _zone(request))
    set_etag(response, found.version)
    return found


@router.patch("/transitions/{transition_id}")
def update_transition(
    transition_id: uuid.UUID,
    body: TransitionUpdate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> TransitionRead:
    """Record the contact, medication reconciliation, services, follow-up visit or
    discharge summary, or close it. 409 for a stale version or a closed transition; 422
    for another patient's appointment or document, or closing before the contact."""
    found = service.update(db, actor, transition_id, body, _zone(request))
    set_etag(response, found.version)
    return found


@router.get("/transitions/{transition_id}/history")
def transition_history(transition_id: uuid.UUID, db: Db, actor: Reader) -> list[TransitionChange]:
    return service.history(db, actor, transition_id)


@router.get("/patients/{patient_id}/encounters")
def patient_encounters(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[EncounterRead]:
    """The patient's hospital stays and visits, newest first."""
    return service.encounters(db, actor, patient_id)


@router.get("/patients/{patient_id}/transitions")
def patient_transitions(
    patient_id: uuid.UUID, request: Request, db: Db, actor: Reader
) -> list[TransitionRead]:
    return service.for_patient(db, actor, patient_id, _zone(request))
