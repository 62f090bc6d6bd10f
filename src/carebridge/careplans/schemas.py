"""Pydantic models for care plans, their problems, goals, measurements and activities
(Create / Update / Read kept apart). Updates carry the record's ``version``; a stale one is
a 409. Goal targets arrive as typed ("< 7 %") and are read by ``careplans.targets``. Rules
between fields (a title or a template, a link's type with its id, an end after the start)
are the service's, so its error names the field at fault."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
)

from carebridge.careplans import codes

# FHIR has "entered-in-error" for goals and activities too: the way to take back a mistake.
GOAL_STATUSES = (*codes.GOAL_LIFECYCLE, "entered-in-error")
ACTIVITY_STATUSES = (*codes.ACTIVITY_STATUSES, "entered-in-error")
PROBLEM_STATUSES = ("active", "resolved", "entered-in-error")
MEASUREMENT_STATUSES = ("final", "entered-in-error")
# The record an activity points at. Appointments and tasks are checked; referral and
# education records arrive with later capabilities, so those links are kept as given.
LINK_TYPES = ("appointment", "task", "referral", "education")
CLOSED_PLAN = ("completed", "revoked", "entered-in-error")


def _known(values: Sequence[str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"unknown {what} '{value}'; use one of {', '.join(values)}")
        return value

    return AfterValidator(check)


def _listed(values: Sequence[str]) -> Any:
    """OpenAPI shows the values a text field takes."""
    return Field(json_schema_extra={"enum": list(values)})


PlanStatus = Annotated[
    str, _known(codes.PLAN_STATUSES, "care plan status"), _listed(codes.PLAN_STATUSES)
]
ProblemStatus = Annotated[
    str, _known(PROBLEM_STATUSES, "problem status"), _listed(PROBLEM_STATUSES)
]
GoalStatus = Annotated[str, _known(GOAL_STATUSES, "goal status"), _listed(GOAL_STATUSES)]
Achievement = Annotated[
    str,
    _known(codes.GOAL_ACHIEVEMENT, "achievement status"),
    _listed(codes.GOAL_ACHIEVEMENT),
]
ActivityKind = Annotated[
    str, _known(tuple(codes.ACTIVITY_KINDS), "activity kind"), _listed(tuple(codes.ACTIVITY_KINDS))
]
ActivityStatus = Annotated[
    str, _known(ACTIVITY_STATUSES, "activity status"), _listed(ACTIVITY_STATUSES)
]
LinkType = Annotated[str, _known(LINK_TYPES, "link type"), _listed(LINK_TYPES)]
MeasurementStatus = Annotated[
    str, _known(MEASUREMENT_STATUSES, "measurement status"), _listed(MEASUREMENT_STATUSES)
]

Text = Annotated[str, Field(max_length=2000)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(min_length=1, max_length=300)]
ReviewDays = Annotated[int, Field(ge=1, le=730, description="Days between reviews")]
# Stored as Numeric(12, 3); sent and returned as a JSON number.
Number = Annotated[
    Decimal,
    Field(max_digits=12, decimal_places=3, allow_inf_nan=False),
    PlainSerializer(float, return_type=float, when_used="json"),
]
OutNumber = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Versioned(_In):
    version: int = Field(description="The version you read; a stale one is refused with 409")


# --- care plans --------------------------------------------------------------------------


class CarePlanCreate(_In):
    template_key: str | None = Field(
        None, max_length=64, description="Start from this template (GET /care-plan-templates)"
    )
    title: Title | None = Field(None, description="Required without a template")
    description: Text | None = None
    status: PlanStatus = "active"
    start_on: dt.date | None = Field(None, description="Default: today in the clinic's zone")
    end_on: dt.date | None = None
    review_every_days: ReviewDays | None = None
    next_review_on: dt.date | None = Field(None, description="Default: start + review interval")


class CarePlanUpdate(_Versioned):
    title: Title | None = None
    description: Text | None = None
    status: PlanStatus | None = None
    start_on: dt.date | None = None
    end_on: dt.date | None = None
    review_every_days: ReviewDays | None = None
    next_review_on: dt.date | None = None


class ReviewIn(_Versioned):
    pass


class CarePlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    title: str
    status: str
    template_key: str | None
    description: str | None
    start_on: dt.date
    end_on: dt.date | None
    review_every_days: int | None
    next_review_on: dt.date | None
    last_reviewed_on: dt.date | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CarePlanSummary(CarePlanRead):
    problems: list[str] = Field(description="What the plan addresses (active problems)")
    goals: int
    goals_achieved: int
    activities_open: int


# --- problems ----------------------------------------------------------------------------


class ProblemCreate(_In):
    code: str | None = Field(None, max_length=16, description="ICD-10-CM, e.g. E11.9")
    description: Description | None = Field(None, description="Default: the code's name")
    plain_words: Text | None = Field(None, description="The problem said for the patient")


class ProblemUpdate(_Versioned):
    code: str | None = Field(None, max_length=16)
    description: Description | None = None
    plain_words: Text | None = None
    status: ProblemStatus | None = None


class ProblemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    care_plan_id: uuid.UUID
    description: str
    code: str | None
    plain_words: str | None
    status: str
    position: int
    version: int


# --- goals and measurements --------------------------------------------------------------


class GoalCreate(_In):
    description: Description
    plain_words: Text | None = None
    problem_id: uuid.UUID | None = None
    measure: str | None = Field(None, max_length=80, description="What is measured: HbA1c")
    target: str | None = Field(
        None,
        max_length=80,
        description="As typed: '< 7 %', '<= 130', '>= 150', '= 0', 'between 70 and 180'",
    )
    unit: str | None = Field(None, max_length=24, description="Default: the target's unit")
    due_on: dt.date | None = None
    lifecycle_status: GoalStatus = "active"


class GoalUpdate(_Versioned):
    description: Description | None = None
    plain_words: Text | None = None
    problem_id: uuid.UUID | None = None
    measure: str | None = Field(None, max_length=80)
    target: str | None = Field(None, max_length=80, description="Send null to remove")
    unit: str | None = Field(None, max_length=24)
    due_on: dt.date | None = None
    lifecycle_status: GoalStatus | None = None
    achievement_status: Achievement | None = Field(
        None, description="Set by hand: measurements taken up to today no longer change it"
    )


class MeasurementCreate(_In):
    value: Number = Field(description="A number, in the goal's unit")
    measured_on: dt.date
    note: Text | None = None


class MeasurementUpdate(_Versioned):
    status: MeasurementStatus | None = None
    note: Text | None = None


class MeasurementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    goal_id: uuid.UUID
    value: OutNumber
    measured_on: dt.date
    note: str | None
    status: str
    meets_target: bool | None = None
    version: int
    created_at: dt.datetime


class GoalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    care_plan_id: uuid.UUID
    problem_id: uuid.UUID | None
    description: str
    plain_words: str | None
    measure: str | None
    unit: str | None
    comparator: str | None
    target_low: OutNumber | None
    target_high: OutNumber | None
    target: str | None = Field(None, description="The target written out: '< 7 %'")
    target_words: str | None = Field(None, description="The target in plain words")
    due_on: dt.date | None
    lifecycle_status: str
    achievement_status: str
    achievement_set_on: dt.date | None
    position: int
    version: int
    measurements: list[MeasurementRead] = Field(
        default_factory=list, description="Oldest first; entered-in-error ones included"
    )


# --- activities --------------------------------------------------------------------------


class ActivityCreate(_In):
    kind: ActivityKind
    description: Description
    plain_words: Text | None = None
    goal_id: uuid.UUID | None = None
    status: ActivityStatus = "not-started"
    due_on: dt.date | None = None
    link_type: LinkType | None = None
    link_id: uuid.UUID | None = None
    raise_task: bool = Field(
        False, description="For a task activity: raise a task on the worklist and link it"
    )


class ActivityUpdate(_Versioned):
    kind: ActivityKind | None = None
    description: Description | None = None
    plain_words: Text | None = None
    goal_id: uuid.UUID | None = None
    status: ActivityStatus | None = None
    due_on: dt.date | None = None
    link_type: LinkType | None = None
    link_id: uuid.UUID | None = None


class ActivityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    care_plan_id: uuid.UUID
    goal_id: uuid.UUID | None
    kind: str
    description: str
    plain_words: str | None
    status: str
    due_on: dt.date | None
    link_type: str | None
    link_id: uuid.UUID | None
    position: int
    version: int


class CarePlanDetail(CarePlanRead):
    problems: list[ProblemRead]
    goals: list[GoalRead]
    activities: list[ActivityRead]


# --- templates and history ---------------------------------------------------------------


class TemplateProblem(BaseModel):
    code: str
    description: str
    plain_words: str


class TemplateGoal(BaseModel):
    description: str
    plain_words: str
    measure: str
    target: str
    due_in_days: int


class TemplateActivity(BaseModel):
    kind: str
    description: str
    plain_words: str
    due_in_days: int | None


class TemplateRead(BaseModel):
    key: str
    title: str
    summary: str
    source: str = Field(description="The published guidance it is written from")
    review_every_days: int
    lasts_days: int | None
    problems: list[TemplateProblem]
    goals: list[TemplateGoal]
    activities: list[TemplateActivity]


class ChangeRead(BaseModel):
    entity_type: str
    entity_id: uuid.UUID
    version: int
    action: str
    changed_at: dt.datetime
    changed_by: str | None = Field(description="Username; null for the system")
    label: str | None = Field(description="Which record: its title, description or value")
    changes: dict[str, Any]
