"""The oracle venv is built (or found) once per test process before any oracle test runs.

Without network it cannot be built and the tests error: CI has the registries, so a missing
oracle is a failure there. ``CAREBRIDGE_TEST_NO_ORACLES=1`` skips them instead (offline work).
"""

from __future__ import annotations

import pytest

from tests.oracles import support


@pytest.fixture(scope="session", autouse=True)
def oracle_venv() -> None:
    if support.oracles_disabled():
        pytest.skip(f"{support.SKIP_ENV}=1: X12 oracle tests skipped")
    support.ensure_venv()
