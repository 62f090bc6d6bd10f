"""The demo's social needs screenings: several patients screened, some positive with open
needs, one need addressed, patients due again; made once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.social import service
from carebridge.social import synthetic as demo
from carebridge.social.models import Screening, SocialNeed
from tests.conftest import fresh_database
from tests.integration.test_patients_api import new_patient

ZONE = "America/Chicago"


def test_demo_screenings(tmp_path: Path) -> None:
    databases = fresh_database("sqlite", tmp_path)
    engine = make_engine(next(databases))
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as db:
            for _ in range(10):
                patients.register(
                    db, Actor.system("test"), PatientCreate.model_validate(new_patient())
                )
            made = demo.seed(db, seed=3, zone=ZONE)
        assert made is not None
        assert made >= 11  # one each, and two for the third patient
        with unit_of_work(factory) as db:
            assert db.scalar(select(func.count()).select_from(Screening)) == made
            assert db.scalar(select(func.count()).select_from(Screening).where(Screening.positive))
            statuses = set(db.scalars(select(SocialNeed.status)))
            assert "open" in statuses
            ids = list(db.scalars(select(Patient.id).order_by(Patient.mrn)))
            assert service.rescreen(db, ids[0], ZONE).overdue  # 14 months ago
            assert service.rescreen(db, ids[1], ZONE).overdue  # positive 8 months ago
            assert {n.domain for n in service.open_needs(db, ids[1])} == {"food", "transportation"}
            assert {n.domain for n in service.open_needs(db, ids[2])} == {"housing"}
            assert demo.seed(db, seed=3, zone=ZONE) is None
    finally:
        engine.dispose()
        databases.close()
