"""JSON API for the provider directory and referrals under /api/v1. Changes carry the
record's ``version`` (reads return it, and as a weak ETag); a stale one is a 409 and nothing
is saved. Status changes are transitions: ``POST /referrals/{id}/transitions``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.referrals import directory, service
from carebridge.referrals.schemas import (
    Direction,
    ProviderCreate,
    ProviderKind,
    ProviderRead,
    ProviderUpdate,
    ReferralCreate,
    ReferralRead,
    ReferralTransition,
    ReferralUpdate,
    Status,
    StatusChange,
    Urgency,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["referrals"])
Reader = Annotated[Actor, Depends(Require(Permission.REFERRAL_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.REFERRAL_WRITE))]


def _zone(request: Request) -> str:
    return settings_of(request).timezone


# --- the directory ---------------------------------------------------------------------------


@router.get("/directory")
def search_directory(
    db: Db,
    actor: Reader,
    q: Annotated[str, Query(max_length=100, description="Name, specialty or NPI")] = "",
    kind: ProviderKind | None = None,
    include_inactive: bool = False,
) -> list[ProviderRead]:
    """Outside providers by name (at most 50)."""
    return directory.search(db, q, kind=kind, active_only=not include_inactive)


@router.post("/directory", status_code=201)
def create_directory_entry(
    body: ProviderCreate, response: Response, db: Db, actor: Writer
) -> ProviderRead:
    """Add an outside provider. 422 names an invalid NPI; 409 an NPI already listed."""
    entry = directory.create(db, actor, body)
    response.headers["Location"] = f"/api/v1/directory/{entry.id}"
    set_etag(response, entry.version)
    return entry


@router.get("/directory/{provider_id}")
def read_directory_entry(
    provider_id: uuid.UUID, response: Response, db: Db, actor: Reader
) -> ProviderRead:
    entry = directory.read(db, provider_id)
    set_etag(response, entry.version)
    return entry


@router.patch("/directory/{provider_id}")
def update_directory_entry(
    provider_id: uuid.UUID, body: ProviderUpdate, response: Response, db: Db, actor: Writer
) -> ProviderRead:
    entry = directory.update(db, actor, provider_id, body)
    set_etag(response, entry.version)
    return entry


# --- referrals -------------------------------------------------------------------------------


@router.get("/referrals")
def list_referrals(
    request: Request,
    db: Db,
    actor: Reader,
    direction: Direction | None = None,
    status: Annotated[Status | None, Query(description="Default: every open status")] = None,
    urgency: Urgency | None = None,
    overdue: bool = False,
) -> list[ReferralRead]:
    """The tracker: overdue first, then by status and age (at most 500)."""
    rows = service.tracker(
        db,
        actor,
        _zone(request),
        direction=direction,
        status=status,
        urgency=urgency,
        overdue_only=overdue,
    )
    return [row.referral for row in rows]


@router.get("/patients/{patient_id}/referrals")
def list_patient_referrals(
    patient_id: uuid.UUID, request: Request, db: Db, actor: Reader
) -> list[ReferralRead]:
    return service.for_patient(db, actor, patient_id, _zone(request))


@router.post("/patients/{patient_id}/referrals", status_code=201)
def create_referral(
    patient_id: uuid.UUID,
    body: ReferralCreate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> ReferralRead:
    """A new referral, as a draft. 422 names an unknown ICD-10-CM code, a provider not in
    the directory or a document of another patient."""
    referral = service.create(db, actor, patient_id, body, _zone(request))
    response.headers["Location"] = f"/api/v1/referrals/{referral.id}"
    set_etag(response, referral.version)
    return referral


@router.get("/referrals/{referral_id}")
def read_referral(
    referral_id: uuid.UUID, request: Request, response: Response, db: Db, actor: Reader
) -> ReferralRead:
    referral = service.get(db, actor, referral_id, _zone(request))
    set_etag(response, referral.version)
    return referral


@router.patch("/referrals/{referral_id}")
def update_referral(
    referral_id: uuid.UUID,
    body: ReferralUpdate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> ReferralRead:
    """Change an open referral's details (not its status: see transitions)."""
    referral = service.update(db, actor, referral_id, body, _zone(request))
    set_etag(response, referral.version)
    return referral


@router.post("/referrals/{referral_id}/transitions")
def transition_referral(
    referral_id: uuid.UUID,
    body: ReferralTransition,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> ReferralRead:
    """One lifecycle step. 409 when the status does not allow it (the reply lists what
    does); 422 for a missing reason, date or appointment, or another patient's appointment."""
    referral = service.transition(db, actor, referral_id, body, _zone(request))
    set_etag(response, referral.version)
    return referral


@router.get("/referrals/{referral_id}/history")
def referral_history(referral_id: uuid.UUID, db: Db, actor: Reader) -> list[StatusChange]:
    """Every status change with who made it and when."""
    return service.history(db, actor, referral_id)
