"""Care-plan use cases: plans started blank or from a template, their problems, measurable
goals with measurements, activities linked to the records that carry them out, reviews and
the history of every change. Every read and change is audited with the patient.

Services take ``today`` (the clinic's calendar day) from the entry point, which knows the
clinic's time zone; they flush and never commit. Changes carry the version the caller read:
a stale one is a 409 and nothing is saved.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.careplans import library, targets
from carebridge.careplans.models import (
    CarePlan,
    CarePlanActivity,
    CarePlanProblem,
    Goal,
    GoalMeasurement,
)
from carebridge.careplans.schemas import (
    CLOSED_PLAN,
    ActivityCreate,
    ActivityRead,
    ActivityUpdate,
    CarePlanCreate,
    CarePlanDetail,
    CarePlanRead,
    CarePlanSummary,
    CarePlanUpdate,
    ChangeRead,
    GoalCreate,
    GoalRead,
    GoalUpdate,
    MeasurementCreate,
    MeasurementRead,
    MeasurementUpdate,
    ProblemCreate,
    ProblemRead,
    ProblemUpdate,
    TemplateActivity,
    TemplateGoal,
    TemplateProblem,
    TemplateRead,
)
from carebridge.db.history import RecordVersion
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.patients import terminology
from carebridge.patients.models import Patient
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task

Row = TypeVar("Row")
ACTIVITY_FOCUS = "CarePlanActivity"
TASK_DUE_TIME = dt.time(17, 0)  # a task for an activity due on a day is due by end of day
HISTORY_LIMIT = 300
ERROR = "entered-in-error"


# --- finding things ----------------------------------------------------------------------


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; work on the surviving "
            "chart's care plans. Nothing was saved."
        )
    return patient


def _get(db: Session, model: type[Row], item_id: uuid.UUID, noun: str) -> Row:
    found = db.get(model, item_id)
    if found is None:
        raise NotFound(f"No {noun} with id {item_id}")
    return found


def _plan(db: Session, plan_id: uuid.UUID) -> CarePlan:
    return _get(db, CarePlan, plan_id, "care plan")


def _open_plan(db: Session, plan_id: uuid.UUID) -> CarePlan:
    """A plan that takes new problems, goals, activities and measurements."""
    plan = _plan(db, plan_id)
    if plan.status in CLOSED_PLAN:
        raise Conflict(
            f"The care plan '{plan.title}' is {plan.status.replace('-', ' ')}; set it back to "
            "active to change it. Nothing was saved."
        )
    return plan


def _problem(db: Session, problem_id: uuid.UUID) -> CarePlanProblem:
    return _get(db, CarePlanProblem, problem_id, "care-plan problem")


def _goal(db: Session, goal_id: uuid.UUID) -> Goal:
    return _get(db, Goal, goal_id, "goal")


def _activity(db: Session, activity_id: uuid.UUID) -> CarePlanActivity:
    return _get(db, CarePlanActivity, activity_id, "care-plan activity")


def _measurement(db: Session, measurement_id: uuid.UUID) -> GoalMeasurement:
    return _get(db, GoalMeasurement, measurement_id, "goal measurement")


PARTS = {
    "plan": lambda db, i: _plan(db, i).id,
    "problem": lambda db, i: _problem(db, i).care_plan_id,
    "goal": lambda db, i: _goal(db, i).care_plan_id,
    "activity": lambda db, i: _activity(db, i).care_plan_id,
    "measurement": lambda db, i: _goal(db, _measurement(db, i).goal_id).care_plan_id,
}


def plan_of(db: Session, part: str, part_id: uuid.UUID) -> CarePlan:
    """The plan a problem, goal, activity or measurement belongs to (pages check that it is
    the patient's in their address)."""
    return _plan(db, PARTS[part](db, part_id))


def _check_version(kind: str, current: int, sent: int) -> None:
    check_version(f"This {kind}", current, sent)


def _audit(
    db: Session, actor: Actor, action: Action, entity: Any, plan: CarePlan, reason: str | None
) -> None:
    record(
        db,
        actor,
        action,
        entity_type=type(entity).__name__,
        entity_id=entity.id,
        patient_id=plan.patient_id,
        reason=reason[:200] if reason else None,
    )


def _changed(names: Iterable[str]) -> str | None:
    return ", ".join(sorted(names)) or None


# --- templates -----------------------------------------------------------------------------


def template_read(t: library.PlanTemplate) -> TemplateRead:
    return TemplateRead(
        key=t.key,
        title=t.title,
        summary=t.summary,
        source=t.source,
        review_every_days=t.review_every_days,
        lasts_days=t.lasts_days,
        problems=[
            TemplateProblem(code=p.code, description=p.description, plain_words=p.plain_words)
            for p in t.problems
        ],
        goals=[
            TemplateGoal(
                description=g.description,
                plain_words=g.plain_words,
                measure=g.measure,
                target=targets.parse(g.target).text,
                due_in_days=g.due_in_days,
            )
            for g in t.goals
        ],
        activities=[
            TemplateActivity(
                kind=a.kind,
                description=a.description,
                plain_words=a.plain_words,
                due_in_days=a.due_in_days,
            )
            for a in t.activities
        ],
    )


def templates() -> list[TemplateRead]:
    return [template_read(t) for t in library.TEMPLATES.values()]


def _template(key: str) -> library.PlanTemplate:
    found = library.template(key)
    if found is None:
        raise ValidationFailed(
            f"No care-plan template called '{key}'",
            fields={"template_key": "Choose one of " + ", ".join(library.TEMPLATES) + "."},
        )
    return found


# --- plans ---------------------------------------------------------------------------------


def list_plans(
    db: Session, actor: Actor, patient_id: uuid.UUID, include_errors: bool = False
) -> list[CarePlanSummary]:
    """The patient's plans, open ones first, newest first; with their problems and the
    number of goals met and activities still to do (four queries whatever the count)."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    query = select(CarePlan).where(CarePlan.patient_id == patient_id)
    if not include_errors:
        query = query.where(CarePlan.status != ERROR)
    plans = list(db.scalars(query.order_by(CarePlan.start_on.desc(), CarePlan.created_at.desc())))
    ids = [p.id for p in plans]
    problems: dict[uuid.UUID, list[str]] = defaultdict(list)
    goals: dict[uuid.UUID, list[str]] = defaultdict(list)
    open_activities: dict[uuid.UUID, int] = defaultdict(int)
    if ids:
        for plan_id, text in db.execute(
            select(CarePlanProblem.care_plan_id, CarePlanProblem.description)
            .where(CarePlanProblem.care_plan_id.in_(ids), CarePlanProblem.status == "active")
            .order_by(CarePlanProblem.position, CarePlanProblem.created_at)
        ):
            problems[plan_id].append(text)
        for plan_id, achieved in db.execute(
            select(Goal.care_plan_id, Goal.achievement_status).where(
                Goal.care_plan_id.in_(ids),
                Goal.lifecycle_status.not_in((ERROR, "cancelled")),
            )
        ):
            goals[plan_id].append(achieved)
        for (plan_id,) in db.execute(
            select(CarePlanActivity.care_plan_id).where(
                CarePlanActivity.care_plan_id.in_(ids),
                CarePlanActivity.status.in_(("not-started", "scheduled", "in-progress")),
            )
        ):
            open_activities[plan_id] += 1
    record(db, actor, Action.READ, entity_type="CarePlan", patient_id=patient_id)
    closed = {status: n for n, status in enumerate(CLOSED_PLAN, start=1)}
    plans.sort(key=lambda p: closed.get(p.status, 0))  # stable: keeps newest first inside
    return [
        CarePlanSummary.model_validate(
            {
                **CarePlanRead.model_validate(p).model_dump(),
                "problems": problems[p.id],
                "goals": len(goals[p.id]),
                "goals_achieved": sum(1 for a in goals[p.id] if a in ("achieved", "sustaining")),
                "activities_open": open_activities[p.id],
            }
        )
        for p in plans
    ]


def _check_period(start: dt.date, end: dt.date | None) -> None:
    if end is not None and end < start:
        raise ValidationFailed(
            f"The plan would end ({end.isoformat()}) before it starts ({start.isoformat()})",
            fields={"end_on": "Choose an end date on or after the start date."},
        )


def _after(day: dt.date | None, days: int | None) -> dt.date | None:
    return None if day is None or days is None else day + dt.timedelta(days=days)


def create_plan(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: CarePlanCreate, today: dt.date
) -> CarePlanDetail:
    """A new plan, blank or filled from a template: its problems (coded), goals (targets
    read, due dates counted from the start) and activities."""
    patient = _live_patient(db, patient_id)
    chosen = _template(data.template_key) if data.template_key else None
    if chosen is None and not data.title:
        raise ValidationFailed(
            "A blank care plan needs a title",
            fields={"title": "Give the plan a title, or start it from a template."},
        )
    start = data.start_on or today
    every = data.review_every_days or (chosen.review_every_days if chosen else None)
    end = data.end_on or (_after(start, chosen.lasts_days) if chosen else None)
    _check_period(start, end)
    plan = CarePlan(
        patient_id=patient.id,
        title=data.title or (chosen.title if chosen else ""),
        status=data.status,
        template_key=chosen.key if chosen else None,
        description=data.description or (chosen.summary if chosen else None),
        start_on=start,
        end_on=end,
        review_every_days=every,
        next_review_on=data.next_review_on or _after(start, every),
    )
    db.add(plan)
    db.flush()
    if chosen is not None:
        _fill_from_template(db, plan, chosen)
    _audit(db, actor, Action.CREATE, plan, plan, f"template {chosen.key}" if chosen else None)
    return _detail(db, plan)


def _fill_from_template(db: Session, plan: CarePlan, chosen: library.PlanTemplate) -> None:
    problems: dict[str, CarePlanProblem] = {}
    for n, p in enumerate(chosen.problems):
        # Template codes are checked against ICD-10-CM by the test suite, not here: looking
        # one up first loads the code tables (seconds), which a plan's start need not wait for.
        problems[p.key] = CarePlanProblem(
            care_plan_id=plan.id,
            description=p.description,
            code=p.code,
            plain_words=p.plain_words,
            position=n,
        )
    db.add_all(problems.values())
    db.flush()
    goals: dict[str, Goal] = {}
    for n, g in enumerate(chosen.goals):
        target = targets.parse(g.target)
        goals[g.key] = Goal(
            care_plan_id=plan.id,
            problem_id=problems[g.problem].id,
            description=g.description,
            plain_words=g.plain_words,
            measure=g.measure,
            unit=target.unit,
            comparator=target.comparator,
            target_low=target.low,
            target_high=target.high,
            due_on=_after(plan.start_on, g.due_in_days),
            position=n,
        )
    db.add_all(goals.values())
    db.flush()
    db.add_all(
        CarePlanActivity(
            care_plan_id=plan.id,
            goal_id=goals[a.goal].id if a.goal else None,
            kind=a.kind,
            description=a.description,
            plain_words=a.plain_words,
            due_on=_after(plan.start_on, a.due_in_days),
            position=n,
        )
        for n, a in enumerate(chosen.activities)
    )
    db.flush()


def read_plan(db: Session, actor: Actor, plan_id: uuid.UUID) -> CarePlanDetail:
    plan = _plan(db, plan_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type="CarePlan",
        entity_id=plan.id,
        patient_id=plan.patient_id,
    )
    return _detail(db, plan)


def _detail(db: Session, plan: CarePlan) -> CarePlanDetail:
    """The plan with its problems, goals (each with its measurements) and activities, in
    four queries."""
    problems = db.scalars(
        select(CarePlanProblem)
        .where(CarePlanProblem.care_plan_id == plan.id)
        .order_by(CarePlanProblem.position, CarePlanProblem.created_at)
    )
    goals = list(
        db.scalars(
            select(Goal)
            .where(Goal.care_plan_id == plan.id)
            .order_by(Goal.position, Goal.created_at)
        )
    )
    readings: dict[uuid.UUID, list[GoalMeasurement]] = defaultdict(list)
    if goals:
        for m in db.scalars(
            select(GoalMeasurement)
            .where(GoalMeasurement.goal_id.in_([g.id for g in goals]))
            .order_by(GoalMeasurement.measured_on, GoalMeasurement.created_at)
        ):
            readings[m.goal_id].append(m)
    activities = db.scalars(
        select(CarePlanActivity)
        .where(CarePlanActivity.care_plan_id == plan.id)
        .order_by(CarePlanActivity.position, CarePlanActivity.created_at)
    )
    return CarePlanDetail.model_validate(
        {
            **CarePlanRead.model_validate(plan).model_dump(),
            "problems": [ProblemRead.model_validate(p) for p in problems],
            "goals": [goal_read(g, readings[g.id]) for g in goals],
            "activities": [ActivityRead.model_validate(a) for a in activities],
        }
    )


def goal_read(goal: Goal, readings: Sequence[GoalMeasurement]) -> GoalRead:
    target = _target_of(goal)
    out = GoalRead.model_validate(goal)
    out.target = target.text if target else None
    out.target_words = target.words if target else None
    out.measurements = [_measurement_read(m, target) for m in readings]
    return out


def _measurement_read(m: GoalMeasurement, target: targets.Target | None) -> MeasurementRead:
    out = MeasurementRead.model_validate(m)
    if target is not None and m.status != ERROR:
        out.meets_target = target.meets(m.value)
    return out


def _target_of(goal: Goal) -> targets.Target | None:
    return targets.from_columns(goal.comparator, goal.target_low, goal.target_high, goal.unit)


def update_plan(
    db: Session, actor: Actor, plan_id: uuid.UUID, data: CarePlanUpdate, today: dt.date
) -> CarePlanRead:
    plan = _plan(db, plan_id)
    _check_version("care plan", plan.version, data.version)
    if plan.status == ERROR:
        raise Conflict("This care plan was entered in error and takes no more changes.")
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("title", "start_on", "status"):
        if required in sent and sent[required] is None:
            raise ValidationFailed(
                f"The {required.replace('_', ' ')} cannot be removed",
                fields={required: "Give a value."},
            )
    for name, value in sent.items():
        setattr(plan, name, value)
    _check_period(plan.start_on, plan.end_on)
    if "status" in sent:
        _status_changed(plan, today)
    if "review_every_days" in sent and "next_review_on" not in sent:
        plan.next_review_on = (
            None
            if plan.status in CLOSED_PLAN
            else _after(plan.last_reviewed_on or plan.start_on, plan.review_every_days)
        )
    db.flush()
    _audit(db, actor, Action.UPDATE, plan, plan, _changed(sent))
    return CarePlanRead.model_validate(plan)


def _status_changed(plan: CarePlan, today: dt.date) -> None:
    """A closed plan is no longer reviewed (the worker raises no review task for it) and
    ends today unless it says otherwise; a reopened one is due for review again."""
    if plan.status in CLOSED_PLAN:
        plan.next_review_on = None
        if plan.status != ERROR and plan.end_on is None:
            plan.end_on = max(today, plan.start_on)
    elif plan.next_review_on is None and plan.review_every_days:
        plan.next_review_on = today + dt.timedelta(days=plan.review_every_days)


def mark_reviewed(
    db: Session, actor: Actor, plan_id: uuid.UUID, version: int, today: dt.date
) -> CarePlanRead:
    """The care team reviewed the plan today: the next review falls one interval on."""
    plan = _plan(db, plan_id)
    _check_version("care plan", plan.version, version)
    if plan.status in CLOSED_PLAN:
        raise Conflict(
            f"A {plan.status.replace('-', ' ')} care plan is not reviewed; reopen it first."
        )
    plan.last_reviewed_on = today
    if plan.review_every_days:
        plan.next_review_on = today + dt.timedelta(days=plan.review_every_days)
    elif plan.next_review_on is not None and plan.next_review_on <= today:
        plan.next_review_on = None  # reviewed; no interval says when the next one is
    db.flush()
    _audit(db, actor, Action.UPDATE, plan, plan, "reviewed")
    return CarePlanRead.model_validate(plan)


# --- problems ------------------------------------------------------------------------------


def _coded(code: str | None, description: str | None) -> tuple[str | None, str]:
    if not code:
        if not description:
            raise ValidationFailed(
                "A problem needs an ICD-10-CM code or a description",
                fields={"code": "Enter an ICD-10-CM code, or describe the problem."},
            )
        return None, description
    coding = terminology.icd10(code)
    return coding.code, description or coding.display[:300]


def _next_position(db: Session, model: Any, plan_id: uuid.UUID) -> int:
    found = db.scalars(select(model.position).where(model.care_plan_id == plan_id)).all()
    return min(max(found, default=-1) + 1, 32767)


def add_problem(db: Session, actor: Actor, plan_id: uuid.UUID, data: ProblemCreate) -> ProblemRead:
    plan = _open_plan(db, plan_id)
    code, description = _coded(data.code, data.description)
    problem = CarePlanProblem(
        care_plan_id=plan.id,
        code=code,
        description=description,
        plain_words=data.plain_words,
        position=_next_position(db, CarePlanProblem, plan.id),
    )
    db.add(problem)
    db.flush()
    _audit(db, actor, Action.CREATE, problem, plan, code or description)
    return ProblemRead.model_validate(problem)


def update_problem(
    db: Session, actor: Actor, problem_id: uuid.UUID, data: ProblemUpdate
) -> ProblemRead:
    problem = _problem(db, problem_id)
    plan = _plan(db, problem.care_plan_id)
    _check_version("problem", problem.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    if sent.get("description", "") is None or sent.get("status", "") is None:
        raise ValidationFailed(
            "A problem keeps its description and status",
            fields={"description" if "description" in sent else "status": "Give a value."},
        )
    if "code" in sent:
        code, description = _coded(sent.pop("code"), sent.get("description"))
        problem.code = code
        if code is not None and "description" not in sent:
            sent["description"] = description
    for name, value in sent.items():
        setattr(problem, name, value)
    db.flush()
    _audit(db, actor, Action.UPDATE, problem, plan, _changed(data.model_fields_set - {"version"}))
    return ProblemRead.model_validate(problem)


# --- goals ---------------------------------------------------------------------------------


def _goal_target(typed: str | None, unit: str | None) -> tuple[targets.Target | None, str | None]:
    """The target typed and the goal's unit (the target's own unless one is given)."""
    target = targets.parse(typed) if typed else None
    stated = target.unit if target else None
    if unit and stated and unit != stated:
        raise ValidationFailed(
            f"The target is in {stated} but the unit says {unit}",
            fields={"unit": f"Use the target's unit ({stated}), or leave the unit blank."},
        )
    return target, unit or stated


def _check_problem(db: Session, plan: CarePlan, problem_id: uuid.UUID | None) -> None:
    if problem_id is None:
        return
    problem = db.get(CarePlanProblem, problem_id)
    if problem is None or problem.care_plan_id != plan.id:
        raise ValidationFailed(
            f"Problem {problem_id} is not on this care plan",
            fields={"problem_id": "Choose one of this plan's problems."},
        )


def _set_target(goal: Goal, target: targets.Target | None, unit: str | None) -> None:
    goal.comparator = target.comparator if target else None
    goal.target_low = target.low if target else None
    goal.target_high = target.high if target else None
    goal.unit = unit


def add_goal(db: Session, actor: Actor, plan_id: uuid.UUID, data: GoalCreate) -> GoalRead:
    plan = _open_plan(db, plan_id)
    _check_problem(db, plan, data.problem_id)
    target, unit = _goal_target(data.target, data.unit)
    goal = Goal(
        care_plan_id=plan.id,
        problem_id=data.problem_id,
        description=data.description,
        plain_words=data.plain_words,
        measure=data.measure,
        due_on=data.due_on,
        lifecycle_status=data.lifecycle_status,
        position=_next_position(db, Goal, plan.id),
    )
    _set_target(goal, target, unit)
    db.add(goal)
    db.flush()
    _audit(db, actor, Action.CREATE, goal, plan, target.text if target else None)
    return goal_read(goal, [])


def update_goal(
    db: Session, actor: Actor, goal_id: uuid.UUID, data: GoalUpdate, today: dt.date
) -> GoalRead:
    """Change a goal. Setting ``achievement_status`` is a person's judgment: measurements
    taken up to today leave it alone; a later one works the status out again."""
    goal = _goal(db, goal_id)
    plan = _plan(db, goal.care_plan_id)
    _check_version("goal", goal.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("description", "lifecycle_status", "achievement_status"):
        if required in sent and sent[required] is None:
            raise ValidationFailed(
                f"A goal keeps its {required.replace('_', ' ')}",
                fields={required: "Give a value."},
            )
    if "problem_id" in sent:
        _check_problem(db, plan, sent["problem_id"])
    if "target" in sent or "unit" in sent:
        typed = sent.pop("target") if "target" in sent else _current_target_text(goal)
        unit = sent.pop("unit") if "unit" in sent else None
        target, unit = _goal_target(typed, unit)
        _set_target(goal, target, unit)
    by_hand = sent.pop("achievement_status", None)
    for name, value in sent.items():
        setattr(goal, name, value)
    if by_hand is not None:
        goal.achievement_status = by_hand
        goal.achievement_set_on = today
    else:
        _work_out_achievement(db, goal)
    db.flush()
    _audit(db, actor, Action.UPDATE, goal, plan, _changed(data.model_fields_set - {"version"}))
    return goal_read(goal, _readings(db, goal.id))


def _current_target_text(goal: Goal) -> str | None:
    """The goal's target without its unit (a new unit may come with it)."""
    target = _target_of(goal)
    if target is None:
        return None
    return targets.Target(target.comparator, target.low, target.high).text


def _readings(db: Session, goal_id: uuid.UUID) -> list[GoalMeasurement]:
    return list(
        db.scalars(
            select(GoalMeasurement)
            .where(GoalMeasurement.goal_id == goal_id)
            .order_by(GoalMeasurement.measured_on, GoalMeasurement.created_at)
        )
    )


def _work_out_achievement(db: Session, goal: Goal, taken_on: dt.date | None = None) -> None:
    """Achievement from the measurements (see ``targets.achievement``), unless a person set
    it by hand on or after the day of the measurement that prompts this (``taken_on``)."""
    if goal.achievement_set_on is not None and (
        taken_on is None or taken_on <= goal.achievement_set_on
    ):
        return
    values = [m.value for m in _readings(db, goal.id) if m.status != ERROR]
    worked_out = targets.achievement(_target_of(goal), values)
    goal.achievement_status = worked_out or "in-progress"
    goal.achievement_set_on = None


def record_measurement(
    db: Session, actor: Actor, goal_id: uuid.UUID, data: MeasurementCreate, today: dt.date
) -> MeasurementRead:
    goal = _goal(db, goal_id)
    plan = _open_plan(db, goal.care_plan_id)
    if goal.lifecycle_status in (ERROR, "cancelled"):
        raise Conflict(
            f"The goal '{goal.description}' is {goal.lifecycle_status.replace('-', ' ')}; "
            "measurements are not recorded against it."
        )
    if data.measured_on > today:
        raise ValidationFailed(
            f"The measurement date {data.measured_on.isoformat()} is in the future",
            fields={"measured_on": "Enter the day it was measured: today or earlier."},
        )
    reading = GoalMeasurement(
        goal_id=goal.id, value=data.value, measured_on=data.measured_on, note=data.note
    )
    db.add(reading)
    db.flush()
    _work_out_achievement(db, goal, data.measured_on)
    db.flush()
    _audit(db, actor, Action.CREATE, reading, plan, f"{goal.measure or 'value'} {data.value}")
    return _measurement_read(reading, _target_of(goal))


def update_measurement(
    db: Session, actor: Actor, measurement_id: uuid.UUID, data: MeasurementUpdate
) -> MeasurementRead:
    """Correct a note, or mark a wrong reading entered in error (it stays in the history,
    leaves the chart, and the goal's achievement is worked out again)."""
    reading = _measurement(db, measurement_id)
    goal = _goal(db, reading.goal_id)
    plan = _plan(db, goal.care_plan_id)
    _check_version("measurement", reading.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    if sent.get("status", "") is None:
        raise ValidationFailed("A measurement keeps a status", fields={"status": "Give one."})
    for name, value in sent.items():
        setattr(reading, name, value)
    db.flush()
    if "status" in sent:
        _work_out_achievement(db, goal, reading.measured_on)
        db.flush()
    _audit(db, actor, Action.UPDATE, reading, plan, _changed(sent))
    return _measurement_read(reading, _target_of(goal))


def measurements(db: Session, actor: Actor, goal_id: uuid.UUID) -> list[MeasurementRead]:
    goal = _goal(db, goal_id)
    plan = _plan(db, goal.care_plan_id)
    record(
        db, actor, Action.READ, entity_type="Goal", entity_id=goal.id, patient_id=plan.patient_id
    )
    target = _target_of(goal)
    return [_measurement_read(m, target) for m in _readings(db, goal.id)]


# --- activities ----------------------------------------------------------------------------


def _check_link(
    db: Session, plan: CarePlan, link_type: str | None, link_id: uuid.UUID | None
) -> None:
    """An appointment or task linked must exist and be this patient's. Referral and
    education records come with later capabilities: those links are kept as given."""
    if link_type is None or link_id is None:
        if (link_type is None) != (link_id is None):
            raise ValidationFailed(
                "A link needs both link_type and link_id",
                fields={"link_id": "Give the linked record's type and id, or neither."},
            )
        return
    found: Appointment | Task | None
    if link_type == "appointment":
        found = db.get(Appointment, link_id)
    elif link_type == "task":
        found = db.get(Task, link_id)
    else:
        return
    if found is None:
        raise ValidationFailed(
            f"No {link_type} with id {link_id}",
            fields={"link_id": f"No {link_type} has this id; check it and try again."},
        )
    if found.patient_id != plan.patient_id:
        raise ValidationFailed(
            f"The {link_type} {link_id} belongs to another patient",
            fields={"link_id": f"Link one of this patient's {link_type}s."},
        )


def _check_goal(db: Session, plan: CarePlan, goal_id: uuid.UUID | None) -> None:
    if goal_id is None:
        return
    goal = db.get(Goal, goal_id)
    if goal is None or goal.care_plan_id != plan.id:
        raise ValidationFailed(
            f"Goal {goal_id} is not on this care plan",
            fields={"goal_id": "Choose one of this plan's goals."},
        )


def _task_owner(db: Session, actor: Actor, patient: Patient) -> uuid.UUID | None:
    """The patient's primary coordinator works the task (else whoever planned it)."""
    if patient.primary_coordinator_id is not None:
        user = db.get(User, patient.primary_coordinator_id)
        if user is not None and user.is_active:
            return user.id
    return actor.user_id


def add_activity(
    db: Session,
    actor: Actor,
    plan_id: uuid.UUID,
    data: ActivityCreate,
    zone: str = "UTC",
) -> ActivityRead:
    """A new activity; with ``raise_task`` a task activity also lands on the worklist as a
    care-plan task whose focus is the activity, and links to it."""
    plan = _open_plan(db, plan_id)
    if data.raise_task and data.kind != "task":
        raise ValidationFailed(
            f"Only a task activity can raise a task; this one is {data.kind}",
            fields={"raise_task": "Choose kind Task to raise a task, or link nothing."},
        )
    if data.raise_task and data.link_id is not None:
        raise ValidationFailed(
            "Raise a new task or link an existing record, not both",
            fields={"raise_task": "Raise a new task or link an existing record, not both."},
        )
    _check_goal(db, plan, data.goal_id)
    _check_link(db, plan, data.link_type, data.link_id)
    activity = CarePlanActivity(
        care_plan_id=plan.id,
        goal_id=data.goal_id,
        kind=data.kind,
        description=data.description,
        plain_words=data.plain_words,
        status=data.status,
        due_on=data.due_on,
        link_type=data.link_type,
        link_id=data.link_id,
        position=_next_position(db, CarePlanActivity, plan.id),
    )
    db.add(activity)
    db.flush()
    if data.raise_task:
        patient = _live_patient(db, plan.patient_id)
        due_at = None
        if data.due_on is not None:
            local = dt.datetime.combine(data.due_on, TASK_DUE_TIME, tzinfo=ZoneInfo(zone))
            due_at = local.astimezone(dt.UTC)
        task = tasks.create(
            db,
            actor,
            title=data.description[:200],
            patient_id=plan.patient_id,
            description=f"Care plan: {plan.title}",
            owner_id=_task_owner(db, actor, patient),
            due_at=due_at,
            focus_type=ACTIVITY_FOCUS,
            focus_id=activity.id,
            dedupe_key=f"care-plan-activity:{activity.id}",
            kind="care-plan",
        )
        activity.link_type, activity.link_id = "task", task.id
        if activity.status == "not-started":
            activity.status = "scheduled"
        db.flush()
    _audit(db, actor, Action.CREATE, activity, plan, data.description)
    return ActivityRead.model_validate(activity)


def update_activity(
    db: Session, actor: Actor, activity_id: uuid.UUID, data: ActivityUpdate
) -> ActivityRead:
    activity = _activity(db, activity_id)
    plan = _plan(db, activity.care_plan_id)
    _check_version("activity", activity.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("kind", "description", "status"):
        if required in sent and sent[required] is None:
            raise ValidationFailed(
                f"An activity keeps its {required}", fields={required: "Give a value."}
            )
    if "goal_id" in sent:
        _check_goal(db, plan, sent["goal_id"])
    if "link_type" in sent or "link_id" in sent:
        _check_link(
            db,
            plan,
            sent.get("link_type", activity.link_type),
            sent.get("link_id", activity.link_id),
        )
    for name, value in sent.items():
        setattr(activity, name, value)
    db.flush()
    _audit(db, actor, Action.UPDATE, activity, plan, _changed(sent))
    return ActivityRead.model_validate(activity)


@dataclass(frozen=True)
class Linked:
    """What an activity's link points at, as the plan page shows it."""

    label: str
    status: str | None
    href: str | None


def linked(
    db: Session, activities: Iterable[ActivityRead], zone: str = "UTC"
) -> dict[uuid.UUID, Linked]:
    """The appointments and tasks the activities link to (two queries at most)."""
    wanted: dict[str, list[uuid.UUID]] = defaultdict(list)
    for a in activities:
        if a.link_type and a.link_id:
            wanted[a.link_type].append(a.link_id)
    found: dict[uuid.UUID, Linked] = {}
    if wanted.get("appointment"):
        for appt in db.scalars(
            select(Appointment).where(Appointment.id.in_(wanted["appointment"]))
        ):
            local = appt.starts_at.astimezone(ZoneInfo(zone))
            found[appt.id] = Linked(
                label=f"Visit {local:%a %d %b %Y, %H:%M}",
                status=appt.status,
                href=f"/patients/{appt.patient_id}/appointments",
            )
    if wanted.get("task"):
        for task in db.scalars(select(Task).where(Task.id.in_(wanted["task"]))):
            found[task.id] = Linked(
                label=f"Task: {task.title}", status=task.status, href=f"/tasks/{task.id}"
            )
    return found


# --- history -------------------------------------------------------------------------------

# Bookkeeping columns that say nothing to a person reading the history.
HISTORY_NOISE = frozenset(
    {
        "id",
        "patient_id",
        "care_plan_id",
        "goal_id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "version",
        "position",
    }
)


def _same(before: Any, after: Any) -> bool:
    """Equal as stored values; "7" and "7.000" are one number (a snapshot taken before the
    database rounded it to its scale, and one after)."""
    if before == after:
        return True
    if isinstance(before, str) and isinstance(after, str):
        try:
            return Decimal(before) == Decimal(after)
        except ArithmeticError:
            return False
    return False


def _label(data: dict[str, Any]) -> str | None:
    if data.get("title") or data.get("description"):
        return str(data.get("title") or data.get("description"))
    if data.get("value") is not None:
        return f"{targets.number(Decimal(str(data['value'])))} on {data.get('measured_on')}"
    return None


def history(
    db: Session, actor: Actor, plan_id: uuid.UUID, limit: int = HISTORY_LIMIT
) -> list[ChangeRead]:
    """Every change to the plan and its problems, goals, measurements and activities,
    newest first, with who made it and which fields changed."""
    plan = _plan(db, plan_id)
    parts: list[uuid.UUID] = [plan.id]
    for model in (CarePlanProblem, Goal, CarePlanActivity):
        parts += db.scalars(select(model.id).where(model.care_plan_id == plan.id))
    goal_ids = select(Goal.id).where(Goal.care_plan_id == plan.id)
    parts += db.scalars(select(GoalMeasurement.id).where(GoalMeasurement.goal_id.in_(goal_ids)))
    rows = db.execute(
        select(RecordVersion, User.username)
        .outerjoin(User, User.id == RecordVersion.changed_by)
        .where(RecordVersion.entity_id.in_(parts))
        .order_by(RecordVersion.changed_at, RecordVersion.id)
    ).all()
    before: dict[uuid.UUID, dict[str, Any]] = {}
    out: list[ChangeRead] = []
    for version, name in rows:
        earlier = before.get(version.entity_id, {})
        changes = {
            k: v
            for k, v in version.data.items()
            if k not in HISTORY_NOISE
            and (not _same(earlier.get(k), v) if earlier else v not in (None, "", []))
        }
        before[version.entity_id] = version.data
        out.append(
            ChangeRead(
                entity_type=version.entity_type,
                entity_id=version.entity_id,
                version=version.version,
                action=version.action,
                changed_at=version.changed_at,
                changed_by=name,
                label=_label(version.data),
                changes=changes,
            )
        )
    record(
        db,
        actor,
        Action.READ,
        entity_type="CarePlanHistory",
        entity_id=plan.id,
        patient_id=plan.patient_id,
    )
    out.reverse()
    return out[:limit]
