"""Coordinators' panels as FHIR Groups (the charts naming them as primary coordinator),
following the charts as they change hands, and the Group-level Bulk Data export, which
holds the records of the panel's patients and nobody else's."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.security import service as security
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from tests.factories import make_token, make_user
from tests.integration.test_fhir_search import ids, search
from tests.integration.test_patients_api import new_patient

SYSTEM = Actor.system("group-test")
GROUP_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"


def _token(factory: sessionmaker[Session], role: Role = Role.COORDINATOR) -> dict[str, str]:
    user = make_user(factory, role)
    return {"Authorization": f"Bearer {make_token(factory, user.username)}"}


def _chart(client: TestClient, coordinator: uuid.UUID | None) -> dict[str, Any]:
    body = new_patient(duplicate_override_reason="group test")
    if coordinator is not None:
        body["primary_coordinator_id"] = str(coordinator)
    answer = client.post("/api/v1/patients", json=body)
    assert answer.status_code == 201, answer.text
    chart: dict[str, Any] = answer.json()
    return chart


def _change(client: TestClient, chart: dict[str, Any], **values: Any) -> dict[str, Any]:
    current = client.get(f"/api/v1/patients/{chart['id']}").json()
    answer = client.patch(
        f"/api/v1/patients/{chart['id']}", json={"version": current["version"], **values}
    )
    assert answer.status_code == 200, answer.text
    changed: dict[str, Any] = answer.json()
    return changed


def _group(client: TestClient, user_id: uuid.UUID) -> dict[str, Any]:
    answer = client.get(f"/fhir/R4/Group/{user_id}")
    assert answer.status_code == 200, answer.text
    group: dict[str, Any] = answer.json()
    return group


def _members(group: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        (m["entity"]["reference"].removeprefix("Patient/"), m.get("inactive", False))
        for m in group.get("member", [])
    ]


def test_a_coordinators_panel_follows_the_charts(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.headers.update(_token(factory))
    ana, ben = make_user(factory, Role.COORDINATOR), make_user(factory, Role.COORDINATOR)
    first, second, third = (_chart(client, ana.id) for _ in range(3))
    _chart(client, ben.id)

    panel = _group(client, ana.id)
    assert panel["type"] == "person"
    assert panel["actual"] is True
    assert panel["active"] is True
    assert panel["name"] == f"Panel of {ana.display_name}"
    assert panel["quantity"] == 3
    assert _members(panel) == [(c["id"], False) for c in (first, second, third)]

    # An inactive chart stays listed, marked inactive, and is not counted.
    _change(client, third, status="inactive")
    panel = _group(client, ana.id)
    assert panel["quantity"] == 2
    assert (third["id"], True) in _members(panel)

    # A chart that changes hands leaves one panel and joins the other.
    _change(client, second, primary_coordinator_id=str(ben.id))
    assert second["id"] not in dict(_members(_group(client, ana.id)))
    assert second["id"] in dict(_members(_group(client, ben.id)))
    # One version per change: made empty, three charts joining, one inactive, one gone.
    assert _group(client, ana.id)["meta"]["versionId"] == "6"

    headers = dict(client.headers)
    assert ids(search(client, headers, f"Group?member=Patient/{second['id']}")) == [str(ben.id)]
    assert ids(search(client, headers, f"Group?name=panel of {ana.display_name}")) == [str(ana.id)]
    people = search(client, headers, f"Group?_id={ana.id}&type=person&actual=true")
    assert ids(people) == [str(ana.id)]

    # A coordinator who can no longer sign in keeps the panel, no longer active.
    with unit_of_work(factory) as db:
        security.set_active(db, SYSTEM, security.get_user(db, ana.id), False)
    assert _group(client, ana.id)["active"] is False


def test_who_has_a_panel(client: TestClient, factory: sessionmaker[Session]) -> None:
    client.headers.update(_token(factory))
    newcomer = make_user(factory, Role.COORDINATOR)
    empty = _group(client, newcomer.id)
    assert empty["quantity"] == 0
    assert "member" not in empty

    # Anyone else a chart names has one too; nobody else does.
    nurse = make_user(factory, Role.CLINICIAN)
    assert client.get(f"/fhir/R4/Group/{nurse.id}").status_code == 404
    chart = _chart(client, nurse.id)
    assert _members(_group(client, nurse.id)) == [(chart["id"], False)]

    # A chart merged into another is not a member: its survivor is.
    survivor = _chart(client, nurse.id)
    merged = client.post(
        f"/api/v1/patients/{survivor['id']}/merge",
        json={"merged_id": chart["id"], "reason": "same person"},
    )
    assert merged.status_code == 200, merged.text
    assert _members(_group(client, nurse.id)) == [(survivor["id"], False)]

    # Read with the permission patients are read with.
    billing = client.get(f"/fhir/R4/Group/{nurse.id}", headers=_token(factory, Role.BILLING))
    assert billing.status_code == 200
    auditor = client.get(f"/fhir/R4/Group/{nurse.id}", headers=_token(factory, Role.AUDITOR))
    assert auditor.status_code == 403


def _path(url: str) -> str:
    return urlsplit(url).path


def _manifest(client: TestClient, location: str) -> dict[str, Any]:
    for _ in range(600):  # up to half a minute on a loaded machine
        answer = client.get(_path(location))
        if answer.status_code == 200:
            manifest: dict[str, Any] = answer.json()
            return manifest
        assert answer.status_code == 202, answer.text
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def _files(client: TestClient, manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in manifest["output"]:
        answer = client.get(_path(item["url"]))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/fhir+ndjson")
        found.setdefault(item["type"], []).extend(json.loads(x) for x in answer.text.splitlines())
    return found


def test_a_group_export_holds_only_its_members(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.headers.update(_token(factory))
    ana, ben = make_user(factory, Role.COORDINATOR), make_user(factory, Role.COORDINATOR)
    mine = [_chart(client, ana.id) for _ in range(2)]
    gone = _chart(client, ana.id)
    _change(client, gone, status="deceased", deceased_date="2026-01-02")
    others = [_chart(client, ben.id), _chart(client, None)]
    tasks = {}
    for chart in [*mine, gone, *others]:
        made = client.post(
            "/api/v1/tasks", json={"title": "Call about the visit", "patient_id": chart["id"]}
        )
        assert made.status_code == 201, made.text
        tasks[made.json()["id"]] = chart["id"]

    asking = {"Prefer": "respond-async"}
    kick = f"/fhir/R4/Group/{ana.id}/$export?_type=Patient,Task"
    assert client.get(kick).status_code == 400  # not asked asynchronously
    kicked = client.get(kick, headers=asking)
    assert kicked.status_code == 202, kicked.text
    location = kicked.headers["content-location"]
    manifest = _manifest(client, location)
    assert manifest["request"].endswith(kick.removeprefix("/fhir/R4"))
    files = _files(client, manifest)
    wanted = {c["id"] for c in mine}  # the deceased chart is an inactive member
    assert {p["id"] for p in files["Patient"]} == wanted
    assert {tasks[t["id"]] for t in files["Task"]} == wanted
    assert {t["for"]["reference"] for t in files["Task"]} == {f"Patient/{i}" for i in wanted}

    # The files show the panel as it was at the export's moment.
    _change(client, mine[0], primary_coordinator_id=str(ben.id))
    again = _files(client, manifest)
    assert {p["id"] for p in again["Patient"]} == wanted
    later = client.get(f"/fhir/R4/Group/{ana.id}/$export?_type=Patient", headers=asking)
    now = _files(client, _manifest(client, later.headers["content-location"]))
    assert {p["id"] for p in now["Patient"]} == {mine[1]["id"]}

    with unit_of_work(factory, write=False) as db:
        reasons = list(
            db.scalars(
                select(AuditEvent.reason).where(
                    AuditEvent.entity_type == "BulkExport",
                    AuditEvent.reason.like(f"FHIR $export (Group/{ana.id};%"),
                )
            )
        )
    assert len(reasons) == 2

    # Since a moment after everything: nothing. Cancelling ends it.
    empty = client.get(f"/fhir/R4/Group/{ana.id}/$export?_since=2999-01-01", headers=asking)
    assert _manifest(client, empty.headers["content-location"])["output"] == []
    assert client.delete(_path(location)).status_code == 202
    assert client.get(_path(location)).status_code == 404


def test_group_export_refusals_and_capability(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**_token(factory), "Prefer": "respond-async"}
    unknown = client.get(f"/fhir/R4/Group/{uuid.uuid4()}/$export", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["resourceType"] == "OperationOutcome"
    assert unknown.json()["issue"][0]["code"] == "not-found"
    coordinator = make_user(factory, Role.COORDINATOR)
    wrong = client.get(f"/fhir/R4/Group/{coordinator.id}/$export?_type=Nothing", headers=headers)
    assert wrong.status_code == 400
    billing = {**_token(factory, Role.BILLING), "Prefer": "respond-async"}
    assert (
        client.get(f"/fhir/R4/Group/{coordinator.id}/$export", headers=billing).status_code == 403
    )

    statement = client.get("/fhir/R4/metadata").json()
    group = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Group")
    assert group["operation"] == [{"name": "export", "definition": GROUP_EXPORT}]
    assert "Group:member" in group["searchInclude"]
    assert "read" in [i["code"] for i in group["interaction"]]
