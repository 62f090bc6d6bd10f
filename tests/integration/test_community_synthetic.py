"""The demo's community resources: the demo directory imported (around Austin, TX), community
referrals made for patients with open needs (one confirmed, one waiting past its confirm-by
date, which the follow-up job turns into a task), made once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from carebridge.community import importer, search
from carebridge.community import service as community
from carebridge.community import synthetic as demo
from carebridge.community.models import CommunityReferral
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.referrals.models import Referral
from carebridge.security.audit import Actor
from carebridge.social import synthetic as social_demo
from tests.conftest import fresh_database
from tests.integration.test_patients_api import new_patient

ZONE = "America/Chicago"
AUSTIN = search.Point(30.2672, -97.7431)


def test_demo_directory_and_referrals(tmp_path: Path) -> None:
    databases = fresh_database("sqlite", tmp_path)
    engine = make_engine(next(databases))
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as db:
            for _ in range(16):
                patients.register(
                    db, Actor.system("test"), PatientCreate.model_validate(new_patient())
                )
            social_demo.seed(db, seed=1, zone=ZONE)
            made = demo.seed(db, zone=ZONE)
        assert made == 3
        with unit_of_work(factory) as db:
            counts = importer.counts(db)
            assert counts["organizations"] == 7
            assert counts["services"] == 10
            # Every demo location is within 15 km of downtown Austin.
            hits = search.search(db, near=AUSTIN)
            assert all(h.distance_km is not None and h.distance_km < 15 for h in hits)
            statuses = sorted(
                db.scalars(
                    select(Referral.status).join(
                        CommunityReferral, CommunityReferral.referral_id == Referral.id
                    )
                )
            )
            assert statuses == ["closed", "sent", "sent"]
            assert community.follow_up_unconfirmed(db) == 1  # the one sent 9 days ago
            assert demo.seed(db, zone=ZONE) is None
            assert db.scalar(select(func.count()).select_from(CommunityReferral)) == 3
    finally:
        engine.dispose()
        databases.close()
