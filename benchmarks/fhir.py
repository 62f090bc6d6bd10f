"""Scenario ``fhir``: the FHIR API's read, import, export and search, on SQLite and PostgreSQL.

(a) Import. Measured: ``carebridge fhir import``'s code (``fhir.imports.import_files``) on
every shared Synthea bundle (``../shared/data/synthea``): charts registered, references
rewritten, every resource indexed and stored with its first version. Ceiling: the rows it
wrote (resources, versions, index rows, sender ids; read back and converted before the clock
starts) inserted with one ``executemany`` per table into a fresh database.

(b) Export. ``$export`` of everything imported, planned and every NDJSON file read
(``fhir.export.plan`` and ``fhir.export.lines``): resources/s.

(c) Read. ``GET /fhir/R4/Patient/{id}`` with a bearer token through the full app (token lookup,
the stored JSON, the audit row and its commit) vs a bare Starlette route returning the same
JSON with orjson, over in-process ASGI in alternating rounds (``benchmarks.harness``).

(d) Search growth. ``GET /fhir/R4/Patient?family=<prefix>&gender=<g>`` for 50 prefixes of
patients among the first ``--small``, with ``--small`` and then ``--large`` synthetic
patients on file: p50(large) / p50(small), bound 1.35.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx
import orjson
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.harness import BenchmarkError, Contender, Plan, measure, ratio_line
from benchmarks.patients import analyze, fresh_database, pg_answers, pg_server
from carebridge.app import create_app
from carebridge.db.session import make_engine, unit_of_work
from carebridge.fhir import export, imports
from carebridge.fhir.models import (
    FhirExport,
    FhirReference,
    FhirResource,
    FhirResourceVersion,
    FhirSourceId,
    FhirString,
    FhirToken,
)
from carebridge.patients import bulk, synthetic
from carebridge.patients.models import Patient
from carebridge.security import service
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.security.schemas import UserCreate
from carebridge.settings import Settings

SYNTHEA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "synthea"
SECRET_KEY = "benchmark-secret-" + "x" * 40
ACTOR = Actor.system("benchmark")
DEFAULTS = {"requests": 1000, "rounds": 5, "small": 1_000, "large": 10_000}
QUICK = {"requests": 50, "rounds": 2, "small": 200, "large": 1_000}
GROWTH_BOUND = 1.35
# What an import writes (the charts' own tables besides ``patients`` are left out of both).
TABLES = (
    Patient,
    FhirResource,
    FhirResourceVersion,
    FhirToken,
    FhirString,
    FhirReference,
    FhirSourceId,
)


@dataclass
class Figures:
    backend: str
    resources: int = 0
    import_seconds: float = 0.0
    raw_seconds: float = 0.0
    exported: int = 0
    export_seconds: float = 0.0
    read: str = ""
    read_rates: tuple[float, float] = (0.0, 0.0)
    search_small: float = 0.0
    search_large: float = 0.0


def _user_token(factory: sessionmaker[Session]) -> str:
    with unit_of_work(factory) as db:
        service.create_user(
            db,
            ACTOR,
            UserCreate(
                username="bench-coordinator",
                display_name="Benchmark Coordinator",
                role=Role.COORDINATOR,
                password="correct horse battery staple",
            ),
        )
        token, _ = service.create_token(
            db, ACTOR, service.find_user(db, "bench-coordinator"), "benchmark"
        )
    return token


def _import(factory: sessionmaker[Session], figures: Figures) -> None:
    files = list(imports.files_in([SYNTHEA]))
    start = perf_counter()
    summary = imports.import_files(factory, ACTOR, files, namespace="synthea")
    figures.import_seconds = perf_counter() - start
    if summary.failed:
        raise BenchmarkError(f"import failed: {summary.failed[0]}")
    figures.resources = summary.resources


def _raw_insert(factory: sessionmaker[Session], backend: str, figures: Figures) -> None:
    """The rows the import wrote, inserted again into a fresh database, one executemany per
    table (read and converted before the clock starts)."""
    with unit_of_work(factory, write=False) as db:
        rows = {
            table: [dict(r._mapping) for r in db.execute(select(*table.__table__.columns))]
            for table in TABLES
        }
    with fresh_database(backend) as url:
        engine = make_engine(url)
        try:
            start = perf_counter()
            with engine.begin() as conn:
                for table in TABLES:
                    if rows[table]:
                        conn.execute(insert(table.__table__), rows[table])
            figures.raw_seconds = perf_counter() - start
        finally:
            engine.dispose()


def _export(factory: sessionmaker[Session], figures: Figures) -> None:
    start = perf_counter()
    with unit_of_work(factory) as db:
        started = export.start(
            db, level="system", types=[], since=None, requested_by=None, request_url="bench"
        )
    export.plan(factory, started.id, lambda _kind: True)
    count = 0
    with unit_of_work(factory, write=False) as db:
        done = db.get(FhirExport, started.id)
        if done is None or done.status != "complete":
            raise BenchmarkError(f"export ended {done.status if done else 'missing'}")
        conn = db.connection()
        for item in done.manifest:
            for line in export.lines(conn, done, item):
                count += 1 if line else 0
    figures.export_seconds = perf_counter() - start
    figures.exported = count


def _bare(body: bytes, path: str) -> Starlette:
    parsed = orjson.loads(body)

    async def read(request: Request) -> Response:
        return Response(orjson.dumps(parsed), media_type="application/fhir+json")

    return Starlette(routes=[Route(path, read)])


def _read(
    app: Any, factory: sessionmaker[Session], token: str, args: argparse.Namespace, figures: Figures
) -> None:
    with unit_of_work(factory, write=False) as db:
        patient_id, content = db.execute(
            select(FhirResource.id, FhirResource.content)
            .where(FhirResource.resource_type == "Patient")
            .limit(1)
        ).one()
    path = f"/fhir/R4/Patient/{patient_id}"
    plan = Plan(
        path=path,
        requests=args.requests,
        rounds=args.rounds,
        warmup=max(10, args.requests // 10),
        headers={"Authorization": f"Bearer {token}"},
    )
    contenders = [
        Contender("carebridge", "full app: token, stored JSON, audit row + commit", app),
        Contender("bare", "Starlette route, orjson, same JSON", _bare(content, path)),
    ]

    def same(contender: Contender, response: httpx.Response) -> None:
        if response.json()["id"] != patient_id:
            raise BenchmarkError(f"{contender.name} answered {response.text[:200]}")

    measured, peer = measure(contenders, plan, same)
    figures.read = ratio_line(measured, peer)
    figures.read_rates = (measured.median, peer.median)


def _search_p50(app: Any, token: str, queries: Sequence[str], rounds: int) -> float:
    async def run() -> float:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        times: list[float] = []
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as client:
            for query in queries[:5]:  # warm-up
                await client.get(query)
            for _ in range(rounds):
                for query in queries:
                    start = perf_counter()
                    answer = await client.get(query)
                    times.append((perf_counter() - start) * 1000)
                    if answer.status_code != 200 or not answer.json().get("entry"):
                        raise BenchmarkError(
                            f"{query} answered {answer.status_code} {answer.text[:200]}"
                        )
        return statistics.median(times)

    return asyncio.run(run())


def _queries(patients: Sequence[synthetic.SyntheticPatient]) -> list[str]:
    """What a front desk types to find one person: family, given name and birth date (the
    answer stays one or two people however large the panel grows)."""
    chosen = patients[:: max(1, len(patients) // 50)][:50]
    return [
        f"/fhir/R4/Patient?family={p.family_name}&given={p.given_names.split()[0]}"
        f"&birthdate={p.birth_date.isoformat()}"
        for p in chosen
    ]


def run_backend(
    backend: str, args: argparse.Namespace, patients: list[synthetic.SyntheticPatient]
) -> Figures:
    figures = Figures(backend)
    with fresh_database(backend) as url:
        app = create_app(Settings(database_url=url, secret_key=SECRET_KEY))
        factory = app.state.sessionmaker
        try:
            token = _user_token(factory)
            _import(factory, figures)
            _raw_insert(factory, backend, figures)
            _export(factory, figures)
            analyze(app.state.engine)
            _read(app, factory, token, args, figures)
            queries = _queries(patients[: args.small])
            with unit_of_work(factory) as db:
                bulk.insert_patients(db, ACTOR, patients[: args.small])
            analyze(app.state.engine)
            figures.search_small = _search_p50(app, token, queries, args.rounds)
            with unit_of_work(factory) as db:
                bulk.insert_patients(db, ACTOR, patients[args.small :])
            analyze(app.state.engine)
            figures.search_large = _search_p50(app, token, queries, args.rounds)
        finally:
            app.state.engine.dispose()
    return figures


def report(results: Sequence[Figures], args: argparse.Namespace) -> bool:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 120
    console.print(
        "fhir: import and export of the shared Synthea bundles; read; search at "
        f"{args.small:,} and {args.large:,} patients"
    )
    table = Table(box=box.MARKDOWN, show_edge=False)
    headings = (
        "db",
        "resources",
        "import/s",
        "raw/s",
        "ratio",
        "export/s",
        "read/s",
        "bare/s",
        "ratio",
        "search ms (small)",
        "(large)",
        "growth",
    )
    for heading in headings:
        table.add_column(heading, justify="left" if heading == "db" else "right")
    passed = True
    for f in results:
        growth = f.search_large / f.search_small
        passed = passed and growth <= GROWTH_BOUND
        table.add_row(
            f.backend,
            f"{f.resources:,}",
            f"{f.resources / f.import_seconds:,.0f}",
            f"{f.resources / f.raw_seconds:,.0f}",
            f"{f.raw_seconds / f.import_seconds:.2f}",
            f"{f.exported / f.export_seconds:,.0f}",
            f"{f.read_rates[0]:,.0f}",
            f"{f.read_rates[1]:,.0f}",
            f"{f.read_rates[0] / f.read_rates[1]:.2f}",
            f"{f.search_small:.2f}",
            f"{f.search_large:.2f}",
            f"{growth:.2f}",
        )
    console.print(table)
    console.print(
        "import/s: resources imported per second; raw/s: the same rows by executemany; "
        "ratio: import/raw. read/s vs bare/s: Patient read, full app vs bare Starlette. "
        "search ms: p50 of a name + birth date search."
    )
    for f in results:
        console.print(f"{f.backend}: read {f.read}")
        console.print(
            f"{f.backend}: search growth {f.search_large:.2f} / {f.search_small:.2f} ms = "
            f"{f.search_large / f.search_small:.2f} (bound {GROWTH_BOUND}): "
            f"{'PASS' if f.search_large / f.search_small <= GROWTH_BOUND else 'FAIL'}"
        )
    console.print(
        f"goals: import >= 1,500 res/s, export >= 30,000 res/s, read >= 0.50 of bare; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
        f"{args.rounds} rounds, {args.requests:,} reads per round"
    )
    return passed


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks fhir", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql", "both"),
        help="default: both when PostgreSQL answers",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run; figures are noise")
    parser.add_argument("--requests", type=int, help=f"reads per round ({DEFAULTS['requests']})")
    parser.add_argument("--rounds", type=int, help=f"rounds ({DEFAULTS['rounds']})")
    parser.add_argument(
        "--small", type=int, help=f"patients at the first search ({DEFAULTS['small']:,})"
    )
    parser.add_argument("--large", type=int, help=f"patients at the second ({DEFAULTS['large']:,})")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for name in ("requests", "rounds", "small", "large"):
        if getattr(args, name) is None:
            setattr(args, name, base[name])
    if not 0 < args.small < args.large or args.rounds < 1 or args.requests < 1:
        parser.error("need 0 < --small < --large, --rounds >= 1 and --requests >= 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not SYNTHEA.is_dir():
        print(f"no Synthea bundles at {SYNTHEA}", file=sys.stderr)
        return 2
    wanted = args.database or "both"
    backends = ["sqlite"] if wanted in ("sqlite", "both") else []
    if wanted in ("postgresql", "both"):
        if pg_answers(pg_server()):
            backends.append("postgresql")
        elif wanted == "postgresql":
            print("PostgreSQL does not answer", file=sys.stderr)
            return 2
    patients = list(synthetic.generate(args.large, 7))
    results = [run_backend(backend, args, patients) for backend in backends]
    return 0 if report(results, args) else 1
