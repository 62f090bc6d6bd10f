"""Shared driver: the same client code sends the same GET to each contender (an ASGI app,
in process), in alternating rounds, and the report gives medians and the measured/peer ratio.

In-process ASGI leaves out sockets and the server, so the figure is the framework and
application cost per request, which is what a peer comparison isolates.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

BASE_URL = "http://bench.local"


@dataclass(frozen=True)
class Contender:
    name: str
    description: str
    app: Any  # an ASGI application


@dataclass(frozen=True)
class Plan:
    path: str
    requests: int  # per contender per round
    rounds: int
    warmup: int  # per contender, untimed, before the first round
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    contender: Contender
    rates: list[float]  # requests/s, one per round

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


class BenchmarkError(RuntimeError):
    """A contender answered wrongly: the timing would be meaningless."""


# Called with each contender's last warm-up response, before anything is timed.
Check = Callable[[Contender, httpx.Response], None]


def _client(contender: Contender, plan: Plan) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=contender.app),
        base_url=BASE_URL,
        headers=dict(plan.headers),
    )


async def _batch(client: httpx.AsyncClient, path: str, count: int) -> tuple[float, httpx.Response]:
    """Send ``count`` sequential GETs; sequential so the rate is per-request cost, not how
    well either side overlaps work."""
    response: httpx.Response | None = None
    start = perf_counter()
    for _ in range(count):
        response = await client.get(path)
        if response.status_code != 200:
            raise BenchmarkError(f"GET {path} answered {response.status_code}: {response.text}")
    elapsed = perf_counter() - start
    assert response is not None
    return elapsed, response


async def _measure(
    contenders: Sequence[Contender], plan: Plan, check: Check | None, progress: Progress
) -> list[Result]:
    total = len(contenders) * (plan.warmup + plan.rounds * plan.requests)
    task = progress.add_task("warm-up", total=total)
    clients = [_client(c, plan) for c in contenders]
    try:
        for contender, client in zip(contenders, clients, strict=True):
            _, sample = await _batch(client, plan.path, plan.warmup)
            if check is not None:
                check(contender, sample)
            progress.advance(task, plan.warmup)
        rates: list[list[float]] = [[] for _ in contenders]
        for round_no in range(plan.rounds):
            progress.update(task, description=f"round {round_no + 1}/{plan.rounds}")
            # Alternate who goes first so drift (thermal, GC, caches) falls on both alike.
            order = range(len(clients)) if round_no % 2 == 0 else reversed(range(len(clients)))
            for i in order:
                elapsed, _ = await _batch(clients[i], plan.path, plan.requests)
                rates[i].append(plan.requests / elapsed)
                progress.advance(task, plan.requests)
    finally:
        for client in clients:
            await client.aclose()
    return [Result(c, r) for c, r in zip(contenders, rates, strict=True)]


def measure(
    contenders: Sequence[Contender], plan: Plan, check: Check | None = None
) -> list[Result]:
    if plan.warmup < 1 or plan.requests < 1 or plan.rounds < 1:
        raise ValueError("warm-up, requests and rounds must each be at least 1")
    # The bar goes to stderr and vanishes when done, so stdout holds only the report.
    progress = Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        return asyncio.run(_measure(contenders, plan, check, progress))


def ratio_line(measured: Result, peer: Result) -> str:
    ratio = measured.median / peer.median
    name, other = measured.contender.name, peer.contender.name
    if ratio <= 1:
        verdict = f"{name} is {1 / ratio:.1f}x slower than the {other} endpoint"
    else:
        verdict = f"{name} is {ratio:.1f}x faster than the {other} endpoint"
    return f"ratio {ratio:.2f} ({verdict})"


def report(title: str, results: Sequence[Result], notes: Sequence[str]) -> None:
    """Print the title, a table of per-contender medians, the notes and the ratio; the first
    result is the measured path, the last its peer."""
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 120  # piped (tests, issue notes): no 80-column default to fold rows
    table = Table(box=box.MARKDOWN, show_edge=False)  # pastes into an issue note as a table
    table.add_column("endpoint")
    table.add_column("what")
    table.add_column("median req/s", justify="right")
    table.add_column("µs/req", justify="right")
    table.add_column("min-max req/s", justify="right")
    for r in results:
        table.add_row(
            r.contender.name,
            r.contender.description,
            f"{r.median:,.0f}",
            f"{1e6 / r.median:,.0f}",
            f"{min(r.rates):,.0f}-{max(r.rates):,.0f}",
        )
    console.print(title)
    console.print(table)
    for note in notes:
        console.print(note)
    console.print(ratio_line(results[0], results[-1]))
