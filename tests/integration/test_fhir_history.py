"""The chart's health history, consents and documents over FHIR, made through the JSON API
(the real services): each entry reads as its FHIR resource, is found by patient, status, code
and date, and a change to it (a problem resolved, a consent revoked, a form attached to a
consent) is its next version. History needs HISTORY_READ; consents and documents PATIENT_READ."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir.registry import PROJECTIONS
from carebridge.patients.terminology import ICD10CM, LOINC, RXNORM, SNOMED
from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import ids, search
from tests.integration.test_patients_api import new_patient

ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


@pytest.fixture
def headers(factory: sessionmaker[Session]) -> dict[str, str]:
    return bearer(factory, Role.COORDINATOR)


def _post(client: TestClient, headers: dict[str, str], path: str, **kwargs: Any) -> Any:
    answer = client.post(path, headers=headers, **kwargs)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _patient(client: TestClient, headers: dict[str, str]) -> str:
    body = new_patient(duplicate_override_reason="test data")
    patient_id: str = _post(client, headers, "/api/v1/patients", json=body)["id"]
    return patient_id


def _read(client: TestClient, headers: dict[str, str], path: str) -> dict[str, Any]:
    answer = client.get(f"/fhir/R4/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    resource: dict[str, Any] = answer.json()
    return resource


def test_problems_read_search_and_follow_their_status(
    client: TestClient, headers: dict[str, str]
) -> None:
    patient_id = _patient(client, headers)
    base = f"/api/v1/patients/{patient_id}"
    diabetes = _post(
        client,
        headers,
        f"{base}/conditions",
        json={"code": "E11.9", "onset_date": "2015-06-01", "note": "Diet controlled"},
    )
    _post(
        client,
        headers,
        f"{base}/conditions",
        json={"code": "44054006", "code_system": "snomed", "display": "Diabetes mellitus type 2"},
    )
    condition = _read(client, headers, f"Condition/{diabetes['id']}")
    assert condition["meta"]["versionId"] == "1"
    assert condition["subject"] == {"reference": f"Patient/{patient_id}"}
    assert condition["code"]["coding"][0] == {
        "system": ICD10CM,
        "code": "E11.9",
        "display": "Type 2 diabetes mellitus without complications",
    }
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    assert condition["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert condition["category"][0]["coding"][0]["code"] == "problem-list-item"
    assert condition["onsetDateTime"] == "2015-06-01"
    assert condition["note"] == [{"text": "Diet controlled"}]

    both = search(client, headers, f"Condition?patient={patient_id}")
    assert len(ids(both)) == 2
    coded = search(client, headers, f"Condition?patient={patient_id}&code={ICD10CM}|E11.9")
    assert ids(coded) == [diabetes["id"]]
    snomed = search(client, headers, f"Condition?patient={patient_id}&code={SNOMED}|44054006")
    assert len(ids(snomed)) == 1
    assert ids(snomed) != ids(coded)
    since = search(client, headers, f"Condition?patient={patient_id}&onset-date=ge2015-01-01")
    assert ids(since) == [diabetes["id"]]

    _post(
        client,
        headers,
        f"{base}/conditions/{diabetes['id']}/status",
        json={"version": diabetes["version"], "status": "resolved", "end_date": "2024-02-01"},
    )
    resolved = _read(client, headers, f"Condition/{diabetes['id']}")
    assert resolved["meta"]["versionId"] == "2"
    assert resolved["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert resolved["abatementDateTime"] == "2024-02-01"
    active = search(client, headers, f"Condition?patient={patient_id}&clinical-status=active")
    assert diabetes["id"] not in ids(active)
    gone = search(client, headers, f"Condition?patient={patient_id}&clinical-status=resolved")
    assert ids(gone) == [diabetes["id"]]
    first = _read(client, headers, f"Condition/{diabetes['id']}/_history/1")
    assert first["clinicalStatus"]["coding"][0]["code"] == "active"


def test_allergies_medications_and_family_history(
    client: TestClient, headers: dict[str, str]
) -> None:
    patient_id = _patient(client, headers)
    base = f"/api/v1/patients/{patient_id}"
    allergy = _post(
        client,
        headers,
        f"{base}/allergies",
        json={
            "substance": "Penicillin",
            "category": "medication",
            "criticality": "high",
            "reactions": ["Hives", "Wheezing"],
            "severity": "moderate",
            "onset_date": "1990-05-01",
        },
    )
    medication = _post(
        client,
        headers,
        f"{base}/medications",
        json={
            "name": "Metformin 500 MG Oral Tablet",
            "rxnorm": "860975",
            "dose": "500 mg",
            "route": "oral",
            "frequency": "twice daily",
            "start_date": "2020-01-15",
        },
    )
    relative = _post(
        client,
        headers,
        f"{base}/family-history",
        json={"relationship": "MTH", "condition": "Breast cancer", "onset_age": 52},
    )

    found = _read(client, headers, f"AllergyIntolerance/{allergy['id']}")
    assert found["patient"] == {"reference": f"Patient/{patient_id}"}
    assert found["code"] == {"text": "Penicillin"}
    assert found["category"] == ["medication"]
    assert found["criticality"] == "high"
    assert found["reaction"] == [
        {"manifestation": [{"text": "Hives"}, {"text": "Wheezing"}], "severity": "moderate"}
    ]
    by_status = search(
        client, headers, f"AllergyIntolerance?patient={patient_id}&clinical-status=active"
    )
    assert ids(by_status) == [allergy["id"]]

    statement = _read(client, headers, f"MedicationStatement/{medication['id']}")
    assert statement["status"] == "active"
    assert statement["medicationCodeableConcept"]["coding"][0]["code"] == "860975"
    assert statement["dosage"][0]["text"] == "500 mg oral twice daily"
    assert statement["effectivePeriod"] == {"start": "2020-01-15"}
    taking = search(
        client, headers, f"MedicationStatement?patient={patient_id}&code={RXNORM}|860975"
    )
    assert ids(taking) == [medication["id"]]
    _post(
        client,
        headers,
        f"{base}/medications/{medication['id']}/status",
        json={"version": medication["version"], "status": "stopped", "end_date": "2024-03-01"},
    )
    stopped = _read(client, headers, f"MedicationStatement/{medication['id']}")
    assert stopped["meta"]["versionId"] == "2"
    assert stopped["effectivePeriod"] == {"start": "2020-01-15", "end": "2024-03-01"}
    assert (
        ids(search(client, headers, f"MedicationStatement?patient={patient_id}&status=active"))
        == []
    )

    history = _read(client, headers, f"FamilyMemberHistory/{relative['id']}")
    assert history["status"] == "completed"
    assert history["relationship"]["coding"][0] == {
        "system": ROLE_CODE,
        "code": "MTH",
        "display": "Mother",
    }
    assert history["condition"][0]["onsetAge"]["value"] == 52
    mothers = search(
        client, headers, f"FamilyMemberHistory?patient={patient_id}&relationship={ROLE_CODE}|MTH"
    )
    assert ids(mothers) == [relative["id"]]


def test_no_known_allergies_is_an_allergy_intolerance_until_one_is_recorded(
    client: TestClient, headers: dict[str, str], factory: sessionmaker[Session]
) -> None:
    patient_id = _patient(client, headers)
    base = f"/api/v1/patients/{patient_id}"
    _post(client, headers, f"{base}/no-known-allergies")
    stated = _read(client, headers, f"AllergyIntolerance/{patient_id}")
    assert stated["code"]["coding"][0] == {
        "system": SNOMED,
        "code": "716186003",
        "display": "No known allergy (situation)",
    }
    assert stated["clinicalStatus"]["coding"][0]["code"] == "active"
    none_known = search(client, headers, f"AllergyIntolerance?patient={patient_id}&code=716186003")
    assert ids(none_known) == [patient_id]
    with unit_of_work(factory, write=False) as db:  # a reindex renders it too
        every = set(db.scalars(select(PROJECTIONS["AllergyIntolerance"].every)))
    assert uuid.UUID(patient_id) in every
    allergy = _post(client, headers, f"{base}/allergies", json={"substance": "Sulfa"})
    ended = _read(client, headers, f"AllergyIntolerance/{patient_id}")
    assert ended["meta"]["versionId"] == "2"
    assert ended["clinicalStatus"]["coding"][0]["code"] == "inactive"
    active = search(
        client, headers, f"AllergyIntolerance?patient={patient_id}&clinical-status=active"
    )
    assert ids(active) == [allergy["id"]]


def test_consents_and_documents(
    client: TestClient, headers: dict[str, str], factory: sessionmaker[Session]
) -> None:
    patient_id = _patient(client, headers)
    base = f"/api/v1/patients/{patient_id}"
    person = client.get(f"{base}/related-persons", headers=headers).json()[0]
    doc = _post(
        client,
        headers,
        f"{base}/documents",
        files={"file": ("consent.pdf", b"%PDF-1.4 test", "application/pdf")},
        data={"title": "Signed release"},
    )
    unknown = _read(client, headers, f"DocumentReference/{doc['id']}")
    assert unknown["type"]["coding"][0]["code"] == "UNK"
    sharing = _post(
        client,
        headers,
        f"{base}/sharing-consents",
        json={
            "related_person_id": person["id"],
            "categories": ["appointments", "behavioral-health"],
            "signed_on": "2026-11-01",
            "expires_on": "2027-11-01",
            "document_id": doc["id"],
        },
    )
    contact = _post(
        client,
        headers,
        f"{base}/contact-consents",
        json={"channel": "sms", "decision": "deny", "effective_from": "2026-01-01"},
    )

    consent = _read(client, headers, f"Consent/{sharing['id']}")
    assert consent["status"] == "active"
    assert consent["scope"]["coding"][0]["code"] == "patient-privacy"
    assert consent["patient"] == {"reference": f"Patient/{patient_id}"}
    assert consent["sourceReference"] == {"reference": f"DocumentReference/{doc['id']}"}
    provision = consent["provision"]
    assert provision["actor"][0]["reference"] == {"reference": f"RelatedPerson/{person['id']}"}
    assert provision["period"] == {"start": "2026-11-01", "end": "2027-11-01"}
    assert [c["coding"][0]["code"] for c in provision["code"]] == [
        "appointments",
        "behavioral-health",
    ]
    assert provision["securityLabel"][0]["code"] == "BH"
    channel = _read(client, headers, f"Consent/{contact['id']}")
    assert channel["provision"]["type"] == "deny"
    assert channel["provision"]["code"][0]["coding"][0]["code"] == "sms"

    mine = search(client, headers, f"Consent?patient={patient_id}")
    assert sorted(ids(mine)) == sorted([sharing["id"], contact["id"]])
    to_person = search(client, headers, f"Consent?actor=RelatedPerson/{person['id']}")
    assert ids(to_person) == [sharing["id"]]
    _post(client, headers, f"{base}/sharing-consents/{sharing['id']}/revoke", json={"version": 1})
    revoked = _read(client, headers, f"Consent/{sharing['id']}")
    assert revoked["meta"]["versionId"] == "2"
    assert revoked["status"] == "inactive"
    inactive = search(client, headers, f"Consent?patient={patient_id}&status=inactive")
    assert ids(inactive) == [sharing["id"]]

    # The consent that points at the form says what it is: the document's next version.
    form = _read(client, headers, f"DocumentReference/{doc['id']}")
    assert form["meta"]["versionId"] == "2"
    assert form["type"]["coding"][0] == {
        "system": LOINC,
        "code": "59284-0",
        "display": "Patient Consent",
    }
    attachment = form["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["size"] == len(b"%PDF-1.4 test")
    assert attachment["title"] == "Signed release"
    assert client.get(attachment["url"], headers=headers).content == b"%PDF-1.4 test"
    forms = search(client, headers, f"DocumentReference?patient={patient_id}&type={LOINC}|59284-0")
    assert ids(forms) == [doc["id"]]
    pdfs = search(
        client, headers, f"DocumentReference?patient={patient_id}&contenttype=application/pdf"
    )
    assert ids(pdfs) == [doc["id"]]

    # A reindex finds both kinds of consent through the one id column.
    with unit_of_work(factory, write=False) as db:
        every = set(db.scalars(select(PROJECTIONS["Consent"].every)))
    assert {uuid.UUID(sharing["id"]), uuid.UUID(contact["id"])} <= every


def test_history_needs_its_permission(
    client: TestClient, headers: dict[str, str], factory: sessionmaker[Session]
) -> None:
    patient_id = _patient(client, headers)
    made = _post(client, headers, f"/api/v1/patients/{patient_id}/conditions", json={"code": "I10"})
    billing = bearer(factory, Role.BILLING)
    refused = client.get(f"/fhir/R4/Condition/{made['id']}", headers=billing)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    allowed = client.get(f"/fhir/R4/Consent?patient={patient_id}", headers=billing)
    assert allowed.status_code == 200
