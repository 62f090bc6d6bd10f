"""The JSON API of community resources under /api/v1: search the directory, import HSDS data,
suggest services for a patient's open needs, and make and confirm community referrals.

An organization confirms a referral with ``POST /community-referrals/{id}/confirmation``
(its API token's user needs the referral-write permission); a stale version is a 409."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from carebridge.community import importer, search, service
from carebridge.community.codes import NEEDS
from carebridge.community.schemas import (
    CommunityReferralCreate,
    CommunityReferralRead,
    Confirmation,
    ImportResult,
    NeedsUpdate,
    ServiceRead,
)
from carebridge.lib.errors import ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["community"])
Reader = Annotated[Actor, Depends(Require(Permission.RESOURCES_READ))]
Manager = Annotated[Actor, Depends(Require(Permission.RESOURCES_MANAGE))]
ReferralReader = Annotated[Actor, Depends(Require(Permission.REFERRAL_READ))]
ReferralWriter = Annotated[Actor, Depends(Require(Permission.REFERRAL_WRITE))]
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _zone(request: Request) -> str:
    return settings_of(request).timezone


def when_of(zone: str, open_now: bool, day: int | None, at: dt.time | None) -> search.When | None:
    """Open now (in the clinic's time zone), or open on ``day`` at ``at``."""
    if open_now:
        return search.When.at(utcnow().astimezone(ZoneInfo(zone)))
    if day is None and at is None:
        return None
    if day is None or at is None:
        raise ValidationFailed(
            "To find services open at a time, give both the day and the time.",
            fields={"day" if day is None else "time": "Give the day and the time together."},
        )
    return search.When(day, at.replace(second=0, microsecond=0))


def point_of(
    db: Db, lat: float | None, lon: float | None, location_id: uuid.UUID | None
) -> search.Point | None:
    if location_id is not None:
        return search.point_of(db, location_id)
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise ValidationFailed(
            "To sort by distance, give both latitude and longitude.",
            fields={"lat" if lat is None else "lon": "Give latitude and longitude together."},
        )
    return search.Point(lat, lon)


@router.get("/resources")
def search_resources(
    request: Request,
    db: Db,
    actor: Reader,
    need: Annotated[
        str | None,
        Query(description="A need domain", json_schema_extra={"enum": list(NEEDS)}),
    ] = None,
    q: Annotated[str, Query(max_length=100, description="Words in the name or description")] = "",
    language: Annotated[str | None, Query(max_length=16, description="ISO 639-1, e.g. es")] = None,
    open_now: bool = False,
    day: Annotated[int | None, Query(ge=1, le=7, description="1 = Monday ... 7 = Sunday")] = None,
    time: Annotated[dt.time | None, Query(description="Local time, e.g. 10:30")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    near_location: Annotated[
        uuid.UUID | None, Query(description="Measure distance from this directory location")
    ] = None,
    within_km: Annotated[float | None, Query(gt=0, le=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = search.LIMIT,
) -> list[ServiceRead]:
    """Active services matching every filter; nearest first when a point is given."""
    if need is not None and need not in NEEDS:
        raise ValidationFailed(
            f"Unknown need '{need}'; use one of {', '.join(NEEDS)}.",
            fields={"need": "Choose a need domain from the list."},
        )
    near = point_of(db, lat, lon, near_location)
    if within_km is not None and near is None:
        raise ValidationFailed(
            "A distance limit needs a point: give lat and lon, or near_location.",
            fields={"within_km": "Give a point to measure from."},
        )
    hits = search.search(
        db,
        need=need,
        q=q,
        language=language,
        open_at=when_of(_zone(request), open_now, day, time),
        near=near,
        within_km=within_km,
        limit=limit,
    )
    return [ServiceRead.of(hit) for hit in hits]


@router.get("/resources/{service_id}")
def read_resource(service_id: uuid.UUID, db: Db, actor: Reader) -> ServiceRead:
    return ServiceRead.of(search.one(db, service_id))


@router.put("/resources/{service_id}/needs")
def set_needs(
    service_id: uuid.UUID, body: NeedsUpdate, response: Response, db: Db, actor: Manager
) -> ServiceRead:
    """Set the need domains a service meets by hand; later imports leave them."""
    row = service.set_needs(db, actor, service_id, body)
    set_etag(response, row.version)
    return ServiceRead.of(search.one(db, service_id))


@router.post("/resources/import")
async def import_resources(
    db: Db,
    actor: Manager,
    files: Annotated[
        list[UploadFile],
        File(description="HSDS CSV files, a zip of them, or one HSDS 3.0 JSON file"),
    ],
) -> ImportResult:
    """Import HSDS data. Any missing required field: 422 listing every problem (file, line,
    field) and nothing imported. A re-import updates records by their HSDS id."""
    found: dict[str, bytes] = {}
    total = 0
    for upload in files:
        body = await upload.read(MAX_IMPORT_BYTES + 1)
        total += len(body)
        if total > MAX_IMPORT_BYTES:
            raise ValidationFailed(
                "The files are larger than 20 MB together; import them in parts.",
                fields={"files": "At most 20 MB at a time."},
            )
        found[upload.filename or f"upload-{len(found) + 1}.csv"] = body
    with db.begin_nested():
        summary = importer.import_files(db, actor, found)
    return result_of(summary)


def result_of(summary: importer.ImportSummary) -> ImportResult:
    return ImportResult(
        files=summary.files,
        created=summary.created,
        updated=summary.updated,
        skipped_schedules=summary.skipped_schedules,
        summary=summary.words(),
    )


@router.get("/patients/{patient_id}/resource-suggestions")
def patient_suggestions(
    patient_id: uuid.UUID,
    db: Db,
    actor: Reader,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    near_location: uuid.UUID | None = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, list[ServiceRead]]:
    """Services for each of the patient's open social needs, by need domain."""
    near = point_of(db, lat, lon, near_location)
    found = service.suggestions(db, actor, patient_id, near=near, language=language)
    return {s.need: [ServiceRead.of(hit) for hit in s.services] for s in found}


@router.get("/patients/{patient_id}/community-referrals")
def patient_community_referrals(
    request: Request, patient_id: uuid.UUID, db: Db, actor: ReferralReader
) -> list[CommunityReferralRead]:
    return service.for_patient(db, actor, patient_id, _zone(request))


@router.post("/patients/{patient_id}/community-referrals", status_code=201)
def make_community_referral(
    request: Request,
    patient_id: uuid.UUID,
    body: CommunityReferralCreate,
    response: Response,
    db: Db,
    actor: ReferralWriter,
) -> CommunityReferralRead:
    """Refer the patient to a community service: the referral is made and sent at once."""
    made = service.refer(db, actor, patient_id, body, _zone(request))
    response.headers["Location"] = f"/api/v1/community-referrals/{made.referral.id}"
    set_etag(response, made.referral.version)
    return made


@router.get("/community-referrals/{referral_id}")
def read_community_referral(
    request: Request, referral_id: uuid.UUID, response: Response, db: Db, actor: ReferralReader
) -> CommunityReferralRead:
    found = service.read(db, actor, referral_id, _zone(request))
    set_etag(response, found.referral.version)
    return found


@router.post("/community-referrals/{referral_id}/confirmation")
def confirm_community_referral(
    request: Request,
    referral_id: uuid.UUID,
    body: Confirmation,
    response: Response,
    db: Db,
    actor: ReferralWriter,
) -> CommunityReferralRead:
    """The organization confirms it took the patient on: the referral's loop closes."""
    found = service.confirm(db, actor, referral_id, body, _zone(request), via="api")
    set_etag(response, found.referral.version)
    return found
