"""The benchmark runner works end to end (figures from --quick are noise and not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_benchmarks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_api_overhead_quick_prints_the_ratio() -> None:
    result = run_benchmarks("api-overhead", "--quick")
    assert result.returncode == 0, result.stderr
    assert "ratio" in result.stdout
    assert "carebridge" in result.stdout


def test_unknown_scenario_fails_naming_the_known_ones() -> None:
    result = run_benchmarks("no-such-scenario")
    assert result.returncode != 0
    assert "unknown scenario 'no-such-scenario'" in result.stderr
    assert "api-overhead" in result.stderr
