"""Tasks created and changed through FHIR are the tasks service's: the same checks (a
cancel needs its reason), the same audit, versions guarded by If-Match."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.security.models import AuditEvent
from carebridge.tasks.models import Task
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import register

JSON = {"Content-Type": "application/fhir+json"}
KIND = "urn:carebridge:task-kind"


def a_task(patient: uuid.UUID, due: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": "urgent",
        "code": {"coding": [{"system": KIND, "code": "call"}]},
        "description": "Call about the lab results\n\nA1c came back at 9.1.",
        "for": {"reference": f"Patient/{patient}"},
        "restriction": {"period": {"end": due.isoformat()}},
        "note": [{"text": "from the lab system"}],
    }


def test_tasks_are_made_and_moved_through_the_service(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    patient = register(factory, "Tk" + uuid.uuid4().hex[:8], "Ana", dt.date(1950, 3, 14))
    due = dt.datetime(2031, 5, 2, 16, 0, tzinfo=dt.UTC)
    made = client.post(
        "/fhir/R4/Task",
        json=a_task(patient, due),
        headers={**headers, "Prefer": "return=OperationOutcome"},
    )
    assert made.status_code == 201, made.text
    assert "Task.note" in made.json()["issue"][0]["diagnostics"]
    task_id = made.headers["location"].split("/")[-3]
    with unit_of_work(factory, write=False) as db:
        task = db.get(Task, uuid.UUID(task_id))
        assert task is not None
        assert (task.title, task.description, task.kind, task.priority) == (
            "Call about the lab results",
            "A1c came back at 9.1.",
            "call",
            "urgent",
        )
        assert task.patient_id == patient
        assert task.due_at.replace(tzinfo=dt.UTC) == due
        assert db.scalar(
            select(AuditEvent.action).where(
                AuditEvent.entity_type == "Task", AuditEvent.entity_id == task_id
            )
        )

    current = client.get(f"/fhir/R4/Task/{task_id}", headers=headers).json()
    current["status"] = "in-progress"
    current["priority"] = "asap"
    moved = client.put(
        f"/fhir/R4/Task/{task_id}", json=current, headers={**headers, "If-Match": 'W/"1"'}
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == 'W/"2"'
    assert (moved.json()["status"], moved.json()["priority"]) == ("in-progress", "asap")
    stale = client.put(
        f"/fhir/R4/Task/{task_id}", json=current, headers={**headers, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412

    cancel = {**moved.json(), "status": "cancelled"}
    refused = client.put(f"/fhir/R4/Task/{task_id}", json=cancel, headers=headers)
    assert refused.status_code in (409, 422), refused.text
    assert refused.json()["resourceType"] == "OperationOutcome"
    cancel["statusReason"] = {"text": "Patient seen in clinic today"}
    done = client.put(f"/fhir/R4/Task/{task_id}", json=cancel, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "cancelled"

    wrong = client.post(
        "/fhir/R4/Task", json={**a_task(patient, due), "priority": "whenever"}, headers=headers
    )
    assert wrong.status_code == 422
    assert "priority" in wrong.json()["issue"][0]["diagnostics"]
