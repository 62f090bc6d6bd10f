"""Demo data for registries: HbA1c results from the clinic's lab for the demo's diabetic
patients, so the diabetes registry opens with a realistic mix (some tested recently and
controlled, some above 9 %, some overdue, some never tested).

The results come in through the real FHIR importer under the sender ``clinic-lab``, as a
lab interface would send them; the three built-in registries are inserted by migration 0025.
Run it after the patients (and their problem lists) exist; it does nothing the second time.
The same seed gives the same results.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.fhir.imports import Entry, Summary, import_entries
from carebridge.fhir.models import FhirSourceId
from carebridge.registries import kinds
from carebridge.security.audit import Actor
from carebridge.settings import Settings

SENDER = "clinic-lab"
_NS = uuid.UUID("5d0b7a4e-93c1-4f0e-8f5a-7b4f3d2c1a90")
MOST = 80


def _result(patient_id: uuid.UUID, n: int, day: dt.date, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NS, f"{patient_id}/{n}")),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                        "display": "Laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "4548-4",
                    "display": "Hemoglobin A1c/Hemoglobin.total in Blood",
                }
            ],
            "text": "HbA1c",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": day.isoformat(),
        "valueQuantity": {
            "value": value,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        },
    }


def seed(db: Session, settings: Settings, *, seed: int = 1) -> int:
    """Import HbA1c results for the demo's diabetics, once; the number imported."""
    if db.scalar(
        select(func.count()).select_from(FhirSourceId).where(FhirSourceId.namespace == SENDER)
    ):
        return 0
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    ctx = kinds.Context(today, settings.timezone)
    sick = sorted(db.scalars(kinds.diabetics(kinds.population(ctx, {}))))[:MOST]
    rng = random.Random(f"carebridge-registries-demo:{seed}")  # noqa: S311 - demo data
    actor = Actor.system("demo")
    summary = Summary()
    made = 0
    for patient_id in sick:
        roll = rng.random()
        if roll < 0.15:
            continue  # never tested: a care gap
        if roll < 0.35:  # overdue: last result 7 to 14 months ago
            days = [rng.randint(210, 420)]
        else:  # tested within six months, sometimes twice
            days = sorted({rng.randint(5, 170), rng.randint(90, 400)})
        entries = []
        for n, back in enumerate(days):
            value = round(rng.choice((rng.uniform(6.2, 8.8), rng.uniform(6.5, 11.5))), 1)
            resource = _result(patient_id, n, today - dt.timedelta(days=back), value)
            entries.append(Entry(resource, f"urn:uuid:{resource['id']}", f"{SENDER} {n}"))
        import_entries(db, actor, entries, SENDER, summary, SENDER)
        made += len(entries)
    return made
