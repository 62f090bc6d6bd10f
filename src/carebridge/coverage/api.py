"""JSON API for payers, plans and patients' coverage. Updates carry the record's
``version``; a stale one is a 409 and nothing is saved. The payer and plan lists are
read with ``coverage:read`` and changed with ``coverage:write`` (billing keeps them)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.coverage import service
from carebridge.coverage.schemas import (
    CoverageCreate,
    CoverageRead,
    CoverageUpdate,
    PayerCreate,
    PayerRead,
    PayerUpdate,
    PlanCreate,
    PlanRead,
    PlanUpdate,
)
from carebridge.lib.time import utcnow
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["coverage"])
Reader = Annotated[Actor, Depends(Require(Permission.COVERAGE_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.COVERAGE_WRITE))]


def clinic_today(request: Request) -> dt.date:
    return utcnow().astimezone(ZoneInfo(settings_of(request).timezone)).date()


@router.get("/payers")
def list_payers(
    db: Db, actor: Reader, active: Annotated[bool, Query(description="Only active")] = False
) -> list[PayerRead]:
    """Payers by name, with their EDI payer ids."""
    return service.payers(db, active_only=active)


@router.post("/payers", status_code=201)
def add_payer(body: PayerCreate, db: Db, actor: Writer, response: Response) -> PayerRead:
    """Add a payer; 409 when its EDI payer id is already another payer's."""
    payer = service.add_payer(db, actor, body)
    set_etag(response, payer.version)
    return payer


@router.patch("/payers/{payer_record_id}")
def update_payer(
    payer_record_id: uuid.UUID, body: PayerUpdate, db: Db, actor: Writer, response: Response
) -> PayerRead:
    """Edit a payer (name, EDI payer id, phone, website, prior authorization channel) or
    deactivate / reactivate it with ``active``. 409 for a stale version or a payer id taken."""
    payer = service.update_payer(db, actor, payer_record_id, body)
    set_etag(response, payer.version)
    return payer


@router.get("/plans")
def list_plans(
    db: Db,
    actor: Reader,
    payer_ref: Annotated[uuid.UUID | None, Query(description="One payer's plans")] = None,
    active: Annotated[bool, Query(description="Only active plans of active payers")] = False,
) -> list[PlanRead]:
    return service.plans(db, payer_ref=payer_ref, active_only=active)


@router.post("/plans", status_code=201)
def add_plan(body: PlanCreate, db: Db, actor: Writer, response: Response) -> PlanRead:
    """Add a plan to a payer; 422 for an unknown payer or plan type."""
    plan = service.add_plan(db, actor, body)
    set_etag(response, plan.version)
    return plan


@router.patch("/plans/{plan_id}")
def update_plan(
    plan_id: uuid.UUID, body: PlanUpdate, db: Db, actor: Writer, response: Response
) -> PlanRead:
    """Edit a plan or deactivate / reactivate it; a deactivated plan is not offered for new
    coverages."""
    plan = service.update_plan(db, actor, plan_id, body)
    set_etag(response, plan.version)
    return plan


@router.get("/patients/{patient_id}/coverage")
def list_coverage(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[CoverageRead]:
    """Active coverages in order of benefits (primary first), then cancelled and
    entered-in-error ones."""
    return service.coverages(db, actor, patient_id)


@router.post("/patients/{patient_id}/coverage", status_code=201)
def add_coverage(
    patient_id: uuid.UUID,
    body: CoverageCreate,
    request: Request,
    db: Db,
    actor: Writer,
    response: Response,
) -> CoverageRead:
    """Record a coverage. 422 for an end before the start, a dependent without the
    subscriber's name, birth date and sex, a plan of another payer, or a card image that is
    not this patient's document; 409 when an active coverage already holds that place in the
    order of benefits on overlapping dates."""
    made = service.add(db, actor, patient_id, body, clinic_today(request))
    set_etag(response, made.version)
    return made


@router.get("/coverage/{coverage_id}")
def read_coverage(
    coverage_id: uuid.UUID, db: Db, actor: Reader, response: Response
) -> CoverageRead:
    found = service.get(db, actor, coverage_id)
    set_etag(response, found.version)
    return found


@router.patch("/coverage/{coverage_id}")
def update_coverage(
    coverage_id: uuid.UUID,
    body: CoverageUpdate,
    request: Request,
    db: Db,
    actor: Writer,
    response: Response,
) -> CoverageRead:
    """Change a coverage (end it with ``end_on``, or set ``status`` to ``cancelled`` or
    ``entered-in-error``); the same checks as when adding one apply."""
    changed = service.update(db, actor, coverage_id, body, clinic_today(request))
    set_etag(response, changed.version)
    return changed
