"""JSON API for claims, billing cases, payment plans and estimates under /api/v1. Changes
carry the record's ``version`` (reads return it, and as a weak ETag); a stale one is a 409
and nothing is saved."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.billing import cases, claims, estimates, plans
from carebridge.billing.schemas import (
    AttachmentIn,
    AttachmentUpdate,
    CaseCreate,
    CaseRead,
    CaseStatus,
    CaseUpdate,
    ClaimCreate,
    ClaimRaw,
    ClaimRead,
    ClaimStatus,
    ClaimStep,
    ClaimSubmit,
    ClaimUpdate,
    EstimateIn,
    EstimateRead,
    PaymentIn,
    PlanCancel,
    PlanCreate,
    PlanRead,
    StatusChange,
    Topic,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import clinic_today, set_etag

router = APIRouter(prefix="/api/v1", tags=["billing"])
Reader = Annotated[Actor, Depends(Require(Permission.BILLING_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.BILLING_WRITE))]


def _zone(request: Request) -> str:
    return settings_of(request).timezone


# --- claims --------------------------------------------------------------------------------


@router.get("/claims")
def list_claims(
    db: Db,
    actor: Reader,
    status: Annotated[ClaimStatus | None, Query(description="Default: every open status")] = None,
) -> list[ClaimRead]:
    """Claims across patients, rejected first (at most 300)."""
    return [row[0] for row in claims.board(db, actor, status=status)]


@router.post("/claims", status_code=201)
def create_claim(
    body: ClaimCreate, request: Request, response: Response, db: Db, actor: Writer
) -> ClaimRead:
    """A draft claim for a completed visit. 422 names a visit not completed, no active
    coverage, an unknown ICD-10-CM or CPT/HCPCS code, a claim without a diagnosis or totals
    that do not add up; 409 a visit already billed."""
    claim = claims.create(db, actor, body, _zone(request))
    response.headers["Location"] = f"/api/v1/claims/{claim.id}"
    set_etag(response, claim.version)
    return claim


@router.get("/patients/{patient_id}/claims")
def list_patient_claims(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[ClaimRead]:
    return claims.for_patient(db, actor, patient_id)


@router.get("/claims/{claim_id}")
def read_claim(claim_id: uuid.UUID, response: Response, db: Db, actor: Reader) -> ClaimRead:
    claim = claims.get(db, actor, claim_id)
    set_etag(response, claim.version)
    return claim


@router.patch("/claims/{claim_id}")
def update_claim(
    claim_id: uuid.UUID, body: ClaimUpdate, request: Request, response: Response, db: Db,
    actor: Writer,
) -> ClaimRead:  # fmt: skip
    """Correct a draft, ready or rejected claim (409 otherwise)."""
    claim = claims.update(db, actor, claim_id, body, _zone(request))
    set_etag(response, claim.version)
    return claim


@router.post("/claims/{claim_id}/status")
def change_claim_status(
    claim_id: uuid.UUID, body: ClaimStep, response: Response, db: Db, actor: Writer
) -> ClaimRead:
    """``ready``, ``reopen`` (back to draft to correct), or ``outcome``: the payer's decision
    on an accepted claim (paid, partially-paid, denied) with the amounts."""
    claim = claims.step(db, actor, claim_id, body)
    set_etag(response, claim.version)
    return claim


@router.post("/claims/{claim_id}/submit")
def submit_claim(
    claim_id: uuid.UUID, body: ClaimSubmit, request: Request, response: Response, db: Db,
    actor: Writer,
) -> ClaimRead:  # fmt: skip
    """Send the 837P through the clearinghouse. The claim comes back accepted or rejected
    (``last_error`` lists the clearinghouse's errors); when the clearinghouse could not be
    reached its status is unchanged and ``last_error`` says why. 422 lists missing required
    attachments."""
    claim = claims.submit(db, actor, claim_id, body.version, settings_of(request))
    set_etag(response, claim.version)
    return claim


@router.get("/claims/{claim_id}/history")
def claim_history(claim_id: uuid.UUID, db: Db, actor: Reader) -> list[StatusChange]:
    return claims.history(db, actor, claim_id)


@router.get("/claims/{claim_id}/x12")
def claim_x12(claim_id: uuid.UUID, db: Db, actor: Reader) -> ClaimRaw:
    """The 837 as last sent and the 999 that answered it."""
    return claims.raw(db, actor, claim_id)


@router.post("/claims/{claim_id}/attachments", status_code=201)
def add_claim_attachment(
    claim_id: uuid.UUID, body: AttachmentIn, db: Db, actor: Writer
) -> ClaimRead:
    return claims.add_attachment(db, actor, claim_id, body)


@router.patch("/claim-attachments/{attachment_id}")
def mark_claim_attachment(
    attachment_id: uuid.UUID, body: AttachmentUpdate, db: Db, actor: Writer
) -> ClaimRead:
    """Received (``document_id``) or missing (null)."""
    return claims.mark_attachment(db, actor, attachment_id, body)


# --- billing cases -------------------------------------------------------------------------


@router.get("/billing-cases")
def list_cases(
    db: Db,
    actor: Reader,
    status: Annotated[CaseStatus | None, Query(description="Default: every open status")] = None,
    topic: Topic | None = None,
    owner_id: uuid.UUID | None = None,
) -> list[CaseRead]:
    return cases.board(db, actor, status=status, topic=topic, owner_id=owner_id)


@router.get("/patients/{patient_id}/billing-cases")
def list_patient_cases(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[CaseRead]:
    return cases.for_patient(db, actor, patient_id)


@router.post("/patients/{patient_id}/billing-cases", status_code=201)
def create_case(
    patient_id: uuid.UUID, body: CaseCreate, response: Response, db: Db, actor: Writer
) -> CaseRead:
    case = cases.create(db, actor, patient_id, body)
    response.headers["Location"] = f"/api/v1/billing-cases/{case.id}"
    set_etag(response, case.version)
    return case


@router.get("/billing-cases/{case_id}")
def read_case(case_id: uuid.UUID, response: Response, db: Db, actor: Reader) -> CaseRead:
    case = cases.get(db, actor, case_id)
    set_etag(response, case.version)
    return case


@router.patch("/billing-cases/{case_id}")
def update_case(
    case_id: uuid.UUID, body: CaseUpdate, response: Response, db: Db, actor: Writer
) -> CaseRead:
    """Status, owner, claim, a note, or the resolution (required to resolve)."""
    case = cases.update(db, actor, case_id, body)
    set_etag(response, case.version)
    return case


# --- payment plans -------------------------------------------------------------------------


@router.get("/payment-plans")
def list_plans(request: Request, db: Db, actor: Reader) -> list[PlanRead]:
    """Active plans, late ones first."""
    return plans.board(db, actor, clinic_today(request))


@router.get("/patients/{patient_id}/payment-plans")
def list_patient_plans(
    patient_id: uuid.UUID, request: Request, db: Db, actor: Reader
) -> list[PlanRead]:
    return plans.for_patient(db, actor, patient_id, clinic_today(request))


@router.post("/patients/{patient_id}/payment-plans", status_code=201)
def create_plan(
    patient_id: uuid.UUID, body: PlanCreate, request: Request, response: Response, db: Db,
    actor: Writer,
) -> PlanRead:  # fmt: skip
    """Instalments due monthly from ``first_due_on`` that sum exactly to ``total``."""
    plan = plans.create(db, actor, patient_id, body, clinic_today(request))
    response.headers["Location"] = f"/api/v1/payment-plans/{plan.id}"
    set_etag(response, plan.version)
    return plan


@router.get("/payment-plans/{plan_id}")
def read_plan(
    plan_id: uuid.UUID, request: Request, response: Response, db: Db, actor: Reader
) -> PlanRead:
    plan = plans.get(db, actor, plan_id, clinic_today(request))
    set_etag(response, plan.version)
    return plan


@router.post("/payment-plans/{plan_id}/cancel")
def cancel_plan(
    plan_id: uuid.UUID, body: PlanCancel, request: Request, db: Db, actor: Writer
) -> PlanRead:
    return plans.cancel(db, actor, plan_id, body, clinic_today(request))


@router.post("/instalments/{instalment_id}/payment")
def pay_instalment(
    instalment_id: uuid.UUID, body: PaymentIn, request: Request, db: Db, actor: Writer
) -> PlanRead:
    """Record the instalment paid (its whole amount)."""
    return plans.pay(db, actor, instalment_id, body, clinic_today(request))


# --- estimates -----------------------------------------------------------------------------


@router.post("/estimates")
def make_estimate(body: EstimateIn, request: Request, db: Db, actor: Reader) -> EstimateRead:
    """The patient's share of a planned service from the latest answered eligibility check
    of the primary coverage; ``available`` is false (with ``message``) when there is none."""
    return estimates.make(db, actor, body, clinic_today(request))
