"""JSON API for prior authorizations under /api/v1. Changes carry the record's ``version``
(reads return it, and as a weak ETag); a stale one is a 409 and nothing is saved.

``POST /prior-authorizations/{id}/submit`` sends the request to the payer on the payer's
channel (X12 278 or Da Vinci PAS) and applies the answer; ``/decision`` records one by hand;
``/appeals`` appeals a denial; ``/cancel`` ends the request."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.authorizations import service
from carebridge.authorizations.schemas import (
    AppealCreate,
    AppealDecisionIn,
    AppealRead,
    AuthorizationCreate,
    AuthorizationDetail,
    AuthorizationRead,
    AuthorizationUpdate,
    CancelIn,
    DecisionIn,
    Status,
    StatusChange,
    VersionIn,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import clinic_today, set_etag

router = APIRouter(prefix="/api/v1", tags=["prior authorization"])
Reader = Annotated[Actor, Depends(Require(Permission.PRIOR_AUTH_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.PRIOR_AUTH_WRITE))]
BASE = "/prior-authorizations"


class CreateBody(AuthorizationCreate):
    patient_id: uuid.UUID


def _zone(request: Request) -> str:
    return settings_of(request).timezone


@router.get(BASE)
def list_authorizations(
    request: Request,
    db: Db,
    actor: Reader,
    status: Annotated[Status | None, Query(description="Default: every open status")] = None,
    patient_id: uuid.UUID | None = None,
    payer_ref: uuid.UUID | None = None,
    attention: Annotated[
        bool, Query(description="Only over-used, expiring, low, pended or denied")
    ] = False,
) -> list[AuthorizationRead]:
    """The board: over-used first, then expiring soon, low on units, by status (at most 500).
    With ``patient_id``, that patient's authorizations of every status."""
    if patient_id is not None:
        return service.for_patient(db, actor, patient_id, _zone(request))
    return service.board(
        db, actor, _zone(request), status=status, payer_ref=payer_ref, attention_only=attention
    )


@router.post(BASE, status_code=201)
def create_authorization(
    body: CreateBody, request: Request, response: Response, db: Db, actor: Writer
) -> AuthorizationRead:
    """A new request, as a draft. 422 names an invalid CPT/HCPCS or ICD-10-CM code, a
    coverage, provider, referral or document that is not this patient's."""
    data = AuthorizationCreate.model_validate(body.model_dump(exclude={"patient_id"}))
    made = service.create(db, actor, body.patient_id, data, _zone(request))
    response.headers["Location"] = f"/api/v1{BASE}/{made.id}"
    set_etag(response, made.version)
    return made


@router.get(BASE + "/{authorization_id}")
def read_authorization(
    authorization_id: uuid.UUID, request: Request, response: Response, db: Db, actor: Reader
) -> AuthorizationDetail:
    """With services (used / approved / remaining), submissions (raw payloads) and appeals."""
    found = service.detail(db, actor, authorization_id, _zone(request))
    set_etag(response, found.version)
    return found


@router.patch(BASE + "/{authorization_id}")
def update_authorization(
    authorization_id: uuid.UUID,
    body: AuthorizationUpdate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> AuthorizationRead:
    """Change a draft or pended request; 409 for another status or a stale version."""
    changed = service.update(db, actor, authorization_id, body, _zone(request))
    set_etag(response, changed.version)
    return changed


@router.post(BASE + "/{authorization_id}/submit")
def submit_authorization(
    authorization_id: uuid.UUID,
    body: VersionIn,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> AuthorizationRead:
    """Send it to the payer and apply the answer. A clearinghouse that does not answer leaves
    it ``submitted`` with ``next_attempt_at`` (the worker retries); an unreadable answer is
    kept raw and ``last_error`` names the segment or field."""
    sent = service.submit(db, actor, authorization_id, body.version, settings_of(request))
    set_etag(response, sent.version)
    return sent


@router.post(BASE + "/{authorization_id}/decision")
def record_decision(
    authorization_id: uuid.UUID,
    body: DecisionIn,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> AuthorizationRead:
    """A decision given by phone or fax. Approvals need the payer's number."""
    decided = service.record_decision(db, actor, authorization_id, body, _zone(request))
    set_etag(response, decided.version)
    return decided


@router.post(BASE + "/{authorization_id}/cancel")
def cancel_authorization(
    authorization_id: uuid.UUID,
    body: CancelIn,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> AuthorizationRead:
    cancelled = service.cancel(db, actor, authorization_id, body, _zone(request))
    set_etag(response, cancelled.version)
    return cancelled


@router.post(BASE + "/{authorization_id}/appeals", status_code=201)
def add_appeal(
    authorization_id: uuid.UUID, body: AppealCreate, request: Request, db: Db, actor: Writer
) -> AppealRead:
    """Appeal a denial (or a partial approval); 409 while another appeal is pending."""
    return service.add_appeal(db, actor, authorization_id, body, clinic_today(request))


@router.post(BASE + "/{authorization_id}/appeals/{appeal_id}")
def decide_appeal(
    authorization_id: uuid.UUID,
    appeal_id: uuid.UUID,
    body: AppealDecisionIn,
    request: Request,
    db: Db,
    actor: Writer,
) -> AppealRead:
    """Record the outcome; ``overturned`` approves the request."""
    return service.decide_appeal(
        db, actor, authorization_id, appeal_id, body, clinic_today(request)
    )


@router.get(BASE + "/{authorization_id}/history")
def authorization_history(authorization_id: uuid.UUID, db: Db, actor: Reader) -> list[StatusChange]:
    """Every change of status or authorization number, with who made it and when."""
    return service.history(db, actor, authorization_id)
