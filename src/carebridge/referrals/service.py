"""Referral use cases: make one (outgoing or incoming) with coded diagnoses and the patient's
documents attached, move it through its lifecycle, list and track them, and read its history.

Every read and change is audited with the patient. Services flush and never commit; a refused
change raises before anything is written, so it leaves nothing. ``zone`` is the clinic's time
zone (which calendar day a step happened on); ``now`` is when the change is made.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carebridge.db import counters
from carebridge.db.history import RecordVersion
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients import terminology
from carebridge.patients.models import Document, Patient
from carebridge.referrals import codes, directory
from carebridge.referrals.models import OutsideProvider, Referral, ReferralAttachment
from carebridge.referrals.schemas import (
    ProviderRead,
    ReferralCreate,
    ReferralRead,
    ReferralTransition,
    ReferralUpdate,
    StatusChange,
)
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task
from carebridge.tasks.rules import TIMERS, referral_wait_days

TRACKER_LIMIT = 500
# Timer tasks a step makes moot: once scheduled nobody need chase the booking, and once the
# report is in (or the referral is over) nobody need chase the report.
_NOT_SCHEDULED = tuple(t.key for t in TIMERS if t.watches == "referral-not-scheduled")
_NO_REPORT = tuple(t.key for t in TIMERS if t.watches == "referral-no-report")
MOOT: dict[str, tuple[str, ...]] = {
    "scheduled": _NOT_SCHEDULED,
    "declined": _NOT_SCHEDULED,
    "report-received": _NO_REPORT,
    "cancelled": _NOT_SCHEDULED + _NO_REPORT,
    "closed": _NOT_SCHEDULED + _NO_REPORT,
}


# --- checking input ------------------------------------------------------------------------


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; open the surviving chart "
            "and make the referral there. Nothing was saved."
        )
    return patient


def diagnoses(values: Sequence[str]) -> list[dict[str, str]]:
    """ICD-10-CM codes checked against the code set, each with its official description."""
    return terminology.icd10_list(values)


def _provider(db: Session, provider_id: uuid.UUID) -> OutsideProvider:
    provider = db.get(OutsideProvider, provider_id)
    if provider is None:
        raise ValidationFailed(
            f"There is no directory entry with id {provider_id}.",
            fields={"provider_id": "Choose a provider from the directory."},
        )
    if not provider.active:
        raise ValidationFailed(
            f"“{provider.name}” is marked inactive in the directory; choose another provider "
            "or make the entry active first.",
            fields={"provider_id": f"{provider.name} is inactive in the directory."},
        )
    return provider


def _documents(db: Session, patient_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    owners = dict(
        db.execute(select(Document.id, Document.patient_id).where(Document.id.in_(wanted))).all()
    )
    for doc_id in wanted:
        if doc_id not in owners:
            raise ValidationFailed(
                f"There is no document with id {doc_id}.",
                fields={"attachment_ids": f"No document has id {doc_id}."},
            )
        if owners[doc_id] != patient_id:
            raise ValidationFailed(
                f"Document {doc_id} belongs to another patient; attach this patient's "
                "documents only.",
                fields={"attachment_ids": "That document is another patient's."},
            )
    return wanted


# --- reading -------------------------------------------------------------------------------


def _referral(db: Session, referral_id: uuid.UUID) -> Referral:
    referral = db.get(Referral, referral_id)
    if referral is None:
        raise NotFound(f"No referral with id {referral_id}")
    return referral


def due_on(referral: Referral, zone: str) -> dt.date | None:
    """The day the open step's timer raises a task: not scheduled after N days (by urgency),
    or no report N days after the visit. Only outgoing referrals are chased."""
    if referral.direction != "outgoing":
        return None
    if referral.status in ("sent", "accepted") and referral.sent_at is not None:
        days = referral_wait_days("referral-not-scheduled", referral.urgency)
        if days is None:
            return None
        return referral.sent_at.astimezone(ZoneInfo(zone)).date() + dt.timedelta(days=days)
    if referral.status == "seen" and referral.seen_on is not None:
        days = referral_wait_days("referral-no-report")
        return None if days is None else referral.seen_on + dt.timedelta(days=days)
    return None


def _attachments(db: Session, referral_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        db.scalars(
            select(ReferralAttachment.document_id).where(
                ReferralAttachment.referral_id == referral_id
            )
        )
    )


def _read(
    db: Session,
    referral: Referral,
    zone: str,
    provider: OutsideProvider | None = None,
    attachments: list[uuid.UUID] | None = None,
) -> ReferralRead:
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    due = due_on(referral, zone)
    provider = provider or directory.get(db, referral.provider_id)
    return ReferralRead.model_validate(
        {
            **{c: getattr(referral, c) for c in ReferralRead.model_fields if hasattr(referral, c)},
            "provider": ProviderRead.model_validate(provider),
            "attachment_ids": _attachments(db, referral.id) if attachments is None else attachments,
            "due_on": due,
            "overdue": due is not None and today >= due,
            "actions": codes.actions_from(referral.status, referral.service_kind),
        }
    )


def get(db: Session, actor: Actor, referral_id: uuid.UUID, zone: str) -> ReferralRead:
    referral = _referral(db, referral_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type="Referral",
        entity_id=referral.id,
        patient_id=referral.patient_id,
    )
    return _read(db, referral, zone)


def for_patient(db: Session, actor: Actor, patient_id: uuid.UUID, zone: str) -> list[ReferralRead]:
    """The patient's referrals, open ones first, newest first."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    rows = db.execute(
        select(Referral, OutsideProvider)
        .join(OutsideProvider, OutsideProvider.id == Referral.provider_id)
        .where(Referral.patient_id == patient_id)
        .order_by(Referral.created_at.desc(), Referral.id)
    ).all()
    record(db, actor, Action.READ, entity_type="Referral", patient_id=patient_id, reason="list")
    found = [_read(db, referral, zone, provider) for referral, provider in rows]
    return sorted(found, key=lambda r: r.status not in codes.OPEN_STATUSES)


@dataclass(frozen=True)
class TrackerRow:
    referral: ReferralRead
    patient_name: str
    mrn: str


def tracker(
    db: Session,
    actor: Actor,
    zone: str,
    *,
    direction: str | None = None,
    status: str | None = None,
    urgency: str | None = None,
    overdue_only: bool = False,
    limit: int = TRACKER_LIMIT,
) -> list[TrackerRow]:
    """Referrals across patients, overdue first (longest overdue first), then by status in
    lifecycle order and age. Without a status filter only open referrals are listed."""
    query = (
        select(Referral, OutsideProvider, Patient.given_names, Patient.family_name, Patient.mrn)
        .join(OutsideProvider, OutsideProvider.id == Referral.provider_id)
        .join(Patient, Patient.id == Referral.patient_id)
    )
    if status:
        query = query.where(Referral.status == status)
    else:
        query = query.where(Referral.status.in_(codes.OPEN_STATUSES))
    if direction:
        query = query.where(Referral.direction == direction)
    if urgency:
        query = query.where(Referral.urgency == urgency)
    rows = db.execute(query.order_by(Referral.created_at, Referral.id).limit(limit)).all()
    record(db, actor, Action.READ, entity_type="Referral", reason="referral tracker")
    order = {s: i for i, s in enumerate(codes.STATUSES)}
    found = [
        TrackerRow(_read(db, ref, zone, provider), f"{family}, {given}", mrn)
        for ref, provider, given, family, mrn in rows
    ]
    if overdue_only:
        found = [row for row in found if row.referral.overdue]
    return sorted(
        found,
        key=lambda row: (
            not row.referral.overdue,
            row.referral.due_on or dt.date.max,
            order.get(row.referral.status, 99),
            row.referral.created_at,
        ),
    )


def history(db: Session, actor: Actor, referral_id: uuid.UUID) -> list[StatusChange]:
    """Each change of status, with who made it and when (from the record's versions)."""
    referral = _referral(db, referral_id)
    rows = db.execute(
        select(RecordVersion, User.username)
        .outerjoin(User, User.id == RecordVersion.changed_by)
        .where(RecordVersion.entity_type == "Referral", RecordVersion.entity_id == referral.id)
        .order_by(RecordVersion.version, RecordVersion.id)
    ).all()
    record(
        db,
        actor,
        Action.READ,
        entity_type="Referral",
        entity_id=referral.id,
        patient_id=referral.patient_id,
        reason="history",
    )
    changes: list[StatusChange] = []
    last: str | None = None
    for version, name in rows:
        status = str(version.data.get("status"))
        if status == last:
            continue
        last = status
        changes.append(
            StatusChange(
                version=version.version,
                status=status,
                changed_at=version.changed_at,
                changed_by=name,
                reason=version.data.get("status_reason")
                if status in ("declined", "cancelled")
                else None,
            )
        )
    return changes


# --- changing ------------------------------------------------------------------------------


def create(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: ReferralCreate, zone: str
) -> ReferralRead:
    patient = _live_patient(db, patient_id)
    coded = diagnoses(data.diagnoses)
    provider = _provider(db, data.provider_id)
    documents = _documents(db, patient.id, data.attachment_ids)
    referral = Referral(
        number=counters.next_number(db, "referral", "R"),
        patient_id=patient.id,
        direction=data.direction,
        provider_id=provider.id,
        service_kind=data.service_kind,
        reason=data.reason,
        urgency=data.urgency,
        diagnoses=coded,
        note=data.note,
        status="draft",
    )
    db.add(referral)
    db.flush()
    for doc_id in documents:
        db.add(ReferralAttachment(referral_id=referral.id, document_id=doc_id))
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="Referral",
        entity_id=referral.id,
        patient_id=patient.id,
        reason=f"{referral.number} {referral.direction} to {provider.name}"[:200],
    )
    return _read(db, referral, zone, provider, documents)


def update(
    db: Session, actor: Actor, referral_id: uuid.UUID, data: ReferralUpdate, zone: str
) -> ReferralRead:
    """Change the details of an open referral (a closed one is kept as it ended)."""
    referral = _referral(db, referral_id)
    check_version("This referral", referral.version, data.version)
    if referral.status not in codes.OPEN_STATUSES:
        raise Conflict(
            f"Referral {referral.number} is {codes.STATUSES[referral.status].lower()}; its "
            "details can no longer change. Nothing was saved."
        )
    _live_patient(db, referral.patient_id)
    sent = data.model_dump(exclude_unset=True, exclude={"version", "attachment_ids"})
    if "diagnoses" in sent:
        sent["diagnoses"] = diagnoses(data.diagnoses or [])
    if data.provider_id is not None:
        _provider(db, data.provider_id)
    documents = None
    if data.attachment_ids is not None:
        documents = _documents(db, referral.patient_id, data.attachment_ids)
    for name, value in sent.items():
        if value is None and name in ("provider_id", "service_kind", "reason", "urgency"):
            continue  # required: a null leaves it as it is
        setattr(referral, name, value)
    if documents is not None:
        db.execute(delete(ReferralAttachment).where(ReferralAttachment.referral_id == referral.id))
        for doc_id in documents:
            db.add(ReferralAttachment(referral_id=referral.id, document_id=doc_id))
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Referral",
        entity_id=referral.id,
        patient_id=referral.patient_id,
        reason="details changed",
    )
    return _read(db, referral, zone)


def _not_future(day: dt.date, today: dt.date, field: str, what: str) -> dt.date:
    if day > today:
        raise ValidationFailed(
            f"The {what} date {day:%d %b %Y} is in the future; enter the day it happened.",
            fields={field: f"The {what} date cannot be in the future."},
        )
    return day


def _schedule(db: Session, referral: Referral, data: ReferralTransition, zone: str) -> None:
    if data.appointment_id is not None:
        visit = db.get(Appointment, data.appointment_id)
        if visit is None:
            raise ValidationFailed(
                f"There is no appointment with id {data.appointment_id}.",
                fields={"appointment_id": "No appointment has this id."},
            )
        if visit.patient_id != referral.patient_id:
            raise ValidationFailed(
                "That appointment belongs to another patient; link this patient's own "
                "appointment. Nothing was saved.",
                fields={"appointment_id": "This appointment is another patient's."},
            )
        if visit.status in ("cancelled", "noshow", "entered-in-error"):
            raise ValidationFailed(
                f"That appointment is {visit.status}; link a booked one.",
                fields={"appointment_id": f"The appointment is {visit.status}."},
            )
        referral.appointment_id = visit.id
        referral.scheduled_for = visit.starts_at.astimezone(ZoneInfo(zone)).date()
        return
    if data.scheduled_for is None:
        raise ValidationFailed(
            "To mark a referral scheduled, give the appointment booked with us or the date of "
            "the visit with the outside provider.",
            fields={"scheduled_for": "Enter the date of the visit."},
        )
    referral.appointment_id = None
    referral.scheduled_for = data.scheduled_for


def transition(
    db: Session,
    actor: Actor,
    referral_id: uuid.UUID,
    data: ReferralTransition,
    zone: str,
    now: dt.datetime | None = None,
) -> ReferralRead:
    """One step of the lifecycle. A step the current status does not allow is a 409 naming
    the steps it does allow; a missing reason, date or appointment is a 422."""
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(zone)).date()
    referral = _referral(db, referral_id)
    check_version("This referral", referral.version, data.version)
    sources, target = codes.ACTIONS[data.action]
    before = referral.status
    if data.action in codes.COMMUNITY_ACTIONS and referral.service_kind != codes.COMMUNITY_SERVICE:
        raise Conflict(
            f"Referral {referral.number} is not a community referral: only a community "
            "organization's confirmation closes a referral this way. Nothing was saved.",
            extra={"status": before, "allowed": codes.actions_from(before, referral.service_kind)},
        )
    if before not in sources:
        allowed = [
            codes.ACTION_WORDS[a].lower() for a in codes.actions_from(before, referral.service_kind)
        ]
        raise Conflict(
            f"Referral {referral.number} is {codes.STATUSES[before].lower()}: it cannot be "
            f"moved with “{codes.ACTION_WORDS[data.action].lower()}”. "
            + (f"From here you can: {', '.join(allowed)}." if allowed else "It is finished.")
            + " Nothing was saved.",
            extra={"status": before, "allowed": codes.actions_from(before, referral.service_kind)},
        )
    _live_patient(db, referral.patient_id)
    if data.action in ("decline", "cancel"):
        if not (data.reason or "").strip():
            raise ValidationFailed(
                f"Say why the referral is {target}.",
                fields={"reason": f"Enter why it is {target}."},
            )
        referral.status_reason = data.reason
    if data.action == "send":
        referral.sent_at = now
    elif data.action == "accept":
        referral.accepted_at = now
    elif data.action == "schedule":
        _schedule(db, referral, data, zone)
    elif data.action == "seen":
        referral.seen_on = _not_future(data.seen_on or today, today, "seen_on", "visit")
    elif data.action == "report":
        referral.report_received_on = _not_future(
            data.report_received_on or today, today, "report_received_on", "report"
        )
    elif data.action in ("close", "confirm"):
        referral.closed_at = now
    referral.status = target
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Referral",
        entity_id=referral.id,
        patient_id=referral.patient_id,
        reason=f"status {before} -> {target}",
    )
    _finish_moot_tasks(db, actor, referral, target)
    return _read(db, referral, zone)


def _finish_moot_tasks(db: Session, actor: Actor, referral: Referral, status: str) -> None:
    """Complete the timer tasks this step has answered (e.g. "not scheduled" once booked)."""
    keys = MOOT.get(status)
    if not keys:
        return
    tasks.complete_open(
        db,
        actor,
        f"Referral {referral.number} is now {codes.STATUSES[status].lower()}.",
        Task.focus_type == "Referral",
        Task.focus_id == referral.id,
        Task.template_key.in_(keys),
    )


def letter_context(db: Session, actor: Actor, referral_id: uuid.UUID, zone: str) -> dict[str, Any]:
    """What the referral letter shows: the referral, its provider and its patient."""
    referral = get(db, actor, referral_id, zone)
    patient = db.get(Patient, referral.patient_id)
    maker = db.get(User, referral.created_by) if referral.created_by else None
    return {
        "referral": referral,
        "patient": patient,
        "referrer": maker.display_name if maker is not None else None,
    }
