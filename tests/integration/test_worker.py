"""The outbox worker against real peers: an aiosmtpd SMTP server on loopback (accepting,
refusing, or not there at all), the file SMS gateway, a webhook gateway served by a tiny
local HTTP server; two workers at once on PostgreSQL never deliver one message twice; the
worker loop stops on an event and on SIGTERM."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.messaging import service as outbox
from carebridge.messaging import worker
from carebridge.messaging.models import DeliveryAttempt, OutboxMessage
from carebridge.settings import Settings
from carebridge.tasks.models import Task
from tests.conftest import fresh_database, make_settings
from tests.factories import clinic_today
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_scheduling_api import CHICAGO, book, next_weekday, ok

api = scheduling.api
clinic = scheduling.clinic


# --- peers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Inbox:
    """An aiosmtpd handler that keeps what it receives, or refuses recipients."""

    def __init__(self, refuse: str | None = None, delay: float = 0.0) -> None:
        self.refuse = refuse
        self.delay = delay
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            number = len(self.received)
        return f"250 2.0.0 Ok: queued as CB{number:05d}"


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class Webhook:
    """A tiny SMS gateway: records JSON posts, answers with a status and body."""

    def __init__(self, status: int = 202, body: str = '{"id": "gw-42"}') -> None:
        self.status = status
        self.body = body
        self.posts: list[dict[str, Any]] = []


@contextmanager
def webhook_server(hook: Webhook) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            hook.posts.append(json.loads(self.rfile.read(length)))
            payload = hook.body.encode()
            self.send_response(hook.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- helpers ---------------------------------------------------------------------------


def noon(days: int = 1) -> dt.datetime:
    """A fixed clock outside quiet hours: local noon at the clinic, some days ahead."""
    day = clinic_today() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(12), ZoneInfo("America/Chicago")).astimezone(dt.UTC)


def enqueue(
    factory: sessionmaker[Session],
    *,
    channel: str = "email",
    recipient: str | None = None,
    when: dt.datetime | None = None,
    patient_id: uuid.UUID | None = None,
) -> uuid.UUID:
    with unit_of_work(factory) as db:
        message = outbox.enqueue(
            db,
            channel=channel,
            recipient=recipient
            or (f"p{uuid.uuid4().hex[:8]}@example.org" if channel == "email" else "+13125550148"),
            subject="Test message" if channel == "email" else None,
            body="Hello from the worker test",
            patient_id=patient_id,
            not_before=when or noon() - dt.timedelta(minutes=1),
        )
        return message.id


def load(factory: sessionmaker[Session], message_id: uuid.UUID) -> OutboxMessage:
    with unit_of_work(factory, write=False) as db:
        row = db.get(OutboxMessage, message_id)
        assert row is not None
        return row


def tries(factory: sessionmaker[Session], message_id: uuid.UUID) -> list[DeliveryAttempt]:
    with unit_of_work(factory, write=False) as db:
        return outbox.attempts(db, message_id)


def consent(api: TestClient, patient_id: str, channel: str, decision: str = "permit") -> None:
    ok(
        api.post(
            f"/api/v1/patients/{patient_id}/contact-consents",
            json={"channel": channel, "decision": decision, "effective_from": "2020-01-01"},
        ),
        201,
    )


# --- email -----------------------------------------------------------------------------


def test_reminder_email_reaches_a_real_smtp_server_with_its_ics(
    db_url: str,
    api: TestClient,
    clinic: dict[str, Any],
    factory: sessionmaker[Session],
) -> None:
    patient = clinic["patient"]
    consent(api, patient["id"], "email")
    start = dt.datetime.combine(next_weekday(2, weeks_ahead=2), dt.time(10, 30), CHICAGO)
    appointment = ok(book(api, clinic, start), 201)
    with unit_of_work(factory, write=False) as db:
        first = db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.focus_id == uuid.UUID(appointment["id"]))
            .order_by(OutboxMessage.not_before)
        ).first()
    assert first is not None
    assert first.channel == "email"
    now = first.not_before + dt.timedelta(minutes=1)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = make_settings(db_url, smtp_host="127.0.0.1", smtp_port=port)
        # Not yet due a minute before its time: nothing goes out.
        early = worker.run_once(
            factory, settings, now=first.not_before - dt.timedelta(minutes=1), only=[first.id]
        )
        assert (early.sent, early.failed, early.held) == (0, 0, 0)
        totals = worker.run_once(factory, settings, now=now, only=[first.id])
    assert totals.sent == 1
    assert len(inbox.received) == 1
    mail = inbox.received[0]
    assert mail["To"] == patient["email"]
    assert mail["From"] == settings.smtp_from
    assert mail["Subject"].startswith("Appointment reminder: ")
    assert mail["Message-ID"] == f"<{first.id}@carebridge.invalid>"
    assert inbox.envelopes[0] == ("no-reply@carebridge.invalid", [patient["email"]])
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    assert clinic["people"][0]["name"] in text.get_content()
    ics = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert [part.get_filename() for part in ics] == ["appointment.ics"]
    calendar = icalendar.Calendar.from_ical(ics[0].get_content())
    assert isinstance(calendar, icalendar.Calendar)
    event = calendar.walk("VEVENT")[0]
    assert event.decoded("dtstart") == start.astimezone(dt.UTC)
    assert str(event["uid"]) == f"{appointment['id']}@carebridge"

    row = load(factory, first.id)
    assert row.status == "sent"
    assert row.provider_id == "CB00001"  # the server's queue id
    assert row.sent_at == now
    assert row.attempts == 1
    [attempt] = tries(factory, first.id)
    assert attempt.outcome == "accepted"
    assert attempt.detail == "250 2.0.0 Ok: queued as CB00001"
    # Sent is final: another pass sends nothing again.
    assert worker.run_once(factory, settings, now=now, only=[first.id]).sent == 0


@pytest.mark.parametrize("server", ["refuses", "down"])
def test_failures_are_recorded_backed_off_then_given_up_with_a_task(
    db_url: str, factory: sessionmaker[Session], server: str
) -> None:
    message_id = enqueue(factory)
    t0 = noon()
    inbox = Inbox(refuse="550 5.1.1 Mailbox unavailable")

    def settings_for(port: int) -> Settings:
        return make_settings(db_url, smtp_host="127.0.0.1", smtp_port=port, delivery_max_attempts=3)

    @contextmanager
    def peer() -> Iterator[int]:
        if server == "refuses":
            with smtp_server(inbox) as port:
                yield port
        else:
            yield free_port()  # nothing listens there

    expected = "550 5.1.1 Mailbox unavailable" if server == "refuses" else "Connection refused"
    with peer() as port:
        settings = settings_for(port)
        first = worker.run_once(factory, settings, now=t0, only=[message_id])
        assert (first.sent, first.failed) == (0, 1)
        row = load(factory, message_id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert expected in (row.last_error or "")
        assert row.next_attempt_at == t0 + dt.timedelta(minutes=1)
        # Backing off: half a minute later nothing is tried.
        idle = worker.run_once(
            factory, settings, now=t0 + dt.timedelta(seconds=30), only=[message_id]
        )
        assert idle == worker.Totals()
        assert load(factory, message_id).attempts == 1
        second = t0 + dt.timedelta(minutes=1)
        worker.run_once(factory, settings, now=second, only=[message_id])
        row = load(factory, message_id)
        assert (row.status, row.attempts) == ("pending", 2)
        assert row.next_attempt_at == second + dt.timedelta(minutes=2)
        third = second + dt.timedelta(minutes=2)
        last = worker.run_once(factory, settings, now=third, only=[message_id])
    assert last.gave_up == [message_id]
    row = load(factory, message_id)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
    attempts = tries(factory, message_id)
    assert [a.outcome for a in attempts] == ["failed", "failed", "failed"]
    assert all(expected in (a.detail or "") for a in attempts)
    assert inbox.received == []
    with unit_of_work(factory, write=False) as db:
        task = db.scalar(select(Task).where(Task.dedupe_key == f"delivery-failed:{message_id}"))
    assert task is not None
    assert task.focus_type == "OutboxMessage"
    assert task.focus_id == message_id
    assert "could not be delivered" in task.title
    assert expected in (task.description or "")
    # Given up is final too.
    assert (
        worker.run_once(factory, settings, now=third + dt.timedelta(days=1), only=[message_id])
        == worker.Totals()
    )


def test_a_crashed_workers_message_comes_back_after_its_lease(
    db_url: str, factory: sessionmaker[Session]
) -> None:
    message_id = enqueue(factory)
    t0 = noon()
    with unit_of_work(factory) as db:
        claims = outbox.claim(db, "crashed-worker", t0, 10, only=[message_id])
    assert [c.message_id for c in claims] == [message_id]
    assert load(factory, message_id).status == "sending"
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = make_settings(db_url, smtp_host="127.0.0.1", smtp_port=port)
        during = worker.run_once(
            factory, settings, now=t0 + dt.timedelta(minutes=4), only=[message_id]
        )
        assert during == worker.Totals()  # still leased to the worker that died
        after = worker.run_once(
            factory, settings, now=t0 + dt.timedelta(minutes=5, seconds=1), only=[message_id]
        )
    assert after.sent == 1
    assert load(factory, message_id).status == "sent"


# --- SMS -------------------------------------------------------------------------------


def test_file_gateway_appends_one_json_line(
    db_url: str,
    api: TestClient,
    clinic: dict[str, Any],
    factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    patient = clinic["patient"]
    consent(api, patient["id"], "sms")
    mobile = patient["telecoms"][0]["value"]
    message_id = enqueue(
        factory, channel="sms", recipient=mobile, patient_id=uuid.UUID(patient["id"])
    )
    log = tmp_path / "sms.log"
    settings = make_settings(db_url, sms_gateway="file", sms_file=str(log))
    totals = worker.run_once(factory, settings, now=noon(), only=[message_id])
    assert totals.sent == 1
    [line] = log.read_text(encoding="utf-8").splitlines()
    data = json.loads(line)
    assert data["to"] == mobile
    assert data["body"] == "Hello from the worker test"
    assert dt.datetime.fromisoformat(data["at"]).tzinfo is not None
    row = load(factory, message_id)
    assert (row.status, row.provider_id) == ("sent", f"file:{message_id}")


def test_webhook_gateway_posts_and_records_its_answer(
    db_url: str, factory: sessionmaker[Session]
) -> None:
    accepted = enqueue(factory, channel="sms", recipient="+13125550111")
    refused = enqueue(factory, channel="sms", recipient="+13125550122")
    hook = Webhook()
    with webhook_server(hook) as url:
        settings = make_settings(db_url, sms_gateway="webhook", sms_webhook_url=url)
        assert worker.run_once(factory, settings, now=noon(), only=[accepted]).sent == 1
        hook.status, hook.body = 503, "gateway busy, try later"
        failed = worker.run_once(factory, settings, now=noon(), only=[refused])
    assert failed.failed == 1
    assert hook.posts[0] == {
        "to": "+13125550111",
        "body": "Hello from the worker test",
        "id": str(accepted),
    }
    assert hook.posts[1]["id"] == str(refused)
    assert load(factory, accepted).provider_id == "gw-42"
    row = load(factory, refused)
    assert row.status == "pending"
    assert "503" in (row.last_error or "")
    assert "gateway busy" in (row.last_error or "")


def test_no_sms_gateway_is_a_recorded_failure(db_url: str, factory: sessionmaker[Session]) -> None:
    message_id = enqueue(factory, channel="sms")
    settings = make_settings(db_url, sms_gateway="none")
    assert worker.run_once(factory, settings, now=noon(), only=[message_id]).failed == 1
    [attempt] = tries(factory, message_id)
    assert attempt.outcome == "failed"
    assert "no SMS gateway configured" in (attempt.detail or "")
    assert "no SMS gateway configured" in (load(factory, message_id).last_error or "")


# --- concurrency -----------------------------------------------------------------------


def test_two_workers_never_deliver_one_message_twice(
    db_url: str, factory: sessionmaker[Session]
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip(
            "concurrent claiming (FOR UPDATE SKIP LOCKED) is proven on PostgreSQL; "
            "set CAREBRIDGE_TEST_DATABASE_URL"
        )
    t0 = noon()
    ids = [enqueue(factory, when=t0 - dt.timedelta(minutes=1)) for _ in range(50)]
    inbox = Inbox(delay=0.005)
    results: dict[str, worker.Totals] = {}
    errors: list[BaseException] = []
    with smtp_server(inbox) as port:
        settings = make_settings(db_url, smtp_host="127.0.0.1", smtp_port=port)
        start = threading.Barrier(2)

        def work(name: str) -> None:
            engine = make_engine(db_url)  # each worker its own engine and connections
            try:
                start.wait()
                results[name] = worker.run_once(
                    make_sessionmaker(engine),
                    settings,
                    worker_id=name,
                    now=t0,
                    batch=5,
                    only=ids,
                )
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                engine.dispose()

        threads = [threading.Thread(target=work, args=(n,)) for n in ("w1", "w2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, errors
    counts = collections.Counter(str(m["Message-ID"]) for m in inbox.received)
    assert len(counts) == 50
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v > 1]
    assert results["w1"].sent + results["w2"].sent == 50
    # Neither worker was handed a message the other held (it would have had to drop it).
    assert results["w1"].held == results["w2"].held == 0
    assert results["w1"].sent > 0
    assert results["w2"].sent > 0
    with unit_of_work(factory, write=False) as db:
        statuses = collections.Counter(
            db.scalars(select(OutboxMessage.status).where(OutboxMessage.id.in_(ids)))
        )
        attempts = collections.Counter(
            db.scalars(
                select(DeliveryAttempt.message_id).where(DeliveryAttempt.message_id.in_(ids))
            )
        )
    assert statuses == {"sent": 50}
    assert set(attempts.values()) == {1}


# --- the loop --------------------------------------------------------------------------


def test_worker_loop_delivers_and_stops_on_an_event(tmp_path: Path) -> None:
    """On its own database, since the loop takes everything due."""
    url = next(fresh_database("sqlite", tmp_path))
    log = tmp_path / "sms.log"
    settings = make_settings(url, sms_gateway="file", sms_file=str(log), worker_poll_seconds=0.05)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        enqueue(factory, channel="sms", when=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        stop = threading.Event()
        done: list[worker.Totals] = []
        thread = threading.Thread(
            target=lambda: done.append(worker.run(settings, once=False, stop=stop))
        )
        thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (log.exists() and log.read_text()):
            time.sleep(0.05)
        # A message enqueued while the worker runs goes out on a later pass.
        enqueue(factory, channel="sms", when=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        while time.monotonic() < deadline and len(log.read_text().splitlines()) < 2:
            time.sleep(0.05)
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert done[0].sent == 2
        assert len(log.read_text().splitlines()) == 2
        once = worker.run(settings, once=True)
        assert once.sent == 0
    finally:
        engine.dispose()


SIGTERM_SCRIPT = """
import logging, sys
from carebridge.messaging import worker
from carebridge.settings import Settings
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
settings = Settings(database_url=sys.argv[1], secret_key="x" * 40, worker_poll_seconds=0.1)
totals = worker.run(settings, once=False)
print("stopped:", totals.summary(), flush=True)
"""


def test_worker_stops_on_sigterm(tmp_path: Path) -> None:
    url = next(fresh_database("sqlite", tmp_path))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBRIDGE_")}
    process = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_SCRIPT, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stderr is not None
        seen = []
        while not seen or "started" not in seen[-1]:
            line = process.stderr.readline()
            assert line, "".join(seen)  # the worker ended before it started
            seen.append(line)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopped: 0 sent" in out
    assert "SIGTERM" in err
