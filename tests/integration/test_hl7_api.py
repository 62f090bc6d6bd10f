"""POST /api/v1/hl7/messages answers the ACK as text (200 for AA, AE and AR: the ACK carries
the outcome), committed before it answers; the stored messages are listed and read back; only
HL7_MANAGE may use it (not a clinician)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.security.roles import Role
from carebridge.transitions.models import Encounter, Hl7Message
from tests.factories import make_token, make_user
from tests.integration.test_hl7_inbox import message, unique


def bearer(client: TestClient, factory: sessionmaker[Session], role: Role) -> dict[str, str]:
    user = make_user(factory, role)
    return {"Authorization": f"Bearer {make_token(factory, user.username)}"}


def test_posting_a_message_answers_its_ack(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(client, factory, Role.ADMIN)
    control, pid = unique(), unique()
    raw = message("A01", control=control, patient_id=pid, family=pid, visit_number=unique())
    response = client.post("/api/v1/hl7/messages", content=raw.encode(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("x-application/hl7-v2+er7")
    segments = response.text.split("\r")
    assert segments[0].startswith("MSH|^~\\&|CAREBRIDGE|CAREBRIDGE|ADT1|GOOD HEALTH|")
    assert segments[1] == f"MSA|AA|{control}"
    message_id = response.headers["X-Hl7-Message-Id"]
    with unit_of_work(factory, write=False) as db:
        stored = db.get(Hl7Message, uuid.UUID(message_id))
        assert stored is not None
        assert stored.status == "applied"
        assert stored.source == "http"
        assert db.get(Encounter, stored.encounter_id) is not None
    read = client.get(f"/api/v1/hl7/messages/{message_id}", headers=headers)
    assert read.status_code == 200
    assert read.json()["control_id"] == control
    assert read.json()["raw"] == raw


def test_a_rejected_message_answers_ar_and_is_on_the_dead_letter_list(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(client, factory, Role.ADMIN)
    control = unique()
    raw = message("A01", control=control).replace("|2.5.1", "|9.9")
    response = client.post("/api/v1/hl7/messages", content=raw.encode(), headers=headers)
    assert response.status_code == 200
    assert f"MSA|AR|{control}" in response.text
    assert "ERR||MSH^1^12|203^Unsupported version id^HL70357|E" in response.text
    listed = client.get("/api/v1/hl7/messages", params={"status": "rejected"}, headers=headers)
    assert listed.status_code == 200
    found = [m for m in listed.json() if m["control_id"] == control]
    assert len(found) == 1
    assert found[0]["status"] == "rejected"
    assert found[0]["error_location"] == "MSH-12"


def test_bad_requests_and_access(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = bearer(client, factory, Role.ADMIN)
    empty = client.post("/api/v1/hl7/messages", content=b"  ", headers=headers)
    assert empty.status_code == 400
    assert "empty" in empty.json()["detail"]
    binary = client.post("/api/v1/hl7/messages", content=b"MSH|\xff\xfe", headers=headers)
    assert binary.status_code == 400
    assert "UTF-8" in binary.json()["detail"]
    wrong = client.get("/api/v1/hl7/messages", params={"status": "lost"}, headers=headers)
    assert wrong.status_code == 422
    clinician = bearer(client, factory, Role.CLINICIAN)
    refused = client.post("/api/v1/hl7/messages", content=message("A01"), headers=clinician)
    assert refused.status_code == 403
    assert client.get("/api/v1/hl7/messages", headers=clinician).status_code == 403
