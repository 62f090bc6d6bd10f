"""The JSON API of education under /api/v1: the library (list, read, add), suggestions for a
patient, assignments (create, deliver, teach-back) and the plain-language term search.
Changes carry the record's ``version``; a stale one is a 409 and nothing is saved."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.education import service
from carebridge.education.schemas import (
    AssignmentCreate,
    AssignmentRead,
    Audience,
    Delivery,
    Language,
    MaterialCreate,
    MaterialRead,
    Suggestion,
    TeachBack,
    TermResults,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import clinic_today, set_etag

router = APIRouter(prefix="/api/v1", tags=["education"])
Reader = Annotated[Actor, Depends(Require(Permission.EDUCATION_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.EDUCATION_WRITE))]


@router.get("/education/materials")
def list_materials(
    db: Db,
    actor: Reader,
    q: Annotated[str, Query(max_length=100, description="Words in the title or text")] = "",
    tag: Annotated[str, Query(max_length=16, description="ICD-10-CM prefix, e.g. E11")] = "",
    language: Language | None = None,
    audience: Audience | None = None,
    flagged: Annotated[bool, Query(description="Only those above reading grade 6")] = False,
) -> list[MaterialRead]:
    """The library (at most 200), by title."""
    found = service.search(db, q, tag=tag or None, language=language, flagged_only=flagged)
    return [m for m in found if audience is None or m.audience == audience]


@router.post("/education/materials", status_code=201)
def create_material(
    body: MaterialCreate, response: Response, db: Db, actor: Writer
) -> MaterialRead:
    """Add a text material; its reading grade is computed (above 6 is flagged). PDFs are
    uploaded on the library screen."""
    material = service.create_material(db, actor, body)
    response.headers["Location"] = f"/api/v1/education/materials/{material.id}"
    set_etag(response, material.version)
    return material


@router.get("/education/materials/{material_id}")
def read_material(
    material_id: uuid.UUID, response: Response, db: Db, actor: Reader
) -> MaterialRead:
    material = service.get(db, material_id)
    set_etag(response, material.version)
    return material


@router.get("/patients/{patient_id}/education/suggestions")
def patient_suggestions(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[Suggestion]:
    """Materials matching the patient's problems and care plans, not yet assigned; the
    patient's preferred language first."""
    return service.suggestions(db, actor, patient_id)


@router.get("/patients/{patient_id}/education/assignments")
def patient_assignments(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[AssignmentRead]:
    return service.for_patient(db, actor, patient_id)


@router.post("/patients/{patient_id}/education/assignments", status_code=201)
def create_assignment(
    patient_id: uuid.UUID, body: AssignmentCreate, response: Response, db: Db, actor: Writer
) -> AssignmentRead:
    """Assign a material; with ``care_plan_id`` an education activity is added to the plan."""
    found = service.assign(db, actor, patient_id, body)
    response.headers["Location"] = f"/api/v1/education/assignments/{found.id}"
    set_etag(response, found.version)
    return found


@router.get("/education/assignments/{assignment_id}")
def read_assignment(
    assignment_id: uuid.UUID, response: Response, db: Db, actor: Reader
) -> AssignmentRead:
    found = service.get_assignment(db, actor, assignment_id)
    set_etag(response, found.version)
    return found


@router.post("/education/assignments/{assignment_id}/deliver")
def deliver_assignment(
    assignment_id: uuid.UUID,
    body: Delivery,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> AssignmentRead:
    """Deliver by print (recorded) or email (through the outbox). Email without the patient's
    email consent is refused with 422 and the reason; nothing is sent."""
    found = service.deliver(
        db,
        actor,
        assignment_id,
        body,
        today=clinic_today(request),
        clinic=settings_of(request).clinic_name,
    )
    set_etag(response, found.version)
    return found


@router.post("/education/assignments/{assignment_id}/teach-back")
def record_teach_back(
    assignment_id: uuid.UUID,
    body: TeachBack,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> AssignmentRead:
    """Record the teach-back: understood (the care-plan activity completes) or needs review
    (a note saying what is required)."""
    found = service.teach_back(db, actor, assignment_id, body, today=clinic_today(request))
    set_etag(response, found.version)
    return found


@router.get("/education/terms")
def search_terms(
    actor: Reader,
    q: Annotated[str, Query(max_length=100, description="A word or an ICD-10-CM code")] = "",
) -> TermResults:
    """Plain-language glossary entries and ICD-10-CM code descriptions."""
    return service.terms(q)
