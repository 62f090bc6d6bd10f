"""JSON API for care plans under /api/v1: plans per patient, their problems, goals,
measurements and activities, reviews, history and the templates. Changes carry the record's
``version`` (reads return it, and a plan's as a weak ETag); a stale one is a 409 and nothing
is saved. Dates such as "today" are the clinic's calendar day."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.careplans import service
from carebridge.careplans.schemas import (
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
    ReviewIn,
    TemplateRead,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import clinic_today, set_etag

router = APIRouter(prefix="/api/v1", tags=["care plans"])
Reader = Annotated[Actor, Depends(Require(Permission.CAREPLAN_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.CAREPLAN_WRITE))]


@router.get("/care-plan-templates")
def list_templates(actor: Reader) -> list[TemplateRead]:
    """The templates a plan can start from, with the guidance each is written from."""
    return service.templates()


@router.get("/patients/{patient_id}/care-plans")
def list_care_plans(
    patient_id: uuid.UUID,
    db: Db,
    actor: Reader,
    include_errors: Annotated[
        bool, Query(description="Include plans marked entered-in-error")
    ] = False,
) -> list[CarePlanSummary]:
    return service.list_plans(db, actor, patient_id, include_errors)


@router.post("/patients/{patient_id}/care-plans", status_code=201)
def create_care_plan(
    patient_id: uuid.UUID,
    body: CarePlanCreate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> CarePlanDetail:
    """Start a plan, blank or from ``template_key``. 422 names an unknown template."""
    plan = service.create_plan(db, actor, patient_id, body, clinic_today(request))
    response.headers["Location"] = f"/api/v1/care-plans/{plan.id}"
    set_etag(response, plan.version)
    return plan


@router.get("/care-plans/{care_plan_id}")
def read_care_plan(
    care_plan_id: uuid.UUID, response: Response, db: Db, actor: Reader
) -> CarePlanDetail:
    plan = service.read_plan(db, actor, care_plan_id)
    set_etag(response, plan.version)
    return plan


@router.patch("/care-plans/{care_plan_id}")
def update_care_plan(
    care_plan_id: uuid.UUID,
    body: CarePlanUpdate,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> CarePlanRead:
    """Change the plan's details or status. Closing it (completed, revoked,
    entered-in-error) clears the next review date."""
    plan = service.update_plan(db, actor, care_plan_id, body, clinic_today(request))
    set_etag(response, plan.version)
    return plan


@router.post("/care-plans/{care_plan_id}/review")
def review_care_plan(
    care_plan_id: uuid.UUID,
    body: ReviewIn,
    request: Request,
    response: Response,
    db: Db,
    actor: Writer,
) -> CarePlanRead:
    """Mark the plan reviewed today; the next review is one interval on."""
    plan = service.mark_reviewed(db, actor, care_plan_id, body.version, clinic_today(request))
    set_etag(response, plan.version)
    return plan


@router.get("/care-plans/{care_plan_id}/history")
def care_plan_history(care_plan_id: uuid.UUID, db: Db, actor: Reader) -> list[ChangeRead]:
    """Every change to the plan and its parts, newest first."""
    return service.history(db, actor, care_plan_id)


@router.post("/care-plans/{care_plan_id}/problems", status_code=201)
def add_problem(care_plan_id: uuid.UUID, body: ProblemCreate, db: Db, actor: Writer) -> ProblemRead:
    return service.add_problem(db, actor, care_plan_id, body)


@router.patch("/care-plan-problems/{problem_id}")
def update_problem(
    problem_id: uuid.UUID, body: ProblemUpdate, db: Db, actor: Writer
) -> ProblemRead:
    return service.update_problem(db, actor, problem_id, body)


@router.post("/care-plans/{care_plan_id}/goals", status_code=201)
def add_goal(care_plan_id: uuid.UUID, body: GoalCreate, db: Db, actor: Writer) -> GoalRead:
    """A goal; ``target`` as typed ('< 7 %'). 422 names a target that does not parse."""
    return service.add_goal(db, actor, care_plan_id, body)


@router.patch("/goals/{goal_id}")
def update_goal(
    goal_id: uuid.UUID, body: GoalUpdate, request: Request, db: Db, actor: Writer
) -> GoalRead:
    return service.update_goal(db, actor, goal_id, body, clinic_today(request))


@router.get("/goals/{goal_id}/measurements")
def list_measurements(goal_id: uuid.UUID, db: Db, actor: Reader) -> list[MeasurementRead]:
    return service.measurements(db, actor, goal_id)


@router.post("/goals/{goal_id}/measurements", status_code=201)
def record_measurement(
    goal_id: uuid.UUID, body: MeasurementCreate, request: Request, db: Db, actor: Writer
) -> MeasurementRead:
    """Record a value; the goal's achievement status follows (see the docs)."""
    return service.record_measurement(db, actor, goal_id, body, clinic_today(request))


@router.patch("/goal-measurements/{measurement_id}")
def update_measurement(
    measurement_id: uuid.UUID, body: MeasurementUpdate, db: Db, actor: Writer
) -> MeasurementRead:
    return service.update_measurement(db, actor, measurement_id, body)


@router.post("/care-plans/{care_plan_id}/activities", status_code=201)
def add_activity(
    care_plan_id: uuid.UUID, body: ActivityCreate, request: Request, db: Db, actor: Writer
) -> ActivityRead:
    """An activity; links to an appointment or task must be this patient's."""
    return service.add_activity(db, actor, care_plan_id, body, settings_of(request).timezone)


@router.patch("/care-plan-activities/{activity_id}")
def update_activity(
    activity_id: uuid.UUID, body: ActivityUpdate, db: Db, actor: Writer
) -> ActivityRead:
    return service.update_activity(db, actor, activity_id, body)
