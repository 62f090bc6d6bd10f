"""The demo's year of history: after a small demo, every quality measure counts cases in the
last three full months and the main ones in each of the twelve months before this one; no
practitioner, room or patient is booked twice at once; transitions follow the workflow's
dates; a second run adds nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import Column, and_, func, select
from sqlalchemy.orm import Session, aliased

from carebridge import demo
from carebridge.analytics import synthetic as history
from carebridge.analytics.measures import REGISTRY
from carebridge.analytics.results import local_bounds
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.scheduling.models import HOLDING, Appointment
from carebridge.settings import Settings
from carebridge.surveys.models import SurveyInvitation
from carebridge.transitions.business_days import add_business_days
from carebridge.transitions.models import Encounter, Transition
from tests.conftest import BACKENDS, fresh_database, make_settings

# Measures with cases every month even in a demo of a few dozen patients.
MONTHLY = (
    "follow-up-30d",
    "contact-2bd",
    "referral-closure",
    "no-show",
    "lead-time",
    "prior-auth-turnaround",
    "task-sla",
    "outreach-success",
    "social-screening",
    "satisfaction",
)


def _double_booked(db: Session, column: str) -> int:
    a, b = aliased(Appointment), aliased(Appointment)
    col_a: Column[object] = getattr(a, column)
    col_b: Column[object] = getattr(b, column)
    return int(
        db.scalar(
            select(func.count())
            .select_from(a)
            .join(
                b,
                and_(
                    col_a == col_b,
                    a.id < b.id,
                    a.starts_at < b.held_until,
                    b.starts_at < a.held_until,
                ),
            )
            .where(a.status.in_(HOLDING), b.status.in_(HOLDING), col_a.is_not(None))
        )
        or 0
    )


def today(settings: Settings) -> dt.date:
    return utcnow().astimezone(ZoneInfo(settings.timezone)).date()


def _months(settings: Settings) -> list[tuple[dt.date, dt.date]]:
    this_month = today(settings).replace(day=1)
    return [
        (
            this_month - relativedelta(months=k),
            this_month - relativedelta(months=k - 1) - dt.timedelta(days=1),
        )
        for k in range(12, 0, -1)
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_year_of_history(backend: str, tmp_path: Path) -> None:
    databases = fresh_database(backend, tmp_path)
    url = next(databases)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    settings = make_settings(url)
    try:
        with unit_of_work(factory) as db:
            demo.seed(db, seed=2)
            # The demo's last step is the year of history.
            demo.seed_patients(db, count=60, seed=2, settings=settings)
        months = _months(settings)
        with unit_of_work(factory) as db:
            year_start, _ = local_bounds(settings, months[0][0], months[0][1])
            this_month, _ = local_bounds(
                settings, months[-1][1] + dt.timedelta(days=1), today(settings)
            )
            in_year = (Appointment.starts_at >= year_start, Appointment.starts_at < this_month)
            assert (
                db.scalar(select(func.count()).select_from(Appointment).where(*in_year)) or 0
            ) > 500
            stays = db.scalar(select(func.count()).select_from(Encounter)) or 0
            assert stays >= 12 * history.AT_LEAST["discharges"] * 0.8
            count = db.scalar(select(func.count()).select_from(Appointment))
            assert history.seed(db, settings, seed=2) is None  # once only
        with unit_of_work(factory) as db:
            assert db.scalar(select(func.count()).select_from(Appointment)) == count

            for column in ("practitioner_id", "patient_id", "room_id"):
                assert _double_booked(db, column) == 0, column

            # Transitions as the workflow makes them, readmissions linked to their index stay.
            rows = db.execute(
                select(Transition.discharged_on, Transition.contact_due_on).limit(40)
            ).all()
            for discharged_on, due in rows:
                assert due == add_business_days(discharged_on, 2, settings, db)
            linked = db.scalar(
                select(func.count())
                .select_from(Encounter)
                .where(Encounter.readmission_of_id.is_not(None))
            )
            assert linked
            # Survey invitations only for past fulfilled visits.
            statuses = set(
                db.scalars(
                    select(Appointment.status).join(
                        SurveyInvitation, SurveyInvitation.appointment_id == Appointment.id
                    )
                )
            )
            assert statuses == {"fulfilled"}

            first, last = months[-3][0], months[-1][1]
            rates: dict[str, list[float | None]] = {}
            for key, measure in REGISTRY.items():
                result = measure.compute(db, settings, first, last)
                assert result.denominator > 0, f"{key}: no cases in the last 3 full months"
                assert result.rate is not None
            for key in MONTHLY:
                rates[key] = []
                for start, end in months:
                    result = REGISTRY[key].compute(db, settings, start, end)
                    assert result.denominator > 0, f"{key}: no cases in {start:%B %Y}"
                    rates[key].append(result.rate)
            # The trends move: not the same rate every month (on 60 patients one measure may
            # happen to stay put, e.g. every discharge followed up within 30 days).
            flat = [key for key, values in rates.items() if len(set(values)) == 1]
            assert len(flat) <= 1, rates
            satisfaction = REGISTRY["satisfaction"].compute(db, settings, months[0][0], last)
            assert satisfaction.rate is not None
            assert 0.6 <= satisfaction.rate <= 0.9
    finally:
        engine.dispose()
        next(databases, None)  # past its yield: a PostgreSQL database is dropped


def test_same_seed_same_history(tmp_path: Path) -> None:
    """Two runs with one seed on one demo plan the same year (ids and all)."""
    url = next(fresh_database("sqlite", tmp_path))
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    settings = make_settings(url)
    now = utcnow()
    try:
        with unit_of_work(factory) as db:
            demo.seed(db, seed=3)
            demo.seed_patients(db, count=30, seed=3, settings=settings)
        plans = []
        for _ in range(2):
            with unit_of_work(factory) as db:
                made = history.plan(db, settings, seed=3, now=now)
                assert made is not None
                plans.append(
                    {
                        name: [
                            {k: v for k, v in row.items() if k not in history.SECRETS}
                            for row in rows
                        ]
                        for name, rows in made.rows.items()
                    }
                )
                db.rollback()
        assert plans[0] == plans[1]
        assert plans[0]["appointments"]
    finally:
        engine.dispose()
