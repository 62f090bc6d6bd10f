"""Referrals and the provider directory through the JSON API: a loop closed from draft to
closed (linked to an appointment booked with us), status history and audit, the tracker,
and bad input (invalid NPI, unknown ICD-10-CM code, a step the status does not allow,
another patient's appointment or document, a stale version) refused with nothing stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.checksums import luhn_digit
from carebridge.patients.models import Document
from carebridge.referrals.models import OutsideProvider, Referral
from tests.factories import clinic_today
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import CHICAGO, book, next_weekday, ok
from tests.integration.test_sign_in import audit_rows

api = scheduling.api
clinic = scheduling.clinic


def valid_npi() -> str:
    body = "1" + uuid.uuid4().int.__str__()[:8]
    return body + luhn_digit("80840" + body)


def patient(api: TestClient) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        api.post("/api/v1/patients", json=new_patient(family_name=unique_name())), 201
    )
    return result


def provider(api: TestClient, **extra: Any) -> dict[str, Any]:
    body = {
        "name": f"Dr Ana {unique_name()}",
        "kind": "specialist",
        "specialty": "Cardiology",
        "npi": valid_npi(),
        "phone": "+13125550148",
        "fax": "+13125550149",
        "direct_address": "ana.lee@direct.example.org",
        "city": "Chicago",
        "state": "IL",
        **extra,
    }
    result: dict[str, Any] = ok(api.post("/api/v1/directory", json=body), 201)
    return result


def referral(api: TestClient, who: dict[str, Any], to: dict[str, Any], **extra: Any) -> Any:
    body = {
        "provider_id": to["id"],
        "service_kind": "specialist",
        "reason": "Evaluate new murmur and exertional dyspnea.",
        "urgency": "routine",
        "diagnoses": ["i50.9", "E11.9"],
        **extra,
    }
    return api.post(f"/api/v1/patients/{who['id']}/referrals", json=body)


def step(api: TestClient, ref: dict[str, Any], action: str, **extra: Any) -> Any:
    return api.post(
        f"/api/v1/referrals/{ref['id']}/transitions",
        json={"action": action, "version": ref["version"], **extra},
    )


def count(factory: sessionmaker[Session], model: Any, **where: Any) -> int:
    with unit_of_work(factory) as db:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.scalar(query) or 0


def document(factory: sessionmaker[Session], patient_id: str) -> uuid.UUID:
    content = b"%PDF-1.4 visit summary"
    with unit_of_work(factory) as db:
        doc = Document(
            patient_id=uuid.UUID(patient_id),
            title="Echo report",
            content_type="application/pdf",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )
        db.add(doc)
        db.flush()
        return doc.id


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


# --- the directory ---------------------------------------------------------------------------


def test_directory_add_search_and_change(api: TestClient) -> None:
    entry = provider(api, specialty="Pulmonology Zq")
    by_name = ok(api.get("/api/v1/directory", params={"q": entry["name"][-8:]}))
    assert [e["id"] for e in by_name] == [entry["id"]]
    by_specialty = ok(api.get("/api/v1/directory", params={"q": "pulmonology zq"}))
    assert entry["id"] in [e["id"] for e in by_specialty]
    by_npi = ok(api.get("/api/v1/directory", params={"q": entry["npi"]}))
    assert [e["id"] for e in by_npi] == [entry["id"]]

    changed = ok(
        api.patch(
            f"/api/v1/directory/{entry['id']}",
            json={"version": entry["version"], "fax": "+13125550100", "active": False},
        )
    )
    assert changed["fax"] == "+13125550100"
    assert changed["active"] is False
    assert changed["version"] == entry["version"] + 1
    hidden = ok(api.get("/api/v1/directory", params={"q": entry["npi"]}))
    assert hidden == []
    shown = ok(api.get("/api/v1/directory", params={"q": entry["npi"], "include_inactive": True}))
    assert [e["id"] for e in shown] == [entry["id"]]
    stale = problem(
        api.patch(f"/api/v1/directory/{entry['id']}", json={"version": entry["version"]}), 409
    )
    assert "changed by someone else" in stale["detail"]


def test_directory_refuses_a_bad_npi_and_a_listed_one(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    before = count(factory, OutsideProvider)
    bad = problem(
        api.post(
            "/api/v1/directory",
            json={"name": "Dr Typo", "kind": "specialist", "npi": "1234567890"},
        ),
        422,
    )
    assert "not a valid NPI" in bad["detail"] or "NPI" in str(bad)
    direct = problem(
        api.post(
            "/api/v1/directory",
            json={"name": "Dr Direct", "kind": "other", "direct_address": "not an address"},
        ),
        422,
    )
    assert "Direct address" in str(direct)
    entry = provider(api)
    taken = problem(
        api.post(
            "/api/v1/directory",
            json={"name": "Someone Else", "kind": "specialist", "npi": entry["npi"]},
        ),
        409,
    )
    assert entry["name"] in taken["detail"]
    assert count(factory, OutsideProvider) == before + 1


# --- the loop --------------------------------------------------------------------------------


def test_a_referral_loop_closes_with_history_and_audit(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    who = clinic["patient"]
    to = provider(api)
    made = ok(referral(api, who, to), 201)
    assert made["status"] == "draft"
    assert made["number"].startswith("R")
    assert [d["code"] for d in made["diagnoses"]] == ["I50.9", "E11.9"]
    assert made["diagnoses"][0]["display"].startswith("Heart failure")
    assert made["actions"] == ["send", "cancel"]

    sent = ok(step(api, made, "send"))
    assert sent["status"] == "sent"
    assert sent["sent_at"] is not None
    assert sent["due_on"] is not None
    assert sent["overdue"] is False
    accepted = ok(step(api, sent, "accept"))
    visit = ok(book(api, clinic, dt.datetime.combine(next_weekday(2), dt.time(9), CHICAGO)), 201)
    scheduled = ok(step(api, accepted, "schedule", appointment_id=visit["id"]))
    assert scheduled["appointment_id"] == visit["id"]
    assert scheduled["scheduled_for"] == next_weekday(2).isoformat()
    seen = ok(step(api, scheduled, "seen"))
    assert seen["seen_on"] is not None
    assert seen["due_on"] is not None
    reported = ok(step(api, seen, "report"))
    closed = ok(step(api, reported, "close"))
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    assert closed["actions"] == []
    assert closed["due_on"] is None

    history = ok(api.get(f"/api/v1/referrals/{made['id']}/history"))
    assert [h["status"] for h in history] == [
        "draft",
        "sent",
        "accepted",
        "scheduled",
        "seen",
        "report-received",
        "closed",
    ]
    assert all(h["changed_by"] for h in history)
    changes = [
        row.reason
        for row in audit_rows(factory, entity_id=made["id"], action="update")
        if row.patient_id == uuid.UUID(who["id"])
    ]
    assert "status report-received -> closed" in changes
    listed = ok(api.get(f"/api/v1/patients/{who['id']}/referrals"))
    assert [r["id"] for r in listed] == [made["id"]]


def test_outside_visit_date_and_declined_then_closed(api: TestClient) -> None:
    who = patient(api)
    to = provider(api, kind="therapy", specialty="Physical therapy")
    made = ok(referral(api, who, to, service_kind="therapy", diagnoses=[]), 201)
    sent = ok(step(api, made, "send"))
    needs_date = problem(step(api, sent, "schedule"), 422)
    assert "scheduled_for" in str(needs_date)
    day = (clinic_today() + dt.timedelta(days=9)).isoformat()
    scheduled = ok(step(api, sent, "schedule", scheduled_for=day))
    assert scheduled["scheduled_for"] == day
    assert scheduled["appointment_id"] is None

    other = ok(referral(api, who, to), 201)
    other_sent = ok(step(api, other, "send"))
    no_reason = problem(step(api, other_sent, "decline"), 422)
    assert "reason" in str(no_reason)
    declined = ok(step(api, other_sent, "decline", reason="Not taking new patients"))
    assert declined["status_reason"] == "Not taking new patients"
    assert ok(step(api, declined, "close"))["status"] == "closed"


# --- bad input -------------------------------------------------------------------------------


def test_unknown_icd10_code_is_named_and_nothing_stored(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    to = provider(api)
    before = count(factory, Referral)
    body = problem(referral(api, who, to, diagnoses=["E11.9", "XYZ.99"]), 422)
    assert "XYZ.99" in body["detail"]
    heading = problem(referral(api, who, to, diagnoses=["E11"]), 422)
    assert "not a billable code" in heading["detail"]
    assert count(factory, Referral) == before


def test_a_step_the_status_does_not_allow_is_a_conflict(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    made = ok(referral(api, patient(api), provider(api)), 201)
    body = problem(step(api, made, "seen"), 409)
    assert "draft" in body["detail"]
    assert "mark sent" in body["detail"]
    assert ok(api.get(f"/api/v1/referrals/{made['id']}"))["status"] == "draft"
    cancelled = ok(step(api, made, "cancel", reason="Patient chose another clinic"))
    again = problem(step(api, cancelled, "cancel", reason="twice"), 409)
    assert "finished" in again["detail"]
    unknown = problem(step(api, cancelled, "teleport"), 422)
    assert "action" in str(unknown)


def test_another_patients_appointment_or_document_is_refused(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    someone = patient(api)
    to = provider(api)
    theirs = ok(book(api, clinic, dt.datetime.combine(next_weekday(3), dt.time(10), CHICAGO)), 201)
    sent = ok(step(api, ok(referral(api, someone, to), 201), "send"))
    body = problem(step(api, sent, "schedule", appointment_id=theirs["id"]), 422)
    assert "another patient" in body["detail"]
    missing = problem(step(api, sent, "schedule", appointment_id=str(uuid.uuid4())), 422)
    assert "no appointment" in missing["detail"].lower()
    still = ok(api.get(f"/api/v1/referrals/{sent['id']}"))
    assert still["status"] == "sent"
    assert still["version"] == sent["version"]

    their_doc = document(factory, clinic["patient"]["id"])
    before = count(factory, Referral)
    refused = problem(referral(api, someone, to, attachment_ids=[str(their_doc)]), 422)
    assert "another patient" in refused["detail"]
    assert count(factory, Referral) == before
    mine = document(factory, someone["id"])
    attached = ok(referral(api, someone, to, attachment_ids=[str(mine)]), 201)
    assert attached["attachment_ids"] == [str(mine)]


def test_stale_versions_are_refused(api: TestClient) -> None:
    made = ok(referral(api, patient(api), provider(api)), 201)
    ok(step(api, made, "send"))
    stale = problem(step(api, made, "cancel", reason="late"), 409)
    assert "changed by someone else" in stale["detail"]
    edit = problem(
        api.patch(f"/api/v1/referrals/{made['id']}", json={"version": made["version"]}), 409
    )
    assert "changed by someone else" in edit["detail"]
    current = ok(api.get(f"/api/v1/referrals/{made['id']}"))
    assert current["status"] == "sent"
    changed = ok(
        api.patch(
            f"/api/v1/referrals/{made['id']}",
            json={"version": current["version"], "urgency": "urgent", "diagnoses": ["I10"]},
        )
    )
    assert changed["urgency"] == "urgent"
    assert changed["diagnoses"][0]["code"] == "I10"
    bad = problem(
        api.patch(
            f"/api/v1/referrals/{made['id']}",
            json={"version": changed["version"], "diagnoses": ["Q99.99X"]},
        ),
        422,
    )
    assert "Q99.99X" in bad["detail"]


def test_the_tracker_lists_overdue_first(api: TestClient, factory: sessionmaker[Session]) -> None:
    who = patient(api)
    to = provider(api)
    fresh = ok(step(api, ok(referral(api, who, to, urgency="urgent"), 201), "send"))
    late = ok(step(api, ok(referral(api, who, to, urgency="urgent"), 201), "send"))
    with unit_of_work(factory) as db:
        row = db.get(Referral, uuid.UUID(late["id"]))
        assert row is not None
        assert row.sent_at is not None
        row.sent_at = row.sent_at - dt.timedelta(days=5)
    rows = ok(api.get("/api/v1/referrals", params={"urgency": "urgent", "direction": "outgoing"}))
    ids = [r["id"] for r in rows]
    assert ids.index(late["id"]) < ids.index(fresh["id"])
    assert rows[0]["overdue"] is True
    overdue = ok(api.get("/api/v1/referrals", params={"overdue": True}))
    assert late["id"] in [r["id"] for r in overdue]
    assert fresh["id"] not in [r["id"] for r in overdue]
    assert audit_rows(factory, reason="referral tracker")


def test_reads_are_audited_with_the_patient(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    made = ok(referral(api, who, provider(api)), 201)
    ok(api.get(f"/api/v1/referrals/{made['id']}"))
    reads = audit_rows(factory, entity_id=made["id"], action="read")
    assert reads
    assert reads[-1].patient_id == uuid.UUID(who["id"])
