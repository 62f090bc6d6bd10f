"""The outreach log through the API and the pages: attempts counted per patient and task,
outcomes that fit the channel, next attempts not in the past, a call that reaches the
patient completing its task in the same change; refused attempts write nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.tasks.models import OutreachAttempt
from tests.factories import csrf_from, sign_in
from tests.integration import test_tasks_api as tasks
from tests.integration.test_sign_in import audit_rows
from tests.integration.test_tasks_api import make_task, new_patient, ok, patch, task_row

CHICAGO = ZoneInfo("America/Chicago")
# The task tests' fixtures, used here as they are.
api = tasks.api
me = tasks.me


def attempts_of(factory: sessionmaker[Session], patient_id: uuid.UUID | str) -> int:
    with unit_of_work(factory) as db:
        return (
            db.scalar(
                select(func.count())
                .select_from(OutreachAttempt)
                .where(OutreachAttempt.patient_id == uuid.UUID(str(patient_id)))
            )
            or 0
        )


def log(api: TestClient, patient_id: uuid.UUID | str, **body: Any) -> Any:
    return api.post(f"/api/v1/patients/{patient_id}/outreach", json=body)


def today() -> dt.date:
    return dt.datetime.now(CHICAGO).date()


def test_attempts_are_logged_counted_and_audited(
    api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    patient_id = new_patient(factory)
    task = make_task(api, patient_id=str(patient_id), kind="call")
    first = ok(log(api, patient_id, task_id=task["id"], channel="phone", outcome="no-answer"), 201)
    assert first["attempt"]["by"] == me.display_name
    assert first["task"]["status"] == "in-progress"  # work has begun
    tomorrow = today() + dt.timedelta(days=1)
    second = ok(
        log(
            api,
            patient_id,
            task_id=task["id"],
            channel="phone",
            outcome="voicemail",
            note="Left a message with the clinic number",
            next_attempt_on=tomorrow.isoformat(),
        ),
        201,
    )
    due = dt.datetime.fromisoformat(second["task"]["due_at"]).astimezone(CHICAGO)
    assert (due.date(), due.time()) == (tomorrow, dt.time(9, 0))  # due again next morning
    assert second["task"]["business_status"] == f"Next attempt {tomorrow:%d %b}"
    ok(log(api, patient_id, channel="letter", outcome="sent"), 201)  # not for a task

    for_patient = ok(api.get(f"/api/v1/patients/{patient_id}/outreach"))
    assert for_patient["total"] == 3
    assert for_patient["by_outcome"] == {"no-answer": 1, "voicemail": 1, "sent": 1}
    assert for_patient["last_reached_at"] is None
    assert for_patient["next_attempt_on"] == tomorrow.isoformat()
    assert for_patient["attempts"][0]["channel"] == "letter"  # newest first
    for_task = ok(api.get(f"/api/v1/tasks/{task['id']}/outreach"))
    assert for_task["total"] == 2
    listed = ok(api.get("/api/v1/worklist", params={"patient_id": str(patient_id)}))
    assert [r["attempts"] for r in listed["items"]] == [2]
    created = audit_rows(factory, entity_type="OutreachAttempt", action="create")
    assert {r.patient_id for r in created if r.username == me.username} == {patient_id}


def test_reached_completes_the_task_in_the_same_change_and_not_twice(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = new_patient(factory)
    task = make_task(api, patient_id=str(patient_id), kind="call")
    done = ok(
        log(
            api,
            patient_id,
            task_id=task["id"],
            channel="phone",
            outcome="reached",
            contact_name="Daughter, Ana",
            complete_task=True,
            task_version=task["version"],
        ),
        201,
    )
    assert done["task"]["status"] == "completed"
    assert done["task"]["business_status"] == "Patient reached"
    assert attempts_of(factory, patient_id) == 1
    again = log(
        api, patient_id, task_id=task["id"], channel="phone", outcome="reached", complete_task=True
    )
    assert again.status_code == 409
    assert "already completed" in again.json()["detail"]
    assert attempts_of(factory, patient_id) == 1  # the refused attempt was not written
    late_note = ok(log(api, patient_id, task_id=task["id"], channel="sms", outcome="sent"), 201)
    assert late_note["task"]["status"] == "completed"  # a closed task is left alone


def test_bad_attempts_are_refused_and_write_nothing(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = new_patient(factory)
    task = make_task(api, patient_id=str(patient_id))
    others = make_task(api, patient_id=str(new_patient(factory)))
    stale = ok(patch(api, task, priority="urgent"))
    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    cases = [
        ({"channel": "phone", "outcome": "sent"}, "cannot end as 'sent'"),
        ({"channel": "letter", "outcome": "voicemail"}, "cannot end as 'left voicemail'"),
        ({"channel": "phone", "outcome": "no-answer", "direction": "inbound"}, "contacted us"),
        (
            {"channel": "phone", "outcome": "no-answer", "next_attempt_on": yesterday},
            "is in the past",
        ),
        (
            {"channel": "phone", "outcome": "reached", "occurred_at": "2099-01-01T10:00:00Z"},
            "dated in the future",
        ),
        ({"channel": "phone", "outcome": "voicemail", "complete_task": True}, "no task"),
        (
            {
                "channel": "phone",
                "outcome": "voicemail",
                "complete_task": True,
                "task_id": task["id"],
            },
            "only when the patient was reached",
        ),
        ({"channel": "phone", "outcome": "reached", "task_id": others["id"]}, "another patient"),
        ({"channel": "pigeon", "outcome": "reached"}, "unknown channel 'pigeon'"),
        ({"channel": "phone", "outcome": "maybe"}, "unknown outcome 'maybe'"),
    ]
    for body, words in cases:
        response = log(api, patient_id, **body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.text, (body, response.text)
    stale_write = log(
        api,
        patient_id,
        task_id=task["id"],
        channel="phone",
        outcome="reached",
        complete_task=True,
        task_version=1,
    )
    assert stale_write.status_code == 409
    assert log(api, uuid.uuid4(), channel="phone", outcome="reached").status_code == 404
    assert attempts_of(factory, patient_id) == 0
    row = task_row(factory, task["id"])
    assert (row.status, row.version) == ("ready", stale["version"])


def test_logging_a_call_from_the_task_page_and_the_chart(
    app: FastAPI, api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    patient_id = new_patient(factory)
    task = make_task(api, patient_id=str(patient_id), kind="call", title="Call about results")
    with TestClient(app, follow_redirects=False) as browser:
        assert sign_in(browser, me.username).status_code == 303
        page = browser.get(f"/tasks/{task['id']}")
        assert page.status_code == 200
        assert "0 attempts" in page.text
        token = csrf_from(page)
        refused = browser.post(
            f"/tasks/{task['id']}/outreach",
            data={"csrf_token": token, "channel": "phone", "outcome": "sent", "note": "typed"},
        )
        assert refused.status_code == 422
        assert "cannot end as" in refused.text
        assert ">typed</textarea>" in refused.text  # nothing typed is lost
        logged = browser.post(
            f"/tasks/{task['id']}/outreach",
            data={
                "csrf_token": token,
                "channel": "phone",
                "outcome": "reached",
                "complete_task": "yes",
                "version": str(task["version"]),
            },
        )
        assert logged.status_code == 303
        assert task_row(factory, task["id"]).status == "completed"
        shown = browser.get(f"/tasks/{task['id']}").text
        assert "1 attempt" in shown
        assert "Phone call logged: reached. The task is completed." in shown

        chart = browser.get(f"/patients/{patient_id}/tasks")
        assert chart.status_code == 200
        assert "Tasks &amp; outreach" in chart.text
        assert "Outreach log" in chart.text
        assert "Reached: <strong>1</strong>" in chart.text
        logged = browser.post(
            f"/patients/{patient_id}/outreach",
            data={"csrf_token": csrf_from(chart), "channel": "email", "outcome": "sent"},
        )
        assert logged.status_code == 303
        assert attempts_of(factory, patient_id) == 2
        empty = browser.post(
            f"/patients/{patient_id}/outreach",
            data={"csrf_token": csrf_from(chart), "channel": "email"},
        )
        assert empty.status_code == 422
        assert attempts_of(factory, patient_id) == 2
