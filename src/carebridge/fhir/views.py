"""The chart's "Imported records" tab: what other systems sent about the patient (kept as
received by ``carebridge fhir import``), newest first, by type, each readable in words and
in full."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.fhir.describe import Described, describe, kind_words
from carebridge.fhir.models import FhirResource, FhirSourceId
from carebridge.lib.errors import NotFound
from carebridge.patients import views as chart_views
from carebridge.security.audit import Action, Actor, record
from carebridge.security.deps import Db, Require
from carebridge.security.roles import Permission

router = APIRouter(include_in_schema=False)  # pages, not API
Reader = Annotated[Actor, Depends(Require(Permission.HISTORY_READ))]
TAB = "imported"
PAGE = 50


@dataclass(frozen=True)
class Row:
    resource_type: str
    id: str
    when: datetime | None
    status: str | None
    said: Described


def _received(patient_id: uuid.UUID) -> list[Any]:
    return [
        FhirResource.patient_id == patient_id,
        FhirResource.origin == "received",
        FhirResource.deleted.is_(False),
    ]


def _sent_charts(db: Session, patient_id: uuid.UUID) -> list[tuple[str, bytes]]:
    """(sender, the Patient as they sent it) for each import this chart came from."""
    rows = db.execute(
        select(FhirSourceId.namespace, FhirSourceId.original)
        .join(FhirResource, FhirResource.pk == FhirSourceId.resource_pk)
        .where(
            FhirResource.resource_type == "Patient",
            FhirResource.patient_id == patient_id,
            FhirSourceId.original.is_not(None),
        )
        .order_by(FhirSourceId.namespace)
    )
    return [(sender, original) for sender, original in rows if original is not None]


def _kinds(db: Session, patient_id: uuid.UUID) -> list[tuple[str, int]]:
    rows = db.execute(
        select(FhirResource.resource_type, func.count())
        .where(*_received(patient_id))
        .group_by(FhirResource.resource_type)
        .order_by(FhirResource.resource_type)
    )
    return [(kind, count) for kind, count in rows]


@router.get("/patients/{patient_id}/imported")
def imported(
    request: Request,
    db: Db,
    actor: Reader,
    patient_id: uuid.UUID,
    kind: Annotated[str | None, Query(alias="type", max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/imported")
    if isinstance(chart, Response):
        return chart
    kinds = _kinds(db, patient_id)
    where = _received(patient_id)
    if kind:
        where.append(FhirResource.resource_type == kind)
    found = db.execute(
        select(
            FhirResource.resource_type,
            FhirResource.id,
            FhirResource.date_start,
            FhirResource.status,
            FhirResource.content,
        )
        .where(*where)
        .order_by(FhirResource.date_start.desc().nulls_last(), FhirResource.pk.desc())
        .offset((page - 1) * PAGE)
        .limit(PAGE + 1)
    ).all()
    rows = [
        Row(r.resource_type, r.id, r.date_start, r.status, describe(orjson.loads(r.content)))
        for r in found[:PAGE]
    ]
    return chart_views.chart_page(
        request,
        "fhir/imported.html",
        chart,
        {
            "kinds": [(k, kind_words(k), n) for k, n in kinds],
            "kind": kind,
            "rows": rows,
            "page": page,
            "more": len(found) > PAGE,
            "total": sum(n for _k, n in kinds),
            "senders": [sender for sender, _sent in _sent_charts(db, patient_id)],
        },
        tab=TAB,
    )


@router.get("/patients/{patient_id}/imported/sent/{sender}")
def sent_chart(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, sender: str
) -> Response:
    """The Patient a sender's import made this chart from (or matched it to), as sent."""
    chart = chart_views.open_chart(request, db, actor, patient_id, "/imported")
    if isinstance(chart, Response):
        return chart
    found = dict(_sent_charts(db, patient_id)).get(sender)
    if found is None:
        raise NotFound(f"No patient record from {sender} on this chart")
    record(
        db,
        actor,
        Action.READ,
        entity_type="Patient",
        entity_id=str(patient_id),
        patient_id=patient_id,
        reason=f"patient record as sent by {sender} opened",
    )
    pretty = json.dumps(orjson.loads(found), indent=2, ensure_ascii=False)
    return chart_views.chart_page(
        request, "fhir/sent_chart.html", chart, {"sender": sender, "pretty": pretty}, tab=TAB
    )


@router.get("/patients/{patient_id}/imported/{resource_type}/{resource_id}")
def imported_one(
    request: Request,
    db: Db,
    actor: Reader,
    patient_id: uuid.UUID,
    resource_type: str,
    resource_id: str,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/imported")
    if isinstance(chart, Response):
        return chart
    found = db.execute(
        select(FhirResource).where(
            *_received(patient_id),
            FhirResource.resource_type == resource_type,
            FhirResource.id == resource_id,
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"This chart has no imported {resource_type} {resource_id}")
    record(
        db,
        actor,
        Action.READ,
        entity_type=resource_type,
        entity_id=resource_id,
        patient_id=patient_id,
        reason="imported record opened",
    )
    sources = db.scalars(
        select(FhirSourceId.namespace).where(FhirSourceId.resource_pk == found.pk).distinct()
    ).all()
    resource = orjson.loads(found.content)
    return chart_views.chart_page(
        request,
        "fhir/imported_one.html",
        chart,
        {
            "item": found,
            "said": describe(resource),
            "sources": sources,
            "pretty": json.dumps(resource, indent=2, ensure_ascii=False),
        },
        tab=TAB,
    )
