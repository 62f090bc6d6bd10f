"""Coverage use cases: the payer and plan directory, and a patient's coverages.

A coverage is checked as it would be saved, for a create and an update alike: the end is not
before the start, a dependent's subscriber is named, the plan belongs to the payer, card
images are documents of this same patient, and no two active coverages of one patient hold
the same place in the order of benefits (primary, secondary, tertiary) on any day. Every
read and change of a patient's coverage is audited with the patient's id. Services flush,
never commit: a refused change leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebridge.coverage.codes import RANKS, STATUSES
from carebridge.coverage.models import Coverage, Payer, Plan
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
    Subscriber,
)
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.patients.models import Document, Patient
from carebridge.security.audit import Action, Actor, record

# Card images are shown on the tab as pictures: photos or scans only.
CARD_TYPES = ("image/png", "image/jpeg")
SUBSCRIBER_FIELDS = {
    "subscriber_family_name": "Enter the subscriber's family name.",
    "subscriber_given_names": "Enter the subscriber's given names.",
    "subscriber_birth_date": "Enter the subscriber's date of birth.",
    "subscriber_sex": "Choose the subscriber's sex.",
}


# --- payers and plans --------------------------------------------------------------------


def payers(db: Session, *, active_only: bool = False) -> list[PayerRead]:
    query = select(Payer).order_by(Payer.name, Payer.payer_id)
    if active_only:
        query = query.where(Payer.active.is_(True))
    return [PayerRead.model_validate(p) for p in db.scalars(query)]


def add_payer(db: Session, actor: Actor, data: PayerCreate) -> PayerRead:
    taken = db.scalar(select(Payer).where(Payer.payer_id == data.payer_id))
    if taken is not None:
        raise Conflict(
            f"Payer id {data.payer_id} already belongs to {taken.name}; each payer id is one "
            "payer. Nothing was saved.",
            fields={"payer_id": f"Already used by {taken.name}."},
        )
    payer = Payer(**data.model_dump())
    db.add(payer)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:  # two clerks adding the same payer id at once
        raise Conflict(
            f"Payer id {data.payer_id} was just added by someone else. Nothing was saved.",
            fields={"payer_id": "Already used."},
        ) from exc
    record(db, actor, Action.CREATE, entity_type="Payer", entity_id=payer.id)
    return PayerRead.model_validate(payer)


def update_payer(db: Session, actor: Actor, payer_ref: uuid.UUID, data: PayerUpdate) -> PayerRead:
    """Change a payer's details, channel or active flag (409 on a stale version or a payer
    id already another payer's). Its coverages keep pointing at it."""
    payer = db.get(Payer, payer_ref)
    if payer is None:
        raise NotFound(f"No payer with id {payer_ref}")
    check_version("This payer", payer.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("name", "payer_id", "prior_auth_channel", "active"):
        if name in sent and sent[name] is None:
            raise ValidationFailed(
                f"The {name.replace('_', ' ')} cannot be emptied. Nothing was saved.",
                fields={name: "This field is required."},
            )
    if sent.get("payer_id") not in (None, payer.payer_id):
        taken = db.scalar(select(Payer).where(Payer.payer_id == sent["payer_id"]))
        if taken is not None:
            raise Conflict(
                f"Payer id {sent['payer_id']} already belongs to {taken.name}. Nothing was saved.",
                fields={"payer_id": f"Already used by {taken.name}."},
            )
    for name, value in sent.items():
        setattr(payer, name, value)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        raise Conflict(
            "That payer id was just taken by another payer. Nothing was saved.",
            fields={"payer_id": "Already used."},
        ) from exc
    record(db, actor, Action.UPDATE, entity_type="Payer", entity_id=payer.id)
    return PayerRead.model_validate(payer)


def update_plan(db: Session, actor: Actor, plan_id: uuid.UUID, data: PlanUpdate) -> PlanRead:
    plan = db.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"No plan with id {plan_id}")
    check_version("This plan", plan.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("name", "plan_type", "active"):
        if name in sent and sent[name] is None:
            raise ValidationFailed(
                f"The {name.replace('_', ' ')} cannot be emptied. Nothing was saved.",
                fields={name: "This field is required."},
            )
    for name, value in sent.items():
        setattr(plan, name, value)
    db.flush()
    record(db, actor, Action.UPDATE, entity_type="Plan", entity_id=plan.id)
    return PlanRead.model_validate(plan)


def plans(
    db: Session, *, payer_ref: uuid.UUID | None = None, active_only: bool = False
) -> list[PlanRead]:
    query = select(Plan).join(Payer, Payer.id == Plan.payer_ref).order_by(Payer.name, Plan.name)
    if payer_ref is not None:
        query = query.where(Plan.payer_ref == payer_ref)
    if active_only:
        query = query.where(Plan.active.is_(True), Payer.active.is_(True))
    return [PlanRead.model_validate(p) for p in db.scalars(query)]


def add_plan(db: Session, actor: Actor, data: PlanCreate) -> PlanRead:
    if db.get(Payer, data.payer_ref) is None:
        raise ValidationFailed(
            f"There is no payer with id {data.payer_ref}.",
            fields={"payer_ref": "Choose the payer from the list."},
        )
    plan = Plan(**data.model_dump())
    db.add(plan)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="Plan", entity_id=plan.id)
    return PlanRead.model_validate(plan)


# --- reading coverage --------------------------------------------------------------------


def _patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    return patient


def _subscriber(coverage: Coverage, patient: Patient) -> Subscriber:
    if coverage.relationship == "self":
        return Subscriber(
            family_name=patient.family_name,
            given_names=patient.given_names,
            birth_date=patient.birth_date,
            sex=patient.sex if patient.sex in ("female", "male") else "unknown",
            member_id=coverage.member_id,
        )
    return Subscriber(
        family_name=coverage.subscriber_family_name or "",
        given_names=coverage.subscriber_given_names or "",
        birth_date=coverage.subscriber_birth_date,
        sex=coverage.subscriber_sex,
        member_id=coverage.subscriber_member_id or coverage.member_id,
    )


def _read(db: Session, coverage: Coverage, patient: Patient | None = None) -> CoverageRead:
    payer = db.get(Payer, coverage.payer_ref)
    plan = db.get(Plan, coverage.plan_id) if coverage.plan_id else None
    assert payer is not None  # a foreign key
    values: dict[str, Any] = {
        c.key: getattr(coverage, c.key) for c in Coverage.__table__.columns if c.key != "id"
    }
    return CoverageRead(
        **{k: v for k, v in values.items() if k in CoverageRead.model_fields},
        id=coverage.id,
        payer_name=payer.name,
        payer_id=payer.payer_id,
        plan_name=plan.name if plan else None,
        plan_type=plan.plan_type if plan else None,
        subscriber=_subscriber(coverage, patient or _patient(db, coverage.patient_id)),
    )


def in_force(coverage: CoverageRead | Coverage, day: dt.date) -> bool:
    """Active and within its dates on ``day``."""
    return (
        coverage.status == "active"
        and coverage.start_on <= day
        and (coverage.end_on is None or coverage.end_on >= day)
    )


def coverages(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[CoverageRead]:
    """The patient's coverages: active ones in order of benefits (then newest first), then
    cancelled and entered-in-error ones."""
    patient = _patient(db, patient_id)
    rows = db.scalars(select(Coverage).where(Coverage.patient_id == patient_id))
    found = [_read(db, c, patient) for c in rows]
    found.sort(key=lambda c: (c.status != "active", c.rank, -c.start_on.toordinal()))
    record(db, actor, Action.READ, entity_type="Coverage", patient_id=patient_id)
    return found


def _coverage(db: Session, coverage_id: uuid.UUID, patient_id: uuid.UUID | None) -> Coverage:
    coverage = db.get(Coverage, coverage_id)
    if coverage is None or (patient_id is not None and coverage.patient_id != patient_id):
        raise NotFound(f"No coverage with id {coverage_id}")
    return coverage


def get(
    db: Session, actor: Actor, coverage_id: uuid.UUID, *, patient_id: uuid.UUID | None = None
) -> CoverageRead:
    coverage = _coverage(db, coverage_id, patient_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type="Coverage",
        entity_id=coverage.id,
        patient_id=coverage.patient_id,
    )
    return _read(db, coverage)


# --- checking a coverage as it would be saved ----------------------------------------------


def _check_dates(values: dict[str, Any]) -> None:
    start, end = values["start_on"], values.get("end_on")
    if end is not None and end < start:
        raise ValidationFailed(
            f"The coverage ends on {end:%d %b %Y}, before it starts on {start:%d %b %Y}. "
            "Nothing was saved.",
            fields={"end_on": "The end date cannot be before the start date."},
        )


def _check_subscriber(values: dict[str, Any], today: dt.date) -> None:
    if values["relationship"] == "self":
        # The patient is the subscriber: their own chart says who they are.
        for name in (*SUBSCRIBER_FIELDS, "subscriber_member_id"):
            values[name] = None
        return
    missing = {name: hint for name, hint in SUBSCRIBER_FIELDS.items() if not values.get(name)}
    if missing:
        raise ValidationFailed(
            "The patient is not the subscriber, so name the subscriber (the person the "
            "policy is in the name of): family and given names, date of birth and sex. "
            "Nothing was saved.",
            fields=missing,
        )
    if values["subscriber_birth_date"] > today:
        raise ValidationFailed(
            "The subscriber's date of birth is in the future. Nothing was saved.",
            fields={"subscriber_birth_date": "The date of birth is in the future; check it."},
        )


def _check_payer_and_plan(
    db: Session, values: dict[str, Any], chosen: frozenset[str] = frozenset()
) -> None:
    """``chosen``: which of payer_ref / plan_id were picked now (a deactivated payer or plan
    cannot be picked for a coverage; one already on it stays)."""
    payer = db.get(Payer, values["payer_ref"])
    if payer is None:
        raise ValidationFailed(
            f"There is no payer with id {values['payer_ref']}. Nothing was saved.",
            fields={"payer_ref": "Choose the payer from the list."},
        )
    if "payer_ref" in chosen and not payer.active:
        raise ValidationFailed(
            f"{payer.name} is deactivated in the payer list; choose another payer or "
            "reactivate it first. Nothing was saved.",
            fields={"payer_ref": f"{payer.name} is deactivated."},
        )
    if values.get("plan_id") is None:
        return
    plan = db.get(Plan, values["plan_id"])
    if plan is None or plan.payer_ref != payer.id:
        raise ValidationFailed(
            f"That plan is not one of {payer.name}'s plans. Nothing was saved.",
            fields={"plan_id": f"Choose one of {payer.name}'s plans, or leave it empty."},
        )
    if "plan_id" in chosen and not plan.active:
        raise ValidationFailed(
            f"The plan {plan.name} is deactivated; choose another plan or leave it empty. "
            "Nothing was saved.",
            fields={"plan_id": f"{plan.name} is deactivated."},
        )


def _check_cards(db: Session, patient_id: uuid.UUID, values: dict[str, Any]) -> None:
    for name, side in (("card_front_id", "front"), ("card_back_id", "back")):
        document_id = values.get(name)
        if document_id is None:
            continue
        document = db.get(Document, document_id)
        if document is None or document.patient_id != patient_id:
            raise ValidationFailed(
                f"The image of the card's {side} is not one of this patient's documents. "
                "Nothing was saved.",
                fields={name: "Upload the card image to this patient's chart."},
            )
        if document.content_type not in CARD_TYPES:
            raise ValidationFailed(
                f"The card's {side} must be a photo or scan (PNG or JPEG), not "
                f"{document.content_type}. Nothing was saved.",
                fields={name: "Upload a PNG or JPEG image of the card."},
            )


def _check_order(
    db: Session, patient_id: uuid.UUID, values: dict[str, Any], exclude: uuid.UUID | None
) -> None:
    """One active coverage per place in the order of benefits on any one day."""
    if values["status"] != "active":
        return
    start, end = values["start_on"], values.get("end_on")
    query = select(Coverage).where(
        Coverage.patient_id == patient_id,
        Coverage.status == "active",
        Coverage.rank == values["rank"],
    )
    if exclude is not None:
        query = query.where(Coverage.id != exclude)
    for other in db.scalars(query):
        if (other.end_on is None or other.end_on >= start) and (
            end is None or end >= other.start_on
        ):
            payer = db.get(Payer, other.payer_ref)
            until = f"{other.end_on:%d %b %Y}" if other.end_on else "with no end date"
            rank = RANKS[values["rank"]].lower()
            raise Conflict(
                f"The patient already has an active {rank} coverage with "
                f"{payer.name if payer else 'another payer'} from {other.start_on:%d %b %Y} "
                f"{'to ' if other.end_on else ''}{until}, and the dates overlap. End that "
                "coverage first, or choose another place in the order of benefits. "
                "Nothing was saved.",
                fields={"rank": f"There is already an active {rank} coverage for these dates."},
                extra={"conflicting_coverage_id": str(other.id)},
            )


def _check(
    db: Session,
    patient_id: uuid.UUID,
    values: dict[str, Any],
    today: dt.date,
    exclude: uuid.UUID | None = None,
    chosen: frozenset[str] = frozenset({"payer_ref", "plan_id"}),
) -> None:
    _check_dates(values)
    _check_subscriber(values, today)
    _check_payer_and_plan(db, values, chosen)
    _check_cards(db, patient_id, values)
    _check_order(db, patient_id, values, exclude)


# --- changing coverage ---------------------------------------------------------------------


def _for_change(db: Session, patient_id: uuid.UUID) -> Patient:
    """The patient, locked until the end of the unit of work (on PostgreSQL): two clerks
    adding a primary to one patient at once take turns, so the order-of-benefits check
    sees the other's coverage."""
    patient = db.get(Patient, patient_id, with_for_update=True)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; record the coverage on the "
            "surviving chart. Nothing was saved."
        )
    return patient


def add(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: CoverageCreate, today: dt.date
) -> CoverageRead:
    patient = _for_change(db, patient_id)
    values = data.model_dump()
    _check(db, patient_id, values, today)
    coverage = Coverage(patient_id=patient_id, **values)
    db.add(coverage)
    db.flush()
    record(
        db, actor, Action.CREATE, entity_type="Coverage", entity_id=coverage.id,
        patient_id=patient_id,
    )  # fmt: skip
    return _read(db, coverage, patient)


def update(
    db: Session,
    actor: Actor,
    coverage_id: uuid.UUID,
    data: CoverageUpdate,
    today: dt.date,
    *,
    patient_id: uuid.UUID | None = None,
) -> CoverageRead:
    """Change the fields sent. Ending, cancelling or marking a coverage entered in error is
    an update of ``end_on`` or ``status``; nothing is deleted."""
    coverage = _coverage(db, coverage_id, patient_id)
    patient = _for_change(db, coverage.patient_id)
    check_version("This coverage", coverage.version, data.version, coverage_id=str(coverage.id))
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("payer_ref", "member_id", "relationship", "rank", "start_on", "status"):
        if name in sent and sent[name] is None:
            raise ValidationFailed(
                f"The {name.replace('_', ' ')} cannot be emptied. Nothing was saved.",
                fields={name: "This field is required."},
            )
    if "payer_ref" in sent and "plan_id" not in sent and sent["payer_ref"] != coverage.payer_ref:
        sent["plan_id"] = None  # the old plan was the old payer's
    values = {c.key: getattr(coverage, c.key) for c in Coverage.__table__.columns}
    values.update(sent)
    chosen = frozenset(
        name
        for name in ("payer_ref", "plan_id")
        if name in sent and sent[name] != getattr(coverage, name)
    )
    _check(db, coverage.patient_id, values, today, exclude=coverage.id, chosen=chosen)
    for name in (*sent, *SUBSCRIBER_FIELDS, "subscriber_member_id"):
        setattr(coverage, name, values[name])
    db.flush()
    record(
        db, actor, Action.UPDATE, entity_type="Coverage", entity_id=coverage.id,
        patient_id=coverage.patient_id,
    )  # fmt: skip
    return _read(db, coverage, patient)


def status_words(status: str) -> str:
    return STATUSES.get(status, status)
