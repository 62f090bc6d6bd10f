"""The http connector against the payer simulator served on a real loopback socket: a good
answer, a reply slower than the timeout, HTTP 500 and 503, a garbled 200 reply and a 271
about another member, with the stored check after each (pending with backoff, failed with a
task once the attempts are used up, the raw answer kept)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.coverage import eligibility, eligibility_batch, simulator
from carebridge.coverage.clearinghouse import HttpConnector
from carebridge.coverage.models import EligibilityCheck
from carebridge.coverage.simulator.server import HttpStatus, make_server
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.security.audit import Actor
from carebridge.settings import Settings
from carebridge.tasks.models import Task
from tests.conftest import make_settings
from tests.integration.test_coverage_api import api  # noqa: F401
from tests.integration.test_eligibility_api import covered

ACTOR = Actor.system("test")


class Payer:
    """What the served simulator does next: answer, stall, fail or garble."""

    def __init__(self) -> None:
        self.mode = "good"

    def __call__(self, payload: str, content_type: str) -> str:
        if self.mode == "slow":
            time.sleep(1.5)
        elif self.mode in {"500", "503"}:
            raise HttpStatus(int(self.mode), "payer system unavailable")
        elif self.mode == "garbled":
            return "<html>Service temporarily moved</html>"
        reply = simulator.answer(payload, content_type)
        if self.mode == "other-member":
            return reply.replace("*MI*XQK", "*MI*ZZZ")
        return reply


@pytest.fixture
def served() -> Iterator[tuple[Payer, str]]:
    payer = Payer()
    server = make_server("127.0.0.1", 0, payer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield payer, f"http://127.0.0.1:{server.server_port}/eligibility"
    finally:
        server.shutdown()
        server.server_close()


def run(factory: sessionmaker[Session], settings: Settings, coverage: dict[str, Any]) -> str:
    assert settings.clearinghouse_url
    connector = HttpConnector(settings.clearinghouse_url, timeout=0.5)
    with unit_of_work(factory) as db:
        made = eligibility.check(
            db, ACTOR, uuid.UUID(coverage["id"]), dt.date(2026, 12, 1), "manual",
            settings=settings, connector=connector,
        )  # fmt: skip
    return str(made.id)


def row(factory: sessionmaker[Session], check_id: str) -> EligibilityCheck:
    with unit_of_work(factory, write=False) as db:
        found = db.get(EligibilityCheck, uuid.UUID(check_id))
        assert found is not None
        return found


def test_http_connector_outcomes(
    api: TestClient,  # noqa: F811
    factory: sessionmaker[Session],
    db_url: str,
    served: tuple[Payer, str],
) -> None:
    payer, url = served
    settings = make_settings(
        db_url, clearinghouse="http", clearinghouse_url=url, clearinghouse_timeout_seconds=0.5,
        clearinghouse_max_attempts=2,
    )  # fmt: skip
    _, coverage = covered(api, "XQK48192045")

    good = row(factory, run(factory, settings, coverage))
    assert good.status == "complete"
    assert good.active is True
    assert good.response_x12 is not None
    assert good.response_x12.startswith("ISA*")

    payer.mode = "slow"
    before = utcnow()
    slow = row(factory, run(factory, settings, coverage))
    assert slow.status == "pending"
    assert slow.attempts == 1
    assert "did not answer within 0.5 s" in (slow.last_error or "")
    assert slow.next_attempt_at is not None
    wait = slow.next_attempt_at.replace(tzinfo=dt.UTC) - before
    assert dt.timedelta(minutes=1) < wait <= dt.timedelta(minutes=3)

    payer.mode = "503"
    summary = eligibility_batch.Summary()
    later = utcnow() + dt.timedelta(hours=1)
    connector = HttpConnector(url, timeout=0.5)
    eligibility_batch.retry_due(factory, settings, summary, connector=connector, now=later)
    gave_up = row(factory, str(slow.id))
    assert gave_up.status == "failed"
    assert gave_up.attempts == 2
    assert "HTTP 503" in (gave_up.last_error or "")
    assert gave_up.task_id is not None
    with unit_of_work(factory, write=False) as db:
        task = db.get(Task, gave_up.task_id)
        assert task is not None
        assert task.patient_id == gave_up.patient_id
        assert task.focus_type == "EligibilityCheck"
        assert "failed" in task.title

    payer.mode = "500"
    first = row(factory, run(factory, settings, coverage))
    assert first.status == "pending"
    assert "HTTP 500" in (first.last_error or "")
    assert first.response_x12 is None

    payer.mode = "garbled"
    garbled = row(factory, run(factory, settings, coverage))
    assert garbled.status == "failed"
    assert garbled.response_x12 == "<html>Service temporarily moved</html>"
    assert "not readable X12" in (garbled.last_error or "")
    assert "segment 1" in (garbled.last_error or "")
    assert garbled.task_id is not None

    payer.mode = "other-member"
    other = row(factory, run(factory, settings, coverage))
    assert other.status == "failed"
    assert "ZZZ48192045" in (other.last_error or "")
    assert "XQK48192045" in (other.last_error or "")
    assert other.result is None
    assert other.response_x12 is not None
    assert "*MI*ZZZ48192045" in other.response_x12

    payer.mode = "good"
    summary = eligibility_batch.Summary()
    eligibility_batch.retry_due(factory, settings, summary, connector=connector, now=later)
    retried = row(factory, str(first.id))
    assert retried.status == "complete"
    assert retried.attempts == 2
