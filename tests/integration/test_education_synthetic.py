"""The demo's education: the starter library loaded, handouts given to patients with a care
plan, with teach-backs shown on their plans; made once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from carebridge.careplans import service as careplans
from carebridge.careplans.models import CarePlanActivity
from carebridge.careplans.schemas import CarePlanCreate
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.education import starter
from carebridge.education import synthetic as demo
from carebridge.education.models import EducationAssignment, EducationMaterial
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from tests.conftest import fresh_database
from tests.integration.test_patients_api import new_patient

TEMPLATES = ("type-2-diabetes", "hypertension", "heart-failure-post-discharge", "copd")


def test_demo_library_and_assignments(tmp_path: Path) -> None:
    databases = fresh_database("sqlite", tmp_path)
    engine = make_engine(next(databases))
    factory = make_sessionmaker(engine)
    today = dt.date(2026, 11, 20)
    actor = Actor.system("test")
    try:
        with unit_of_work(factory) as db:
            for i in range(8):
                who = patients.register(db, actor, PatientCreate.model_validate(new_patient()))
                careplans.create_plan(
                    db,
                    actor,
                    who.id,
                    CarePlanCreate(template_key=TEMPLATES[i % len(TEMPLATES)]),
                    today - dt.timedelta(days=30),
                )
            seeded = demo.seed(db, seed=2, today=today)
        assert seeded is not None
        assert seeded.materials_added == len(starter.STARTERS)
        assert seeded.assignments == 8
        assert seeded.teach_backs >= 1
        with unit_of_work(factory) as db:
            assert db.scalar(select(func.count()).select_from(EducationMaterial)) == len(
                starter.STARTERS
            )
            rows = list(db.scalars(select(EducationAssignment)))
            assert all(r.care_plan_id is not None and r.activity_id is not None for r in rows)
            linked = db.scalar(
                select(func.count())
                .select_from(CarePlanActivity)
                .where(CarePlanActivity.link_type == "education")
            )
            assert linked == len(rows)
            assert demo.seed(db, seed=2, today=today) is None
            assert db.scalar(select(func.count()).select_from(EducationAssignment)) == len(rows)
    finally:
        engine.dispose()
        databases.close()
