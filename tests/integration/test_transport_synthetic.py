"""The demo's rides: made once for upcoming in-person visits of the demo schedule, the same
for the same seed, with one ride still unconfirmed within 48 hours and its task raised."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from carebridge import demo
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Actor
from carebridge.tasks.models import Task
from carebridge.transport import codes
from carebridge.transport import synthetic as rides_demo
from carebridge.transport.models import Ride
from tests.conftest import fresh_database, make_settings
from tests.integration.test_patients_api import new_patient


def test_demo_rides(tmp_path: Path) -> None:
    databases = fresh_database("sqlite", tmp_path)
    url = next(databases)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    settings = make_settings(url)
    try:
        with unit_of_work(factory) as db:
            demo.seed(db, seed=2)
            for _ in range(30):
                patients.register(
                    db, Actor.system("test"), PatientCreate.model_validate(new_patient())
                )
            assert demo.seed_schedule(db, settings, seed=2) is not None
        now = utcnow()
        with unit_of_work(factory) as db:
            seeded = rides_demo.seed(db, settings, seed=2, now=now)
        assert seeded is not None
        with unit_of_work(factory) as db:
            # Weekends aside, the demo schedule has visits within the next 48 hours.
            near = db.scalar(
                select(func.count())
                .select_from(Appointment)
                .where(
                    Appointment.status == "booked",
                    Appointment.modality == "in-person",
                    Appointment.starts_at > now + dt.timedelta(hours=4),
                    Appointment.starts_at <= now + rides_demo.SOON,
                )
            )
        expected = 1 if near else 0
        assert seeded.rides >= 5
        assert seeded.unconfirmed_soon == expected
        assert seeded.tasks == expected
        with unit_of_work(factory) as db:
            statuses = set(db.scalars(select(Ride.status)))
            assert {"requested", "confirmed"} <= statuses
            assert statuses <= set(codes.STATUSES)
            soon = db.scalars(
                select(Ride).where(
                    Ride.status == "requested",
                    Ride.pickup_at <= now + dt.timedelta(hours=48),
                )
            ).all()
            assert len(soon) == expected
            assert (
                db.scalar(
                    select(func.count())
                    .select_from(Task)
                    .where(Task.template_key == codes.TASK_KEY)
                )
                == expected
            )
            assert rides_demo.seed(db, settings, seed=2) is None
    finally:
        engine.dispose()
        databases.close()
