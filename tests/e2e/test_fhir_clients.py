"""Real FHIR clients against a running Carebridge over HTTP: fhirpy (create, read, search
with paging and counting, update, includes; a problem recorded and resolved) and fhirclient
(in the oracle venv: create, read, search across pages, update). Their requests are the ones
apps and payer systems send."""

from __future__ import annotations

import uuid

import pytest
from fhirpy import SyncFHIRClient

from carebridge.db.session import unit_of_work
from carebridge.security import service
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer
from tests.oracles import support


def _token(live_server: LiveServer) -> str:
    with unit_of_work(live_server.factory) as db:
        secret, _ = service.create_token(
            db, Actor.system("e2e"), service.find_user(db, "coordinator"), "fhir client test"
        )
    return secret


def test_fhirpy_creates_reads_searches_and_updates(live_server: LiveServer) -> None:
    client = SyncFHIRClient(
        f"{live_server.url}/fhir/R4", authorization=f"Bearer {_token(live_server)}"
    )
    family = "Fhirpy" + uuid.uuid4().hex[:6]
    made = []
    for n, given in enumerate(("Ana", "Bea", "Cira")):
        patient = client.resource(
            "Patient",
            name=[{"family": family, "given": [given]}],
            gender="female",
            birthDate=f"1955-0{n + 1}-2{n}",
        )
        patient.save()
        assert patient.id
        assert patient["meta"]["versionId"] == "1"
        made.append(patient)

    read = client.reference("Patient", made[0].id).to_resource()
    assert read["name"][0]["given"] == ["Ana"]

    search = client.resources("Patient").search(family=family).limit(2)
    assert search.count() == 3
    everyone = search.fetch_all()  # follows the next links, two at a time
    assert sorted(p.id for p in everyone) == sorted(p.id for p in made)
    assert [p.id for p in client.resources("Patient").search(family=family, given="bea")] == [
        made[1].id
    ]

    read["name"] = [{"family": family, "given": ["Ana", "María"]}]
    read.save()
    again = client.reference("Patient", made[0].id).to_resource()
    assert again["name"][0]["given"] == ["Ana", "María"]
    assert again["meta"]["versionId"] == "2"

    spouse = client.resource(
        "RelatedPerson",
        patient=made[0].to_reference(),
        relationship=[
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "SPS"}
                ]
            }
        ],
        name=[{"text": "Luis " + family}],
    )
    spouse.save()
    bundle = (
        client.resources("Patient")
        .search(_id=made[0].id)
        .revinclude("RelatedPerson", "patient")
        .fetch_raw()
    )
    kinds = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds == ["Patient", "RelatedPerson"]


def test_fhirclient_creates_reads_searches_and_updates(live_server: LiveServer) -> None:
    if support.oracles_disabled():
        pytest.skip(f"{support.SKIP_ENV}=1: fhirclient runs in the oracle venv")
    family = "Fhirclient" + uuid.uuid4().hex[:6]
    seen = support.fhirclient_session(f"{live_server.url}/fhir/R4", _token(live_server), family)
    assert len(seen["created"]) == 3
    assert seen["read_given"] == ["Ada"]
    assert seen["found"] == sorted(seen["created"])  # three, two to a page
    assert seen["updated_version"] == "2"
    assert seen["reread_given"] == ["Ada", "Lovelace"]
    assert seen["reread_version"] == "2"


def test_fhirpy_records_and_resolves_a_problem(live_server: LiveServer) -> None:
    client = SyncFHIRClient(
        f"{live_server.url}/fhir/R4", authorization=f"Bearer {_token(live_server)}"
    )
    patient = client.resource(
        "Patient",
        name=[{"family": "Fhirpy" + uuid.uuid4().hex[:6], "given": ["Dora"]}],
        gender="female",
        birthDate="1949-11-02",
    )
    patient.save()
    clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    problem = client.resource(
        "Condition",
        clinicalStatus={"coding": [{"system": clinical, "code": "active"}]},
        code={"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]},
        subject=patient.to_reference(),
    )
    problem.save()
    assert problem.id
    assert problem["code"]["coding"][0]["display"] == "Essential (primary) hypertension"
    problem["clinicalStatus"] = {"coding": [{"system": clinical, "code": "resolved"}]}
    problem.save()
    again = client.reference("Condition", problem.id).to_resource()
    assert again["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert again["meta"]["versionId"] == "2"
    found = client.resources("Condition").search(patient=patient.id).fetch()
    assert [c.id for c in found] == [problem.id]
