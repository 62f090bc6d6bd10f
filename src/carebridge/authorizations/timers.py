"""What ``carebridge worker`` runs for prior authorizations once a minute, in its own unit of
work: approved authorizations past their end date become expired; tasks are raised (once per
authorization and reason) 14 days before the approved end, when the units left fall to 2 or
fewer (or under 20 % of those approved) and when more units were used than approved; and
submissions waiting after a transient clearinghouse error are sent again (``retry_delay``)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker

from carebridge.authorizations import service
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.settings import Settings

log = logging.getLogger(__name__)


def run(
    factory: sessionmaker[Session], settings: Settings, now: dt.datetime | None = None
) -> service.TimerSummary:
    now = now or utcnow()
    retried = service.retry_due(factory, settings, now)
    with unit_of_work(factory) as db:
        summary = service.run_timers(db, settings, now)
    summary.retried = retried
    log.info("prior authorization timers: %s", summary.line())
    return summary
