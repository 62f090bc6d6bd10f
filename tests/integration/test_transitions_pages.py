"""The transitions screens over HTTP, as a browser without JavaScript uses them: the board
with its sections and filters, a transition page with every LACE component and its forms,
the chart's "Hospital stays" tab, and the interface queue where a rejected HL7 message is
shown segment by segment, dismissed with a reason or replayed as corrected."""

from __future__ import annotations

import html
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.settings import Settings
from carebridge.transitions import inbox
from carebridge.transitions import synthetic as demo
from carebridge.transitions.models import Encounter, Hl7Message, Transition
from tests.conftest import fresh_database, make_settings
from tests.factories import csrf_from, make_user, sign_in
from tests.integration.test_patients_api import new_patient
from tests.integration.test_transitions_api import a_patient, a_stay


@pytest.fixture
def coordinator(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    return client


@pytest.fixture
def admin(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    """The interface queue is IT's (HL7_MANAGE)."""
    user = make_user(factory, Role.ADMIN)
    assert sign_in(client, user.username).status_code == 303
    return client


def text(response: Any) -> str:
    return html.unescape(response.text)


def post(client: TestClient, path: str, page: str, data: dict[str, str]) -> Any:
    token = csrf_from(client.get(page))
    return client.post(path, data={**data, "csrf_token": token})


def test_board_sections_and_filters(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    facility = f"Board General {uuid.uuid4().hex[:6]}"
    inside = a_patient(factory)
    a_stay(factory, inside, facility=facility, discharged_days_ago=None)
    waiting = a_patient(factory)
    _, waiting_t = a_stay(factory, waiting, facility=facility, lace=12)
    late = a_patient(factory)
    _, late_t = a_stay(factory, late, facility=facility, lace=4, contact_due_in=-3)
    page = coordinator.get("/transitions", params={"facility": facility})
    assert page.status_code == 200
    body = text(page)
    assert 'href="/transitions" aria-current' in page.text or ">Transitions<" in page.text
    assert "In hospital now: <strong>1</strong>" in body
    assert "Discharged, awaiting contact: <strong>1</strong>" in body
    assert "Overdue: <strong>1</strong>" in body
    assert f"/patients/{waiting}/transitions/{waiting_t}" in body
    assert f"/patients/{late}/transitions/{late_t}" in body
    assert f"/patients/{inside}/hospital-stays" in body
    assert "LACE 12" in body
    assert "3 days overdue" in body
    filtered = text(coordinator.get("/transitions", params={"facility": facility, "risk": "low"}))
    assert f"/transitions/{waiting_t}" not in filtered
    assert f"/transitions/{late_t}" in filtered
    empty = text(coordinator.get("/transitions", params={"facility": "Nowhere " + facility}))
    assert "None of our patients is in hospital now" in empty


def test_transition_page_and_recording_the_contact(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = a_patient(factory)
    _, transition_id = a_stay(factory, patient_id)
    url = f"/patients/{patient_id}/transitions/{transition_id}"
    page = coordinator.get(url)
    assert page.status_code == 200
    body = text(page)
    for words in (
        "Length of stay",
        "Acute (emergent) admission",
        "Charlson comorbidity index",
        "ED visits in the previous 6 months",
        "I50.9",
        "Home or self care",
        "Record contact",
        f"/patients/{patient_id}/appointments#book",
    ):
        assert words in body, words
    assert "Hospital stays" in body

    refused = post(coordinator, url, url, {"action": "close", "version": "1"})
    assert refused.status_code == 422
    assert "Record the interactive contact" in text(refused)
    done = post(
        coordinator,
        url,
        url,
        {"action": "contact", "version": "1", "contact_note": "Called, doing well"},
    )
    assert done.status_code == 303
    after = text(coordinator.get(url))
    assert "Contact recorded." in after
    assert "Called, doing well" in after
    stale = post(coordinator, url, url, {"action": "medications", "version": "1"})
    assert stale.status_code == 409
    assert "changed by someone else" in text(stale)
    services = post(
        coordinator,
        url,
        url,
        {"action": "services", "version": "2", "item-home-health": "arranged"},
    )
    assert services.status_code == 303
    with unit_of_work(factory) as db:
        saved = db.get(Transition, transition_id)
        assert saved is not None
        assert saved.contacted_at is not None
        assert saved.checklist["home-health"]["state"] == "arranged"
    other = a_patient(factory)
    assert coordinator.get(f"/patients/{other}/transitions/{transition_id}").status_code == 404


def test_hospital_stays_tab(coordinator: TestClient, factory: sessionmaker[Session]) -> None:
    patient_id = a_patient(factory)
    empty = coordinator.get(f"/patients/{patient_id}/hospital-stays")
    assert empty.status_code == 200
    assert "No hospital events on file" in text(empty)
    _, transition_id = a_stay(factory, patient_id)
    page = text(coordinator.get(f"/patients/{patient_id}/hospital-stays"))
    assert f"/patients/{patient_id}/transitions/{transition_id}" in page
    assert "Admitted" in page
    assert "Discharged" in page
    assert "4W^412^B" in page


def test_the_interface_queue(
    admin: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    control = f"BAD{uuid.uuid4().hex[:8]}"
    raw = (
        f"MSH|^~\\&|EPIC|QUEUE HOSP|CB|CLINIC|20261120083000||ADT^A99|{control}|P|2.5\r"
        "EVN|A99|20261120083000\r"
    )
    with unit_of_work(factory) as db:
        outcome = inbox.receive(db, raw, source="http", peer="test", settings=settings)
    assert outcome.code in ("AE", "AR")
    listing = admin.get("/hl7/messages", params={"status": "rejected"})
    assert listing.status_code == 200
    assert control in listing.text
    detail_url = f"/hl7/messages/{outcome.message_id}"
    detail = text(admin.get(detail_url))
    assert "Replay as corrected" in detail
    assert f"|{control}|P|2.5\nEVN|A99" in detail  # one segment a line, editable
    no_reason = post(
        admin, f"/hl7/messages/{outcome.message_id}/dismiss", detail_url, {"reason": ""}
    )
    assert no_reason.status_code == 422
    assert "Say why" in text(no_reason)
    dismissed = post(
        admin,
        f"/hl7/messages/{outcome.message_id}/dismiss",
        detail_url,
        {"reason": "Test message sent in error"},
    )
    assert dismissed.status_code == 303
    with unit_of_work(factory) as db:
        message = db.get(Hl7Message, outcome.message_id)
        assert message is not None
        assert message.status == "resolved"
        assert "Test message" in (message.resolution or "")
    assert control not in admin.get("/hl7/messages").text


def test_replay_as_corrected(
    admin: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    control = f"FIX{uuid.uuid4().hex[:8]}"
    stamp = utcnow().strftime("%Y%m%d%H%M%S")
    bad = (
        f"MSH|^~\\&|EPIC|REPLAY HOSP|CB|CLINIC|{stamp}||ADT^A01|{control}|P|2.5\r"
        f"EVN|A01|{stamp}\r"
        "PV1|1|I|3E^301^A\r"
    )
    with unit_of_work(factory) as db:
        outcome = inbox.receive(db, bad, source="http", peer="test", settings=settings)
    assert outcome.code in ("AE", "AR")
    mrn = f"Q{uuid.uuid4().hex[:7].upper()}"
    fixed = bad.replace(
        "PV1|", f"PID|1||{mrn}^^^REPLAY HOSP^MR||Replay^Rita||19500101|F\rPV1|"
    ).replace("\r", "\n")
    detail_url = f"/hl7/messages/{outcome.message_id}"
    replayed = post(admin, f"/hl7/messages/{outcome.message_id}/replay", detail_url, {"raw": fixed})
    assert replayed.status_code == 303
    new_url = replayed.headers["location"]
    assert new_url.startswith("/hl7/messages/")
    shown = text(admin.get(new_url))
    assert "Replay of" in shown
    with unit_of_work(factory) as db:
        original = db.get(Hl7Message, outcome.message_id)
        assert original is not None
        assert original.status == "resolved"


def test_demo_hospital_traffic(tmp_path: Path) -> None:
    """The demo feeds its ADT messages through the real inbox: stays, transitions with
    varied LACE, a readmission, a cancelled admission and two messages in the queue."""
    databases = fresh_database("sqlite", tmp_path)
    url = next(databases)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as db:
            for _ in range(16):
                patients.register(
                    db, Actor.system("test"), PatientCreate.model_validate(new_patient())
                )
            seeded = demo.seed(db, make_settings(url))
        assert seeded is not None
        assert seeded.rejected == 2
        assert seeded.applied == seeded.messages - 2
        with unit_of_work(factory) as db:
            transitions = list(db.scalars(select(Transition)))
            assert len(transitions) == 8
            scores = {t.lace_score for t in transitions}
            assert min(s or 0 for s in scores) < 5 <= 10 <= max(s or 0 for s in scores)
            assert any(t.readmission for t in transitions)
            assert db.scalar(select(func.count()).where(Encounter.status == "in-progress")) == 3
            assert db.scalar(select(func.count()).where(Encounter.last_event == "A11")) == 1
            queue = db.scalars(
                select(Hl7Message.error_location).where(Hl7Message.status == "rejected")
            )
            assert sorted(queue) == ["MSH-9", "PID"]
            assert demo.seed(db, make_settings(url)) is None
    finally:
        engine.dispose()
        databases.close()
