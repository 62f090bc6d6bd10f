"""MedicationRequest: the prescribed medications on the chart's medication list (a row naming
its prescriber), each under the row's id. MedicationRequests received from elsewhere (a
Synthea import, a client's POST) are kept in the same type as they were sent, found by the
same search and written through FHIR as before."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.medication_requests import (
    MEDICATION_REQUEST_PROFILE,
    medication_request_to_fhir,
)
from carebridge.fhir.mapping import Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.fhir.types.observations import withdrawn
from carebridge.patients.models import Medication
from carebridge.security.roles import Permission

MEDICATION_REQUEST = ResourceDef(
    "MedicationRequest",
    Permission.HISTORY_READ,
    None,  # no writer: what is sent is kept as received; ours are changed on the chart
    MEDICATION_REQUEST_PROFILE,
    params(
        SearchParam("patient", "reference", ("subject",), ("Patient",)),
        SearchParam("subject", "reference", ("subject",), ("Patient", "Group")),
        SearchParam("encounter", "reference", ("encounter",), ("Encounter",)),
        SearchParam("requester", "reference", ("requester",)),
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("intent", "token", ("intent",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("code", "token", ("medicationCodeableConcept",)),
        SearchParam("authoredon", "date", ("authoredOn",)),
    ),
    summary=(
        "identifier",
        "status",
        "intent",
        "priority",
        "doNotPerform",
        "reportedBoolean",
        "reportedReference",
        "medicationCodeableConcept",
        "medicationReference",
        "subject",
        "encounter",
        "authoredOn",
        "requester",
    ),
)


def _medication_requests(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """The prescribed among the medications ``ids``; one whose prescriber was removed is no
    longer an order and is withdrawn."""
    unordered = []
    for item in db.scalars(select(Medication).where(Medication.id.in_(ids))):
        resource = medication_request_to_fhir(item)
        if resource is None:
            unordered.append(item.id)
            continue
        base = Index(patient_id=item.patient_id, status=resource["status"])
        yield resource, extract(resource, MEDICATION_REQUEST.params, base)
    yield from withdrawn(db, MEDICATION_REQUEST.type, unordered, MEDICATION_REQUEST.params)


def _medication_request_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Medication):
        yield obj.id


TYPES = (
    Projection(MEDICATION_REQUEST, _medication_requests, _medication_request_feeds, Medication.id),
)
