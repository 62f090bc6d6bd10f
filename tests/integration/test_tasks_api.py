"""Tasks through the JSON API: made by hand and from templates, FHIR status transitions,
assignment to people and queues, focus checks, comments, history, bulk changes, templates
and notifications. Every refused change is checked to have changed nothing."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.history import RecordVersion
from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security import service as security
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.tasks.models import QueueMember, Task, TaskComment, WorkQueue
from tests.factories import make_token, make_user
from tests.integration.test_sign_in import audit_rows

CHICAGO = ZoneInfo("America/Chicago")
SYSTEM = Actor.system("test")


# --- builders other task tests use too ---------------------------------------------------


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def as_user(client: TestClient, factory: sessionmaker[Session], username: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {make_token(factory, username)}"
    return client


@pytest.fixture
def me(factory: sessionmaker[Session]) -> Any:
    return make_user(factory, Role.COORDINATOR)


@pytest.fixture
def api(client: TestClient, factory: sessionmaker[Session], me: Any) -> TestClient:
    return as_user(client, factory, me.username)


def new_patient(factory: sessionmaker[Session], given: str = "Rosa") -> uuid.UUID:
    family = "Tq" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz", k=9))
    with unit_of_work(factory) as db:
        return patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=family.capitalize(),
                given_names=given,
                birth_date=dt.date(1950 + random.randint(0, 40), 1 + random.randint(0, 11), 9),
                sex="female",
            ),
        ).id


def new_queue(
    factory: sessionmaker[Session], members: list[uuid.UUID] = (), active: bool = True
) -> str:  # type: ignore[assignment]
    code = f"q-{uuid.uuid4().hex[:8]}"
    with unit_of_work(factory) as db:
        queue = WorkQueue(code=code, name=f"Queue {code}", is_active=active)
        db.add(queue)
        db.flush()
        for user_id in members:
            db.add(QueueMember(queue_id=queue.id, user_id=user_id))
    return code


def task_row(factory: sessionmaker[Session], task_id: str | uuid.UUID) -> Task:
    with unit_of_work(factory) as db:
        task = db.get(Task, uuid.UUID(str(task_id)))
        assert task is not None
        db.expunge(task)
        return task


def versions_of(factory: sessionmaker[Session], task_id: str) -> int:
    with unit_of_work(factory) as db:
        return (
            db.scalar(
                select(func.count())
                .select_from(RecordVersion)
                .where(
                    RecordVersion.entity_type == "Task",
                    RecordVersion.entity_id == uuid.UUID(task_id),
                )
            )
            or 0
        )


def make_task(api: TestClient, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Call about the lab results")
    return ok(api.post("/api/v1/tasks", json=body), 201)  # type: ignore[no-any-return]


def patch(api: TestClient, task: dict[str, Any], **change: Any) -> Any:
    return api.patch(
        f"/api/v1/tasks/{task['id']}", json=change, headers={"If-Match": f'W/"{task["version"]}"'}
    )


# --- creating --------------------------------------------------------------------------------


def test_task_from_template_is_filled_owned_by_its_maker_and_audited(
    api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    patient_id = new_patient(factory)
    response = api.post(
        "/api/v1/tasks", json={"preset": "post-discharge-call", "patient_id": str(patient_id)}
    )
    task = ok(response, 201)
    assert response.headers["ETag"] == 'W/"1"'
    assert task["title"] == "Post-discharge call within 2 business days"
    assert (task["kind"], task["priority"], task["template_key"]) == (
        "transition",
        "urgent",
        "post-discharge-call",
    )
    assert task["owner_id"] == str(me.id)
    assert task["status"] == "ready"
    due = dt.datetime.fromisoformat(task["due_at"]).astimezone(CHICAGO)
    assert due.time() == dt.time(17, 0)
    assert due.isoweekday() < 6
    today = dt.datetime.now(CHICAGO).date()
    business_days = sum(
        1
        for n in range(1, (due.date() - today).days + 1)
        if (today + dt.timedelta(days=n)).isoweekday() < 6
    )
    assert business_days == 2
    [created] = audit_rows(factory, entity_type="Task", entity_id=task["id"], action="create")
    assert created.patient_id == patient_id
    assert created.username == me.username


def test_task_given_to_a_queue_or_a_colleague(
    api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    colleague = make_user(factory, Role.CLINICIAN)
    queue = new_queue(factory, [me.id])
    queued = make_task(api, queue=queue, priority="asap")
    assert (queued["owner_id"], queued["queue"], queued["status"]) == (None, queue, "requested")
    given = make_task(api, owner_id=str(colleague.id))
    assert given["owner_id"] == str(colleague.id)
    theirs = as_user(api, factory, colleague.username)
    notes = ok(theirs.get("/api/v1/notifications"))
    assert [n["link"] for n in notes] == [f"/tasks/{given['id']}"]
    assert ok(theirs.post("/api/v1/notifications/read", json={})) == {"marked": 1}
    assert ok(theirs.get("/api/v1/notifications")) == []


def test_bad_new_tasks_are_refused_and_nothing_is_made(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = str(new_patient(factory))
    other = make_task(api, title="Another patient's task", patient_id=str(new_patient(factory)))
    with unit_of_work(factory) as db:
        before = db.scalar(select(func.count()).select_from(Task))
    cases = [
        (
            {"focus_type": "Spaceship", "focus_id": str(uuid.uuid4())},
            "cannot concern a 'Spaceship'",
        ),
        ({"focus_type": "Appointment", "focus_id": str(uuid.uuid4())}, "no appointment with id"),
        ({"focus_type": "Task", "focus_id": other["id"]}, "belongs to another patient"),
        ({"focus_type": "Task"}, "focus_type and focus_id together"),
        ({"preset": "no-such-template"}, "no task template 'no-such-template'"),
        ({"queue": "nobody-works-here"}, "no queue 'nobody-works-here'"),
        ({"due_at": "2020-01-01T09:00:00-06:00"}, "in the past"),
        ({"due_at": "2030-01-01T09:00:00"}, "UTC offset"),
        ({"priority": "whenever"}, "unknown priority 'whenever'"),
        ({"patient_id": str(uuid.uuid4())}, "No patient has id"),
    ]
    for extra, words in cases:
        body = {"title": "Check the referral", "patient_id": patient_id, **extra}
        response = api.post("/api/v1/tasks", json=body)
        assert response.status_code == 422, (extra, response.text)
        assert words in response.text, (extra, response.text)
    with unit_of_work(factory) as db:
        assert db.scalar(select(func.count()).select_from(Task)) == before


def test_focus_on_a_record_of_the_same_patient_links_to_it(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = str(new_patient(factory))
    first = make_task(api, patient_id=patient_id)
    follow = make_task(api, title="Follow the first", focus_type="Task", focus_id=first["id"])
    assert follow["patient_id"] == patient_id  # taken from the focus
    detail = ok(api.get(f"/api/v1/tasks/{follow['id']}"))
    assert detail["focus_url"] == f"/tasks/{first['id']}"
    on_chart = make_task(api, title="Look at the chart", focus_type="Patient", focus_id=patient_id)
    assert ok(api.get(f"/api/v1/tasks/{on_chart['id']}"))["focus_url"] == f"/patients/{patient_id}"


# --- statuses ------------------------------------------------------------------------------


def test_task_moves_through_fhir_statuses_and_completed_is_final(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    task = make_task(api, patient_id=str(new_patient(factory)))
    task = ok(patch(api, task, status="in-progress"))
    task = ok(patch(api, task, status="on-hold", reason="Patient in hospital until Friday"))
    task = ok(patch(api, task, status="in-progress", business_status="Back home"))
    response = patch(api, task, status="completed", business_status="Patient reached")
    task = ok(response)
    assert response.headers["ETag"] == f'W/"{task["version"]}"'
    assert task["status"] == "completed"
    assert not task["is_open"]
    assert task["completed_at"] is not None
    assert task["business_status"] == "Patient reached"
    versions = versions_of(factory, task["id"])

    again = patch(api, task, status="completed")
    assert again.status_code == 409
    assert "is already completed" in again.json()["detail"]
    assert "Nothing was changed" in again.json()["detail"]
    later = patch(api, task, priority="stat")
    assert later.status_code == 409
    assert "cannot change" in later.json()["detail"]
    row = task_row(factory, task["id"])
    assert (row.version, row.priority, row.status) == (task["version"], "routine", "completed")
    assert versions_of(factory, task["id"]) == versions
    with unit_of_work(factory) as db:
        notes = db.scalars(select(TaskComment.text).where(TaskComment.task_id == row.id))
        assert list(notes) == ["Put on hold: Patient in hospital until Friday"]


def test_transition_rules_and_cancel_reason(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    task = make_task(api)
    task = ok(patch(api, task, status="in-progress"))
    back = patch(api, task, status="requested")
    assert back.status_code == 409
    assert "cannot become requested" in back.json()["detail"]
    silent = patch(api, task, status="cancelled")
    assert silent.status_code == 422
    assert silent.json()["errors"] == [{"field": "reason", "message": "Give a reason."}]
    assert task_row(factory, task["id"]).status == "in-progress"
    done = ok(patch(api, task, status="cancelled", reason="Duplicate of another task"))
    assert done["status"] == "cancelled"
    assert done["completed_at"] is None
    assert patch(api, done, status="completed").status_code == 409


def test_stale_update_is_409_and_changes_nothing(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    task = make_task(api, priority="routine")
    ok(patch(api, task, priority="urgent"))  # someone else, a moment earlier
    stale = patch(api, task, priority="stat", status="completed")
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert "changed by someone else" in stale.json()["detail"]
    body_version = api.patch(
        f"/api/v1/tasks/{task['id']}", json={"version": 1, "due_at": "2031-01-01T10:00:00Z"}
    )
    assert body_version.status_code == 409
    row = task_row(factory, task["id"])
    assert (row.version, row.priority, row.status) == (2, "urgent", "ready")
    assert row.due_at.year != 2031
    unsent = api.patch(f"/api/v1/tasks/{task['id']}", json={"priority": "stat"})
    assert unsent.status_code == 422
    assert "version" in unsent.json()["detail"]
    bad = api.patch(
        f"/api/v1/tasks/{task['id']}", json={"priority": "stat"}, headers={"If-Match": "yes"}
    )
    assert bad.status_code == 400


# --- assignment ----------------------------------------------------------------------------


def test_assignment_to_a_disabled_unknown_or_non_working_user_is_refused(
    api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    leaver = make_user(factory, Role.COORDINATOR)
    with unit_of_work(factory) as db:
        security.set_active(db, SYSTEM, security.find_user(db, leaver.username), False)
    auditor = make_user(factory, Role.AUDITOR)
    task = make_task(api, patient_id=str(new_patient(factory)))
    for owner, words in (
        (leaver.id, f"{leaver.display_name} ({leaver.username}) is disabled"),
        (uuid.uuid4(), "No user has id"),
        (auditor.id, "does not work tasks"),
    ):
        response = patch(api, task, owner_id=str(owner))
        assert response.status_code == 422, response.text
        assert words in response.json()["detail"]
        assert response.json()["errors"][0]["field"] == "owner_id"
    row = task_row(factory, task["id"])
    assert (row.owner_id, row.version) == (me.id, 1)
    assert versions_of(factory, task["id"]) == 1


def test_assignment_to_queues_and_taking_a_task(
    api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    closed = new_queue(factory, active=False)
    queue = new_queue(factory, [me.id])
    task = make_task(api)
    refused = patch(api, task, queue=closed)
    assert refused.status_code == 422
    assert "is closed" in refused.json()["detail"]
    both = patch(api, task, queue=queue, owner_id=str(me.id))
    assert both.status_code == 422
    task = ok(patch(api, task, queue=queue))
    assert (task["owner_id"], task["queue"], task["status"]) == (None, queue, "requested")
    stale = api.post(f"/api/v1/tasks/{task['id']}/take", headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 409
    taken = ok(
        api.post(f"/api/v1/tasks/{task['id']}/take", headers={"If-Match": f'"{task["version"]}"'})
    )
    assert (taken["owner_id"], taken["queue"], taken["status"]) == (str(me.id), queue, "accepted")


# --- comments and history ------------------------------------------------------------------


def test_comments_and_history_say_who_did_what(
    api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    patient_id = new_patient(factory)
    task = make_task(api, patient_id=str(patient_id), priority="routine")
    comment = ok(
        api.post(f"/api/v1/tasks/{task['id']}/comments", json={"text": "Daughter answers"}), 201
    )
    assert comment["author"] == me.display_name
    empty = api.post(f"/api/v1/tasks/{task['id']}/comments", json={"text": "   "})
    assert empty.status_code == 422
    task = ok(patch(api, task, priority="urgent", business_status="Waiting for a call back"))
    ok(
        api.post(
            f"/api/v1/patients/{patient_id}/outreach",
            json={"task_id": task["id"], "channel": "phone", "outcome": "voicemail"},
        ),
        201,
    )
    history = ok(api.get(f"/api/v1/tasks/{task['id']}/history"))
    kinds = [h["kind"] for h in history]
    assert kinds[0] == "created"
    assert {"comment", "changed", "outreach"} <= set(kinds)
    changed = [h for h in history if h["kind"] == "changed"]
    assert "Priority: routine → urgent" in changed[0]["text"]
    assert all(h["who"] == me.display_name for h in history)
    assert "Phone call (outbound): Left voicemail" in [
        h["text"] for h in history if h["kind"] == "outreach"
    ]
    detail = ok(api.get(f"/api/v1/tasks/{task['id']}"))
    assert detail["attempts"] == 1
    assert detail["comments"][0]["text"] == "Daughter answers"
    reads = audit_rows(factory, entity_type="Task", entity_id=task["id"], action="read")
    assert reads
    assert all(r.patient_id == patient_id for r in reads)


# --- bulk ----------------------------------------------------------------------------------


def test_bulk_complete_is_all_or_nothing_and_names_the_task(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    tasks = [make_task(api, title=f"Bulk task {n}") for n in range(3)]
    done = ok(patch(api, tasks[1], status="completed"))
    items = [{"id": t["id"], "version": t["version"]} for t in (tasks[0], done, tasks[2])]
    refused = api.post("/api/v1/tasks/bulk", json={"action": "complete", "tasks": items})
    assert refused.status_code == 409
    body = refused.json()
    assert body["task_id"] == done["id"]
    assert "'Bulk task 1'" in body["detail"]
    assert "already completed" in body["detail"]
    assert "None of the 3 tasks was changed" in body["detail"]
    assert [task_row(factory, t["id"]).status for t in tasks] == ["ready", "completed", "ready"]

    stale = [{"id": tasks[0]["id"], "version": 9}, {"id": tasks[2]["id"]}]
    refused = api.post("/api/v1/tasks/bulk", json={"action": "complete", "tasks": stale})
    assert refused.status_code == 409
    assert refused.json()["task_id"] == tasks[0]["id"]
    missing = [{"id": str(uuid.uuid4())}]
    assert (
        api.post("/api/v1/tasks/bulk", json={"action": "complete", "tasks": missing}).status_code
        == 404
    )

    fresh = [{"id": tasks[0]["id"], "version": 1}, {"id": tasks[2]["id"], "version": 1}]
    result = ok(
        api.post(
            "/api/v1/tasks/bulk",
            json={"action": "complete", "tasks": fresh, "business_status": "Done by phone"},
        )
    )
    assert [t["status"] for t in result["tasks"]] == ["completed", "completed"]
    assert task_row(factory, tasks[2]["id"]).business_status == "Done by phone"


def test_bulk_reassign_refuses_a_disabled_user_and_moves_to_a_queue(
    api: TestClient, factory: sessionmaker[Session], me: Any
) -> None:
    leaver = make_user(factory, Role.COORDINATOR)
    with unit_of_work(factory) as db:
        security.set_active(db, SYSTEM, security.find_user(db, leaver.username), False)
    queue = new_queue(factory, [me.id])
    tasks = [make_task(api, title=f"Reassign {n}") for n in range(2)]
    items = [{"id": t["id"]} for t in tasks]
    refused = api.post(
        "/api/v1/tasks/bulk",
        json={"action": "reassign", "tasks": items, "owner_id": str(leaver.id)},
    )
    assert refused.status_code == 422
    assert "is disabled" in refused.json()["detail"]
    assert all(task_row(factory, t["id"]).owner_id == me.id for t in tasks)
    both = api.post(
        "/api/v1/tasks/bulk",
        json={"action": "reassign", "tasks": items, "owner_id": str(me.id), "queue": queue},
    )
    assert both.status_code == 422
    moved = ok(
        api.post("/api/v1/tasks/bulk", json={"action": "reassign", "tasks": items, "queue": queue})
    )
    assert {(t["owner_id"], t["queue"]) for t in moved["tasks"]} == {(None, queue)}


# --- lists and templates -------------------------------------------------------------------


def test_lists_by_patient_and_for_me(api: TestClient, factory: sessionmaker[Session]) -> None:
    patient_id = str(new_patient(factory))
    late = make_task(api, patient_id=patient_id, kind="call", priority="urgent")
    other = make_task(api, patient_id=patient_id, kind="referral")
    ok(patch(api, other, status="completed"))
    listed = ok(api.get("/api/v1/tasks", params={"patient_id": patient_id}))
    assert [r["task"]["id"] for r in listed["items"]] == [late["id"], other["id"]]
    only_open = ok(api.get("/api/v1/tasks", params={"patient_id": patient_id, "state": "open"}))
    assert [r["task"]["id"] for r in only_open["items"]] == [late["id"]]
    calls = ok(api.get("/api/v1/tasks", params={"kind": "call", "scope": "mine"}))
    assert late["id"] in [r["task"]["id"] for r in calls["items"]]
    assert all(r["task"]["kind"] == "call" for r in calls["items"])
    wrong = api.get("/api/v1/tasks", params={"kind": "gardening"})
    assert wrong.status_code == 422
    assert "Unknown task type 'gardening'" in wrong.text


def test_templates_are_listed(api: TestClient) -> None:
    listed = ok(api.get("/api/v1/task-presets"))
    keys = {p["key"] for p in listed}
    assert {
        "post-discharge-call",
        "medication-reconciliation",
        "schedule-follow-up",
        "prior-authorization-status",
        "confirm-referral-appointment",
        "send-education-material",
        "benefits-check",
    } <= keys
    call = next(p for p in listed if p["key"] == "post-discharge-call")
    assert call["due"] == "end of business in 2 business days"
    assert call["kind"] == "transition"


def test_roles_without_task_work_are_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    auditor = make_user(factory, Role.AUDITOR)
    api = as_user(client, factory, auditor.username)
    assert api.get("/api/v1/tasks").status_code == 403
    assert api.post("/api/v1/tasks", json={"title": "x"}).status_code == 403
    page = ok(api.get("/api/v1/worklist"))  # everyone has a (here empty) worklist
    assert page["items"] == []
    assert page["counts"]["open"] == 0
