"""The audit trail: what is written, that it cannot be changed, and the auditor's tools."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import AuditEvent, AuditLogIsAppendOnly
from carebridge.security.roles import Role
from tests.factories import make_token, make_user, sign_in
from tests.integration.test_sign_in import audit_rows


def test_sign_in_and_user_creation_are_recorded(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory)
    sign_in(client, user.username)
    login = audit_rows(factory, username=user.username, action="login")
    assert len(login) == 1
    assert login[0].role == "coordinator"
    assert login[0].outcome == "success"
    assert login[0].client_addr == "testclient"
    assert login[0].request_id
    created = audit_rows(factory, action="create", entity_id=str(user.id))
    assert created
    assert created[0].username == "test"


def test_refused_access_is_recorded(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory, Role.CLINICIAN)
    sign_in(client, user.username)
    assert client.get("/audit").status_code == 403
    denied = audit_rows(factory, username=user.username, action="access-denied")
    assert denied[-1].outcome == "denied"
    assert denied[-1].entity_id == "GET /audit"


def _one_event(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as db:
        event = AuditEvent(action="read", outcome="success", username="probe")
        db.add(event)
        db.flush()
        return event.id


def test_application_cannot_change_or_delete_events(factory: sessionmaker[Session]) -> None:
    event_id = _one_event(factory)
    with unit_of_work(factory) as db:
        event = db.get(AuditEvent, event_id)
        assert event is not None
        event.reason = "rewritten"
        with pytest.raises(AuditLogIsAppendOnly):
            db.flush()
        db.rollback()
        db.delete(event)
        with pytest.raises(AuditLogIsAppendOnly):
            db.flush()
        db.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'rewritten' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ],
)
def test_database_refuses_changes_to_events(factory: sessionmaker[Session], statement: str) -> None:
    event_id = _one_event(factory)
    with pytest.raises(DatabaseError, match="append-only"), unit_of_work(factory) as db:
        db.execute(text(statement), {"id": event_id})
    with unit_of_work(factory) as db:
        kept = db.get(AuditEvent, event_id)
        assert kept is not None
        assert kept.reason is None


def test_patient_read_helper_records_patient(factory: sessionmaker[Session]) -> None:
    patient = uuid.uuid4()
    actor = Actor(
        user_id=uuid.uuid4(), username="reader", role="coordinator", client_addr="10.0.0.9"
    )
    with unit_of_work(factory) as db:
        record(db, actor, Action.READ, entity_type="Patient", entity_id=patient, patient_id=patient)
    rows = audit_rows(factory, patient_id=patient)
    assert [(r.action, r.username, r.client_addr) for r in rows] == [("read", "reader", "10.0.0.9")]


def test_auditor_filters_and_exports(client: TestClient, factory: sessionmaker[Session]) -> None:
    auditor = make_user(factory, Role.AUDITOR)
    target = make_user(factory, username=f"=cmd-{uuid.uuid4().hex[:6]}".replace("=", "x"))
    with TestClient(client.app, follow_redirects=False) as other:
        sign_in(other, target.username, "wrong password here")
    sign_in(client, auditor.username)
    page = client.get("/audit", params={"username": target.username})
    assert page.status_code == 200
    assert "failed-login" in page.text
    assert "1 matching event" in page.text
    bad = client.get("/audit", params={"date_from": "yesterday"})
    assert bad.status_code == 422
    assert "YYYY-MM-DD" in bad.text
    export = client.get("/audit/export.csv", params={"username": target.username})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["action"] for r in rows] == ["failed-login"]
    assert rows[0]["reason"] == "wrong password"
    assert audit_rows(factory, username=auditor.username, action="export")


def test_csv_export_defuses_spreadsheet_formulas(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    auditor = make_user(factory, Role.AUDITOR)
    with TestClient(client.app, follow_redirects=False) as attacker:
        sign_in(attacker, "=HYPERLINK(1)", "whatever password")
    sign_in(client, auditor.username)
    export = client.get("/audit/export.csv", params={"username": "=hyperlink(1)"})
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert rows
    assert all(r["username"] == "'=hyperlink(1)" for r in rows)


def test_audit_api_pages_and_filters(client: TestClient, factory: sessionmaker[Session]) -> None:
    auditor = make_user(factory, Role.AUDITOR)
    headers = {"Authorization": f"Bearer {make_token(factory, auditor.username)}"}
    response = client.get(
        "/api/v1/audit-events", params={"action": "create", "size": 2}, headers=headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["size"] == 2
    assert len(body["items"]) == 2
    assert body["total"] >= 2
    assert {item["action"] for item in body["items"]} == {"create"}
    invalid = client.get("/api/v1/audit-events", params={"action": "bogus"}, headers=headers)
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert invalid.json()["errors"][0]["field"] == "action"
