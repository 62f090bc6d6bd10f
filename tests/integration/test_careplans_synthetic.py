"""The demo's care plans: patients whose charts fit a template get a plan from it, with
measurements over past months, reviews done and overdue, goals past their date; seeding
twice adds nothing."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge import demo
from carebridge.careplans import synthetic, targets
from carebridge.careplans.models import CarePlan, Goal, GoalMeasurement
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.patients.models import Condition
from tests.conftest import BACKENDS, fresh_database, make_settings

TODAY = dt.date(2026, 11, 26)


@pytest.fixture(params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    urls = fresh_database(request.param, tmp_path)
    url = next(urls)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as db:
            demo.seed(db)
            demo.seed_patients(
                db, count=400, settings=make_settings(url, demo_mode=True), history=False
            )
        yield factory
    finally:
        engine.dispose()
        urls.close()


def test_demo_patients_get_plans_that_fit_their_charts(seeded: sessionmaker[Session]) -> None:
    with unit_of_work(seeded) as db:
        plans = list(db.scalars(select(CarePlan)))
        assert len(plans) >= 15
        kinds = Counter(p.template_key for p in plans)
        assert set(kinds) == {c.template for c in synthetic.COHORTS}
        assert len({p.patient_id for p in plans}) == len(plans)  # one demo plan a patient
        diabetic = {p.patient_id for p in plans if p.template_key == "type-2-diabetes"}
        coded = set(
            db.scalars(
                select(Condition.patient_id).where(
                    Condition.patient_id.in_(diabetic), Condition.code.like("E11%")
                )
            )
        )
        assert coded == diabetic
        readings = list(db.scalars(select(GoalMeasurement)))
        assert len(readings) > 3 * len(plans)
        goals = {g.id: g for g in db.scalars(select(Goal))}
        # Every goal's status is what its measurements say (none was set by hand).
        by_goal: dict[object, list[GoalMeasurement]] = {}
        for m in sorted(readings, key=lambda m: (m.measured_on, m.created_at)):
            by_goal.setdefault(m.goal_id, []).append(m)
        for goal_id, taken in by_goal.items():
            goal = goals[goal_id]
            target = targets.from_columns(
                goal.comparator, goal.target_low, goal.target_high, goal.unit
            )
            expected = targets.achievement(target, [m.value for m in taken])
            assert goal.achievement_status == expected
        today = max(m.measured_on for m in readings)
        assert any(p.next_review_on and p.next_review_on < today for p in plans)
        assert any(p.last_reviewed_on is not None for p in plans)
        assert any(
            g.due_on and g.due_on < today and g.achievement_status != "achieved"
            for g in goals.values()
        )


def test_seeding_again_adds_nothing(seeded: sessionmaker[Session]) -> None:
    with unit_of_work(seeded) as db:
        before = len(list(db.scalars(select(CarePlan.id))))
        assert synthetic.seed(db, today=TODAY) is None
        assert len(list(db.scalars(select(CarePlan.id)))) == before
