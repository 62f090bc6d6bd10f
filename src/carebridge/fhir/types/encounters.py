"""Encounter, from the hospital stays and visits the ADT feed reports."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.encounters import encounter_to_fhir
from carebridge.fhir.mapping import US_CORE, Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.security.roles import Permission
from carebridge.transitions.models import Encounter

ENCOUNTER = ResourceDef(
    "Encounter",
    Permission.TRANSITION_READ,
    profile=US_CORE + "us-core-encounter",
    params=params(
        SearchParam("patient", "reference", ("subject",), ("Patient",)),
        SearchParam("subject", "reference", ("subject",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("class", "token", ("class",)),
        SearchParam("type", "token", ("type",)),
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("reason-code", "token", ("reasonCode",)),
        SearchParam("participant-type", "token", ("participant.type",)),
        SearchParam("date", "date", ("period",)),
    ),
    summary=(
        "identifier",
        "status",
        "class",
        "type",
        "serviceType",
        "subject",
        "participant",
        "period",
        "reasonCode",
    ),
)


def _encounters(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for stay in db.scalars(select(Encounter).where(Encounter.id.in_(ids))):
        resource = encounter_to_fhir(stay)
        base = Index(patient_id=stay.patient_id, status=stay.status)
        yield resource, extract(resource, ENCOUNTER.params, base)


def _feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Encounter):
        yield obj.id


TYPES = (Projection(ENCOUNTER, _encounters, _feeds, Encounter.id),)
