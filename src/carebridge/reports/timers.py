"""What ``carebridge worker`` runs for scheduled reports once a minute: each report whose
weekday and hour have come this week and whose last full week is not sent yet is sent, in
its own units of work (one report failing does not hold back the others; the next pass tries
it again). Its figures are computed in a read-only unit of work, which holds no lock; then
``service.send_if_due`` locks the report in a short write transaction and checks again before
sending, so two workers never send a week twice and other writers are not kept waiting."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.reports import service
from carebridge.reports.models import ScheduledReport
from carebridge.settings import Settings

log = logging.getLogger(__name__)


def run(factory: sessionmaker[Session], settings: Settings, now: dt.datetime | None = None) -> int:
    """Send the reports due at ``now`` (default: the clock); returns how many were sent."""
    now = now or utcnow()
    with unit_of_work(factory, write=False) as db:
        due = [
            report.id
            for report in db.scalars(
                select(ScheduledReport).where(ScheduledReport.is_active.is_(True))
            )
            if service.due_week(settings, report, now) is not None
        ]
    sent = 0
    for report_id in due:
        try:
            with unit_of_work(factory, write=False) as db:
                planned = service.plan_due(db, settings, report_id, now)
            if planned is None:  # nobody can receive it: the week stays due
                log.debug("scheduled report %s: none of its recipients can receive it", report_id)
                continue
            with unit_of_work(factory) as db:
                queued = service.send_if_due(db, settings, planned, now)
        except Exception:
            log.exception("scheduled report %s failed; trying again in a minute", report_id)
            continue
        if queued is not None:
            sent += 1
            log.info("scheduled report %s: %d email(s) queued", report_id, len(queued))
    if due:
        log.info("scheduled reports: %d of %d due sent", sent, len(due))
    return sent
