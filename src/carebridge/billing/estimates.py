"""The estimate of a patient's share for a planned service, read from the latest answered
eligibility check of the patient's primary active coverage (see ``billing.estimate``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.billing import codes
from carebridge.billing.claims import primary_coverage
from carebridge.billing.estimate import estimate
from carebridge.billing.schemas import EstimateIn, EstimateRead
from carebridge.coverage.models import EligibilityCheck, Payer
from carebridge.coverage.procedures import describe, normalize_procedure
from carebridge.lib.errors import NotFound, ValidationFailed
from carebridge.patients.models import Patient
from carebridge.security.audit import Action, Actor, record


def make(db: Session, actor: Actor, data: EstimateIn, today: dt.date) -> EstimateRead:
    """The estimate for ``data.code`` (at ``data.allowed`` or the fee schedule's charge)."""
    patient = db.get(Patient, data.patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {data.patient_id}")
    try:
        code = normalize_procedure(data.code)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.detail, fields={"code": exc.fields["code"]}) from exc
    allowed = data.allowed if data.allowed is not None else codes.FEES.get(code)
    if allowed is None:
        raise ValidationFailed(
            f"{code} is not on the clinic's fee schedule: type the allowed amount.",
            fields={"allowed": "Enter the allowed amount for this service."},
        )
    coverage = primary_coverage(db, patient.id, today)
    check = None
    payer = None
    if coverage is not None:
        payer = db.get(Payer, coverage.payer_ref)
        check = db.scalar(
            select(EligibilityCheck)
            .where(
                EligibilityCheck.coverage_id == coverage.id,
                EligibilityCheck.status == "complete",
            )
            .order_by(EligibilityCheck.answered_at.desc(), EligibilityCheck.created_at.desc())
            .limit(1)
        )
    record(
        db,
        actor,
        Action.READ,
        entity_type="EligibilityCheck",
        entity_id=check.id if check is not None else None,
        patient_id=patient.id,
        reason=f"estimate for {code}",
    )
    kind = codes.service_type(code)
    found = estimate(check.result if check is not None else None, allowed, kind)
    if coverage is None:
        found.message = (
            "The patient has no active insurance coverage on file, so the whole allowed "
            "amount would be theirs to pay. Add their insurance on the Coverage tab and check "
            "eligibility to estimate what the plan pays."
        )
    return EstimateRead(
        patient_id=patient.id,
        code=code,
        description=describe(code),
        service_type=kind,
        available=found.available,
        allowed=found.allowed,
        patient_pays=found.patient_pays,
        plan_pays=found.plan_pays,
        steps=found.steps,
        message=found.message,
        payer_name=payer.name if payer is not None else None,
        checked_at=check.answered_at if check is not None else None,
    )
