"""A prescribed medication on the chart's medication list as a US Core MedicationRequest.

The chart keeps one row per medication; one that names a prescriber is an order as well as a
statement, so the same row is served twice under its own id: as the MedicationStatement (what
the patient takes) and, here, as the MedicationRequest (what was prescribed). A row without a
prescriber is not an order and gives no MedicationRequest.

Choices where R4 and the record do not meet:

- The prescriber is a name, not a Practitioner: ``requester`` is a reference with a display
  only, which is what US Core's us-core-21 (a requester for an order) asks for.
- Carebridge records orders written elsewhere; it does not write them. Every request is
  therefore ``reported``: by the patient (``reportedReference`` to them) when the patient told
  us, otherwise ``reportedBoolean``.
- Statuses: ``intended`` (prescribed, not started yet) is an ``active`` order; ``not-taken``
  says what the patient did, not what became of the order, so the order's status is
  ``unknown``.
- The route is coded (SNOMED CT) only when its words are one of the routes named in
  ``ROUTES``; otherwise it stays text. The dose and frequency stay text (``dosageInstruction``
  ``text``), the start and stop dates bound the regimen (``timing.repeat.boundsPeriod``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from carebridge.fhir.mappers.elements import (
    coding_of,
    prune,
)
from carebridge.fhir.mappers.patients import (
    SNOMED,
)
from carebridge.patients.models import Medication
from carebridge.patients.terminology import RXNORM

MEDICATION_REQUEST_PROFILE = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-medicationrequest"
)

# The chart's medication statuses (patients.codes.MedicationStatus) as the order's status.
REQUEST_STATUS = {
    "active": "active",
    "intended": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "stopped": "stopped",
    "not-taken": "unknown",
    "entered-in-error": "entered-in-error",
}

# SNOMED CT route-of-administration qualifiers, by the words a chart uses for them.
ROUTES = {
    "oral": ("26643006", "Oral route"),
    "by mouth": ("26643006", "Oral route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "intravenous": ("47625008", "Intravenous route"),
    "intramuscular": ("78421000", "Intramuscular route"),
    "sublingual": ("37839007", "Sublingual route"),
    "buccal": ("54471007", "Buccal route"),
    "topical": ("6064005", "Topical route"),
    "transdermal": ("45890007", "Transdermal route"),
    "nasal": ("46713006", "Nasal route"),
    "ophthalmic": ("54485002", "Ophthalmic route"),
    "otic": ("10547007", "Otic route"),
    "rectal": ("37161004", "Per rectum"),
    "vaginal": ("16857009", "Per vagina"),
}


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def route_concept(route: str | None) -> dict[str, Any] | None:
    """The route as written, with its SNOMED CT code when the words name one."""
    if not route:
        return None
    known = ROUTES.get(" ".join(route.lower().split()))
    return {"coding": [coding_of(SNOMED, *known)] if known else None, "text": route}


def _dosage(item: Medication) -> list[dict[str, Any]]:
    text = " ".join(part for part in (item.dose, item.route, item.frequency) if part)
    bounds = {"start": _day(item.start_date), "end": _day(item.stop_date)}
    return [
        {
            "text": text,
            "timing": {"repeat": {"boundsPeriod": bounds}},
            "route": route_concept(item.route),
        }
    ]


def medication_request_to_fhir(item: Medication) -> dict[str, Any] | None:
    """The order a prescribed medication stands for; None when no prescriber is named."""
    if not item.prescriber:
        return None
    medication: dict[str, Any] = {"text": item.name}
    if item.rxnorm:
        medication["coding"] = [coding_of(RXNORM, item.rxnorm, item.name)]
    patient = {"reference": f"Patient/{item.patient_id}"}
    by_patient = item.source == "reported"
    resource = {
        "resourceType": "MedicationRequest",
        "id": str(item.id),
        "meta": {"profile": [MEDICATION_REQUEST_PROFILE]},
        "status": REQUEST_STATUS.get(item.status, "unknown"),
        "intent": "order",
        "reportedBoolean": None if by_patient else True,
        "reportedReference": patient if by_patient else None,
        "medicationCodeableConcept": medication,
        "subject": patient,
        "authoredOn": _day(item.start_date),
        "requester": {"display": item.prescriber},
        "reasonCode": [{"text": item.reason}] if item.reason else None,
        "note": [{"text": item.note}] if item.note else None,
        "dosageInstruction": _dosage(item),
    }
    return cast(dict[str, Any], prune(resource))
