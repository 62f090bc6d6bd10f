"""Tokens narrowed by SMART scopes: a patient-bound token reaches that patient's records and
nothing else, a type-scoped token that type only, writes need write scopes; bad scopes are
refused when the token is made, from the API and the command line."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.errors import ValidationFailed
from carebridge.security import service
from carebridge.security.audit import Actor
from tests.factories import make_user
from tests.integration.test_cli import SECRET_ENV, run
from tests.integration.test_fhir_search import ids, register


def scoped(
    factory: sessionmaker[Session], scopes: str, patient: uuid.UUID | None = None
) -> dict[str, str]:
    user = make_user(factory)
    with unit_of_work(factory) as db:
        secret, _ = service.create_token(
            db,
            Actor.system("test"),
            service.find_user(db, user.username),
            "scoped",
            scopes=scopes,
            patient_id=patient,
        )
    return {"Authorization": f"Bearer {secret}"}


def test_a_patient_token_reaches_one_patient(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    family = "Sq" + uuid.uuid4().hex[:8]
    mine = register(factory, family, "Ana", dt.date(1950, 3, 14), contact="Luis Ortega")
    other = register(factory, family, "Bea", dt.date(1951, 4, 15), contact="Eva Ortega")
    headers = scoped(factory, "launch/patient patient/*.read", mine)

    assert client.get(f"/fhir/R4/Patient/{mine}", headers=headers).status_code == 200
    refused = client.get(f"/fhir/R4/Patient/{other}", headers=headers)
    assert refused.status_code == 403
    assert "one patient" in refused.json()["issue"][0]["diagnostics"]
    found = client.get(f"/fhir/R4/Patient?family={family}", headers=headers).json()
    assert ids(found) == [str(mine)]
    people = client.get(
        f"/fhir/R4/RelatedPerson?name=ortega&patient.family={family}", headers=headers
    )
    assert len(ids(people.json())) == 1
    assert client.get(f"/fhir/R4/Patient/{other}/$everything", headers=headers).status_code == 403
    everything = client.get(f"/fhir/R4/Patient/{mine}/$everything", headers=headers)
    assert everything.status_code == 200
    chart = client.get(f"/fhir/R4/Patient/{mine}", headers=headers).json()
    put = client.put(
        f"/fhir/R4/Patient/{mine}",
        json=chart,
        headers={**headers, "Content-Type": "application/fhir+json"},
    )
    assert put.status_code == 403
    export = client.get("/fhir/R4/$export", headers={**headers, "Prefer": "respond-async"})
    assert export.status_code == 403


def test_type_scopes_and_write_scopes(client: TestClient, factory: sessionmaker[Session]) -> None:
    family = "Sq" + uuid.uuid4().hex[:8]
    ana = register(factory, family, "Ana", dt.date(1950, 3, 14), contact="Luis Ortega")
    patients_only = scoped(factory, "user/Patient.read")
    assert client.get(f"/fhir/R4/Patient/{ana}", headers=patients_only).status_code == 200
    assert (
        client.get("/fhir/R4/RelatedPerson?name=ortega", headers=patients_only).status_code == 403
    )
    bundle = client.get(
        f"/fhir/R4/Patient?_id={ana}&_revinclude=RelatedPerson:patient", headers=patients_only
    ).json()
    assert ids(bundle) == [str(ana)]
    assert ids(bundle, "include") == []

    writer = {
        **scoped(factory, "user/Patient.rs user/Patient.u"),
        "Content-Type": "application/fhir+json",
    }
    chart = client.get(f"/fhir/R4/Patient/{ana}", headers=writer).json()
    chart["name"] = [{"family": family, "given": ["Ana", "Sofía"]}]
    put = client.put(f"/fhir/R4/Patient/{ana}", json=chart, headers=writer)
    assert put.status_code == 200, put.text
    assert put.json()["name"][0]["given"] == ["Ana", "Sofía"]


def test_bad_scopes_are_refused_when_the_token_is_made(
    factory: sessionmaker[Session], db_url: str
) -> None:
    user = make_user(factory)
    with unit_of_work(factory) as db, pytest.raises(ValidationFailed, match="not a SMART scope"):
        service.create_token(
            db, Actor.system("test"), service.find_user(db, user.username), "x", scopes="all"
        )
    with unit_of_work(factory) as db, pytest.raises(ValidationFailed, match="patient the token"):
        service.create_token(
            db,
            Actor.system("test"),
            service.find_user(db, user.username),
            "x",
            scopes="patient/*.read",
        )
    env = {**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": db_url}
    made = run(["token", "create", user.username, "--scope", "user/*.read"], env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("cbt_")
    wrong = run(["token", "create", user.username, "--patient", "nobody"], env=env)
    assert wrong.returncode == 2
    assert "--patient" in wrong.stderr
