"""Scenario ``x12``: how fast our X12 codec reads 271s next to linuxforhealth-x12, and how fast
we build 270s.

(a) 271 reading. The published 005010X279A1 271 samples (``../shared/data/x12``) that our
codec accepts, repeated until at least ``--transactions`` transaction sets (default 10,000).
Ours: ``coverage.x12.eligibility.read_271`` (the codec's envelope parse and validation, then
the members and benefits), median over ``--rounds`` rounds. Peer: linuxforhealth-x12's
``X12ModelReader`` (pydantic models of every loop and segment) on the same documents the same
number of times, in the oracle virtual environment (it needs pydantic 1; built on first use,
see ``tests/oracles/support.py``); only its parsing loop is timed, inside that process, after
one untimed warm-up pass. Before anything is timed both readings of every document are
compared field by field (members, trace numbers, AAA codes, every EB element we use and the
primary care provider); a difference stops the run.

(b) 270 building. ``build_270`` for a subscriber and a dependent inquiry in turn, median over
the rounds; each built 270 of the first round is parsed back by our codec as a check.

PASS when ours reads at least ``GOAL``x as many 271 transactions per second as the peer.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from dataclasses import dataclass, replace
from datetime import date, datetime
from time import perf_counter

from rich import box
from rich.console import Console
from rich.table import Table
from tests.oracles import support

from benchmarks.harness import BenchmarkError
from carebridge.coverage.x12 import X12Error, parse
from carebridge.coverage.x12.eligibility import Dependent, EligibilityRequest, build_270, read_271

GOAL = 3.0
FOLDER = "271_005010X279A1"
DEFAULTS = {"transactions": 10_000, "builds": 10_000, "rounds": 5}
QUICK = {"transactions": 200, "builds": 200, "rounds": 1}

NOW = datetime(2026, 3, 2, 8, 45)  # noqa: DTZ001 - X12 times are local, no zone
REQUEST = EligibilityRequest(
    payer_name="ACME HEALTH PLAN",
    payer_id="60054",
    provider_name="CAREBRIDGE FAMILY CLINIC",
    provider_npi="1234567893",
    subscriber_last_name="RIVERA",
    subscriber_first_name="ANA",
    member_id="W123456789",
    subscriber_birth_date=date(1980, 7, 14),
    subscriber_sex="female",
    service_date=date(2026, 3, 3),
    trace_number="CB-000123",
    trace_originator_id="1123456789",
    service_type_codes=("30", "98", "PT"),
)
DEPENDENT = replace(
    REQUEST,
    dependent=Dependent("RIVERA", "LUIS", date(2015, 2, 1), "male"),
    service_type_codes=("30",),
)


@dataclass(frozen=True)
class Corpus:
    names: list[str]
    documents: list[str]
    transactions_each: int  # transaction sets per pass over the documents
    left_out: list[str]  # samples our codec rejects, with why


def load_corpus() -> Corpus:
    names, documents, left_out = [], [], []
    for path in support.sample_files(FOLDER):
        text = path.read_text()
        try:
            parse(text)
        except X12Error as exc:
            left_out.append(f"{path.name} ({exc})")
            continue
        names.append(path.name)
        documents.append(text)
    if not documents:
        raise BenchmarkError(f"no readable 271 samples in {support.SAMPLES / FOLDER}")
    each = sum(len(group.transactions) for text in documents for group in parse(text).groups)
    return Corpus(names, documents, each, left_out)


def check_same_reading(corpus: Corpus, models: list[list[dict[str, object]]]) -> int:
    """Compare both readings of every document; the number of benefits compared."""
    compared = 0
    for name, text, document_models in zip(corpus.names, corpus.documents, models, strict=True):
        ours = support.our_271_members(read_271(text))
        theirs = [member for model in document_models for member in support.lfh_271_members(model)]
        if ours != theirs:
            raise BenchmarkError(
                f"{name}: read_271 and linuxforhealth-x12 differ:\n{ours}\n{theirs}"
            )
        compared += sum(len(member.get("benefits", [])) for member in ours)
    return compared


def time_ours(corpus: Corpus, passes: int) -> tuple[int, float]:
    documents = corpus.documents
    started = perf_counter()
    for _ in range(passes):
        for text in documents:
            read_271(text)
    return passes * corpus.transactions_each, perf_counter() - started


def time_builds(builds: int, check: bool) -> float:
    requests = (REQUEST, DEPENDENT)
    started = perf_counter()
    built = [
        build_270(
            requests[n % 2],
            control_number=n + 1,
            sender_id="CAREBRIDGE",
            receiver_id="CLEARINGHOUSE",
            now=NOW,
        )
        for n in range(builds)
    ]
    elapsed = perf_counter() - started
    if check:
        for text in built:
            parse(text)
    return builds / elapsed


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks x12",
        description="271 reading vs linuxforhealth-x12 (same run, same documents); 270 build rate.",
    )
    parser.add_argument(
        "--transactions",
        type=int,
        help=f"271 transaction sets to read per contender per round ({DEFAULTS['transactions']:,})",
    )
    parser.add_argument("--builds", type=int, help=f"270s built per round ({DEFAULTS['builds']:,})")
    parser.add_argument("--rounds", type=int, help=f"timed rounds for ours ({DEFAULTS['rounds']})")
    parser.add_argument(
        "--quick", action="store_true", help="a few seconds, for smoke tests; figures are noise"
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for key in ("transactions", "builds", "rounds"):
        if getattr(args, key) is None:
            setattr(args, key, base[key])
        if getattr(args, key) < 1:
            parser.error(f"--{key} must be at least 1")
    return args


def _console() -> Console:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 120
    return console


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    corpus = load_corpus()
    passes = -(-args.transactions // corpus.transactions_each)  # ceiling: at least as many
    try:
        peer = support.lfh_benchmark(corpus.documents, passes)
    except support.OracleUnavailable as exc:
        print(f"x12: linuxforhealth-x12 is not available: {exc}", file=sys.stderr)
        return 2
    compared = check_same_reading(corpus, peer.models)

    time_ours(corpus, 1)  # warm-up, untimed
    our_rates, build_rates = [], []
    transactions = 0
    for round_no in range(args.rounds):
        transactions, seconds = time_ours(corpus, passes)
        our_rates.append(transactions / seconds)
        build_rates.append(time_builds(args.builds, check=round_no == 0))
    if transactions != peer.transactions:
        raise BenchmarkError(f"ours read {transactions} transactions, the peer {peer.transactions}")
    ours = statistics.median(our_rates)
    theirs = peer.transactions / peer.seconds
    ratio = ours / theirs

    console = _console()
    console.print(
        f"x12: {transactions:,} 271 transaction sets ({len(corpus.documents)} samples x "
        f"{passes:,}), read by our codec and by linuxforhealth-x12; {args.builds:,} 270 builds"
    )
    table = Table(box=box.MARKDOWN, show_edge=False)
    for heading, justify in (("reader", "left"), ("what", "left"), ("tx/s", "right"),
                             ("µs/tx", "right"), ("min-max tx/s", "right")):  # fmt: skip
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    table.add_row(
        "carebridge",
        "parse + validate envelope + read_271",
        f"{ours:,.0f}",
        f"{1e6 / ours:,.1f}",
        f"{min(our_rates):,.0f}-{max(our_rates):,.0f}",
    )
    table.add_row(
        "linuxforhealth-x12",
        "X12ModelReader -> pydantic 1 models (in its venv)",
        f"{theirs:,.0f}",
        f"{1e6 / theirs:,.1f}",
        "one run",
    )
    console.print(table)
    build_rate = statistics.median(build_rates)
    console.print(
        f"270 build rate: {build_rate:,.0f} builds/s ({1e6 / build_rate:,.1f} µs per 270; "
        f"subscriber and dependent inquiries in turn, median of {args.rounds})"
    )
    console.print(
        f"identical extracted benefits: PASS ({compared} benefits in {len(corpus.documents)} "
        "samples compared field by field, plus members, traces, AAA codes and PCP)"
    )
    passed = ratio >= GOAL
    console.print(
        f"ratio {ratio:.2f} (carebridge is {ratio:.1f}x the linuxforhealth-x12 rate; goal >= "
        f"{GOAL:.0f}x): {'PASS' if passed else 'FAIL'}"
    )
    for left in corpus.left_out:
        console.print(f"left out (our codec rejects it, rightly): {left}")
    console.print(
        f"ours: median of {args.rounds} round(s) after a warm-up pass; linuxforhealth-x12: one "
        "timed run after a warm-up pass, timed inside its own process (no subprocess or JSON cost)"
    )
    console.print(
        f"Python {platform.python_version()}; oracle venv: {', '.join(support.REQUIREMENTS)}"
    )
    return 0 if passed else 1
