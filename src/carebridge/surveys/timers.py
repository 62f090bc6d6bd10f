"""What ``carebridge worker`` runs for surveys once a minute, in its own unit of work: invite
the patients of visits fulfilled a while ago to the post-visit survey (see
``service.run_timers``)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.settings import Settings
from carebridge.surveys import service

log = logging.getLogger(__name__)


def run(
    factory: sessionmaker[Session], settings: Settings, now: dt.datetime | None = None
) -> service.TimerSummary:
    with unit_of_work(factory) as db:
        summary = service.run_timers(db, settings, now or utcnow())
    log.info("survey timers: %s", summary.line())
    return summary
