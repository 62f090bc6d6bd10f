"""Scenario ``patients``: bulk seeding throughput and patient-search latency as the panel grows.

(a) Seeding. Measured: ``carebridge.patients.bulk.insert_patients`` writing ``--large``
synthetic patients (default 100 000) with their whole charts: 13 tables plus one audit row per
batch of 1 000, built from patients generated beforehand. Ceiling: the same rows (built by the
same ``bulk.build_rows`` and converted to driver values *before* the clock starts) written by a
raw DB-API ``executemany`` per table into the same 13 tables of a fresh database, so the ratio
is what row building, history snapshots and SQLAlchemy Core cost on top of the driver.

(b) Search. ``carebridge.patients.service.search`` (which audits every patient it lists) for a
fixed set of 200 queries a front desk types: family-name prefixes, "family, given" prefixes,
full names, MRNs, birth dates and phone numbers, all drawn from the first ``--small`` patients.
Two databases are searched: one holding the first ``--small`` patients (default 10 000), the
one seeded in (a) holding ``--large``; each query runs on both in turn, as one unit of work
(the commit of its audit rows included). Search cost should barely grow with the panel: the
check is p50(large) / p50(small) <= 1.5.

Runs on SQLite (a temporary file) and on PostgreSQL (a throwaway database created on the server
of CAREBRIDGE_TEST_DATABASE_URL, default postgres@127.0.0.1:5432, and dropped afterwards) when
one answers there.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import JSON, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.harness import BenchmarkError
from carebridge.db import migrate
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import bulk, service, synthetic
from carebridge.patients.names import fold
from carebridge.security.audit import Actor

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULTS = {"small": 10_000, "large": 100_000, "rounds": 5}
QUICK = {"small": 1_000, "large": 10_000, "rounds": 2}
GROWTH_BOUND = 1.5
BATCH = 1000
QUERY_MIX = {  # category: how many of the 200 queries
    "family prefix": 50,
    "family, given": 40,
    "full name": 40,
    "MRN": 25,
    "birth date": 25,
    "phone": 20,
}
ACTOR = Actor(user_id=None, username="benchmark", role="coordinator")


# --- databases -------------------------------------------------------------------------------


def pg_server() -> str:
    return os.environ.get("CAREBRIDGE_TEST_DATABASE_URL") or DEFAULT_PG


def pg_answers(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A new, migrated database; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="carebridge-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'patients.db'}"
            migrate.upgrade(url)
            yield url
        return
    base = make_url(pg_server())
    name = f"cb_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def analyze(engine: Engine) -> None:
    """PostgreSQL's autovacuum would ANALYZE after a load this size; do it now so both sizes
    are planned with statistics. SQLite keeps none unless told to, and Carebridge never does."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


# --- seeding ---------------------------------------------------------------------------------


@dataclass
class SeedRun:
    path: str
    description: str
    patients: int = 0
    rows: int = 0
    seconds: float = 0.0
    batch_rates: list[float] = field(default_factory=list)  # rows/s of each batch

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def median(self) -> float:
        return statistics.median(self.batch_rates)


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def seed_measured(
    factory: sessionmaker[Session],
    patients: Sequence[synthetic.SyntheticPatient],
    run: SeedRun,
    progress: Progress,
    label: str,
) -> None:
    task = progress.add_task(label, total=len(patients))
    last = perf_counter()

    def batch_done(count: int, rows: int) -> None:
        nonlocal last
        now = perf_counter()
        run.batch_rates.append(rows / (now - last))
        last = now
        progress.advance(task, count)

    start = perf_counter()
    with unit_of_work(factory) as db:
        result = bulk.insert_patients(db, ACTOR, patients, batch_size=BATCH, progress=batch_done)
    run.seconds += perf_counter() - start
    run.patients += result.patients
    run.rows += result.total_rows + result.batches
    progress.remove_task(task)


def _driver_rows(
    engine: Engine, rows: dict[str, list[dict[str, Any]]]
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """(SQL, parameter tuples) per table, values converted exactly as SQLAlchemy would bind
    them (its own type processors), so only the driver's work is left to time."""
    dialect = engine.dialect
    quote = dialect.identifier_preparer.quote
    pg = dialect.name == "postgresql"
    prepared = []
    for name, table_rows in rows.items():
        if not table_rows:
            continue
        table = bulk.table(name)
        keys = list(table_rows[0])
        columns = [table.c[k] for k in keys]
        processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
        marks = [("%s::json" if isinstance(c.type, JSON) else "%s") if pg else "?" for c in columns]
        names = ", ".join(quote(k) for k in keys)
        sql = f"INSERT INTO {quote(name)} ({names}) VALUES ({', '.join(marks)})"  # noqa: S608
        params = [
            tuple(
                value if proc is None else proc(value)
                for proc, value in zip(processors, (row[k] for k in keys), strict=True)
            )
            for row in table_rows
        ]
        prepared.append((sql, params))
    return prepared


def seed_ceiling(
    url: str, patients: Sequence[synthetic.SyntheticPatient], progress: Progress
) -> SeedRun:
    run = SeedRun(
        "raw executemany",
        "ceiling: DB-API cursor.executemany of the same rows into a fresh database, built by "
        "bulk.build_rows and converted by SQLAlchemy's own type processors before the clock starts",
    )
    engine = make_engine(url)
    task = progress.add_task("ceiling: raw executemany", total=len(patients))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN")  # the engine's connections run with isolation_level=None
        for first in range(0, len(patients), BATCH):
            batch = patients[first : first + BATCH]
            rows, _ = bulk.build_rows(batch, first_number=first + 1, actor_id=None, now=utcnow())
            rows["audit_events"] = [_audit_row(len(batch))]
            prepared = _driver_rows(engine, rows)
            count = sum(len(params) for _, params in prepared)
            start = perf_counter()
            for sql, params in prepared:
                cursor.executemany(sql, params)
            elapsed = perf_counter() - start
            run.seconds += elapsed
            run.batch_rates.append(count / elapsed)
            run.rows += count
            run.patients += len(batch)
            progress.advance(task, len(batch))
        start = perf_counter()
        raw.commit()
        run.seconds += perf_counter() - start
    finally:
        raw.close()
        engine.dispose()
        progress.remove_task(task)
    return run


def _audit_row(patients: int) -> dict[str, Any]:
    return {
        "occurred_at": utcnow(),
        "user_id": None,
        "username": ACTOR.username,
        "role": ACTOR.role,
        "action": "create",
        "entity_type": "PatientImport",
        "entity_id": None,
        "patient_id": None,
        "client_addr": None,
        "request_id": None,
        "outcome": "success",
        "reason": f"seeded {patients} patients",
    }


# --- search ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    category: str
    text: str
    exact: bool = False  # must list exactly the one patient it names (an MRN)


def build_queries(patients: Sequence[synthetic.SyntheticPatient], seed: int) -> list[Query]:
    """The fixed query set: drawn from ``patients`` (the first, smaller panel), so every kind
    of query finds someone at both sizes."""
    rng = random.Random(f"carebridge-bench-queries:{seed}")
    pick: Callable[[], synthetic.SyntheticPatient] = lambda: rng.choice(patients)  # noqa: E731
    queries: list[Query] = []
    for _ in range(QUERY_MIX["family prefix"]):
        family = fold(pick().family_name).split()[0]
        queries.append(Query("family prefix", family[: rng.randint(2, 4)]))
    for _ in range(QUERY_MIX["family, given"]):
        p = pick()
        family, given = fold(p.family_name), fold(p.given_names)
        queries.append(
            Query("family, given", f"{family[: rng.randint(3, 6)]}, {given[: rng.randint(1, 3)]}")
        )
    for _ in range(QUERY_MIX["full name"]):
        p = pick()
        queries.append(Query("full name", f"{p.given_names.split()[0]} {p.family_name}"))
    for _ in range(QUERY_MIX["MRN"]):
        number = rng.randrange(len(patients)) + 1  # MRNs are numbered from 1 on a fresh counter
        queries.append(Query("MRN", bulk.mrn(number), exact=True))
    for _ in range(QUERY_MIX["birth date"]):
        born = pick().birth_date
        typed = born.isoformat() if rng.random() < 0.5 else f"{born.month}/{born.day}/{born.year}"
        queries.append(Query("birth date", typed))
    with_phone = [p for p in patients if p.phones]
    for _ in range(QUERY_MIX["phone"]):
        digits = rng.choice(with_phone).phones[0].number[2:]
        area, exchange, line = digits[:3], digits[3:6], digits[6:]
        style = rng.randrange(3)
        typed = (
            f"({area}) {exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"{area}-{exchange}-{line}",
        )[style]
        queries.append(Query("phone", typed))
    rng.shuffle(queries)
    return queries


@dataclass
class SearchRun:
    patients: int
    latencies: dict[Query, list[float]] = field(default_factory=dict)  # ms, one per round
    hits: dict[Query, int] = field(default_factory=dict)

    def per_query(self, category: str | None = None) -> list[float]:
        """Each query's median over the rounds."""
        return [
            statistics.median(times)
            for q, times in self.latencies.items()
            if category is None or q.category == category
        ]

    def p50(self, category: str | None = None) -> float:
        return statistics.median(self.per_query(category))

    def p95(self, category: str | None = None) -> float:
        values = sorted(self.per_query(category))
        return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


@dataclass(frozen=True)
class Panel:
    """A database holding the first ``patients`` synthetic patients."""

    patients: int
    factory: sessionmaker[Session]
    mrn_ids: dict[str, uuid.UUID]


def run_search(
    panels: Sequence[Panel], queries: Sequence[Query], rounds: int, progress: Progress
) -> list[SearchRun]:
    """Each query on every panel in turn (who goes first alternates), so drift on a busy
    machine falls on both sizes alike; round 0 warms caches and checks answers, untimed."""
    runs = [SearchRun(panel.patients) for panel in panels]
    total = len(queries) * (rounds + 1) * len(panels)
    task = progress.add_task("search", total=total)
    for round_no in range(rounds + 1):
        for number, q in enumerate(queries):
            order = list(zip(panels, runs, strict=True))
            if (round_no + number) % 2:
                order.reverse()
            for panel, run in order:
                start = perf_counter()
                with unit_of_work(panel.factory) as db:
                    page, _ = service.search(db, ACTOR, q.text)
                elapsed = (perf_counter() - start) * 1000
                if round_no == 0:
                    run.hits[q] = len(page)
                    if q.exact and [p.id for p in page] != [panel.mrn_ids[q.text]]:
                        raise BenchmarkError(f"MRN query {q.text} found {page}, not its patient")
                else:
                    run.latencies.setdefault(q, []).append(elapsed)
                progress.advance(task)
    progress.remove_task(task)
    return runs


# --- one backend -----------------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    version: str
    measured: SeedRun
    ceiling: SeedRun
    small: SearchRun
    large: SearchRun


def run_backend(
    backend: str,
    patients: Sequence[synthetic.SyntheticPatient],
    queries: Sequence[Query],
    args: argparse.Namespace,
    progress: Progress,
) -> BackendResult:
    measured = SeedRun(
        "bulk.insert_patients",
        "SQLAlchemy Core executemany per table in batches of 1,000 patients, from patients "
        "generated beforehand: MRN block, row building, history snapshots, binding, driver",
    )
    with ExitStack() as stack:
        large_url = stack.enter_context(fresh_database(backend))
        small_url = stack.enter_context(fresh_database(backend))
        large_engine, small_engine = make_engine(large_url), make_engine(small_url)
        stack.callback(large_engine.dispose)
        stack.callback(small_engine.dispose)
        large_factory = make_sessionmaker(large_engine)
        small_factory = make_sessionmaker(small_engine)
        version = _server_version(large_engine)
        seed_measured(
            large_factory, patients, measured, progress, f"{backend}: seed {args.large:,}"
        )
        # The smaller panel: the same first patients, seeded the same way (not timed).
        seed_measured(
            small_factory,
            patients[: args.small],
            SeedRun("", ""),
            progress,
            f"{backend}: seed {args.small:,}",
        )
        analyze(large_engine)
        analyze(small_engine)
        panels = [
            Panel(args.small, small_factory, _mrn_ids(small_factory, queries)),
            Panel(args.large, large_factory, _mrn_ids(large_factory, queries)),
        ]
        small, large = run_search(panels, queries, args.rounds, progress)
    with fresh_database(backend) as url:
        ceiling = seed_ceiling(url, patients, progress)
    return BackendResult(backend, version, measured, ceiling, small, large)


def _server_version(engine: Engine) -> str:
    sql = "SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SHOW server_version"
    with engine.connect() as conn:
        return str(conn.execute(text(sql)).scalar_one())


def _mrn_ids(factory: sessionmaker[Session], queries: Sequence[Query]) -> dict[str, uuid.UUID]:
    """The ids behind the MRN queries; also proves the MRNs were numbered from 1 (a fresh
    counter), which the queries assume."""
    from sqlalchemy import select

    from carebridge.patients.models import Patient

    wanted = [q.text for q in queries if q.exact]
    with unit_of_work(factory) as db:
        rows = db.execute(select(Patient.mrn, Patient.id).where(Patient.mrn.in_(wanted)))
        found = {row.mrn: row.id for row in rows}
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise BenchmarkError(f"MRNs {missing[:3]} were not assigned: the counter was not fresh")
    return found


# --- report ----------------------------------------------------------------------------------


def _console() -> Console:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 120
    return console


def report(results: Sequence[BackendResult], args: argparse.Namespace, notes: list[str]) -> bool:
    console = _console()
    console.print(
        f"patients: seed {args.large:,} synthetic patients, then search at {args.small:,} "
        f"and {args.large:,} (seed {args.seed})"
    )
    seed_table = Table(box=box.MARKDOWN, show_edge=False)
    for heading, justify in (
        ("database", "left"),
        ("path", "left"),
        ("patients", "right"),
        ("rows", "right"),
        ("seconds", "right"),
        ("rows/s", "right"),
        ("median batch rows/s", "right"),
        ("patients/s", "right"),
    ):
        seed_table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    for r in results:
        for run in (r.measured, r.ceiling):
            seed_table.add_row(
                r.backend,
                run.path,
                f"{run.patients:,}",
                f"{run.rows:,}",
                f"{run.seconds:,.1f}",
                f"{run.rate:,.0f}",
                f"{run.median:,.0f}",
                f"{run.patients / run.seconds:,.0f}",
            )
    console.print(seed_table)
    for r in results:
        ratio = r.measured.median / r.ceiling.median
        console.print(
            f"{r.backend}: seeding ratio {ratio:.2f} (median batch rows/s, bulk.insert_patients / "
            f"raw executemany; same 13 tables + audit, the ceiling's rows built untimed)"
        )
    console.print()
    search_table = Table(box=box.MARKDOWN, show_edge=False)
    search_table.add_column("database")
    search_table.add_column("query")
    search_table.add_column("n", justify="right")
    for size in (args.small, args.large):
        search_table.add_column(f"p50 ms @{size:,}", justify="right")
        search_table.add_column(f"p95 ms @{size:,}", justify="right")
        search_table.add_column(f"hits @{size:,}", justify="right")
    search_table.add_column("p50 growth", justify="right")
    for r in results:
        for category in (None, *QUERY_MIX):
            cells = [r.backend, category or "all 200", str(QUERY_MIX.get(category or "", 200))]
            for searched in (r.small, r.large):
                hits = [
                    h
                    for q, h in searched.hits.items()
                    if category is None or q.category == category
                ]
                cells += [
                    f"{searched.p50(category):.2f}",
                    f"{searched.p95(category):.2f}",
                    f"{statistics.mean(hits):.1f}",
                ]
            cells.append(f"{r.large.p50(category) / r.small.p50(category):.2f}")
            search_table.add_row(*cells)
    console.print(search_table)
    passed = True
    for r in results:
        growth = r.large.p50() / r.small.p50()
        ok = growth <= GROWTH_BOUND
        passed = passed and ok
        console.print(
            f"{r.backend}: search growth p50({args.large:,}) / p50({args.small:,}) = "
            f"{r.large.p50():.2f} / {r.small.p50():.2f} ms = {growth:.2f} "
            f"(bound {GROWTH_BOUND}): {'PASS' if ok else 'FAIL'}"
        )
    for note in notes:
        console.print(note)
    return passed


# --- entry -----------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks patients",
        description="Bulk seeding vs a raw executemany ceiling; search latency as patients grow.",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql", "both"),
        help="default: both when PostgreSQL answers, else sqlite",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 patients")
    parser.add_argument("--small", type=int, help=f"first search size ({DEFAULTS['small']:,})")
    parser.add_argument("--large", type=int, help=f"patients seeded ({DEFAULTS['large']:,})")
    parser.add_argument("--rounds", type=int, help=f"timed search rounds ({DEFAULTS['rounds']})")
    parser.add_argument("--seed", type=int, default=1, help="synthetic data seed (1)")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for name in ("small", "large", "rounds"):
        if getattr(args, name) is None:
            setattr(args, name, base[name])
    if not 0 < args.small < args.large or args.rounds < 1:
        parser.error("need 0 < --small < --large and --rounds >= 1")
    if args.small < 200:
        parser.error("--small must be at least 200 (the queries are drawn from those patients)")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    notes = []
    if args.database in ("postgresql", "both") or args.database is None:
        answers = pg_answers(pg_server())
        server = make_url(pg_server()).render_as_string(hide_password=True)
        if not answers and args.database in ("postgresql", "both"):
            print(f"PostgreSQL at {server} does not answer", file=sys.stderr)
            return 2
        if not answers:
            notes.append(f"PostgreSQL at {server} did not answer: SQLite only")
        backends = ["sqlite", "postgresql"] if answers else ["sqlite"]
        if args.database == "postgresql":
            backends = ["postgresql"]
    else:
        backends = ["sqlite"]
    progress = _bar(Console(stderr=True))
    with progress:
        task = progress.add_task("generate patients", total=None)
        start = perf_counter()
        patients = list(synthetic.generate(args.large, args.seed))
        generated = perf_counter() - start
        progress.remove_task(task)
        queries = build_queries(patients[: args.small], args.seed)
        results = [run_backend(b, patients, queries, args, progress) for b in backends]
    notes += [
        *(f"{run.path}: {run.description}" for run in (results[0].measured, results[0].ceiling)),
        f"generating the {args.large:,} patients (untimed above) took {generated:.1f} s "
        f"({args.large / generated:,.0f} patients/s)",
        "rows: all tables written (patients, telecoms, identifiers, related persons, consents, "
        "history items, record_versions) plus one audit row per batch",
        f"search: {sum(QUERY_MIX.values())} queries, {args.rounds} timed rounds after a warm-up "
        "round, each query run on both panels in turn (alternating which first); each query one "
        "unit of work including the commit of its audit rows; p50/p95 over "
        "the per-query medians; hits = mean patients listed (page size 25)",
        "PostgreSQL: ANALYZE after each load (as autovacuum would); SQLite: no ANALYZE (the app "
        "never runs it)",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
        + "".join(f", {r.backend} server {r.version}" for r in results if r.backend != "sqlite"),
    ]
    return 0 if report(results, args, notes) else 1
