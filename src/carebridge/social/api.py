"""The JSON API of social: the screening instruments, a patient's screenings (``POST`` scores
them and records the needs), and the needs with their status. A need changes with its
``version``; a stale one is a 409 and nothing is saved. An incomplete screening is a 422
naming each unanswered item (``fields``, and ``missing``: their linkIds)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.lib.errors import NotFound
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.social import instruments, service
from carebridge.social.schemas import (
    NeedRead,
    NeedStatus,
    NeedUpdate,
    RescreenRead,
    ScreeningCreate,
    ScreeningInError,
    ScreeningRead,
)
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["social"])
Reader = Annotated[Actor, Depends(Require(Permission.SCREENING_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.SCREENING_WRITE))]


def _zone(request: Request) -> str:
    return settings_of(request).timezone


def _instrument(found: instruments.Instrument) -> dict[str, Any]:
    return {
        "code": found.code,
        "title": found.title,
        "version": found.version,
        "loinc": found.loinc,
        "canonical": found.canonical,
        "allows_declines": found.allows_declines,
        "source": found.source,
        "items": [
            {
                "link_id": item.link_id,
                "text": item.text,
                "domain": item.domain,
                "multiple": item.multiple,
                "options": [
                    {"code": o.code, "display": o.display, "positive": o.positive, "score": o.score}
                    for o in item.options
                ],
            }
            for item in found.items
        ],
        "domains": [
            {
                "domain": rule.domain,
                "title": instruments.DOMAINS.get(rule.domain, rule.domain),
                "rule": rule.rule,
                "threshold": rule.threshold if rule.rule == "total" else None,
            }
            for rule in found.rules
        ],
    }


@router.get("/screening-instruments")
def list_instruments(actor: Reader) -> list[dict[str, Any]]:
    """The instruments a patient can be screened with: items, answer options, scoring."""
    return [_instrument(i) for i in instruments.INSTRUMENTS.values()]


@router.get("/screening-instruments/{code}")
def read_instrument(code: str, actor: Reader) -> dict[str, Any]:
    found = instruments.get(code)
    if found is None:
        raise NotFound(f"No screening instrument “{code}”")
    return _instrument(found)


@router.get("/patients/{patient_id}/screenings")
def list_screenings(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[ScreeningRead]:
    """The patient's screenings, newest first."""
    return service.for_patient(db, actor, patient_id)


@router.post("/patients/{patient_id}/screenings", status_code=201)
def create_screening(
    patient_id: uuid.UUID,
    body: ScreeningCreate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> ScreeningRead:
    """Screen a patient: scored, and each positive domain recorded as an open need. 422
    names each unanswered or invalid item; nothing is saved then."""
    screening = service.create(db, actor, patient_id, body, _zone(request))
    response.headers["Location"] = f"/api/v1/screenings/{screening.id}"
    return screening


@router.get("/screenings/{screening_id}")
def read_screening(screening_id: uuid.UUID, db: Db, actor: Reader) -> ScreeningRead:
    return service.get(db, actor, screening_id)


@router.post("/screenings/{screening_id}/entered-in-error")
def mark_screening_in_error(
    screening_id: uuid.UUID,
    body: ScreeningInError,
    request: Request,
    db: Db,
    actor: Writer,
) -> ScreeningRead:
    """A screening recorded by mistake: kept, marked entered in error with the reason; the
    needs it found that are still open end with it. 409 for a stale ``version``."""
    return service.mark_in_error(db, actor, screening_id, body, _zone(request))


@router.get("/patients/{patient_id}/rescreen")
def read_rescreen(patient_id: uuid.UUID, request: Request, db: Db, actor: Reader) -> RescreenRead:
    """When the patient is next due to be screened."""
    return service.rescreen(db, patient_id, _zone(request), actor)


@router.get("/patients/{patient_id}/social-needs")
def list_needs(
    patient_id: uuid.UUID,
    db: Db,
    actor: Reader,
    status: Annotated[NeedStatus | None, Query(description="Default: every status")] = None,
) -> list[NeedRead]:
    """The patient's needs, open ones first."""
    return service.needs(db, actor, patient_id, status)


@router.patch("/social-needs/{need_id}")
def update_need(
    need_id: uuid.UUID,
    body: NeedUpdate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> NeedRead:
    """Mark a need addressed or declined (closed today), or open again."""
    need = service.update_need(db, actor, need_id, body, _zone(request))
    set_etag(response, need.version)
    return need
