"""The FHIR API's first interactions over HTTP: the CapabilityStatement, Patient read, vread
and history kept current by the chart itself, ETags, errors as OperationOutcome, and every
read audited."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir import projection, store
from carebridge.fhir.models import FhirResource
from carebridge.patients import bulk, synthetic
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.patients.schemas import PatientUpdate
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from tests.factories import make_token, make_user
from tests.integration.test_cli import SECRET_ENV, run
from tests.integration.test_tasks_api import new_patient

SYSTEM = Actor.system("test")
FHIR_JSON = "application/fhir+json; charset=utf-8"


def bearer(factory: sessionmaker[Session], role: Role = Role.COORDINATOR) -> dict[str, str]:
    user = make_user(factory, role)
    return {"Authorization": f"Bearer {make_token(factory, user.username)}"}


def test_metadata_says_what_the_server_does(client: TestClient) -> None:
    answer = client.get("/fhir/R4/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == FHIR_JSON
    statement = answer.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert [i["code"] for i in patient["interaction"]] == [
        "read",
        "vread",
        "history-instance",
        "search-type",
        "create",
        "update",
        "delete",
    ]
    assert {"name": "birthdate", "type": "date"} in patient["searchParam"]
    assert "RelatedPerson:patient" in patient["searchRevInclude"]
    refused = client.get("/fhir/R4/metadata?_format=xml")
    assert refused.status_code == 406
    assert refused.json()["issue"][0]["code"] == "not-supported"


def test_a_patient_reads_as_the_chart_and_follows_its_changes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(factory)
    patient_id = new_patient(factory, given="Inez")
    answer = client.get(f"/fhir/R4/Patient/{patient_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == FHIR_JSON
    assert answer.headers["etag"] == 'W/"1"'
    resource = answer.json()
    assert resource["resourceType"] == "Patient"
    assert resource["id"] == str(patient_id)
    assert resource["meta"]["versionId"] == "1"
    assert resource["name"][0]["given"] == ["Inez"]
    same = client.get(
        f"/fhir/R4/Patient/{patient_id}", headers={**headers, "If-None-Match": 'W/"1"'}
    )
    assert same.status_code == 304
    with unit_of_work(factory) as db:
        chart = patients.get(db, SYSTEM, patient_id)
        patients.update_patient(
            db, SYSTEM, patient_id, PatientUpdate(version=chart.version, given_names="Ines")
        )
    changed = client.get(f"/fhir/R4/Patient/{patient_id}", headers=headers)
    assert changed.headers["etag"] == 'W/"2"'
    assert changed.json()["name"][0]["given"] == ["Ines"]
    first = client.get(f"/fhir/R4/Patient/{patient_id}/_history/1", headers=headers)
    assert first.json()["name"][0]["given"] == ["Inez"]
    history = client.get(f"/fhir/R4/Patient/{patient_id}/_history", headers=headers).json()
    assert history["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]
    with unit_of_work(factory, write=False) as db:
        reads = db.scalars(
            select(AuditEvent.reason).where(
                AuditEvent.patient_id == patient_id, AuditEvent.entity_type == "Patient"
            )
        ).all()
    assert f"FHIR read Patient/{patient_id}" in reads
    assert f"FHIR history Patient/{patient_id}" in reads


def test_errors_are_operation_outcomes(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = bearer(factory)
    missing = client.get(f"/fhir/R4/Patient/{uuid.uuid4()}", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == FHIR_JSON
    assert missing.json()["issue"][0]["code"] == "not-found"
    patient_id = new_patient(factory)
    no_version = client.get(f"/fhir/R4/Patient/{patient_id}/_history/9", headers=headers)
    assert no_version.status_code == 404
    assert "no version 9" in no_version.json()["issue"][0]["diagnostics"]
    anonymous = client.get(f"/fhir/R4/Patient/{patient_id}")
    assert anonymous.status_code == 401
    assert anonymous.json()["issue"][0]["code"] == "login"
    nowhere = client.get("/fhir/R4/Nothing/1", headers=headers)
    assert nowhere.status_code == 404
    assert nowhere.json()["resourceType"] == "OperationOutcome"


def test_a_role_without_the_permission_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = new_patient(factory)
    refused = client.get(f"/fhir/R4/Patient/{patient_id}", headers=bearer(factory, Role.AUDITOR))
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"


def test_a_deleted_resource_answers_410(client: TestClient, factory: sessionmaker[Session]) -> None:
    patient_id = new_patient(factory)
    with unit_of_work(factory) as db:
        store.delete(db, "Patient", str(patient_id))
    gone = client.get(f"/fhir/R4/Patient/{patient_id}", headers=bearer(factory))
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"


def test_reindex_renders_charts_and_changes_nothing_twice(
    factory: sessionmaker[Session],
) -> None:
    patient_id = new_patient(factory)
    with unit_of_work(factory) as db:
        assert projection.reindex(db) >= 1
        before = store.read(db, "Patient", str(patient_id))
        projection.reindex(db)
        after = store.read(db, "Patient", str(patient_id))
    assert before is not None
    assert after is not None
    assert after.version_id == before.version_id == 1


def test_bulk_seeded_charts_read_over_fhir(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    with unit_of_work(factory) as db:
        seeded = bulk.insert_patients(
            db, SYSTEM, synthetic.generate(3, seed=77), batch_size=2, coordinators=[coordinator.id]
        )
        panel = {
            str(i)
            for i in db.scalars(
                select(Patient.id).where(Patient.primary_coordinator_id == coordinator.id)
            )
        }
    headers = bearer(factory)
    # The coordinator's panel lists the charts seeded into it.
    group = client.get(f"/fhir/R4/Group/{coordinator.id}", headers=headers).json()
    members = {m["entity"]["reference"].removeprefix("Patient/") for m in group.get("member", [])}
    assert members == panel
    for patient_id in seeded.patient_ids:
        answer = client.get(f"/fhir/R4/Patient/{patient_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["meta"]["versionId"] == "1"
        assert answer.json()["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    # Their related persons are rendered in the same batch, and found by their patient.
    with unit_of_work(factory, write=False) as db:
        expected = {
            str(person.id)
            for patient_id in seeded.patient_ids
            for person in patients.related_persons(db, SYSTEM, patient_id)
        }
    assert expected
    found = set()
    for patient_id in seeded.patient_ids:
        bundle = client.get(f"/fhir/R4/RelatedPerson?patient={patient_id}", headers=headers)
        found |= {e["resource"]["id"] for e in bundle.json().get("entry", [])}
    assert found == expected
    # Everything a seeded chart is served as was rendered with it: a reindex adds nothing.
    with unit_of_work(factory) as db:
        before = db.execute(select(FhirResource.resource_type, FhirResource.id)).all()
        projection.reindex(db)
        after = db.execute(select(FhirResource.resource_type, FhirResource.id)).all()
    assert sorted(after) == sorted(before)
    assert {"Observation", "MedicationRequest"} <= {kind for kind, _id in before}


def test_reindex_writes_search_rows_a_rendering_lacks(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    given = "Reix" + uuid.uuid4().hex[:6]
    patient_id = new_patient(factory, given=given)
    with unit_of_work(factory) as db:
        stored = store.read(db, "Patient", str(patient_id))
        assert stored is not None
        store.write_index(db, [(stored.pk, store.Index())], replace=True)  # as before 0014
    headers = bearer(factory)
    assert "entry" not in client.get(f"/fhir/R4/Patient?given={given}", headers=headers).json()
    with unit_of_work(factory) as db:
        projection.reindex(db)
    bundle = client.get(f"/fhir/R4/Patient?given={given}", headers=headers).json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [str(patient_id)]


def test_the_reindex_command_renders_what_is_missing(
    db_url: str, factory: sessionmaker[Session]
) -> None:
    patient_id = new_patient(factory)
    with unit_of_work(factory) as db:
        store.delete(db, "Patient", str(patient_id))  # a rendering that has to come back
    result = run(["fhir", "reindex"], env={**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "resource(s) rendered." in result.stdout
    with unit_of_work(factory, write=False) as db:
        back = store.read(db, "Patient", str(patient_id))
    assert back is not None
    assert (back.deleted, back.version_id) == (False, 3)
