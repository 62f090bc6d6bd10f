"""What FHIR creates and updates answer with parses with fhirclient's strict R4 (4.0.1)
models: each type written through its writer (history entries, no known allergies, a care
plan and its goal, an incoming referral from an organization), then changed (resolved,
stopped, a goal's range target), as a client gets them back."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.patients.terminology import RXNORM, SNOMED
from tests.integration.test_coverage_api import api
from tests.integration.test_fhir_careplan_writes import a_goal, a_plan
from tests.integration.test_fhir_history_writes import _status, a_chart, a_problem
from tests.integration.test_fhir_referral_writes import a_request
from tests.integration.test_referrals_api import patient, provider
from tests.oracles import support

__all__ = ["api"]  # a fixture, used by name

JSON = {"Content-Type": "application/fhir+json"}


def _written(answer: Any, status: int = 201) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    resource: dict[str, Any] = answer.json()
    return resource


def _history(api: TestClient, chart: uuid.UUID) -> list[dict[str, Any]]:
    problem = _written(api.post("/fhir/R4/Condition", json=a_problem(chart), headers=JSON))
    snomed = {
        **a_problem(chart),
        "code": {"coding": [{"system": SNOMED, "code": "38341003", "display": "Hypertension"}]},
    }
    resolved = {**problem, "clinicalStatus": _status("condition-clinical", "resolved")}
    none_known = {
        "resourceType": "AllergyIntolerance",
        "code": {"coding": [{"system": SNOMED, "code": "716186003"}]},
        "patient": {"reference": f"Patient/{chart}"},
    }
    allergy = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _status("allergyintolerance-clinical", "active"),
        "type": "intolerance",
        "category": ["food"],
        "criticality": "low",
        "code": {"text": "Lactose"},
        "patient": {"reference": f"Patient/{chart}"},
        "onsetDateTime": "2001-04-02",
        "reaction": [{"manifestation": [{"text": "Bloating"}], "severity": "mild"}],
    }
    medicine = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "314076", "display": "Lisinopril 10 MG"}]
        },
        "subject": {"reference": f"Patient/{chart}"},
        "effectiveDateTime": "2022-08-01",
        "dosage": [
            {
                "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}],
                "timing": {"code": {"text": "once daily"}},
                "route": {"text": "oral"},
            }
        ],
    }
    listed = _written(api.post("/fhir/R4/MedicationStatement", json=medicine, headers=JSON))
    stopped = {**listed, "status": "stopped", "effectivePeriod": {"end": "2024-01-31"}}
    return [
        problem,
        _written(api.post("/fhir/R4/Condition", json=snomed, headers=JSON)),
        _written(api.put(f"/fhir/R4/Condition/{problem['id']}", json=resolved, headers=JSON), 200),
        _written(api.post("/fhir/R4/AllergyIntolerance", json=none_known, headers=JSON)),
        _written(api.post("/fhir/R4/AllergyIntolerance", json=allergy, headers=JSON)),
        listed,
        _written(
            api.put(f"/fhir/R4/MedicationStatement/{listed['id']}", json=stopped, headers=JSON),
            200,
        ),
    ]


def _plans(api: TestClient, chart: uuid.UUID) -> list[dict[str, Any]]:
    plan = _written(api.post("/fhir/R4/CarePlan", json=a_plan(chart), headers=JSON))
    goal = _written(api.post("/fhir/R4/Goal", json=a_goal(chart), headers=JSON))
    ranged = {
        **goal,
        "target": [
            {
                "measure": {"text": "Fasting glucose"},
                "detailRange": {"low": {"value": 80, "unit": "mg/dL"}, "high": {"value": 130}},
            }
        ],
    }
    changed = _written(api.put(f"/fhir/R4/Goal/{goal['id']}", json=ranged, headers=JSON), 200)
    listed = _written(api.get(f"/fhir/R4/CarePlan/{plan['id']}"), 200)
    return [plan, goal, changed, listed]


def test_what_writes_answer_with_parses_strictly(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    chart = a_chart(factory)
    who = patient(api)
    hospital = provider(api, kind="hospital", organization="Lakeside " + uuid.uuid4().hex[:6])
    incoming = a_request(who, hospital, status="active", requester={"reference": "#cardio"})
    del incoming["performer"]
    incoming["contained"] = [
        {
            "resourceType": "Organization",
            "id": "cardio",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": hospital["npi"]}],
            "name": hospital["organization"],
        }
    ]
    referral = _written(api.post("/fhir/R4/ServiceRequest", json=incoming, headers=JSON))
    resources = [*_history(api, chart), *_plans(api, chart), referral]
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {
        f"{r['resourceType']}/{r['id']}": errors
        for r, errors in zip(resources, verdicts, strict=True)
        if errors
    }
    assert not refused, json.dumps(refused, indent=1)
