"""Applying the rules of ``tasks.rules``: escalating overdue tasks and raising the tasks that
care-plan and referral dates call for. ``carebridge worker`` calls :func:`run_all`.

Idempotent: an escalation rule is applied to a task once (a ``TaskEscalation`` row, unique per
task and rule, is written with the change), and a timer raises its task once per record and
date (a task ``dedupe_key``); running the worker twice creates nothing twice.

Cheap on large tables: each rule reads only its candidates, along ``ix_tasks_open_due`` (or
the care-plan and goal date indexes), with the "already applied" test in the same query, in
bounded batches. On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``, so two
workers never escalate one task at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, sessionmaker

from carebridge.careplans.models import CarePlan, Goal
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.referrals.codes import COMMUNITY_SERVICE
from carebridge.referrals.models import OutsideProvider, Referral
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.tasks import service
from carebridge.tasks.codes import PRIORITY_WORDS
from carebridge.tasks.models import QueueMember, Task, TaskEscalation, WorkQueue
from carebridge.tasks.notifications import notify
from carebridge.tasks.queues import by_code
from carebridge.tasks.rules import (
    ESCALATIONS,
    MET,
    NOT_STARTED,
    TIMERS,
    EscalationRule,
    TaskFacts,
    TimerRule,
)

log = logging.getLogger("carebridge.worker.escalation")
WORKER = Actor.system("worker")
BATCH = 200  # rows read per query
LIMIT = 1000  # changes per rule per run; more waits for the next run (one short transaction)
MAX_RUNS = 100  # runs per worker pass, so a huge backlog cannot starve message delivery


@dataclass
class Summary:
    """What one or more runs did."""

    escalated: int = 0  # escalation rules applied (one per task and rule)
    bumped: int = 0
    notified: int = 0
    reassigned: int = 0
    reviews: int = 0  # care-plan review tasks raised
    goals: int = 0  # goal-past-due tasks raised
    referrals: int = 0  # referral not-scheduled / no-report tasks raised
    by_rule: dict[str, int] = field(default_factory=dict)
    more: bool = False  # a rule hit LIMIT: run again
    skipped: list[str] = field(default_factory=list)  # rules that could not run, and why

    def count(self, key: str, n: int = 1) -> None:
        self.by_rule[key] = self.by_rule.get(key, 0) + n

    def add(self, other: Summary) -> None:
        self.escalated += other.escalated
        self.bumped += other.bumped
        self.notified += other.notified
        self.reassigned += other.reassigned
        self.reviews += other.reviews
        self.goals += other.goals
        self.referrals += other.referrals
        for key, n in other.by_rule.items():
            self.count(key, n)
        self.more = other.more
        self.skipped.extend(s for s in other.skipped if s not in self.skipped)

    def line(self) -> str:
        return (
            f"{self.escalated} escalation(s) ({self.bumped} priority bump(s), "
            f"{self.notified} supervisor notification(s), {self.reassigned} reassigned), "
            f"{self.reviews} care-plan review task(s), {self.goals} goal task(s), "
            f"{self.referrals} referral task(s) raised"
        )


# --- escalations -----------------------------------------------------------------------


def _conditions(rule: EscalationRule, now: dt.datetime) -> list[ColumnElement[bool]]:
    """``rule.matches`` as SQL, plus "not applied to this task yet"."""
    since = now - rule.overdue_by
    applied = exists().where(TaskEscalation.task_id == Task.id, TaskEscalation.rule_key == rule.key)
    # The overdue clock restarts at a priority bump (see EscalationRule).
    bumped_since = exists().where(
        TaskEscalation.task_id == Task.id,
        TaskEscalation.applied_at > since,
        TaskEscalation.from_priority != TaskEscalation.to_priority,
    )
    terms: list[ColumnElement[bool]] = [Task.is_open == true(), Task.due_at <= since, ~applied]
    if rule.from_bump:
        terms.append(~bumped_since)
    if rule.priorities:
        terms.append(Task.priority.in_(rule.priorities))
    if rule.kinds:
        terms.append(Task.kind.in_(rule.kinds))
    if rule.ownership == "owned":
        terms.append(Task.owner_id.is_not(None))
    elif rule.ownership == "unowned":
        terms += [Task.owner_id.is_(None), Task.queue.is_not(None)]
    if rule.stalled_only:
        disabled = select(User.id).where(User.is_active.is_(False))
        terms.append(or_(Task.status.in_(NOT_STARTED), Task.owner_id.in_(disabled)))
    return terms


def _candidates(
    db: Session,
    rule: EscalationRule,
    now: dt.datetime,
    after: tuple[dt.datetime, uuid.UUID] | None,
    batch: int,
) -> list[Task]:
    query = select(Task).where(*_conditions(rule, now))
    if after is not None:
        query = query.where(
            or_(Task.due_at > after[0], and_(Task.due_at == after[0], Task.id > after[1]))
        )
    query = (
        query.order_by(Task.due_at, Task.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=Task)  # PostgreSQL; SQLite has one writer
    )
    return list(db.scalars(query))


def _owners_active(db: Session, tasks: Sequence[Task]) -> dict[uuid.UUID, bool]:
    ids = {t.owner_id for t in tasks if t.owner_id is not None}
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.is_active).where(User.id.in_(ids)))
    return dict(rows.all())


def _last_bumps(db: Session, tasks: Sequence[Task]) -> dict[uuid.UUID, dt.datetime]:
    rows = db.execute(
        select(TaskEscalation.task_id, func.max(TaskEscalation.applied_at))
        .where(
            TaskEscalation.task_id.in_([t.id for t in tasks]),
            TaskEscalation.from_priority != TaskEscalation.to_priority,
        )
        .group_by(TaskEscalation.task_id)
    )
    return dict(rows.all())


@dataclass(frozen=True)
class Supervisors:
    """Who hears about an escalation: the supervisor of the task's queue, or for an owned
    task the supervisor of a queue its owner works in (not the owner themself if another
    queue has someone else)."""

    of_queue: dict[str, uuid.UUID]
    of_owner: dict[uuid.UUID, uuid.UUID]

    def for_task(self, task: Task, owner_id: uuid.UUID | None) -> uuid.UUID | None:
        if task.queue is not None:
            return self.of_queue.get(task.queue)
        return self.of_owner.get(owner_id) if owner_id is not None else None


def _supervisors(db: Session, tasks: Sequence[Task], extra_queue: str | None) -> Supervisors:
    boss = aliased(User)
    codes = {t.queue for t in tasks if t.queue is not None} | ({extra_queue} - {None})
    of_queue: dict[str, uuid.UUID] = {}
    if codes:
        rows = db.execute(
            select(WorkQueue.code, WorkQueue.supervisor_id)
            .join(boss, boss.id == WorkQueue.supervisor_id)
            .where(
                WorkQueue.code.in_(codes),
                WorkQueue.is_active.is_(True),
                boss.is_active.is_(True),
            )
        )
        of_queue = {code: sup for code, sup in rows if sup is not None}
    owners = {t.owner_id for t in tasks if t.owner_id is not None}
    of_owner: dict[uuid.UUID, uuid.UUID] = {}
    if owners:
        rows2 = db.execute(
            select(QueueMember.user_id, WorkQueue.supervisor_id)
            .join(WorkQueue, WorkQueue.id == QueueMember.queue_id)
            .join(boss, boss.id == WorkQueue.supervisor_id)
            .where(
                QueueMember.user_id.in_(owners),
                WorkQueue.is_active.is_(True),
                boss.is_active.is_(True),
            )
            .order_by(WorkQueue.code)
        )
        for owner, sup in rows2:
            if sup is None:
                continue
            # The first queue (alphabetically) with someone other than the owner wins.
            if owner not in of_owner or (of_owner[owner] == owner and sup != owner):
                of_owner[owner] = sup
    return Supervisors(of_queue=of_queue, of_owner=of_owner)


def _apply(
    db: Session,
    rule: EscalationRule,
    task: Task,
    now: dt.datetime,
    supervisors: Supervisors,
    summary: Summary,
) -> None:
    from_priority, from_owner = task.priority, task.owner_id
    changes: list[str] = []
    if rule.bump_to is not None and task.priority != rule.bump_to:
        task.priority = rule.bump_to
        changes.append(f"priority raised to {PRIORITY_WORDS[rule.bump_to]}")
        summary.bumped += 1
    if rule.reassign_to is not None:
        task.owner_id = None
        task.queue = rule.reassign_to
        if task.status != "on-hold":
            task.status = "requested"
        changes.append(f"moved to the {rule.reassign_to} queue")
        summary.reassigned += 1
    # Every change to the task before the first query (which flushes): one new version.
    task.escalation_level += 1
    notified = None
    if rule.notify_supervisor:
        notified = supervisors.for_task(task, from_owner)
        if notified is not None:
            said = "; ".join(changes)
            notify(
                db,
                notified,
                f"Overdue task escalated ({rule.name.lower()}): “{task.title}”"
                + (f"; {said}." if said else "."),
                link=f"/tasks/{task.id}",
                patient_id=task.patient_id,
                dedupe_key=f"escalation:{task.id}:{rule.key}",
            )
            summary.notified += 1
            changes.append("supervisor notified")
        else:
            changes.append("no supervisor to notify")
    db.add(
        TaskEscalation(
            task_id=task.id,
            rule_key=rule.key,
            applied_at=now,
            from_priority=from_priority,
            to_priority=task.priority,
            from_owner_id=from_owner,
            to_queue=rule.reassign_to,
            notified_user_id=notified,
        )
    )
    record(
        db,
        WORKER,
        Action.UPDATE,
        entity_type="Task",
        entity_id=task.id,
        patient_id=task.patient_id,
        reason=f"Escalation rule {rule.key}: {', '.join(changes)}",
    )
    summary.escalated += 1
    summary.count(rule.key)


def _escalate(
    db: Session, rule: EscalationRule, now: dt.datetime, batch: int, limit: int, summary: Summary
) -> None:
    if rule.reassign_to is not None:
        target = by_code(db, rule.reassign_to)
        if target is None or not target.is_active:
            summary.skipped.append(
                f"{rule.key}: there is no active queue {rule.reassign_to!r} to move tasks to"
            )
            return
    done = 0
    after: tuple[dt.datetime, uuid.UUID] | None = None
    while done < limit:
        wanted = min(batch, limit - done)
        tasks = _candidates(db, rule, now, after, wanted)
        if not tasks:
            return
        after = (tasks[-1].due_at, tasks[-1].id)
        active = _owners_active(db, tasks)
        bumps = _last_bumps(db, tasks)
        supervisors = (
            _supervisors(db, tasks, rule.reassign_to)
            if rule.notify_supervisor
            else Supervisors({}, {})
        )
        for task in tasks:
            facts = TaskFacts(
                priority=task.priority,
                kind=task.kind,
                status=task.status,
                due_at=task.due_at,
                owned=task.owner_id is not None,
                queue=task.queue,
                owner_active=active.get(task.owner_id, True) if task.owner_id else True,
                last_bump_at=bumps.get(task.id),
            )
            if not rule.matches(facts, now):  # the SQL and the rule disagree: a bug
                log.error("rule %s selected task %s, which it does not match", rule.key, task.id)
                continue
            _apply(db, rule, task, now, supervisors, summary)
            done += 1
        db.flush()
        if len(tasks) < wanted:
            return
    summary.more = True


# --- timers ----------------------------------------------------------------------------


def _open_task_for(
    focus_type: str, focus_id: InstrumentedAttribute[uuid.UUID], key: str
) -> ColumnElement[bool]:
    return exists().where(
        Task.focus_type == focus_type,
        Task.focus_id == focus_id,
        Task.template_key == key,
        Task.is_open == true(),
    )


@dataclass(frozen=True)
class Due:
    """One record a timer raises a task for."""

    record_id: uuid.UUID
    patient_id: uuid.UUID
    date: dt.date
    title: str
    description: str


def _due_reviews(
    db: Session, rule: TimerRule, today: dt.date, after: tuple[dt.date, uuid.UUID] | None, n: int
) -> list[Due]:
    query = (
        select(CarePlan.id, CarePlan.patient_id, CarePlan.next_review_on, CarePlan.title)
        .join(Patient, Patient.id == CarePlan.patient_id)
        .where(
            CarePlan.status == "active",
            CarePlan.next_review_on <= rule.latest_date(today),
            Patient.status == "active",
            ~_open_task_for("CarePlan", CarePlan.id, rule.key),
        )
    )
    if after is not None:
        query = query.where(
            or_(
                CarePlan.next_review_on > after[0],
                and_(CarePlan.next_review_on == after[0], CarePlan.id > after[1]),
            )
        )
    rows = db.execute(query.order_by(CarePlan.next_review_on, CarePlan.id).limit(n))
    return [
        Due(
            record_id=plan_id,
            patient_id=patient_id,
            date=review_on,
            title=rule.title.format(title=title, goal="")[:200],
            description=(
                f"The care plan “{title}” is due for review (review date "
                f"{review_on:%d %b %Y}). Go over its goals and activities with the patient "
                "and the care team, then record the review and set the next review date."
            ),
        )
        for plan_id, patient_id, review_on, title in rows
        if review_on is not None
    ]


def _due_goals(
    db: Session, rule: TimerRule, today: dt.date, after: tuple[dt.date, uuid.UUID] | None, n: int
) -> list[Due]:
    query = (
        select(Goal.id, CarePlan.patient_id, Goal.due_on, Goal.description, CarePlan.title)
        .join(CarePlan, CarePlan.id == Goal.care_plan_id)
        .join(Patient, Patient.id == CarePlan.patient_id)
        .where(
            Goal.lifecycle_status == "active",
            Goal.due_on <= rule.latest_date(today),
            Goal.achievement_status.not_in(MET),
            CarePlan.status == "active",
            Patient.status == "active",
            ~_open_task_for("Goal", Goal.id, rule.key),
        )
    )
    if after is not None:
        query = query.where(
            or_(Goal.due_on > after[0], and_(Goal.due_on == after[0], Goal.id > after[1]))
        )
    rows = db.execute(query.order_by(Goal.due_on, Goal.id).limit(n))
    return [
        Due(
            record_id=goal_id,
            patient_id=patient_id,
            date=due_on,
            title=rule.title.format(goal=description, title=plan)[:200],
            description=(
                f"The goal “{description}” in the care plan “{plan}” was due on "
                f"{due_on:%d %b %Y} and is not marked achieved. Check progress with the "
                "patient, then mark it achieved, set a new date, or change the goal."
            ),
        )
        for goal_id, patient_id, due_on, description, plan in rows
        if due_on is not None
    ]


def _referral_label(number: str, provider: str, specialty: str | None) -> str:
    return f"{number} to {provider}" + (f" ({specialty})" if specialty else "")


def _waiting_referrals(
    db: Session,
    rule: TimerRule,
    step: InstrumentedAttribute[Any],
    conditions: Sequence[ColumnElement[bool]],
    after: tuple[dt.date, uuid.UUID] | None,
    n: int,
) -> list[tuple[uuid.UUID, uuid.UUID, Any, str, str, str | None]]:
    """Outgoing referrals of active patients meeting ``conditions`` with no open task of the
    rule, in order of the ``step`` date (sent_at or seen_on) and id; ``after`` names the last
    row of the previous batch by its id."""
    query = (
        select(
            Referral.id,
            Referral.patient_id,
            step,
            Referral.number,
            OutsideProvider.name,
            OutsideProvider.specialty,
        )
        .join(OutsideProvider, OutsideProvider.id == Referral.provider_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .where(
            Referral.direction == "outgoing",
            Patient.status == "active",
            ~_open_task_for("Referral", Referral.id, rule.key),
            *conditions,
        )
    )
    if after is not None:
        last = db.scalar(select(step).where(Referral.id == after[1]))
        if last is not None:
            query = query.where(or_(step > last, and_(step == last, Referral.id > after[1])))
    rows = db.execute(query.order_by(step, Referral.id).limit(n))
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows if r[2] is not None]


def _unscheduled_referrals(
    db: Session,
    rule: TimerRule,
    now: dt.datetime,
    after: tuple[dt.date, uuid.UUID] | None,
    n: int,
) -> list[Due]:
    """Referrals of the rule's urgency sent (or accepted) ``days_after`` days ago or more and
    still not scheduled. The task's date is the day it was sent (UTC)."""
    conditions = (
        Referral.status.in_(("sent", "accepted")),
        Referral.urgency == rule.urgency,
        Referral.sent_at <= now - dt.timedelta(days=rule.days_after),
        # A community organization confirms instead of booking; community.service chases it.
        Referral.service_kind != COMMUNITY_SERVICE,
    )
    found = []
    for referral_id, patient_id, sent_at, number, provider, specialty in _waiting_referrals(
        db, rule, Referral.sent_at, conditions, after, n
    ):
        label = _referral_label(number, provider, specialty)
        found.append(
            Due(
                record_id=referral_id,
                patient_id=patient_id,
                date=sent_at.date(),
                title=rule.title.format(title=label, goal="")[:200],
                description=(
                    f"Referral {label} was sent on {sent_at:%d %b %Y} and no appointment is "
                    "booked yet. Call the provider's office to confirm they have it and help "
                    "the patient book, then mark the referral scheduled."
                ),
            )
        )
    return found


def _referrals_without_report(
    db: Session, rule: TimerRule, today: dt.date, after: tuple[dt.date, uuid.UUID] | None, n: int
) -> list[Due]:
    """Referrals seen ``days_after`` days ago or more with no report back."""
    conditions = (Referral.status == "seen", Referral.seen_on <= rule.latest_date(today))
    return [
        Due(
            record_id=referral_id,
            patient_id=patient_id,
            date=seen_on,
            title=rule.title.format(title=provider, goal="")[:200],
            description=(
                f"The patient was seen for referral {_referral_label(number, provider, specialty)}"
                f" on {seen_on:%d %b %Y} and no report has come back. Ask the provider's office "
                "to send the visit report, then mark it received."
            ),
        )
        for referral_id, patient_id, seen_on, number, provider, specialty in _waiting_referrals(
            db, rule, Referral.seen_on, conditions, after, n
        )
    ]


def _creators(db: Session, referral_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Who made each referral, where their account is still active."""
    rows = db.execute(
        select(Referral.id, Referral.created_by)
        .join(User, User.id == Referral.created_by)
        .where(Referral.id.in_(list(referral_ids)), User.is_active.is_(True))
    )
    return {referral: user for referral, user in rows if user is not None}


def _coordinators(db: Session, patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Each patient's primary coordinator, where one is set and their account is active."""
    rows = db.execute(
        select(Patient.id, Patient.primary_coordinator_id)
        .join(User, User.id == Patient.primary_coordinator_id)
        .where(Patient.id.in_(list(patient_ids)), User.is_active.is_(True))
    )
    return {patient: user for patient, user in rows if user is not None}


def _raise(
    db: Session,
    rule: TimerRule,
    now: dt.datetime,
    today: dt.date,
    batch: int,
    limit: int,
    summary: Summary,
) -> None:
    focus = rule.focus
    raised = 0
    after: tuple[dt.date, uuid.UUID] | None = None
    while raised < limit:
        if rule.watches == "care-plan-review":
            due = _due_reviews(db, rule, today, after, batch)
        elif rule.watches == "goal-past-due":
            due = _due_goals(db, rule, today, after, batch)
        elif rule.watches == "referral-not-scheduled":
            due = _unscheduled_referrals(db, rule, now, after, batch)
        else:
            due = _referrals_without_report(db, rule, today, after, batch)
        if not due:
            return
        after = (due[-1].date, due[-1].record_id)
        keys = {d.record_id: rule.dedupe_key(d.record_id, d.date) for d in due}
        # Raised before for this date and since closed: not again (create would return it).
        seen = set(db.scalars(select(Task.dedupe_key).where(Task.dedupe_key.in_(keys.values()))))
        if focus == "Referral":
            owners = _creators(db, keys)
        else:
            owners = _coordinators(db, {d.patient_id for d in due})
        for item in due:
            if keys[item.record_id] in seen:
                continue
            owner = owners.get(item.record_id if focus == "Referral" else item.patient_id)
            service.create(
                db,
                WORKER,
                title=item.title,
                description=item.description,
                patient_id=item.patient_id,
                priority=rule.priority,
                kind=rule.task_kind,
                owner_id=owner,
                queue=None if owner else rule.fallback_queue,
                due_at=now + service.DEFAULT_WAIT[rule.priority],
                focus_type=focus,
                focus_id=item.record_id,
                dedupe_key=keys[item.record_id],
                template_key=rule.key,
            )
            raised += 1
            summary.count(rule.key)
            if rule.watches == "care-plan-review":
                summary.reviews += 1
            elif rule.watches == "goal-past-due":
                summary.goals += 1
            else:
                summary.referrals += 1
            if raised >= limit:
                break
        if len(due) < batch:
            return
    summary.more = True


# --- running ---------------------------------------------------------------------------


def run(
    db: Session,
    now: dt.datetime | None = None,
    *,
    zone: str = "UTC",
    batch: int = BATCH,
    limit: int = LIMIT,
    escalations: Sequence[EscalationRule] = ESCALATIONS,
    timers: Sequence[TimerRule] = TIMERS,
) -> Summary:
    """Apply every rule once, in the caller's unit of work. ``zone`` is the clinic's time
    zone: it decides which calendar day "today" is for review and goal dates. When a rule
    had more than ``limit`` changes to make, ``more`` is set: call again (a new unit of
    work) for the rest."""
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(zone)).date()
    summary = Summary()
    for rule in escalations:
        _escalate(db, rule, now, batch, limit, summary)
        if summary.more:
            # Later rules wait for this one to finish (next run): the rules are applied in
            # order, so which rule acts on a task must not depend on the batch sizes.
            db.flush()
            return summary
    for timer in timers:
        _raise(db, timer, now, today, batch, limit, summary)
    db.flush()
    return summary


def run_all(
    factory: sessionmaker[Session],
    now: dt.datetime | None = None,
    *,
    zone: str = "UTC",
    stop: threading.Event | None = None,
    batch: int = BATCH,
    limit: int = LIMIT,
) -> Summary:
    """What the worker calls: :func:`run` in its own unit of work, again while it has more
    to do (up to ``MAX_RUNS`` times), then one log line with the counts."""
    total = Summary()
    for _ in range(MAX_RUNS):
        with unit_of_work(factory) as db:
            once = run(db, now, zone=zone, batch=batch, limit=limit)
        total.add(once)
        if not once.more or (stop is not None and stop.is_set()):
            break
    for reason in total.skipped:
        log.warning("escalation rule skipped: %s", reason)
    log.info("escalation and timers: %s", total.line())
    return total


@dataclass(frozen=True)
class RuleActivity:
    """How often a rule acted recently, for the rules page."""

    recent: int
    last: dt.datetime | None


def activity(db: Session, since: dt.datetime) -> dict[str, RuleActivity]:
    """Per rule key: how many times it acted since ``since``, and when it last acted."""
    found: dict[str, RuleActivity] = {}
    rows = db.execute(
        select(TaskEscalation.rule_key, func.count(), func.max(TaskEscalation.applied_at))
        .where(TaskEscalation.applied_at >= since)
        .group_by(TaskEscalation.rule_key)
    )
    for key, n, last in rows:
        found[key] = RuleActivity(recent=n, last=last)
    by_focus: dict[str, list[str]] = defaultdict(list)
    for rule in TIMERS:
        by_focus[rule.focus].append(rule.key)
    for focus, keys in by_focus.items():
        timer_rows = db.execute(
            select(Task.template_key, func.count(), func.max(Task.created_at))
            .where(
                Task.focus_type == focus,  # along ix_tasks_focus
                Task.template_key.in_(keys),
                Task.created_at >= since,
            )
            .group_by(Task.template_key)
        )
        for template, n, last in timer_rows:
            if template is not None:
                found[template] = RuleActivity(recent=n, last=last)
    return found
