"""Demo scheduled reports: the clinic manager's Monday-morning transitions report to the
demo coordinators and the administrator, and a Friday referrals report to the coordinator.

Made through ``reports.service`` (audited, with history) and idempotent: a report whose name
exists already is left as it is. The addresses are at example.org, which receives no mail.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.analytics.measures import REGISTRY
from carebridge.reports import service
from carebridge.reports.models import ScheduledReport
from carebridge.reports.schemas import ReportIn
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.settings import Settings

DEMO = Actor.system("demo")
ADDRESSES = {
    "coordinator": "maria.alvarez@example.org",
    "jchen": "james.chen@example.org",
    "admin": "pat.okafor@example.org",
}
REPORTS = (
    # name, measures, recipients, weekday (0 = Monday), hour
    (
        "Transitions of care, weekly",
        ("follow-up-7d", "follow-up-30d", "contact-2bd", "readmission-30d"),
        ("coordinator", "jchen", "admin"),
        0,
        7,
    ),
    ("Referral loop closure, weekly", ("referral-closure",), ("coordinator",), 4, 15),
)


def seed(db: Session, settings: Settings) -> list[ScheduledReport]:
    """Add the demo reports (those not there yet) for the demo users that exist; returns
    the reports added. ``settings`` is the demo's (its time zone is the reports' clock)."""
    users = {u.username: u for u in db.scalars(select(User).where(User.is_active.is_(True)))}
    existing = set(db.scalars(select(ScheduledReport.name)))
    made = []
    for name, keys, people, weekday, hour in REPORTS:
        chosen = [users[p] for p in people if p in users]
        measures = [k for k in keys if k in REGISTRY]
        if name in existing or not chosen or not measures:
            continue
        data = ReportIn(
            name=name,
            measure_keys=measures,
            recipient_ids=[u.id for u in chosen],
            addresses={u.id: ADDRESSES[u.username] for u in chosen},
            weekday=weekday,
            hour=hour,
        )
        made.append(service.create(db, DEMO, data))
    return made
