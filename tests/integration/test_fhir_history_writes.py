"""The chart's health history written through FHIR is the history screens' change: a
Condition, AllergyIntolerance or MedicationStatement is recorded by the same service (the
same ICD-10-CM check, the same "no known allergies" rule, the same audit), and an update is
the entry's status form (resolved, stopped, entered in error) guarded by If-Match."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.patients.models import Allergy, Condition, Medication, Patient
from carebridge.patients.terminology import ICD10CM, RXNORM, SNOMED
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import register

JSON = {"Content-Type": "application/fhir+json"}
OUTCOME = {"Prefer": "return=OperationOutcome"}
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"


def _status(kind: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": TERMINOLOGY + kind, "code": code}]}


def a_problem(patient: uuid.UUID, code: str = "E11.9") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": _status("condition-clinical", "active"),
        "verificationStatus": _status("condition-ver-status", "confirmed"),
        "category": [_status("condition-category", "problem-list-item")],
        "code": {"coding": [{"system": ICD10CM, "code": code}], "text": "Diabetes"},
        "subject": {"reference": f"Patient/{patient}"},
        "onsetDateTime": "2015-06-01",
        "note": [{"text": "Diet controlled"}],
        "evidence": [{"detail": [{"display": "HbA1c 7.9"}]}],
    }


def a_chart(factory: sessionmaker[Session]) -> uuid.UUID:
    return register(factory, "Hx" + uuid.uuid4().hex[:8], "Rosa", dt.date(1948, 2, 9))


def _audited(factory: sessionmaker[Session], kind: str, entity_id: str) -> list[str]:
    """The changes audited on a record, oldest first."""
    with unit_of_work(factory, write=False) as db:
        rows = db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.entity_type == kind,
                AuditEvent.entity_id == entity_id,
                AuditEvent.action != "read",
            )
            .order_by(AuditEvent.id)
        )
        return list(rows)


def _count(factory: sessionmaker[Session], model: Any, patient: uuid.UUID) -> int:
    with unit_of_work(factory, write=False) as db:
        found = select(func.count()).select_from(model).where(model.patient_id == patient)
        return int(db.scalar(found) or 0)


def test_a_problem_is_recorded_resolved_and_taken_back(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    patient = a_chart(factory)
    made = client.post("/fhir/R4/Condition", json=a_problem(patient), headers=headers)
    assert made.status_code == 201, made.text
    problem = made.json()
    assert made.headers["location"].endswith(f"/fhir/R4/Condition/{problem['id']}/_history/1")
    # The official ICD-10-CM words, as the history screen records them.
    assert problem["code"]["coding"][0]["display"] == (
        "Type 2 diabetes mellitus without complications"
    )
    assert problem["note"] == [{"text": "Diet controlled"}]
    with unit_of_work(factory, write=False) as db:
        row = db.get(Condition, uuid.UUID(problem["id"]))
        assert row is not None
        assert (row.patient_id, row.code, row.clinical_status, row.source) == (
            patient,
            "E11.9",
            "active",
            "imported",
        )
        assert row.onset_date == dt.date(2015, 6, 1)
    assert _audited(factory, "Condition", problem["id"]) == ["create"]
    warned = client.post(
        "/fhir/R4/Condition", json=a_problem(patient, "I10"), headers={**headers, **OUTCOME}
    )
    assert warned.status_code == 201
    assert "Condition.evidence" in warned.json()["issue"][0]["diagnostics"]

    resolved = {
        **problem,
        "clinicalStatus": _status("condition-clinical", "resolved"),
        "abatementDateTime": "2024-03-01",
    }
    changed = client.put(
        f"/fhir/R4/Condition/{problem['id']}",
        json=resolved,
        headers={**headers, "If-Match": 'W/"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == 'W/"2"'
    assert changed.json()["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert changed.json()["abatementDateTime"] == "2024-03-01"
    stale = client.put(
        f"/fhir/R4/Condition/{problem['id']}",
        json=resolved,
        headers={**headers, "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412
    with unit_of_work(factory, write=False) as db:
        row = db.get(Condition, uuid.UUID(problem["id"]))
        assert row is not None
        assert (row.clinical_status, row.abatement_date) == ("resolved", dt.date(2024, 3, 1))
    assert _audited(factory, "Condition", problem["id"]) == ["create", "update"]

    # The code is not changed by an update (as on the screen): said, and kept as it was.
    recoded = {**changed.json(), "code": {"coding": [{"system": ICD10CM, "code": "E11.65"}]}}
    kept = client.put(
        f"/fhir/R4/Condition/{problem['id']}", json=recoded, headers={**headers, **OUTCOME}
    )
    assert kept.status_code == 200
    assert "Condition.code" in " ".join(i["diagnostics"] for i in kept.json()["issue"])
    error = {
        **changed.json(),
        "verificationStatus": _status("condition-ver-status", "entered-in-error"),
    }
    del error["clinicalStatus"]
    taken_back = client.put(f"/fhir/R4/Condition/{problem['id']}", json=error, headers=headers)
    assert taken_back.status_code == 200, taken_back.text
    assert "clinicalStatus" not in taken_back.json()
    assert taken_back.json()["code"]["coding"][0]["code"] == "E11.9"
    with unit_of_work(factory, write=False) as db:
        row = db.get(Condition, uuid.UUID(problem["id"]))
        assert row is not None
        assert (row.code, row.clinical_status) == ("E11.9", "entered-in-error")


def test_bad_history_is_refused_naming_the_element_and_nothing_is_kept(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    patient = a_chart(factory)
    unknown = client.post("/fhir/R4/Condition", json=a_problem(patient, "E11"), headers=headers)
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["issue"][0]["expression"] == ["Condition.code"]
    uncoded = {**a_problem(patient), "code": {"text": "sugar"}}
    refused = client.post("/fhir/R4/Condition", json=uncoded, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == ["Condition.code"]
    stranger = {**a_problem(patient), "subject": {"reference": f"Patient/{uuid.uuid4()}"}}
    nobody = client.post("/fhir/R4/Condition", json=stranger, headers=headers)
    assert nobody.status_code == 422
    assert nobody.json()["issue"][0]["expression"] == ["Condition.subject"]
    in_error = {
        **a_problem(patient),
        "verificationStatus": _status("condition-ver-status", "entered-in-error"),
    }
    assert client.post("/fhir/R4/Condition", json=in_error, headers=headers).status_code == 422
    odd = {
        "resourceType": "MedicationStatement",
        "status": "unknown",
        "medicationCodeableConcept": {"text": "Metformin"},
        "subject": {"reference": f"Patient/{patient}"},
    }
    status = client.post("/fhir/R4/MedicationStatement", json=odd, headers=headers)
    assert status.status_code == 422
    assert status.json()["issue"][0]["expression"] == ["MedicationStatement.status"]
    by_reference = {**odd, "status": "active", "medicationReference": {"reference": "#m"}}
    del by_reference["medicationCodeableConcept"]
    assert (
        client.post("/fhir/R4/MedicationStatement", json=by_reference, headers=headers).status_code
        == 422
    )
    assert _count(factory, Condition, patient) == 0
    assert _count(factory, Medication, patient) == 0


def test_allergies_and_no_known_allergies_follow_the_charts_rule(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    patient = a_chart(factory)
    none_known = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _status("allergyintolerance-clinical", "active"),
        "code": {"coding": [{"system": SNOMED, "code": "716186003"}]},
        "patient": {"reference": f"Patient/{patient}"},
    }
    stated = client.post("/fhir/R4/AllergyIntolerance", json=none_known, headers=headers)
    assert stated.status_code == 201, stated.text
    assert stated.json()["id"] == str(patient)  # the chart's own statement
    with unit_of_work(factory, write=False) as db:
        chart = db.get(Patient, patient)
        assert chart is not None
        assert chart.allergy_status == "no-known-allergies"
    narrower = {**none_known, "code": {"coding": [{"system": SNOMED, "code": "409137002"}]}}
    drug = client.post("/fhir/R4/AllergyIntolerance", json=narrower, headers=headers)
    assert drug.status_code == 422
    assert drug.json()["issue"][0]["expression"] == ["AllergyIntolerance.code"]

    penicillin = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _status("allergyintolerance-clinical", "active"),
        "type": "allergy",
        "category": ["medication"],
        "criticality": "high",
        "code": {"text": "Penicillin"},
        "patient": {"reference": f"Patient/{patient}"},
        "reaction": [
            {"manifestation": [{"text": "Hives"}], "severity": "moderate"},
            {"manifestation": [{"text": "Wheezing"}], "severity": "severe"},
        ],
    }
    made = client.post("/fhir/R4/AllergyIntolerance", json=penicillin, headers=headers)
    assert made.status_code == 201, made.text
    allergy = made.json()
    assert allergy["reaction"] == [
        {"manifestation": [{"text": "Hives"}, {"text": "Wheezing"}], "severity": "severe"}
    ]
    assert _audited(factory, "Allergy", allergy["id"]) == ["create"]
    # Recording an allergy ends "no known allergies"; it cannot be stated while one is active.
    ended = client.get(f"/fhir/R4/AllergyIntolerance/{patient}", headers=headers).json()
    assert ended["clinicalStatus"]["coding"][0]["code"] == "inactive"
    again = {**ended, "clinicalStatus": _status("allergyintolerance-clinical", "active")}
    refused = client.put(f"/fhir/R4/AllergyIntolerance/{patient}", json=again, headers=headers)
    assert refused.status_code == 422, refused.text
    assert "active allergies" in refused.json()["issue"][0]["diagnostics"]

    mistaken = {
        **allergy,
        "verificationStatus": _status("allergyintolerance-verification", "entered-in-error"),
    }
    del mistaken["clinicalStatus"]
    taken_back = client.put(
        f"/fhir/R4/AllergyIntolerance/{allergy['id']}",
        json=mistaken,
        headers={**headers, "If-Match": 'W/"1"'},
    )
    assert taken_back.status_code == 200, taken_back.text
    assert taken_back.json()["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    restated = client.put(f"/fhir/R4/AllergyIntolerance/{patient}", json=again, headers=headers)
    assert restated.status_code == 200, restated.text
    assert restated.json()["clinicalStatus"]["coding"][0]["code"] == "active"
    with unit_of_work(factory, write=False) as db:
        row = db.get(Allergy, uuid.UUID(allergy["id"]))
        assert row is not None
        assert (row.substance, row.severity, row.clinical_status) == (
            "Penicillin",
            "severe",
            "entered-in-error",
        )
        chart = db.get(Patient, patient)
        assert chart is not None
        assert chart.allergy_status == "no-known-allergies"


def test_a_medication_is_listed_and_stopped(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    patient = a_chart(factory)
    statement = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "category": _status("medication-statement-category", "patientspecified"),
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "860975", "display": "Metformin 500 MG"}],
            "text": "Metformin 500 mg tablet",
        },
        "subject": {"reference": f"Patient/{patient}"},
        "effectivePeriod": {"start": "2023-01-10"},
        "reasonCode": [{"text": "Type 2 diabetes"}],
        "dosage": [{"text": "1 tablet by mouth twice daily", "route": {"text": "by mouth"}}],
    }
    made = client.post("/fhir/R4/MedicationStatement", json=statement, headers=headers)
    assert made.status_code == 201, made.text
    listed = made.json()
    assert listed["dosage"] == [{"text": "1 tablet by mouth twice daily"}]
    assert listed["category"]["coding"][0]["code"] == "patientspecified"
    stopped = {
        **listed,
        "status": "stopped",
        "effectivePeriod": {"start": "2023-01-10", "end": "2024-05-02"},
    }
    changed = client.put(
        f"/fhir/R4/MedicationStatement/{listed['id']}",
        json=stopped,
        headers={**headers, "If-Match": 'W/"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["effectivePeriod"] == {"start": "2023-01-10", "end": "2024-05-02"}
    with unit_of_work(factory, write=False) as db:
        row = db.get(Medication, uuid.UUID(listed["id"]))
        assert row is not None
        assert (row.name, row.rxnorm, row.source, row.status, row.stop_date) == (
            "Metformin 500 mg tablet",
            "860975",
            "reported",
            "stopped",
            dt.date(2024, 5, 2),
        )
    assert _audited(factory, "Medication", listed["id"]) == ["create", "update"]


def test_history_is_written_only_by_roles_that_may_change_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    patient = a_chart(factory)
    billing = {**bearer(factory, Role.BILLING), **JSON}
    refused = client.post("/fhir/R4/Condition", json=a_problem(patient), headers=billing)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    clinician = {**bearer(factory, Role.CLINICIAN), **JSON}
    assert (
        client.post("/fhir/R4/Condition", json=a_problem(patient), headers=clinician).status_code
        == 201
    )
    assert _count(factory, Condition, patient) == 1


def test_a_transaction_registers_a_patient_with_their_problem(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    family = "Tx" + uuid.uuid4().hex[:8]
    person = "urn:uuid:" + str(uuid.uuid4())
    problem = a_problem(uuid.uuid4())
    problem["subject"] = {"reference": person}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": person,
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": family, "given": ["Ida"]}],
                    "gender": "female",
                    "birthDate": "1941-07-19",
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": problem, "request": {"method": "POST", "url": "Condition"}},
        ],
    }
    answer = client.post("/fhir/R4", json=bundle, headers=headers)
    assert answer.status_code == 200, answer.text
    places = [e["response"]["location"] for e in answer.json()["entry"]]
    patient_id = places[0].split("/")[-3]
    condition = client.get("/fhir/R4/" + "/".join(places[1].split("/")[-4:-2]), headers=headers)
    assert condition.json()["subject"] == {"reference": f"Patient/{patient_id}"}
