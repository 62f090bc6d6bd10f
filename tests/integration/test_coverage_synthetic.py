"""The demo's insurance: a dozen payers with EDI payer ids and their plans; most patients
covered (Medicare for the over-65s, some with a secondary; dependents with a named
subscriber; some earlier coverage ended), some uninsured; every coverage passes the
service's checks (one active coverage per rank at a time); seeding twice adds nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.coverage import synthetic
from carebridge.coverage.models import Coverage, Payer, Plan
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import bulk
from carebridge.patients import synthetic as people
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from tests.conftest import BACKENDS, fresh_database

PATIENTS = 300


@pytest.fixture(params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    urls = fresh_database(request.param, tmp_path)
    url = next(urls)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as db:
            bulk.insert_patients(db, Actor.system("test"), people.generate(PATIENTS, 3))
            made = synthetic.seed(db, seed=3)
            assert made is not None
            assert made.payers == len(synthetic.PAYERS)
        yield factory
    finally:
        engine.dispose()
        urls.close()


def test_demo_coverage_looks_like_a_clinic_panel(seeded: sessionmaker[Session]) -> None:
    today = utcnow().date()
    with unit_of_work(seeded, write=False) as db:
        assert db.scalar(select(func.count()).select_from(Payer)) == len(synthetic.PAYERS)
        assert (db.scalar(select(func.count()).select_from(Plan)) or 0) >= len(synthetic.PAYERS)
        rows = list(db.scalars(select(Coverage)))
        born = {
            row.id: row.birth_date for row in db.execute(select(Patient.id, Patient.birth_date))
        }
    covered = {c.patient_id for c in rows}
    assert 0.75 * PATIENTS <= len(covered) < PATIENTS  # most, not all
    assert Counter(c.rank for c in rows)[2] >= 10
    assert any(c.end_on is not None and c.end_on < today for c in rows)
    assert any(c.status == "entered-in-error" for c in rows)
    dependents = [c for c in rows if c.relationship != "self"]
    assert dependents
    assert all(c.subscriber_birth_date and c.subscriber_family_name for c in dependents)
    # One active coverage per place in the order of benefits on any day.
    active = Counter(
        (c.patient_id, c.rank) for c in rows if c.status == "active" and c.end_on is None
    )
    assert max(active.values()) == 1
    seniors = [c for c in rows if c.rank == 1 and (today - born[c.patient_id]).days > 66 * 366]
    assert seniors
    assert all(" " not in c.member_id for c in rows)


def test_seeding_twice_adds_no_coverage(seeded: sessionmaker[Session]) -> None:
    with unit_of_work(seeded) as db:
        before = db.scalar(select(func.count()).select_from(Coverage))
        assert synthetic.seed(db, seed=3) is None
        assert db.scalar(select(func.count()).select_from(Coverage)) == before
        assert db.scalar(select(func.count()).select_from(Payer)) == len(synthetic.PAYERS)
