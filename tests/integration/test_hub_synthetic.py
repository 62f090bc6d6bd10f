"""The demo's team messages: threads among the demo users, some about demo patients, some
unread for the demo coordinator, one mention; made once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.hub import service
from carebridge.hub import synthetic as demo
from carebridge.hub.models import TeamMessage, TeamThread
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.tasks.models import Notification
from tests.conftest import fresh_database
from tests.factories import make_user
from tests.integration.test_patients_api import new_patient


def test_demo_threads(tmp_path: Path) -> None:
    databases = fresh_database("sqlite", tmp_path)
    engine = make_engine(next(databases))
    factory = make_sessionmaker(engine)
    try:
        users = {
            name: make_user(factory, role, username=name)
            for name, role in (
                ("coordinator", Role.COORDINATOR),
                ("jchen", Role.COORDINATOR),
                ("drpatel", Role.CLINICIAN),
                ("billing", Role.BILLING),
            )
        }
        with unit_of_work(factory) as db:
            for _ in range(4):
                patients.register(
                    db, Actor.system("test"), PatientCreate.model_validate(new_patient())
                )
            assert demo.seed(db, seed=2) == len(demo.THREADS) == 5
        with unit_of_work(factory) as db:
            about = db.scalar(
                select(func.count())
                .select_from(TeamThread)
                .where(TeamThread.patient_id.is_not(None))
            )
            assert about == 3
            assert db.scalar(select(func.count()).select_from(TeamMessage)) == sum(
                len(t.messages) for t in demo.THREADS
            )
            maria = Actor(users["coordinator"].id, "coordinator", Role.COORDINATOR.value)
            inbox = service.inbox(db, maria)
            assert [t.unread > 0 for t in inbox] == [True, True, True, False, False]
            assert service.unread_count(db, users["coordinator"].id) == 2 + 3 + 1
            jchen_notes = db.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.user_id == users["jchen"].id)
            )
            assert jchen_notes == 1
            assert demo.seed(db, seed=2) == 0
    finally:
        engine.dispose()
        databases.close()
