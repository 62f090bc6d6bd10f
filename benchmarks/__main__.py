"""``python -m benchmarks [NAME [OPTIONS]]``: list the scenarios, or run one."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    module: str  # imported only when run, so listing never builds an app or a database
    summary: str


SCENARIOS: dict[str, Scenario] = {
    "analytics": Scenario(
        "benchmarks.analytics",
        "every quality measure over a year of activity at 10k and 100k patients, and growth",
    ),
    "api-overhead": Scenario(
        "benchmarks.api_overhead",
        "authenticated GET /api/v1/me through the full app vs a bare Starlette + orjson route",
    ),
    "fhir": Scenario(
        "benchmarks.fhir",
        "FHIR: Synthea import vs raw insert, $export, Patient read vs bare route, search growth",
    ),
    "hl7": Scenario(
        "benchmarks.hl7",
        "MLLP listener: ADT messages/s and ACK latency, commit before ACK, vs an ACK-only server",
    ),
    "patients": Scenario(
        "benchmarks.patients",
        "bulk seeding vs raw executemany; search latency at 10k and 100k patients",
    ),
    "scheduling": Scenario(
        "benchmarks.scheduling",
        "first-available search across 500 providers, provider day view, growth from 50",
    ),
    "worklist": Scenario(
        "benchmarks.worklist",
        "one coordinator's first worklist page, with and without filters, at 10k and 100k patients",
    ),
    "x12": Scenario(
        "benchmarks.x12",
        "271 reading vs linuxforhealth-x12 (10k transactions, same benefits); 270 build rate",
    ),
}

USAGE = "usage: python -m benchmarks NAME [--help | OPTIONS]   (no NAME or --list: list them)"


def list_scenarios() -> str:
    width = max(len(name) for name in SCENARIOS)
    rows = [f"  {name:<{width}}  {s.summary}" for name, s in SCENARIOS.items()]
    return "\n".join([USAGE, "", "scenarios:", *rows])


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("--list", "-l", "--help", "-h"):
        print(list_scenarios())
        return 0
    name, rest = args[0], args[1:]
    scenario = SCENARIOS.get(name)
    if scenario is None:
        known = ", ".join(SCENARIOS)
        print(f"unknown scenario {name!r}; known scenarios: {known}", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    run: Callable[[list[str]], int] = importlib.import_module(scenario.module).main
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())
