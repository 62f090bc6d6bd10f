"""My day: the worklist page and /api/v1/worklist. A page costs the same number of queries
whatever its length; rows are in priority, due, risk order; filters, counts, links to the
patient and the record a task concerns, bulk changes that are all or nothing, the live
refresh fragment and notifications."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge import demo
from carebridge.careplans.models import Barrier
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.paging import Page
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent, User
from carebridge.security.roles import Role
from carebridge.tasks import service, synthetic, worklist
from carebridge.tasks.models import OutreachAttempt, Task
from carebridge.tasks.notifications import notify
from tests.conftest import BACKENDS, fresh_database, make_settings
from tests.factories import csrf_from, make_token, make_user, sign_in
from tests.integration.test_tasks_api import new_patient, new_queue, task_row

SYSTEM = Actor.system("test")
CHICAGO = ZoneInfo("America/Chicago")
ROWS = re.compile(r'href="/tasks/([0-9a-f-]{36})"')


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_task(
    factory: sessionmaker[Session],
    *,
    title: str,
    owner_id: uuid.UUID | None = None,
    queue: str | None = None,
    patient_id: uuid.UUID | None = None,
    due_in: dt.timedelta = dt.timedelta(days=1),
    at: dt.datetime | None = None,
    **extra: Any,
) -> uuid.UUID:
    with unit_of_work(factory) as db:
        return service.create(
            db,
            SYSTEM,
            title=title,
            owner_id=owner_id,
            queue=queue,
            patient_id=patient_id,
            due_at=at or utcnow() + due_in,
            **extra,
        ).id


def browser(app: FastAPI, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    client.__enter__()
    assert sign_in(client, username).status_code == 303
    return client


@pytest.fixture
def coordinator(factory: sessionmaker[Session]) -> Any:
    return make_user(factory, Role.COORDINATOR)


@pytest.fixture
def page(app: FastAPI, coordinator: Any) -> Iterator[TestClient]:
    client = browser(app, coordinator.username)
    yield client
    client.__exit__(None, None, None)


# --- a page's cost does not grow with its length ----------------------------------------------


def test_worklist_page_costs_the_same_queries_for_5_or_50_rows(
    app: FastAPI, factory: sessionmaker[Session], coordinator: Any, page: TestClient
) -> None:
    """55 own tasks and 15 unclaimed queue tasks, each for its own patient with barriers and
    outreach attempts: the HTML page and the API page of 5 rows send exactly as many
    statements as those of 50 rows."""
    queue = new_queue(factory, [coordinator.id])
    people = [new_patient(factory) for _ in range(70)]
    with unit_of_work(factory) as db:
        for n, patient_id in enumerate(people):
            task = service.create(
                db,
                SYSTEM,
                title=f"Counted task {n}",
                patient_id=patient_id,
                owner_id=coordinator.id if n < 55 else None,
                queue=queue,
                priority=("stat", "asap", "urgent", "routine")[n % 4],
                due_at=utcnow() + dt.timedelta(hours=n - 10),
                risk=n % 100,
                kind="call",
                focus_type="OutboxMessage",
                focus_id=uuid.uuid4(),
            )
            for kind in ("transport", "language")[: 1 + n % 2]:
                db.add(Barrier(patient_id=patient_id, kind=kind, identified_on=dt.date(2026, 1, 5)))
            for outcome in ("no-answer", "voicemail")[: n % 3]:
                db.add(
                    OutreachAttempt(
                        patient_id=patient_id, task_id=task.id, channel="phone", outcome=outcome
                    )
                )
    engine: Engine = app.state.engine
    api = TestClient(app)
    api.headers["Authorization"] = f"Bearer {make_token(factory, coordinator.username)}"

    def cost(client: TestClient, path: str, rows: int) -> int:
        client.get(path)  # warm: the first request of a client may set cookies
        with statements(engine) as sent:
            response = client.get(path)
        assert response.status_code == 200, response.text
        if path.startswith("/api"):
            body = response.json()
            assert len(body["items"]) == rows
            assert body["counts"]["open"] == 70
            assert all(r["barriers"] for r in body["items"])
        else:
            assert len(set(ROWS.findall(response.text))) == rows
            assert "Transport" in response.text
        return len(sent)

    html_small, html_large = cost(page, "/?size=5", 5), cost(page, "/?size=50", 50)
    assert html_small == html_large, (html_small, html_large)
    api_small = cost(api, "/api/v1/worklist?size=5", 5)
    api_large = cost(api, "/api/v1/worklist?size=50", 50)
    assert api_small == api_large, (api_small, api_large)
    # Each patient shown was an audited read, written in one batch.
    with unit_of_work(factory) as db:
        read = db.scalar(
            select(func.count(func.distinct(AuditEvent.patient_id))).where(
                AuditEvent.username == coordinator.username, AuditEvent.entity_type == "Worklist"
            )
        )
    assert read == 50


# --- order, filters, counts, links -----------------------------------------------------------


def test_rows_are_sorted_by_priority_then_due_then_risk(
    factory: sessionmaker[Session], coordinator: Any, page: TestClient
) -> None:
    me = coordinator.id
    later = add_task(factory, title="Routine later", owner_id=me, due_in=dt.timedelta(days=2))
    sooner = add_task(factory, title="Routine sooner", owner_id=me, due_in=dt.timedelta(days=1))
    due = utcnow() + dt.timedelta(days=3)
    low = add_task(
        factory, title="Urgent low risk", owner_id=me, priority="urgent", risk=10, at=due
    )
    high = add_task(factory, title="Urgent high", owner_id=me, priority="urgent", risk=90, at=due)
    stat = add_task(
        factory, title="Stat", owner_id=me, priority="stat", due_in=dt.timedelta(days=9)
    )
    listed = ROWS.findall(page.get("/").text)
    assert listed == [str(stat), str(high), str(low), str(sooner), str(later)]


def test_counts_stop_at_the_cap_and_say_at_least(
    app: FastAPI,
    factory: sessionmaker[Session],
    coordinator: Any,
    page: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counting stops at COUNT_CAP per source, so a page costs the same on any panel; past
    it the numbers are lower bounds and say so."""
    me = coordinator.id
    api = TestClient(app)
    api.headers["Authorization"] = f"Bearer {make_token(factory, coordinator.username)}"
    for n in range(3):
        add_task(factory, title=f"Overdue {n}", owner_id=me, due_in=dt.timedelta(hours=-n - 1))
    add_task(factory, title="Later", owner_id=me, due_in=dt.timedelta(days=3))
    exact = api.get("/api/v1/worklist").json()["counts"]
    assert (exact["open"], exact["overdue"], exact["at_least"]) == (4, 3, False)
    monkeypatch.setattr(worklist, "COUNT_CAP", 2)
    capped = api.get("/api/v1/worklist")
    counts = capped.json()["counts"]
    assert (counts["open"], counts["overdue"], counts["at_least"]) == (2, 2, True)
    assert len(capped.json()["items"]) == 4  # the list itself is not cut
    assert "<strong>2+</strong> open" in page.get("/").text


def test_filters_counts_and_links(
    factory: sessionmaker[Session], coordinator: Any, page: TestClient
) -> None:
    me = coordinator.id
    queue = new_queue(factory, [me])
    patient_id = new_patient(factory, given="Imelda")
    with unit_of_work(factory) as db:
        patient = db.get(Patient, patient_id)
        assert patient is not None
        mrn, family = patient.mrn, patient.family_name
    late = add_task(
        factory,
        title="Overdue call",
        owner_id=me,
        patient_id=patient_id,
        kind="call",
        due_in=-dt.timedelta(hours=3),
        focus_type="OutboxMessage",
        focus_id=uuid.uuid4(),
    )
    other = add_task(
        factory,
        title="Referral next week",
        owner_id=me,
        kind="referral",
        due_in=dt.timedelta(days=8),
        focus_type="Referral",
        focus_id=uuid.uuid4(),
    )
    open_for_queue = add_task(factory, title="Unclaimed", queue=queue, kind="scheduling")
    done = add_task(factory, title="Done already", owner_id=me)
    with unit_of_work(factory) as db:
        row = db.get(Task, done)
        assert row is not None
        row.status = "completed"

    home = page.get("/").text
    counts = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", home))
    assert "3 open · 1 overdue · 1 due by end of today" in counts
    assert f"Queue {queue} 1" in counts
    # One click to the chart, one to the record the task concerns (none for unknown kinds).
    assert f'href="/patients/{patient_id}">{family}, Imelda</a>' in home
    assert f'href="/patients/{patient_id}/contacts">Open the message to the patient</a>' in home
    assert "Open the Referral" not in home
    assert "Open the referral" not in home
    assert "overdue</span>" in home

    def shown(query: str) -> list[str]:
        response = page.get("/" + query)
        assert response.status_code == 200
        return ROWS.findall(response.text)

    assert shown("?kind=call") == [str(late)]
    assert shown("?due=overdue") == [str(late)]
    this_week = shown("?due=week")
    assert str(late) in this_week
    assert str(other) not in this_week
    assert shown(f"?patient={mrn}") == [str(late)]
    assert shown(f"?patient={family}") == [str(late)]
    assert shown(f"?patient={patient_id}") == [str(late)]
    assert shown(f"?scope=queue:{queue}") == [str(open_for_queue)]
    assert str(open_for_queue) not in shown("?scope=mine")
    assert shown("?status=completed") == [str(done)]
    day = task_row(factory, other).due_at.astimezone(CHICAGO).date().isoformat()
    assert shown(f"?due=custom&due_from={day}&due_to={day}") == [str(other)]
    nobody = page.get("/?patient=Zzzznobodyhere")
    assert "No patient matches" in nobody.text
    wrong = page.get("/?kind=gardening&due=custom&due_from=2026-05-02&due_to=2026-05-01")
    assert "Unknown task type; showing every type." in wrong.text
    assert "Choose a day on or after the first day." in wrong.text


def test_live_refresh_gets_only_the_fragment_and_interval_is_configurable(
    factory: sessionmaker[Session], coordinator: Any, page: TestClient
) -> None:
    add_task(factory, title="Fresh task", owner_id=coordinator.id)
    full = page.get("/?refresh=5").text
    assert 'id="worklist-live" data-refresh="5"' in full
    assert 'aria-live="polite"' in full
    assert 'data-refresh="5"' in page.get("/?refresh=1").text  # our script's minimum
    assert 'data-refresh="30"' in page.get("/").text
    assert "data-refresh" not in page.get("/?select=1").text  # ticks are never swapped away
    fragment = page.get("/?refresh=5", headers={"X-Carebridge-Background": "1"})
    assert fragment.text.lstrip().startswith('<div id="worklist-live"')
    assert "<html" not in fragment.text
    assert "Fresh task" in fragment.text


def test_bulk_complete_from_the_page_is_all_or_nothing(
    factory: sessionmaker[Session], coordinator: Any, page: TestClient
) -> None:
    me = coordinator.id
    ids = [add_task(factory, title=f"Tick me {n}", owner_id=me) for n in range(3)]
    with unit_of_work(factory) as db:
        row = db.get(Task, ids[1])
        assert row is not None
        row.status = "completed"
        row.completed_at = utcnow()
    selecting = page.get("/?select=1&status=")
    assert 'name="task"' in selecting.text
    token = csrf_from(selecting)
    values = [f"{task_id}:{task_row(factory, task_id).version}" for task_id in ids]
    refused = page.post(
        "/worklist/bulk",
        data={"csrf_token": token, "action": "complete", "task": values, "back": "/"},
    )
    assert refused.status_code == 409
    assert "Nothing was changed." in refused.text
    assert "Tick me 1" in refused.text
    assert "already completed" in refused.text
    assert [task_row(factory, i).status for i in ids] == ["ready", "completed", "ready"]
    assert f'value="{values[0]}" id="sel-{ids[0]}" checked' in refused.text  # ticks kept

    done = page.post(
        "/worklist/bulk",
        data={
            "csrf_token": token,
            "action": "complete",
            "task": [values[0], values[2]],
            "business_status": "Reached by phone",
            "back": "/?kind=general",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/?kind=general"
    assert {task_row(factory, i).status for i in ids} == {"completed"}
    assert task_row(factory, ids[0]).business_status == "Reached by phone"


def test_bulk_reassign_from_the_page_to_a_queue(
    factory: sessionmaker[Session], coordinator: Any, page: TestClient
) -> None:
    queue = new_queue(factory, [coordinator.id])
    ids = [add_task(factory, title=f"Hand over {n}", owner_id=coordinator.id) for n in range(2)]
    token = csrf_from(page.get("/?select=1"))
    values = [f"{i}:1" for i in ids]
    nothing = page.post(
        "/worklist/bulk", data={"csrf_token": token, "action": "reassign", "task": values}
    )
    assert nothing.status_code == 422
    assert "Choose who does the task from the list." in nothing.text
    moved = page.post(
        "/worklist/bulk",
        data={
            "csrf_token": token,
            "action": "reassign",
            "task": values,
            "assign": f"queue:{queue}",
        },
    )
    assert moved.status_code == 303
    assert {(task_row(factory, i).owner_id, task_row(factory, i).queue) for i in ids} == {
        (None, queue)
    }


def test_notifications_are_shown_and_marked_read(
    factory: sessionmaker[Session], coordinator: Any, page: TestClient
) -> None:
    with unit_of_work(factory) as db:
        note = notify(db, coordinator.id, "Task escalated: call Mr Okafor", link="/tasks/x")
        notify(db, coordinator.id, "Admitted to Mercy Hospital", link="https://evil.example")
        note_id = note.id
    home = page.get("/")
    assert "Task escalated: call Mr Okafor" in home.text
    assert 'href="https://evil.example"' not in home.text  # only links on this site
    token = csrf_from(home)
    marked = page.post(
        "/notifications/read", data={"csrf_token": token, "id": str(note_id), "back": "/"}
    )
    assert marked.status_code == 303
    after = page.get("/").text
    assert "Task escalated" not in after
    assert "Admitted to Mercy Hospital" in after
    page.post("/notifications/read", data={"csrf_token": token, "back": "//evil.example"})
    assert "Admitted to Mercy Hospital" not in page.get("/").text


def test_empty_worklist_teaches_and_admin_sees_no_task_actions(
    app: FastAPI, factory: sessionmaker[Session], page: TestClient
) -> None:
    assert "Nothing to do yet." in page.get("/").text
    admin = make_user(factory, Role.ADMIN)
    client = browser(app, admin.username)
    try:
        home = client.get("/")
        assert home.status_code == 200
        assert "Nothing to do yet." in home.text
        assert "/tasks/new" not in home.text
    finally:
        client.__exit__(None, None, None)


# --- the demo's worklist -----------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def demo_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    urls = fresh_database(request.param, tmp_path)
    url = next(urls)
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        with unit_of_work(factory) as db:
            demo.seed(db)
            demo.seed_patients(
                db, count=300, settings=make_settings(url, demo_mode=True), history=False
            )
        yield factory
    finally:
        engine.dispose()
        urls.close()


def test_demo_gives_the_coordinator_a_full_day_once(demo_db: sessionmaker[Session]) -> None:
    with unit_of_work(demo_db) as db:
        maria = db.scalar(select(User).where(User.username == "coordinator"))
        assert maria is not None
        actor = Actor(user_id=maria.id, username=maria.username, role=maria.role)
        now = utcnow()
        found = worklist.page_for(
            db, actor, worklist.Filters(), Page(1, 200), day_end=now + dt.timedelta(hours=1)
        )
        rows = found.rows
        assert found.counts.overdue >= 5
        assert found.counts.by_queue.get("coordinators", 0) >= 4
        assert found.counts.by_queue.get("scheduling", 0) >= 3
        assert any(r.task.due_at > now + dt.timedelta(days=1) for r in rows)
        assert len({r.task.kind for r in rows}) >= 6
        assert len({r.task.priority for r in rows}) >= 3
        assert any(r.attempts >= 2 for r in rows)
        assert any(r.task.focus_type == "Appointment" for r in rows)
        assert all(r.patient_name for r in rows)
        done = db.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.dedupe_key.like("demo-worklist:%"), Task.status == "completed")
        )
        assert done == 2
        made = db.scalar(select(func.count()).select_from(Task))
        attempts = db.scalar(select(func.count()).select_from(OutreachAttempt))
        assert synthetic.seed(db) is None  # a second run adds nothing
        assert db.scalar(select(func.count()).select_from(Task)) == made
        assert db.scalar(select(func.count()).select_from(OutreachAttempt)) == attempts
