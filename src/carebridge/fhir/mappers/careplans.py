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

Goal measurements are Observations of their own (``mappers.observations``). Left out: an
activity's plain words (no activity element holds words for the patient;
``progress`` is for notes on how it is going); a goal's problem (``Goal.addresses`` would
need the problem served on its own, and its words would go stale when the problem is
renamed); members' phone, email and note
(CareTeam.participant has no place for them); the plan's review dates and template.

Reading (FHIR create and update) gives the care plan screens' inputs: a CarePlan's title,
description, status and period; a Goal's description, note (its words for the patient),
lifecycle status, achievement status (set by hand), and one target, whose measure is kept in
words and whose quantity or range is read as the goal form reads a typed target ("< 7",
"between 70 and 180"). A Goal belongs to a plan, which R4 Goal cannot name: the patient's one
open plan, or the plan the ``urn:carebridge:care-plan`` extension refers to.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, cast

from carebridge.careplans import targets
from carebridge.careplans.codes import ACTIVITY_KINDS, TEAM_ROLES
from carebridge.careplans.models import (
    CarePlan,
    CarePlanActivity,
    CarePlanProblem,
    CareTeamMember,
    Goal,
)
from carebridge.careplans.schemas import CarePlanCreate, CarePlanUpdate, GoalCreate, GoalUpdate
from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.elements import (
    META_KEYS,
    Reading,
    coding_of,
    codings_in,
    full_date_at,
    items_at,
    object_at,
    prune,
    text_at,
)
from carebridge.fhir.mappers.history import concept_words
from carebridge.fhir.mappers.patients import (
    SNOMED,
)
from carebridge.fhir.mappers.tasks import instant
from carebridge.lib.errors import ValidationFailed
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
        "clinicalStatus": {"coding": [coding_of(CONDITION_CLINICAL, clinical)]},
        "category": [
            {"coding": [coding_of(CONDITION_CATEGORY, "health-concern", "Health Concern")]}
        ],
        "code": {
            "coding": [coding_of(ICD10CM, problem.code)] if problem.code else None,
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
                    coding_of(CAREPLAN_CATEGORY, "assess-plan", "Assessment and Plan of Treatment")
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
    return cast(dict[str, Any], prune(resource))


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
            "coding": [coding_of(GOAL_ACHIEVEMENT, goal.achievement_status)],
        },
        "description": {"text": goal.description},
        "subject": {"reference": f"Patient/{patient_id}"},
        "target": [_target(goal)],
        "note": [{"text": goal.plain_words}] if goal.plain_words else None,
    }
    return cast(dict[str, Any], prune(resource))


def _role(role: str) -> dict[str, Any]:
    words = TEAM_ROLES.get(role, role)
    snomed = TEAM_ROLE_SNOMED.get(role)
    coding = coding_of(SNOMED, *snomed) if snomed else coding_of(CAREBRIDGE_TEAM_ROLE, role, words)
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
                    coding_of(
                        LOINC, "LA28865-6", "Longitudinal care-coordination focused care team"
                    )
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
    return cast(dict[str, Any], prune(resource))


# --- reading: CarePlan and Goal -> the care plan screens' fields -----------------------------

# The plan a new Goal belongs to, when the patient has more than one open (R4 Goal has no
# element for it: CarePlan.goal points the other way).
CARE_PLAN_EXTENSION = "urn:carebridge:care-plan"
CAREPLAN_KEYS = frozenset(
    {"status", "intent", "category", "title", "description", "subject", "period", "created"}
)
# Made on the plan's screen: its problems, goals (a Goal is created on its own) and activities.
CAREPLAN_PARTS = frozenset({"contained", "addresses", "goal", "activity"})
GOAL_KEYS = frozenset(
    {"lifecycleStatus", "achievementStatus", "description", "subject", "target", "note"}
)
# The service's fields -> the elements they come from.
CAREPLAN_PATHS = {
    "title": "CarePlan.title",
    "description": "CarePlan.description",
    "status": "CarePlan.status",
    "start_on": "CarePlan.period.start",
    "end_on": "CarePlan.period.end",
}
GOAL_PATHS = {
    "description": "Goal.description",
    "plain_words": "Goal.note",
    "measure": "Goal.target.measure",
    "target": "Goal.target",
    "unit": "Goal.target",
    "due_on": "Goal.target.dueDate",
    "lifecycle_status": "Goal.lifecycleStatus",
    "achievement_status": "Goal.achievementStatus",
}


def _read_careplan(resource: Mapping[str, Any]) -> Reading:
    reading = Reading("CarePlan", resource)
    reading.paths.update(CAREPLAN_PATHS)
    for key in ("title", "description", "status"):
        reading.put(key, text_at(resource, key, "CarePlan"), f"CarePlan.{key}")
    period = object_at(resource, "period", "CarePlan") or {}
    for key, field in (("start", "start_on"), ("end", "end_on")):
        where = f"CarePlan.period.{key}"
        sent = text_at(period, key, "CarePlan.period")
        reading.put(field, full_date_at(sent, where), where)
        if sent is not None and reading.values[field] is None:
            reading.warn(where, f"{sent!r} is not a full date; not kept")
    intent = text_at(resource, "intent", "CarePlan")
    if intent not in (None, "plan"):
        reading.warn("CarePlan.intent", f"{intent!r} not kept (a care plan is a plan)")
    for where, category in items_at(resource, "category", "CarePlan"):
        if (CAREPLAN_CATEGORY, "assess-plan") not in codings_in(category, where):
            reading.warn(where, "not kept (a care plan is an assessment and plan of treatment)")
    reading.leftovers(resource, "CarePlan", set(META_KEYS | CAREPLAN_KEYS | CAREPLAN_PARTS))
    return reading


def careplan_from_fhir(resource: Mapping[str, Any]) -> tuple[CarePlanCreate, list[str]]:
    """A CarePlan as a new blank plan (title, description, status, period) and what of it
    is not kept: its problems, goals and activities are added on the plan's screen (or a
    Goal created on its own). The patient is the caller's to resolve."""
    reading = _read_careplan(resource)
    reading.require({"title": "CarePlan.title", "status": "CarePlan.status"})
    for key in sorted(CAREPLAN_PARTS & set(resource)):
        reading.warn(
            f"CarePlan.{key}",
            "not kept (add the plan's problems and activities on its screen; a Goal is "
            "created with POST Goal)",
        )
    reading.values = {k: v for k, v in reading.values.items() if v is not None}
    return reading.validate(CarePlanCreate, frozenset({"title", "status"})), reading.warnings


def careplan_update_from_fhir(resource: Mapping[str, Any], plan: CarePlan) -> CarePlanUpdate | None:
    """What a PUT of a CarePlan changes in the plan's own fields (None: nothing); an
    element left out is cleared, where the plan's form may clear it."""
    reading = _read_careplan(resource)
    reading.require({"title": "CarePlan.title", "status": "CarePlan.status"})
    changed = {k: v for k, v in reading.values.items() if v != getattr(plan, k)}
    if not changed:
        return None
    reading.values = {**changed, "version": plan.version}
    return reading.validate(CarePlanUpdate, frozenset({"title", "status", "version"}))


def _quantity_number(quantity: Mapping[str, Any], where: str) -> str:
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FhirError(422, "required", f"{where}.value: give a number", expression=[where])
    return f"{value:g}" if isinstance(value, float) else str(value)


def _read_target(reading: Reading, target: Mapping[str, Any], where: str) -> None:
    """The measure, the target as the goal's form takes it typed ("< 7", "between 70 and
    180") with its unit, and the due date."""
    measure = object_at(target, "measure", where)
    if measure is not None:
        reading.put("measure", concept_words(measure, f"{where}.measure"), f"{where}.measure")
        if measure.get("coding"):
            reading.warn(f"{where}.measure.coding", "not kept (the measure is kept in words)")
    quantity = object_at(target, "detailQuantity", where)
    span = object_at(target, "detailRange", where)
    if quantity is not None:
        path = f"{where}.detailQuantity"
        comparator = text_at(quantity, "comparator", path) or "="
        reading.put("target", f"{comparator} {_quantity_number(quantity, path)}", path)
        reading.put("unit", text_at(quantity, "unit", path), f"{path}.unit")
    elif span is not None:
        path = f"{where}.detailRange"
        low, high = object_at(span, "low", path) or {}, object_at(span, "high", path) or {}
        numbers = (_quantity_number(low, f"{path}.low"), _quantity_number(high, f"{path}.high"))
        reading.put("target", "between {} and {}".format(*numbers), path)
        unit = text_at(low, "unit", f"{path}.low") or text_at(high, "unit", f"{path}.high")
        reading.put("unit", unit, f"{path}.low.unit")
    due = text_at(target, "dueDate", where)
    reading.put("due_on", full_date_at(due, f"{where}.dueDate"), f"{where}.dueDate")
    reading.leftovers(target, where, {"measure", "detailQuantity", "detailRange", "dueDate"})


def _read_goal(resource: Mapping[str, Any]) -> tuple[Reading, str | None]:
    """A Goal as the goal form's fields, and the reference to its plan when one is named."""
    reading = Reading("Goal", resource)
    reading.paths.update(GOAL_PATHS)
    reading.put(
        "lifecycle_status", text_at(resource, "lifecycleStatus", "Goal"), "Goal.lifecycleStatus"
    )
    achieved = object_at(resource, "achievementStatus", "Goal")
    codes = [c for s, c in codings_in(achieved, "Goal.achievementStatus") if s == GOAL_ACHIEVEMENT]
    reading.put("achievement_status", codes[0] if codes else None, "Goal.achievementStatus")
    text = concept_words(object_at(resource, "description", "Goal"), "Goal.description")
    reading.put("description", text, "Goal.description")
    notes = [n for w, note in items_at(resource, "note", "Goal") if (n := text_at(note, "text", w))]
    reading.put("plain_words", "\n\n".join(notes) or None, "Goal.note")
    targets = items_at(resource, "target", "Goal")
    for field in ("measure", "target", "unit", "due_on"):
        reading.put(field, None, GOAL_PATHS[field])
    if targets:
        _read_target(reading, targets[0][1], targets[0][0])
    for where, _target in targets[1:]:
        reading.warn(where, "not kept (a goal has one target)")
    plan = None
    kept_extensions = []
    for where, extension in items_at(resource, "extension", "Goal"):
        if extension.get("url") != CARE_PLAN_EXTENSION:
            kept_extensions.append(extension)
            continue
        value = object_at(extension, "valueReference", where) or {}
        plan = text_at(value, "reference", f"{where}.valueReference")
    others = {**resource, "extension": kept_extensions}
    reading.leftovers(others, "Goal", set(META_KEYS | GOAL_KEYS))
    return reading, plan


GOAL_REQUIRED = frozenset({"description", "lifecycle_status"})


def goal_from_fhir(resource: Mapping[str, Any]) -> tuple[GoalCreate, str | None, list[str]]:
    """A Goal as the goal form's new goal; the reference to the plan it goes on when the
    ``urn:carebridge:care-plan`` extension names one (the caller resolves it, and the
    patient); and what of it is not kept. A new goal's achievement is worked out from its
    measurements."""
    reading, plan = _read_goal(resource)
    reading.require({"description": "Goal.description", "lifecycle_status": "Goal.lifecycleStatus"})
    if reading.values.pop("achievement_status", None) not in (None, "in-progress"):
        reading.warn(
            "Goal.achievementStatus",
            "not kept (a new goal is in progress; set it with an update, or it follows the "
            "measurements)",
        )
    reading.values = {k: v for k, v in reading.values.items() if v is not None}
    return reading.validate(GoalCreate, GOAL_REQUIRED), plan, reading.warnings


def _same_target(goal: Goal, typed: str | None, unit: str | None) -> bool:
    if typed is None:
        return goal.comparator is None
    try:
        sent = targets.parse(typed)
    except ValidationFailed as exc:
        raise FhirError(
            422, "value", f"Goal.target: {exc.detail}", expression=["Goal.target"]
        ) from exc
    held = targets.from_columns(goal.comparator, goal.target_low, goal.target_high, None)
    return held is not None and held == replace(sent, unit=None) and unit == goal.unit


def goal_update_from_fhir(
    resource: Mapping[str, Any], goal: Goal
) -> tuple[GoalUpdate | None, str | None]:
    """What a PUT of a Goal changes (None: nothing), and the plan it names, if any. An
    achievement status that differs from the goal's is a person's judgment, set by hand as
    on the goal's form."""
    reading, plan = _read_goal(resource)
    reading.require({"description": "Goal.description", "lifecycle_status": "Goal.lifecycleStatus"})
    values = reading.values
    changed = {
        k: values[k]
        for k in ("description", "plain_words", "measure", "due_on", "lifecycle_status")
        if values[k] != getattr(goal, k)
    }
    if values["achievement_status"] not in (None, goal.achievement_status):
        changed["achievement_status"] = values["achievement_status"]
    if not _same_target(goal, values["target"], values["unit"]):
        changed.update(target=values["target"], unit=values["unit"])
    if not changed:
        return None, plan
    reading.values = {**changed, "version": goal.version}
    return reading.validate(GoalUpdate, GOAL_REQUIRED | {"version"}), plan
