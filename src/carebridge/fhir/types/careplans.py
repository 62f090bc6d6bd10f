"""CarePlan, Goal and CareTeam, from care plans and care teams."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.careplans.models import (
    CarePlan,
    CarePlanActivity,
    CarePlanProblem,
    CareTeamMember,
    Goal,
)
from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.careplans import care_team_to_fhir, careplan_to_fhir, goal_to_fhir
from carebridge.fhir.mapping import US_CORE, Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.patients.models import Patient
from carebridge.scheduling.models import Practitioner
from carebridge.security.models import User
from carebridge.security.roles import Permission

_PATIENT = SearchParam("patient", "reference", ("subject",), ("Patient",))
_SUBJECT = SearchParam("subject", "reference", ("subject",), ("Patient",))

CAREPLAN = ResourceDef(
    "CarePlan",
    Permission.CAREPLAN_READ,
    write=Permission.CAREPLAN_WRITE,
    profile=US_CORE + "us-core-careplan",
    params=params(
        _PATIENT,
        _SUBJECT,
        SearchParam("status", "token", ("status",)),
        SearchParam("intent", "token", ("intent",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("date", "date", ("period",)),
        SearchParam("goal", "reference", ("goal",), ("Goal",)),
    ),
    summary=(
        "identifier",
        "instantiatesCanonical",
        "instantiatesUri",
        "basedOn",
        "replaces",
        "partOf",
        "status",
        "intent",
        "category",
        "title",
        "description",
        "subject",
        "encounter",
        "period",
        "created",
        "author",
        "addresses",
    ),
)

GOAL = ResourceDef(
    "Goal",
    Permission.CAREPLAN_READ,
    write=Permission.CAREPLAN_WRITE,
    profile=US_CORE + "us-core-goal",
    params=params(
        _PATIENT,
        _SUBJECT,
        SearchParam("lifecycle-status", "token", ("lifecycleStatus",)),
        SearchParam("achievement-status", "token", ("achievementStatus",)),
        SearchParam("description", "token", ("description",)),
        SearchParam("target-date", "date", ("target.due[x]",)),
    ),
    summary=(
        "identifier",
        "lifecycleStatus",
        "achievementStatus",
        "category",
        "priority",
        "description",
        "subject",
        "startDate",
        "startCodeableConcept",
        "statusDate",
        "expressedBy",
    ),
)

CARE_TEAM = ResourceDef(
    "CareTeam",
    # Who looks after a patient says something clinical: the care-team API's own permission.
    Permission.HISTORY_READ,
    profile=US_CORE + "us-core-careteam",
    params=params(
        _PATIENT,
        _SUBJECT,
        SearchParam("status", "token", ("status",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("role", "token", ("participant.role",)),
        SearchParam(
            "participant",
            "reference",
            ("participant.member",),
            ("Practitioner", "RelatedPerson", "Patient", "Organization", "PractitionerRole"),
        ),
        SearchParam("date", "date", ("period",)),
    ),
    summary=("identifier", "status", "category", "name", "subject", "encounter", "period"),
)


def staff_references(db: Session, user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    """How each user is referred to: the scheduling Practitioner linked to them, or their
    name alone (users are not a served type). Two queries for any number of users."""
    wanted = {u for u in user_ids if u is not None}
    if not wanted:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    names = {user_id: name for user_id, name in rows}  # noqa: C416 - rows are not pairs to mypy
    linked = db.execute(
        select(Practitioner.user_id, Practitioner.id)
        .where(Practitioner.user_id.in_(wanted))
        .order_by(Practitioner.active.desc(), Practitioner.id)
    )
    found: dict[uuid.UUID, Any] = {u: {"display": n} for u, n in names.items()}
    for user_id, practitioner_id in linked:
        if user_id is not None and "reference" not in found.get(user_id, {}):
            found[user_id] = {
                "reference": f"Practitioner/{practitioner_id}",
                "display": names.get(user_id),
            }
    return found


def _care_plans(db: Session, ids: list[uuid.UUID]) -> Rendered:
    plans = list(db.scalars(select(CarePlan).where(CarePlan.id.in_(ids))))
    if not plans:
        return
    found = [p.id for p in plans]
    problems: dict[uuid.UUID, list[CarePlanProblem]] = defaultdict(list)
    for problem in db.scalars(
        select(CarePlanProblem)
        .where(CarePlanProblem.care_plan_id.in_(found))
        .order_by(CarePlanProblem.position, CarePlanProblem.id)
    ):
        problems[problem.care_plan_id].append(problem)
    goals: dict[uuid.UUID, list[Goal]] = defaultdict(list)
    for goal in db.scalars(
        select(Goal).where(Goal.care_plan_id.in_(found)).order_by(Goal.position, Goal.id)
    ):
        goals[goal.care_plan_id].append(goal)
    activities: dict[uuid.UUID, list[CarePlanActivity]] = defaultdict(list)
    for activity in db.scalars(
        select(CarePlanActivity)
        .where(CarePlanActivity.care_plan_id.in_(found))
        .order_by(CarePlanActivity.position, CarePlanActivity.id)
    ):
        activities[activity.care_plan_id].append(activity)
    for plan in plans:
        resource = careplan_to_fhir(plan, problems[plan.id], goals[plan.id], activities[plan.id])
        base = Index(patient_id=plan.patient_id, status=plan.status)
        yield resource, extract(resource, CAREPLAN.params, base)


def _care_plan_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, CarePlan):
        yield obj.id
    elif isinstance(obj, CarePlanProblem | Goal | CarePlanActivity):
        yield obj.care_plan_id


def _goals(db: Session, ids: list[uuid.UUID]) -> Rendered:
    rows = db.execute(
        select(Goal, CarePlan.patient_id)
        .join(CarePlan, CarePlan.id == Goal.care_plan_id)
        .where(Goal.id.in_(ids))
    )
    for goal, patient_id in rows:
        resource = goal_to_fhir(goal, patient_id)
        base = Index(patient_id=patient_id, status=goal.lifecycle_status)
        yield resource, extract(resource, GOAL.params, base)


def _goal_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Goal):
        yield obj.id


def _care_teams(db: Session, ids: list[uuid.UUID]) -> Rendered:
    patients = list(db.scalars(select(Patient).where(Patient.id.in_(ids))))
    if not patients:
        return
    members: dict[uuid.UUID, list[CareTeamMember]] = defaultdict(list)
    rows = db.scalars(
        select(CareTeamMember)
        .where(CareTeamMember.patient_id.in_([p.id for p in patients]))
        .order_by(CareTeamMember.start_on, CareTeamMember.id)
    )
    for member in rows:
        members[member.patient_id].append(member)
    users = [p.primary_coordinator_id for p in patients]
    users += [m.user_id for team in members.values() for m in team]
    staff = staff_references(db, users)
    for patient in patients:
        resource = care_team_to_fhir(patient, members[patient.id], staff)
        if resource is not None:
            base = Index(patient_id=patient.id, status=resource["status"])
            yield resource, extract(resource, CARE_TEAM.params, base)


def _care_team_feeds(obj: object) -> Iterable[uuid.UUID]:
    # The team's id is its patient's: a coordinator change on the chart changes it too.
    if isinstance(obj, CareTeamMember):
        yield obj.patient_id
    elif isinstance(obj, Patient):
        yield obj.id


TYPES = (
    Projection(CAREPLAN, _care_plans, _care_plan_feeds, CarePlan.id),
    Projection(GOAL, _goals, _goal_feeds, Goal.id),
    Projection(CARE_TEAM, _care_teams, _care_team_feeds, Patient.id),
)
