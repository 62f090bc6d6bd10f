"""CarePlan, Goal and CareTeam, rendered from care plans and care-team members (US Core).

Pure functions of ORM rows (and the few facts from other tables the caller looked up), with
every empty element dropped. Choices made where R4 and the records do not meet:

- A plan's problems are parts of the plan, not Condition records, and R4 ``addresses`` takes
  only ``Reference(Condition)``: each problem is a *contained* Condition (its ICD-10-CM code
  as a CodeableConcept, category health-concern) the plan points at with ``#<problem id>``.
  That keeps the code and its words with the plan, without an extension.
- An activity keeps its own status, goal and due date, which only ``activity.detail`` can
  carry; R4 (cpl-3) forbids ``reference`` next to ``detail``, so the appointment or task that
  carries an activity out is its ``outcomeReference``.
- CareTeam is one per patient, with the patient's id as its id (a CareTeam and a Patient
  never share a type, so the id is unique and stable): the primary coordinator and every
  membership, current and past, each with its role and period.
- A Carebridge user is referred to as the scheduling Practitioner linked to them where there
  is one, else by name only (users are not served as a type).

Left out: an activity's plain words (no activity element holds words for the patient;
``progress`` is for notes on how it is going); a goal's problem (``Goal.addresses`` would
need the problem served on its own, and its words would go stale when the problem is
renamed); goal measurements (not served as Observations); members' phone, email and note
(CareTeam.participant has no place for them); the plan's review dates and template.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from carebridge.careplans.codes import ACTIVITY_KINDS, TEAM_ROLES
from carebridge.careplans.models import (
    CarePlan,
    CarePlanActivity,
    CarePlanProblem,
    CareTeamMember,
    Goal,
)
from carebridge.fhir.mappers.patients import SNOMED, _coding, _prune
from carebridge.fhir.mappers.tasks import instant
from carebridge.patients.models import Patient

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
CAREPLAN_PROFILE = US_CORE + "us-core-careplan"
GOAL_PROFILE = US_CORE + "us-core-goal"
CARE_TEAM_PROFILE = US_CORE + "us-core-careteam"

CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
LOINC = "http://loinc.org"
NPI = "http://hl7.org/fhir/sid/us-npi"
# Team roles SNOMED CT has no occupation for (care coordinator, community health worker...)
# keep our code, with the words as text.
CAREBRIDGE_TEAM_ROLE = "urn:carebridge:care-team-role"

# SNOMED CT occupations (Care Team Member Function value set) for the roles that have one.
TEAM_ROLE_SNOMED: dict[str, tuple[str, str]] = {
    "pcp": ("446050000", "Primary care physician"),
    "specialist": ("69280009", "Specialized physician"),
    "nurse": ("106292003", "Professional nurse"),
    "pharmacist": ("46255001", "Pharmacist"),
    "social-worker": ("106328005", "Social worker"),
    "dietitian": ("159033005", "Dietitian"),
    "caregiver": ("133932002", "Caregiver"),
}
# R4 CarePlan.activity.detail.kind: the resource type the activity would be requested as.
ACTIVITY_RESOURCE = {"appointment": "Appointment", "referral": "ServiceRequest", "task": "Task"}
LINK_TYPES = {"appointment": "Appointment", "task": "Task"}
ACTIVE_PLAN = frozenset({"draft", "active", "on-hold"})


def _date(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _number(value: Decimal) -> int | float:
    """A JSON number: 7 stays 7, 6.5 is 6.5 (the store's JSON has no Decimal)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _narrative(*parts: str | None) -> dict[str, Any]:
    """US Core CarePlan requires a narrative; ours is made from the plan's own words."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in parts if p)
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{paragraphs}</div>',
    }


def _problem(problem: CarePlanProblem, patient_id: uuid.UUID) -> dict[str, Any]:
    clinical = "resolved" if problem.status == "resolved" else "active"
    return {
        "resourceType": "Condition",
        "id": str(problem.id),
        "clinicalStatus": {"coding": [_coding(CONDITION_CLINICAL, clinical)]},
        "category": [{"coding": [_coding(CONDITION_CATEGORY, "health-concern", "Health Concern")]}],
        "code": {
            "coding": [_coding(ICD10CM, problem.code)] if problem.code else None,
            "text": problem.description,
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "note": [{"text": problem.plain_words}] if problem.plain_words else None,
    }


def _activity(activity: CarePlanActivity) -> dict[str, Any]:
    link = LINK_TYPES.get(activity.link_type or "")
    return {
        "outcomeReference": [{"reference": f"{link}/{activity.link_id}"}]
        if link and activity.link_id
        else None,
        "detail": {
            "kind": ACTIVITY_RESOURCE.get(activity.kind),
            "code": {"text": ACTIVITY_KINDS.get(activity.kind, activity.kind)},
            "goal": [{"reference": f"Goal/{activity.goal_id}"}] if activity.goal_id else None,
            "status": activity.status,
            "scheduledPeriod": {"end": _date(activity.due_on)} if activity.due_on else None,
            "description": activity.description,
        },
    }


def careplan_to_fhir(
    plan: CarePlan,
    problems: Sequence[CarePlanProblem],
    goals: Sequence[Goal],
    activities: Sequence[CarePlanActivity],
) -> dict[str, Any]:
    """A plan with its problems (contained Conditions), goals and activities, each list in
    the plan's own order, as a US Core CarePlan."""
    resource = {
        "resourceType": "CarePlan",
        "id": str(plan.id),
        "meta": {"profile": [CAREPLAN_PROFILE]},
        "text": _narrative(plan.title, plan.description),
        "contained": [_problem(p, plan.patient_id) for p in problems],
        "status": plan.status,
        "intent": "plan",
        "category": [
            {
                "coding": [
                    _coding(CAREPLAN_CATEGORY, "assess-plan", "Assessment and Plan of Treatment")
                ]
            }
        ],
        "title": plan.title,
        "description": plan.description,
        "subject": {"reference": f"Patient/{plan.patient_id}"},
        "period": {"start": _date(plan.start_on), "end": _date(plan.end_on)},
        "created": instant(plan.created_at) if plan.created_at else None,
        "addresses": [{"reference": f"#{p.id}", "display": p.description} for p in problems],
        "goal": [{"reference": f"Goal/{g.id}"} for g in goals],
        "activity": [_activity(a) for a in activities],
    }
    return cast(dict[str, Any], _prune(resource))


def _quantity(goal: Goal, value: Decimal | None, comparator: str | None) -> dict[str, Any]:
    return {
        "value": _number(value) if value is not None else None,
        "comparator": comparator,
        "unit": goal.unit,
    }


def _target(goal: Goal) -> dict[str, Any]:
    """The measure and its target: a Range for "between", a Quantity otherwise ("=" is a
    Quantity without a comparator)."""
    detail: dict[str, Any] = {}
    if goal.comparator == "between":
        detail["detailRange"] = {
            "low": _quantity(goal, goal.target_low, None),
            "high": _quantity(goal, goal.target_high, None),
        }
    elif goal.comparator is not None and goal.target_low is not None:
        comparator = None if goal.comparator == "=" else goal.comparator
        detail["detailQuantity"] = _quantity(goal, goal.target_low, comparator)
    return {
        "measure": {"text": goal.measure} if goal.measure else None,
        **detail,
        "dueDate": _date(goal.due_on),
    }


def goal_to_fhir(goal: Goal, patient_id: uuid.UUID) -> dict[str, Any]:
    """A goal of a plan of ``patient_id``'s as a US Core Goal."""
    resource = {
        "resourceType": "Goal",
        "id": str(goal.id),
        "meta": {"profile": [GOAL_PROFILE]},
        "lifecycleStatus": goal.lifecycle_status,
        "achievementStatus": {
            "coding": [_coding(GOAL_ACHIEVEMENT, goal.achievement_status)],
        },
        "description": {"text": goal.description},
        "subject": {"reference": f"Patient/{patient_id}"},
        "target": [_target(goal)],
        "note": [{"text": goal.plain_words}] if goal.plain_words else None,
    }
    return cast(dict[str, Any], _prune(resource))


def _role(role: str) -> dict[str, Any]:
    words = TEAM_ROLES.get(role, role)
    snomed = TEAM_ROLE_SNOMED.get(role)
    coding = _coding(SNOMED, *snomed) if snomed else _coding(CAREBRIDGE_TEAM_ROLE, role, words)
    return {"coding": [coding], "text": words}


def _member(member: CareTeamMember, staff: Mapping[uuid.UUID, dict[str, Any]]) -> dict[str, Any]:
    user = member.user_id
    if member.member_kind == "staff" and user is not None and user in staff:
        return staff[user]
    if member.member_kind == "caregiver" and member.related_person_id is not None:
        return {"reference": f"RelatedPerson/{member.related_person_id}", "display": member.name}
    found: dict[str, Any] = {"display": member.name}
    if member.npi:
        found["identifier"] = {"system": NPI, "value": member.npi}
    return found


def _participant(
    member: CareTeamMember, staff: Mapping[uuid.UUID, dict[str, Any]]
) -> dict[str, Any]:
    # ctm-1: onBehalfOf only for a Practitioner (or a member known by name only).
    professional = member.member_kind in ("staff", "provider")
    return {
        "role": [_role(member.role)],
        "member": _member(member, staff),
        "onBehalfOf": {"display": member.organization}
        if professional and member.organization
        else None,
        "period": {"start": _date(member.start_on), "end": _date(member.end_on)},
    }


def care_team_to_fhir(
    patient: Patient,
    members: Iterable[CareTeamMember],
    staff: Mapping[uuid.UUID, dict[str, Any]],
) -> dict[str, Any] | None:
    """The patient's care team: the primary coordinator first, then each membership (current
    and past, each with its period). ``staff``: the reference for each user concerned. None
    when there is nobody on it (US Core requires a participant)."""
    participants: list[dict[str, Any]] = []
    coordinator = patient.primary_coordinator_id
    if coordinator is not None and coordinator in staff:
        participants.append({"role": [_role("coordinator")], "member": staff[coordinator]})
    listed = list(members)
    participants += [_participant(m, staff) for m in listed]
    if not participants:
        return None
    ongoing = coordinator is not None or any(m.end_on is None for m in listed)
    ends = [m.end_on for m in listed if m.end_on is not None]
    starts = [m.start_on for m in listed]
    resource = {
        "resourceType": "CareTeam",
        "id": str(patient.id),
        "meta": {"profile": [CARE_TEAM_PROFILE]},
        # Past memberships stay on the team with their end date; a team whose every
        # membership has ended is inactive.
        "status": "active" if ongoing and patient.status != "merged" else "inactive",
        "category": [
            {
                "coding": [
                    _coding(LOINC, "LA28865-6", "Longitudinal care-coordination focused care team")
                ]
            }
        ],
        "name": f"Care team of {patient.given_names} {patient.family_name}",
        "subject": {"reference": f"Patient/{patient.id}"},
        "period": {
            "start": _date(min(starts)) if starts else None,
            "end": None if ongoing or not ends else _date(max(ends)),
        },
        "participant": participants,
    }
    return cast(dict[str, Any], _prune(resource))
