"""The worker's task rules against a real database: overdue tasks escalate once per rule
(priority bump, supervisor notified, reassigned to a queue), care-plan reviews and goals past
their date raise one task each, and running everything twice changes nothing the second time.

The rules act on every task in the database, so this module works on a database of its own
(each backend), and each test starts by closing whatever earlier tests left open."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from carebridge.app import create_app
from carebridge.careplans.models import CarePlan, Goal
from carebridge.db.history import RecordVersion
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.messaging import worker
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security import service as security
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from carebridge.tasks import escalation, queues
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Notification, Task, TaskEscalation
from carebridge.tasks.queue_schemas import QueueCreate
from tests.conftest import BACKENDS, fresh_database, make_settings
from tests.factories import make_token, make_user

SYSTEM = Actor.system("test")
NOW = dt.datetime(2031, 3, 12, 15, 0, tzinfo=dt.UTC)  # 10:00 in Chicago
HOURS_30 = dt.timedelta(hours=30)


@pytest.fixture(scope="module", params=BACKENDS)
def own_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    folder: Path = tmp_path_factory.mktemp(f"escalation-{request.param}")
    databases = fresh_database(request.param, folder)
    url = next(databases)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()
    databases.close()


@pytest.fixture
def factory(own_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The module's database with nothing open: earlier tests' tasks and plans are closed."""
    with unit_of_work(own_factory) as db:
        db.execute(update(Task).values(status="cancelled", is_open=False))
        db.execute(update(CarePlan).values(status="completed"))
    return own_factory


@dataclass(frozen=True)
class Team:
    supervisor: uuid.UUID
    worker: uuid.UUID
    queue: str


def team(factory: sessionmaker[Session]) -> Team:
    """A supervisor, a coordinator who works the queue, and the queue; plus the
    "coordinators" queue the reassign rule moves tasks to (made once)."""
    boss = make_user(factory, Role.COORDINATOR)
    member = make_user(factory, Role.COORDINATOR)
    code = f"team-{uuid.uuid4().hex[:6]}"
    with unit_of_work(factory) as db:
        made = queues.create_queue(
            db, SYSTEM, QueueCreate(code=code, name="Team", supervisor_id=boss.id)
        )
        queues.add_member(db, SYSTEM, made.id, member.id)
        if queues.by_code(db, "coordinators") is None:
            queues.create_queue(
                db,
                SYSTEM,
                QueueCreate(code="coordinators", name="Coordinators", supervisor_id=boss.id),
            )
    return Team(supervisor=boss.id, worker=member.id, queue=code)


def patient(factory: sessionmaker[Session], coordinator: uuid.UUID | None = None) -> uuid.UUID:
    name = "Zed" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz", k=9))
    with unit_of_work(factory) as db:
        made = patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=name,
                given_names="Ada",
                birth_date=dt.date(1950, 1, 2),
                sex="female",
                primary_coordinator_id=coordinator,
            ),
        )
    return made.id


def task(factory: sessionmaker[Session], overdue: dt.timedelta, **fields: object) -> uuid.UUID:
    with unit_of_work(factory) as db:
        made = tasks.create(
            db,
            SYSTEM,
            title=f"Call back {uuid.uuid4().hex[:6]}",
            due_at=NOW - overdue,
            **fields,  # type: ignore[arg-type]
        )
        return made.id


def run(factory: sessionmaker[Session], now: dt.datetime = NOW) -> escalation.Summary:
    return escalation.run_all(factory, now, zone="America/Chicago")


def get(factory: sessionmaker[Session], task_id: uuid.UUID) -> Task:
    with unit_of_work(factory, write=False) as db:
        found = db.get(Task, task_id)
        assert found is not None
        return found


def notes_for(factory: sessionmaker[Session], user_id: uuid.UUID) -> list[Notification]:
    with unit_of_work(factory, write=False) as db:
        return list(db.scalars(select(Notification).where(Notification.user_id == user_id)))


def counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with unit_of_work(factory, write=False) as db:
        return (
            db.scalar(select(func.count()).select_from(Task)) or 0,
            db.scalar(select(func.count()).select_from(Notification)) or 0,
            db.scalar(select(func.count()).select_from(TaskEscalation)) or 0,
        )


def test_routine_task_a_day_overdue_is_bumped_and_the_supervisor_told_once(
    factory: sessionmaker[Session],
) -> None:
    crew = team(factory)
    who = patient(factory)
    late = task(factory, dt.timedelta(hours=25), queue=crew.queue, patient_id=who)
    fresh = task(factory, dt.timedelta(hours=2), queue=crew.queue, patient_id=who)

    first = run(factory)
    assert first.by_rule == {"routine-overdue-1d": 1}
    assert (first.escalated, first.bumped, first.notified) == (1, 1, 1)
    bumped = get(factory, late)
    assert (bumped.priority, bumped.urgency, bumped.escalation_level) == ("urgent", 2, 1)
    assert bumped.version == 2
    assert get(factory, fresh).priority == "routine"
    told = notes_for(factory, crew.supervisor)
    assert len(told) == 1
    assert "Urgent" in told[0].text
    assert told[0].link == f"/tasks/{late}"
    assert told[0].patient_id == who

    before = counts(factory)
    again = run(factory)
    assert again.escalated == 0
    assert again.by_rule == {}
    assert counts(factory) == before
    assert get(factory, late).version == 2

    with unit_of_work(factory, write=False) as db:
        applied = db.scalars(select(TaskEscalation).where(TaskEscalation.task_id == late)).one()
        assert (applied.from_priority, applied.to_priority) == ("routine", "urgent")
        assert applied.notified_user_id == crew.supervisor
        history = db.scalars(
            select(RecordVersion.data).where(
                RecordVersion.entity_id == late, RecordVersion.entity_type == "Task"
            )
        ).all()
        assert [v["priority"] for v in history] == ["routine", "urgent"]
        audited = db.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_id == str(late), AuditEvent.action == "update"
            )
        ).one()
        assert audited.username == "worker"
        assert "routine-overdue-1d" in (audited.reason or "")


def test_the_clock_restarts_at_a_bump_so_one_run_fires_no_chain(
    factory: sessionmaker[Session],
) -> None:
    crew = team(factory)
    late = task(factory, dt.timedelta(days=5), queue=crew.queue)
    assert run(factory).by_rule == {"routine-overdue-1d": 1}
    assert get(factory, late).priority == "urgent"
    # Three hours later the urgent clock (4 h) has not run out yet...
    assert run(factory, NOW + dt.timedelta(hours=3)).escalated == 0
    # ...four hours after the bump it has: urgent goes to ASAP.
    later = run(factory, NOW + dt.timedelta(hours=4))
    assert later.by_rule == {"urgent-overdue-4h": 1}
    assert get(factory, late).priority == "asap"
    # An hour on, the ASAP rule tells the supervisor once more; then the unclaimed rule a day on.
    assert run(factory, NOW + dt.timedelta(hours=5)).by_rule == {"asap-stat-overdue-1h": 1}
    assert run(factory, NOW + dt.timedelta(hours=28)).by_rule == {"unclaimed-overdue-1d": 1}
    task_row = get(factory, late)
    assert task_row.escalation_level == 4
    assert len(notes_for(factory, crew.supervisor)) == 4
    assert run(factory, NOW + dt.timedelta(days=30)).escalated == 0


def test_owned_task_tells_the_supervisor_of_the_owners_queue(
    factory: sessionmaker[Session],
) -> None:
    crew = team(factory)
    mine = task(factory, dt.timedelta(hours=2), owner_id=crew.worker, priority="stat")
    summary = run(factory)
    assert summary.by_rule == {"asap-stat-overdue-1h": 1}
    assert summary.bumped == 0
    assert get(factory, mine).priority == "stat"
    assert get(factory, mine).owner_id == crew.worker
    assert [n.link for n in notes_for(factory, crew.supervisor)] == [f"/tasks/{mine}"]


def test_stalled_task_of_a_disabled_owner_goes_to_the_coordinators_queue(
    factory: sessionmaker[Session],
) -> None:
    crew = team(factory)
    leaver = make_user(factory, Role.COORDINATOR)
    stuck = task(factory, dt.timedelta(days=4), owner_id=leaver.id, priority="urgent")
    working = task(factory, dt.timedelta(days=4), owner_id=crew.worker, priority="urgent")
    with unit_of_work(factory) as db:
        security.set_active(db, SYSTEM, security.get_user(db, leaver.id), active=False)
        row = db.get(Task, working)
        assert row is not None
        row.status = "in-progress"  # started: the rule leaves it with its owner

    summary = run(factory)
    assert summary.by_rule.get("stalled-owner-3d") == 1
    assert summary.reassigned == 1
    moved = get(factory, stuck)
    assert (moved.owner_id, moved.queue, moved.status) == (None, "coordinators", "requested")
    kept = get(factory, working)
    assert (kept.owner_id, kept.queue) == (crew.worker, None)
    with unit_of_work(factory, write=False) as db:
        applied = db.scalars(
            select(TaskEscalation).where(
                TaskEscalation.task_id == stuck, TaskEscalation.rule_key == "stalled-owner-3d"
            )
        ).one()
        assert applied.from_owner_id == leaver.id
        assert applied.to_queue == "coordinators"
    assert run(factory).by_rule.get("stalled-owner-3d") is None


def test_owned_task_not_started_is_reassigned_after_three_days(
    factory: sessionmaker[Session],
) -> None:
    crew = team(factory)
    idle = task(factory, dt.timedelta(days=3, hours=1), owner_id=crew.worker, priority="asap")
    summary = run(factory)
    assert summary.by_rule == {"asap-stat-overdue-1h": 1, "stalled-owner-3d": 1}
    moved = get(factory, idle)
    assert (moved.owner_id, moved.queue) == (None, "coordinators")


def plan(
    factory: sessionmaker[Session], patient_id: uuid.UUID, review_on: dt.date | None
) -> uuid.UUID:
    with unit_of_work(factory) as db:
        made = CarePlan(
            patient_id=patient_id,
            title="Heart failure after discharge",
            status="active",
            start_on=review_on or NOW.date(),
            next_review_on=review_on,
        )
        db.add(made)
        db.flush()
        return made.id


def goal(
    factory: sessionmaker[Session], plan_id: uuid.UUID, due_on: dt.date, achievement: str
) -> uuid.UUID:
    with unit_of_work(factory) as db:
        made = Goal(
            care_plan_id=plan_id,
            description="Weight within 2 kg of dry weight",
            measure="Weight",
            unit="kg",
            comparator="<=",
            target_low=Decimal("82"),
            due_on=due_on,
            lifecycle_status="active",
            achievement_status=achievement,
        )
        db.add(made)
        db.flush()
        return made.id


def raised(factory: sessionmaker[Session], focus_type: str, focus_id: uuid.UUID) -> list[Task]:
    with unit_of_work(factory, write=False) as db:
        return tasks.for_focus(db, focus_type, focus_id)


def test_care_plan_review_due_raises_one_task_for_the_coordinator(
    factory: sessionmaker[Session],
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    today = NOW.date()  # 12 March in Chicago too at 10:00
    with_coordinator = plan(factory, patient(factory, coordinator.id), today)
    without = plan(factory, patient(factory), today - dt.timedelta(days=9))
    not_yet = plan(factory, patient(factory), today + dt.timedelta(days=1))
    unscheduled = plan(factory, patient(factory), None)

    summary = run(factory)
    assert summary.reviews == 2
    assert summary.by_rule == {"care-plan-review": 2}
    (mine,) = raised(factory, "CarePlan", with_coordinator)
    assert mine.owner_id == coordinator.id
    assert mine.queue is None
    assert (mine.kind, mine.template_key) == ("care-plan", "care-plan-review")
    assert mine.title == "Review care plan: Heart failure after discharge"
    assert mine.dedupe_key == f"care-plan-review:{with_coordinator}:{today.isoformat()}"
    assert mine.due_at > NOW
    (queued,) = raised(factory, "CarePlan", without)
    assert (queued.owner_id, queued.queue) == (None, "coordinators")
    assert raised(factory, "CarePlan", not_yet) == []
    assert raised(factory, "CarePlan", unscheduled) == []

    before = counts(factory)
    assert run(factory).reviews == 0
    # Completing the review task without moving the date raises nothing new either...
    with unit_of_work(factory) as db:
        done = db.get(Task, mine.id)
        assert done is not None
        done.status = "completed"
    assert run(factory).reviews == 0
    assert counts(factory) == before
    # ...but the next review date does (and by then the plan due tomorrow is due too).
    with unit_of_work(factory) as db:
        row = db.get(CarePlan, with_coordinator)
        assert row is not None
        row.last_reviewed_on, row.next_review_on = today, today + dt.timedelta(days=30)
    assert run(factory, NOW + dt.timedelta(days=30)).reviews == 2
    assert len(raised(factory, "CarePlan", with_coordinator)) == 2
    assert len(raised(factory, "CarePlan", not_yet)) == 1


def test_goal_past_its_date_raises_a_task_unless_achieved(
    factory: sessionmaker[Session],
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    care = plan(factory, patient(factory, coordinator.id), NOW.date() + dt.timedelta(days=60))
    yesterday = NOW.date() - dt.timedelta(days=1)
    behind = goal(factory, care, yesterday, "in-progress")
    met = goal(factory, care, yesterday, "achieved")
    today = goal(factory, care, NOW.date(), "worsening")

    summary = run(factory)
    assert summary.goals == 1
    assert summary.by_rule == {"goal-past-due": 1}
    (chased,) = raised(factory, "Goal", behind)
    assert chased.title == "Goal past its date: Weight within 2 kg of dry weight"
    assert chased.owner_id == coordinator.id
    assert chased.dedupe_key == f"goal-past-due:{behind}:{yesterday.isoformat()}"
    assert raised(factory, "Goal", met) == []
    assert raised(factory, "Goal", today) == []
    assert run(factory).goals == 0


def test_rules_hit_in_batches_are_all_applied(factory: sessionmaker[Session]) -> None:
    crew = team(factory)
    many = [task(factory, dt.timedelta(hours=30), queue=crew.queue) for _ in range(7)]
    summary = escalation.run_all(factory, NOW, zone="America/Chicago", batch=2, limit=3)
    assert summary.by_rule == {"routine-overdue-1d": 7}
    assert {get(factory, t).priority for t in many} == {"urgent"}
    assert len(notes_for(factory, crew.supervisor)) == 7


def test_rules_are_listed_in_words_over_the_api(
    own_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    url = own_factory.kw["bind"].url.render_as_string(hide_password=False)
    app = create_app(make_settings(url))
    user = make_user(own_factory, Role.BILLING)
    try:
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {make_token(own_factory, user.username)}"}
            answer = client.get("/api/v1/escalation-rules", headers=headers)
            assert answer.status_code == 200
            listed = {rule["key"]: rule for rule in answer.json()}
            assert set(listed) == {
                "routine-overdue-1d",
                "urgent-overdue-4h",
                "asap-stat-overdue-1h",
                "unclaimed-overdue-1d",
                "stalled-owner-3d",
                "care-plan-review",
                "goal-past-due",
                "referral-not-scheduled-stat",
                "referral-not-scheduled-urgent",
                "referral-not-scheduled-routine",
                "referral-no-report",
            }
            routine = listed["routine-overdue-1d"]
            assert routine["type"] == "escalation"
            assert routine["when"].startswith("An open routine task is 1 day overdue")
            assert routine["actions"][0] == "Its priority is raised to Urgent."
            assert listed["care-plan-review"]["type"] == "timer"
            page = client.get("/api/v1/escalation-rules", headers={})
            assert page.status_code == 401
    finally:
        app.state.engine.dispose()


def test_two_workers_at_once_escalate_each_task_once(factory: sessionmaker[Session]) -> None:
    if factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("concurrent workers need PostgreSQL (SQLite runs one writer)")
    crew = team(factory)
    with unit_of_work(factory) as db:
        made = [
            tasks.create(db, SYSTEM, title=f"Late {n}", queue=crew.queue, due_at=NOW - HOURS_30)
            for n in range(120)
        ]
        ids = {t.id for t in made}
    results: list[escalation.Summary] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            results.append(escalation.run_all(factory, NOW, zone="UTC", batch=10, limit=20))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert sum(r.by_rule.get("routine-overdue-1d", 0) for r in results) == 120
    with unit_of_work(factory, write=False) as db:
        applied = db.scalars(
            select(TaskEscalation.task_id).where(TaskEscalation.task_id.in_(ids))
        ).all()
        assert sorted(applied) == sorted(ids)
    assert len(notes_for(factory, crew.supervisor)) == 120


def test_carebridge_worker_once_applies_the_rules(factory: sessionmaker[Session]) -> None:
    crew = team(factory)
    late = task(factory, NOW - utcnow() + dt.timedelta(days=2), queue=crew.queue)  # real time
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    totals = worker.run(make_settings(url), once=True)
    assert totals.rules.by_rule.get("routine-overdue-1d") == 1
    assert "1 escalation(s) (1 priority bump(s), 1 supervisor notification(s)" in totals.summary()
    assert get(factory, late).priority == "urgent"
