"""Use cases of education: the library (search, add, change; reading grade on save),
suggestions for a patient, assigning and delivering a material (print or email), the
teach-back, and the plain-language term search.

Every read of patient data and every change leaves an audit row. Services flush, never
commit. A change to a care plan (the education activity) goes through ``careplans.service``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carebridge.careplans import service as careplans
from carebridge.careplans.models import CarePlan, CarePlanActivity, CarePlanProblem
from carebridge.careplans.schemas import ActivityCreate, ActivityUpdate
from carebridge.education import glossary, readability
from carebridge.education.models import EducationAssignment, EducationFile, EducationMaterial
from carebridge.education.schemas import (
    AssignmentCreate,
    AssignmentRead,
    Delivery,
    MaterialCreate,
    MaterialRead,
    MaterialUpdate,
    Suggestion,
    TeachBack,
    TermHit,
    TermResults,
)
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.messaging import service as messaging
from carebridge.patients import terminology
from carebridge.patients.models import Condition, Patient
from carebridge.patients.service import may_contact
from carebridge.security.audit import Action, Actor, record

MAX_FILE_BYTES = 10 * 1024 * 1024
LIST_LIMIT = 200
ACTIVE_CONDITION = ("active", "recurrence", "relapse")
OPEN_PLAN = ("draft", "active", "on-hold")
FOCUS = "education-assignment"


@dataclass(frozen=True)
class Upload:
    """An uploaded file (a PDF) as received."""

    name: str
    content_type: str
    content: bytes


# --- the library -----------------------------------------------------------------------------


def material_read(m: EducationMaterial) -> MaterialRead:
    return MaterialRead(
        id=m.id,
        code=m.code,
        title=m.title,
        body=m.body,
        file_name=m.file_name,
        language=m.language,
        audience=m.audience,
        tags=list(m.tags or []),
        source=m.source,
        reviewed_on=m.reviewed_on,
        reading_grade=m.reading_grade,
        above_grade_6=readability.above_plain(m.reading_grade),
        status=m.status,
        version=m.version,
    )


def _material(db: Session, material_id: uuid.UUID) -> EducationMaterial:
    found = db.get(EducationMaterial, material_id)
    if found is None:
        raise NotFound(f"No education material with id {material_id}")
    return found


def search(
    db: Session,
    q: str = "",
    *,
    tag: str | None = None,
    language: str | None = None,
    flagged_only: bool = False,
    include_retired: bool = False,
) -> list[MaterialRead]:
    """Materials by words in the title or text, an ICD-10-CM tag prefix, language, and the
    reading-grade flag; flagged ones first within a title order."""
    query = select(EducationMaterial)
    for word in q.split()[:8]:
        like = f"%{word.lower()}%"
        query = query.where(
            or_(
                EducationMaterial.title.ilike(like),
                EducationMaterial.body.ilike(like),
                EducationMaterial.source.ilike(like),
            )
        )
    if language:
        query = query.where(EducationMaterial.language == language)
    if not include_retired:
        query = query.where(EducationMaterial.status == "active")
    if flagged_only:
        query = query.where(EducationMaterial.reading_grade > readability.PLAIN_GRADE)
    rows = db.scalars(query.order_by(EducationMaterial.title).limit(LIST_LIMIT * 2)).all()
    if tag:
        wanted = tag.strip().upper().replace(".", "")
        rows = [
            m
            for m in rows
            if any(_matches(wanted, t) or _matches(t, wanted) for t in (m.tags or []))
        ]
    return [material_read(m) for m in rows[:LIST_LIMIT]]


def get(db: Session, material_id: uuid.UUID) -> MaterialRead:
    return material_read(_material(db, material_id))


def file_of(db: Session, material_id: uuid.UUID) -> Upload:
    m = _material(db, material_id)
    stored = db.get(EducationFile, material_id)
    if stored is None or m.file_name is None:
        raise NotFound(f"Education material {material_id} has no file")
    return Upload(m.file_name, m.file_type or "application/pdf", stored.content)


def _keep_file(db: Session, m: EducationMaterial, upload: Upload) -> None:
    m.file_name, m.file_type = upload.name[:200], upload.content_type[:100]
    stored = db.get(EducationFile, m.id)
    if stored is None:
        db.add(EducationFile(material_id=m.id, content=upload.content))
    else:
        stored.content = upload.content


def _check_upload(upload: Upload | None) -> None:
    if upload is None:
        return
    if len(upload.content) > MAX_FILE_BYTES:
        raise ValidationFailed(
            "The file is larger than 10 MB",
            fields={"file": "Upload a PDF of at most 10 MB."},
        )
    if not upload.content.startswith(b"%PDF-"):
        raise ValidationFailed(
            f"{upload.name} is not a PDF",
            fields={"file": "Upload a PDF file (it should start with %PDF)."},
        )


def _needs_content(body: str | None, has_file: bool) -> None:
    if not body and not has_file:
        raise ValidationFailed(
            "A material needs its text or a PDF file",
            fields={"body": "Write the text, or upload a PDF."},
        )


def create_material(
    db: Session, actor: Actor, data: MaterialCreate, upload: Upload | None = None
) -> MaterialRead:
    """A new material; its reading grade is computed from the text."""
    _check_upload(upload)
    _needs_content(data.body, upload is not None)
    m = EducationMaterial(
        title=data.title,
        body=data.body or None,
        language=data.language,
        audience=data.audience,
        tags=list(data.tags),
        source=data.source or None,
        reviewed_on=data.reviewed_on,
        reading_grade=readability.grade(data.body, data.language),
        status="active",
    )
    db.add(m)
    db.flush()
    if upload is not None:
        _keep_file(db, m, upload)
        db.flush()
    record(db, actor, Action.CREATE, entity_type="EducationMaterial", entity_id=m.id)
    return material_read(m)


def update_material(
    db: Session,
    actor: Actor,
    material_id: uuid.UUID,
    data: MaterialUpdate,
    upload: Upload | None = None,
) -> MaterialRead:
    """Change a material (the grade is computed again); a stale version is a 409."""
    m = _material(db, material_id)
    check_version("This material", m.version, data.version)
    _check_upload(upload)
    _needs_content(data.body, upload is not None or m.file_name is not None)
    m.title = data.title
    m.body = data.body or None
    m.language = data.language
    m.audience = data.audience
    m.tags = list(data.tags)
    m.source = data.source or None
    m.reviewed_on = data.reviewed_on
    m.status = data.status
    m.reading_grade = readability.grade(data.body, data.language)
    if upload is not None:
        _keep_file(db, m, upload)
    db.flush()
    record(db, actor, Action.UPDATE, entity_type="EducationMaterial", entity_id=m.id)
    return material_read(m)


# --- suggestions -------------------------------------------------------------------------------


def _bare(code: str) -> str:
    return code.strip().upper().replace(".", "")


def _matches(code: str, tag: str) -> bool:
    return _bare(code).startswith(_bare(tag))


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    return patient


def problem_codes(db: Session, patient_id: uuid.UUID) -> list[str]:
    """The patient's active problems (health history) and their open care plans' problems."""
    found = list(
        db.scalars(
            select(Condition.code).where(
                Condition.patient_id == patient_id,
                Condition.clinical_status.in_(ACTIVE_CONDITION),
            )
        )
    )
    found += [
        c
        for c in db.scalars(
            select(CarePlanProblem.code)
            .join(CarePlan, CarePlan.id == CarePlanProblem.care_plan_id)
            .where(
                CarePlan.patient_id == patient_id,
                CarePlan.status.in_(OPEN_PLAN),
                CarePlanProblem.status == "active",
            )
        )
        if c
    ]
    return list(dict.fromkeys(found))


def suggestions(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[Suggestion]:
    """Active materials whose tags prefix-match the patient's problems, not yet assigned to
    them; in the patient's preferred language first, then the others."""
    patient = _live_patient(db, patient_id)
    record(db, actor, Action.READ, entity_type="EducationSuggestions", patient_id=patient_id)
    codes = problem_codes(db, patient_id)
    if not codes:
        return []
    taken = set(
        db.scalars(
            select(EducationAssignment.material_id).where(
                EducationAssignment.patient_id == patient_id,
                EducationAssignment.status != "cancelled",
            )
        )
    )
    found: list[Suggestion] = []
    for m in db.scalars(
        select(EducationMaterial)
        .where(EducationMaterial.status == "active")
        .order_by(EducationMaterial.title)
    ):
        if m.id in taken:
            continue
        because = [c for c in codes if any(_matches(c, t) for t in (m.tags or []))]
        if because:
            found.append(
                Suggestion(
                    material=material_read(m),
                    because=because,
                    in_preferred_language=m.language == patient.language,
                )
            )
    found.sort(key=lambda s: (not s.in_preferred_language, s.material.audience != "patient"))
    return found


# --- assignments -------------------------------------------------------------------------------


def _assignment(db: Session, assignment_id: uuid.UUID) -> EducationAssignment:
    found = db.get(EducationAssignment, assignment_id)
    if found is None:
        raise NotFound(f"No education assignment with id {assignment_id}")
    return found


def _reads(db: Session, rows: Sequence[EducationAssignment]) -> list[AssignmentRead]:
    materials = {
        m.id: m
        for m in db.scalars(
            select(EducationMaterial).where(EducationMaterial.id.in_({r.material_id for r in rows}))
        )
    }
    plan_ids = {r.care_plan_id for r in rows if r.care_plan_id}
    plans: dict[uuid.UUID, str] = {}
    if plan_ids:
        for plan_id, title in db.execute(
            select(CarePlan.id, CarePlan.title).where(CarePlan.id.in_(plan_ids))
        ):
            plans[plan_id] = title
    return [
        AssignmentRead(
            id=r.id,
            patient_id=r.patient_id,
            material_id=r.material_id,
            material_title=materials[r.material_id].title,
            material_language=materials[r.material_id].language,
            care_plan_id=r.care_plan_id,
            care_plan_title=plans.get(r.care_plan_id) if r.care_plan_id else None,
            activity_id=r.activity_id,
            status=r.status,
            note=r.note,
            delivered_via=r.delivered_via,
            delivered_at=r.delivered_at,
            outbox_message_id=r.outbox_message_id,
            teach_back=r.teach_back,
            teach_back_note=r.teach_back_note,
            teach_back_on=r.teach_back_on,
            created_at=r.created_at,
            version=r.version,
        )
        for r in rows
    ]


def _read(db: Session, row: EducationAssignment) -> AssignmentRead:
    return _reads(db, [row])[0]


def for_patient(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[AssignmentRead]:
    """The patient's assignments, newest first (the read is audited)."""
    _live_patient(db, patient_id)
    record(db, actor, Action.READ, entity_type="EducationAssignment", patient_id=patient_id)
    rows = db.scalars(
        select(EducationAssignment)
        .where(EducationAssignment.patient_id == patient_id)
        .order_by(EducationAssignment.created_at.desc())
    ).all()
    return _reads(db, rows)


def for_plan(db: Session, care_plan_id: uuid.UUID) -> list[AssignmentRead]:
    """The assignments made under a care plan, for the plan page (whose read is audited)."""
    rows = db.scalars(
        select(EducationAssignment)
        .where(
            EducationAssignment.care_plan_id == care_plan_id,
            EducationAssignment.status != "cancelled",
        )
        .order_by(EducationAssignment.created_at)
    ).all()
    return _reads(db, rows)


def get_assignment(db: Session, actor: Actor, assignment_id: uuid.UUID) -> AssignmentRead:
    row = _assignment(db, assignment_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type="EducationAssignment",
        entity_id=row.id,
        patient_id=row.patient_id,
    )
    return _read(db, row)


def _audit(db: Session, actor: Actor, action: Action, row: EducationAssignment, why: str) -> None:
    record(
        db,
        actor,
        action,
        entity_type="EducationAssignment",
        entity_id=row.id,
        patient_id=row.patient_id,
        reason=why[:200],
    )


def assign(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: AssignmentCreate
) -> AssignmentRead:
    """Give a material to a patient; with a care plan, also add an education activity to the
    plan that links to the assignment."""
    patient = _live_patient(db, patient_id)
    if patient.status == "merged":
        raise Conflict("This chart was merged into another; assign education there.")
    m = db.get(EducationMaterial, data.material_id)
    if m is None or m.status != "active":
        raise ValidationFailed(
            f"No active education material with id {data.material_id}",
            fields={"material_id": "Choose a material from the library."},
        )
    plan: CarePlan | None = None
    if data.care_plan_id is not None:
        plan = db.get(CarePlan, data.care_plan_id)
        if plan is None or plan.patient_id != patient_id:
            raise ValidationFailed(
                f"Care plan {data.care_plan_id} is not this patient's",
                fields={"care_plan_id": "Choose one of this patient's care plans, or none."},
            )
    row = EducationAssignment(
        patient_id=patient_id,
        material_id=m.id,
        care_plan_id=plan.id if plan else None,
        status="assigned",
        note=data.note or None,
    )
    db.add(row)
    db.flush()
    if plan is not None:
        activity = careplans.add_activity(
            db,
            actor,
            plan.id,
            ActivityCreate(
                kind="education",
                description=f"Education: {m.title}"[:300],
                plain_words="Read this with your care team and tell it back in your own words.",
                status="not-started",
                link_type="education",
                link_id=row.id,
            ),
        )
        row.activity_id = activity.id
        db.flush()
    _audit(db, actor, Action.CREATE, row, f"assigned {m.title}")
    return _read(db, row)


def _move_activity(db: Session, actor: Actor, row: EducationAssignment, status: str) -> None:
    if row.activity_id is None:
        return
    activity = db.get(CarePlanActivity, row.activity_id)
    if activity is None or activity.status in ("completed", "cancelled", "stopped"):
        return
    if activity.status == status:
        return
    careplans.update_activity(
        db, actor, activity.id, ActivityUpdate(version=activity.version, status=status)
    )


def email_of(patient: Patient) -> str | None:
    if patient.email:
        return patient.email
    for t in patient.telecoms:
        if t.system == "email" and t.status == "active":
            return t.value
    return None


def email_text(material: EducationMaterial, patient: Patient, clinic: str) -> str:
    name = patient.preferred_name or patient.given_names.split()[0]
    hello = "Hola" if material.language == "es" else "Hello"
    closing = (
        "Si tiene preguntas, llame a su equipo de atención."
        if material.language == "es"
        else "If you have questions, call your care team."
    )
    return (
        f"{hello} {name},\n\n{material.title}\n\n"
        f"{readability.plain_text(material.body or '')}\n\n{closing}\n{clinic}\n"
    )


def deliver(
    db: Session,
    actor: Actor,
    assignment_id: uuid.UUID,
    data: Delivery,
    *,
    today: dt.date,
    clinic: str = "Carebridge",
) -> AssignmentRead:
    """Mark a material given on paper, or send it by email through the outbox. Email is
    refused, with the reason, when the patient has not agreed to email, has no email address,
    or the material is only a file."""
    row = _assignment(db, assignment_id)
    check_version("This assignment", row.version, data.version)
    if row.status == "cancelled":
        raise Conflict("This assignment was cancelled; assign the material again to send it.")
    patient = _live_patient(db, row.patient_id)
    m = _material(db, row.material_id)
    if data.via == "email":
        if not may_contact(db, patient.id, "email", today):
            raise ValidationFailed(
                "The patient has not agreed to be contacted by email; nothing was sent. "
                "Record their consent on the Contacts & consent tab, or print it.",
                fields={"via": "No email consent on file: print it, or record consent first."},
            )
        address = email_of(patient)
        if address is None:
            raise ValidationFailed(
                "The patient has no email address; nothing was sent.",
                fields={"via": "No email address on file: add one, or print it."},
            )
        if not m.body:
            raise ValidationFailed(
                "This material is a PDF only and can not go by email; print it instead.",
                fields={"via": "A PDF-only material is printed, not emailed."},
            )
        message = messaging.enqueue(
            db,
            channel="email",
            recipient=address,
            subject=m.title,
            body=email_text(m, patient, clinic),
            patient_id=patient.id,
            focus_type=FOCUS,
            focus_id=row.id,
        )
        row.outbox_message_id = message.id
    row.status = "delivered"
    row.delivered_via = data.via
    row.delivered_at = utcnow()
    db.flush()
    _move_activity(db, actor, row, "in-progress")
    _audit(db, actor, Action.UPDATE, row, f"delivered by {data.via}")
    return _read(db, row)


def teach_back(
    db: Session, actor: Actor, assignment_id: uuid.UUID, data: TeachBack, *, today: dt.date
) -> AssignmentRead:
    """Record how the teach-back went: understood (the care-plan activity is completed) or
    needs review (it stays in progress)."""
    row = _assignment(db, assignment_id)
    check_version("This assignment", row.version, data.version)
    if row.status == "cancelled":
        raise Conflict("This assignment was cancelled; no teach-back can be recorded.")
    on = data.on or today
    if on > today:
        raise ValidationFailed(
            f"The teach-back date {on} is in the future",
            fields={"on": "Use today or an earlier day."},
        )
    if data.result == "needs-review" and not data.note:
        raise ValidationFailed(
            "Say what needs review",
            fields={"note": "Write what the patient found hard, so the next talk can start there."},
        )
    row.teach_back = data.result
    row.teach_back_note = data.note or None
    row.teach_back_on = on
    row.teach_back_by = actor.user_id
    if row.status == "assigned":
        row.status = "delivered"
        row.delivered_via = row.delivered_via or "print"
        row.delivered_at = row.delivered_at or utcnow()
    db.flush()
    _move_activity(db, actor, row, "completed" if data.result == "understood" else "in-progress")
    _audit(db, actor, Action.UPDATE, row, f"teach-back {data.result}")
    return _read(db, row)


def printable(
    db: Session, actor: Actor, assignment_id: uuid.UUID
) -> tuple[AssignmentRead, MaterialRead]:
    row = _assignment(db, assignment_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type="EducationAssignment",
        entity_id=row.id,
        patient_id=row.patient_id,
        reason="printable page",
    )
    return _read(db, row), material_read(_material(db, row.material_id))


# --- plain-language terms ----------------------------------------------------------------------


def terms(q: str, limit: int = 20) -> TermResults:
    """Glossary entries and ICD-10-CM code descriptions for the words or code typed."""
    text = q.strip()[:100]
    return TermResults(
        q=text,
        glossary=[
            TermHit(kind="glossary", term=t.term, plain=t.plain, also=list(t.also))
            for t in glossary.search(text, limit)
        ],
        icd10=[
            TermHit(kind="icd10", term=c.code, plain=c.display)
            for c in terminology.search_icd10(text, limit)
        ],
    )
