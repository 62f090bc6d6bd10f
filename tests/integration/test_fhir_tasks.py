"""Task and Communication over FHIR, kept current by the worklist and the outreach log: a
task reads with its status, priority, patient, owner or queue, due time and focus; comments
and outreach move it to its next versions; a task raised from a care-plan activity is based
on the plan; each outreach attempt is a Communication found by patient, status and task."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.fhir.mappers.tasks import focus_reference
from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import ids, search
from tests.integration.test_tasks_api import api, make_task, me, new_patient, new_queue, ok

__all__ = ["api", "me"]  # the task tests' fixtures, used here as they are


def read(api: TestClient, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(api.get(f"/fhir/R4/{ref}"))
    return found


def test_a_task_reads_as_the_worklist_has_it_and_follows_its_changes(
    api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    patient_id = new_patient(factory)
    plan = ok(
        api.post(f"/api/v1/patients/{patient_id}/care-plans", json={"title": "Diabetes"}), 201
    )
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    task = make_task(
        api,
        patient_id=str(patient_id),
        kind="call",
        priority="urgent",
        description="Ask about the new insulin dose",
        due_at=due.isoformat(),
        focus_type="CarePlan",
        focus_id=plan["id"],
    )
    resource = read(api, f"Task/{task['id']}")
    assert resource["meta"]["versionId"] == "1"
    assert (resource["status"], resource["intent"]) == (task["status"], "order")
    assert resource["priority"] == "urgent"
    assert resource["for"] == {"reference": f"Patient/{patient_id}"}
    assert resource["owner"] == {"display": me.display_name}
    assert resource["focus"] == {"reference": f"CarePlan/{plan['id']}"}
    assert resource["code"]["coding"][0]["code"] == "call"
    assert resource["description"].startswith(task["title"])
    assert resource["restriction"]["period"]["end"] == due.isoformat().replace("+00:00", "Z")

    assert ids(search(api, {}, f"Task?patient={patient_id}")) == [task["id"]]
    found = search(api, {}, f"Task?patient={patient_id}&status={task['status']}&code=call")
    assert ids(found) == [task["id"]]
    assert ids(search(api, {}, f"Task?focus=CarePlan/{plan['id']}")) == [task["id"]]
    later = (due + dt.timedelta(days=1)).date().isoformat()
    assert ids(search(api, {}, f"Task?patient={patient_id}&period=le{later}")) == [task["id"]]
    assert ids(search(api, {}, f"Task?patient={patient_id}&status=completed")) == []

    ok(api.post(f"/api/v1/tasks/{task['id']}/comments", json={"text": "Left a message"}), 201)
    commented = read(api, f"Task/{task['id']}")
    assert commented["meta"]["versionId"] == "2"
    assert commented["note"][0]["text"] == "Left a message"
    assert commented["note"][0]["authorString"] == me.display_name

    # A call that reaches the patient completes the task, and is a Communication of its own.
    logged = ok(
        api.post(
            f"/api/v1/patients/{patient_id}/outreach",
            json={
                "task_id": task["id"],
                "channel": "phone",
                "outcome": "reached",
                "note": "Dose understood",
                "complete_task": True,
            },
        ),
        201,
    )
    done = read(api, f"Task/{task['id']}")
    assert int(done["meta"]["versionId"]) == 3
    assert done["status"] == "completed"
    assert "end" in done["executionPeriod"]
    assert ids(search(api, {}, f"Task?patient={patient_id}&status=completed")) == [task["id"]]
    call = read(api, f"Communication/{logged['attempt']['id']}")
    assert call["status"] == "completed"
    assert call["basedOn"] == [{"reference": f"Task/{task['id']}"}]
    assert call["medium"][0]["coding"][0]["code"] == "PHONE"
    assert call["subject"] == {"reference": f"Patient/{patient_id}"}
    assert call["recipient"] == [{"reference": f"Patient/{patient_id}"}]
    assert call["note"] == [{"text": "Dose understood"}]
    assert "sent" in call


def test_outreach_not_answered_is_not_done_and_found_by_status(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = new_patient(factory)
    attempt = ok(
        api.post(
            f"/api/v1/patients/{patient_id}/outreach",
            json={"channel": "sms", "outcome": "wrong-number"},
        ),
        201,
    )["attempt"]
    inbound = ok(
        api.post(
            f"/api/v1/patients/{patient_id}/outreach",
            json={
                "channel": "phone",
                "direction": "inbound",
                "outcome": "reached",
                "contact_name": "Ana (daughter)",
            },
        ),
        201,
    )["attempt"]
    missed = read(api, f"Communication/{attempt['id']}")
    assert missed["status"] == "not-done"
    assert missed["statusReason"]["coding"][0]["code"] == "wrong-number"
    called = read(api, f"Communication/{inbound['id']}")
    assert called["sender"] == {"display": "Ana (daughter)"}
    assert "received" in called
    assert "sent" not in called
    every = search(api, {}, f"Communication?patient={patient_id}")
    assert sorted(ids(every)) == sorted([attempt["id"], inbound["id"]])
    not_done = search(api, {}, f"Communication?patient={patient_id}&status=not-done")
    assert ids(not_done) == [attempt["id"]]
    by_phone = search(
        api,
        {},
        f"Communication?patient={patient_id}&medium="
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode|PHONE",
    )
    assert ids(by_phone) == [inbound["id"]]


def test_a_queued_task_and_one_raised_from_a_care_plan(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = new_patient(factory)
    queue = new_queue(factory)
    queued = make_task(api, patient_id=str(patient_id), queue=queue)
    resource = read(api, f"Task/{queued['id']}")
    assert "owner" not in resource
    assert resource["performerType"][0]["coding"][0]["code"] == queue
    assert resource["performerType"][0]["text"] == f"Queue {queue}"

    plan = ok(api.post(f"/api/v1/patients/{patient_id}/care-plans", json={"title": "COPD"}), 201)
    activity = ok(
        api.post(
            f"/api/v1/care-plans/{plan['id']}/activities",
            json={"kind": "task", "description": "Check inhaler use", "raise_task": True},
        ),
        201,
    )
    task_id = activity["link_id"]
    raised = read(api, f"Task/{task_id}")
    assert raised["basedOn"] == [{"reference": f"CarePlan/{plan['id']}"}]
    rendered_plan = read(api, f"CarePlan/{plan['id']}")
    assert rendered_plan["activity"][0]["outcomeReference"] == [{"reference": f"Task/{task_id}"}]
    assert ids(search(api, {}, f"Task?based-on=CarePlan/{plan['id']}")) == [task_id]
    refused = api.get(f"/fhir/R4/Task/{task_id}", headers=bearer(factory, Role.AUDITOR))
    assert refused.status_code == 403


def test_focus_names_the_type_a_record_is_served_as() -> None:
    referral, stay, encounter, entry = (uuid.uuid4() for _ in range(4))
    assert focus_reference("Referral", referral, {}) == {"reference": f"ServiceRequest/{referral}"}
    assert focus_reference("Transition", stay, {stay: f"Encounter/{encounter}"}) == {
        "reference": f"Encounter/{encounter}"
    }
    unserved = focus_reference("WaitlistEntry", entry, {})
    assert unserved == {
        "identifier": {"system": "urn:carebridge:record:WaitlistEntry", "value": str(entry)},
        "display": "Waitlist entry",
    }
    assert focus_reference(None, None, {}) is None
