"""Claim use cases: make a claim for a completed visit, correct it, keep its attachments
checklist, send it as an 837P through the clearinghouse and read the 999 that answers, and
record the payer's decision.

The lifecycle: draft -> ready -> submitted -> accepted | rejected; accepted -> paid,
partially paid or denied (recorded by a person). A rejected claim is corrected (back to
draft, or edited as it is) and sent again; a claim the clearinghouse had accepted before is
sent again as a replacement (frequency 7). Every change is kept (``__versioned__``) and a
stale change is a 409. A refused change raises before anything is written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from carebridge.authorizations import codes as auth_codes
from carebridge.authorizations.models import AuthorizationService, PriorAuthorization
from carebridge.billing import codes
from carebridge.billing.models import Claim, ClaimAttachment
from carebridge.billing.schemas import (
    AttachmentIn,
    AttachmentRead,
    AttachmentUpdate,
    ClaimCreate,
    ClaimLineIn,
    ClaimLineRead,
    ClaimRaw,
    ClaimRead,
    ClaimStep,
    ClaimUpdate,
    Diagnosis,
    StatusChange,
)
from carebridge.coverage import clearinghouse
from carebridge.coverage.codes import PLAN_TYPE_X12, RANK_X12
from carebridge.coverage.models import Coverage, Payer, Plan
from carebridge.coverage.procedures import describe, normalize_procedure
from carebridge.coverage.x12 import claim as x12
from carebridge.coverage.x12.codec import X12Error
from carebridge.coverage.x12.control import next_control_number
from carebridge.db import counters
from carebridge.db.history import RecordVersion
from carebridge.db.session import WRITE_OPTION
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients import terminology
from carebridge.patients.models import Condition, Document, Patient
from carebridge.scheduling.models import Appointment, AppointmentType, Practitioner
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.settings import Settings

BOARD_LIMIT = 300
ENTITY = "Claim"


# --- checking input ------------------------------------------------------------------------


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; bill on the surviving chart. "
            "Nothing was saved."
        )
    return patient


def _visit(db: Session, appointment_id: uuid.UUID) -> Appointment:
    visit = db.get(Appointment, appointment_id)
    if visit is None:
        raise ValidationFailed(
            f"There is no appointment with id {appointment_id}.",
            fields={"appointment_id": "No appointment has this id."},
        )
    if visit.status != "fulfilled":
        raise ValidationFailed(
            f"That visit is {visit.status}, not completed: a claim is made for a visit that "
            "took place. Mark the visit completed first. Nothing was saved.",
            fields={"appointment_id": f"The visit is {visit.status}, not completed."},
        )
    return visit


def service_day(visit: Appointment, zone: str) -> dt.date:
    return visit.starts_at.astimezone(ZoneInfo(zone)).date()


def primary_coverage(db: Session, patient_id: uuid.UUID, day: dt.date) -> Coverage | None:
    """The patient's active coverage first in the order of benefits on ``day``."""
    return db.scalar(
        select(Coverage)
        .where(
            Coverage.patient_id == patient_id,
            Coverage.status == "active",
            Coverage.start_on <= day,
            (Coverage.end_on.is_(None)) | (Coverage.end_on >= day),
        )
        .order_by(Coverage.rank, Coverage.start_on.desc())
        .limit(1)
    )


def _coverage(
    db: Session, patient_id: uuid.UUID, coverage_id: uuid.UUID | None, day: dt.date
) -> Coverage:
    if coverage_id is None:
        found = primary_coverage(db, patient_id, day)
        if found is None:
            raise ValidationFailed(
                f"The patient has no active insurance coverage on {day:%d %b %Y}: add it on "
                "the Coverage tab, then make the claim. Nothing was saved.",
                fields={"coverage_id": "No active coverage on the day of the visit."},
            )
        return found
    coverage = db.get(Coverage, coverage_id)
    if coverage is None or coverage.patient_id != patient_id:
        raise ValidationFailed(
            f"Coverage {coverage_id} is not one of this patient's.",
            fields={"coverage_id": "Choose one of the patient's coverages."},
        )
    if (
        coverage.status != "active"
        or coverage.start_on > day
        or (coverage.end_on is not None and coverage.end_on < day)
    ):
        raise ValidationFailed(
            f"That coverage is not active on {day:%d %b %Y}, the day of the visit.",
            fields={"coverage_id": "Not active on the day of the visit."},
        )
    return coverage


def _diagnoses(values: Sequence[str]) -> list[dict[str, str]]:
    found = terminology.icd10_list(
        values,
        required="A claim needs at least one diagnosis (ICD-10-CM); the first is the principal "
        "one.",
    )
    if len(found) > x12.MAX_DIAGNOSES:
        raise ValidationFailed(
            f"A claim holds at most {x12.MAX_DIAGNOSES} diagnoses; you gave {len(found)}.",
            fields={"diagnoses": f"At most {x12.MAX_DIAGNOSES} codes."},
        )
    return found


def active_problems(db: Session, patient_id: uuid.UUID) -> list[str]:
    """The patient's active ICD-10-CM conditions (the chart's problems), oldest first."""
    return list(
        db.scalars(
            select(Condition.code)
            .where(
                Condition.patient_id == patient_id,
                Condition.code_system == terminology.ICD10CM,
                Condition.clinical_status == "active",
            )
            .order_by(Condition.created_at, Condition.id)
            .limit(x12.MAX_DIAGNOSES)
        )
    )


def default_lines(db: Session, visit: Appointment) -> list[ClaimLineIn]:
    """The visit type's service at the fee schedule's charge, pointing to the principal
    diagnosis; none when the visit type has no billing code."""
    kind = db.get(AppointmentType, visit.appointment_type_id)
    if kind is None or not kind.service_code:
        return []
    fee = codes.FEES.get(kind.service_code)
    if fee is None:
        return []
    return [ClaimLineIn(code=kind.service_code, charge=fee)]


def authorization_for(
    db: Session, patient_id: uuid.UUID, day: dt.date, codes_billed: Sequence[str]
) -> str | None:
    """The number of a granted prior authorization of the patient that covers ``day`` and
    one of the services billed, if there is one (the newest)."""
    if not codes_billed:
        return None
    return db.scalar(
        select(PriorAuthorization.auth_number)
        .join(AuthorizationService, AuthorizationService.authorization_id == PriorAuthorization.id)
        .where(
            PriorAuthorization.patient_id == patient_id,
            PriorAuthorization.status.in_(auth_codes.GRANTED),
            PriorAuthorization.auth_number.is_not(None),
            PriorAuthorization.approved_start <= day,
            PriorAuthorization.approved_end >= day,
            AuthorizationService.code.in_(list(codes_billed)),
        )
        .order_by(PriorAuthorization.decided_at.desc())
        .limit(1)
    )


def _lines(
    lines: Sequence[ClaimLineIn], diagnoses: int, day: dt.date, total: Decimal | None
) -> tuple[list[dict[str, Any]], Decimal]:
    if not lines:
        raise ValidationFailed(
            "A claim needs at least one service line (a CPT or HCPCS code with its charge). "
            "Nothing was saved.",
            fields={"lines": "Add a service line."},
        )
    stored: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            code = normalize_procedure(line.code)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"Line {number}: {exc.detail} Nothing was saved.",
                fields={"lines": f"Line {number}: {exc.detail}"},
            ) from exc
        for pointer in line.pointers:
            if pointer > diagnoses:
                raise ValidationFailed(
                    f"Line {number} points to diagnosis {pointer}, but the claim has "
                    f"{diagnoses}. Nothing was saved.",
                    fields={"lines": f"Line {number}: pointer {pointer} has no diagnosis."},
                )
        when = line.service_date or day
        if when != day:
            raise ValidationFailed(
                f"Line {number} is dated {when:%d %b %Y} but the visit was on {day:%d %b %Y}; "
                "a claim for a visit bills that day's services.",
                fields={"lines": f"Line {number}: date is not the visit's."},
            )
        stored.append(
            {
                "code": code,
                "modifiers": [m.upper() for m in line.modifiers],
                "charge": str(line.charge.quantize(Decimal("0.01"))),
                "units": str(line.units),
                "pointers": list(dict.fromkeys(line.pointers)),
                "service_date": when.isoformat(),
            }
        )
    summed = sum((Decimal(line["charge"]) for line in stored), Decimal(0))
    if total is not None and total != summed:
        raise ValidationFailed(
            f"The total {total:.2f} does not add up: the lines come to {summed:.2f}. Correct "
            "a line's charge or the total. Nothing was saved.",
            fields={"total": f"The lines add up to {summed:.2f}."},
        )
    return stored, summed


def _documents(db: Session, patient_id: uuid.UUID, ids: Sequence[uuid.UUID | None]) -> None:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return
    owners = dict(
        db.execute(select(Document.id, Document.patient_id).where(Document.id.in_(wanted))).all()
    )
    for doc_id in wanted:
        if owners.get(doc_id) != patient_id:
            raise ValidationFailed(
                f"Document {doc_id} is not one of this patient's documents.",
                fields={"document_id": "Choose one of the patient's documents."},
            )


def _attachment(claim_id: uuid.UUID, data: AttachmentIn) -> ClaimAttachment:
    label, report_type = codes.ATTACHMENT_KINDS[data.kind]
    return ClaimAttachment(
        claim_id=claim_id,
        kind=data.kind,
        label=data.label or label,
        report_type=report_type,
        transmission=data.transmission,
        required=data.required,
        document_id=data.document_id,
    )


# --- reading -------------------------------------------------------------------------------


def _claim(db: Session, claim_id: uuid.UUID) -> Claim:
    claim = db.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"No claim with id {claim_id}")
    return claim


def _attachments(db: Session, claim_id: uuid.UUID) -> list[ClaimAttachment]:
    return list(
        db.scalars(
            select(ClaimAttachment)
            .where(ClaimAttachment.claim_id == claim_id)
            .order_by(ClaimAttachment.created_at, ClaimAttachment.id)
        )
    )


def missing(attachments: Sequence[ClaimAttachment]) -> list[str]:
    return [a.label for a in attachments if a.required and a.document_id is None]


def _read(db: Session, claim: Claim) -> ClaimRead:
    coverage = db.get(Coverage, claim.coverage_id)
    payer = db.get(Payer, coverage.payer_ref) if coverage is not None else None
    items = _attachments(db, claim.id)
    lines = [
        ClaimLineRead(
            code=line["code"],
            description=describe(line["code"]),
            modifiers=line["modifiers"],
            charge=Decimal(line["charge"]),
            units=Decimal(line["units"]),
            pointers=line["pointers"],
            service_date=dt.date.fromisoformat(line["service_date"]),
        )
        for line in claim.lines
    ]
    return ClaimRead(
        **{
            name: getattr(claim, name)
            for name in ClaimRead.model_fields
            if name not in ("diagnoses", "lines", "attachments", "payer_name", "missing")
            and name != "service_date"
        },
        payer_name=payer.name if payer is not None else "",
        diagnoses=[Diagnosis(**d) for d in claim.diagnoses],
        lines=lines,
        attachments=[
            AttachmentRead.model_validate(a).model_copy(
                update={"received": a.document_id is not None}
            )
            for a in items
        ],
        missing=missing(items),
        service_date=lines[0].service_date if lines else claim.created_at.date(),
    )


def _audit(db: Session, actor: Actor, action: Action, claim: Claim, reason: str | None) -> None:
    record(
        db,
        actor,
        action,
        entity_type=ENTITY,
        entity_id=claim.id,
        patient_id=claim.patient_id,
        reason=reason,
    )


def get(db: Session, actor: Actor, claim_id: uuid.UUID) -> ClaimRead:
    claim = _claim(db, claim_id)
    _audit(db, actor, Action.READ, claim, None)
    return _read(db, claim)


def raw(db: Session, actor: Actor, claim_id: uuid.UUID) -> ClaimRaw:
    claim = _claim(db, claim_id)
    _audit(db, actor, Action.READ, claim, "raw X12")
    return ClaimRaw(request_x12=claim.request_x12, response_x12=claim.response_x12)


def for_patient(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[ClaimRead]:
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    rows = db.scalars(
        select(Claim).where(Claim.patient_id == patient_id).order_by(Claim.created_at.desc())
    )
    record(db, actor, Action.READ, entity_type=ENTITY, patient_id=patient_id, reason="list")
    return [_read(db, claim) for claim in rows]


def board(
    db: Session, actor: Actor, *, status: str | None = None, limit: int = BOARD_LIMIT
) -> list[tuple[ClaimRead, str, str]]:
    """Claims across patients with the patient's name and MRN: rejected first (they need a
    correction), then by status in lifecycle order, oldest change first."""
    query = select(Claim, Patient.given_names, Patient.family_name, Patient.mrn).join(
        Patient, Patient.id == Claim.patient_id
    )
    if status:
        query = query.where(Claim.status == status)
    else:
        query = query.where(Claim.status.in_(codes.OPEN_CLAIM_STATUSES))
    rejected_first = case((Claim.status == "rejected", 0), else_=1)
    rows = db.execute(query.order_by(rejected_first, Claim.updated_at, Claim.id).limit(limit)).all()
    record(db, actor, Action.READ, entity_type=ENTITY, reason="claims board")
    lifecycle = ["rejected", *(s for s in codes.CLAIM_STATUSES if s != "rejected")]
    order = {s: i for i, s in enumerate(lifecycle)}
    found = [(_read(db, c), f"{family}, {given}", mrn) for c, given, family, mrn in rows]
    return sorted(found, key=lambda row: order.get(row[0].status, 99))


def counts(db: Session) -> dict[str, int]:
    """How many claims are in each status."""
    rows = db.execute(select(Claim.status, func.count()).group_by(Claim.status)).all()
    return {status: int(n) for status, n in rows}


def history(db: Session, actor: Actor, claim_id: uuid.UUID) -> list[StatusChange]:
    """Each change of status, with who made it and when (from the record's versions)."""
    claim = _claim(db, claim_id)
    rows = db.execute(
        select(RecordVersion, User.username)
        .outerjoin(User, User.id == RecordVersion.changed_by)
        .where(RecordVersion.entity_type == ENTITY, RecordVersion.entity_id == claim.id)
        .order_by(RecordVersion.version, RecordVersion.id)
    ).all()
    _audit(db, actor, Action.READ, claim, "history")
    changes: list[StatusChange] = []
    last: tuple[str, int] | None = None
    for version, name in rows:
        status = str(version.data.get("status"))
        key = (status, int(version.data.get("submissions") or 0))
        if key == last:
            continue
        last = key
        detail = None
        if status == "rejected":
            detail = version.data.get("last_error")
        elif status in codes.OUTCOMES:
            detail = version.data.get("status_note")
        changes.append(
            StatusChange(
                version=version.version,
                status=status,
                changed_at=version.changed_at,
                changed_by=name,
                detail=detail,
            )
        )
    return changes


def existing_for_visit(db: Session, appointment_id: uuid.UUID) -> Claim | None:
    return db.scalar(select(Claim).where(Claim.appointment_id == appointment_id).limit(1))


# --- changing ------------------------------------------------------------------------------


def create(db: Session, actor: Actor, data: ClaimCreate, zone: str) -> ClaimRead:
    """A draft claim for a completed visit; what is not given is filled in (see ClaimCreate)."""
    visit = _visit(db, data.appointment_id)
    patient = _live_patient(db, visit.patient_id)
    earlier = existing_for_visit(db, visit.id)
    if earlier is not None:
        raise Conflict(
            f"This visit already has claim {earlier.number}; correct or resend that one "
            "rather than billing the visit twice. Nothing was saved.",
            fields={"appointment_id": f"Already billed on claim {earlier.number}."},
            extra={"claim_id": str(earlier.id)},
        )
    day = service_day(visit, zone)
    coverage = _coverage(db, patient.id, data.coverage_id, day)
    wanted = data.diagnoses if data.diagnoses is not None else active_problems(db, patient.id)
    diagnoses = _diagnoses(wanted)
    lines_in = data.lines if data.lines is not None else default_lines(db, visit)
    lines, total = _lines(lines_in, len(diagnoses), day, data.total)
    _documents(db, patient.id, [a.document_id for a in data.attachments])
    claim = Claim(
        number=counters.next_number(db, "claim", "C"),
        patient_id=patient.id,
        appointment_id=visit.id,
        coverage_id=coverage.id,
        status="draft",
        place_of_service=codes.PLACE_OF_SERVICE.get(visit.modality, "11"),
        diagnoses=diagnoses,
        lines=lines,
        total_charge=total,
        prior_authorization=data.prior_authorization
        or authorization_for(db, patient.id, day, [line["code"] for line in lines]),
        frequency="1",
    )
    db.add(claim)
    db.flush()
    for item in data.attachments:
        db.add(_attachment(claim.id, item))
    db.flush()
    _audit(db, actor, Action.CREATE, claim, f"{claim.number} for the visit of {day}")
    return _read(db, claim)


def _editable(claim: Claim) -> None:
    if claim.status not in codes.EDITABLE_CLAIM_STATUSES:
        raise Conflict(
            f"Claim {claim.number} is {codes.CLAIM_STATUSES[claim.status].lower()}; it can be "
            "corrected only as a draft, ready or rejected claim. Nothing was saved.",
            extra={"status": claim.status},
        )


def update(
    db: Session, actor: Actor, claim_id: uuid.UUID, data: ClaimUpdate, zone: str
) -> ClaimRead:
    claim = _claim(db, claim_id)
    check_version("This claim", claim.version, data.version)
    _editable(claim)
    _live_patient(db, claim.patient_id)
    visit = db.get(Appointment, claim.appointment_id)
    assert visit is not None  # foreign key
    day = service_day(visit, zone)
    diagnoses = _diagnoses(data.diagnoses) if data.diagnoses is not None else claim.diagnoses
    if data.lines is not None:
        lines, total = _lines(data.lines, len(diagnoses), day, data.total)
    else:
        current = [ClaimLineIn.model_validate(line) for line in claim.lines]
        lines, total = _lines(current, len(diagnoses), day, data.total)
    if data.coverage_id is not None:
        claim.coverage_id = _coverage(db, claim.patient_id, data.coverage_id, day).id
    if "prior_authorization" in data.model_fields_set:
        claim.prior_authorization = data.prior_authorization or None
    claim.diagnoses = diagnoses
    claim.lines = lines
    claim.total_charge = total
    db.flush()
    _audit(db, actor, Action.UPDATE, claim, "details corrected")
    return _read(db, claim)


def step(db: Session, actor: Actor, claim_id: uuid.UUID, data: ClaimStep) -> ClaimRead:
    """Mark ready, back to draft, or record the payer's decision on an accepted claim."""
    claim = _claim(db, claim_id)
    check_version("This claim", claim.version, data.version)
    before = claim.status
    sources = {
        "ready": ("draft",),
        "reopen": ("ready", "submitted", "rejected", "accepted", "denied"),
        "outcome": ("accepted",),
    }[data.action]
    if before not in sources:
        raise Conflict(
            f"Claim {claim.number} is {codes.CLAIM_STATUSES[before].lower()}: "
            f"“{codes.CLAIM_ACTION_WORDS[data.action].lower()}” is not possible from there. "
            "Nothing was saved.",
            extra={"status": before},
        )
    _live_patient(db, claim.patient_id)
    if data.action == "ready":
        claim.status = "ready"
    elif data.action == "reopen":
        claim.status = "draft"
        claim.status_note = data.note
    else:
        _outcome(claim, data)
    db.flush()
    _audit(db, actor, Action.UPDATE, claim, f"status {before} -> {claim.status}")
    return _read(db, claim)


def _outcome(claim: Claim, data: ClaimStep) -> None:
    if data.outcome is None:
        raise ValidationFailed(
            "Choose the payer's decision: paid, partially paid or denied.",
            fields={"outcome": "Choose the decision."},
        )
    paid = data.paid_amount
    if data.outcome in ("paid", "partially-paid") and (paid is None or paid <= 0):
        raise ValidationFailed(
            "Enter the amount the payer paid.",
            fields={"paid_amount": "Enter the amount paid."},
        )
    if data.outcome == "denied":
        if not (data.note or "").strip():
            raise ValidationFailed(
                "Say why the payer denied the claim (the reason on the remittance).",
                fields={"note": "Enter the denial reason."},
            )
        paid = Decimal(0)
    assert paid is not None
    owed = data.patient_responsibility or Decimal(0)
    if paid + owed > claim.total_charge:
        raise ValidationFailed(
            f"Paid {paid:.2f} and patient responsibility {owed:.2f} come to more than the "
            f"claim's charge of {claim.total_charge:.2f}.",
            fields={"paid_amount": "More than the claim's charge."},
        )
    # What is neither paid nor owed by the patient is the payer's contractual adjustment.
    claim.status_note = data.note
    claim.status = data.outcome
    claim.paid_amount = paid.quantize(Decimal("0.01"))
    claim.patient_responsibility = owed.quantize(Decimal("0.01"))
    claim.decided_on = data.decided_on or utcnow().date()


def add_attachment(db: Session, actor: Actor, claim_id: uuid.UUID, data: AttachmentIn) -> ClaimRead:
    claim = _claim(db, claim_id)
    _editable(claim)
    _documents(db, claim.patient_id, [data.document_id])
    db.add(_attachment(claim.id, data))
    db.flush()
    _audit(db, actor, Action.UPDATE, claim, f"attachment {data.kind} added")
    return _read(db, claim)


def mark_attachment(
    db: Session, actor: Actor, attachment_id: uuid.UUID, data: AttachmentUpdate
) -> ClaimRead:
    item = db.get(ClaimAttachment, attachment_id)
    if item is None:
        raise NotFound(f"No claim attachment with id {attachment_id}")
    check_version("This checklist item", item.version, data.version)
    claim = _claim(db, item.claim_id)
    _editable(claim)
    _documents(db, claim.patient_id, [data.document_id])
    item.document_id = data.document_id
    db.flush()
    state = "received" if data.document_id else "missing"
    _audit(db, actor, Action.UPDATE, claim, f"attachment {item.kind} {state}")
    return _read(db, claim)


# --- sending -------------------------------------------------------------------------------


def _split_name(name: str) -> tuple[str, str]:
    """("Okafor", "Grace") from "Grace Okafor, MD"."""
    words = name.split(",")[0].split()
    if not words:
        return name, ""
    return words[-1], " ".join(words[:-1])


def _sex(value: str | None) -> str:
    return value if value in ("female", "male") else "unknown"


def _patient_address(patient: Patient) -> x12.Address:
    parts = {
        "street": patient.address_line1,
        "city": patient.city,
        "state": patient.state,
        "ZIP code": patient.postal_code,
    }
    gaps = [name for name, value in parts.items() if not value]
    zip_digits = (patient.postal_code or "").replace("-", "")
    if not gaps and not (zip_digits.isdigit() and len(zip_digits) in (5, 9)):
        gaps.append("ZIP code (5 or 9 digits)")
    if not gaps and len(patient.state or "") != 2:
        gaps.append("state (two letters)")
    if gaps:
        raise ValidationFailed(
            f"The patient's address lacks {', '.join(gaps)}: a claim carries the patient's "
            "address. Complete it on the chart's details, then send the claim.",
            fields={"form": "The patient's address is incomplete."},
        )
    return x12.Address(
        str(patient.address_line1), str(patient.city), str(patient.state).upper(), zip_digits
    )


def to_x12(db: Session, claim: Claim, settings: Settings) -> tuple[x12.Claim, x12.BillingProvider]:
    """The claim as the 837P builder takes it; ValidationFailed when something it needs is
    missing on the chart, the coverage or the practitioner."""
    patient = db.get(Patient, claim.patient_id)
    coverage = db.get(Coverage, claim.coverage_id)
    visit = db.get(Appointment, claim.appointment_id)
    assert patient is not None
    assert coverage is not None
    assert visit is not None
    payer = db.get(Payer, coverage.payer_ref)
    plan = db.get(Plan, coverage.plan_id) if coverage.plan_id else None
    practitioner = db.get(Practitioner, visit.practitioner_id)
    assert payer is not None
    assert practitioner is not None
    if not practitioner.npi:
        raise ValidationFailed(
            f"{practitioner.name} has no NPI on file: the rendering provider of a claim is "
            "named by NPI. Add it to the practitioner, then send the claim.",
            fields={"form": "The practitioner has no NPI."},
        )
    address = _patient_address(patient)
    last, first = _split_name(practitioner.name)
    taxonomy = next(
        (x12.TAXONOMY[s] for s in practitioner.specialties if s in x12.TAXONOMY),
        x12.DEFAULT_TAXONOMY,
    )
    me = x12.Person(patient.family_name, patient.given_names, patient.birth_date,
                    _sex(patient.sex), address)  # fmt: skip
    if coverage.relationship == "self":
        subscriber, dependent = me, None
    else:
        subscriber = x12.Person(
            coverage.subscriber_family_name or "",
            coverage.subscriber_given_names or "",
            coverage.subscriber_birth_date or patient.birth_date,
            _sex(coverage.subscriber_sex),
            address,
        )
        dependent = me
    paperwork = tuple(
        x12.Paperwork(item.report_type, item.transmission, f"{claim.number}-{index}")
        for index, item in enumerate(_attachments(db, claim.id), start=1)
        if item.document_id is not None
    )
    replacement = claim.ever_accepted
    built = x12.Claim(
        claim_id=claim.number,
        total=claim.total_charge,
        place_of_service=claim.place_of_service,
        diagnoses=tuple(d["code"] for d in claim.diagnoses),
        lines=tuple(
            x12.ServiceLine(
                code=line["code"],
                charge=Decimal(line["charge"]),
                units=Decimal(line["units"]),
                pointers=tuple(line["pointers"]),
                service_date=dt.date.fromisoformat(line["service_date"]),
                modifiers=tuple(line["modifiers"]),
            )
            for line in claim.lines
        ),
        payer_name=payer.name,
        payer_id=payer.payer_id,
        rank=RANK_X12.get(coverage.rank, "P"),
        filing_indicator=PLAN_TYPE_X12.get(plan.plan_type if plan else "other", "ZZ"),
        subscriber=subscriber,
        member_id=coverage.subscriber_member_id or coverage.member_id,
        rendering=x12.RenderingProvider(last, first, practitioner.npi, taxonomy),
        relationship=coverage.relationship,
        patient=dependent,
        group_number=coverage.group_number or "",
        group_name=coverage.group_name or "",
        prior_authorization=claim.prior_authorization or "",
        frequency="7" if replacement else "1",
        original_reference=claim.number if replacement else "",
        paperwork=paperwork,
    )
    provider = x12.BillingProvider(
        name=settings.clinic_name,
        npi=settings.clinic_npi,
        tax_id=settings.clinic_tax_id,
        address=x12.Address(
            settings.clinic_address,
            settings.clinic_city,
            settings.clinic_state,
            settings.clinic_zip,
        ),
        contact_name="Billing office",
        phone=settings.clinic_phone,
    )
    return built, provider


def _resume(db: Session, in_transaction: bool) -> None:
    """After the exchange, a new writing transaction (SQLite: holding the write lock)."""
    if not in_transaction:
        db.connection(execution_options={WRITE_OPTION: True})


def submit(
    db: Session,
    actor: Actor,
    claim_id: uuid.UUID,
    version: int,
    settings: Settings,
    connector: clearinghouse.Connector | None = None,
    now: dt.datetime | None = None,
    *,
    in_transaction: bool = False,
) -> ClaimRead:
    """Build the 837P, send it and read the 999: the claim ends accepted or rejected (with
    the clearinghouse's errors). When the clearinghouse cannot be reached the claim stays as
    it was, with the 837 kept and ``last_error`` saying why; send it again later.

    The claim is committed as submitted before the exchange, which runs with no transaction
    open; ``in_transaction`` (the demo seed, answered in process) keeps it all in the
    caller's transaction instead."""
    now = now or utcnow()
    claim = _claim(db, claim_id)
    check_version("This claim", claim.version, version)
    if claim.status not in ("ready", "rejected"):
        raise Conflict(
            f"Claim {claim.number} is {codes.CLAIM_STATUSES[claim.status].lower()}; only a "
            "claim marked ready (or a corrected rejected one) is sent. Nothing was sent.",
            extra={"status": claim.status},
        )
    _live_patient(db, claim.patient_id)
    lacking = missing(_attachments(db, claim.id))
    if lacking:
        raise ValidationFailed(
            f"Claim {claim.number} cannot be sent: required attachments are missing: "
            f"{', '.join(lacking)}. Mark them received (or not required) first.",
            fields={"attachments": "Missing: " + ", ".join(lacking)},
            extra={"missing": lacking},
        )
    built, provider = to_x12(db, claim, settings)
    control = next_control_number(db, settings.x12_sender_id)
    try:
        request = x12.build_837p(
            built,
            provider,
            control_number=control,
            sender_id=settings.x12_sender_id,
            receiver_id=settings.x12_receiver_id,
            receiver_name=settings.x12_receiver_id,
            now=now.astimezone(ZoneInfo(settings.timezone)).replace(tzinfo=None),
        )
    except ValueError as exc:
        raise ValidationFailed(
            f"Claim {claim.number} cannot be built: {exc}. Correct it and send it again.",
            fields={"form": str(exc)},
        ) from exc
    before = claim.status
    claim.request_x12 = request
    claim.control_number = control
    claim.submissions += 1
    claim.submitted_at = now
    claim.frequency = built.frequency
    # "submitted" while on the wire, so nobody sends it twice; the exchange itself runs after
    # the commit, with no transaction (and no database lock) held.
    claim.status = "submitted"
    claim.last_error = None
    db.flush()
    claim_id = claim.id
    if not in_transaction:
        db.commit()
    try:
        reply = (connector or clearinghouse.connector_for(settings)).exchange(
            request, clearinghouse.X12
        )
    except clearinghouse.ClearinghouseError as exc:
        _resume(db, in_transaction)
        claim = _claim(db, claim_id)
        claim.status = before
        claim.last_error = f"Not sent: {exc}." + (
            " Try again in a few minutes." if exc.transient else " Contact the clearinghouse."
        )
        db.flush()
        _audit(db, actor, Action.UPDATE, claim, "send failed")
        return _read(db, claim)
    _resume(db, in_transaction)
    claim = _claim(db, claim_id)
    claim.response_x12 = reply
    claim.acknowledged_at = now
    try:
        ack = x12.read_999(reply)
    except (X12Error, ValueError) as exc:
        claim.last_error = f"The acknowledgement could not be read: {exc}"
    else:
        claim.status = "accepted" if ack.accepted else "rejected"
        claim.last_error = "\n".join(ack.errors) if ack.errors else None
        if ack.accepted:
            claim.ever_accepted = True
    db.flush()
    _audit(db, actor, Action.UPDATE, claim, f"sent: status {before} -> {claim.status}")
    return _read(db, claim)
