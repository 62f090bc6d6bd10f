"""Demo survey data: invitations for past fulfilled visits as the worker would have sent them
(at most one per patient in 30 days, two hours after the visit), some answered, none in the
future. Run with its clock in spring 2008, a period no other test uses."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.settings import Settings
from carebridge.surveys import items, service, synthetic
from carebridge.surveys.models import SurveyInvitation, SurveyResponse
from tests.integration.test_surveys import World

NOW = dt.datetime(2008, 6, 1, 12, tzinfo=dt.UTC)


def test_demo_answers_follow_the_rules(factory: sessionmaker[Session], settings: Settings) -> None:
    world = World(factory)
    people = [world.patient(language="es" if n % 3 == 0 else "en") for n in range(12)]
    visits: set[uuid.UUID] = set()
    for n, person in enumerate(people):
        for week in range(0, 16, 2):  # a visit every two weeks for four months
            ends = NOW - dt.timedelta(days=7 * week + 1, minutes=30 * n)
            visits.add(world.visit(person, ends))
    with unit_of_work(factory) as db:
        made = synthetic.seed(db, settings, seed=3, now=NOW)
    with unit_of_work(factory) as db:
        again = synthetic.seed(db, settings, seed=3, now=NOW)  # nothing twice
        rows = list(
            db.scalars(
                select(SurveyInvitation)
                .where(SurveyInvitation.appointment_id.in_(visits))
                .order_by(SurveyInvitation.created_at)
            )
        )
        answers = list(
            db.scalars(select(SurveyResponse).where(SurveyResponse.appointment_id.in_(visits)))
        )
    assert len(rows) == made + again
    assert made > 10
    assert len(answers) > 3
    by_patient: dict[uuid.UUID, list[dt.datetime]] = {}
    for row in rows:
        by_patient.setdefault(row.patient_id, []).append(row.created_at)
        assert row.outbox_id is None  # no message for a past visit
    for times in by_patient.values():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= dt.timedelta(days=service.ONE_PER_DAYS) for gap in gaps)
    invited = {r.id: r for r in rows}
    for answer in answers:
        invitation = invited[answer.invitation_id]
        assert invitation.answered_at == answer.answered_at
        assert invitation.created_at < answer.answered_at < NOW
        assert answer.answers["overall"] == answer.overall
        assert set(answer.answers) == {"overall", "recommend", "explained", "listened", "timely"}
        for item in items.SCORED[1:]:
            assert answer.answers[item.key] in item.codes()
        if answer.comment and answer.language == "es":
            assert answer.comment in synthetic.COMMENTS["es"]
