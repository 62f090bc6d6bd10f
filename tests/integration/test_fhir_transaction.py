"""Transaction and batch Bundles at the FHIR base, and writes of the types kept as received:
urn:uuid references resolved, a bad entry undoing a whole transaction (and only itself in a
batch), conditional creates, circles refused, and create/update/delete of received records."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir.models import FhirResource
from carebridge.patients.models import Patient
from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import register

JSON = {"Content-Type": "application/fhir+json"}
PAYER = "urn:oid:2.16.840.1.113883.3.9999"
MEMBER = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]}


def entry(resource: dict[str, Any], method: str = "POST", **request: str) -> dict[str, Any]:
    full = f"urn:uuid:{uuid.uuid4()}"
    url = resource["resourceType"] if method == "POST" else request.pop("url")
    return {
        "fullUrl": full,
        "resource": resource,
        "request": {"method": method, "url": url, **request},
    }


def a_patient(family: str, member: str) -> dict[str, Any]:
    born = dt.date(1930, 1, 1) + dt.timedelta(days=uuid.uuid4().int % 25_000)
    return {
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Rita"]}],
        "gender": "female",
        "birthDate": born.isoformat(),
        "identifier": [{"system": PAYER, "value": member, "type": MEMBER}],
    }


def an_observation(subject: str, when: str = "2024-03-01T08:00:00Z") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "valueQuantity": {"value": 72, "unit": "/min"},
    }


def counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with unit_of_work(factory, write=False) as db:
        charts = db.scalar(select(func.count()).select_from(Patient)) or 0
        kept = db.scalar(select(func.count()).select_from(FhirResource)) or 0
    return charts, kept


def test_a_transaction_resolves_references_and_is_all_or_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    family = "Tx" + uuid.uuid4().hex[:8]
    member = f"M-{uuid.uuid4().hex[:6]}"
    person = entry(a_patient(family, member), ifNoneExist=f"identifier={PAYER}|{member}")
    # The observation comes first in the Bundle but points at the patient: applied after it.
    pulse = entry(an_observation(person["fullUrl"]))
    spouse = entry(
        {
            "resourceType": "RelatedPerson",
            "patient": {"reference": person["fullUrl"]},
            "relationship": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                            "code": "DAU",
                        }
                    ]
                }
            ],
            "name": [{"text": "Oscar Tx"}],
        }
    )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [pulse, person, spouse]}
    answer = client.post("/fhir/R4", json=bundle, headers=headers)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created"] * 3
    chart_id = result["entry"][1]["resource"]["id"]
    assert result["entry"][0]["resource"]["subject"] == {"reference": f"Patient/{chart_id}"}
    assert result["entry"][2]["resource"]["patient"] == {"reference": f"Patient/{chart_id}"}
    found = client.get(f"/fhir/R4/Observation?patient={chart_id}", headers=headers).json()
    assert len(found["entry"]) == 1

    # Again: the conditional create finds the chart; everything else is created anew.
    again = client.post("/fhir/R4", json=bundle, headers=headers).json()
    assert again["entry"][1]["response"]["status"] == "200 OK"
    assert again["entry"][1]["resource"]["id"] == chart_id

    # One bad entry: nothing of the Bundle stays, and the error names the entry.
    before = counts(factory)
    other = entry(a_patient("Tx" + uuid.uuid4().hex[:8], f"M-{uuid.uuid4().hex[:6]}"))
    bad = entry(an_observation(other["fullUrl"], when="2024-02-30"))
    broken = {"resourceType": "Bundle", "type": "transaction", "entry": [other, bad]}
    refused = client.post("/fhir/R4", json=broken, headers=headers)
    assert refused.status_code == 400
    assert "Bundle.entry[1]" in refused.json()["issue"][0]["diagnostics"]
    assert counts(factory) == before

    dangling = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [entry(an_observation(f"urn:uuid:{uuid.uuid4()}"))],
    }
    assert client.post("/fhir/R4", json=dangling, headers=headers).status_code == 422
    first, second = entry(an_observation("x")), entry(an_observation("y"))
    first["resource"]["hasMember"] = [{"reference": second["fullUrl"]}]
    second["resource"]["hasMember"] = [{"reference": first["fullUrl"]}]
    first["resource"]["subject"] = second["resource"]["subject"] = {
        "reference": f"Patient/{chart_id}"
    }
    circle = {"resourceType": "Bundle", "type": "transaction", "entry": [first, second]}
    circled = client.post("/fhir/R4", json=circle, headers=headers)
    assert circled.status_code == 400
    assert "circle" in circled.json()["issue"][0]["diagnostics"]
    assert counts(factory) == before


def test_a_batch_keeps_what_succeeds(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = {**bearer(factory), **JSON}
    chart = register(factory, "Bt" + uuid.uuid4().hex[:8], "Ana", dt.date(1950, 3, 14))
    good = entry(an_observation(f"Patient/{chart}"))
    bad = entry(an_observation(f"Patient/{uuid.uuid4()}"))
    read = {"request": {"method": "GET", "url": f"Patient/{chart}"}}
    search = {"request": {"method": "GET", "url": f"Observation?patient={chart}"}}
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [good, bad, read, search]}
    answer = client.post("/fhir/R4", json=batch, headers=headers)
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    assert answer.json()["type"] == "batch-response"
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"] == "422"
    assert "no Patient/" in entries[1]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert entries[2]["resource"]["id"] == str(chart)
    assert len(entries[3]["resource"]["entry"]) == 1


def test_received_records_are_created_updated_and_deleted(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    chart = register(factory, "Rc" + uuid.uuid4().hex[:8], "Ana", dt.date(1950, 3, 14))
    made = client.post(
        "/fhir/R4/Observation", json=an_observation(f"Patient/{chart}"), headers=headers
    )
    assert made.status_code == 201, made.text
    observation = made.json()
    assert made.headers["location"].endswith(f"/Observation/{observation['id']}/_history/1")
    observation["valueQuantity"]["value"] = 75
    put = client.put(
        f"/fhir/R4/Observation/{observation['id']}",
        json=observation,
        headers={**headers, "If-Match": 'W/"1"'},
    )
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == 'W/"2"'
    gone = client.delete(f"/fhir/R4/Observation/{observation['id']}", headers=headers)
    assert gone.status_code == 204
    assert (
        client.get(f"/fhir/R4/Observation/{observation['id']}", headers=headers).status_code == 410
    )
    assert client.delete(f"/fhir/R4/Patient/{chart}", headers=headers).status_code == 405
    # A location is one of Carebridge's own records with no writer: changed on its screen.
    place = client.post(
        "/api/v1/locations",
        json={"name": "Lakeview " + uuid.uuid4().hex[:6], "timezone": "America/Chicago"},
        headers=bearer(factory, Role.ADMIN),
    )
    assert place.status_code == 201, place.text
    location = client.get(f"/fhir/R4/Location/{place.json()['id']}", headers=headers).json()
    for answer in (
        client.put(f"/fhir/R4/Location/{location['id']}", json=location, headers=headers),
        client.delete(f"/fhir/R4/Location/{location['id']}", headers=headers),
    ):
        assert answer.status_code == 405, answer.text
        assert "own records" in answer.json()["issue"][0]["diagnostics"]
    # A Location sent from elsewhere, though, is kept as received like any record sent.
    sent = {"resourceType": "Location", "name": "County Hospital", "status": "active"}
    kept = client.post("/fhir/R4/Location", json=sent, headers=headers)
    assert kept.status_code == 201, kept.text
    renamed = {**kept.json(), "name": "County General Hospital"}
    again = client.put(f"/fhir/R4/Location/{renamed['id']}", json=renamed, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["name"] == "County General Hospital"
    assert client.delete(f"/fhir/R4/Location/{renamed['id']}", headers=headers).status_code == 204
    mismatch = client.post(
        "/fhir/R4/Immunization", json=an_observation(f"Patient/{chart}"), headers=headers
    )
    assert mismatch.status_code == 400
    too_many = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": "Patient/x"}}] * 1001,
    }
    assert client.post("/fhir/R4", json=too_many, headers=headers).status_code == 413
