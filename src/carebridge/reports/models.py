"""The tables of scheduled reports: a weekly email of chosen quality measures to chosen users,
and the email address each user receives reports at.

A report keeps its history of changes (``__versioned__``): who changed its measures, its
recipients or its send time, and each week it was sent for (``last_sent_for`` moves).
Users have no email address in the security tables; ``ReportAddress`` holds the one a user
receives reports at, entered on the report's form.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class ScheduledReport(UuidPk, Tracked, Base):
    """Chosen measures, emailed every week to chosen users at a local weekday and hour.

    ``measure_keys`` are keys of ``analytics.measures.REGISTRY``; ``recipient_ids`` are ids of
    users. ``weekday`` is 0 (Monday) to 6 (Sunday) and ``hour`` 0 to 23, both in the clinic's
    time zone (``Settings.timezone``). ``last_sent_for`` is the Monday of the last week
    (Monday to Sunday, local) a report went out for: a week is sent once."""

    __tablename__ = "scheduled_reports"
    __versioned__ = True

    name: Mapped[str] = mapped_column(String(120))
    measure_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    recipient_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    weekday: Mapped[int]
    hour: Mapped[int]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    last_sent_for: Mapped[dt.date | None]
    last_sent_at: Mapped[dt.datetime | None]


class ReportAddress(Tracked, Base):
    """The email address a user of the app receives scheduled reports at."""

    __tablename__ = "report_addresses"
    __versioned__ = True

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
