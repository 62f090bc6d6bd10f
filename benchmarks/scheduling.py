"""Scenario ``scheduling``: first-available search across providers, the provider calendar
page, and how search cost grows with the number of providers.

Data (deterministic, :mod:`carebridge.scheduling.synthetic`): a clinic of N practitioners at 8
locations (7 in America/Chicago, 1 in America/New_York) with recurring working hours (RRULEs:
weekdays in two blocks, Tuesdays and Thursdays, alternate weeks, two sites, video evenings,
Saturday clinics), time off and federal holidays; 40 booked visits per practitioner spread at
random over the next 14 days (20,000 at 500 practitioners), for N/2 x 40 synthetic patients.
One database per size (default 50, 100, 200 and 500 practitioners), on SQLite (a temporary
file) and PostgreSQL (a throwaway database on the server of CAREBRIDGE_TEST_DATABASE_URL,
default postgres@127.0.0.1:5432, dropped afterwards) when one answers there.

(a) First available. ``scheduling.service.search_slots`` over the 14 days, limit 20, for 30
queries: 5 visit types each offered by many practitioners (follow-up, new patient, annual
wellness, video check-in, phone follow-up) x 6 filters (none, Spanish-speaking, afternoons,
Tuesdays/Thursdays, one location, internal medicine). Each query is one unit of work.

(b) Calendar. ``GET /schedule?practitioner_id=..&day=..`` (the provider day view) through the
full app (``create_app``: middleware, signed-in session cookie, CSRF-protected sign-in done
once, audit of the patients shown, Jinja rendering) for 30 (practitioner, day) pairs, with
Starlette's TestClient in process. Peer: the page's data alone, ``service.working_hours`` and
``service.calendar`` for the same day in one unit of work, so the ratio is what the page adds.

(c) Growth. (a) and (b) at every size, each query run on every size in turn (alternating
which first) so drift falls on all sizes alike. Search has to look at every practitioner
offering the visit type, so its cost may grow linearly with them, not worse: the check is
p50(largest) / p50(smallest) <= largest / smallest (10.0 for 500 / 50).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import platform
import pstats
import re
import sqlite3
import statistics
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.harness import BenchmarkError
from benchmarks.patients import analyze, fresh_database, pg_answers, pg_server
from carebridge.app import create_app
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import bulk
from carebridge.patients import synthetic as people
from carebridge.scheduling import service
from carebridge.scheduling import synthetic as clinics
from carebridge.scheduling.schemas import Slot, SlotQuery
from carebridge.security import service as security
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.security.schemas import UserCreate
from carebridge.settings import Settings

DEFAULTS = {"sizes": (50, 100, 200, 500), "rounds": 5}
QUICK = {"sizes": (10, 20, 50), "rounds": 1}
VISITS_PER_PROVIDER = 40
PATIENTS_PER_PROVIDER = 20
LOCATIONS = 8
DAYS = 14
LIMIT = 20
CLINIC_ZONE = "America/Chicago"
SECRET_KEY = "benchmark-secret-" + "x" * 40
USERNAME = "bench-coordinator"
PASSWORD = "correct horse battery staple"
ACTOR = Actor(user_id=None, username="benchmark", role="coordinator")
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
# For service.calendar (it only reads the telehealth link template).
CALENDAR_SETTINGS = Settings(database_url="sqlite://", secret_key=SECRET_KEY)

VISIT_TYPES = ("follow-up", "new-patient", "annual-wellness", "video-check-in", "phone-follow-up")
FILTERS: dict[str, dict[str, Any]] = {
    "no filter": {},
    "Spanish-speaking": {"language": "es"},
    "afternoons": {"day_part": "afternoon"},
    "Tue/Thu": {"weekdays": [2, 4]},
    "one location": {"location": "westside"},
    "internal medicine": {"specialty": "internal-medicine"},
}
CALENDAR_REQUESTS = 30


# --- data --------------------------------------------------------------------------------------


@dataclass
class Site:
    """One database holding a clinic of ``providers`` practitioners, with its app."""

    backend: str
    providers: int
    bookings: int
    factory: sessionmaker[Session]
    engine: Engine
    seeded: clinics.SeededClinic
    clinic: clinics.Clinic
    client: TestClient
    offering: dict[str, int] = field(default_factory=dict)  # visit type: providers offering it


@dataclass(frozen=True)
class Query:
    visit_type: str
    filter: str

    def slot_query(self, site: Site, first_day: dt.date) -> SlotQuery:
        options = dict(FILTERS[self.filter])
        if "location" in options:
            options["location_id"] = site.seeded.locations[options.pop("location")]
        return SlotQuery(
            appointment_type_id=site.seeded.visit_types[self.visit_type],
            start=first_day,
            days=DAYS,
            limit=LIMIT,
            **options,
        )


QUERIES = [Query(kind, name) for name in FILTERS for kind in VISIT_TYPES]


def _window(first_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(CLINIC_ZONE)
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(first_day + dt.timedelta(days=DAYS), dt.time(), tzinfo=zone)
    return start, end.astimezone(dt.UTC)


def build_site(
    stack: ExitStack, backend: str, providers: int, first_day: dt.date, now: dt.datetime, seed: int
) -> Site:
    url = stack.enter_context(fresh_database(backend))
    engine = make_engine(url)
    stack.callback(engine.dispose)
    factory = make_sessionmaker(engine)
    clinic = clinics.clinic(providers, seed=seed, start=first_day, locations=LOCATIONS)
    wanted = providers * VISITS_PER_PROVIDER
    start, end = _window(first_day)
    with unit_of_work(factory) as db:
        patients = bulk.insert_patients(
            db, ACTOR, people.generate(providers * PATIENTS_PER_PROVIDER, seed)
        )
        seeded = clinics.insert_clinic(db, ACTOR, clinic)
        visits = clinics.plan_visits(
            clinic,
            patients=len(patients.patient_ids),
            start=start,
            end=end,
            now=now,
            count=wanted,
            seed=seed,
            mix=clinics.StatusMix(confirmed=0.3),
        )
        if len(visits) != wanted:
            raise BenchmarkError(f"only {len(visits)} of {wanted} visits fit the clinic")
        clinics.insert_visits(
            db, ACTOR, seeded, visits, patients.patient_ids, history=False, render=False
        )
        security.create_user(
            db,
            ACTOR,
            UserCreate(
                username=USERNAME,
                display_name="Benchmark Coordinator",
                role=Role.COORDINATOR,
                password=PASSWORD,
            ),
        )
    analyze(engine)
    app = create_app(Settings(database_url=url, secret_key=SECRET_KEY, log_level="WARNING"))
    stack.callback(app.state.engine.dispose)
    # Entered, so one event-loop portal serves every request (as a server's loop would); the
    # app's start-up warms the ICD-10 index in a thread, done long before anything is timed.
    client = stack.enter_context(
        TestClient(app, base_url="http://bench.local", follow_redirects=False)
    )
    token = CSRF_RE.search(client.get("/login").text)
    if token is None:
        raise BenchmarkError("the sign-in page carries no CSRF token")
    signed_in = client.post(
        "/login",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/",
        },
    )
    if signed_in.status_code != 303:
        raise BenchmarkError(f"sign-in answered {signed_in.status_code}: {signed_in.text[:200]}")
    offering = {
        code: sum(code in p.visit_types for p in clinic.practitioners) for code in VISIT_TYPES
    }
    return Site(backend, providers, len(visits), factory, engine, seeded, clinic, client, offering)


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Timings:
    """Milliseconds per key (a query, a calendar page), one per timed round."""

    times: dict[Any, list[float]] = field(default_factory=dict)
    hits: dict[Any, int] = field(default_factory=dict)

    def add(self, key: Any, ms: float) -> None:
        self.times.setdefault(key, []).append(ms)

    def medians(self, keep: Callable[[Any], bool] = lambda _: True) -> list[float]:
        return [statistics.median(t) for k, t in self.times.items() if keep(k)]

    def p50(self, keep: Callable[[Any], bool] = lambda _: True) -> float:
        return statistics.median(self.medians(keep))

    def p95(self, keep: Callable[[Any], bool] = lambda _: True) -> float:
        values = sorted(self.medians(keep))
        return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


@dataclass
class SiteResult:
    site: Site
    search: Timings = field(default_factory=Timings)
    page: Timings = field(default_factory=Timings)
    data: Timings = field(default_factory=Timings)


def search(site: Site, query: Query, first_day: dt.date, now: dt.datetime) -> list[Slot]:
    with unit_of_work(site.factory) as db:
        return service.search_slots(db, query.slot_query(site, first_day), now=now)


@dataclass(frozen=True)
class Page:
    practitioner: int
    day: dt.date


def calendar_pages(site: Site, first_day: dt.date) -> list[Page]:
    """A fixed spread of practitioners (by index) and days of the booked fortnight."""
    return [
        Page((n * 37) % site.providers, first_day + dt.timedelta(days=n % 10))
        for n in range(CALENDAR_REQUESTS)
    ]


def get_page(site: Site, page: Page) -> int:
    person = site.seeded.practitioners[page.practitioner]
    response = site.client.get(
        f"/schedule?practitioner_id={person}&day={page.day.isoformat()}&view=day"
    )
    if response.status_code != 200:
        raise BenchmarkError(f"GET /schedule answered {response.status_code}")
    return int(response.text.count('class="cal-appt'))


def page_data(site: Site, page: Page) -> int:
    """What the day view reads: working hours (a day either side, for the zone) and the
    day's visits, in one unit of work (the audit of the patients shown included)."""
    person = site.seeded.practitioners[page.practitioner]
    start, _ = _window(page.day)
    end = start + dt.timedelta(days=1)
    with unit_of_work(site.factory, write=False) as db:
        service.working_hours(
            db,
            start=start - dt.timedelta(days=1),
            end=end + dt.timedelta(days=1),
            practitioner_id=person,
        )
        rows = service.calendar(
            db, ACTOR, CALENDAR_SETTINGS, start=start, end=end, practitioner_id=person
        )
    return len(rows)


def _timed(call: Callable[..., int], *args: Any) -> tuple[float, int]:
    start = perf_counter()
    found = call(*args)
    return (perf_counter() - start) * 1000, found


def count_slots(site: Site, query: Query, first_day: dt.date, now: dt.datetime) -> int:
    return len(search(site, query, first_day, now))


def run_backend(
    sites: Sequence[Site],
    first_day: dt.date,
    now: dt.datetime,
    rounds: int,
    progress: Progress,
) -> list[SiteResult]:
    """Round 0 warms caches and checks answers, untimed; then ``rounds`` timed rounds. Each
    query (and each calendar page) runs on every size in turn, alternating which first."""
    results = [SiteResult(site) for site in sites]
    pages = {id(site): calendar_pages(site, first_day) for site in sites}
    total = (rounds + 1) * len(sites) * (len(QUERIES) + 2 * CALENDAR_REQUESTS)
    task = progress.add_task(f"{sites[0].backend}: measure", total=total)
    for round_no in range(rounds + 1):
        for number, query in enumerate(QUERIES):
            order = results if (round_no + number) % 2 == 0 else results[::-1]
            for result in order:
                ms, found = _timed(count_slots, result.site, query, first_day, now)
                if round_no == 0:
                    result.search.hits[query] = found
                    if query.filter == "no filter" and found < LIMIT:
                        raise BenchmarkError(
                            f"{query.visit_type} found {found} times at "
                            f"{result.site.providers} providers, not {LIMIT}"
                        )
                else:
                    result.search.add(query, ms)
                progress.advance(task)
        for number in range(CALENDAR_REQUESTS):
            order = results if (round_no + number) % 2 == 0 else results[::-1]
            for result in order:
                page = pages[id(result.site)][number]
                for timings, measure in ((result.page, get_page), (result.data, page_data)):
                    ms, found = _timed(measure, result.site, page)
                    if round_no == 0:
                        timings.hits[page] = found
                    else:
                        timings.add(page, ms)
                    progress.advance(task)
    progress.remove_task(task)
    return results


def profile_search(site: Site, first_day: dt.date, now: dt.datetime, top: int) -> str:
    """cProfile of one pass over the queries at ``site``: the functions with the most own
    time, and the cumulative view of the scheduling code."""
    profiler = cProfile.Profile()
    profiler.enable()
    for query in QUERIES:
        search(site, query, first_day, now)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"carebridge/scheduling", top)
    return out.getvalue()


# --- report ------------------------------------------------------------------------------------


def _offering(site: Site) -> float:
    return statistics.mean(site.offering[q.visit_type] for q in QUERIES)


def _console() -> Console:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 140
    return console


def _table(*columns: tuple[str, str]) -> Table:
    table = Table(box=box.MARKDOWN, show_edge=False)
    for heading, justify in columns:
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    return table


def report(
    backends: dict[str, list[SiteResult]], args: argparse.Namespace, notes: list[str]
) -> bool:
    console = _console()
    small, large = min(args.sizes), max(args.sizes)
    console.print(
        f"scheduling: {len(QUERIES)} first-available searches and {CALENDAR_REQUESTS} provider "
        f"day views at {', '.join(str(s) for s in args.sizes)} providers, "
        f"{VISITS_PER_PROVIDER} visits per provider over {DAYS} days (seed {args.seed})"
    )
    console.print()
    first = _table(
        ("database", "left"),
        ("filter", "left"),
        ("n", "right"),
        ("p50 ms", "right"),
        ("p95 ms", "right"),
        ("min-max ms", "right"),
        ("mean slots", "right"),
    )
    for backend, results in backends.items():
        biggest = results[-1]
        for name in (None, *FILTERS):

            def keep(q: Query, name: str | None = name) -> bool:
                return name is None or q.filter == name

            medians = biggest.search.medians(keep)
            hits = [h for q, h in biggest.search.hits.items() if keep(q)]
            first.add_row(
                backend,
                name or f"all {len(QUERIES)}",
                str(len(medians)),
                f"{biggest.search.p50(keep):.1f}",
                f"{biggest.search.p95(keep):.1f}",
                f"{min(medians):.1f}-{max(medians):.1f}",
                f"{statistics.mean(hits):.1f}",
            )
    console.print(f"(a) first available: search_slots across all {large} providers, limit {LIMIT}")
    console.print(first)
    console.print()
    pages = _table(
        ("database", "left"),
        ("path", "left"),
        ("p50 ms", "right"),
        ("p95 ms", "right"),
        ("mean visits", "right"),
    )
    for backend, results in backends.items():
        biggest = results[-1]
        for label, timings in (
            ("GET /schedule day view, full app, signed in", biggest.page),
            ("peer: working_hours + calendar (data only)", biggest.data),
        ):
            pages.add_row(
                backend,
                label,
                f"{timings.p50():.1f}",
                f"{timings.p95():.1f}",
                f"{statistics.mean(timings.hits.values()):.1f}",
            )
    console.print(f"(b) provider calendar at {large} providers")
    console.print(pages)
    for backend, results in backends.items():
        biggest = results[-1]
        console.print(
            f"{backend}: page / data p50 = {biggest.page.p50():.1f} / {biggest.data.p50():.1f} ms "
            f"= {biggest.page.p50() / biggest.data.p50():.1f}x"
        )
    console.print()
    growth = _table(
        ("database", "left"),
        ("providers", "right"),
        ("bookings", "right"),
        ("offering (mean)", "right"),
        ("search p50 ms", "right"),
        ("search p95 ms", "right"),
        ("µs per provider", "right"),
        ("p50 vs smallest", "right"),
        ("day view p50 ms", "right"),
    )
    for backend, results in backends.items():
        base = results[0].search.p50()
        for r in results:
            site = r.site
            offering = _offering(site)
            growth.add_row(
                backend,
                f"{site.providers:,}",
                f"{site.bookings:,}",
                f"{offering:.0f}",
                f"{r.search.p50():.1f}",
                f"{r.search.p95():.1f}",
                f"{1000 * r.search.p50() / site.providers:,.0f}",
                f"{r.search.p50() / base:.2f}",
                f"{r.page.p50():.1f}",
            )
    console.print(f"(c) growth from {small} to {large} providers")
    console.print(growth)
    bound = large / small
    passed = True
    for backend, results in backends.items():
        low, high = results[0].search.p50(), results[-1].search.p50()
        ratio = high / low
        ok = ratio <= bound
        passed = passed and ok
        offered = _offering(results[-1].site) / _offering(results[0].site)
        console.print(
            f"{backend}: search growth p50({large}) / p50({small}) = {high:.1f} / {low:.1f} ms "
            f"= {ratio:.2f} (linear bound {bound:.1f}): {'PASS' if ok else 'FAIL'}; "
            f"providers offering the visit types grew {offered:.2f}x, cost per offering "
            f"provider {ratio / offered:.2f}x"
        )
    for note in notes:
        console.print(note)
    return passed


# --- entry -------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks scheduling",
        description="First-available search, provider calendar page, search growth.",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql", "both"),
        help="default: both when PostgreSQL answers, else sqlite",
    )
    parser.add_argument("--quick", action="store_true", help="10, 20 and 50 providers, 1 round")
    parser.add_argument(
        "--sizes",
        type=lambda v: tuple(sorted({int(x) for x in v.split(",")})),
        help="providers per database, comma-separated (50,100,200,500)",
    )
    parser.add_argument("--rounds", type=int, help=f"timed rounds ({DEFAULTS['rounds']})")
    parser.add_argument("--seed", type=int, default=1, help="synthetic data seed (1)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print a cProfile of one pass of the searches at the largest size",
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for name in ("sizes", "rounds"):
        if getattr(args, name) is None:
            setattr(args, name, base[name])
    if len(args.sizes) < 2 or min(args.sizes) < 5 or args.rounds < 1:
        parser.error("need at least two sizes of 5 providers or more, and --rounds >= 1")
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


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    notes: list[str] = []
    backends = _backends(args.database, notes)
    if backends is None:
        return 2
    now = utcnow()
    first_day = now.astimezone(ZoneInfo(CLINIC_ZONE)).date() + dt.timedelta(days=1)
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    measured: dict[str, list[SiteResult]] = {}
    versions: dict[str, str] = {}
    profiles: list[str] = []
    setup: dict[str, float] = {}
    with progress:
        for backend in backends:
            with ExitStack() as stack:
                sites = []
                task = progress.add_task(f"{backend}: seed", total=len(args.sizes))
                started = perf_counter()
                for size in args.sizes:
                    sites.append(build_site(stack, backend, size, first_day, now, args.seed))
                    progress.advance(task)
                setup[backend] = perf_counter() - started
                progress.remove_task(task)
                versions[backend] = _server_version(sites[0].engine)
                measured[backend] = run_backend(sites, first_day, now, args.rounds, progress)
                if args.profile:
                    profiles.append(
                        f"--- {backend}: cProfile, one pass of the {len(QUERIES)} searches at "
                        f"{sites[-1].providers} providers ---\n"
                        + profile_search(sites[-1], first_day, now, 25)
                    )
    notes += [
        f"window: {first_day} + {DAYS} days; now fixed at {now:%Y-%m-%d %H:%M} UTC; "
        f"{len(QUERIES)} queries = {len(VISIT_TYPES)} visit types x {len(FILTERS)} filters "
        f"({', '.join(FILTERS)}); each one unit of work; {args.rounds} timed round(s) after a "
        "warm-up round; p50/p95 over the per-query medians",
        "offering: practitioners offering the queried visit type (before the filters), mean "
        "over the queries; µs per provider = search p50 / providers in the clinic",
        f"day view: {CALENDAR_REQUESTS} pages (practitioner, day) per size through "
        "Starlette's TestClient (in process, real sign-in and session cookie)",
        "the process holds what a server holds (the app's start-up builds the ICD-10 index), "
        "so the times include the full garbage collections the searches' allocations trigger",
        "PostgreSQL: ANALYZE after each load (as autovacuum would); SQLite: no ANALYZE "
        "(the app never runs it)",
        "setup (untimed): "
        + ", ".join(f"{backend} {seconds:.0f} s" for backend, seconds in setup.items()),
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
        + "".join(f", {b} server {v}" for b, v in versions.items() if b != "sqlite"),
    ]
    passed = report(measured, args, notes)
    for text_block in profiles:
        print(text_block)
    return 0 if passed else 1
