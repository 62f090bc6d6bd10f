"""The transitions JSON API: a patient's encounters and transitions, the list with its
filters, the census, and the coordinator's changes (contact, medication reconciliation,
services checklist, follow-up visit, discharge summary, close) with their refusals: a stale
version or a closed transition is a 409, another patient's record a 422, and nothing is
saved when refused. Stays and transitions are made directly, as the ADT feed would."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.models import Document
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.transitions.models import Encounter, Transition
from tests.factories import make_token, make_user
from tests.integration.test_patients_api import new_patient
from tests.integration.test_sign_in import audit_rows

SYSTEM = Actor.system("test")
ZONE = ZoneInfo("America/Chicago")
LACE_RISK = {
    "lace": {
        "score": 12,
        "high_risk": True,
        "components": {
            "L": {"label": "Length of stay", "value": 5, "unit": "days", "points": 4},
            "A": {"label": "Acute (emergent) admission", "value": True, "points": 3},
            "C": {"label": "Charlson comorbidity index", "value": 2, "points": 2},
            "E": {"label": "ED visits in the previous 6 months", "value": 1, "points": 1},
        },
    }
}


@pytest.fixture
def api(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    client.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    return client


def a_patient(factory: sessionmaker[Session], **extra: Any) -> uuid.UUID:
    with unit_of_work(factory) as db:
        body = PatientCreate.model_validate(new_patient(**extra))
        return patients.register(db, SYSTEM, body).id


def a_stay(
    factory: sessionmaker[Session],
    patient_id: uuid.UUID,
    *,
    facility: str | None = None,
    discharged_days_ago: int | None = 1,
    lace: int | None = 12,
    contact_due_in: int = 1,
    follow_up_due_in: int = 6,
    status: str = "open",
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """An encounter (in hospital when ``discharged_days_ago`` is None) and, when
    discharged, its transition."""
    now = utcnow()
    today = now.astimezone(ZONE).date()
    facility = facility or f"Mercy {uuid.uuid4().hex[:6]}"
    with unit_of_work(factory) as db:
        admitted = now - dt.timedelta(days=(discharged_days_ago or 0) + 5)
        encounter = Encounter(
            patient_id=patient_id,
            facility=facility,
            visit_number=uuid.uuid4().hex[:10],
            class_code="IMP",
            status="in-progress" if discharged_days_ago is None else "finished",
            admit_at=admitted,
            discharge_at=None
            if discharged_days_ago is None
            else now - dt.timedelta(days=discharged_days_ago),
            location="4W^412^B",
            admission_type="E",
            discharge_disposition=None if discharged_days_ago is None else "01",
            diagnoses=[{"code": "I50.9", "display": "Heart failure, unspecified"}],
            last_event="A01" if discharged_days_ago is None else "A03",
        )
        db.add(encounter)
        db.flush()
        if discharged_days_ago is None:
            return encounter.id, None
        transition = Transition(
            patient_id=patient_id,
            encounter_id=encounter.id,
            status=status,
            discharged_on=today - dt.timedelta(days=discharged_days_ago),
            contact_due_on=today + dt.timedelta(days=contact_due_in),
            complexity="high" if (lace or 0) >= 10 else "moderate",
            follow_up_due_on=today + dt.timedelta(days=follow_up_due_in),
            checklist={"home-health": {"state": "to-check", "note": None}},
            lace_score=lace,
            risk=LACE_RISK if lace == 12 else {},
            contacted_at=now if status == "done" else None,
        )
        db.add(transition)
        db.flush()
        return encounter.id, transition.id


def a_document(factory: sessionmaker[Session], patient_id: uuid.UUID) -> uuid.UUID:
    with unit_of_work(factory) as db:
        doc = Document(
            patient_id=patient_id,
            title="Discharge summary",
            content_type="text/plain",
            size=5,
            sha256="0" * 64,
            content=b"hello",
        )
        db.add(doc)
        db.flush()
        return doc.id


def test_encounters_and_transitions_of_a_patient(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = a_patient(factory)
    encounter_id, transition_id = a_stay(factory, patient_id)
    encounters = api.get(f"/api/v1/patients/{patient_id}/encounters")
    assert encounters.status_code == 200
    assert [e["id"] for e in encounters.json()] == [str(encounter_id)]
    assert encounters.json()[0]["diagnoses"][0]["code"] == "I50.9"
    listed = api.get(f"/api/v1/patients/{patient_id}/transitions").json()
    assert [t["id"] for t in listed] == [str(transition_id)]
    assert listed[0]["risk_band"] == "high"
    assert listed[0]["risk"]["lace"]["components"]["L"]["points"] == 4
    one = api.get(f"/api/v1/transitions/{transition_id}")
    assert one.status_code == 200
    assert one.headers["ETag"] == 'W/"1"'
    assert one.json()["encounter"]["id"] == str(encounter_id)
    assert audit_rows(factory, entity_type="Transition", entity_id=str(transition_id))
    assert api.get(f"/api/v1/transitions/{uuid.uuid4()}").status_code == 404
    assert api.get(f"/api/v1/patients/{uuid.uuid4()}/encounters").status_code == 404


def test_census_sorts_and_filters(api: TestClient, factory: sessionmaker[Session]) -> None:
    facility = f"St Census {uuid.uuid4().hex[:6]}"
    inside = a_patient(factory)
    a_stay(factory, inside, facility=facility, discharged_days_ago=None)
    low, high, late = a_patient(factory), a_patient(factory), a_patient(factory)
    _, low_t = a_stay(factory, low, facility=facility, lace=3)
    _, high_t = a_stay(factory, high, facility=facility, lace=12)
    _, late_t = a_stay(factory, late, facility=facility, lace=7, contact_due_in=-2)
    census = api.get("/api/v1/transitions/census", params={"facility": facility})
    assert census.status_code == 200
    body = census.json()
    assert [r["patient_id"] for r in body["in_hospital"]] == [str(inside)]
    awaiting = [r["transition"]["id"] for r in body["awaiting_contact"]]
    assert awaiting == [str(high_t), str(low_t)]  # highest LACE first
    assert [r["transition"]["id"] for r in body["overdue"]] == [str(late_t)]
    assert body["overdue"][0]["transition"]["contact_overdue"] is True
    high_only = api.get(
        "/api/v1/transitions/census", params={"facility": facility, "risk": "high"}
    ).json()
    assert [r["transition"]["id"] for r in high_only["awaiting_contact"]] == [str(high_t)]
    assert high_only["overdue"] == []
    listed = api.get("/api/v1/transitions", params={"facility": facility, "overdue": True})
    assert [t["id"] for t in listed.json()] == [str(late_t)]
    assert api.get("/api/v1/transitions", params={"risk": "extreme"}).status_code == 422


def test_coordinator_records_the_follow_up(api: TestClient, factory: sessionmaker[Session]) -> None:
    patient_id = a_patient(factory)
    _, transition_id = a_stay(factory, patient_id)
    url = f"/api/v1/transitions/{transition_id}"
    early_close = api.patch(url, json={"version": 1, "status": "done"})
    assert early_close.status_code == 422
    assert "contact" in early_close.json()["detail"]
    contacted = api.patch(
        url, json={"version": 1, "contacted": True, "contact_note": "Spoke with daughter"}
    )
    assert contacted.status_code == 200, contacted.text
    body = contacted.json()
    assert body["contacted_at"] is not None
    assert body["contact_note"] == "Spoke with daughter"
    assert body["version"] == 2
    stale = api.patch(url, json={"version": 1, "medications_reconciled": True})
    assert stale.status_code == 409
    assert api.get(url).json()["medications_reconciled_at"] is None

    services = api.patch(
        url,
        json={
            "version": 2,
            "medications_reconciled": True,
            "checklist": {"home-health": "arranged", "transport": "not-needed"},
        },
    )
    assert services.status_code == 200, services.text
    assert services.json()["checklist"]["home-health"]["state"] == "arranged"
    assert services.json()["checklist"]["transport"]["state"] == "not-needed"
    assert services.json()["medications_reconciled_at"] is not None
    unknown = api.patch(url, json={"version": 3, "checklist": {"limousine": "arranged"}})
    assert unknown.status_code == 422
    assert "limousine" in unknown.json()["detail"]

    other = a_patient(factory)
    foreign_doc = a_document(factory, other)
    refused = api.patch(url, json={"version": 3, "discharge_summary_id": str(foreign_doc)})
    assert refused.status_code == 422
    assert "another patient" in refused.json()["detail"]
    own_doc = a_document(factory, patient_id)
    attached = api.patch(url, json={"version": 3, "discharge_summary_id": str(own_doc)})
    assert attached.json()["discharge_summary_id"] == str(own_doc)
    missing_visit = api.patch(
        url, json={"version": 4, "follow_up_appointment_id": str(uuid.uuid4())}
    )
    assert missing_visit.status_code == 422

    closed = api.patch(url, json={"version": 4, "status": "done"})
    assert closed.status_code == 200
    assert closed.json()["status"] == "done"
    after = api.patch(url, json={"version": 5, "contact_note": "late"})
    assert after.status_code == 409
    history = api.get(f"{url}/history").json()
    assert history[0]["changes"] == ["opened at discharge"]
    assert any("contact" in c for h in history for c in h["changes"])
    assert any("status" in h["changes"] for h in history)
    assert audit_rows(
        factory, entity_type="Transition", entity_id=str(transition_id), action="update"
    )


def test_a_change_must_say_something(api: TestClient, factory: sessionmaker[Session]) -> None:
    patient_id = a_patient(factory)
    _, transition_id = a_stay(factory, patient_id)
    empty = api.patch(f"/api/v1/transitions/{transition_id}", json={"version": 1})
    assert empty.status_code == 422
    extra = api.patch(f"/api/v1/transitions/{transition_id}", json={"version": 1, "lace_score": 0})
    assert extra.status_code == 422


def test_billing_may_not_read_transitions(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory, Role.BILLING)
    client.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    assert client.get("/api/v1/transitions/census").status_code == 403
