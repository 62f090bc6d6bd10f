"""The audit log as FHIR AuditEvents: for privacy auditors only, searched by patient, agent,
action and date, paged newest first, and every one a valid R4 AuditEvent."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.security.roles import Role
from tests.factories import make_token, make_user
from tests.integration.test_fhir_search import register
from tests.oracles import support


def test_auditors_read_the_log_as_audit_events(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    reader = {"Authorization": f"Bearer {make_token(factory, coordinator.username)}"}
    chart = register(factory, "Au" + uuid.uuid4().hex[:8], "Ana", dt.date(1950, 3, 14))
    for _ in range(2):
        assert client.get(f"/fhir/R4/Patient/{chart}", headers=reader).status_code == 200

    auditor = make_user(factory, Role.AUDITOR)
    headers = {"Authorization": f"Bearer {make_token(factory, auditor.username)}"}
    found = client.get(
        f"/fhir/R4/AuditEvent?patient={chart}&agent-name={coordinator.username}&action=R",
        headers=headers,
    )
    assert found.status_code == 200, found.text
    events = [e["resource"] for e in found.json()["entry"]]
    assert len(events) == 2
    first = events[0]
    assert first["action"] == "R"
    assert first["subtype"][0]["code"] == "read"
    assert first["outcome"] == "0"
    assert first["agent"][0]["name"] == coordinator.username
    assert {"reference": f"Patient/{chart}"} in [e["what"] for e in first["entity"]]
    assert int(events[0]["id"]) > int(events[1]["id"])  # newest first

    paged = client.get(
        f"/fhir/R4/AuditEvent?patient={chart}&action=R&_count=1", headers=headers
    ).json()
    following = next(k["url"] for k in paged["link"] if k["relation"] == "next")
    second = client.get(f"/fhir/R4/AuditEvent?{urlsplit(following).query}", headers=headers)
    assert second.json()["entry"][0]["resource"]["id"] == events[1]["id"]
    one = client.get(f"/fhir/R4/AuditEvent/{first['id']}", headers=headers)
    assert one.json() == first
    today = dt.datetime.now(dt.UTC).date().isoformat()
    early = client.get(f"/fhir/R4/AuditEvent?patient={chart}&date=lt2000-01-01", headers=headers)
    assert "entry" not in early.json()
    assert (
        len(
            client.get(
                f"/fhir/R4/AuditEvent?patient={chart}&date=ge{today}", headers=headers
            ).json()["entry"]
        )
        >= 2
    )

    assert client.get("/fhir/R4/AuditEvent", headers=reader).status_code == 403
    assert client.get("/fhir/R4/AuditEvent/999999999", headers=headers).status_code == 404
    if not support.oracles_disabled():
        assert support.fhir_strict_errors_batch([found.json(), early.json()]) == [[], []]
