"""The demo's records from elsewhere: what the county hospital and the state immunization
registry sent about some demo patients, imported through the real importer (one Bundle per
sender and patient), so the chart's Imported records tab opens populated.

Made up, fixed by the seed: flu and COVID-19 shots, hemoglobin A1c and blood pressure
results, a hospital emergency visit with its lab report, and the payer's explanation of
benefits for it. Codes are real (CVX, LOINC, SNOMED CT, ICD-10-CM).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.fhir.imports import Entry, Summary, import_entries
from carebridge.fhir.models import FhirSourceId
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor

HOSPITAL = "county-hospital"
REGISTRY = "state-iis"
_NS = uuid.UUID("9b8f2f57-3c2e-4f39-9d8e-6a0f0c3b1e21")  # stable ids for the same seed

_VACCINES = (
    ("140", "Influenza, seasonal, injectable, preservative free"),
    ("213", "SARS-COV-2 (COVID-19) vaccine, UNSPECIFIED FORMULATION"),
    ("115", "Tdap"),
)


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _immunizations(patient: str, rng: random.Random, today: dt.date) -> list[dict[str, Any]]:
    shots = []
    for n, (code, name) in enumerate(_VACCINES[: rng.randint(1, 3)]):
        day = today - dt.timedelta(days=rng.randint(30, 900))
        shots.append(
            {
                "resourceType": "Immunization",
                "id": _id(patient, "imm", n),
                "status": "completed",
                "vaccineCode": _coding("http://hl7.org/fhir/sid/cvx", code, name),
                "patient": {"reference": f"Patient/{patient}"},
                "occurrenceDateTime": day.isoformat(),
                "primarySource": False,
                "reportOrigin": _coding(
                    "http://terminology.hl7.org/CodeSystem/immunization-origin",
                    "record",
                    "Written Record",
                ),
            }
        )
    return shots


def _hospital(patient: str, rng: random.Random, today: dt.date) -> list[dict[str, Any]]:
    visit = _id(patient, "enc")
    day = today - dt.timedelta(days=rng.randint(20, 200))
    start = dt.datetime.combine(day, dt.time(14, 5), tzinfo=dt.UTC)
    a1c = round(rng.uniform(6.1, 9.8), 1)
    systolic, diastolic = rng.randint(118, 168), rng.randint(72, 98)
    subject = {"reference": f"Patient/{patient}"}
    results = [
        {
            "resourceType": "Observation",
            "id": _id(patient, "a1c"),
            "status": "final",
            "category": [
                _coding(
                    "http://terminology.hl7.org/CodeSystem/observation-category",
                    "laboratory",
                    "Laboratory",
                )
            ],
            "code": _coding(
                "http://loinc.org", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"
            ),
            "subject": subject,
            "encounter": {"reference": f"Encounter/{visit}"},
            "effectiveDateTime": (start + dt.timedelta(hours=1)).isoformat(),
            "valueQuantity": {
                "value": a1c,
                "unit": "%",
                "system": "http://unitsofmeasure.org",
                "code": "%",
            },
        },
        {
            "resourceType": "Observation",
            "id": _id(patient, "bp"),
            "status": "final",
            "category": [
                _coding(
                    "http://terminology.hl7.org/CodeSystem/observation-category",
                    "vital-signs",
                    "Vital Signs",
                )
            ],
            "code": _coding("http://loinc.org", "85354-9", "Blood pressure panel"),
            "subject": subject,
            "encounter": {"reference": f"Encounter/{visit}"},
            "effectiveDateTime": (start + dt.timedelta(minutes=10)).isoformat(),
            "component": [
                {
                    "code": _coding("http://loinc.org", "8480-6", "Systolic blood pressure"),
                    "valueQuantity": {"value": systolic, "unit": "mm[Hg]"},
                },
                {
                    "code": _coding("http://loinc.org", "8462-4", "Diastolic blood pressure"),
                    "valueQuantity": {"value": diastolic, "unit": "mm[Hg]"},
                },
            ],
        },
    ]
    report = {
        "resourceType": "DiagnosticReport",
        "id": _id(patient, "report"),
        "status": "final",
        "code": _coding("http://loinc.org", "24323-8", "Comprehensive metabolic panel"),
        "subject": subject,
        "encounter": {"reference": f"Encounter/{visit}"},
        "effectiveDateTime": (start + dt.timedelta(hours=1)).isoformat(),
        "result": [{"reference": f"Observation/{_id(patient, 'a1c')}"}],
    }
    encounter = {
        "resourceType": "Encounter",
        "id": visit,
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "EMER",
            "display": "emergency",
        },
        "type": [_coding("http://snomed.info/sct", "50849002", "Emergency room admission")],
        "subject": subject,
        "period": {"start": start.isoformat(), "end": (start + dt.timedelta(hours=5)).isoformat()},
        "reasonCode": [
            _coding("http://hl7.org/fhir/sid/icd-10-cm", "R07.9", "Chest pain, unspecified")
        ],
    }
    total = float(rng.choice((1840, 2260, 3125)))
    benefit = {
        "resourceType": "ExplanationOfBenefit",
        "id": _id(patient, "eob"),
        "status": "active",
        "type": _coding(
            "http://terminology.hl7.org/CodeSystem/claim-type", "institutional", "Institutional"
        ),
        "use": "claim",
        "patient": subject,
        "created": (start + dt.timedelta(days=21)).isoformat(),
        "insurer": {"display": "Prairie Mutual"},
        "provider": {"display": "County Hospital"},
        "outcome": "complete",
        "insurance": [{"focal": True, "coverage": {"display": "Prairie Mutual PPO"}}],
        "total": [
            {
                "category": _coding(
                    "http://terminology.hl7.org/CodeSystem/adjudication",
                    "submitted",
                    "Submitted Amount",
                ),
                "amount": {"value": total, "currency": "USD"},
            }
        ],
    }
    return [encounter, *results, report, benefit]


def _bundle(resources: list[dict[str, Any]], sender: str, patient: str) -> list[Entry]:
    return [
        Entry(r, f"urn:uuid:{r['id']}", f"{sender} for {patient} entry {n}")
        for n, r in enumerate(resources)
    ]


def seed(
    db: Session, *, seed: int = 1, today: dt.date | None = None, patients: int = 12
) -> Summary | None:
    """Import the senders' records for some demo patients, once (None when done before)."""
    if db.scalar(
        select(func.count())
        .select_from(FhirSourceId)
        .where(FhirSourceId.namespace.in_((HOSPITAL, REGISTRY)))
    ):
        return None
    people = list(
        db.scalars(
            select(Patient.id).where(Patient.status == "active").order_by(Patient.mrn).limit(120)
        )
    )
    if not people:
        return None
    rng = random.Random(f"carebridge-fhir-demo:{seed}")  # noqa: S311 - demo data
    today = today or dt.date.today()  # noqa: DTZ011 - a calendar date, a few days either way
    actor = Actor.system("demo")
    summary = Summary()
    for patient_id in people[:: max(1, len(people) // patients)][:patients]:
        patient = str(patient_id)
        shots = _immunizations(patient, rng, today)
        import_entries(db, actor, _bundle(shots, REGISTRY, patient), REGISTRY, summary, REGISTRY)
        visit = _hospital(patient, rng, today)
        import_entries(db, actor, _bundle(visit, HOSPITAL, patient), HOSPITAL, summary, HOSPITAL)
    return summary
