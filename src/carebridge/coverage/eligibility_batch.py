"""The worker's eligibility jobs (``carebridge worker`` runs them with the task rules, once a
minute; ``--once`` runs both):

* **retries**: pending checks whose next attempt is due are sent again (the clearinghouse
  timed out or answered 5xx before); each is leased first, so two workers never send one
  check twice at once;
* **the batch for tomorrow**: once a day, every patient with an appointment booked for
  tomorrow (clinic time), an active primary coverage in force that day, and no complete
  check of it in the last 7 days gets one check (the first appointment's), so the front
  desk starts the day knowing who is covered.

Idempotent: a patient already checked for tomorrow by the batch, or recently with an
answer, is not checked again, so a second run (or a second worker) adds nothing. Each check
is three short units of work (start, exchange outside any transaction, record).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.coverage import eligibility
from carebridge.coverage.clearinghouse import Connector, connector_for
from carebridge.coverage.models import Coverage, EligibilityCheck
from carebridge.db.session import unit_of_work
from carebridge.lib.errors import AppError
from carebridge.lib.time import utcnow
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Actor
from carebridge.settings import Settings

log = logging.getLogger("carebridge.worker.eligibility")
WORKER = Actor.system("worker")
BATCH = 20  # retries claimed at a time
RECENT = dt.timedelta(days=7)  # a complete check this recent is good enough for the batch
_batched: dict[str, dt.date] = {}  # database URL -> the day this process last ran the batch


@dataclass
class Summary:
    retried: int = 0
    batch_checked: int = 0
    by_status: dict[str, int] | None = None

    def count(self, status: str) -> None:
        self.by_status = self.by_status or {}
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def line(self) -> str:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted((self.by_status or {}).items()))
        done = f"{self.retried} retried, {self.batch_checked} checked for tomorrow"
        return f"eligibility: {done}" + (f" ({statuses})" if statuses else "")


def _finish(
    factory: sessionmaker[Session],
    settings: Settings,
    connector: Connector,
    check_id: uuid.UUID,
    payload: str,
    now: dt.datetime | None,
) -> str:
    reply = eligibility.exchange(connector, payload)
    with unit_of_work(factory) as db:
        done = eligibility.record(db, WORKER, settings, check_id, reply, now=now)
        return done.status


def retry_due(
    factory: sessionmaker[Session],
    settings: Settings,
    summary: Summary,
    *,
    connector: Connector | None = None,
    now: dt.datetime | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Send again every pending check whose next attempt is due."""
    connector = connector or connector_for(settings)
    seen: set[uuid.UUID] = set()
    while stop is None or not stop.is_set():
        with unit_of_work(factory) as db:
            claimed = eligibility.claim_due(db, settings, now or utcnow(), BATCH)
        claimed = [c for c in claimed if c[0] not in seen]
        if not claimed:
            return
        for check_id, payload in claimed:
            seen.add(check_id)
            status = _finish(factory, settings, connector, check_id, payload, now)
            summary.retried += 1
            summary.count(status)
            log.info("eligibility check %s retried: %s", check_id, status)


def _candidates(db: Session, day: dt.date, zone: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(coverage, appointment) for each patient booked on ``day`` who needs a check."""
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    recent = utcnow() - RECENT
    checked = exists().where(
        EligibilityCheck.coverage_id == Coverage.id,
        or_(
            (EligibilityCheck.status == "complete") & (EligibilityCheck.created_at >= recent),
            (EligibilityCheck.trigger == "batch") & (EligibilityCheck.service_date == day),
        ),
    )
    rows = db.execute(
        select(Coverage.id, Appointment.id, Appointment.patient_id)
        .join(Coverage, Coverage.patient_id == Appointment.patient_id)
        .where(
            Appointment.status == "booked",
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Coverage.status == "active",
            Coverage.rank == 1,
            Coverage.start_on <= day,
            or_(Coverage.end_on.is_(None), Coverage.end_on >= day),
            ~checked,
        )
        .order_by(Appointment.patient_id, Appointment.starts_at, Coverage.start_on.desc())
    ).all()
    found: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = {}
    for coverage_id, appointment_id, patient_id in rows:
        found.setdefault(patient_id, (coverage_id, appointment_id))
    return list(found.values())


def check_tomorrow(
    factory: sessionmaker[Session],
    settings: Settings,
    summary: Summary,
    *,
    connector: Connector | None = None,
    today: dt.date | None = None,
    stop: threading.Event | None = None,
) -> None:
    """One check per patient booked tomorrow who needs one."""
    connector = connector or connector_for(settings)
    zone = settings.timezone
    today = today or utcnow().astimezone(ZoneInfo(zone)).date()
    day = today + dt.timedelta(days=1)
    with unit_of_work(factory, write=False) as db:
        candidates = _candidates(db, day, zone)
    for coverage_id, appointment_id in candidates:
        if stop is not None and stop.is_set():
            return
        try:
            with unit_of_work(factory) as db:
                made = eligibility.start(
                    db, WORKER, settings, coverage_id, day, "batch",
                    appointment_id=appointment_id,
                )  # fmt: skip
                check_id, payload = made.id, made.request_x12
        except AppError as exc:  # e.g. a dependent's subscriber without a birth date
            log.warning("eligibility for coverage %s not checked: %s", coverage_id, exc.detail)
            continue
        status = _finish(factory, settings, connector, check_id, payload, None)
        summary.batch_checked += 1
        summary.count(status)


def run(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    connector: Connector | None = None,
    stop: threading.Event | None = None,
    force_batch: bool = False,
) -> Summary:
    """The worker's pass: retries always, the batch for tomorrow once a day per process
    (``force_batch``: now, whatever was done today; the batch itself is idempotent)."""
    summary = Summary()
    connector = connector or connector_for(settings)
    retry_due(factory, settings, summary, connector=connector, stop=stop)
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    if force_batch or _batched.get(settings.database_url) != today:
        check_tomorrow(factory, settings, summary, connector=connector, today=today, stop=stop)
        _batched[settings.database_url] = today
    if summary.retried or summary.batch_checked:
        log.info(summary.line())
    return summary
