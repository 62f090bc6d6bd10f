"""``python -m benchmarks analytics`` end to end at 200 and 1,000 patients: it seeds a year of
activity into freshly migrated databases, runs every registered measure (the run itself fails
when a measure counts no case), and prints the table and the verdicts. Growth figures from so
few cases are noise and are not checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from carebridge.analytics.measures import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "analytics", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_small_run_times_every_measure_at_both_sizes_and_gives_a_verdict() -> None:
    backends = ["sqlite"]
    if os.environ.get("CAREBRIDGE_TEST_DATABASE_URL"):
        backends.append("postgresql")
    result = run_benchmark(
        *("--sizes", "200,1000", "--rounds", "1", "--database", ",".join(backends))
    )
    assert result.returncode in (0, 1), result.stderr  # 1: a FAIL verdict, noise at this size
    assert "Traceback" not in result.stderr, result.stderr
    out = result.stdout
    assert out.startswith("analytics: "), out
    assert "at 200, 1,000 patients" in out.splitlines()[0]
    for backend in backends:
        for key in REGISTRY:
            # One row per measure and database: cases and a time at each size, the rate, the
            # peak memory, the growth and its verdict.
            row = re.search(
                rf"^ {backend} +\| {re.escape(key)} +\| +([\d,]+) \| +([\d,.]+) \| +([\d,]+) "
                r"\| +([\d,.]+) \| +([\d.]+%|-) \| +([\d,.]+) \| +([\d.]+) \| (PASS|FAIL)",
                out,
                re.MULTILINE,
            )
            assert row is not None, f"no row for {key} on {backend}:\n{out}"
            small_cases, large_cases = (int(row.group(n).replace(",", "")) for n in (1, 3))
            assert 0 < small_cases < large_cases, row.group(0)
            assert float(row.group(2).replace(",", "")) > 0
            assert float(row.group(4).replace(",", "")) > 0
        verdict = re.search(
            rf"^{backend}: time\(1,000\) / time\(200\) per measure at most [\d.]+ \(\S+\), "
            r"all \d+ measures together .* \(linear bound 5\.0 x tolerance 1\.15 = 5\.8\): "
            r"(PASS|FAIL)",
            out,
            re.MULTILINE,
        )
        assert verdict is not None, out
        assert f"{backend} @1,000: " in out  # the setup line: rows and seconds per database
    assert "no practitioner or patient is booked twice at once" in out
    goals = out.splitlines()[-1]
    assert goals.startswith("goals: every measure time(1,000) / time(200) <= 5.0 x 1.15"), goals
    assert "Python " in goals
    assert "SQLite " in goals
    if "postgresql" in backends:
        assert "postgresql server " in goals


def test_sizes_must_be_two_or_more() -> None:
    result = run_benchmark("--sizes", "2000", timeout=120)
    assert result.returncode == 2
    assert "need at least two sizes" in result.stderr


def test_unknown_database_is_named() -> None:
    result = run_benchmark("--sizes", "200,2000", "--database", "oracle", timeout=120)
    assert result.returncode == 2
    assert "unknown database oracle" in result.stderr
