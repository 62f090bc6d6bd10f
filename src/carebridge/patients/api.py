"""JSON API for patients under /api/v1/patients. Updates carry the record's ``version``;
reads return it as a weak ETag. A stale version is a 409 and nothing is saved."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from carebridge.patients import service, terminology
from carebridge.patients.schemas import (
    ContactConsentCreate,
    ContactConsentRead,
    DocumentRead,
    DuplicateCandidate,
    IdentifierIn,
    ItemStatusUpdate,
    PatientCreate,
    PatientRead,
    PatientSummary,
    PatientUpdate,
    RelatedPersonCreate,
    RelatedPersonRead,
    RelatedPersonUpdate,
    SharingConsentCreate,
    SharingConsentRead,
    SocialHistoryIn,
    VersionRead,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require
from carebridge.security.roles import Permission
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["patients"])
Reader = Annotated[Actor, Depends(Require(Permission.PATIENT_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.PATIENT_WRITE))]
HistoryReader = Annotated[Actor, Depends(Require(Permission.HISTORY_READ))]
HistoryWriter = Annotated[Actor, Depends(Require(Permission.HISTORY_WRITE))]
Merger = Annotated[Actor, Depends(Require(Permission.PATIENT_MERGE))]


class PatientPage(BaseModel):
    items: list[PatientSummary]
    has_more: bool
    offset: int
    limit: int


@router.get("/patients")
def search_patients(
    db: Db,
    actor: Reader,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Name, MRN, date, phone")],
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> PatientPage:
    found, more = service.search(db, actor, q, limit=limit, offset=offset)
    return PatientPage(items=found, has_more=more, offset=offset, limit=limit)


@router.post("/patients", status_code=201)
def register_patient(body: PatientCreate, db: Db, actor: Writer, response: Response) -> PatientRead:
    """Register a patient. 409 ``duplicate-suspected`` lists likely matches in
    ``candidates``; send ``duplicate_override_reason`` to register anyway."""
    patient = service.register(db, actor, body)
    response.headers["Location"] = f"/api/v1/patients/{patient.id}"
    set_etag(response, patient.version)
    return patient


@router.post("/patients/duplicates")
def check_duplicates(body: PatientCreate, db: Db, actor: Writer) -> list[DuplicateCandidate]:
    """The patients this registration would be checked against, with scores and reasons."""
    return service.find_duplicates(db, body)


@router.get("/patients/{patient_id}", response_model=PatientRead)
def read_patient(patient_id: uuid.UUID, db: Db, actor: Reader, response: Response) -> Any:
    patient = service.get(db, actor, patient_id)
    if patient.merged_into_id is not None:
        return RedirectResponse(f"/api/v1/patients/{patient.merged_into_id}", status_code=301)
    set_etag(response, patient.version)
    return patient


@router.patch("/patients/{patient_id}")
def update_patient(
    patient_id: uuid.UUID, body: PatientUpdate, db: Db, actor: Writer, response: Response
) -> PatientRead:
    patient = service.update_patient(db, actor, patient_id, body)
    set_etag(response, patient.version)
    return patient


class MergeIn(BaseModel):
    merged_id: uuid.UUID = Field(description="The duplicate chart to fold into this one")
    reason: str = Field(min_length=1, max_length=500)


@router.post("/patients/{patient_id}/merge")
def merge_patients(patient_id: uuid.UUID, body: MergeIn, db: Db, actor: Merger) -> PatientRead:
    return service.merge(db, actor, patient_id, body.merged_id, body.reason)


@router.post("/patients/{patient_id}/identifiers", status_code=201)
def add_identifier(patient_id: uuid.UUID, body: IdentifierIn, db: Db, actor: Writer) -> PatientRead:
    return service.add_identifier(db, actor, patient_id, body)


@router.post("/patients/{patient_id}/no-known-allergies")
def no_known_allergies(patient_id: uuid.UUID, db: Db, actor: HistoryWriter) -> PatientRead:
    return service.set_no_known_allergies(db, actor, patient_id)


@router.get("/patients/{patient_id}/related-persons")
def list_related(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[RelatedPersonRead]:
    return service.related_persons(db, actor, patient_id)


@router.post("/patients/{patient_id}/related-persons", status_code=201)
def add_related(
    patient_id: uuid.UUID, body: RelatedPersonCreate, db: Db, actor: Writer
) -> RelatedPersonRead:
    return service.add_related_person(db, actor, patient_id, body)


@router.patch("/patients/{patient_id}/related-persons/{person_id}")
def update_related(
    patient_id: uuid.UUID, person_id: uuid.UUID, body: RelatedPersonUpdate, db: Db, actor: Writer
) -> RelatedPersonRead:
    return service.update_related_person(db, actor, patient_id, person_id, body)


@router.get("/patients/{patient_id}/sharing-consents")
def list_sharing(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[SharingConsentRead]:
    return service.sharing_consents(db, actor, patient_id)


@router.post("/patients/{patient_id}/sharing-consents", status_code=201)
def add_sharing(
    patient_id: uuid.UUID, body: SharingConsentCreate, db: Db, actor: Writer
) -> SharingConsentRead:
    return service.add_sharing_consent(db, actor, patient_id, body)


class VersionIn(BaseModel):
    version: int


@router.post("/patients/{patient_id}/sharing-consents/{consent_id}/revoke")
def revoke_sharing(
    patient_id: uuid.UUID, consent_id: uuid.UUID, body: VersionIn, db: Db, actor: Writer
) -> SharingConsentRead:
    return service.revoke_sharing_consent(db, actor, patient_id, consent_id, body.version)


@router.get("/patients/{patient_id}/contact-consents")
def list_contact(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[ContactConsentRead]:
    return service.contact_consents(db, patient_id)


@router.post("/patients/{patient_id}/contact-consents", status_code=201)
def add_contact(
    patient_id: uuid.UUID, body: ContactConsentCreate, db: Db, actor: Writer
) -> ContactConsentRead:
    return service.record_contact_consent(db, actor, patient_id, body)


@router.post("/patients/{patient_id}/documents", status_code=201)
async def upload_document(
    patient_id: uuid.UUID,
    db: Db,
    actor: Writer,
    file: Annotated[UploadFile, File(description="PDF, PNG or JPEG, at most 5 MB")],
    title: Annotated[str, Form(max_length=200)] = "",
) -> DocumentRead:
    content = await file.read(service.MAX_DOCUMENT_BYTES + 1)
    return service.add_document(
        db,
        actor,
        patient_id,
        title=title or file.filename or "",
        content_type=file.content_type or "",
        content=content,
    )


@router.get("/patients/{patient_id}/documents/{document_id}")
def download_document(
    patient_id: uuid.UUID, document_id: uuid.UUID, db: Db, actor: Reader
) -> Response:
    meta, content = service.get_document(db, actor, patient_id, document_id)
    return Response(
        content,
        media_type=meta.content_type,
        headers={"content-disposition": f'attachment; filename="{meta.id}"'},
    )


def _history_routes(kind: str, schema: type[BaseModel]) -> None:
    """List, add and change the status of one kind of health-history entry."""

    def list_items(
        patient_id: uuid.UUID, db: Db, actor: HistoryReader, include_errors: bool = False
    ) -> list[dict[str, Any]]:
        return service.items(db, actor, patient_id, kind, include_errors)

    def add(patient_id: uuid.UUID, body: Any, db: Db, actor: HistoryWriter) -> dict[str, Any]:
        return service.add_item(db, actor, patient_id, kind, body)

    add.__annotations__["body"] = schema
    add.__name__ = f"add_{kind.replace('-', '_')}"

    def status(
        patient_id: uuid.UUID,
        item_id: uuid.UUID,
        body: ItemStatusUpdate,
        db: Db,
        actor: HistoryWriter,
    ) -> dict[str, Any]:
        return service.set_item_status(db, actor, patient_id, kind, item_id, body)

    path = f"/patients/{{patient_id}}/{kind}"
    router.get(path, name=f"list_{kind}")(list_items)
    router.post(path, status_code=201, name=f"add_{kind}")(add)
    router.post(f"{path}/{{item_id}}/status", name=f"status_{kind}")(status)


for _kind, (_model, _schema, _column) in service.KINDS.items():
    _history_routes(_kind, _schema)


@router.get("/patients/{patient_id}/social-history")
def read_social(patient_id: uuid.UUID, db: Db, actor: HistoryReader) -> dict[str, Any] | None:
    return service.read_social_history(db, actor, patient_id)


@router.put("/patients/{patient_id}/social-history")
def save_social(
    patient_id: uuid.UUID, body: SocialHistoryIn, db: Db, actor: HistoryWriter
) -> dict[str, Any]:
    return service.save_social_history(db, actor, patient_id, body)


@router.get("/patients/{patient_id}/timeline")
def patient_timeline(patient_id: uuid.UUID, db: Db, actor: HistoryReader) -> list[VersionRead]:
    return service.timeline(db, actor, patient_id)


class CodingOut(BaseModel):
    system: str
    code: str
    display: str


@router.get("/terminology/icd10")
def icd10_lookup(
    actor: Reader,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[CodingOut]:
    """Type-ahead for ICD-10-CM billable codes by code prefix or words."""
    return [
        CodingOut(system=c.system, code=c.code, display=c.display)
        for c in terminology.search_icd10(q, limit)
    ]
