"""The demo's communications: the starter templates in English and Spanish, and messages
with real delivery results (delivered, one failed for good with its task) and letters, made
once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from carebridge.communications import starters
from carebridge.communications import synthetic as demo
from carebridge.communications.models import MessageTemplate, PatientCommunication
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.messaging.models import DeliveryAttempt, OutboxMessage
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.tasks.models import Task
from tests.conftest import fresh_database, make_settings
from tests.integration.test_patients_api import new_patient


def test_demo_templates_messages_and_letters(tmp_path: Path) -> None:
    databases = fresh_database("sqlite", tmp_path)
    url = next(databases)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as db:
            for _ in range(6):
                patients.register(
                    db, Actor.system("test"), PatientCreate.model_validate(new_patient())
                )
            seeded = demo.seed(db, make_settings(url, smtp_host=None, sms_gateway="none"), seed=2)
        assert seeded is not None
        assert seeded.templates == len(starters.STARTERS)
        assert seeded.messages == len(demo.PLAN)
        with unit_of_work(factory) as db:
            languages = set(db.scalars(select(MessageTemplate.language)))
            assert languages == {"en", "es"}
            statuses = set(db.scalars(select(OutboxMessage.status)))
            assert statuses == {"sent", "failed"}
            letters = set(
                db.scalars(
                    select(PatientCommunication.status).where(
                        PatientCommunication.channel == "letter"
                    )
                )
            )
            assert letters == {"ready", "mailed"}
            accepted = db.scalar(
                select(func.count())
                .select_from(DeliveryAttempt)
                .where(DeliveryAttempt.outcome == "accepted")
            )
            assert accepted == 4
            assert db.scalar(select(func.count()).select_from(Task).where(Task.kind == "delivery"))
            again = demo.seed(db, make_settings(url), seed=2)
        assert again is None
    finally:
        engine.dispose()
        databases.close()
