"""Prior authorization use cases: make a request (services, diagnoses, providers, supporting
documents), submit it to the payer on the payer's channel (X12 278 through the clearinghouse or
a Da Vinci PAS bundle), read and apply the answer, record a decision by hand, appeal a denial,
cancel; count the units used from completed appointments; warn a booking that needs an
authorization; and the timers (expiry, expiring soon, units running low, retries).

Every read and change is audited with the patient. Services flush and never commit; a refused
change raises before anything is written. A submission is kept with its raw request and answer
even when the answer cannot be read; then nothing of the answer is applied.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.authorizations import codes, pas
from carebridge.authorizations.models import (
    AuthorizationAppeal,
    AuthorizationDocument,
    AuthorizationService,
    AuthorizationSubmission,
    PriorAuthorization,
)
from carebridge.authorizations.schemas import (
    AppealCreate,
    AppealDecisionIn,
    AppealRead,
    AuthorizationCreate,
    AuthorizationDetail,
    AuthorizationRead,
    AuthorizationUpdate,
    BookingWarning,
    CancelIn,
    DecisionIn,
    ServiceLineIn,
    ServiceLineRead,
    StatusChange,
    SubmissionRead,
)
from carebridge.coverage import procedures
from carebridge.coverage.clearinghouse import FHIR_JSON, X12, ClearinghouseError, connector_for
from carebridge.coverage.clearinghouse import retry_delay as next_delay
from carebridge.coverage.models import Coverage, Payer
from carebridge.coverage.x12 import authorization as x278
from carebridge.coverage.x12.codec import X12Error
from carebridge.coverage.x12.control import next_control_number
from carebridge.db import counters
from carebridge.db.history import RecordVersion
from carebridge.db.session import WRITE_OPTION, unit_of_work
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients import terminology
from carebridge.patients.models import Document, Patient
from carebridge.referrals.models import OutsideProvider, Referral
from carebridge.scheduling.models import Appointment, AppointmentType, Practitioner
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task

ENTITY = "PriorAuthorization"
BOARD_LIMIT = 500
EXPIRY_WARNING_DAYS = 14
LOW_UNITS = 2  # remaining units at or under this, or under LOW_SHARE of those approved
LOW_SHARE = 0.2
WORKER = Actor.system("worker")
TASK_KEYS = {
    "expiring": "prior-auth-expiring",
    "low-units": "prior-auth-low-units",
    "over-used": "prior-auth-over-used",
    "submission-failed": "prior-auth-submission-failed",
}


def _today(now: dt.datetime, zone: str) -> dt.date:
    return now.astimezone(ZoneInfo(zone)).date()


# --- checking input ------------------------------------------------------------------------


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; open the surviving chart "
            "and request the authorization there. Nothing was saved."
        )
    return patient


def diagnoses(values: Sequence[str]) -> list[dict[str, str]]:
    return terminology.icd10_list(
        values, required="Give at least one diagnosis (ICD-10-CM) the services are for."
    )


def service_lines(lines: Sequence[ServiceLineIn]) -> list[dict[str, Any]]:
    checked = []
    for number, line in enumerate(lines, start=1):
        try:
            code = procedures.normalize_procedure(line.code)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"Service line {number}: {exc.detail} Nothing was saved.",
                fields={"services": f"Line {number}: {exc.detail}"},
            ) from exc
        checked.append(
            {
                "line": number,
                "code": code,
                "modifiers": [m.upper() for m in line.modifiers],
                "units_requested": line.units_requested,
            }
        )
    return checked


def _coverage(db: Session, patient_id: uuid.UUID, coverage_id: uuid.UUID) -> Coverage:
    coverage = db.get(Coverage, coverage_id)
    if coverage is None or coverage.patient_id != patient_id:
        raise ValidationFailed(
            "That coverage is not one of this patient's. Nothing was saved.",
            fields={"coverage_id": "Choose one of the patient's coverages."},
        )
    if coverage.status != "active":
        raise ValidationFailed(
            f"That coverage is {coverage.status}; request the authorization under an active "
            "coverage. Nothing was saved.",
            fields={"coverage_id": "Choose an active coverage."},
        )
    return coverage


def _practitioner(db: Session, practitioner_id: uuid.UUID, field: str) -> Practitioner:
    found = db.get(Practitioner, practitioner_id)
    if found is None or not found.active:
        raise ValidationFailed(
            f"There is no active practitioner with id {practitioner_id}. Nothing was saved.",
            fields={field: "Choose one of our practitioners."},
        )
    return found


def _outside(db: Session, provider_id: uuid.UUID) -> OutsideProvider:
    found = db.get(OutsideProvider, provider_id)
    if found is None or not found.active:
        raise ValidationFailed(
            f"There is no active directory entry with id {provider_id}. Nothing was saved.",
            fields={"rendering_provider_id": "Choose a provider from the directory."},
        )
    return found


def _referral(db: Session, patient_id: uuid.UUID, referral_id: uuid.UUID) -> Referral:
    found = db.get(Referral, referral_id)
    if found is None or found.patient_id != patient_id:
        raise ValidationFailed(
            "That referral is not one of this patient's. Nothing was saved.",
            fields={"referral_id": "Choose one of the patient's referrals, or none."},
        )
    return found


def _documents(db: Session, patient_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    owners = dict(
        db.execute(select(Document.id, Document.patient_id).where(Document.id.in_(wanted))).all()
    )
    for doc_id in wanted:
        if owners.get(doc_id) != patient_id:
            raise ValidationFailed(
                f"Document {doc_id} is not one of this patient's documents. Nothing was saved.",
                fields={"document_ids": "Attach this patient's own documents only."},
            )
    return wanted


def _dates(start: dt.date, end: dt.date, prefix: str = "requested") -> None:
    if end < start:
        raise ValidationFailed(
            f"The {prefix} dates end on {end:%d %b %Y}, before they start on {start:%d %b %Y}. "
            "Nothing was saved.",
            fields={f"{prefix}_end": "The end date cannot be before the start date."},
        )


def _check_providers(db: Session, values: dict[str, Any]) -> None:
    _practitioner(db, values["ordering_practitioner_id"], "ordering_practitioner_id")
    ours, outside = values.get("rendering_practitioner_id"), values.get("rendering_provider_id")
    if ours is not None and outside is not None:
        raise ValidationFailed(
            "Give one rendering provider: one of ours or one from the directory, not both. "
            "Nothing was saved.",
            fields={"rendering_provider_id": "Leave this empty when one of ours renders it."},
        )
    if ours is not None:
        _practitioner(db, ours, "rendering_practitioner_id")
    if outside is not None:
        _outside(db, outside)


# --- reading -------------------------------------------------------------------------------


def _authorization(db: Session, authorization_id: uuid.UUID) -> PriorAuthorization:
    found = db.get(PriorAuthorization, authorization_id)
    if found is None:
        raise NotFound(f"No prior authorization with id {authorization_id}")
    return found


def _lines(db: Session, authorization_id: uuid.UUID) -> list[AuthorizationService]:
    return list(
        db.scalars(
            select(AuthorizationService)
            .where(AuthorizationService.authorization_id == authorization_id)
            .order_by(AuthorizationService.line)
        )
    )


def units_used(db: Session, authorization: PriorAuthorization, zone: str) -> dict[str, int]:
    """Completed (fulfilled) appointments of the patient, per authorized code, dated inside
    the approved dates: each visit of a type billed with the code is one unit."""
    if authorization.approved_start is None or authorization.approved_end is None:
        return {}
    lines = _lines(db, authorization.id)
    wanted = {line.code for line in lines}
    if not wanted:
        return {}
    tz = ZoneInfo(zone)
    first = dt.datetime.combine(authorization.approved_start, dt.time(), tz)
    after = dt.datetime.combine(authorization.approved_end + dt.timedelta(days=1), dt.time(), tz)
    rows = db.execute(
        select(AppointmentType.service_code, func.count())
        .join(Appointment, Appointment.appointment_type_id == AppointmentType.id)
        .where(
            Appointment.patient_id == authorization.patient_id,
            Appointment.status == "fulfilled",
            AppointmentType.service_code.in_(wanted),
            Appointment.starts_at >= first,
            Appointment.starts_at < after,
        )
        .group_by(AppointmentType.service_code)
    ).all()
    return {str(code): int(n) for code, n in rows}


def _line_reads(
    lines: Sequence[AuthorizationService], used: dict[str, int], granted: bool
) -> list[ServiceLineRead]:
    found = []
    left = dict(used)  # two lines of one code share its visits, first line first
    for line in lines:
        approved = line.units_approved if granted else None
        take = left.get(line.code, 0)
        if approved is not None and take > approved and line is not lines[-1]:
            same_later = any(other.code == line.code for other in lines[lines.index(line) + 1 :])
            if same_later:
                take = approved
        left[line.code] = left.get(line.code, 0) - take
        remaining = None if approved is None else approved - take
        found.append(
            ServiceLineRead(
                line=line.line,
                code=line.code,
                description=procedures.describe(line.code),
                modifiers=list(line.modifiers),
                units_requested=line.units_requested,
                units_approved=line.units_approved,
                decision=line.decision,
                units_used=take if granted or line.units_approved is not None else 0,
                units_remaining=None if remaining is None else max(remaining, 0),
                over_by=max(-remaining, 0) if remaining is not None else 0,
            )
        )
    return found


def _names(db: Session, auth: PriorAuthorization) -> dict[str, Any]:
    patient = db.get(Patient, auth.patient_id)
    coverage = db.get(Coverage, auth.coverage_id)
    assert patient is not None  # foreign keys
    assert coverage is not None
    payer = db.get(Payer, coverage.payer_ref)
    assert payer is not None
    ordering = db.get(Practitioner, auth.ordering_practitioner_id)
    rendering: str | None = None
    if auth.rendering_practitioner_id is not None:
        person = db.get(Practitioner, auth.rendering_practitioner_id)
        rendering = person.name if person else None
    elif auth.rendering_provider_id is not None:
        outside = db.get(OutsideProvider, auth.rendering_provider_id)
        rendering = outside.name if outside else None
    return {
        "patient_name": f"{patient.family_name}, {patient.given_names}",
        "mrn": patient.mrn,
        "payer_name": payer.name,
        "channel": payer.prior_auth_channel,
        "member_id": coverage.member_id,
        "ordering_name": ordering.name if ordering else "",
        "rendering_name": rendering,
    }


def actions_for(status: str) -> list[str]:
    found = []
    if status in codes.EDITABLE:
        found += ["edit", "submit"]
    if status in ("draft", "submitted", "pended"):
        found.append("decision")
    if status == "denied":
        found.append("appeal")
    if status in codes.CANCELLABLE:
        found.append("cancel")
    return found


def _read(
    db: Session, auth: PriorAuthorization, zone: str, now: dt.datetime | None = None
) -> AuthorizationRead:
    today = _today(now or utcnow(), zone)
    granted = auth.status in codes.GRANTED or auth.status == "expired"
    lines = _line_reads(_lines(db, auth.id), units_used(db, auth, zone) if granted else {}, granted)
    documents = list(
        db.scalars(
            select(AuthorizationDocument.document_id).where(
                AuthorizationDocument.authorization_id == auth.id
            )
        )
    )
    days_left = (auth.approved_end - today).days if auth.approved_end else None
    active = auth.status in codes.GRANTED
    approved_total = sum(line.units_approved or 0 for line in lines)
    remaining_total = sum(line.units_remaining or 0 for line in lines)
    used_total = sum(line.units_used for line in lines)
    # Units "fall" to few: a one-unit approval nobody has used yet is not running low.
    low = (
        active
        and approved_total > 0
        and used_total > 0
        and (remaining_total <= LOW_UNITS or remaining_total < LOW_SHARE * approved_total)
    )
    values = {c: getattr(auth, c) for c in AuthorizationRead.model_fields if hasattr(auth, c)}
    return AuthorizationRead.model_validate(
        {
            **values,
            **_names(db, auth),
            "services": lines,
            "document_ids": documents,
            "days_left": days_left,
            "expiring_soon": active
            and days_left is not None
            and 0 <= days_left <= EXPIRY_WARNING_DAYS,
            "over_used": any(line.over_by > 0 for line in lines),
            "low_units": low,
            "actions": actions_for(auth.status),
        }
    )


def _audit(
    db: Session, actor: Actor, action: Action, auth: PriorAuthorization, reason: str | None = None
) -> None:
    record(
        db,
        actor,
        action,
        entity_type=ENTITY,
        entity_id=auth.id,
        patient_id=auth.patient_id,
        reason=reason,
    )


def get(db: Session, actor: Actor, authorization_id: uuid.UUID, zone: str) -> AuthorizationRead:
    auth = _authorization(db, authorization_id)
    _audit(db, actor, Action.READ, auth)
    return _read(db, auth, zone)


def detail(
    db: Session, actor: Actor, authorization_id: uuid.UUID, zone: str
) -> AuthorizationDetail:
    """The authorization with its submissions (raw payloads) and appeals."""
    auth = _authorization(db, authorization_id)
    _audit(db, actor, Action.READ, auth, "detail")
    submissions = db.scalars(
        select(AuthorizationSubmission)
        .where(AuthorizationSubmission.authorization_id == auth.id)
        .order_by(AuthorizationSubmission.created_at.desc())
    )
    appeals = db.scalars(
        select(AuthorizationAppeal)
        .where(AuthorizationAppeal.authorization_id == auth.id)
        .order_by(AuthorizationAppeal.submitted_on, AuthorizationAppeal.created_at)
    )
    return AuthorizationDetail(
        **_read(db, auth, zone).model_dump(),
        submissions=[SubmissionRead.model_validate(s) for s in submissions],
        appeals=[AppealRead.model_validate(a) for a in appeals],
    )


def for_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, zone: str
) -> list[AuthorizationRead]:
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    rows = db.scalars(
        select(PriorAuthorization)
        .where(PriorAuthorization.patient_id == patient_id)
        .order_by(PriorAuthorization.created_at.desc(), PriorAuthorization.id)
    )
    record(db, actor, Action.READ, entity_type=ENTITY, patient_id=patient_id, reason="list")
    found = [_read(db, auth, zone) for auth in rows]
    return sorted(found, key=lambda a: a.status not in codes.OPEN_STATUSES)


def board(
    db: Session,
    actor: Actor,
    zone: str,
    *,
    status: str | None = None,
    payer_ref: uuid.UUID | None = None,
    attention_only: bool = False,
    limit: int = BOARD_LIMIT,
) -> list[AuthorizationRead]:
    """Authorizations across patients: over-used first, then expiring soon, then low on
    units, then by status in lifecycle order and age. Without a status only open ones."""
    query = select(PriorAuthorization)
    if status:
        query = query.where(PriorAuthorization.status == status)
    else:
        query = query.where(PriorAuthorization.status.in_(codes.OPEN_STATUSES))
    if payer_ref is not None:
        query = query.join(Coverage, Coverage.id == PriorAuthorization.coverage_id).where(
            Coverage.payer_ref == payer_ref
        )
    rows = db.scalars(
        query.order_by(PriorAuthorization.created_at, PriorAuthorization.id).limit(limit)
    )
    record(db, actor, Action.READ, entity_type=ENTITY, reason="authorization board")
    found = [_read(db, auth, zone) for auth in rows]
    if attention_only:
        found = [
            a
            for a in found
            if a.over_used or a.expiring_soon or a.low_units or a.status in ("pended", "denied")
        ]
    order = {s: i for i, s in enumerate(codes.STATUSES)}
    return sorted(
        found,
        key=lambda a: (
            not a.over_used,
            not a.expiring_soon,
            not a.low_units,
            order.get(a.status, 99),
            a.days_left if a.days_left is not None else 10**6,
            a.created_at,
        ),
    )


def history(db: Session, actor: Actor, authorization_id: uuid.UUID) -> list[StatusChange]:
    auth = _authorization(db, authorization_id)
    rows = db.execute(
        select(RecordVersion, User.username)
        .outerjoin(User, User.id == RecordVersion.changed_by)
        .where(RecordVersion.entity_type == ENTITY, RecordVersion.entity_id == auth.id)
        .order_by(RecordVersion.version, RecordVersion.id)
    ).all()
    _audit(db, actor, Action.READ, auth, "history")
    changes: list[StatusChange] = []
    last: tuple[str, str | None] | None = None
    for version, name in rows:
        status = str(version.data.get("status"))
        number = version.data.get("auth_number")
        if (status, number) == last:
            continue
        last = (status, number)
        reason = (
            version.data.get("cancel_reason")
            if status == "cancelled"
            else version.data.get("decision_reason")
        )
        changes.append(
            StatusChange(
                version=version.version,
                status=status,
                changed_at=version.changed_at,
                changed_by=name,
                auth_number=number,
                reason=reason if status in ("pended", "denied", "cancelled") else None,
            )
        )
    return changes


# --- changing ------------------------------------------------------------------------------


def _set_lines(db: Session, auth: PriorAuthorization, lines: list[dict[str, Any]]) -> None:
    db.execute(delete(AuthorizationService).where(AuthorizationService.authorization_id == auth.id))
    for line in lines:
        db.add(AuthorizationService(authorization_id=auth.id, **line))


def _set_documents(db: Session, auth: PriorAuthorization, documents: list[uuid.UUID]) -> None:
    db.execute(
        delete(AuthorizationDocument).where(AuthorizationDocument.authorization_id == auth.id)
    )
    for doc_id in documents:
        db.add(AuthorizationDocument(authorization_id=auth.id, document_id=doc_id))


def create(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: AuthorizationCreate, zone: str
) -> AuthorizationRead:
    patient = _live_patient(db, patient_id)
    coded = diagnoses(data.diagnoses)
    lines = service_lines(data.services)
    _coverage(db, patient.id, data.coverage_id)
    values = data.model_dump()
    _check_providers(db, values)
    if data.referral_id is not None:
        _referral(db, patient.id, data.referral_id)
    documents = _documents(db, patient.id, data.document_ids)
    _dates(data.requested_start, data.requested_end)
    auth = PriorAuthorization(
        number=counters.next_number(db, "prior-auth", "PA"),
        patient_id=patient.id,
        coverage_id=data.coverage_id,
        referral_id=data.referral_id,
        ordering_practitioner_id=data.ordering_practitioner_id,
        rendering_practitioner_id=data.rendering_practitioner_id,
        rendering_provider_id=data.rendering_provider_id,
        diagnoses=coded,
        requested_start=data.requested_start,
        requested_end=data.requested_end,
        note=data.note,
        status="draft",
    )
    db.add(auth)
    db.flush()
    _set_lines(db, auth, lines)
    _set_documents(db, auth, documents)
    db.flush()
    _audit(db, actor, Action.CREATE, auth, f"{auth.number} draft")
    return _read(db, auth, zone)


def update(
    db: Session, actor: Actor, authorization_id: uuid.UUID, data: AuthorizationUpdate, zone: str
) -> AuthorizationRead:
    """Change a draft or pended request (a pended one is answered by changing it, e.g.
    attaching records, and submitting it again)."""
    auth = _authorization(db, authorization_id)
    check_version("This authorization", auth.version, data.version)
    if auth.status not in codes.EDITABLE:
        raise Conflict(
            f"Authorization {auth.number} is {codes.STATUSES[auth.status].lower()}; only a draft "
            "or a pended request can change. Nothing was saved."
        )
    _live_patient(db, auth.patient_id)
    sent = data.model_dump(exclude_unset=True, exclude={"version", "services", "document_ids"})
    for name in ("coverage_id", "ordering_practitioner_id", "requested_start", "requested_end"):
        if name in sent and sent[name] is None:
            raise ValidationFailed(
                f"The {name.replace('_', ' ')} cannot be emptied. Nothing was saved.",
                fields={name: "This field is required."},
            )
    if "diagnoses" in sent:
        sent["diagnoses"] = diagnoses(data.diagnoses or [])
    lines = service_lines(data.services) if data.services is not None else None
    if data.coverage_id is not None:
        _coverage(db, auth.patient_id, data.coverage_id)
    merged = {c.key: getattr(auth, c.key) for c in PriorAuthorization.__table__.columns}
    merged.update(sent)
    _check_providers(db, merged)
    if merged.get("referral_id") is not None:
        _referral(db, auth.patient_id, merged["referral_id"])
    _dates(merged["requested_start"], merged["requested_end"])
    documents = (
        _documents(db, auth.patient_id, data.document_ids)
        if data.document_ids is not None
        else None
    )
    for name, value in sent.items():
        setattr(auth, name, value)
    auth.updated_at = utcnow()  # the version moves even when only lines or documents change
    if lines is not None:
        _set_lines(db, auth, lines)
    if documents is not None:
        _set_documents(db, auth, documents)
    db.flush()
    _audit(db, actor, Action.UPDATE, auth, "details changed")
    return _read(db, auth, zone)


def cancel(
    db: Session, actor: Actor, authorization_id: uuid.UUID, data: CancelIn, zone: str
) -> AuthorizationRead:
    auth = _authorization(db, authorization_id)
    check_version("This authorization", auth.version, data.version)
    if auth.status not in codes.CANCELLABLE:
        raise Conflict(
            f"Authorization {auth.number} is {codes.STATUSES[auth.status].lower()}; it cannot be "
            "cancelled. Nothing was saved."
        )
    before = auth.status
    auth.status = "cancelled"
    auth.cancel_reason = data.reason
    auth.next_attempt_at = None
    db.flush()
    _audit(db, actor, Action.UPDATE, auth, f"status {before} -> cancelled")
    _finish_tasks(db, actor, auth, tuple(TASK_KEYS.values()))
    return _read(db, auth, zone)


# --- decisions -----------------------------------------------------------------------------


def _explain(reason: str) -> str:
    if not reason:
        return ""
    return f"{reason}: {codes.DENIAL_REASONS[reason]}" if reason in codes.DENIAL_REASONS else reason


@dataclass
class _Decided:
    status: str
    auth_number: str
    reason: str
    start: dt.date | None
    end: dt.date | None
    units: list[tuple[int | None, str | None]]  # per line, in order: (approved, decision)


def _apply(
    db: Session,
    actor: Actor,
    auth: PriorAuthorization,
    decided: _Decided,
    source: str,
    now: dt.datetime,
) -> None:
    before = auth.status
    auth.status = decided.status
    auth.decided_at = now
    auth.decision_source = source
    auth.decision_reason = decided.reason or None
    auth.next_attempt_at = None
    auth.last_error = None
    if decided.status in codes.GRANTED:
        auth.auth_number = decided.auth_number or auth.auth_number
        auth.approved_start = decided.start or auth.requested_start
        auth.approved_end = decided.end or auth.requested_end
    else:
        auth.approved_start = auth.approved_end = None
    for line, (units, decision) in zip(_lines(db, auth.id), decided.units, strict=False):
        line.units_approved = units if decided.status in codes.GRANTED else None
        line.decision = decision
    db.flush()
    _audit(db, actor, Action.UPDATE, auth, f"status {before} -> {decided.status} ({source})")


def record_decision(
    db: Session,
    actor: Actor,
    authorization_id: uuid.UUID,
    data: DecisionIn,
    zone: str,
    now: dt.datetime | None = None,
) -> AuthorizationRead:
    """A decision the payer gave by phone or fax, recorded by hand."""
    now = now or utcnow()
    auth = _authorization(db, authorization_id)
    check_version("This authorization", auth.version, data.version)
    if auth.status not in ("draft", "submitted", "pended"):
        raise Conflict(
            f"Authorization {auth.number} is {codes.STATUSES[auth.status].lower()}: a decision "
            "is recorded on a request waiting for one. Nothing was saved."
        )
    lines = _lines(db, auth.id)
    units: list[tuple[int | None, str | None]] = [(line.units_requested, None) for line in lines]
    start: dt.date | None
    end: dt.date | None
    if data.decision in codes.GRANTED:
        if not data.auth_number:
            raise ValidationFailed(
                "Enter the authorization number the payer gave. Nothing was saved.",
                fields={"auth_number": "Enter the payer's authorization number."},
            )
        start = data.approved_start or auth.requested_start
        end = data.approved_end or auth.requested_end
        _dates(start, end, "approved")
        by_line = {d.line: d.units_approved for d in data.lines}
        unknown = sorted(set(by_line) - {line.line for line in lines})
        if unknown:
            raise ValidationFailed(
                f"There is no service line {unknown[0]}. Nothing was saved.",
                fields={"lines": f"No line {unknown[0]}."},
            )
        units = []
        for line in lines:
            approved = by_line.get(line.line, line.units_requested)
            units.append(
                (
                    approved,
                    "approved"
                    if approved >= line.units_requested
                    else "partially-approved"
                    if approved
                    else "denied",
                )
            )
        if data.decision == "approved" and any(
            u < line.units_requested
            for (u, _), line in zip(units, lines, strict=True)
            if u is not None
        ):
            raise ValidationFailed(
                "Fewer units than requested were approved: record the decision as partially "
                "approved. Nothing was saved.",
                fields={"decision": "Choose “Partially approved”."},
            )
    else:
        if not (data.reason or "").strip():
            raise ValidationFailed(
                f"Say why the request is {data.decision} (the payer's reason). Nothing was saved.",
                fields={"reason": "Enter the payer's reason."},
            )
        start = end = None
        units = [(None, data.decision) for _ in lines]
    _apply(
        db,
        actor,
        auth,
        _Decided(data.decision, data.auth_number or "", data.reason or "", start, end, units),
        "manual",
        now,
    )
    _finish_tasks(db, actor, auth, (TASK_KEYS["submission-failed"],))
    return _read(db, auth, zone, now)


# --- appeals -------------------------------------------------------------------------------


def add_appeal(
    db: Session, actor: Actor, authorization_id: uuid.UUID, data: AppealCreate, today: dt.date
) -> AppealRead:
    auth = _authorization(db, authorization_id)
    check_version("This authorization", auth.version, data.version)
    if auth.status not in ("denied", "partially-approved"):
        raise Conflict(
            f"Authorization {auth.number} is {codes.STATUSES[auth.status].lower()}; only a denial "
            "or a partial approval can be appealed. Nothing was saved."
        )
    if data.submitted_on > today:
        raise ValidationFailed(
            "The appeal's date is in the future; enter the day it was sent.",
            fields={"submitted_on": "The date cannot be in the future."},
        )
    pending = db.scalar(
        select(func.count())
        .select_from(AuthorizationAppeal)
        .where(
            AuthorizationAppeal.authorization_id == auth.id,
            AuthorizationAppeal.outcome == "pending",
        )
    )
    if pending:
        raise Conflict(
            "An appeal of this authorization is still pending; record its outcome before "
            "appealing again. Nothing was saved."
        )
    appeal = AuthorizationAppeal(
        authorization_id=auth.id,
        level=data.level,
        submitted_on=data.submitted_on,
        reason=data.reason,
        outcome="pending",
    )
    db.add(appeal)
    auth.updated_at = utcnow()  # the authorization's version moves: its appeals changed
    db.flush()
    _audit(db, actor, Action.CREATE, auth, f"appeal ({data.level}) submitted")
    return AppealRead.model_validate(appeal)


def decide_appeal(
    db: Session,
    actor: Actor,
    authorization_id: uuid.UUID,
    appeal_id: uuid.UUID,
    data: AppealDecisionIn,
    today: dt.date,
) -> AppealRead:
    """Record an appeal's outcome; an overturned appeal turns the denial into an approval of
    every unit requested, for the requested dates (change them with a decision afterwards)."""
    auth = _authorization(db, authorization_id)
    appeal = db.get(AuthorizationAppeal, appeal_id)
    if appeal is None or appeal.authorization_id != auth.id:
        raise NotFound(f"This authorization has no appeal with id {appeal_id}")
    check_version("This appeal", appeal.version, data.version)
    if appeal.outcome != "pending":
        raise Conflict("This appeal is already decided. Nothing was saved.")
    if data.outcome == "pending":
        raise ValidationFailed(
            "Choose the outcome: overturned or upheld.",
            fields={"outcome": "Choose overturned or upheld."},
        )
    if data.decided_on > today or data.decided_on < appeal.submitted_on:
        raise ValidationFailed(
            "The decision date must be between the day the appeal was sent and today.",
            fields={"decided_on": "Check the date of the decision."},
        )
    appeal.outcome = data.outcome
    appeal.decided_on = data.decided_on
    appeal.note = data.note
    db.flush()
    if data.outcome == "overturned":
        lines = _lines(db, auth.id)
        _apply(
            db,
            actor,
            auth,
            _Decided(
                "approved",
                auth.auth_number or f"{auth.number}-APPEAL",
                "",
                auth.requested_start,
                auth.requested_end,
                [(line.units_requested, "approved") for line in lines],
            ),
            "appeal",
            utcnow(),
        )
    _audit(db, actor, Action.UPDATE, auth, f"appeal {data.outcome}")
    return AppealRead.model_validate(appeal)


# --- submitting ----------------------------------------------------------------------------


def _split_name(name: str) -> tuple[str, str]:
    words = name.replace("Dr. ", "").split()
    if len(words) < 2:
        return name, ""
    return words[-1], " ".join(words[:-1])


def _party(db: Session, auth: PriorAuthorization) -> tuple[x278.Party | None, x278.Party | None]:
    ordering = db.get(Practitioner, auth.ordering_practitioner_id)
    order_party = None
    if ordering is not None:
        last, first = _split_name(ordering.name)
        order_party = x278.Party(last, first or "", ordering.npi or "")
    rendering: x278.Party | None = None
    if auth.rendering_practitioner_id is not None:
        person = db.get(Practitioner, auth.rendering_practitioner_id)
        if person is not None:
            last, first = _split_name(person.name)
            rendering = x278.Party(last, first, person.npi or "")
    elif auth.rendering_provider_id is not None:
        outside = db.get(OutsideProvider, auth.rendering_provider_id)
        if outside is not None:
            rendering = x278.Party(outside.organization or outside.name, "", outside.npi or "")
    return order_party, rendering


def _sex(value: str | None) -> str:
    return value if value in ("female", "male") else "unknown"


def _payload(
    db: Session,
    settings: Settings,
    auth: PriorAuthorization,
    channel: str,
    trace: str,
    now: dt.datetime,
) -> tuple[str, int | None]:
    """The request as the payer's channel takes it, and the ISA13 it used (X12 only)."""
    patient = db.get(Patient, auth.patient_id)
    coverage = db.get(Coverage, auth.coverage_id)
    assert patient is not None  # foreign keys
    assert coverage is not None
    payer = db.get(Payer, coverage.payer_ref)
    assert payer is not None
    lines = _lines(db, auth.id)
    documents = [
        str(d)
        for d in db.scalars(
            select(AuthorizationDocument.document_id).where(
                AuthorizationDocument.authorization_id == auth.id
            )
        )
    ]
    ordering, rendering = _party(db, auth)
    codes_ = tuple(d["code"] for d in auth.diagnoses)
    if channel == "fhir-pas":
        request = pas.PasRequest(
            trace_number=trace,
            created=now,
            patient_id=str(patient.id),
            patient_family=patient.family_name,
            patient_given=patient.given_names,
            patient_birth_date=patient.birth_date,
            patient_sex=patient.sex if patient.sex in ("female", "male", "other") else "unknown",
            member_id=coverage.member_id,
            relationship=coverage.relationship,
            payer_name=payer.name,
            payer_id=payer.payer_id,
            requester_name=settings.clinic_name,
            requester_npi=settings.clinic_npi,
            diagnoses=codes_,
            items=tuple(
                pas.Item(
                    line.code,
                    procedures.code_system(line.code),
                    line.units_requested,
                    tuple(line.modifiers),
                )
                for line in lines
            ),
            start=auth.requested_start,
            end=auth.requested_end,
            ordering=pas.Person(ordering.last_name, ordering.first_name, ordering.npi)
            if ordering
            else None,
            rendering=pas.Person(rendering.last_name, rendering.first_name, rendering.npi)
            if rendering
            else None,
            documents=tuple(documents),
        )
        return json.dumps(pas.build_bundle(request)), None
    dependent = None
    if coverage.relationship == "self":
        subscriber = x278.Patient(
            patient.family_name,
            patient.given_names.split()[0],
            patient.birth_date,
            _sex(patient.sex),
        )
    else:
        subscriber = x278.Patient(
            coverage.subscriber_family_name or "",
            coverage.subscriber_given_names or "",
            coverage.subscriber_birth_date or patient.birth_date,
            _sex(coverage.subscriber_sex),
        )
        dependent = x278.Patient(
            patient.family_name,
            patient.given_names.split()[0],
            patient.birth_date,
            _sex(patient.sex),
        )
    control = next_control_number(db, settings.x12_sender_id)
    request_278 = x278.AuthorizationRequest(
        payer_name=payer.name,
        payer_id=payer.payer_id,
        requester=x278.Party(settings.clinic_name, npi=settings.clinic_npi),
        subscriber=subscriber,
        member_id=coverage.subscriber_member_id or coverage.member_id,
        diagnoses=codes_,
        start=auth.requested_start,
        end=auth.requested_end,
        services=tuple(
            x278.ServiceLine(line.code, line.units_requested, tuple(line.modifiers), rendering)
            for line in lines
        ),
        trace_number=trace,
        trace_originator_id="1" + settings.clinic_tax_id,
        service_type=codes.service_type(lines[0].code) if lines else "1",
        ordering=ordering,
        dependent=dependent,
        attachments=tuple(d.replace("-", "")[:30] for d in documents),
    )
    text_278 = x278.build_278(
        request_278,
        control_number=control,
        sender_id=settings.x12_sender_id,
        receiver_id=settings.x12_receiver_id,
        now=now,
    )
    return text_278, control


def _read_answer(channel: str, answer: str, trace: str) -> _Decided:
    """The decision in ``answer``; X12Error / PasError when it cannot be read, ValueError
    when it is about another request or rejected."""
    if channel == "fhir-pas":
        decision = pas.read_claim_response(answer)
        if decision.trace_number and decision.trace_number != trace:
            raise ValueError(
                f"the answer is for request {decision.trace_number}, not {trace}; "
                "it was not applied"
            )
        status = codes.PAS_REVIEW.get(decision.action)
        if status is None:
            raise pas.PasError(
                f"review action {decision.action!r} is not one we read", "ClaimResponse"
            )
        return _Decided(
            status,
            decision.auth_number,
            _explain(decision.reason),
            decision.start,
            decision.end,
            [
                (i.units, codes.PAS_REVIEW.get(i.action))
                for i in sorted(decision.items, key=lambda i: i.sequence)
            ],
        )
    response = x278.read_278(answer)
    if response.rejections:
        words = ", ".join(
            f"{r.code} ({r.follow_up or 'no follow-up'})" for r in response.rejections
        )
        raise ValueError(f"the payer rejected the request (AAA {words}); correct it and resubmit")
    if trace not in response.trace_numbers:
        raise ValueError(
            f"the answer's trace numbers {response.trace_numbers or 'none'} do not include "
            f"ours ({trace}); it was not applied"
        )
    status = codes.HCR_ACTIONS.get(response.event.action)
    if status is None:
        raise ValueError(f"HCR01 {response.event.action} is not a decision we apply")
    return _Decided(
        status,
        response.event.auth_number,
        _explain(response.event.reason),
        response.event.start,
        response.event.end,
        [(s.units, codes.HCR_ACTIONS.get(s.action)) for s in response.services],
    )


def _task_owner(db: Session, auth: PriorAuthorization) -> uuid.UUID | None:
    if auth.created_by is None:
        return None
    user = db.get(User, auth.created_by)
    return user.id if user is not None and user.is_active else None


def _raise_task(
    db: Session,
    auth: PriorAuthorization,
    key: str,
    dedupe: str,
    title: str,
    description: str,
    now: dt.datetime,
    priority: str = "urgent",
) -> bool:
    """Raise the task unless one with this ``dedupe`` key exists; whether one was raised."""
    if db.scalar(select(Task.id).where(Task.dedupe_key == dedupe)) is not None:
        return False
    owner = _task_owner(db, auth)
    tasks.create(
        db,
        WORKER,
        title=title,
        description=description,
        patient_id=auth.patient_id,
        priority=priority,
        kind="authorization",
        owner_id=owner,
        queue=None if owner else "coordinators",
        due_at=now + tasks.DEFAULT_WAIT[priority],
        focus_type=ENTITY,
        focus_id=auth.id,
        dedupe_key=dedupe,
        template_key=key,
    )
    return True


@dataclass(frozen=True)
class _Outgoing:
    """A submission to send, taken out of its transaction: the network call runs with no
    transaction open, so a slow clearinghouse never holds a database lock."""

    authorization_id: uuid.UUID
    submission_id: uuid.UUID
    channel: str
    payload: str


def _send(settings: Settings, outgoing: _Outgoing) -> str | ClearinghouseError:
    content_type = FHIR_JSON if outgoing.channel == "fhir-pas" else X12
    try:
        return connector_for(settings).exchange(outgoing.payload, content_type)
    except ClearinghouseError as exc:
        return exc


def _lease(settings: Settings) -> dt.timedelta:
    # While a submission is on the wire no worker resends it; if the sender dies, the worker
    # picks it up when this runs out.
    return dt.timedelta(seconds=settings.clearinghouse_timeout_seconds + 60)


def _record_reply(
    db: Session,
    settings: Settings,
    outgoing: _Outgoing,
    reply: str | ClearinghouseError,
    now: dt.datetime,
    back_to: str,
) -> None:
    """Apply what came back to a submission still waiting for it (a decision recorded by
    hand in the meantime wins: the late answer is then kept but not applied)."""
    auth = _authorization(db, outgoing.authorization_id)
    submission = db.get(AuthorizationSubmission, outgoing.submission_id)
    if submission is None or submission.status != "pending":
        return
    submission.attempts += 1
    auth.attempts += 1
    if auth.status != "submitted":
        if not isinstance(reply, ClearinghouseError):
            submission.response_payload = reply
        submission.status = "failed"
        submission.error = "The request was decided by hand before this answer came back."
        db.flush()
        return
    if isinstance(reply, ClearinghouseError):
        exc = reply
        submission.error = str(exc)
        auth.last_error = str(exc)
        if exc.transient and submission.attempts < settings.clearinghouse_max_attempts:
            auth.next_attempt_at = now + next_delay(submission.attempts)
            db.flush()
            return
        submission.status = "failed"
        auth.next_attempt_at = None
        if exc.transient:
            _raise_task(
                db,
                auth,
                TASK_KEYS["submission-failed"],
                f"{TASK_KEYS['submission-failed']}:{submission.id}",
                f"Prior authorization {auth.number} could not be sent",
                f"The clearinghouse did not take the request after {submission.attempts} "
                f"attempts ({exc}). Send it again later, or call the payer and record the "
                "decision by hand.",
                now,
            )
        else:
            auth.status = back_to
        db.flush()
        return
    answer = reply
    auth.next_attempt_at = None
    submission.response_payload = answer
    submission.answered_at = now
    try:
        decided = _read_answer(submission.channel, answer, submission.trace_number)
    except (X12Error, pas.PasError, ValueError) as exc:
        submission.status = "failed"
        submission.error = f"The answer could not be applied: {exc}"
        auth.last_error = submission.error
        auth.next_attempt_at = None
        auth.status = (
            back_to if isinstance(exc, ValueError) and "rejected" in str(exc) else auth.status
        )
        db.flush()
        return
    submission.status = "answered"
    submission.outcome = decided.status
    submission.error = None
    db.flush()
    _apply(db, WORKER, auth, decided, "payer", now)


def submit(
    db: Session,
    actor: Actor,
    authorization_id: uuid.UUID,
    version: int,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    in_transaction: bool = False,
) -> AuthorizationRead:
    """Send a draft (or a pended request, answered) to the payer on its channel. A transient
    clearinghouse error leaves it submitted and retried by the worker; an answer is read and
    applied; an unreadable answer is kept raw with the error naming where it is wrong.

    The submission is committed before the exchange, which runs with no transaction open;
    ``in_transaction`` (the demo seed, answered in process) keeps it all in the caller's
    transaction instead."""
    now = now or utcnow()
    auth = _authorization(db, authorization_id)
    check_version("This authorization", auth.version, version)
    if auth.status not in codes.EDITABLE:
        raise Conflict(
            f"Authorization {auth.number} is {codes.STATUSES[auth.status].lower()}; only a draft "
            "or a pended request is submitted. Nothing was sent."
        )
    _live_patient(db, auth.patient_id)
    coverage = db.get(Coverage, auth.coverage_id)
    assert coverage is not None
    payer = db.get(Payer, coverage.payer_ref)
    assert payer is not None
    if not _lines(db, auth.id):
        raise ValidationFailed(
            "Add at least one service before submitting. Nothing was sent.",
            fields={"services": "Add a service."},
        )
    count = db.scalar(
        select(func.count())
        .select_from(AuthorizationSubmission)
        .where(AuthorizationSubmission.authorization_id == auth.id)
    )
    trace = f"{auth.number}S{(count or 0) + 1}"
    try:
        payload, control = _payload(db, settings, auth, payer.prior_auth_channel, trace, now)
    except ValueError as exc:
        raise ValidationFailed(f"The request cannot be built: {exc}. Nothing was sent.") from exc
    back_to = auth.status
    submission = AuthorizationSubmission(
        authorization_id=auth.id,
        channel=payer.prior_auth_channel,
        control_number=control,
        trace_number=trace,
        request_payload=payload,
        status="pending",
    )
    db.add(submission)
    auth.status = "submitted"
    auth.attempts = 0
    auth.last_error = None
    db.flush()
    auth.next_attempt_at = now + _lease(settings)
    db.flush()
    _audit(db, actor, Action.UPDATE, auth, f"submitted ({payer.prior_auth_channel}) {trace}")
    outgoing = _Outgoing(auth.id, submission.id, submission.channel, payload)
    if not in_transaction:
        db.commit()
    reply = _send(settings, outgoing)
    if not in_transaction:
        db.connection(execution_options={WRITE_OPTION: True})
    _record_reply(db, settings, outgoing, reply, utcnow(), back_to)
    return _read(db, _authorization(db, outgoing.authorization_id), settings.timezone, now)


def claim_retries(
    db: Session, settings: Settings, now: dt.datetime, limit: int = 50
) -> list[_Outgoing]:
    """Submissions waiting after a transient error whose next attempt is due, leased to this
    worker so no other sends them meanwhile."""
    query = (
        select(PriorAuthorization)
        .where(
            PriorAuthorization.status == "submitted",
            PriorAuthorization.next_attempt_at.is_not(None),
            PriorAuthorization.next_attempt_at <= now,
        )
        .order_by(PriorAuthorization.next_attempt_at)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for auth in list(db.scalars(query)):
        submission = db.scalar(
            select(AuthorizationSubmission)
            .where(
                AuthorizationSubmission.authorization_id == auth.id,
                AuthorizationSubmission.status == "pending",
            )
            .order_by(AuthorizationSubmission.created_at.desc())
            .limit(1)
        )
        if submission is None:
            auth.next_attempt_at = None
            continue
        auth.next_attempt_at = now + _lease(settings)
        claimed.append(
            _Outgoing(auth.id, submission.id, submission.channel, submission.request_payload)
        )
    db.flush()
    return claimed


def retry_due(
    factory: sessionmaker[Session], settings: Settings, now: dt.datetime, limit: int = 50
) -> int:
    """Send again the submissions waiting after a transient error, each exchange outside any
    transaction; how many were tried."""
    with unit_of_work(factory) as db:
        due = claim_retries(db, settings, now, limit)
    for outgoing in due:
        reply = _send(settings, outgoing)
        with unit_of_work(factory) as db:
            _record_reply(db, settings, outgoing, reply, utcnow(), "draft")
    return len(due)


# --- tasks and timers ----------------------------------------------------------------------


def _finish_tasks(
    db: Session, actor: Actor, auth: PriorAuthorization, keys: tuple[str, ...]
) -> None:
    tasks.complete_open(
        db,
        actor,
        f"Authorization {auth.number} is now {codes.STATUSES[auth.status].lower()}.",
        Task.focus_type == ENTITY,
        Task.focus_id == auth.id,
        Task.template_key.in_(keys),
    )


@dataclass
class TimerSummary:
    expired: int = 0
    expiring: int = 0
    low_units: int = 0
    over_used: int = 0
    retried: int = 0

    def line(self) -> str:
        return (
            f"{self.expired} expired, {self.expiring} expiring, {self.low_units} low on units, "
            f"{self.over_used} over-used, {self.retried} resent"
        )


def run_timers(
    db: Session, settings: Settings, now: dt.datetime | None = None, limit: int = 500
) -> TimerSummary:
    """What the worker runs once a minute: approved authorizations past their end become
    expired; a task is raised (once per authorization and reason) 14 days before the end,
    when the units left fall to 2 or under 20 %, and when more units were used than approved;
    (``retry_due`` sends waiting submissions again)."""
    now = now or utcnow()
    zone = settings.timezone
    today = _today(now, zone)
    summary = TimerSummary()
    for auth in db.scalars(
        select(PriorAuthorization)
        .where(
            PriorAuthorization.status.in_(codes.GRANTED), PriorAuthorization.approved_end < today
        )
        .limit(limit)
    ):
        auth.status = "expired"
        db.flush()
        record(
            db,
            WORKER,
            Action.UPDATE,
            entity_type=ENTITY,
            entity_id=auth.id,
            patient_id=auth.patient_id,
            reason="expired (approved end date passed)",
        )
        summary.expired += 1
    horizon = today + dt.timedelta(days=EXPIRY_WARNING_DAYS)
    for auth in db.scalars(
        select(PriorAuthorization)
        .where(PriorAuthorization.status.in_(codes.GRANTED))
        .order_by(PriorAuthorization.approved_end)
        .limit(limit)
    ):
        read = _read(db, auth, zone, now)
        if auth.approved_end is not None and auth.approved_end <= horizon:
            key = TASK_KEYS["expiring"]
            raised = _raise_task(
                db,
                auth,
                key,
                f"{key}:{auth.id}:{auth.approved_end.isoformat()}",
                f"Prior authorization {auth.auth_number or auth.number} ends "
                f"{auth.approved_end:%d %b %Y}",
                f"{read.payer_name} authorization {auth.auth_number or ''} for {read.patient_name} "
                f"ends in {read.days_left} day(s). Request an extension if the services go on.",
                now,
                "routine",
            )
            summary.expiring += raised
        if read.over_used:
            key = TASK_KEYS["over-used"]
            over = sum(line.over_by for line in read.services)
            raised = _raise_task(
                db,
                auth,
                key,
                f"{key}:{auth.id}",
                f"More units used than authorized on {auth.auth_number or auth.number}",
                f"{read.patient_name} has used {over} unit(s) more than {read.payer_name} "
                "approved. Ask the payer for more units or stop booking the service.",
                now,
            )
            summary.over_used += raised
        elif read.low_units:
            key = TASK_KEYS["low-units"]
            left = sum(line.units_remaining or 0 for line in read.services)
            raised = _raise_task(
                db,
                auth,
                key,
                f"{key}:{auth.id}",
                f"Few units left on authorization {auth.auth_number or auth.number}",
                f"{read.patient_name} has {left} authorized unit(s) left with {read.payer_name}. "
                "Request more units if the plan of care goes on.",
                now,
                "routine",
            )
            summary.low_units += raised
    db.flush()
    return summary


# --- booking -------------------------------------------------------------------------------


def booking_warnings(
    db: Session, patient_id: uuid.UUID, appointment_type_id: uuid.UUID, day: dt.date, zone: str
) -> list[BookingWarning]:
    """Warnings (never refusals) for booking a visit: its type needs a prior authorization
    and the patient has no approved one for its code on that day with units left."""
    kind = db.get(AppointmentType, appointment_type_id)
    if kind is None or not kind.prior_auth_required or not kind.service_code:
        return []
    with_code = select(AuthorizationService.authorization_id).where(
        AuthorizationService.code == kind.service_code
    )
    candidates = db.scalars(
        select(PriorAuthorization).where(
            PriorAuthorization.patient_id == patient_id,
            PriorAuthorization.status.in_(codes.GRANTED),
            PriorAuthorization.id.in_(with_code),
        )
    ).all()
    covering = [
        auth
        for auth in candidates
        if auth.approved_start is not None
        and auth.approved_end is not None
        and auth.approved_start <= day <= auth.approved_end
    ]
    if not covering:
        return [
            BookingWarning(
                code="prior-auth-missing",
                message=f"{kind.name} ({kind.service_code}) needs a prior authorization, and "
                f"the patient has no approved one for {day:%d %b %Y}. Request one before the "
                "visit, or the payer may not pay for it.",
            )
        ]
    for auth in covering:
        read = _read(db, auth, zone)
        left = sum(
            line.units_remaining or 0 for line in read.services if line.code == kind.service_code
        )
        if left > 0:
            return []
    numbers = ", ".join(a.auth_number or a.number for a in covering)
    return [
        BookingWarning(
            code="prior-auth-used-up",
            message=f"The authorized units for {kind.service_code} ({numbers}) are used up. "
            "Ask the payer for more units before the visit.",
        )
    ]


def warnings_for_booking(db: Session, appointment: Any, zone: str) -> list[str]:
    """The booking warnings for a booked appointment (its patient, type and local day)."""
    day = appointment.starts_at.astimezone(ZoneInfo(zone)).date()
    found = booking_warnings(db, appointment.patient_id, appointment.appointment_type_id, day, zone)
    return [w.message for w in found]
