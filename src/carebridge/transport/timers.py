"""What ``carebridge worker`` runs for transport once a minute, in its own unit of work:
rides follow their appointment, and a ride still unconfirmed 48 hours before pickup raises
one task for the coordinators (see ``service.run_timers``)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.settings import Settings
from carebridge.transport import service

log = logging.getLogger(__name__)


def run(
    factory: sessionmaker[Session], settings: Settings, now: dt.datetime | None = None
) -> service.TimerSummary:
    with unit_of_work(factory) as db:
        summary = service.run_timers(db, settings, now or utcnow())
    log.info("ride timers: %s", summary.line())
    return summary
