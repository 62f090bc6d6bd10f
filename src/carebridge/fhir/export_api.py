"""Bulk Data export over HTTP, as the FHIR Bulk Data Access guide (v2) has it: kick-off
(``$export`` at system, Patient or Group level, ``Prefer: respond-async``) answers 202 with
``Content-Location``; polling that URL answers 202 with ``X-Progress`` until the manifest is
ready, then 200 with it; ``DELETE`` cancels; the files are NDJSON, downloaded with the same
token by the user who asked. Included before the resource routes: ``$export`` is not an id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from carebridge.fhir import export, store
from carebridge.fhir.capability import fhir_base
from carebridge.fhir.errors import FhirError
from carebridge.fhir.models import FhirExport
from carebridge.fhir.registry import definition_of
from carebridge.fhir.scopes import grant_of, may_read
from carebridge.fhir.search import date_range
from carebridge.security.audit import Action, Actor, record
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission, allows

router = APIRouter(prefix="/fhir/R4", tags=["fhir"])
# Exporting reads the clinical history of everyone in it.
Exporter = Annotated[Actor, Depends(Require(Permission.HISTORY_READ))]
NDJSON = "application/fhir+ndjson"
_FORMATS = frozenset((NDJSON, "application/ndjson", "ndjson"))
_PARAMS = frozenset(("_outputFormat", "_type", "_since", "_format"))


def _readable(request: Request, actor: Actor, kind: str) -> bool:
    found = definition_of(kind)
    return may_read(request, found is not None and allows(actor.role, found.read), kind)


def _kick_off(
    request: Request, db: Db, actor: Actor, level: str, about: str | None = None
) -> Response:
    """``about``: what the audit log names as exported (default: the level)."""
    if "respond-async" not in request.headers.get("prefer", ""):
        raise FhirError(
            400, "invalid", "$export runs asynchronously: send the header Prefer: respond-async"
        )
    grant = grant_of(request)
    if grant is not None and not any(s.context in ("user", "system") for s in grant.scopes):
        raise FhirError(403, "forbidden", "A bulk export needs system/ or user/ read scopes")
    pairs = dict(request.query_params.multi_items())
    unknown = sorted(set(pairs) - _PARAMS)
    if unknown:
        raise FhirError(400, "not-supported", f"$export does not support {', '.join(unknown)}")
    wanted_format = pairs.get("_outputFormat", NDJSON)
    if wanted_format not in _FORMATS:
        raise FhirError(400, "not-supported", f"_outputFormat {wanted_format}: NDJSON only")
    types = [t.strip() for t in pairs.get("_type", "").split(",") if t.strip()]
    strange = [t for t in types if definition_of(t) is None]
    if strange:
        raise FhirError(400, "invalid", f"_type: {', '.join(strange)} is not a type served here")
    since: datetime | None = None
    if pairs.get("_since"):
        since = date_range("_since", pairs["_since"].replace(" ", "+"))[0]
    started = export.start(
        db,
        level=level,
        types=types,
        since=since,
        requested_by=actor.user_id,
        request_url=str(request.url),
    )
    record(
        db,
        actor,
        Action.EXPORT,
        entity_type="BulkExport",
        entity_id=started.id,
        reason=f"FHIR $export ({about or level}; {', '.join(types) or 'every type'})",
    )
    db.commit()  # the thread must see it
    export.plan_in_background(
        request.app.state.sessionmaker, started.id, lambda kind: _readable(request, actor, kind)
    )
    location = f"{fhir_base(settings_of(request))}/$export-status/{started.id}"
    return Response(status_code=202, headers={"Content-Location": location})


@router.get("/$export", name="export (system)")
def export_system(request: Request, db: Db, actor: Exporter) -> Response:
    """Export every resource (the types the caller may read), as NDJSON files."""
    return _kick_off(request, db, actor, "system")


@router.get("/Patient/$export", name="export (patients)")
def export_patients(request: Request, db: Db, actor: Exporter) -> Response:
    """Export the records of every patient (their compartments), as NDJSON files."""
    return _kick_off(request, db, actor, "patient")


@router.get("/Group/{group_id}/$export", name="export (group)")
def export_group(request: Request, db: Db, actor: Exporter, group_id: str) -> Response:
    """Export the records of a Group's members (a coordinator's panel: their compartments),
    as NDJSON files."""
    if not _readable(request, actor, "Group"):
        raise FhirError(403, "forbidden", "Reading Group is not allowed to this token or role")
    found = store.read(db, "Group", group_id)
    if found is None or found.deleted:
        raise FhirError(404, "not-found", f"No Group with id {group_id}")
    return _kick_off(request, db, actor, "group", f"Group/{group_id}")


@router.get("/$export-status/{export_id}", name="export status")
def export_status(request: Request, db: Db, actor: Exporter, export_id: uuid.UUID) -> Response:
    """202 while the export is being prepared, then its manifest."""
    found = export.owned(db, export_id, actor.user_id)
    if found.status == "accepted":
        return Response(
            status_code=202, headers={"X-Progress": "planning the files", "Retry-After": "2"}
        )
    if found.status == "error":
        raise FhirError(500, "exception", f"The export failed: {found.error}")
    base = fhir_base(settings_of(request))
    manifest = {
        "transactionTime": found.transaction_time.isoformat().replace("+00:00", "Z"),
        "request": found.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": item["type"],
                "url": f"{base}/$export-file/{found.id}/{item['type']}/{item['part']}",
                "count": item["count"],
            }
            for item in found.manifest
        ],
        "error": [],
    }
    return Response(orjson.dumps(manifest), media_type="application/json")


@router.delete("/$export-status/{export_id}", name="cancel export")
def export_cancel(db: Db, actor: Exporter, export_id: uuid.UUID) -> Response:
    """Cancel the export (its files are gone)."""
    found = export.owned(db, export_id, actor.user_id)
    found.status = "cancelled"
    record(
        db, actor, Action.UPDATE, entity_type="BulkExport", entity_id=found.id, reason="cancelled"
    )
    return Response(status_code=202)


@router.get("/$export-file/{export_id}/{resource_type}/{part}", name="export file")
def export_file(
    request: Request,
    db: Db,
    actor: Exporter,
    export_id: uuid.UUID,
    resource_type: str,
    part: int,
) -> Response:
    """One NDJSON file of a finished export."""
    found = export.owned(db, export_id, actor.user_id)
    if found.status != "complete":
        raise FhirError(404, "not-found", f"Export {export_id} has no files yet")
    item = export.file_of(found, resource_type, part)
    record(
        db,
        actor,
        Action.EXPORT,
        entity_type="BulkExport",
        entity_id=found.id,
        reason=f"file {resource_type} {part} ({item['count']} resources)",
    )
    db.commit()
    factory = request.app.state.sessionmaker
    snapshot = {
        "id": found.id,
        "level": found.level,
        "since": found.since,
        "transaction_time": found.transaction_time,
        "request_url": found.request_url,  # names the Group of a group-level export
    }

    def body() -> Iterator[bytes]:
        # Its own connection: the request's session is closed once this handler returns.
        with factory() as session:
            again = FhirExport(**snapshot)
            yield from export.lines(session.connection(), again, item)

    return StreamingResponse(body(), media_type=NDJSON)
