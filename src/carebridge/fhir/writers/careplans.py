"""CarePlan and Goal through the care plans service, as its screens make them: a plan's
title, description, status and period (closing it ends its reviews, as on the screen); a
goal's description, words for the patient, measure, target, due date, lifecycle status and
an achievement status set by hand. A plan's problems and activities are added on its
screen."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.careplans import service as careplans
from carebridge.careplans.models import CarePlan, Goal
from carebridge.careplans.schemas import CLOSED_PLAN
from carebridge.fhir.errors import FhirError
from carebridge.fhir.indexing import reference_target
from carebridge.fhir.mappers.careplans import (
    CARE_PLAN_EXTENSION,
    CAREPLAN_PATHS,
    GOAL_PATHS,
    careplan_from_fhir,
    careplan_update_from_fhir,
    goal_from_fhir,
    goal_update_from_fhir,
)
from carebridge.fhir.writers.common import (
    Warnings,
    Writer,
    at_elements,
    clinic_today,
    not_kept,
    patient_of,
    rendering,
    same_patient,
)
from carebridge.security.audit import Actor
from carebridge.settings import Settings

PLAN_WHY = (
    "not changed (a plan's problems and activities are changed on its screen; a goal is "
    "created or changed as a Goal)"
)
GOAL_WHY = "not kept (a goal keeps its description, note, one target and its statuses)"


STAYS = "a care plan stays with its patient"


def create_plan(
    db: Session, actor: Actor, resource: Mapping[str, Any], settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    patient_id = patient_of(db, resource, "CarePlan.subject")
    data, warnings = careplan_from_fhir(resource)
    with at_elements("CarePlan", CAREPLAN_PATHS):
        plan = careplans.create_plan(db, actor, patient_id, data, clinic_today(settings))
    return plan.id, warnings


def update_plan(
    db: Session, actor: Actor, plan_id: uuid.UUID, resource: Mapping[str, Any], settings: Settings
) -> Warnings:
    plan = db.get(CarePlan, plan_id)
    if plan is None:
        raise FhirError(404, "not-found", f"No CarePlan with id {plan_id}")
    same_patient(db, resource, "CarePlan.subject", plan.patient_id, STAYS)
    change = careplan_update_from_fhir(resource, plan)
    if change is not None:
        with at_elements("CarePlan", CAREPLAN_PATHS):
            careplans.update_plan(db, actor, plan_id, change, clinic_today(settings))
    # The period is the plan's own (closing a plan ends it today when no end was sent).
    shown = rendering(db, "CarePlan", plan_id)
    return not_kept(resource, shown, PLAN_WHY, frozenset({"created", "period"}))


def _plan_for_goal(db: Session, patient_id: uuid.UUID, reference: str | None) -> uuid.UUID:
    """The plan named by the extension, else the patient's one open plan."""
    if reference is not None:
        target = reference_target(reference)
        plan = None
        if target is not None and target[0] == "CarePlan":
            try:
                plan = db.get(CarePlan, uuid.UUID(target[1]))
            except ValueError:
                plan = None
        if plan is None or plan.patient_id != patient_id:
            raise FhirError(
                422,
                "invalid",
                f"Goal.extension ({CARE_PLAN_EXTENSION}): {reference} is not a care plan of "
                f"Patient/{patient_id}",
                expression=["Goal.extension"],
            )
        return plan.id
    open_plans = db.scalars(
        select(CarePlan.id).where(
            CarePlan.patient_id == patient_id, CarePlan.status.not_in(CLOSED_PLAN)
        )
    ).all()
    if len(open_plans) == 1:
        return open_plans[0]
    if not open_plans:
        raise FhirError(
            422,
            "invalid",
            f"Goal.subject: Patient/{patient_id} has no open care plan; a goal is part of "
            "a plan, so create the CarePlan first",
            expression=["Goal.subject"],
        )
    raise FhirError(
        422,
        "required",
        f"Goal.subject: Patient/{patient_id} has {len(open_plans)} open care plans; name the "
        f"goal's plan with the extension {CARE_PLAN_EXTENSION} (valueReference CarePlan/<id>)",
        expression=["Goal.extension"],
    )


def create_goal(
    db: Session, actor: Actor, resource: Mapping[str, Any], _settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    patient_id = patient_of(db, resource, "Goal.subject")
    data, plan_reference, warnings = goal_from_fhir(resource)
    plan_id = _plan_for_goal(db, patient_id, plan_reference)
    with at_elements("Goal", GOAL_PATHS):
        return careplans.add_goal(db, actor, plan_id, data).id, warnings


def update_goal(
    db: Session, actor: Actor, goal_id: uuid.UUID, resource: Mapping[str, Any], settings: Settings
) -> Warnings:
    goal = db.get(Goal, goal_id)
    if goal is None:
        raise FhirError(404, "not-found", f"No Goal with id {goal_id}")
    plan = db.get(CarePlan, goal.care_plan_id)
    assert plan is not None  # a goal is always on a plan
    same_patient(db, resource, "Goal.subject", plan.patient_id, STAYS)
    change, plan_reference = goal_update_from_fhir(resource, goal)
    warnings: Warnings = []
    if plan_reference is not None and reference_target(plan_reference) != (
        "CarePlan",
        str(plan.id),
    ):
        warnings.append(f"Goal.extension ({CARE_PLAN_EXTENSION}): a goal stays on its plan")
    if change is not None:
        with at_elements("Goal", GOAL_PATHS):
            careplans.update_goal(db, actor, goal_id, change, clinic_today(settings))
    shown = rendering(db, "Goal", goal_id)
    return warnings + not_kept(resource, shown, GOAL_WHY, frozenset({"extension"}))


WRITERS = {
    "CarePlan": Writer(create_plan, update_plan),
    "Goal": Writer(create_goal, update_goal),
}
