"""Scenario ``hl7``: how many ADT messages a second the MLLP listener takes, each committed
durably before its ACK, next to an MLLP server that only answers.

Load: the 57 ADT samples (``../shared/data/hl7v2``, v2.3-2.8) in turn, each copy with its own
control id (MSH-10), sent by ``--connections`` client connections at once from a separate
process (asyncio; each connection sends a message, waits for its ACK, sends the next, as
MLLP senders do). The first ``--warmup`` messages are not timed (the sample patients are
registered then, so the timed part is the steady state of a feed: patients found, stays
opened, moved and closed). Then ``--messages`` are timed: messages/s over the whole run, and
each message's ACK latency (send to ACK received) as median and p99.

Measured: ``carebridge.transitions.mllp`` (``carebridge hl7 listen``) on a fresh migrated
database, SQLite (a temporary file; WAL with synchronous=FULL, so each commit reaches the
disk) and PostgreSQL (a throwaway database on the server of CAREBRIDGE_TEST_DATABASE_URL,
default postgres@127.0.0.1:5432, when one answers; its own synchronous_commit is shown).
Every message goes through ``inbox.receive`` (stored raw, parsed, applied in a savepoint,
audited); the writer thread commits whatever has arrived from all connections as one
transaction before any of its ACKs is sent (group commit). Afterwards every acknowledged
control id is looked up in the database: one missing stops the run.

Peer: an MLLP server on the same event-loop code path that reads each frame, parses the MSH
and answers AA with the same ACK builder, storing nothing: the ceiling that framing, sockets
and the client impose. PASS when the listener takes at least ``GOAL`` messages/s on each
database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from time import perf_counter
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text

from benchmarks.harness import BenchmarkError
from benchmarks.patients import fresh_database, pg_answers, pg_server
from carebridge.db.session import make_engine, make_sessionmaker
from carebridge.settings import Settings
from carebridge.transitions import ack, inbox, mllp
from carebridge.transitions.hl7 import Message, header
from carebridge.transitions.models import Hl7Message

GOAL = 1_000.0  # messages/s, each committed before its ACK
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "hl7v2"
SECRET_KEY = "benchmark-secret-" + "x" * 40
DEFAULTS = {"messages": 20_000, "warmup": 1_000, "connections": 8}
QUICK = {"messages": 300, "warmup": 60, "connections": 4}
VT, END = b"\x0b", b"\x1c\x0d"


# --- the load (runs in its own process) -------------------------------------------------------


def samples() -> list[str]:
    texts = []
    for path in sorted(SAMPLES.glob("*.hl7")):  # on the wire: CR after each segment, no BOM
        lines = path.read_text(encoding="utf-8").removeprefix("\ufeff").splitlines()
        texts.append("\r".join(line for line in lines if line.strip()))
    if not texts:
        raise BenchmarkError(f"no HL7 samples in {SAMPLES}")
    return texts


def with_control_id(raw: str, control_id: str) -> str:
    head, _, rest = raw.partition("\r")
    fields = head.split(head[3])
    fields[9] = control_id
    return head[3].join(fields) + "\r" + rest


@dataclass(frozen=True)
class Load:
    seconds: float
    latencies: list[float]  # seconds, one per message
    codes: dict[str, int]
    wrong: list[str]  # answers whose MSA-2 was not the control id sent

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def _connection(
    port: int, frames: list[tuple[str, bytes]], latencies: list[float], codes: Counter[str],
    wrong: list[str],
) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        for control_id, data in frames:
            started = perf_counter()
            writer.write(data)
            answer = await reader.readuntil(END)
            latencies.append(perf_counter() - started)
            msa = next(s for s in answer[1:-2].decode().split("\r") if s.startswith("MSA"))
            fields = msa.split("|")
            codes[fields[1]] += 1
            if len(fields) < 3 or fields[2] != control_id:
                wrong.append(f"{control_id}: {msa}")
    finally:
        writer.close()
        await writer.wait_closed()


async def _drive(port: int, frames: list[tuple[str, bytes]], connections: int) -> Load:
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    wrong: list[str] = []
    shares = [frames[i::connections] for i in range(connections)]
    started = perf_counter()
    await asyncio.gather(*(_connection(port, s, latencies, codes, wrong) for s in shares))
    return Load(perf_counter() - started, latencies, dict(codes), wrong)


def _client_process(
    port: int, texts: list[str], prefix: str, count: int, connections: int, out: Connection
) -> None:
    frames = []
    for n in range(count):
        control_id = f"{prefix}{n:07d}"
        raw = with_control_id(texts[n % len(texts)], control_id)
        frames.append((control_id, VT + raw.encode() + END))
    try:
        out.send(asyncio.run(_drive(port, frames, connections)))
    except Exception as exc:  # reported to the parent, which stops the run
        out.send(f"{type(exc).__name__}: {exc}")
    finally:
        out.close()


def drive(port: int, texts: list[str], prefix: str, count: int, connections: int) -> Load:
    """Send ``count`` messages from a separate process (its own interpreter and GIL)."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=_client_process, args=(port, texts, prefix, count, connections, sending)
    )
    process.start()
    sending.close()
    try:
        result = receiving.recv()
    except EOFError:
        result = "the client process died"
    process.join(60)
    if not isinstance(result, Load):
        raise BenchmarkError(f"the load client failed: {result}")
    if result.wrong:
        raise BenchmarkError(f"{len(result.wrong)} wrong ACK(s), e.g. {result.wrong[0]}")
    return result


# --- the servers ------------------------------------------------------------------------------


@contextmanager
def running(target: Callable[..., Any], **kwargs: Any) -> Iterator[int]:
    """Run a blocking server function in a thread until the block ends; yields its port."""
    stop, ready = threading.Event(), threading.Event()
    ports: list[int] = []
    failure: list[BaseException] = []

    def on_ready(port: int) -> None:
        ports.append(port)
        ready.set()

    def run() -> None:
        try:
            target(host="127.0.0.1", port=0, ready=on_ready, stop=stop, **kwargs)
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="bench-server", daemon=True)
    thread.start()
    ready.wait(30)
    if failure or not ports:
        raise BenchmarkError(f"the server did not start: {failure[0] if failure else 'timeout'}")
    try:
        yield ports[0]
    finally:
        stop.set()
        thread.join(60)
    if failure:
        raise BenchmarkError(f"the server failed: {failure[0]!r}")


def ack_only(
    settings: Settings, *, host: str, port: int, ready: Callable[[int], object],
    stop: threading.Event,
) -> None:  # fmt: skip
    """The peer: read a frame, parse its MSH segment, answer AA; nothing stored."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.readuntil(END)
                msh = data[data.rfind(VT) + 1 : -2].decode().partition("\r")[0]
                head = header(Message(msh), settings.timezone)
                answer = ack.build(
                    "AA",
                    application=settings.hl7_application,
                    facility=settings.hl7_facility,
                    head=head,
                )
                writer.write(mllp.frame(answer))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(connection, host, port, limit=1 << 20)
        ready(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.close()

    asyncio.run(main())


# --- runs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    name: str
    what: str
    load: Load
    stats: mllp.Stats | None = None


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, secret_key=SECRET_KEY, log_level="WARNING")


def run_listener(backend: str, args: argparse.Namespace, texts: list[str]) -> tuple[Run, str]:
    with fresh_database(backend) as url:
        settings = settings_for(url)
        stats: list[mllp.Stats] = []

        def serve(**kwargs: Any) -> None:
            stats.append(mllp.serve(settings, **kwargs))

        prefix = f"B{uuid.uuid4().hex[:6].upper()}"
        with running(serve, max_batch=args.batch, batch_wait=args.batch_wait / 1000) as port:
            drive(port, texts, f"{prefix}W", args.warmup, args.connections)
            load = drive(port, texts, f"{prefix}T", args.messages, args.connections)
        timed = stats[0]
        engine = make_engine(url)
        try:
            with make_sessionmaker(engine)() as db:
                kept = db.scalar(
                    select(func.count())
                    .select_from(Hl7Message)
                    .where(Hl7Message.control_id.like(f"{prefix}T%"))
                )
                durability = (
                    "synchronous_commit=" + str(db.scalar(text("SHOW synchronous_commit")))
                    if engine.dialect.name == "postgresql"
                    else "WAL, synchronous=FULL"
                )
        finally:
            engine.dispose()
        if kept != args.messages:
            raise BenchmarkError(
                f"{backend}: {args.messages} messages acknowledged but {kept} stored"
            )
        ceiling = apply_in_process(settings, texts, f"{prefix}C", args.messages, args.batch)
    what = f"listener -> inbox.receive, group commit ({durability})"
    return Run(f"carebridge ({backend})", what, load, timed), ceiling


def apply_in_process(
    settings: Settings, texts: list[str], prefix: str, count: int, batch: int
) -> float:
    """messages/s of ``inbox.receive`` alone: no sockets, no thread hop, ``batch`` a commit;
    what the writer thread could do at best, one message after another."""
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    raws = [with_control_id(texts[n % len(texts)], f"{prefix}{n:07d}") for n in range(count)]
    try:
        started = perf_counter()
        for first in range(0, count, batch):
            with factory() as db:
                with inbox.batch(db):
                    for raw in raws[first : first + batch]:
                        inbox.receive(db, raw, source="mllp", peer="bench", settings=settings)
                db.commit()
        return count / (perf_counter() - started)
    finally:
        engine.dispose()


def run_peer(args: argparse.Namespace, texts: list[str]) -> Run:
    settings = settings_for("sqlite://")
    with running(ack_only, settings=settings) as port:
        drive(port, texts, "PW", args.warmup, args.connections)
        load = drive(port, texts, "PT", args.messages, args.connections)
    return Run("ack-only", "parse the MSH, answer AA, store nothing", load)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks hl7",
        description="MLLP listener throughput and ACK latency (durable commit before each ACK) "
        "on SQLite and PostgreSQL, next to an ACK-only MLLP server.",
    )
    parser.add_argument("--messages", type=int, help=f"timed messages ({DEFAULTS['messages']:,})")
    parser.add_argument("--warmup", type=int, help=f"untimed messages first ({DEFAULTS['warmup']})")
    parser.add_argument(
        "--connections", type=int, help=f"client connections ({DEFAULTS['connections']})"
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="both: PostgreSQL too when it answers (default)",
    )
    parser.add_argument(
        "--batch", type=int, default=mllp.MAX_BATCH, help="most messages per commit"
    )
    parser.add_argument(
        "--batch-wait", type=float, default=0.0, help="ms the writer waits to fill a batch (0)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few seconds, for smoke tests; figures are noise"
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for key in ("messages", "warmup", "connections"):
        if getattr(args, key) is None:
            setattr(args, key, base[key])
        if getattr(args, key) < 1:
            parser.error(f"--{key} must be at least 1")
    if args.batch < 1 or args.batch_wait < 0:
        parser.error("--batch must be at least 1 and --batch-wait not negative")
    return args


def _console() -> Console:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 120
    return console


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    texts = samples()
    backends = ["sqlite"] if args.database != "postgresql" else []
    skipped = ""
    if args.database in ("postgresql", "both"):
        if pg_answers(pg_server()):
            backends.append("postgresql")
        elif args.database == "postgresql":
            print(f"hl7: no PostgreSQL answers at {pg_server()}", file=sys.stderr)
            return 2
        else:
            skipped = f"postgresql: skipped (nothing answers at {pg_server()})"

    measured = [run_listener(backend, args, texts) for backend in backends]
    runs = [run for run, _ in measured]
    peer = run_peer(args, texts)

    console = _console()
    console.print(
        f"hl7: {args.messages:,} ADT messages ({len(texts)} samples in turn, each its own control "
        f"id) over {args.connections} MLLP connections from another process, after "
        f"{args.warmup:,} untimed"
    )
    table = Table(box=box.MARKDOWN, show_edge=False)
    for heading, justify in (("server", "left"), ("what", "left"), ("msg/s", "right"),
                             ("ACK p50 ms", "right"), ("ACK p99 ms", "right"),
                             ("commits", "right"), ("msg/commit", "right"),
                             ("AA/AE/AR", "right")):  # fmt: skip
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    for run in [*runs, peer]:
        load = run.load
        commits = run.stats.batches if run.stats else 0
        codes = "/".join(str(load.codes.get(code, 0)) for code in ("AA", "AE", "AR"))
        table.add_row(
            run.name,
            run.what,
            f"{load.rate:,.0f}",
            f"{statistics.median(load.latencies) * 1000:,.2f}",
            f"{load.percentile(0.99) * 1000:,.2f}",
            f"{commits:,}" if run.stats else "-",
            f"{len(load.latencies) / commits:,.1f}" if commits else "-",
            codes,
        )
    console.print(table)
    passed = True
    for run, ceiling in measured:
        console.print(
            f"{run.name}: inbox.receive alone, in process, {args.batch} per commit: "
            f"{ceiling:,.0f} messages/s (the writer thread's ceiling; the listener reaches "
            f"{run.load.rate / ceiling:.0%} of it)"
        )
    for run in runs:
        ok = run.load.rate >= GOAL
        passed &= ok
        console.print(
            f"{run.name}: {run.load.rate:,.0f} messages/s, every ACK after a durable commit, "
            f"all {len(run.load.latencies):,} acknowledged messages found stored; ratio to "
            f"ack-only {run.load.rate / peer.load.rate:.2f}; goal >= {GOAL:,.0f}/s: "
            f"{'PASS' if ok else 'FAIL'}"
        )
    if skipped:
        console.print(skipped)
    console.print(
        f"writer: at most {args.batch} messages per commit, waits {args.batch_wait:g} ms to fill "
        f"one; Python {platform.python_version()}, {os.cpu_count()} CPU(s)"
    )
    return 0 if passed else 1
