"""Every Observation and MedicationRequest we render from our own records parses with
fhirclient's strict R4 (4.0.1) models: a social history stating every fact (and one stating
only unknowns, and a fact cleared after it was served), a measurement on each goal of the
type 2 diabetes template (every unit it uses) and on a goal without a measure or unit, one
marked entered in error; a prescribed medication with everything filled in, one with only a
prescriber, and one of each status. Made through the real services, rendered as the store
keeps them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans import service as careplans
from carebridge.careplans.schemas import (
    CarePlanCreate,
    GoalCreate,
    MeasurementCreate,
    MeasurementUpdate,
)
from carebridge.db.session import unit_of_work
from carebridge.fhir import store
from carebridge.fhir.mappers.observations import SOCIAL_FACTS, social_observation_id
from carebridge.fhir.registry import PROJECTIONS
from carebridge.patients import service
from carebridge.patients.schemas import MedicationCreate, PatientCreate, SocialHistoryIn
from carebridge.security.audit import Actor
from tests.oracles import support

ACTOR = Actor.system("fhir-observation-oracle-test")
TODAY = dt.date(2026, 3, 2)
STATUSES = ("active", "completed", "stopped", "on-hold", "intended", "not-taken")


def _assert_strictly_valid(resources: list[dict[str, Any]]) -> None:
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {
        f"{r['resourceType']}/{r['id']}": errors
        for r, errors in zip(resources, verdicts, strict=True)
        if errors
    }
    assert not refused, json.dumps(refused, indent=1)


def _patient(db: Session, tag: str) -> uuid.UUID:
    return service.register(
        db,
        ACTOR,
        PatientCreate(
            family_name=f"Oracle-{tag}-{uuid.uuid4().hex[:8]}",
            given_names="Rosa",
            birth_date=dt.date(1948, 2, 3),
            sex="female",
            duplicate_override_reason="oracle test data",
        ),
    ).id


FULL_SOCIAL: dict[str, Any] = {
    "tobacco": "current-some-day",
    "alcohol": "heavy",
    "substance_use": "Cannabis on weekends",
    "activity_minutes_per_week": 0,
    "occupation": "Retired teacher",
    "living_situation": "with-family",
    "caregiver_at_home": True,
    "source": "clinician",
    "note": "Reviewed at intake",
}


def _social(db: Session) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A record stating every fact (its id and patient's) and one stating unknowns only."""
    patient_id = _patient(db, "social")
    full = service.save_social_history(db, ACTOR, patient_id, SocialHistoryIn(**FULL_SOCIAL))
    unknown = service.save_social_history(
        db,
        ACTOR,
        _patient(db, "unknown"),
        SocialHistoryIn(tobacco="unknown", alcohol="unknown", living_situation="unknown"),
    )
    return uuid.UUID(str(full["id"])), patient_id, uuid.UUID(str(unknown["id"]))


def _measurements(db: Session) -> list[uuid.UUID]:
    patient_id = _patient(db, "goals")
    plan = careplans.create_plan(
        db,
        ACTOR,
        patient_id,
        CarePlanCreate(template_key="type-2-diabetes", start_on=TODAY),
        TODAY,
    )
    bare = careplans.add_goal(db, ACTOR, plan.id, GoalCreate(description="Feel less tired"))
    made = []
    for number, goal in enumerate([*plan.goals, bare], start=1):
        reading = careplans.record_measurement(
            db,
            ACTOR,
            goal.id,
            MeasurementCreate(value=Decimal(number) + Decimal("0.5"), measured_on=TODAY),
            TODAY,
        )
        made.append(reading.id)
    noted = careplans.record_measurement(
        db,
        ACTOR,
        bare.id,
        MeasurementCreate(value=Decimal(4), measured_on=TODAY, note="Said so on the phone"),
        TODAY,
    )
    careplans.update_measurement(
        db, ACTOR, noted.id, MeasurementUpdate(version=noted.version, status="entered-in-error")
    )
    return [*made, noted.id]


def _medications(db: Session) -> list[uuid.UUID]:
    patient_id = _patient(db, "meds")
    full = MedicationCreate(
        name="Insulin glargine 100 UNT/ML Injectable Solution",
        rxnorm="311041",
        dose="10 units",
        route="Subcutaneous",
        frequency="at bedtime",
        start_date=dt.date(2021, 5, 1),
        stop_date=dt.date(2025, 1, 1),
        prescriber="Dr Ana Wells",
        status="completed",
        reason="Type 2 diabetes",
        note="Pen device",
        source="clinician",
    )
    made = [full, MedicationCreate(name="Albuterol inhaler", route="inhalation", prescriber="ED")]
    made += [MedicationCreate(name=f"Drug {s}", prescriber="Dr Lee", status=s) for s in STATUSES]
    return [
        uuid.UUID(str(service.add_item(db, ACTOR, patient_id, "medications", m)["id"]))
        for m in made
    ]


def test_observations_and_medication_requests_parse_strictly(
    factory: sessionmaker[Session],
) -> None:
    with unit_of_work(factory) as db:
        full, patient_id, unknown = _social(db)
        readings = _measurements(db)
        medications = _medications(db)
    with unit_of_work(factory) as db:  # the occupation cleared: its Observation withdrawn
        cleared = {**FULL_SOCIAL, "occupation": None, "version": 1}
        service.save_social_history(db, ACTOR, patient_id, SocialHistoryIn(**cleared))
    social = [full, unknown]
    withdrawn_id = social_observation_id(full, "occupation")

    resources: list[dict[str, Any]] = []
    with unit_of_work(factory, write=False) as db:
        for kind, record_ids in (
            ("Observation", [*social, *readings]),
            ("MedicationRequest", medications),
        ):
            rendered = [resource for resource, _index in PROJECTIONS[kind].render(db, record_ids)]
            stored = [store.read(db, kind, r["id"]) for r in rendered]
            assert all(s is not None and not s.deleted for s in stored)
            resources += rendered
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    # Every fact of the full record (the cleared one withdrawn), three unknowns of the other.
    assert len(observations) == len(SOCIAL_FACTS) + 3 + len(readings)
    withdrawn = next(r for r in observations if r["id"] == str(withdrawn_id))
    assert withdrawn["status"] == "entered-in-error"
    units = {r["valueQuantity"].get("code") for r in observations if "valueQuantity" in r}
    assert {"%", "mm[Hg]", "mg/dL", "min/wk", None} <= units
    requests = [r for r in resources if r["resourceType"] == "MedicationRequest"]
    assert sorted(r["status"] for r in requests) == sorted(
        ["completed", "active", "completed", "stopped", "on-hold", "active", "unknown", "active"]
    )
    _assert_strictly_valid(resources)
