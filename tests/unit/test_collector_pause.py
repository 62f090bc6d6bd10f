"""Measures count with the cyclic collector paused, and leave it as they found it."""

from __future__ import annotations

import datetime as dt
import gc
import threading
from typing import Any

from carebridge.analytics.measures import REGISTRY
from carebridge.analytics.results import MeasureResult, collector_paused, collector_paused_while


def test_the_collector_is_paused_inside_and_restored_after_nested_pauses() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_pause_ends_when_the_last_of_two_threads_ends() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=other)
    worker.start()
    inside.wait(5)
    with collector_paused():
        pass
    assert not gc.isenabled()  # the other thread is still counting
    release.set()
    worker.join(5)
    assert gc.isenabled()


def test_every_registered_measure_computes_with_the_collector_paused() -> None:
    seen: list[bool] = []

    def compute(db: Any, settings: Any, first: dt.date, last: dt.date) -> MeasureResult:
        seen.append(gc.isenabled())
        return MeasureResult("k", first, last, 0, 0)

    day = dt.date(2011, 1, 1)
    collector_paused_while(compute)(None, None, day, day)
    assert seen == [False]
    assert gc.isenabled()
    assert all(m.compute.__wrapped__ is not None for m in REGISTRY.values())  # type: ignore[attr-defined]
