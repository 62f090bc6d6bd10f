"""Billing inquiries: a case for each question a patient asks about a bill, a claim, an
estimate, a payment plan or their insurance, worked (status, owner, notes over time) until it
is resolved with a resolution the next person can read.

Every read and change is audited with the patient; changes carry the case's version.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.billing import codes
from carebridge.billing.models import BillingCase, BillingCaseNote, Claim
from carebridge.billing.schemas import CaseCreate, CaseNoteRead, CaseRead, CaseUpdate
from carebridge.db import counters
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User

BOARD_LIMIT = 300
ENTITY = "BillingCase"


def _case(db: Session, case_id: uuid.UUID) -> BillingCase:
    case = db.get(BillingCase, case_id)
    if case is None:
        raise NotFound(f"No billing case with id {case_id}")
    return case


def _owner(db: Session, owner_id: uuid.UUID | None) -> None:
    if owner_id is None:
        return
    user = db.get(User, owner_id)
    if user is None or not user.is_active:
        raise ValidationFailed(
            f"There is no active user with id {owner_id} to own the case.",
            fields={"owner_id": "Choose an active colleague."},
        )


def _claim(db: Session, patient_id: uuid.UUID, claim_id: uuid.UUID | None) -> None:
    if claim_id is None:
        return
    claim = db.get(Claim, claim_id)
    if claim is None or claim.patient_id != patient_id:
        raise ValidationFailed(
            f"Claim {claim_id} is not one of this patient's claims.",
            fields={"claim_id": "Choose one of the patient's claims."},
        )


def _read(db: Session, case: BillingCase, patient: Patient | None = None) -> CaseRead:
    patient = patient or db.get(Patient, case.patient_id)
    assert patient is not None  # foreign key
    owner = db.get(User, case.owner_id) if case.owner_id else None
    claim = db.get(Claim, case.claim_id) if case.claim_id else None
    notes = db.execute(
        select(BillingCaseNote, User.display_name)
        .outerjoin(User, User.id == BillingCaseNote.created_by)
        .where(BillingCaseNote.case_id == case.id)
        .order_by(BillingCaseNote.created_at, BillingCaseNote.id)
    ).all()
    return CaseRead(
        id=case.id,
        number=case.number,
        patient_id=case.patient_id,
        patient_name=f"{patient.family_name}, {patient.given_names}",
        mrn=patient.mrn,
        topic=case.topic,
        status=case.status,
        question=case.question,
        owner_id=case.owner_id,
        owner_name=owner.display_name if owner else None,
        claim_id=case.claim_id,
        claim_number=claim.number if claim else None,
        resolution=case.resolution,
        resolved_at=case.resolved_at,
        notes=[
            CaseNoteRead(body=note.body, created_at=note.created_at, created_by=name)
            for note, name in notes
        ],
        created_at=case.created_at,
        version=case.version,
    )


def _audit(
    db: Session, actor: Actor, action: Action, case: BillingCase, reason: str | None
) -> None:
    record(
        db,
        actor,
        action,
        entity_type=ENTITY,
        entity_id=case.id,
        patient_id=case.patient_id,
        reason=reason,
    )


def get(db: Session, actor: Actor, case_id: uuid.UUID) -> CaseRead:
    case = _case(db, case_id)
    _audit(db, actor, Action.READ, case, None)
    return _read(db, case)


def for_patient(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[CaseRead]:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    rows = db.scalars(
        select(BillingCase)
        .where(BillingCase.patient_id == patient_id)
        .order_by(BillingCase.created_at.desc(), BillingCase.id)
    )
    record(db, actor, Action.READ, entity_type=ENTITY, patient_id=patient_id, reason="list")
    found = [_read(db, case, patient) for case in rows]
    return sorted(found, key=lambda c: c.status not in codes.OPEN_CASE_STATUSES)


def board(
    db: Session,
    actor: Actor,
    *,
    status: str | None = None,
    topic: str | None = None,
    owner_id: uuid.UUID | None = None,
    limit: int = BOARD_LIMIT,
) -> list[CaseRead]:
    """Cases across patients, oldest first; without a status filter only open ones."""
    query = select(BillingCase, Patient).join(Patient, Patient.id == BillingCase.patient_id)
    if status:
        query = query.where(BillingCase.status == status)
    else:
        query = query.where(BillingCase.status.in_(codes.OPEN_CASE_STATUSES))
    if topic:
        query = query.where(BillingCase.topic == topic)
    if owner_id:
        query = query.where(BillingCase.owner_id == owner_id)
    rows = db.execute(query.order_by(BillingCase.created_at, BillingCase.id).limit(limit)).all()
    record(db, actor, Action.READ, entity_type=ENTITY, reason="billing board")
    return [_read(db, case, patient) for case, patient in rows]


def create(db: Session, actor: Actor, patient_id: uuid.UUID, data: CaseCreate) -> CaseRead:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; open the case on the "
            "surviving chart. Nothing was saved."
        )
    _owner(db, data.owner_id)
    _claim(db, patient.id, data.claim_id)
    case = BillingCase(
        number=counters.next_number(db, "billing-case", "B"),
        patient_id=patient.id,
        topic=data.topic,
        status="open",
        question=data.question,
        owner_id=data.owner_id or actor.user_id,
        claim_id=data.claim_id,
    )
    db.add(case)
    db.flush()
    _audit(db, actor, Action.CREATE, case, f"{case.number} {case.topic}")
    return _read(db, case, patient)


def update(
    db: Session,
    actor: Actor,
    case_id: uuid.UUID,
    data: CaseUpdate,
    now: dt.datetime | None = None,
) -> CaseRead:
    """Status, owner, linked claim, a note, or the resolution. Resolving needs a resolution;
    a resolved case reopens by setting another status."""
    now = now or utcnow()
    case = _case(db, case_id)
    check_version("This billing case", case.version, data.version)
    sent = data.model_fields_set
    status = data.status or case.status
    if (
        status == "resolved"
        and case.status != "resolved"
        and not (data.resolution or case.resolution or "").strip()
    ):
        raise ValidationFailed(
            "Write the resolution before resolving the case: what was found and what the "
            "patient was told.",
            fields={"resolution": "Enter the resolution."},
        )
    if "owner_id" in sent:
        _owner(db, data.owner_id)
    if "claim_id" in sent:
        _claim(db, case.patient_id, data.claim_id)
    changed: list[str] = []
    if status != case.status:
        changed.append(f"status {case.status} -> {status}")
        case.status = status
        case.resolved_at = now if status == "resolved" else None
    if data.resolution is not None and data.resolution != case.resolution:
        case.resolution = data.resolution
        changed.append("resolution")
    if "owner_id" in sent and data.owner_id != case.owner_id:
        case.owner_id = data.owner_id
        changed.append("owner")
    if "claim_id" in sent and data.claim_id != case.claim_id:
        case.claim_id = data.claim_id
        changed.append("claim")
    if data.note:
        db.add(
            BillingCaseNote(
                case_id=case.id, body=data.note, created_at=now, created_by=actor.user_id
            )
        )
        changed.append("note")
    if not changed:
        raise ValidationFailed(
            "Nothing to save: change the status, owner or claim, or write a note.",
            fields={"note": "Write a note or change something."},
        )
    if len(changed) == 1 and changed == ["note"]:
        case.updated_at = now  # a note alone still makes a new version of the case
    db.flush()
    _audit(db, actor, Action.UPDATE, case, ", ".join(changed)[:200])
    return _read(db, case)
