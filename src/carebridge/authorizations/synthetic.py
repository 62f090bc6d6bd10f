"""Demo prior authorizations, sent to the built-in payer simulator as a coordinator would:
physical therapy series approved with their units used from the demo's completed PT visits
(one used past its approval, one running low), one partially approved, an MRI pended for
records, a sleep study denied and under appeal, one approved that ends within the fortnight,
and a draft. Two demo payers take requests as Da Vinci PAS bundles, the rest as X12 278.

Everything goes through ``authorizations.service`` so each request leaves its raw request and
answer, its history and its audit trail, exactly as the screens would."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebridge.authorizations import service
from carebridge.authorizations.models import PriorAuthorization
from carebridge.authorizations.schemas import AppealCreate, AuthorizationCreate, ServiceLineIn
from carebridge.coverage import service as coverage_service
from carebridge.coverage.models import Coverage, Payer
from carebridge.coverage.schemas import PayerUpdate
from carebridge.db.history import ACTOR_KEY
from carebridge.lib.time import utcnow
from carebridge.patients.models import Document, Patient
from carebridge.scheduling.models import Appointment, AppointmentType, Practitioner
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.settings import Settings

COORDINATOR = "coordinator"
PAS_PAYERS = ("LSB77", "HVSA2")  # Lakeshore Blue Plan, Harborview Senior Advantage


@dataclass(frozen=True)
class AuthorizationsSeeded:
    requests: int
    approved: int


def _actor(db: Session) -> Actor:
    user = db.scalar(select(User).where(User.username == COORDINATOR))
    if user is None:
        return Actor.system("demo")
    return Actor(user_id=user.id, username=user.username, role=user.role)


def _channels(db: Session, actor: Actor) -> None:
    for payer in db.scalars(select(Payer).where(Payer.payer_id.in_(PAS_PAYERS))):
        if payer.prior_auth_channel != "fhir-pas":
            coverage_service.update_payer(
                db,
                actor,
                payer.id,
                PayerUpdate(version=payer.version, prior_auth_channel="fhir-pas"),
            )


def _coverage(db: Session, patient_id: uuid.UUID) -> Coverage | None:
    return db.scalar(
        select(Coverage)
        .where(Coverage.patient_id == patient_id, Coverage.status == "active")
        .order_by(Coverage.rank, Coverage.start_on.desc())
        .limit(1)
    )


def _pt_patients(db: Session) -> list[uuid.UUID]:
    """Patients with completed PT visits (97110), most visits first."""
    rows = db.execute(
        select(Appointment.patient_id, func.count())
        .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .where(AppointmentType.service_code == "97110", Appointment.status == "fulfilled")
        .group_by(Appointment.patient_id)
        .order_by(func.count().desc(), Appointment.patient_id)
    ).all()
    return [patient_id for patient_id, _ in rows]


def _earlier_visits(db: Session, patient_id: uuid.UUID, weeks: int) -> None:
    """The PT series before the demo's fortnight: the patient's completed PT visit repeated
    weekly earlier (a time the therapist already has taken is skipped)."""
    visit = db.scalar(
        select(Appointment)
        .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status == "fulfilled",
            AppointmentType.service_code == "97110",
        )
        .limit(1)
    )
    if visit is None:
        return
    for week in range(1, weeks + 1):
        shift = dt.timedelta(weeks=week)
        try:
            with db.begin_nested():
                db.add(
                    Appointment(
                        patient_id=visit.patient_id,
                        practitioner_id=visit.practitioner_id,
                        location_id=visit.location_id,
                        room_id=None,
                        appointment_type_id=visit.appointment_type_id,
                        starts_at=visit.starts_at - shift,
                        ends_at=visit.ends_at - shift,
                        held_until=visit.ends_at - shift,
                        status="fulfilled",
                        modality=visit.modality,
                        patient_token=secrets.token_urlsafe(24),
                    )
                )
                db.flush()
        except IntegrityError:
            continue


def seed(
    db: Session, settings: Settings, *, now: dt.datetime | None = None
) -> AuthorizationsSeeded | None:
    """Once (None when authorizations exist already, or nobody has coverage)."""
    if db.scalar(select(func.count()).select_from(PriorAuthorization)):
        return None
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    simulated = settings.model_copy(update={"clearinghouse": "simulator"})
    actor = _actor(db)
    earlier = db.info.get(ACTOR_KEY)
    db.info[ACTOR_KEY] = actor.user_id
    try:
        _channels(db, actor)
        doctor = db.scalar(
            select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.name)
        )
        therapist_id = db.scalar(
            select(Appointment.practitioner_id)
            .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
            .where(AppointmentType.service_code == "97110")
            .limit(1)
        )
        therapist = db.get(Practitioner, therapist_id) if therapist_id else None
        if doctor is None:
            return None
        covered = [
            pid
            for pid in db.scalars(
                select(Patient.id).where(Patient.status == "active").order_by(Patient.mrn)
            )
            if _coverage(db, pid) is not None
        ]
        pt = [pid for pid in _pt_patients(db) if pid in set(covered)]
        for weeks, pid in zip((5, 3), pt, strict=False):
            _earlier_visits(db, pid, weeks)
        others = [pid for pid in covered if pid not in set(pt)]
        if not covered:
            return None
        plans: list[tuple[uuid.UUID, str, list[ServiceLineIn], list[str], int, int, str]] = []
        # (patient, kind, lines, diagnoses, start offset, end offset, what to do)
        for index, pid in enumerate(pt[:3]):
            visits = (
                db.scalar(
                    select(func.count())
                    .select_from(Appointment)
                    .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
                    .where(
                        Appointment.patient_id == pid,
                        Appointment.status == "fulfilled",
                        AppointmentType.service_code == "97110",
                    )
                )
                or 0
            )
            # The first uses more than approved, the second runs low, the third has room.
            units = max(visits - 2, 1) if index == 0 else visits + 2 if index == 1 else visits + 8
            plans.append(
                (
                    pid,
                    "pt",
                    [ServiceLineIn(code="97110", modifiers=["GP"], units_requested=units)],
                    ["M17.11"],
                    -90,
                    45 + index * 15,
                    "submit",
                )
            )
        pool = others or covered
        picks = [pool[i % len(pool)] for i in range(6)]
        plans += [
            (
                picks[0],
                "mri",
                [ServiceLineIn(code="72148", units_requested=1)],
                ["M54.50"],
                3,
                33,
                "submit",
            ),
            (
                picks[1],
                "sleep",
                [ServiceLineIn(code="95811", units_requested=1)],
                ["G47.33"],
                7,
                37,
                "appeal",
            ),
            (
                picks[2],
                "soon",
                [ServiceLineIn(code="97110", modifiers=["GP"], units_requested=8)],
                ["M54.50"],
                -50,
                9,
                "submit",
            ),
            (
                picks[3],
                "partial",
                [ServiceLineIn(code="97110", modifiers=["GP"], units_requested=24)],
                ["S83.241A"],
                0,
                90,
                "submit",
            ),
            (
                picks[4],
                "cpap",
                [ServiceLineIn(code="E0601", units_requested=1)],
                ["G47.33"],
                2,
                365,
                "submit",
            ),
            (
                picks[5],
                "draft",
                [ServiceLineIn(code="73721", units_requested=1)],
                ["M25.561"],
                10,
                40,
                "draft",
            ),
        ]
        approved = 0
        for pid, kind, lines, diagnoses, start, end, step in plans:
            coverage = _coverage(db, pid)
            assert coverage is not None
            documents = []
            if kind == "cpap":
                documents = list(
                    db.scalars(select(Document.id).where(Document.patient_id == pid).limit(1))
                )
            made = service.create(
                db,
                actor,
                pid,
                AuthorizationCreate(
                    coverage_id=coverage.id,
                    ordering_practitioner_id=doctor.id,
                    rendering_practitioner_id=(therapist or doctor).id
                    if kind in ("pt", "soon", "partial")
                    else None,
                    diagnoses=diagnoses,
                    services=lines,
                    document_ids=documents,
                    requested_start=today + dt.timedelta(days=start),
                    requested_end=today + dt.timedelta(days=end),
                    note={
                        "pt": "Post knee replacement rehabilitation, 2-3 visits a week.",
                        "mri": "Low back pain for 8 weeks despite therapy.",
                        "sleep": "Suspected obstructive sleep apnea.",
                        "draft": "Waiting for the orthopedic note before sending.",
                    }.get(kind),
                ),
                settings.timezone,
            )
            if step == "draft":
                continue
            sent = service.submit(
                db, actor, made.id, made.version, simulated, now, in_transaction=True
            )
            approved += int(sent.status in ("approved", "partially-approved"))
            if step == "appeal" and sent.status == "denied":
                service.add_appeal(
                    db,
                    actor,
                    made.id,
                    AppealCreate(
                        version=sent.version,
                        level="first",
                        submitted_on=today,
                        reason="Home sleep test was inconclusive; in-lab study with titration "
                        "is medically necessary (letter of medical necessity attached).",
                    ),
                    today,
                )
        service.run_timers(db, simulated, now)
        db.flush()
    finally:
        db.info[ACTOR_KEY] = earlier
    return AuthorizationsSeeded(len(plans), approved)
