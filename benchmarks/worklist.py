"""Scenario ``worklist``: the first page of one coordinator's worklist ("My day") as the panel
grows from 10k to 100k patients.

Data (deterministic for a seed): ``--large`` synthetic patients (default 100 000) seeded with
``carebridge.patients.bulk``, and ten tasks per patient on average (about 1 000 000) written by
SQLAlchemy Core executemany in batches. 50 coordinators work 10 team queues, two or three
each. About 90 % of the tasks are closed (completed, cancelled, failed) and were due in the
past; the open ones fall due from two weeks ago to three weeks ahead, 60 % owned by a
coordinator (mostly the patient's own) and 40 % unclaimed in a queue. Kinds, priorities and
risks are mixed; 2 % of the tasks concern no patient. Calls, outreach and follow-ups carry
outreach attempts; about one patient in six has active barriers. A second database holds the
first ``--small`` patients (default 10 000) and exactly their tasks, the same rate per patient,
so the coordinator measured owns (and their queues hold) about ten times fewer there.

Measured: ``carebridge.tasks.worklist.page_for`` for one coordinator (who works three queues),
page 1 of 50 rows, as one unit of work including the commit of its audit rows, for five
queries: no filter (my tasks and my queues' unclaimed ones), one kind, overdue, in progress,
and one patient. Each query runs on both databases in turn (alternating which first); a
warm-up round, untimed, checks every page against a plain query of the same tasks. The check:
p50(large) / p50(small) <= 1.5 for every query. A second table splits each page's time over
its SQL statements (timed at the driver), so growth can be traced to the statement behind it;
``--explain`` prints their query plans on the larger database.

Runs on SQLite (a temporary file) and on PostgreSQL (a throwaway database created on the server
of CAREBRIDGE_TEST_DATABASE_URL, default postgres@127.0.0.1:5432, and dropped afterwards) when
one answers there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import platform
import random
import sqlite3
import statistics
import sys
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import accumulate
from time import perf_counter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import ColumnElement, Engine, and_, event, insert, or_, select, text, true
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.harness import BenchmarkError
from benchmarks.patients import fresh_database, pg_answers, pg_server
from carebridge.careplans.codes import BARRIERS
from carebridge.careplans.models import Barrier
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.paging import Page
from carebridge.lib.time import utcnow
from carebridge.patients import bulk, synthetic
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.tasks import worklist
from carebridge.tasks.codes import KINDS, URGENCY
from carebridge.tasks.models import OutreachAttempt, QueueMember, Task, WorkQueue
from carebridge.tasks.service import DEFAULT_WAIT

DEFAULTS = {"small": 10_000, "large": 100_000, "rounds": 30}
QUICK = {"small": 1_000, "large": 10_000, "rounds": 3}
GROWTH_BOUND = 1.5
PAGE = Page(1, 50)
CLINIC_ZONE = "America/Chicago"
SEEDER = Actor(user_id=None, username="benchmark", role="system")

COORDINATORS = 50
MEASURED = 0  # coordinator index: works queues 0, 3 and 6 (see queues_of)
QUEUES = (
    ("intake", "Intake"),
    ("transitions", "Transitions of care"),
    ("scheduling", "Scheduling"),
    ("referrals", "Referrals"),
    ("authorizations", "Prior authorizations"),
    ("outreach", "Outreach"),
    ("care-plans", "Care plan reviews"),
    ("social-needs", "Social needs"),
    ("pharmacy", "Medication follow-up"),
    ("behavioral", "Behavioral health"),
)
TASKS_PER_PATIENT = (4, 16)  # uniform, inclusive: 10 on average
TASK_BATCH = 10_000
OPEN_SHARE = 0.10
OWNED_OPEN_SHARE = 0.6
OWNED_CLOSED_SHARE = 0.9
OWN_COORDINATOR_SHARE = 0.8  # owned tasks that go to the patient's primary coordinator
NO_PATIENT_SHARE = 0.02
KIND_WEIGHTS = {
    "call": 20,
    "follow-up": 15,
    "scheduling": 12,
    "outreach": 10,
    "care-plan": 8,
    "referral": 8,
    "authorization": 7,
    "transition": 6,
    "general": 5,
    "education": 4,
    "social": 3,
    "delivery": 2,
}
PRIORITY_WEIGHTS = {"routine": 70, "urgent": 20, "asap": 8, "stat": 2}
OWNED_OPEN = {"ready": 30, "accepted": 20, "in-progress": 40, "on-hold": 10}
UNCLAIMED_OPEN = {"requested": 85, "received": 15}
CLOSED = {"completed": 88, "cancelled": 10, "failed": 2}
OUTREACH_KINDS = frozenset({"call", "outreach", "follow-up"})
CHANNELS = ("phone", "phone", "sms", "phone", "letter", "email")
OUTCOMES = ("no-answer", "voicemail", "reached", "no-answer", "wrong-number", "declined")
BARRIER_SHARE = 0.16
RESOLVED_BARRIER_SHARE = 0.05
FILTER_KIND = "call"
PATIENT_SAMPLES = 10
QUERIES = ("no filter", f"kind: {FILTER_KIND}", "overdue", "in progress", "one patient")
# Statement groups of one page, by a phrase of their SQL (lower case), first match wins; the
# page-id query is the only one with a LIMIT.
GROUPS = (
    ("audit", "insert into audit_events"),
    ("queues", "from work_queues"),
    ("counts", "count(*)"),
    ("page ids", " limit "),
    ("barriers", "from barriers"),
    ("rows", "from tasks"),
)
OTHER = "other"  # any other statement (SQLite: the BEGIN IMMEDIATE of the unit of work)
REST = "rest"  # Python, ORM and the commit: the page's time outside its statements


def queues_of(coordinator: int) -> tuple[int, ...]:
    """Queue indexes a coordinator works: two for odd ones, three for even ones; each queue
    gets ten or fifteen members."""
    first, second = coordinator % len(QUEUES), (coordinator + 3) % len(QUEUES)
    if coordinator % 2:
        return (first, second)
    return (first, second, (coordinator + 6) % len(QUEUES))


def vacuum_analyze(engine: Engine) -> None:
    """What autovacuum does after a bulk load on PostgreSQL 13+ (the insert threshold starts
    a VACUUM, which also sets the visibility map, then ANALYZE). SQLite keeps no statistics
    unless told to, and Carebridge never tells it."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


# --- the workload ------------------------------------------------------------------------------


class Planned(NamedTuple):
    """One task, before it has ids: indexes into the panel's patients, the coordinators and
    QUEUES (-1: none), and its due time as seconds from now."""

    patient: int
    kind: str
    status: str
    priority: str
    risk: int
    owner: int
    queue: int
    due: float
    attempts: int


class PlannedBarrier(NamedTuple):
    patient: int
    kind: str
    active: bool
    days_ago: int


@dataclass(frozen=True)
class Workload:
    """The tasks and barriers of every patient, in patient order, so the first ``n``
    patients' share is a prefix of each list."""

    tasks: list[Planned]
    barriers: list[PlannedBarrier]
    task_ends: list[int]  # task_ends[i]: how many tasks the first i + 1 patients have
    barrier_ends: list[int]

    def tasks_of(self, patients: int) -> list[Planned]:
        return self.tasks[: self.task_ends[patients - 1]]

    def barriers_of(self, patients: int) -> list[PlannedBarrier]:
        return self.barriers[: self.barrier_ends[patients - 1]]


def _picker(rng: random.Random, weights: dict[str, int]) -> Callable[[], str]:
    keys, cumulative = list(weights), list(accumulate(weights.values()))
    return lambda: rng.choices(keys, cum_weights=cumulative)[0]


def plan_workload(patients: Sequence[synthetic.SyntheticPatient], seed: int) -> Workload:
    rng = random.Random(f"carebridge-bench-worklist:{seed}")
    kind, priority = _picker(rng, KIND_WEIGHTS), _picker(rng, PRIORITY_WEIGHTS)
    owned_open, unclaimed_open = _picker(rng, OWNED_OPEN), _picker(rng, UNCLAIMED_OPEN)
    closed = _picker(rng, CLOSED)
    day = 86_400.0
    tasks: list[Planned] = []
    barriers: list[PlannedBarrier] = []
    task_ends: list[int] = []
    barrier_ends: list[int] = []
    for index, person in enumerate(patients):
        own = None if person.coordinator_slot is None else person.coordinator_slot % COORDINATORS
        for _ in range(rng.randint(*TASKS_PER_PATIENT)):
            what = kind()
            is_open = rng.random() < OPEN_SHARE
            owned = rng.random() < (OWNED_OPEN_SHARE if is_open else OWNED_CLOSED_SHARE)
            owner = queue = -1
            if owned:
                mine = own is not None and rng.random() < OWN_COORDINATOR_SHARE
                owner = own if mine and own is not None else rng.randrange(COORDINATORS)
            else:
                queue = rng.randrange(len(QUEUES))
            if is_open:
                status = owned_open() if owned else unclaimed_open()
                due = rng.uniform(-14 * day, 21 * day)
                attempts = rng.randint(0, 3) if what in OUTREACH_KINDS else 0
            else:
                status = closed()
                due = -rng.uniform(day, 540 * day)
                attempts = rng.randint(1, 2) if what in OUTREACH_KINDS and rng.random() < 0.3 else 0
            patient = -1 if rng.random() < NO_PATIENT_SHARE else index
            tasks.append(
                Planned(
                    patient=patient,
                    kind=what,
                    status=status,
                    priority=priority(),
                    risk=int(rng.betavariate(2, 5) * 100),
                    owner=owner,
                    queue=queue,
                    due=due,
                    attempts=attempts if patient >= 0 else 0,
                )
            )
        if rng.random() < BARRIER_SHARE:
            for name in rng.sample(list(BARRIERS), rng.randint(1, 2)):
                barriers.append(PlannedBarrier(index, name, True, rng.randint(1, 700)))
        if rng.random() < RESOLVED_BARRIER_SHARE:
            barriers.append(PlannedBarrier(index, rng.choice(list(BARRIERS)), False, 400))
        task_ends.append(len(tasks))
        barrier_ends.append(len(barriers))
    return Workload(tasks, barriers, task_ends, barrier_ends)


def visible_to(coordinator: int, planned: Planned) -> bool:
    """Whether an open task is on ``coordinator``'s default worklist."""
    if planned.status not in OWNED_OPEN and planned.status not in UNCLAIMED_OPEN:
        return False
    return planned.owner == coordinator or planned.queue in queues_of(coordinator)


def sample_patients(workload: Workload, patients: int, seed: int) -> list[int]:
    """Patients (indexes, among the first ``patients``) with an open task the coordinator
    measured sees, for the one-patient query: the same people at both sizes."""
    candidates = sorted(
        {
            t.patient
            for t in workload.tasks_of(patients)
            if t.patient >= 0 and visible_to(MEASURED, t)
        }
    )
    if not candidates:
        raise BenchmarkError(f"no open task of the first {patients} patients reaches coordinator")
    rng = random.Random(f"carebridge-bench-worklist-patients:{seed}")
    return rng.sample(candidates, min(PATIENT_SAMPLES, len(candidates)))


# --- seeding -----------------------------------------------------------------------------------


@dataclass
class Panel:
    """A database holding the first ``patients`` synthetic patients and their tasks."""

    backend: str
    patients: int
    engine: Engine
    factory: sessionmaker[Session]
    actor: Actor  # the coordinator measured
    queue_codes: list[str]
    patient_ids: list[uuid.UUID]
    tasks: int = 0
    attempts: int = 0
    barriers: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # patients, tasks, analyze


def _tracked(now: dt.datetime) -> dict[str, Any]:
    return {"created_at": now, "updated_at": now, "version": 1}


def _insert_staff(db: Session, now: dt.datetime) -> tuple[list[uuid.UUID], list[str]]:
    """The coordinators (who never sign in: no usable password), the queues and who works
    which."""
    conn = db.connection()
    users = [
        {
            "id": uuid.uuid4(),
            "username": f"coord{n + 1:02d}",
            "display_name": f"Coordinator {n + 1:02d}",
            "role": "coordinator",
            "password_hash": "!",
            "is_active": True,
            "must_change_password": False,
            "failed_attempts": 0,
            "totp_enabled": False,
            **_tracked(now),
        }
        for n in range(COORDINATORS)
    ]
    queues = [
        {"id": uuid.uuid4(), "code": code, "name": name, "is_active": True, **_tracked(now)}
        for code, name in QUEUES
    ]
    members = [
        {"id": uuid.uuid4(), "queue_id": queues[q]["id"], "user_id": user["id"]}
        for n, user in enumerate(users)
        for q in queues_of(n)
    ]
    conn.execute(insert(bulk.table(User.__tablename__)), users)
    conn.execute(insert(bulk.table(WorkQueue.__tablename__)), queues)
    conn.execute(insert(bulk.table(QueueMember.__tablename__)), members)
    return [u["id"] for u in users], [code for code, _ in QUEUES]


def task_rows(
    planned: Sequence[Planned],
    patient_ids: Sequence[uuid.UUID],
    users: Sequence[uuid.UUID],
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for the tasks table (every NOT NULL column set) and their outreach attempts."""
    tasks: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    hour = dt.timedelta(hours=1)
    for n, t in enumerate(planned):
        task_id = uuid.uuid4()
        due = now + dt.timedelta(seconds=t.due)
        created = min(due, now) - DEFAULT_WAIT[t.priority]
        is_open = t.status in OWNED_OPEN or t.status in UNCLAIMED_OPEN
        done = None if is_open else due - hour
        patient = patient_ids[t.patient] if t.patient >= 0 else None
        tasks.append(
            {
                "id": task_id,
                "patient_id": patient,
                "title": KINDS[t.kind],
                "kind": t.kind,
                "status": t.status,
                "is_open": is_open,
                "priority": t.priority,
                "urgency": URGENCY[t.priority],
                "risk": t.risk,
                "owner_id": users[t.owner] if t.owner >= 0 else None,
                "queue": QUEUES[t.queue][0] if t.queue >= 0 else None,
                "due_at": due,
                "escalation_level": 0,
                "completed_at": done,
                "created_at": created,
                "updated_at": done or created,
                "version": 1,
            }
        )
        for k in range(t.attempts):
            at = min(created + (k + 1) * hour, now)
            attempts.append(
                {
                    "id": uuid.uuid4(),
                    "patient_id": patient,
                    "task_id": task_id,
                    "channel": CHANNELS[(n + k) % len(CHANNELS)],
                    "direction": "outbound",
                    "outcome": OUTCOMES[(n + k) % len(OUTCOMES)],
                    "occurred_at": at,
                    "created_at": at,
                    "updated_at": at,
                    "version": 1,
                }
            )
    return tasks, attempts


def barrier_rows(
    planned: Sequence[PlannedBarrier], patient_ids: Sequence[uuid.UUID], now: dt.datetime
) -> list[dict[str, Any]]:
    today = now.date()
    return [
        {
            "id": uuid.uuid4(),
            "patient_id": patient_ids[b.patient],
            "kind": b.kind,
            "status": "active" if b.active else "resolved",
            "identified_on": today - dt.timedelta(days=b.days_ago),
            "resolved_on": None if b.active else today - dt.timedelta(days=b.days_ago // 2),
            **_tracked(now),
        }
        for b in planned
    ]


def seed_panel(
    stack: ExitStack,
    backend: str,
    people: Sequence[synthetic.SyntheticPatient],
    workload: Workload,
    now: dt.datetime,
    progress: Progress,
) -> Panel:
    url = stack.enter_context(fresh_database(backend))
    engine = make_engine(url)
    stack.callback(engine.dispose)
    factory = make_sessionmaker(engine)
    count = len(people)
    planned = workload.tasks_of(count)
    seconds: dict[str, float] = {}
    label = f"{backend}: seed {count:,}"
    task = progress.add_task(f"{label} patients", total=count)
    start = perf_counter()
    with unit_of_work(factory) as db:
        users, codes = _insert_staff(db, now)
        result = bulk.insert_patients(
            db,
            SEEDER,
            people,
            coordinators=users,
            progress=lambda n, _rows: progress.advance(task, n),
        )
    seconds["patients"] = perf_counter() - start
    progress.update(task, description=f"{label} tasks", completed=0, total=len(planned))
    start = perf_counter()
    attempts = 0
    with unit_of_work(factory) as db:
        conn = db.connection()
        for first in range(0, len(planned), TASK_BATCH):
            batch = planned[first : first + TASK_BATCH]
            tasks, tries = task_rows(batch, result.patient_ids, users, now)
            conn.execute(insert(bulk.table(Task.__tablename__)), tasks)
            if tries:
                conn.execute(insert(bulk.table(OutreachAttempt.__tablename__)), tries)
            attempts += len(tries)
            progress.advance(task, len(batch))
        barriers = barrier_rows(workload.barriers_of(count), result.patient_ids, now)
        conn.execute(insert(bulk.table(Barrier.__tablename__)), barriers)
        record(
            db,
            SEEDER,
            Action.CREATE,
            entity_type="TaskImport",
            reason=f"seeded {len(planned)} tasks, {attempts} outreach attempts, "
            f"{len(barriers)} barriers",
        )
    seconds["tasks"] = perf_counter() - start
    start = perf_counter()
    vacuum_analyze(engine)
    seconds["analyze"] = perf_counter() - start
    progress.remove_task(task)
    actor = Actor(user_id=users[MEASURED], username=f"coord{MEASURED + 1:02d}", role="coordinator")
    return Panel(
        backend,
        count,
        engine,
        factory,
        actor,
        [codes[q] for q in queues_of(MEASURED)],
        result.patient_ids,
        tasks=len(planned),
        attempts=attempts,
        barriers=len(barriers),
        seconds=seconds,
    )


# --- measuring ---------------------------------------------------------------------------------


class StatementClock:
    """Driver time of each statement an engine runs, summed by group (GROUPS); can also
    keep the statements themselves (for --explain)."""

    def __init__(self, engine: Engine) -> None:
        self.spent: dict[str, float] = {}
        self.captured: list[tuple[str, str, Any]] | None = None
        self._started = 0.0
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)
        event.remove(self._engine, "after_cursor_execute", self._after)

    def reset(self, *, capture: bool = False) -> None:
        self.spent = {}
        self.captured = [] if capture else None

    def _before(self, *_args: Any) -> None:
        self._started = perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        elapsed = (perf_counter() - self._started) * 1000
        lowered = statement.lower()
        group = next((name for name, phrase in GROUPS if phrase in lowered), OTHER)
        self.spent[group] = self.spent.get(group, 0.0) + elapsed
        if self.captured is not None:
            self.captured.append((group, statement, parameters))


@dataclass
class Timings:
    """Per query: the page's milliseconds, and each statement group's, one per timed round."""

    total: dict[str, list[float]] = field(default_factory=dict)
    parts: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)  # rows on the page (warm-up)
    counts: worklist.Counts | None = None

    def add(self, query: str, ms: float, spent: dict[str, float]) -> None:
        self.total.setdefault(query, []).append(ms)
        parts = self.parts.setdefault(query, {})
        for group, part in spent.items():
            parts.setdefault(group, []).append(part)
        parts.setdefault(REST, []).append(ms - sum(spent.values()))

    def p50(self, query: str) -> float:
        return statistics.median(self.total[query])

    def p95(self, query: str) -> float:
        values = sorted(self.total[query])
        return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]

    def part(self, query: str, group: str) -> float | None:
        values = self.parts[query].get(group)
        return statistics.median(values) if values else None


def query_filters(
    query: str, panel: Panel, patient: int, now: dt.datetime
) -> tuple[worklist.Filters, ColumnElement[bool]]:
    """The worklist filters of ``query`` and the same selection as a plain WHERE term."""
    if query == "no filter":
        return worklist.Filters(), Task.is_open == true()
    if query == f"kind: {FILTER_KIND}":
        return worklist.Filters(kinds=(FILTER_KIND,)), and_(
            Task.is_open == true(), Task.kind == FILTER_KIND
        )
    if query == "overdue":
        return worklist.Filters(due_before=now), and_(Task.is_open == true(), Task.due_at < now)
    if query == "in progress":
        return worklist.Filters(statuses=("in-progress",)), Task.status == "in-progress"
    if query == "one patient":
        patient_id = panel.patient_ids[patient]
        return worklist.Filters(patient_id=patient_id), and_(
            Task.is_open == true(), Task.patient_id == patient_id
        )
    raise ValueError(f"unknown query {query!r}")


def check_page(
    panel: Panel, query: str, page: worklist.WorklistPage, selection: ColumnElement[bool]
) -> None:
    """The page must be exactly the first page of a plain query: the coordinator's own tasks
    and their queues' unclaimed ones, selected, in worklist order."""
    actor_id = panel.actor.user_id
    mine = or_(
        Task.owner_id == actor_id, and_(Task.queue.in_(panel.queue_codes), Task.owner_id.is_(None))
    )
    with unit_of_work(panel.factory, write=False) as db:
        expected = list(
            db.scalars(
                select(Task.id)
                .where(mine, selection)
                .order_by(*worklist.ORDER)
                .limit(PAGE.size + 1)
            )
        )
    got = [row.task.id for row in page.rows]
    if got != expected[: PAGE.size] or page.has_more != (len(expected) > PAGE.size):
        raise BenchmarkError(
            f"{panel.backend} at {panel.patients:,} patients, {query}: the worklist listed "
            f"{len(got)} tasks (more: {page.has_more}), the plain query {len(expected)}, "
            "or in another order"
        )
    if query == "no filter" and not got:
        raise BenchmarkError(f"the coordinator's worklist is empty at {panel.patients:,}")


def one_page(
    panel: Panel, query: str, patient: int, now: dt.datetime, day_end: dt.datetime
) -> tuple[float, worklist.WorklistPage, ColumnElement[bool]]:
    filters, selection = query_filters(query, panel, patient, now)
    start = perf_counter()
    with unit_of_work(panel.factory) as db:
        page = worklist.page_for(db, panel.actor, filters, PAGE, day_end=day_end)
    return (perf_counter() - start) * 1000, page, selection


def measure(
    panels: Sequence[Panel],
    samples: Sequence[int],
    rounds: int,
    now: dt.datetime,
    day_end: dt.datetime,
    progress: Progress,
) -> list[Timings]:
    """Round 0 warms caches and checks the pages, untimed; then ``rounds`` timed rounds.
    Each query runs on every panel in turn, alternating which first; the one-patient query
    takes the next sampled patient each round."""
    clocks = [StatementClock(panel.engine) for panel in panels]
    results = [Timings() for _ in panels]
    total = (rounds + 1) * len(QUERIES) * len(panels)
    task = progress.add_task(f"{panels[0].backend}: measure", total=total)
    for round_no in range(rounds + 1):
        patient = samples[round_no % len(samples)]
        for number, query in enumerate(QUERIES):
            order = list(zip(panels, clocks, results, strict=True))
            if (round_no + number) % 2:
                order.reverse()
            for panel, clock, timings in order:
                clock.reset()
                ms, page, selection = one_page(panel, query, patient, now, day_end)
                if round_no == 0:
                    check_page(panel, query, page, selection)
                    timings.counts = page.counts
                if round_no == 0 or (query == "one patient" and round_no < len(samples)):
                    timings.rows.setdefault(query, []).append(len(page.rows))
                if round_no:
                    timings.add(query, ms, clock.spent)
                progress.advance(task)
    progress.remove_task(task)
    for clock in clocks:
        clock.close()
    return results


def explain(panel: Panel, samples: Sequence[int], now: dt.datetime, day_end: dt.datetime) -> str:
    """The plans of each query's page-id and counts statements on ``panel``, as the
    database runs them (PostgreSQL: EXPLAIN ANALYZE, so with actual rows and times)."""
    clock = StatementClock(panel.engine)
    sqlite = panel.engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    out = []
    try:
        for query in QUERIES:
            clock.reset(capture=True)
            one_page(panel, query, samples[0], now, day_end)
            statements = list(clock.captured or [])
            clock.reset()
            for group, statement, parameters in statements:
                if group not in ("page ids", "counts"):  # the others look rows up by key
                    continue
                with panel.engine.connect() as conn:
                    plan = conn.exec_driver_sql(prefix + statement, parameters).all()
                out.append(f"--- {panel.backend} @{panel.patients:,}, {query}: {group} ---")
                out.append(_sqlite_tree(plan) if sqlite else "\n".join(row[0] for row in plan))
    finally:
        clock.close()
    return "\n".join(out)


def _sqlite_tree(plan: Sequence[Any]) -> str:
    depth: dict[int, int] = {0: 0}
    lines = []
    for node, parent, _unused, detail in plan:
        depth[node] = depth.get(parent, 0) + 1
        lines.append("  " * (depth[node] - 1) + str(detail))
    return "\n".join(lines)


# --- report ------------------------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    version: str
    small: Panel
    large: Panel
    at_small: Timings
    at_large: Timings
    plans: str = ""


def _console() -> Console:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 160  # the latency table's rows are about 150 columns
    return console


def _table(*columns: tuple[str, str]) -> Table:
    table = Table(box=box.MARKDOWN, show_edge=False)
    for heading, justify in columns:
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    return table


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(results: Sequence[BackendResult], args: argparse.Namespace, notes: list[str]) -> bool:
    console = _console()
    first = results[0]
    console.print(
        f"worklist: first page ({PAGE.size} rows) of one coordinator's worklist at "
        f"{args.small:,} and {args.large:,} patients ({first.small.tasks:,} and "
        f"{first.large.tasks:,} tasks), {COORDINATORS} coordinators, {len(QUEUES)} queues "
        f"(seed {args.seed})"
    )
    latency = _table(
        ("database", "left"),
        ("query", "left"),
        *(
            column
            for size in (args.small, args.large)
            for column in (
                (f"rows @{size:,}", "right"),
                (f"p50 ms @{size:,}", "right"),
                (f"p95 ms @{size:,}", "right"),
            )
        ),
        ("p50 growth", "right"),
        (f"<= {GROWTH_BOUND}", "left"),
    )
    passed = True
    verdicts: dict[str, list[str]] = {}
    for r in results:
        for query in QUERIES:
            growth = r.at_large.p50(query) / r.at_small.p50(query)
            ok = growth <= GROWTH_BOUND
            passed = passed and ok
            verdicts.setdefault(r.backend, []).append(f"{query} {growth:.2f}")
            cells = [r.backend, query]
            for timings in (r.at_small, r.at_large):
                cells += [
                    f"{statistics.mean(timings.rows[query]):.0f}",
                    f"{timings.p50(query):.2f}",
                    f"{timings.p95(query):.2f}",
                ]
            latency.add_row(*cells, f"{growth:.2f}", "PASS" if ok else "FAIL")
    console.print(latency)
    for r in results:
        failing = [q for q in QUERIES if r.at_large.p50(q) / r.at_small.p50(q) > GROWTH_BOUND]
        verdict = "PASS" if not failing else f"FAIL ({', '.join(failing)})"
        console.print(
            f"{r.backend}: first-page growth p50({args.large:,}) / p50({args.small:,}): "
            f"{', '.join(verdicts[r.backend])} (bound {GROWTH_BOUND} each): {verdict}"
        )
    console.print()
    groups = [name for name, _ in GROUPS]
    parts = _table(
        ("database", "left"),
        ("query", "left"),
        ("patients", "right"),
        ("total", "right"),
        *((name, "right") for name in (*groups, OTHER, REST)),
    )
    for r in results:
        for query in QUERIES:
            for panel, timings in ((r.small, r.at_small), (r.large, r.at_large)):
                parts.add_row(
                    r.backend,
                    query,
                    f"{panel.patients:,}",
                    _ms(timings.p50(query)),
                    *(_ms(timings.part(query, name)) for name in (*groups, OTHER, REST)),
                )
    console.print("where a page's time goes: p50 ms of each statement group")
    console.print(parts)
    console.print()
    for r in results:
        for panel, timings in ((r.small, r.at_small), (r.large, r.at_large)):
            c = timings.counts or worklist.Counts()
            plus = "+" if c.at_least else ""  # counting stops at COUNT_CAP per source
            queues = ", ".join(f"{code} {n:,}" for code, n in sorted(c.by_queue.items()))
            console.print(
                f"{r.backend} @{panel.patients:,}: the coordinator's counts show {c.open:,}"
                f"{plus} open tasks ({c.open - c.unclaimed:,}{plus} own, {c.unclaimed:,}{plus} "
                f"unclaimed: {queues}), {c.overdue:,}{plus} overdue; "
                f"the panel holds {panel.tasks:,} tasks, "
                f"{panel.attempts:,} outreach attempts, {panel.barriers:,} barriers"
            )
    for note in notes:
        console.print(note)
    return passed


# --- entry -------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks worklist",
        description="First-page latency of one coordinator's worklist as the panel grows.",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql", "both"),
        help="default: both when PostgreSQL answers, else sqlite",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 patients, 3 rounds")
    parser.add_argument("--small", type=int, help=f"smaller panel ({DEFAULTS['small']:,})")
    parser.add_argument("--large", type=int, help=f"larger panel ({DEFAULTS['large']:,})")
    parser.add_argument("--rounds", type=int, help=f"timed rounds ({DEFAULTS['rounds']})")
    parser.add_argument("--seed", type=int, default=1, help="synthetic data seed (1)")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also print the query plans of each query's statements at the larger size",
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for name in ("small", "large", "rounds"):
        if getattr(args, name) is None:
            setattr(args, name, base[name])
    if not 0 < args.small < args.large or args.rounds < 1:
        parser.error("need 0 < --small < --large and --rounds >= 1")
    if args.small < 100:
        parser.error("--small must be at least 100 (the coordinator needs tasks there)")
    return args


def _backends(choice: str | None, notes: list[str]) -> list[str] | None:
    if choice == "sqlite":
        return ["sqlite"]
    server = make_url(pg_server()).render_as_string(hide_password=True)
    if pg_answers(pg_server()):
        return ["postgresql"] if choice == "postgresql" else ["sqlite", "postgresql"]
    if choice in ("postgresql", "both"):
        print(f"PostgreSQL at {server} does not answer", file=sys.stderr)
        return None
    notes.append(f"PostgreSQL at {server} did not answer: SQLite only")
    return ["sqlite"]


def _server_version(engine: Engine) -> str:
    sql = "SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SHOW server_version"
    with engine.connect() as conn:
        return str(conn.execute(text(sql)).scalar_one())


def run_backend(
    backend: str,
    people: Sequence[synthetic.SyntheticPatient],
    workload: Workload,
    samples: Sequence[int],
    args: argparse.Namespace,
    now: dt.datetime,
    day_end: dt.datetime,
    progress: Progress,
) -> BackendResult:
    with ExitStack() as stack:
        large = seed_panel(stack, backend, people, workload, now, progress)
        small = seed_panel(stack, backend, people[: args.small], workload, now, progress)
        version = _server_version(large.engine)
        # The generated patients and planned tasks (millions of objects a server would not
        # hold) stay out of the collector's full passes while pages are timed.
        gc.collect()
        gc.freeze()
        try:
            at_small, at_large = measure(
                [small, large], samples, args.rounds, now, day_end, progress
            )
        finally:
            gc.unfreeze()
        plans = explain(large, samples, now, day_end) if args.explain else ""
    return BackendResult(backend, version, small, large, at_small, at_large, plans)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    notes: list[str] = []
    backends = _backends(args.database, notes)
    if backends is None:
        return 2
    now = utcnow()
    zone = ZoneInfo(CLINIC_ZONE)
    tomorrow = now.astimezone(zone).date() + dt.timedelta(days=1)
    day_end = dt.datetime.combine(tomorrow, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    progress = Progress(
        TextColumn("{task.description:<36}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("generate patients and tasks", total=None)
        start = perf_counter()
        people = list(synthetic.generate(args.large, args.seed))
        generated = perf_counter() - start
        start = perf_counter()
        workload = plan_workload(people, args.seed)
        planned = perf_counter() - start
        samples = sample_patients(workload, args.small, args.seed)
        progress.remove_task(task)
        results = [
            run_backend(b, people, workload, samples, args, now, day_end, progress)
            for b in backends
        ]
    setup = ", ".join(
        f"{r.backend} @{p.patients:,}: "
        + ", ".join(f"{step} {s:.0f} s" for step, s in p.seconds.items())
        for r in results
        for p in (r.large, r.small)
    )
    notes += [
        f"queries: {', '.join(QUERIES)}; page {PAGE.number} of {PAGE.size} rows for coordinator "
        f"{MEASURED + 1} (queues {', '.join(results[0].large.queue_codes)}); each one unit of "
        "work (queues, page ids, rows with patients, owners and outreach counts, barriers, "
        f"counts (each source counted up to {worklist.COUNT_CAP}), one audit row per patient "
        "shown, commit); "
        f"{args.rounds} timed rounds after a warm-up round that checks each page against a "
        "plain query; p50/p95 over the rounds; one patient: a different patient each round, "
        f"{len(samples)} in turn, the same people at both sizes; rows = mean rows on the page",
        "statement groups: driver time of the statements whose SQL names them (audit: the "
        f"INSERT of the audit rows; {OTHER}: SQLite's BEGIN); {REST}: the page's time outside "
        "them (Python, ORM, commit; SQLite computes a result's later rows as they are fetched, "
        "so that share of a statement lands here too)",
        f"tasks: {TASKS_PER_PATIENT[0]}-{TASKS_PER_PATIENT[1]} per patient, "
        f"{OPEN_SHARE:.0%} open (due -14 to +21 days), open ones {OWNED_OPEN_SHARE:.0%} owned; "
        "bulk-loaded by SQLAlchemy Core executemany (no history rows, one audit row per load)",
        "PostgreSQL: VACUUM ANALYZE after each load (autovacuum does both after a load this "
        "size: its insert threshold also sets the visibility map index-only scans need); "
        "SQLite: no ANALYZE (the app "
        "never runs it); the generated patients and planned tasks are frozen out of the garbage "
        "collector (gc.freeze) while pages are timed, as a server would not hold them",
        f"setup (untimed): generating {args.large:,} patients {generated:.0f} s and their tasks "
        f"{planned:.0f} s; {setup}",
        f"now fixed at {now:%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
        + "".join(f", {r.backend} server {r.version}" for r in results if r.backend != "sqlite"),
    ]
    passed = report(results, args, notes)
    for r in results:
        if r.plans:
            print(r.plans)
    return 0 if passed else 1
