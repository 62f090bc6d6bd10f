"""Observations and MedicationRequests from Carebridge's own records, made through the JSON API
(the real services) as a coordinator makes them: the chart's social history (an Observation
per fact, ids stable across changes), goal measurements, prescribed medications. Each reads
as its FHIR resource, is found by patient, code, category, status and date, and a change to
the record is the resource's next version. Observations received from elsewhere live beside
them: written and deleted through FHIR, while ours answer 405."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir.mappers.observations import social_observation_id
from carebridge.fhir.registry import PROJECTIONS
from carebridge.patients.terminology import LOINC, RXNORM, SNOMED
from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import ids, search
from tests.integration.test_patients_api import new_patient

UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
OURS = "urn:carebridge:observation-category"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def headers(factory: sessionmaker[Session]) -> dict[str, str]:
    return bearer(factory, Role.COORDINATOR)


def _send(client: TestClient, headers: dict[str, str], method: str, path: str, body: Any) -> Any:
    answer = client.request(method, path, headers=headers, json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _patient(client: TestClient, headers: dict[str, str]) -> str:
    body = new_patient(duplicate_override_reason="test data")
    patient_id: str = _send(client, headers, "POST", "/api/v1/patients", body)["id"]
    return patient_id


def _read(client: TestClient, headers: dict[str, str], path: str) -> dict[str, Any]:
    answer = client.get(f"/fhir/R4/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    resource: dict[str, Any] = answer.json()
    return resource


def _fact(record: dict[str, Any], fact: str) -> str:
    return str(social_observation_id(uuid.UUID(record["id"]), fact))


def test_social_history_is_an_observation_per_fact_that_follows_the_chart(
    client: TestClient, headers: dict[str, str], factory: sessionmaker[Session]
) -> None:
    patient_id = _patient(client, headers)
    path = f"/api/v1/patients/{patient_id}/social-history"
    stated = {
        "tobacco": "former",
        "alcohol": "occasional",
        "activity_minutes_per_week": 90,
        "occupation": "Bus driver",
        "living_situation": "alone",
        "caregiver_at_home": False,
    }
    record = _send(client, headers, "PUT", path, stated)
    everything = search(client, headers, f"Observation?patient={patient_id}")
    facts = ("tobacco", "alcohol", "activity_minutes_per_week", "occupation")
    facts += ("living_situation", "caregiver_at_home")
    assert sorted(ids(everything)) == sorted(_fact(record, f) for f in facts)

    smoking = _read(client, headers, f"Observation/{_fact(record, 'tobacco')}")
    assert smoking["meta"]["profile"] == [US_CORE + "us-core-smokingstatus"]
    assert smoking["meta"]["versionId"] == "1"
    assert smoking["status"] == "final"
    assert smoking["category"][0]["coding"][0] == {
        "system": CATEGORY,
        "code": "social-history",
        "display": "Social History",
    }
    assert smoking["code"]["coding"][0]["code"] == "72166-2"
    assert smoking["valueCodeableConcept"]["coding"][0] == {
        "system": SNOMED,
        "code": "8517006",
        "display": "Ex-smoker",
    }
    assert smoking["subject"] == {"reference": f"Patient/{patient_id}"}
    assert smoking["performer"] == [{"reference": f"Patient/{patient_id}"}]
    assert smoking["effectiveDateTime"] == smoking["issued"]
    activity = _read(client, headers, f"Observation/{_fact(record, 'activity_minutes_per_week')}")
    assert activity["valueQuantity"] == {
        "value": 90,
        "unit": "min/wk",
        "system": UCUM,
        "code": "min/wk",
    }
    caregiver = _read(client, headers, f"Observation/{_fact(record, 'caregiver_at_home')}")
    assert caregiver["valueBoolean"] is False

    coded = search(client, headers, f"Observation?patient={patient_id}&code={LOINC}|72166-2")
    assert ids(coded) == [smoking["id"]]
    social = search(client, headers, f"Observation?patient={patient_id}&category=social-history")
    assert len(ids(social)) == 6
    active = search(client, headers, f"Observation?patient={patient_id}&category=activity")
    assert ids(active) == [activity["id"]]
    today = dt.datetime.now(dt.UTC).date()
    recent = search(client, headers, f"Observation?patient={patient_id}&date=ge{today}")
    assert len(ids(recent)) == 6
    assert ids(search(client, headers, f"Observation?patient={patient_id}&date=lt2000")) == []

    # Stopped smoking for good, and no longer says where they work: the smoking status is
    # its next version, the occupation is withdrawn, what did not change keeps its version.
    _send(
        client,
        headers,
        "PUT",
        path,
        {**stated, "tobacco": "never", "occupation": None, "version": record["version"]},
    )
    never = _read(client, headers, f"Observation/{smoking['id']}")
    assert never["meta"]["versionId"] == "2"
    assert never["valueCodeableConcept"]["coding"][0]["code"] == "266919005"
    assert never["effectiveDateTime"] >= smoking["effectiveDateTime"]
    before = _read(client, headers, f"Observation/{smoking['id']}/_history/1")
    assert before["valueCodeableConcept"]["coding"][0]["code"] == "8517006"
    history = _read(client, headers, f"Observation/{smoking['id']}/_history")
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    alcohol = _read(client, headers, f"Observation/{_fact(record, 'alcohol')}")
    assert alcohol["meta"]["versionId"] == "1"
    assert alcohol["effectiveDateTime"] == smoking["effectiveDateTime"]
    occupation = _read(client, headers, f"Observation/{_fact(record, 'occupation')}")
    assert occupation["status"] == "entered-in-error"
    assert occupation["valueCodeableConcept"] == {"text": "Bus driver"}
    final = search(client, headers, f"Observation?patient={patient_id}&status=final")
    assert occupation["id"] not in ids(final)
    assert len(ids(final)) == 5

    with unit_of_work(factory, write=False) as db:  # a reindex renders them too
        every = set(db.scalars(select(PROJECTIONS["Observation"].every)))
        rendered = [
            r["id"] for r, _ in PROJECTIONS["Observation"].render(db, [uuid.UUID(record["id"])])
        ]
    assert uuid.UUID(record["id"]) in every
    assert sorted(rendered) == sorted(ids(everything))


def test_goal_measurements_are_observations_of_the_plan(
    client: TestClient, headers: dict[str, str], factory: sessionmaker[Session]
) -> None:
    patient_id = _patient(client, headers)
    plan = _send(
        client, headers, "POST", f"/api/v1/patients/{patient_id}/care-plans", {"title": "Diabetes"}
    )
    goal = _send(
        client,
        headers,
        "POST",
        f"/api/v1/care-plans/{plan['id']}/goals",
        {"description": "HbA1c below 7 %", "measure": "HbA1c", "target": "< 7 %"},
    )
    reading = _send(
        client,
        headers,
        "POST",
        f"/api/v1/goals/{goal['id']}/measurements",
        {"value": "7.9", "measured_on": "2025-01-10", "note": "Drawn fasting"},
    )
    unitless_goal = _send(
        client,
        headers,
        "POST",
        f"/api/v1/care-plans/{plan['id']}/goals",
        {"description": "Fewer bad days"},
    )
    unitless = _send(
        client,
        headers,
        "POST",
        f"/api/v1/goals/{unitless_goal['id']}/measurements",
        {"value": 3, "measured_on": "2025-01-12"},
    )

    found = _read(client, headers, f"Observation/{reading['id']}")
    assert found["status"] == "final"
    assert found["code"] == {"text": "HbA1c"}
    assert found["valueQuantity"] == {"value": 7.9, "unit": "%", "system": UCUM, "code": "%"}
    assert found["effectiveDateTime"] == "2025-01-10"
    assert found["subject"] == {"reference": f"Patient/{patient_id}"}
    assert found["basedOn"] == [{"reference": f"CarePlan/{plan['id']}"}]
    assert found["note"] == [{"text": "Drawn fasting"}]
    assert found["category"][0]["coding"][0]["code"] == "goal-measurement"
    bare = _read(client, headers, f"Observation/{unitless['id']}")
    assert bare["code"] == {"text": "Fewer bad days"}
    assert bare["valueQuantity"] == {"value": 3}

    measured = search(
        client, headers, f"Observation?patient={patient_id}&category={OURS}|goal-measurement"
    )
    assert sorted(ids(measured)) == sorted([reading["id"], unitless["id"]])
    in_plan = search(client, headers, f"Observation?based-on=CarePlan/{plan['id']}")
    assert sorted(ids(in_plan)) == sorted(ids(measured))
    january = search(
        client, headers, f"Observation?patient={patient_id}&date=ge2025-01-11&date=lt2025-02"
    )
    assert ids(january) == [unitless["id"]]

    # A wrong reading marked entered in error; the goal's measure renamed.
    _send(
        client,
        headers,
        "PATCH",
        f"/api/v1/goal-measurements/{reading['id']}",
        {"version": reading["version"], "status": "entered-in-error"},
    )
    wrong = _read(client, headers, f"Observation/{reading['id']}")
    assert wrong["meta"]["versionId"] == "2"
    assert wrong["status"] == "entered-in-error"
    final = search(client, headers, f"Observation?patient={patient_id}&status=final")
    assert ids(final) == [unitless["id"]]
    current = _send(client, headers, "GET", f"/api/v1/care-plans/{plan['id']}", None)
    version = next(g["version"] for g in current["goals"] if g["id"] == goal["id"])
    _send(
        client,
        headers,
        "PATCH",
        f"/api/v1/goals/{goal['id']}",
        {"version": version, "measure": "Hemoglobin A1c"},
    )
    renamed = _read(client, headers, f"Observation/{reading['id']}")
    assert renamed["meta"]["versionId"] == "3"
    assert renamed["code"] == {"text": "Hemoglobin A1c"}

    with unit_of_work(factory, write=False) as db:
        every = set(db.scalars(select(PROJECTIONS["Observation"].every)))
    assert uuid.UUID(reading["id"]) in every


def test_a_prescribed_medication_is_also_a_medication_request(
    client: TestClient, headers: dict[str, str]
) -> None:
    patient_id = _patient(client, headers)
    base = f"/api/v1/patients/{patient_id}/medications"
    ordered = _send(
        client,
        headers,
        "POST",
        base,
        {
            "name": "Metformin 500 MG Oral Tablet",
            "rxnorm": "860975",
            "dose": "500 mg",
            "route": "oral",
            "frequency": "twice daily",
            "start_date": "2020-01-15",
            "prescriber": "Dr Ana Wells",
            "reason": "Type 2 diabetes",
        },
    )
    bought = _send(client, headers, "POST", base, {"name": "Aspirin 81 mg"})

    request = _read(client, headers, f"MedicationRequest/{ordered['id']}")
    assert request["meta"]["profile"] == [US_CORE + "us-core-medicationrequest"]
    assert request["status"] == "active"
    assert request["intent"] == "order"
    assert request["medicationCodeableConcept"] == {
        "coding": [{"system": RXNORM, "code": "860975", "display": "Metformin 500 MG Oral Tablet"}],
        "text": "Metformin 500 MG Oral Tablet",
    }
    assert request["subject"] == {"reference": f"Patient/{patient_id}"}
    assert request["reportedReference"] == {"reference": f"Patient/{patient_id}"}
    assert request["requester"] == {"display": "Dr Ana Wells"}
    assert request["authoredOn"] == "2020-01-15"
    assert request["reasonCode"] == [{"text": "Type 2 diabetes"}]
    dosage = request["dosageInstruction"][0]
    assert dosage["text"] == "500 mg oral twice daily"
    assert dosage["route"]["coding"][0] == {
        "system": SNOMED,
        "code": "26643006",
        "display": "Oral route",
    }
    assert dosage["timing"] == {"repeat": {"boundsPeriod": {"start": "2020-01-15"}}}
    # The same row is still the statement of what the patient takes.
    assert _read(client, headers, f"MedicationStatement/{ordered['id']}")["status"] == "active"
    assert (
        client.get(f"/fhir/R4/MedicationRequest/{bought['id']}", headers=headers).status_code == 404
    )

    everything = search(client, headers, f"MedicationRequest?patient={patient_id}")
    assert ids(everything) == [ordered["id"]]
    for query in (
        f"intent=order&status=active&code={RXNORM}|860975",
        "authoredon=ge2020-01-01&authoredon=lt2020-02",
    ):
        found = search(client, headers, f"MedicationRequest?patient={patient_id}&{query}")
        assert ids(found) == [ordered["id"]], query
    assert (
        ids(search(client, headers, f"MedicationRequest?patient={patient_id}&status=stopped")) == []
    )

    _send(
        client,
        headers,
        "POST",
        f"{base}/{ordered['id']}/status",
        {"version": ordered["version"], "status": "stopped", "end_date": "2024-03-01"},
    )
    stopped = _read(client, headers, f"MedicationRequest/{ordered['id']}")
    assert stopped["meta"]["versionId"] == "2"
    assert stopped["status"] == "stopped"
    assert stopped["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] == {
        "start": "2020-01-15",
        "end": "2024-03-01",
    }
    history = _read(client, headers, f"MedicationRequest/{ordered['id']}/_history")
    assert [e["resource"]["status"] for e in history["entry"]] == ["stopped", "active"]
    found = search(client, headers, f"MedicationRequest?patient={patient_id}&status=stopped")
    assert ids(found) == [ordered["id"]]


def test_received_observations_live_beside_ours(
    client: TestClient, headers: dict[str, str]
) -> None:
    patient_id = _patient(client, headers)
    record = _send(
        client,
        headers,
        "PUT",
        f"/api/v1/patients/{patient_id}/social-history",
        {"tobacco": "current-every-day"},
    )
    ours = _fact(record, "tobacco")
    pulse = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2024-03-01T08:00:00Z",
        "valueQuantity": {"value": 72, "unit": "/min"},
    }
    writing = {**headers, **FHIR_JSON}
    made = client.post("/fhir/R4/Observation", json=pulse, headers=writing)
    assert made.status_code == 201, made.text
    theirs = made.json()["id"]
    both = search(client, headers, f"Observation?patient={patient_id}")
    assert sorted(ids(both)) == sorted([ours, theirs])
    vital = search(client, headers, f"Observation?patient={patient_id}&category=vital-signs")
    assert ids(vital) == [theirs]

    # Ours is changed on the chart, not through FHIR.
    smoking = _read(client, headers, f"Observation/{ours}")
    replaced = client.put(
        f"/fhir/R4/Observation/{ours}", json={**smoking, "status": "amended"}, headers=writing
    )
    assert replaced.status_code == 405, replaced.text
    assert "own records" in replaced.json()["issue"][0]["diagnostics"]
    assert client.delete(f"/fhir/R4/Observation/{ours}", headers=headers).status_code == 405
    assert _read(client, headers, f"Observation/{ours}")["meta"]["versionId"] == "1"

    received = {**made.json(), "valueQuantity": {"value": 75, "unit": "/min"}}
    updated = client.put(f"/fhir/R4/Observation/{theirs}", json=received, headers=writing)
    assert updated.status_code == 200, updated.text
    assert client.delete(f"/fhir/R4/Observation/{theirs}", headers=headers).status_code == 204
    gone = client.get(f"/fhir/R4/Observation/{theirs}", headers=headers)
    assert gone.status_code == 410

    statement = client.get("/fhir/R4/metadata").json()
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    for kind in ("Observation", "MedicationRequest"):
        interactions = [i["code"] for i in served[kind]["interaction"]]
        assert {"read", "search-type", "create", "update", "delete"} <= set(interactions)
    assert served["Observation"]["supportedProfile"] == [US_CORE + "us-core-smokingstatus"]
