"""The demo's referrals: a directory with valid NPIs and referrals at every step of the
lifecycle, made once and the same for the same seed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.checksums import npi_is_valid
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.referrals import codes
from carebridge.referrals import synthetic as demo
from carebridge.referrals.models import OutsideProvider, Referral
from carebridge.security.audit import Actor
from tests.conftest import fresh_database
from tests.integration.test_patients_api import new_patient


def test_demo_directory_and_referrals(tmp_path: Path) -> None:
    databases = fresh_database("sqlite", tmp_path)
    engine = make_engine(next(databases))
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as db:
            for _ in range(8):
                patients.register(
                    db, Actor.system("test"), PatientCreate.model_validate(new_patient())
                )
            seeded = demo.seed(db, seed=3)
        assert seeded is not None
        assert seeded.providers == len(demo.PROVIDERS) == 30
        assert seeded.referrals == demo.REFERRALS
        with unit_of_work(factory) as db:
            npis = list(db.scalars(select(OutsideProvider.npi)))
            assert all(n is not None and npi_is_valid(n) for n in npis)
            statuses = set(db.scalars(select(Referral.status)))
            assert statuses == set(codes.STATUSES)
            assert db.scalar(select(func.count()).select_from(Referral)) == 60
            assert demo.seed(db, seed=3) is None
    finally:
        engine.dispose()
        databases.close()
