"""FHIR create and update of Patient and RelatedPerson: the same change as on a screen (the
chart's own services, validation and audit), versions and If-Match, conditional create, the
Prefer return forms, and bad bodies refused with nothing written."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer

SYSTEM = Actor.system("test")
JSON = {"Content-Type": "application/fhir+json"}
PAYER = "urn:oid:2.16.840.1.113883.3.9999"
MEMBER = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]}


def a_patient(family: str, **extra: Any) -> dict[str, Any]:
    """A new person each call: other tests' patients must not look like the same one."""
    born = dt.date(1930, 1, 1) + dt.timedelta(days=random.randrange(25_000))
    return {
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Marta"]}],
        "gender": "female",
        "birthDate": born.isoformat(),
        "telecom": [
            {"system": "phone", "value": f"+1312555{random.randrange(10_000):04d}", "use": "mobile"}
        ],
        **extra,
    }


def charts(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, write=False) as db:
        return int(db.scalar(select(func.count()).select_from(Patient)) or 0)


def test_create_then_update_with_versions(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    family = "Wq" + uuid.uuid4().hex[:8]
    made = client.post("/fhir/R4/Patient", json=a_patient(family), headers=headers)
    assert made.status_code == 201, made.text
    created = made.json()
    patient_id = created["id"]
    assert made.headers["location"].endswith(f"/fhir/R4/Patient/{patient_id}/_history/1")
    assert made.headers["etag"] == 'W/"1"'
    assert created["meta"]["versionId"] == "1"
    assert created["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    with unit_of_work(factory, write=False) as db:
        chart = patients.get(db, SYSTEM, uuid.UUID(patient_id))
        assert (chart.family_name, chart.given_names) == (family, "Marta")
        created_by = db.scalar(
            select(AuditEvent.action).where(
                AuditEvent.entity_type == "Patient",
                AuditEvent.entity_id == patient_id,
                AuditEvent.action == "create",
            )
        )
    assert created_by == "create"

    changed = dict(created)
    changed["name"] = [{"family": family, "given": ["Marta", "Luz"]}]
    changed["identifier"] = [
        *created["identifier"],
        {"system": PAYER, "value": "MB-7", "type": MEMBER},
    ]
    put = client.put(
        f"/fhir/R4/Patient/{patient_id}", json=changed, headers={**headers, "If-Match": 'W/"1"'}
    )
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == 'W/"2"'
    assert put.json()["name"][0]["given"] == ["Marta", "Luz"]
    assert {"system": PAYER, "value": "MB-7"}.items() <= next(
        i for i in put.json()["identifier"] if i["system"] == PAYER
    ).items()
    stale = client.put(
        f"/fhir/R4/Patient/{patient_id}", json=changed, headers={**headers, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412
    assert "version 2" in stale.json()["issue"][0]["diagnostics"]
    found = client.get(f"/fhir/R4/Patient?given=luz&family={family}", headers=headers).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [patient_id]


def test_conditional_create_and_return_preferences(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    family = "Wq" + uuid.uuid4().hex[:8]
    member = f"MB-{uuid.uuid4().hex[:6]}"
    body = a_patient(
        family,
        identifier=[{"system": PAYER, "value": member, "type": MEMBER}],
    )
    condition = {"If-None-Exist": f"identifier={PAYER}|{member}"}
    first = client.post(
        "/fhir/R4/Patient", json=body, headers={**headers, **condition, "Prefer": "return=minimal"}
    )
    assert first.status_code == 201, first.text
    assert first.content == b""
    again = client.post("/fhir/R4/Patient", json=body, headers={**headers, **condition})
    assert again.status_code == 200
    assert first.headers["location"].split("/")[-3] == again.json()["id"]

    warned = client.post(
        "/fhir/R4/Patient",
        json=a_patient("Wq" + uuid.uuid4().hex[:8], active=False),
        headers={**headers, "Prefer": "return=OperationOutcome"},
    )
    assert warned.status_code == 201
    outcome = warned.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Patient.active" in outcome["issue"][0]["diagnostics"]


def test_bad_writes_are_refused_with_nothing_written(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    before = charts(factory)

    def refused(answer: Any, status: int, words: str) -> None:
        assert answer.status_code == status, answer.text
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert words in outcome["issue"][0]["diagnostics"]

    refused(
        client.post("/fhir/R4/Patient", content=b"{not json", headers=headers),
        400,
        "not valid JSON",
    )
    refused(client.post("/fhir/R4/Patient", content=b"[]", headers=headers), 400, "one JSON object")
    refused(
        client.post("/fhir/R4/Patient", json={"resourceType": "Observation"}, headers=headers),
        400,
        "Observation",
    )
    refused(
        client.post(
            "/fhir/R4/Patient",
            json=a_patient("Wq"),
            headers={**headers, "Content-Type": "text/plain"},
        ),
        415,
        "application/fhir+json",
    )
    no_birth = a_patient("Wq" + uuid.uuid4().hex[:8])
    del no_birth["birthDate"]
    refused(client.post("/fhir/R4/Patient", json=no_birth, headers=headers), 422, "birthDate")
    assert charts(factory) == before

    made = client.post(
        "/fhir/R4/Patient", json=a_patient("Wq" + uuid.uuid4().hex[:8]), headers=headers
    )
    patient_id = made.json()["id"]
    refused(
        client.put(
            f"/fhir/R4/Patient/{patient_id}", json={**made.json(), "id": "other"}, headers=headers
        ),
        400,
        "must be the one in the URL",
    )
    refused(
        client.put(
            f"/fhir/R4/Patient/{patient_id}",
            json=made.json(),
            headers={**headers, "If-Match": "yesterday"},
        ),
        400,
        "If-Match",
    )
    missing = str(uuid.uuid4())
    refused(
        client.put(
            f"/fhir/R4/Patient/{missing}", json={**made.json(), "id": missing}, headers=headers
        ),
        404,
        missing,
    )
    read_only = {**bearer(factory, Role.BILLING), **JSON}
    refused(client.post("/fhir/R4/Patient", json=a_patient("Wq"), headers=read_only), 403, "")
    # A likely duplicate of an existing chart is a conflict, as on the registration screen.
    twin = client.post("/fhir/R4/Patient", json=made.json() | {"id": None}, headers=headers)
    assert twin.status_code == 409
    assert twin.json()["resourceType"] == "OperationOutcome"


def test_related_persons_are_written_to_their_patient(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    made = client.post(
        "/fhir/R4/Patient", json=a_patient("Wq" + uuid.uuid4().hex[:8]), headers=headers
    )
    patient_id = made.json()["id"]
    person = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": f"Patient/{patient_id}"},
        "relationship": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DAU"}
                ]
            }
        ],
        "name": [{"text": "Elena Ruiz"}],
        "telecom": [{"system": "phone", "value": "+13125550143"}],
    }
    created = client.post("/fhir/R4/RelatedPerson", json=person, headers=headers)
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    with unit_of_work(factory, write=False) as db:
        kept = patients.related_persons(db, SYSTEM, uuid.UUID(patient_id))
    assert [(str(p.id), p.name, p.relationship_code) for p in kept] == [
        (person_id, "Elena Ruiz", "DAU")
    ]
    renamed = {**created.json(), "name": [{"text": "Elena Ruiz Soto"}]}
    updated = client.put(f"/fhir/R4/RelatedPerson/{person_id}", json=renamed, headers=headers)
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == [{"text": "Elena Ruiz Soto"}]

    nobody = {**person, "patient": {"reference": f"Patient/{uuid.uuid4()}"}}
    answer = client.post("/fhir/R4/RelatedPerson", json=nobody, headers=headers)
    assert answer.status_code == 422
    assert "RelatedPerson.patient" in answer.json()["issue"][0]["diagnostics"]
