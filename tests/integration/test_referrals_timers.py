"""The referral timers the worker runs: an outgoing referral not scheduled in time (by
urgency) and one seen with no report back each raise one task for the person who made the
referral (or the coordinators' queue when their account is disabled); running twice raises
nothing twice; the step that answers a task completes it."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.history import ACTOR_KEY
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.referrals import directory, service
from carebridge.referrals.models import Referral
from carebridge.referrals.schemas import ProviderCreate, ReferralCreate, ReferralTransition
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.security.roles import Role
from carebridge.tasks import escalation
from carebridge.tasks.models import Task
from carebridge.tasks.rules import TIMERS
from tests.factories import make_user
from tests.integration.test_patients_api import new_patient
from tests.integration.test_referrals_api import valid_npi

ZONE = "America/Chicago"
REFERRAL_TIMERS = [t for t in TIMERS if t.focus == "Referral"]


def as_user(factory: sessionmaker[Session]) -> Actor:
    user = make_user(factory, Role.COORDINATOR)
    return Actor(user_id=user.id, username=user.username, role=user.role)


def sent_referral(
    factory: sessionmaker[Session], actor: Actor, urgency: str, days_ago: float
) -> uuid.UUID:
    """An outgoing referral made by ``actor`` and sent ``days_ago`` days ago."""
    with unit_of_work(factory) as db:
        db.info[ACTOR_KEY] = actor.user_id
        patient = patients.register(db, actor, PatientCreate.model_validate(new_patient()))
        entry = directory.create(
            db,
            actor,
            ProviderCreate(
                name=f"Dr Ruth {uuid.uuid4().hex[:6]}",
                kind="specialist",
                specialty="Cardiology",
                npi=valid_npi(),
            ),
        )
        made = service.create(
            db,
            actor,
            patient.id,
            ReferralCreate(
                provider_id=entry.id,
                service_kind="specialist",
                reason="Chest pain on exertion",
                urgency=urgency,
            ),
            ZONE,
        )
        service.transition(
            db, actor, made.id, ReferralTransition(action="send", version=made.version), ZONE
        )
        db.execute(
            update(Referral)
            .where(Referral.id == made.id)
            .values(sent_at=utcnow() - dt.timedelta(days=days_ago))
        )
        return made.id


def run(factory: sessionmaker[Session], batch: int = escalation.BATCH) -> escalation.Summary:
    with unit_of_work(factory) as db:
        return escalation.run(db, zone=ZONE, escalations=(), timers=REFERRAL_TIMERS, batch=batch)


def tasks_for(factory: sessionmaker[Session], referral_id: uuid.UUID) -> list[Task]:
    with unit_of_work(factory, write=False) as db:
        return list(
            db.scalars(
                select(Task)
                .where(Task.focus_type == "Referral", Task.focus_id == referral_id)
                .order_by(Task.created_at)
            )
        )


def step(
    factory: sessionmaker[Session],
    actor: Actor,
    referral_id: uuid.UUID,
    action: str,
    **extra: object,
) -> None:
    with unit_of_work(factory) as db:
        db.info[ACTOR_KEY] = actor.user_id
        version = db.get(Referral, referral_id).version  # type: ignore[union-attr]
        service.transition(
            db,
            actor,
            referral_id,
            ReferralTransition.model_validate({"action": action, "version": version, **extra}),
            ZONE,
        )


def test_a_routine_referral_not_scheduled_in_14_days_raises_one_task(
    factory: sessionmaker[Session],
) -> None:
    actor = as_user(factory)
    waiting = sent_referral(factory, actor, "routine", 13)
    late = sent_referral(factory, actor, "routine", 15)
    run(factory)
    assert tasks_for(factory, waiting) == []
    [task] = tasks_for(factory, late)
    assert task.title.startswith("Referral not scheduled: R")
    assert "Dr Ruth" in task.title
    assert "(Cardiology)" in task.title
    assert task.kind == "referral"
    assert task.owner_id == actor.user_id
    assert task.template_key == "referral-not-scheduled-routine"
    assert task.is_open

    again = run(factory)
    assert again.by_rule.get("referral-not-scheduled-routine", 0) == 0
    assert len(tasks_for(factory, late)) == 1

    # Booking answers the task: it is completed, and no new one is raised.
    day = (utcnow() + dt.timedelta(days=10)).date().isoformat()
    step(factory, actor, late, "schedule", scheduled_for=day)
    [done] = tasks_for(factory, late)
    assert done.status == "completed"
    assert not done.is_open
    run(factory)
    assert len(tasks_for(factory, late)) == 1


def test_urgency_sets_the_wait_and_the_priority(factory: sessionmaker[Session]) -> None:
    actor = as_user(factory)
    stat = sent_referral(factory, actor, "stat", 1.1)
    urgent_early = sent_referral(factory, actor, "urgent", 2)
    urgent_late = sent_referral(factory, actor, "urgent", 3.2)
    run(factory)
    assert [t.priority for t in tasks_for(factory, stat)] == ["stat"]
    assert tasks_for(factory, urgent_early) == []
    assert [t.priority for t in tasks_for(factory, urgent_late)] == ["urgent"]


def test_a_disabled_creator_hands_the_task_to_the_coordinators_queue(
    factory: sessionmaker[Session],
) -> None:
    actor = as_user(factory)
    late = sent_referral(factory, actor, "routine", 20)
    with unit_of_work(factory) as db:
        db.execute(update(User).where(User.id == actor.user_id).values(is_active=False))
    run(factory)
    [task] = tasks_for(factory, late)
    assert task.owner_id is None
    assert task.queue == "coordinators"


def test_no_report_seven_days_after_the_visit_raises_one_task(
    factory: sessionmaker[Session],
) -> None:
    actor = as_user(factory)
    referral_id = sent_referral(factory, actor, "routine", 1)
    step(factory, actor, referral_id, "schedule", scheduled_for=utcnow().date().isoformat())
    eight_days_ago = (utcnow() - dt.timedelta(days=8)).date().isoformat()
    step(factory, actor, referral_id, "seen", seen_on=eight_days_ago)
    run(factory)
    run(factory)
    [task] = tasks_for(factory, referral_id)
    assert task.title.startswith("No report from Dr Ruth")
    assert task.template_key == "referral-no-report"
    assert task.owner_id == actor.user_id
    step(factory, actor, referral_id, "report")
    [done] = tasks_for(factory, referral_id)
    assert done.status == "completed"


def test_incoming_and_finished_referrals_raise_nothing(factory: sessionmaker[Session]) -> None:
    actor = as_user(factory)
    cancelled = sent_referral(factory, actor, "stat", 5)
    step(factory, actor, cancelled, "cancel", reason="Patient moved away")
    incoming = sent_referral(factory, actor, "stat", 5)
    with unit_of_work(factory) as db:
        db.execute(update(Referral).where(Referral.id == incoming).values(direction="incoming"))
    run(factory)
    assert tasks_for(factory, cancelled) == []
    assert tasks_for(factory, incoming) == []


def test_referrals_read_in_small_batches_are_all_raised(factory: sessionmaker[Session]) -> None:
    actor = as_user(factory)
    late = [sent_referral(factory, actor, "urgent", 4 + i) for i in range(3)]
    run(factory, batch=1)
    assert [len(tasks_for(factory, r)) for r in late] == [1, 1, 1]
