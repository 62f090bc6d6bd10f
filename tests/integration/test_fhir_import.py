"""Importing outside records: every shared Synthea bundle imports, the counts per type read
back equal what was sent (the same organization in many bundles is one record), importing
again changes nothing, what was imported is served and searchable by patient, and a file with
one bad entry leaves nothing behind."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.app import create_app
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.fhir import imports
from carebridge.fhir.models import FhirResource, FhirResourceVersion, FhirSourceId
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from tests.conftest import BACKENDS, fresh_database, make_settings
from tests.factories import make_token, make_user
from tests.integration.test_cli import SECRET_ENV, run

SYNTHEA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "synthea"
ACTOR = Actor.system("import-test")


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own: Synthea's identifiers are unique, and other modules' charts
    must not be matched to them."""
    yield from fresh_database(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def factory(db: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    app = create_app(make_settings(db))
    with TestClient(app, base_url="http://testserver") as c:
        yield c
    app.state.engine.dispose()


def sent() -> dict[str, set[str]]:
    """The distinct resources per type in the shared bundles (by their ids)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(SYNTHEA.glob("*.json")):
        for entry in json.loads(path.read_text())["entry"]:
            found[entry["resource"]["resourceType"]].add(entry["resource"]["id"])
    return found


def stored(factory: sessionmaker[Session]) -> tuple[dict[str, int], int]:
    with unit_of_work(factory, write=False) as db:
        counts = dict(
            db.execute(
                select(FhirResource.resource_type, func.count()).group_by(
                    FhirResource.resource_type
                )
            ).all()
        )
        versions = db.scalar(select(func.count()).select_from(FhirResourceVersion)) or 0
    return counts, versions


def test_synthea_imports_whole_and_again_changes_nothing(
    factory: sessionmaker[Session], client: TestClient
) -> None:
    files = list(imports.files_in([SYNTHEA]))
    assert len(files) == 57
    summary = imports.import_files(factory, ACTOR, files, namespace="synthea")
    assert summary.failed == []
    assert summary.files == 57
    expected = {kind: len(ids) for kind, ids in sent().items()}
    counts, versions = stored(factory)
    assert counts == expected
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == expected["Patient"]

    # What a chart cannot hold is kept with the Patient as sent.
    with unit_of_work(factory, write=False) as db:
        originals = [
            json.loads(o)
            for o in db.scalars(
                select(FhirSourceId.original).where(FhirSourceId.resource_type == "Patient")
            )
        ]
    assert len(originals) == expected["Patient"]
    assert all(
        any("mothersMaidenName" in e["url"] for e in o.get("extension", [])) for o in originals
    )

    again = imports.import_files(factory, ACTOR, files, namespace="synthea")
    assert sum(again.created.values()) == sum(again.updated.values()) == 0
    assert stored(factory) == (counts, versions)

    # What was imported is served: a patient's observations, with their encounters included.
    user = make_user(factory)
    headers = {"Authorization": f"Bearer {make_token(factory, user.username)}"}
    patients = client.get("/fhir/R4/Patient?family=Carter&given=Alda", headers=headers).json()
    (alda,) = [e["resource"] for e in patients["entry"]]
    bundle = client.get(
        f"/fhir/R4/Observation?patient={alda['id']}&_count=5&_include=Observation:encounter",
        headers=headers,
    ).json()
    matches = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert len(matches) == 5
    assert all(o["subject"]["reference"] == f"Patient/{alda['id']}" for o in matches)
    assert {f"Encounter/{e['id']}" for e in included} == {
        o["encounter"]["reference"] for o in matches
    }
    assert any(link["relation"] == "next" for link in bundle["link"])
    # Kept as sent: an immunization reads back as in the file but for the references.
    source = next(
        e["resource"]
        for e in json.loads(next(SYNTHEA.glob("Alda_Carter_*.json")).read_text())["entry"]
        if e["resource"]["resourceType"] == "Immunization"
    )
    served = client.get(f"/fhir/R4/Immunization/{source['id']}", headers=headers).json()
    assert served["patient"] == {"reference": f"Patient/{alda['id']}"}
    assert {k: v for k, v in served.items() if k not in ("meta", "patient", "encounter")} == {
        k: v for k, v in source.items() if k not in ("meta", "patient", "encounter")
    }
    assert served["meta"]["tag"] == source["meta"]["tag"]
    # Search by code and date on received records.
    flu = client.get(
        f"/fhir/R4/Immunization?patient={alda['id']}&vaccine-code=http://hl7.org/fhir/sid/cvx|140"
        "&date=ge2010&_summary=count",
        headers=headers,
    ).json()
    assert flu["total"] >= 1
    # $everything: the whole compartment over next links, and what it points at outside it.
    with unit_of_work(factory, write=False) as db:
        compartment = set(
            db.scalars(
                select(FhirResource.resource_type + "/" + FhirResource.id).where(
                    FhirResource.patient_id == uuid.UUID(alda["id"])
                )
            )
        )
    seen: set[str] = set()
    outside: set[str] = set()
    url = f"/fhir/R4/Patient/{alda['id']}/$everything?_count=200"
    while url:
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.text
        for entry in page.json()["entry"]:
            key = f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
            (seen if entry["search"]["mode"] == "match" else outside).add(key)
        following = [k["url"] for k in page.json()["link"] if k["relation"] == "next"]
        url = following[0].removeprefix("http://127.0.0.1:8000") if following else ""
    assert seen == compartment
    assert f"Patient/{alda['id']}" in seen
    assert {k.split("/")[0] for k in outside} >= {"Organization", "Practitioner"}
    only = client.get(
        f"/fhir/R4/Patient/{alda['id']}/$everything?_type=Immunization,Patient", headers=headers
    ).json()
    assert {
        e["resource"]["resourceType"] for e in only["entry"] if e["search"]["mode"] == "match"
    } == {
        "Immunization",
        "Patient",
    }
    wrong = client.get(f"/fhir/R4/Patient/{alda['id']}/$everything?_type=Nonsense", headers=headers)
    assert wrong.status_code == 400
    with unit_of_work(factory, write=False) as db:
        audited = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.entity_type == "FhirImport",
                AuditEvent.patient_id == uuid.UUID(alda["id"]),
            )
        )
    assert audited is not None
    assert audited >= 1


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{r['id']}",
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for r in resources
        ],
    }


def _patient(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": "Ximport" + pid[:6], "given": ["Ona"]}],
        "gender": "female",
        "birthDate": "1977-07-07",
    }


def _observation(oid: str, pid: str, when: str = "2024-02-03T10:00:00Z") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"urn:uuid:{pid}"},
        "effectiveDateTime": when,
    }


def test_one_bad_entry_leaves_nothing_of_its_file(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    pid, good, bad = (str(uuid.uuid4()) for _ in range(3))
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            _bundle(_patient(pid), _observation(good, pid), _observation(bad, pid, "2024-02-30"))
        )
    )
    dangling = tmp_path / "dangling.json"
    dangling.write_text(json.dumps(_bundle(_observation(good, str(uuid.uuid4())))))
    garbled = tmp_path / "garbled.ndjson"
    garbled.write_text('{"resourceType": "Observation"\n')
    before = stored(factory)
    with unit_of_work(factory, write=False) as db:
        charts = db.scalar(select(func.count()).select_from(Patient))

    summary = imports.import_files(factory, ACTOR, [broken, dangling, garbled], namespace="t")
    assert summary.files == 0
    assert len(summary.failed) == 3
    assert "broken.json entry 2" in summary.failed[0]
    assert "2024-02-30" in summary.failed[0]
    assert "dangling.json entry 0" in summary.failed[1]
    assert "not an entry of this file" in summary.failed[1]
    assert "garbled.ndjson line 1" in summary.failed[2]
    assert stored(factory) == before
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == charts

    # As a bulk export sends it: patients in one file, what points at them in the next.
    people = tmp_path / "Patient.ndjson"
    people.write_text(json.dumps(_patient(pid)) + "\n")
    results = tmp_path / "Observation.ndjson"
    results.write_text(
        json.dumps({**_observation(good, pid), "subject": {"reference": f"Patient/{pid}"}})
    )
    summary = imports.import_files(factory, ACTOR, [people, results], namespace="t")
    assert summary.failed == []
    assert dict(summary.created) == {"Patient": 1, "Observation": 1}
    with unit_of_work(factory, write=False) as db:
        kept = db.execute(
            select(FhirResource.patient_id, FhirResource.content).where(FhirResource.id == good)
        ).one()
    assert kept.patient_id is not None
    assert json.loads(kept.content)["subject"] == {"reference": f"Patient/{kept.patient_id}"}


def test_the_import_command(db: str, tmp_path: Path) -> None:
    pid = str(uuid.uuid4())
    good = tmp_path / "one.json"
    good.write_text(json.dumps(_bundle(_patient(pid), _observation(str(uuid.uuid4()), pid))))
    env = {**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": db}
    result = run(["fhir", "import", str(good), "--source", "cli-test"], env=env)
    assert result.returncode == 0, result.stderr
    assert "Observation" in result.stdout
    assert "2 resource(s) from 1 file(s)" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    failed = run(["fhir", "import", str(bad)], env=env)
    assert failed.returncode == 1
    assert "bad.json" in failed.stderr
    missing = run(["fhir", "import", str(tmp_path / "nowhere.json")], env=env)
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    wrong = run(["fhir", "import", str(good), "--source", "no spaces"], env=env)
    assert wrong.returncode == 2
    assert "--source" in wrong.stderr


def _poll(client: TestClient, headers: dict[str, str], location: str) -> dict[str, Any]:
    path = location.removeprefix("http://127.0.0.1:8000")
    for _ in range(600):  # up to half a minute on a loaded machine
        answer = client.get(path, headers=headers)
        if answer.status_code == 200:
            manifest: dict[str, Any] = answer.json()
            return manifest
        assert answer.status_code == 202, answer.text
        assert answer.headers["x-progress"]
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_bulk_export_of_what_was_imported(
    factory: sessionmaker[Session], client: TestClient
) -> None:
    if "Immunization" not in stored(factory)[0]:  # this database's first test may not have run
        imports.import_files(factory, ACTOR, list(imports.files_in([SYNTHEA])), namespace="synthea")
    user = make_user(factory)
    headers = {"Authorization": f"Bearer {make_token(factory, user.username)}"}
    refused = client.get("/fhir/R4/$export", headers=headers)
    assert refused.status_code == 400
    assert "respond-async" in refused.json()["issue"][0]["diagnostics"]
    asking = {**headers, "Prefer": "respond-async", "Accept": "application/fhir+json"}
    kicked = client.get("/fhir/R4/$export?_type=Patient,Observation,Immunization", headers=asking)
    assert kicked.status_code == 202, kicked.text
    manifest = _poll(client, headers, kicked.headers["content-location"])
    assert manifest["requiresAccessToken"] is True
    counts, _versions = stored(factory)
    by_type: dict[str, int] = defaultdict(int)
    first_patient: dict[str, Any] | None = None
    for item in manifest["output"]:
        answer = client.get(item["url"].removeprefix("http://127.0.0.1:8000"), headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in answer.text.splitlines()]
        assert len(lines) == item["count"]
        assert {r["resourceType"] for r in lines} == {item["type"]}
        by_type[item["type"]] += len(lines)
        if item["type"] == "Patient":
            first_patient = lines[0]
    assert dict(by_type) == {k: counts[k] for k in ("Patient", "Observation", "Immunization")}

    # The files show the export's moment: a patient changed afterwards is exported as before.
    assert first_patient is not None
    changed = {**first_patient, "name": [{"family": "Changed", "given": ["After"]}]}
    changed.pop("meta")
    put = client.put(
        f"/fhir/R4/Patient/{first_patient['id']}",
        json=changed,
        headers={**headers, "Content-Type": "application/fhir+json"},
    )
    assert put.status_code == 200, put.text
    patients_file = next(i for i in manifest["output"] if i["type"] == "Patient")
    again = client.get(patients_file["url"].removeprefix("http://127.0.0.1:8000"), headers=headers)
    exported = {json.loads(line)["id"]: json.loads(line) for line in again.text.splitlines()}
    assert exported[first_patient["id"]]["name"] == first_patient["name"]

    # Since a moment after everything: nothing. Another user cannot see it. Cancelling ends it.
    later = client.get("/fhir/R4/Patient/$export?_since=2999-01-01", headers=asking)
    assert _poll(client, headers, later.headers["content-location"])["output"] == []
    status = kicked.headers["content-location"].removeprefix("http://127.0.0.1:8000")
    stranger = make_user(factory)
    other = {"Authorization": f"Bearer {make_token(factory, stranger.username)}"}
    assert client.get(status, headers=other).status_code == 404
    assert client.delete(status, headers=headers).status_code == 202
    assert client.get(status, headers=headers).status_code == 404
    wrong = client.get("/fhir/R4/$export?_typeFilter=Observation%3Fstatus%3Dfinal", headers=asking)
    assert wrong.status_code == 400
