"""``carebridge worker``: deliver the outbox, and apply the task rules (escalations of overdue
tasks, care-plan timers; see ``tasks.escalation``) once a minute.

Each pass claims due messages in small batches and delivers them one by one; each delivery is
its own job of three short units of work (screen, then the network call outside any
transaction, then the recorded result), so a slow mail server never holds a database lock
and a crash loses at most the lease of the messages in hand (they come back after
``messaging.service.LEASE``). Between passes the worker sleeps ``worker_poll_seconds``; it
stops on SIGTERM, Ctrl-C or a :class:`threading.Event`, after the message in hand."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from sqlalchemy.orm import Session, sessionmaker

from carebridge.authorizations import timers as authorization_timers
from carebridge.billing import plans as payment_plans
from carebridge.community import service as community
from carebridge.coverage import eligibility_batch
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.messaging import email, sms
from carebridge.messaging import service as outbox
from carebridge.messaging.service import Accepted, Claim, DeliveryError, Sender
from carebridge.reports import timers as report_timers
from carebridge.settings import Settings
from carebridge.surveys import timers as survey_timers
from carebridge.tasks import escalation
from carebridge.transport import timers as ride_timers

log = logging.getLogger("carebridge.worker")
BATCH = 10
# Rules measure lateness in hours and days: a minute between runs is plenty, and keeps their
# queries off the database while messages are polled every few seconds.
RULES_EVERY = dt.timedelta(minutes=1)


@dataclass
class Totals:
    """What passes did: messages sent, failed attempts, held back (deferred or cancelled)."""

    sent: int = 0
    failed: int = 0
    held: int = 0
    gave_up: list[uuid.UUID] = field(default_factory=list)
    rules: escalation.Summary = field(default_factory=escalation.Summary)

    def add(self, other: Totals) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.held += other.held
        self.gave_up.extend(other.gave_up)
        self.rules.add(other.rules)

    def summary(self) -> str:
        text = f"{self.sent} sent, {self.failed} failed attempt(s), {self.held} held back"
        text += f", {len(self.gave_up)} given up" if self.gave_up else ""
        return f"{text}; {self.rules.line()}"


def senders_for(settings: Settings) -> dict[str, Sender]:
    """The real senders: SMTP for email, the configured gateway for SMS."""
    gateway = sms.gateway_for(settings)
    return {"email": functools.partial(email.send, settings), "sms": gateway.send}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def deliver(
    factory: sessionmaker[Session],
    settings: Settings,
    claimed: Claim,
    senders: Mapping[str, Sender],
    clock: Callable[[], dt.datetime] = utcnow,
) -> str:
    """One message, one job. Returns what became of it: sent, pending (will retry), failed
    (gave up, task raised) or held (deferred, cancelled, or no longer ours)."""
    with unit_of_work(factory) as db:
        message = outbox.screen(db, settings, claimed, clock())
    if message is None:
        log.info("message %s held back (deferred, cancelled or taken over)", claimed.message_id)
        return "held"
    result: Accepted | DeliveryError
    try:
        result = outbox.transmit(message, senders)
    except DeliveryError as exc:
        result = exc
    with unit_of_work(factory) as db:
        row = outbox.record_attempt(db, settings, message.id, result, clock())
        status, attempts = row.status, row.attempts
    if isinstance(result, Accepted):
        log.info(
            "message %s (%s) sent: provider id %s; %s",
            message.id,
            message.channel,
            result.provider_id,
            result.detail,
        )
    else:
        log.warning(
            "message %s (%s) attempt %d failed (%s): %s",
            message.id,
            message.channel,
            attempts,
            "gave up, task raised" if status == "failed" else "will retry",
            result,
        )
    return status


def run_once(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    worker_id: str | None = None,
    senders: Mapping[str, Sender] | None = None,
    now: dt.datetime | None = None,
    batch: int = BATCH,
    only: Collection[uuid.UUID] | None = None,
    stop: threading.Event | None = None,
) -> Totals:
    """Deliver everything due, batch after batch, until nothing is due (or ``stop`` is set).
    ``now`` fixes the clock (tests, replays); ``only`` limits the pass to some messages."""
    worker_id = worker_id or worker_name()
    senders = senders if senders is not None else senders_for(settings)
    clock: Callable[[], dt.datetime] = (lambda: now) if now is not None else utcnow
    totals = Totals()
    while stop is None or not stop.is_set():
        with unit_of_work(factory) as db:
            claims = outbox.claim(db, worker_id, clock(), batch, only=only)
        if not claims:
            break
        for claimed in claims:
            if stop is not None and stop.is_set():
                break  # the rest come back when their lease ends
            status = deliver(factory, settings, claimed, senders, clock)
            if status == "sent":
                totals.sent += 1
            elif status == "held":
                totals.held += 1
            else:
                totals.failed += 1
                if status == "failed":
                    totals.gave_up.append(claimed.message_id)
    return totals


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and Ctrl-C set ``stop`` (the message in hand is finished first)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the message in hand", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(settings: Settings, *, once: bool, stop: threading.Event | None = None) -> Totals:
    """The ``carebridge worker`` command: pass after pass until stopped; ``once``: one pass
    over what is due now (cron, tests)."""
    engine = make_engine(settings.database_url, pool_size=2)
    factory = make_sessionmaker(engine)
    stop = stop or threading.Event()
    senders = senders_for(settings)
    worker_id = worker_name()
    totals = Totals()
    rules_due = utcnow()
    # Once a minute, each on its own so one failing does not hold back the others: task
    # rules and timers, eligibility retries and the next-day batch (forced by --once),
    # prior authorization timers, payment plan reminders and late instalments, and rides
    # (following their appointment; a task when still unconfirmed 48 hours before pickup),
    # post-visit survey invitations, community referral follow-up and the weekly reports.
    minute_jobs: tuple[tuple[str, Callable[[], object]], ...] = (
        ("task rules", lambda: totals.rules.add(
            escalation.run_all(factory, zone=settings.timezone, stop=stop)
        )),
        ("eligibility checks", lambda: eligibility_batch.run(
            factory, settings, stop=stop, force_batch=once
        )),
        ("prior authorization timers", lambda: authorization_timers.run(factory, settings)),
        ("payment plan reminders", lambda: payment_plans.run(factory, settings)),
        ("ride timers", lambda: ride_timers.run(factory, settings)),
        ("survey invitations", lambda: survey_timers.run(factory, settings)),
        ("community referral follow-up", lambda: community.run(factory)),
        ("scheduled reports", lambda: report_timers.run(factory, settings)),
    )  # fmt: skip
    try:
        with _stop_on_signals(stop):
            log.info(
                "worker %s started (%s)",
                worker_id,
                "one pass" if once else f"polling every {settings.worker_poll_seconds:g} s",
            )
            while not stop.is_set():
                if utcnow() >= rules_due:
                    rules_due = utcnow() + RULES_EVERY
                    for name, job in minute_jobs:
                        try:
                            job()
                        except Exception:
                            if once:
                                raise
                            log.exception("%s failed; trying again in a minute", name)
                try:
                    totals.add(
                        run_once(factory, settings, worker_id=worker_id, senders=senders, stop=stop)
                    )
                except Exception:
                    if once:
                        raise
                    log.exception("delivery pass failed; trying again in the next pass")
                if once:
                    break
                stop.wait(settings.worker_poll_seconds)
    finally:
        engine.dispose()
    log.info("worker %s stopped: %s", worker_id, totals.summary())
    return totals
