"""Patients through the JSON API: registration, duplicates, search, updates, merge,
history, consents; bad input gets clear errors and saves nothing."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.patients.models import Condition, Patient
from carebridge.security.roles import Role
from tests.factories import make_token, make_user
from tests.integration.test_sign_in import audit_rows


@pytest.fixture
def api(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    client.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    return client


def letters(n: int) -> str:
    """Random letters: real names have no digits (a digit makes search look for an id)."""
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


def unique_name() -> str:
    # No shared prefix: the duplicate check weighs a common start, and with many test
    # patients "Zed..." names came to look alike.
    return letters(1).upper() + letters(10)


def unique_phone() -> str:
    exchange = random.choice(range(220, 900, 10))  # never N11, never 555
    return f"(312) {exchange}-{random.randint(1000, 9999)}"


def new_patient(**extra: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    body: dict[str, Any] = {
        "family_name": unique_name(),
        "given_names": "Maria Elena",
        "birth_date": "1956-03-14",
        "sex": "female",
        "language": "es",
        "interpreter_needed": True,
        "race": ["2106-3"],
        "ethnicity": "2135-2",
        "phones": [{"number": unique_phone(), "use": "mobile"}],
        "email": f"Maria.{tag}@Example.org",
        "address_line1": f"{random.randint(100, 9999)} W Harrison St",
        "city": "Chicago",
        "state": "IL",
        "postal_code": "60607",
        "emergency_contacts": [
            {"name": "Luis Garcia", "relationship": "SON", "phone": "312-555-0199"}
        ],
    }
    body.update(extra)
    return body


def register(api: TestClient, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/patients", json=new_patient(**extra))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_register_assigns_mrn_and_normalises_contacts(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient = register(api, phones=[{"number": "(312) 996-0142"}], email="Maria.X@Example.ORG")
    assert len(patient["mrn"]) == 8
    assert patient["mrn"].isdigit()
    assert patient["telecoms"][0]["value"] == "+13129960142"
    assert patient["email"] == "Maria.X@example.org"
    assert patient["version"] == 1
    read = api.get(f"/api/v1/patients/{patient['id']}")
    assert read.headers["etag"] == 'W/"1"'
    related = api.get(f"/api/v1/patients/{patient['id']}/related-persons").json()
    assert related[0]["emergency_contact"] is True
    assert related[0]["phone"] == "+13125550199"
    assert audit_rows(factory, patient_id=uuid.UUID(patient["id"]), action="read")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"birth_date": "2999-01-01"}, "birth_date", "future"),
        ({"birth_date": "1850-01-01"}, "birth_date", "1900"),
        ({"phones": [{"number": "12345"}]}, "phones.0.number", "not a valid phone number"),
        ({"email": "not-an-email"}, "email", "not a valid email"),
        ({"race": ["Martian"]}, "race.0", "unknown race code"),
        ({"sex": "robot"}, "sex", "Input should be"),
    ],
)
def test_bad_registration_names_the_field(
    api: TestClient, factory: sessionmaker[Session], change: dict[str, Any], field: str, words: str
) -> None:
    with unit_of_work(factory) as db:
        before = db.scalar(select(func.count()).select_from(Patient))
    response = api.post("/api/v1/patients", json=new_patient(**change))
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert words in errors[field]
    with unit_of_work(factory) as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == before


def test_near_duplicate_is_stopped_then_allowed_with_reason(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    first = register(api)
    twin = new_patient(
        family_name=first["family_name"],
        given_names="Maria",
        birth_date="1956-14-03".replace("14-03", "03-14"),
        phones=[],
    )
    stopped = api.post("/api/v1/patients", json=twin)
    assert stopped.status_code == 409
    body = stopped.json()
    assert body["type"].endswith("duplicate-suspected")
    candidate = body["candidates"][0]
    assert candidate["patient"]["mrn"] == first["mrn"]
    assert any("birth" in r for r in candidate["reasons"])
    twin["duplicate_override_reason"] = "Different person: checked photo ID at the desk"
    created = api.post("/api/v1/patients", json=twin)
    assert created.status_code == 201
    rows = audit_rows(factory, patient_id=uuid.UUID(created.json()["id"]), action="create")
    assert "registered despite possible duplicate" in (rows[0].reason or "")


def test_search_by_name_mrn_birth_date_and_phone(api: TestClient) -> None:
    patient = register(api, family_name="Núñez" + letters(6), given_names="José")
    family = patient["family_name"]
    folded = "nunez" + family[5:]
    for q in (folded[:8].upper(), f"{folded[:8]}, jo", f"jos {folded[:8]}", patient["mrn"]):
        found = api.get("/api/v1/patients", params={"q": q}).json()["items"]
        assert patient["id"] in [p["id"] for p in found], q
    by_date = api.get("/api/v1/patients", params={"q": "1956-03-14", "limit": 100}).json()
    assert all(p["birth_date"] == "1956-03-14" for p in by_date["items"])
    digits = patient["telecoms"][0]["value"][2:]
    dotted = f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
    by_phone = api.get("/api/v1/patients", params={"q": dotted, "limit": 100}).json()
    assert patient["id"] in [p["id"] for p in by_phone["items"]]


def test_stale_update_is_409_and_changes_nothing(api: TestClient) -> None:
    patient = register(api)
    url = f"/api/v1/patients/{patient['id']}"
    ok = api.patch(
        url,
        json={
            "version": 1,
            "preferred_name": "Malena",
            "phones": [{"number": "+1 773 555 0100", "use": "home"}],
        },
    )
    assert ok.status_code == 200
    assert ok.json()["version"] == 2
    assert ok.headers["etag"] == 'W/"2"'
    stale = api.patch(url, json={"version": 1, "preferred_name": "Someone else"})
    assert stale.status_code == 409
    assert "version 2" in stale.json()["detail"]
    assert api.get(url).json()["preferred_name"] == "Malena"


def test_unknown_patient_is_404(api: TestClient) -> None:
    assert api.get(f"/api/v1/patients/{uuid.uuid4()}").status_code == 404
    assert api.get("/api/v1/patients/not-a-uuid").status_code == 422


def test_duplicate_mrn_is_409(api: TestClient) -> None:
    mrn = "X" + uuid.uuid4().hex[:8]
    register(api, mrn=mrn)
    again = api.post("/api/v1/patients", json=new_patient(mrn=mrn))
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "mrn"


def test_icd10_problem_and_allergies(api: TestClient, factory: sessionmaker[Session]) -> None:
    patient = register(api)
    base = f"/api/v1/patients/{patient['id']}"
    bad = api.post(f"{base}/conditions", json={"code": "E11"})
    assert bad.status_code == 422
    assert "E11" in bad.json()["errors"][0]["message"]
    made = api.post(f"{base}/conditions", json={"code": "e119", "onset_date": "2015-06-01"})
    assert made.status_code == 201
    assert made.json()["code"] == "E11.9"
    assert made.json()["display"] == "Type 2 diabetes mellitus without complications"
    snomed = api.post(
        f"{base}/conditions",
        json={"code": "44054006", "code_system": "snomed", "display": "Diabetes mellitus type 2"},
    )
    assert snomed.status_code == 201
    nka = api.post(f"{base}/no-known-allergies")
    assert nka.json()["allergy_status"] == "no-known-allergies"
    allergy = api.post(
        f"{base}/allergies",
        json={
            "substance": "Penicillin",
            "category": "medication",
            "criticality": "high",
            "reactions": ["Hives"],
            "severity": "moderate",
        },
    )
    assert allergy.status_code == 201
    assert api.get(base).json()["allergy_status"] == "has-allergies"
    refused = api.post(f"{base}/no-known-allergies")
    assert refused.status_code == 422
    item = made.json()
    resolved = api.post(
        f"{base}/conditions/{item['id']}/status",
        json={"version": item["version"], "status": "resolved"},
    )
    assert resolved.json()["clinical_status"] == "resolved"
    stale = api.post(
        f"{base}/conditions/{item['id']}/status",
        json={"version": item["version"], "status": "active"},
    )
    assert stale.status_code == 409
    timeline = api.get(f"{base}/timeline").json()
    assert any(
        t["entity_type"] == "Condition"
        and t["action"] == "update"
        and t["changes"].get("clinical_status") == "resolved"
        for t in timeline
    )
    with unit_of_work(factory) as db:
        count = db.scalar(
            select(func.count())
            .select_from(Condition)
            .where(Condition.patient_id == uuid.UUID(patient["id"]))
        )
    assert count == 2


def test_merge_moves_records_and_redirects(api: TestClient, factory: sessionmaker[Session]) -> None:
    survivor = register(api)
    duplicate = register(
        api, family_name=unique_name(), birth_date="1970-01-01", duplicate_override_reason="test"
    )
    api.post(f"/api/v1/patients/{duplicate['id']}/conditions", json={"code": "I10"})
    merged = api.post(
        f"/api/v1/patients/{survivor['id']}/merge",
        json={"merged_id": duplicate["id"], "reason": "Same person, typo in DOB"},
    )
    assert merged.status_code == 200
    assert duplicate["mrn"] in [i["value"] for i in merged.json()["identifiers"]]
    conditions = api.get(f"/api/v1/patients/{survivor['id']}/conditions").json()
    assert [c["code"] for c in conditions] == ["I10"]
    moved = api.get(f"/api/v1/patients/{duplicate['id']}", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/api/v1/patients/{survivor['id']}"
    by_old_mrn = api.get("/api/v1/patients", params={"q": duplicate["mrn"]}).json()["items"]
    assert [p["id"] for p in by_old_mrn] == [survivor["id"]]
    assert audit_rows(factory, patient_id=uuid.UUID(duplicate["id"]), action="update")


def test_consents(api: TestClient) -> None:
    patient = register(api)
    base = f"/api/v1/patients/{patient['id']}"
    person = api.get(f"{base}/related-persons").json()[0]
    doc = api.post(
        f"{base}/documents",
        files={"file": ("consent.pdf", b"%PDF-1.4 test", "application/pdf")},
        data={"title": "Signed release"},
    )
    assert doc.status_code == 201
    consent = api.post(
        f"{base}/sharing-consents",
        json={
            "related_person_id": person["id"],
            "categories": ["appointments", "medications"],
            "signed_on": "2026-11-01",
            "expires_on": "2027-11-01",
            "document_id": doc.json()["id"],
        },
    )
    assert consent.status_code == 201
    bad = api.post(
        f"{base}/sharing-consents",
        json={
            "related_person_id": person["id"],
            "categories": ["everything"],
            "signed_on": "2026-11-01",
        },
    )
    assert bad.status_code == 422
    revoked = api.post(
        f"{base}/sharing-consents/{consent.json()['id']}/revoke", json={"version": 1}
    )
    assert revoked.json()["status"] == "revoked"
    sms = api.post(
        f"{base}/contact-consents",
        json={"channel": "sms", "decision": "permit", "effective_from": "2026-01-01"},
    )
    assert sms.status_code == 201
    assert api.get(f"{base}/documents/{doc.json()['id']}").content == b"%PDF-1.4 test"
    wrong_type = api.post(f"{base}/documents", files={"file": ("x.exe", b"MZ", "application/x")})
    assert wrong_type.status_code == 422


def test_billing_sees_demographics_not_history(
    client: TestClient, factory: sessionmaker[Session], api: TestClient
) -> None:
    patient = register(api)
    billing = make_user(factory, Role.BILLING)
    headers = {"Authorization": f"Bearer {make_token(factory, billing.username)}"}
    assert client.get(f"/api/v1/patients/{patient['id']}", headers=headers).status_code == 200
    assert (
        client.get(f"/api/v1/patients/{patient['id']}/conditions", headers=headers).status_code
        == 403
    )
