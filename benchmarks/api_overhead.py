"""Scenario ``api-overhead``: what the full Carebridge stack costs per authenticated API call.

Measured: ``GET /api/v1/me`` with a bearer token through ``create_app`` (all middleware,
error handlers, the token lookup in a fresh migrated SQLite database, the unit of work,
response validation). Peer, as a ceiling: a bare Starlette route returning an
orjson-encoded body of the same shape. Both are driven over in-process ASGI by the same client.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.harness import BenchmarkError, Contender, Plan, measure, report
from carebridge.app import create_app
from carebridge.db import migrate
from carebridge.db.session import unit_of_work
from carebridge.security import service
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.security.schemas import UserCreate
from carebridge.settings import Settings

PATH = "/api/v1/me"
# Fixed data, so every run measures the same rows. The token secret and row ids still come
# from the service's own generators (secrets, uuid4): they cannot be seeded, and their
# values do not change the work a request does.
USERNAME = "bench-coordinator"
PASSWORD = "correct horse battery staple"
SECRET_KEY = "benchmark-secret-" + "x" * 40

DEFAULTS = {"requests": 2000, "rounds": 7}
QUICK = {"requests": 50, "rounds": 3}


@contextmanager
def carebridge_app() -> Iterator[tuple[FastAPI, str, dict[str, str]]]:
    """The full app on a fresh migrated database holding one user and their API token;
    yields the app, the token and the body ``/api/v1/me`` should answer."""
    with tempfile.TemporaryDirectory(prefix="carebridge-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        app = create_app(Settings(database_url=url, secret_key=SECRET_KEY))
        actor = Actor.system("benchmark")
        try:
            with unit_of_work(app.state.sessionmaker) as db:
                user = service.create_user(
                    db,
                    actor,
                    UserCreate(
                        username=USERNAME,
                        display_name="Benchmark Coordinator",
                        role=Role.COORDINATOR,
                        password=PASSWORD,
                    ),
                )
                token, _ = service.create_token(
                    db, actor, service.find_user(db, USERNAME), "benchmark"
                )
            expected = {"id": str(user.id), "username": user.username, "role": user.role.value}
            yield app, token, expected
        finally:
            app.state.engine.dispose()  # release the SQLite file before the directory goes


def bare_app(body: dict[str, str]) -> Starlette:
    async def me(request: Request) -> Response:
        # Encoded per request, as a real endpoint would, so the ceiling includes serializing.
        return Response(orjson.dumps(body), media_type="application/json")

    return Starlette(routes=[Route(PATH, me)])


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks api-overhead",
        description="Full-app cost of an authenticated JSON GET vs a bare Starlette route.",
    )
    parser.add_argument(
        "--requests", type=int, help=f"per endpoint per round ({DEFAULTS['requests']})"
    )
    parser.add_argument("--rounds", type=int, help=f"alternating rounds ({DEFAULTS['rounds']})")
    parser.add_argument(
        "--quick", action="store_true", help="a few seconds, for smoke tests; figures are noise"
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    args.requests = base["requests"] if args.requests is None else args.requests
    args.rounds = base["rounds"] if args.rounds is None else args.rounds
    if args.requests < 1 or args.rounds < 1:
        parser.error("--requests and --rounds must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    with carebridge_app() as (app, token, expected):
        plan = Plan(
            path=PATH,
            requests=args.requests,
            rounds=args.rounds,
            warmup=max(10, args.requests // 10),
            # The bare route ignores the token; sending it to both keeps the requests identical.
            headers={"Authorization": f"Bearer {token}"},
        )
        contenders = [
            Contender("carebridge", "full app: middleware, auth, token lookup", app),
            Contender("bare", "Starlette route, orjson, same body", bare_app(expected)),
        ]

        def same_body(contender: Contender, response: httpx.Response) -> None:
            # A peer that answered something else would make the ratio meaningless.
            if response.json() != expected:
                raise BenchmarkError(f"{contender.name} answered {response.text}, not {expected}")

        results = measure(contenders, plan, same_body)
    notes = [
        f"{plan.rounds} alternating rounds x {plan.requests:,} sequential requests per endpoint "
        f"(median over rounds), after {plan.warmup:,} warm-up; in-process ASGI via httpx",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]
    report(f"api-overhead: GET {PATH} with a Bearer token", results, notes)
    return 0
