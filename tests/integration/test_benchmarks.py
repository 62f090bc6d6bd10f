"""The benchmark runner works end to end (figures from --quick are noise and not checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_benchmarks(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
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


def test_worklist_quick_checks_the_pages_and_reports_growth() -> None:
    # Tiny panels: the run seeds, checks every page against a plain query (a wrong page
    # raises) and reports. A growth verdict on so few tasks is noise: exit 1 (FAIL) is fine.
    database = "both" if os.environ.get("CAREBRIDGE_TEST_DATABASE_URL") else "sqlite"
    result = run_benchmarks(
        *("worklist", "--quick", "--small", "100", "--large", "300", "--rounds", "1"),
        *("--database", database),
    )
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "sqlite: first-page growth p50(300) / p50(100)" in result.stdout
    assert "where a page's time goes" in result.stdout


def test_x12_quick_compares_with_linuxforhealth_and_reports_rates() -> None:
    # Needs the X12 oracle venv (built on first use, like the oracle tests; CI has PyPI).
    if os.environ.get("CAREBRIDGE_TEST_NO_ORACLES") == "1":
        pytest.skip("CAREBRIDGE_TEST_NO_ORACLES=1: no linuxforhealth-x12 to compare with")
    result = run_benchmarks("x12", "--quick", timeout=900)
    assert result.returncode in (0, 1), result.stderr  # the ratio on 200 reads is noise
    assert "Traceback" not in result.stderr, result.stderr
    assert "identical extracted benefits: PASS" in result.stdout
    assert "linuxforhealth-x12" in result.stdout
    assert "270 build rate:" in result.stdout


def test_hl7_quick_sends_a_feed_over_mllp_and_reports_rates() -> None:
    database = "both" if os.environ.get("CAREBRIDGE_TEST_DATABASE_URL") else "sqlite"
    result = run_benchmarks("hl7", "--quick", "--database", database, timeout=300)
    assert result.returncode in (0, 1), result.stderr  # 300 messages: the rate is noise
    assert "Traceback" not in result.stderr, result.stderr
    assert "carebridge (sqlite)" in result.stdout
    assert "ack-only" in result.stdout
    assert "all 300 acknowledged messages found stored" in result.stdout
