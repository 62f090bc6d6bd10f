"""Care-plan screens on the patient's chart: the list of plans, a new plan (blank or from a
template), the plan page (problems, goals with their charts and measurements, activities,
review), the history of changes, and the printable summary for the patient.

Pages only: every use case is a call into ``careplans.service``, which audits reads and
changes. Each write runs in a savepoint, so a refused one leaves nothing behind and the page
comes back with the reason next to the form and what was typed kept.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.careplans import codes, library, service
from carebridge.careplans.schemas import (
    ACTIVITY_STATUSES,
    CLOSED_PLAN,
    GOAL_STATUSES,
    PROBLEM_STATUSES,
    ActivityCreate,
    ActivityUpdate,
    CarePlanCreate,
    CarePlanDetail,
    CarePlanUpdate,
    GoalCreate,
    GoalRead,
    GoalUpdate,
    MeasurementCreate,
    MeasurementUpdate,
    ProblemCreate,
    ProblemUpdate,
)
from carebridge.careplans.targets import number
from carebridge.education import service as education
from carebridge.lib.errors import AppError, NotFound
from carebridge.patients import views as chart_views
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.models import User
from carebridge.security.roles import Permission, allows
from carebridge.tasks.codes import OPEN_STATUSES
from carebridge.tasks.models import Task
from carebridge.web.charts import LineChart, line_chart
from carebridge.web.render import (
    clinic_today,
    format_day,
    format_when,
    format_words,
    go_back,
    render,
)

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.CAREPLAN_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.CAREPLAN_WRITE))]
Posted = chart_views.Posted

TAB = "care-plans"
LINK_CHOICES = 20
ERROR = "entered-in-error"


def _options(values: Sequence[str], blank: str | None = None) -> list[tuple[str, str]]:
    found = [("", blank)] if blank is not None else []
    return found + [(v, format_words(v)) for v in values]


OPTIONS: dict[str, list[tuple[str, str]]] = {
    "plan_status": _options(codes.PLAN_STATUSES),
    "new_plan_status": [("active", "Active"), ("draft", "Draft (not yet agreed)")],
    "problem_status": _options(PROBLEM_STATUSES),
    "goal_status": _options(GOAL_STATUSES),
    "achievement": _options(codes.GOAL_ACHIEVEMENT, "Leave as it is"),
    "activity_kind": [("", "Choose…"), *codes.ACTIVITY_KINDS.items()],
    "activity_status": _options(ACTIVITY_STATUSES),
}
LABELS = {
    "template_key": "template",
    "review_every_days": "review interval",
    "start_on": "start date",
    "end_on": "end date",
    "next_review_on": "next review date",
    "due_on": "due date",
    "measured_on": "date measured",
    "plain_words": "plain-language wording",
    "lifecycle_status": "goal status",
    "achievement_status": "achievement",
}
# Where a service's field error shows on the forms.
FIELD_OF = {"link_id": "link", "link_type": "link", "raise_task": "link"}


# --- small helpers ------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _typed(form: FormData) -> dict[str, str]:
    return {k: _text(form, k) for k in form if k != "csrf_token"}


def _filled(form: FormData, names: Sequence[str]) -> dict[str, str]:
    return {name: value for name in names if (value := _text(form, name))}


def _errors(exc: ValidationError, root: str) -> dict[str, str]:
    """Pydantic's errors as how to fix them; a number that is not one says so plainly."""
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else root
        kind = str(error.get("type", ""))
        if kind.startswith("decimal") or kind in ("finite_number", "float_parsing"):
            message = {
                "decimal_max_places": "Use at most three digits after the decimal point.",
                "decimal_max_digits": "That number is too large; check it.",
            }.get(kind, "Enter a number, e.g. 7.2 (digits and one decimal point only).")
        else:
            message = chart_views.plain(name, error)
            label = LABELS.get(name)
            if label:
                message = message.replace(name.replace("_", " "), label)
        found.setdefault(name, message)
    return found


def _app_errors(exc: AppError, default: str) -> dict[str, str]:
    errors = chart_views.app_errors(exc, default)
    return {FIELD_OF.get(k, k): v for k, v in errors.items()}


def _owned(db: Session, patient_id: uuid.UUID, care_plan_id: uuid.UUID) -> None:
    """The plan in the address is this patient's (else there is nothing at the address)."""
    plan = service.plan_of(db, "plan", care_plan_id)
    if plan.patient_id != patient_id:
        raise NotFound(f"No care plan {care_plan_id} on this patient's chart")


def _part_of(db: Session, care_plan_id: uuid.UUID, part: str, part_id: uuid.UUID) -> None:
    if service.plan_of(db, part, part_id).id != care_plan_id:
        raise NotFound(f"No {part} {part_id} on this care plan")


def _plan_url(patient_id: uuid.UUID, care_plan_id: uuid.UUID, anchor: str = "") -> str:
    return f"/patients/{patient_id}/care-plans/{care_plan_id}" + (f"#{anchor}" if anchor else "")


# --- the list ------------------------------------------------------------------------------


@router.get("/patients/{patient_id}/care-plans")
def plan_list(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, errors: int = 0
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/care-plans")
    if isinstance(chart, Response):
        return chart
    plans = service.list_plans(db, actor, patient_id, include_errors=bool(errors))
    return chart_views.chart_page(
        request,
        "careplans/list.html",
        chart,
        {
            "plans": plans,
            "show_errors": bool(errors),
            "closed": CLOSED_PLAN,
            "can_write": allows(actor.role, Permission.CAREPLAN_WRITE),
        },
        tab=TAB,
    )


# --- a new plan ----------------------------------------------------------------------------


def _new_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/care-plans/new")
    if isinstance(chart, Response):
        return chart
    return chart_views.chart_page(
        request,
        "careplans/new.html",
        chart,
        {
            "form": form,
            "errors": errors,
            "templates": list(library.TEMPLATES.values()),
            "plan_options": OPTIONS,
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/care-plans/new")
def new_plan_form(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, template: str = ""
) -> Response:
    form = {
        "template_key": template if template in library.TEMPLATES else "",
        "start_on": clinic_today(request).isoformat(),
        "status": "active",
    }
    return _new_page(request, db, actor, patient_id, form, {})


PLAN_FIELDS = (
    "template_key",
    "title",
    "description",
    "status",
    "start_on",
    "end_on",
    "review_every_days",
)


@router.post("/patients/{patient_id}/care-plans", dependencies=[Csrf])
def create_plan(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    try:
        data = CarePlanCreate.model_validate(_filled(form, PLAN_FIELDS))
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            plan = service.create_plan(db, actor, patient_id, data, clinic_today(request))
    except ValidationError as exc:
        errors = _errors(exc, "title")
    except AppError as exc:
        errors = _app_errors(exc, "template_key")
        return _new_page(request, db, actor, patient_id, typed, errors, exc.status)
    else:
        made = f" from the template “{plan.title}”" if plan.template_key else ""
        return go_back(
            request,
            _plan_url(patient_id, plan.id),
            f"Care plan started{made}. Adjust its goals and activities to this patient.",
        )
    return _new_page(request, db, actor, patient_id, typed, errors, 422)


# --- the plan page -------------------------------------------------------------------------


def _goal_chart(goal: GoalRead) -> LineChart | None:
    shown = [m for m in goal.measurements if m.status != ERROR]
    if not shown:
        return None
    return line_chart(
        chart_id=f"chart-{goal.id}",
        title=f"{goal.measure or goal.description} over time",
        unit=goal.unit,
        readings=[(m.measured_on, m.value, m.meets_target) for m in shown],
        comparator=goal.comparator,
        low=goal.target_low,
        high=goal.target_high,
        target_words=goal.target_words,
    )


def _link_options(
    db: Session, patient_id: uuid.UUID, zone: str, today: dt.date
) -> list[tuple[str, str]]:
    """What a new activity can point at: a new task, or one of the patient's recent and
    upcoming visits or open tasks."""
    options = [
        ("", "Nothing yet"),
        ("new-task", "Raise a new task on the worklist (task activities)"),
    ]
    since = dt.datetime.combine(today - dt.timedelta(days=90), dt.time(), tzinfo=ZoneInfo(zone))
    visits = db.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient_id, Appointment.starts_at >= since)
        .order_by(Appointment.starts_at)
        .limit(LINK_CHOICES)
    )
    options += [
        (
            f"appointment:{a.id}",
            f"Visit {format_when(a.starts_at, zone).removesuffix(f' ({zone})')} "
            f"({format_words(a.status).lower()})",
        )
        for a in visits
    ]
    open_tasks = db.scalars(
        select(Task)
        .where(Task.patient_id == patient_id, Task.status.in_(OPEN_STATUSES))
        .order_by(Task.due_at)
        .limit(LINK_CHOICES)
    )
    options += [
        (f"task:{t.id}", f"Task: {t.title} ({format_words(t.status).lower()})") for t in open_tasks
    ]
    return options


def _plan_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    *,
    section: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    _owned(db, patient_id, care_plan_id)
    chart = chart_views.open_chart(request, db, actor, patient_id, "/care-plans")
    if isinstance(chart, Response):
        return chart
    plan = service.read_plan(db, actor, care_plan_id)
    zone = settings_of(request).timezone
    today = clinic_today(request)
    can_write = allows(actor.role, Permission.CAREPLAN_WRITE)
    links = service.linked(db, plan.activities, zone)
    taught = education.for_plan(db, care_plan_id)
    for a in taught:
        links[a.id] = service.Linked(
            label=f"Education: {a.material_title}",
            status=a.teach_back or a.status,
            href=f"/patients/{patient_id}/education#assigned",
        )
    return chart_views.chart_page(
        request,
        "careplans/plan.html",
        chart,
        {
            "plan": plan,
            "is_open": plan.status not in CLOSED_PLAN,
            "charts": {g.id: _goal_chart(g) for g in plan.goals},
            "links": links,
            "education": taught,
            "problem_names": {p.id: p.description for p in plan.problems},
            "goal_names": {g.id: g.description for g in plan.goals},
            "problem_options": [("", "None")]
            + [(str(p.id), p.description) for p in plan.problems if p.status != ERROR],
            "goal_options": [("", "None")]
            + [(str(g.id), g.description) for g in plan.goals if g.lifecycle_status != ERROR],
            "link_options": _link_options(db, patient_id, zone, today) if can_write else [],
            "plan_options": OPTIONS,
            "number": number,
            "can_write": can_write,
            "section": section,
            "form": form or {},
            "errors": errors or {},
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/care-plans/{care_plan_id}")
def plan_page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, care_plan_id: uuid.UUID
) -> Response:
    return _plan_page(request, db, actor, patient_id, care_plan_id)


def _save(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    form: FormData,
    *,
    section: str,
    root: str,
    parse: Callable[[], BaseModel],
    act: Callable[[Any], object],
    done: str,
    anchor: str,
) -> Response:
    """Read the form, make the change in a savepoint, and go back to the plan saying
    ``done`` (or what ``act`` returns when it returns words); a refusal comes back on the
    plan page with the reason beside the form, and nothing is saved."""
    typed = _typed(form)
    status_code = 422
    try:
        data = parse()
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            said = act(data)
    except ValidationError as exc:
        errors = _errors(exc, root)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = _app_errors(exc, root)
        status_code = exc.status
    else:
        message = said if isinstance(said, str) else done
        return go_back(request, _plan_url(patient_id, care_plan_id, anchor), message)
    return _plan_page(
        request,
        db,
        actor,
        patient_id,
        care_plan_id,
        section=section,
        form=typed,
        errors=errors,
        status_code=status_code,
    )


EDIT_PLAN = ("title", "description", "status", "start_on", "end_on", "review_every_days")


@router.post("/patients/{patient_id}/care-plans/{care_plan_id}/edit", dependencies=[Csrf])
def edit_plan(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, care_plan_id)

    def parse() -> CarePlanUpdate:
        data: dict[str, Any] = {name: _text(form, name) or None for name in EDIT_PLAN}
        data["next_review_on"] = _text(form, "next_review_on") or None
        if data["next_review_on"] is None:
            del data["next_review_on"]  # blank: worked out from the interval
        data["version"] = _text(form, "version")
        return CarePlanUpdate.model_validate(data)

    return _save(
        request,
        db,
        actor,
        patient_id,
        care_plan_id,
        form,
        section="plan",
        root="end_on",
        parse=parse,
        act=lambda data: service.update_plan(db, actor, care_plan_id, data, clinic_today(request)),
        done="Care plan details saved.",
        anchor="plan",
    )


@router.post("/patients/{patient_id}/care-plans/{care_plan_id}/review", dependencies=[Csrf])
def review_plan(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, care_plan_id)
    url = _plan_url(patient_id, care_plan_id, "plan")
    version = _text(form, "version")
    if not version.isdigit():
        return go_back(request, url, "Reload the page and try again.", "error")
    try:
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            plan = service.mark_reviewed(
                db, actor, care_plan_id, int(version), clinic_today(request)
            )
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        return go_back(request, url, f"Not marked reviewed: {exc.detail}", "error")
    then = (
        f" The next review is due {format_day(plan.next_review_on)}." if plan.next_review_on else ""
    )
    return go_back(request, url, f"Marked reviewed today.{then}")


@router.post("/patients/{patient_id}/care-plans/{care_plan_id}/problems", dependencies=[Csrf])
def add_problem(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, care_plan_id)
    return _save(
        request,
        db,
        actor,
        patient_id,
        care_plan_id,
        form,
        section="problem",
        root="code",
        parse=lambda: ProblemCreate.model_validate(
            _filled(form, ("code", "description", "plain_words"))
        ),
        act=lambda data: service.add_problem(db, actor, care_plan_id, data),
        done="Problem added.",
        anchor="problems",
    )


def _status_change(
    request: Request,
    db: Session,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    form: FormData,
    *,
    anchor: str,
    change: Callable[[dict[str, str]], str],
) -> Response:
    """A one-field change from a row (a status): flash the outcome and go back."""
    url = _plan_url(patient_id, care_plan_id, anchor)
    try:
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            said = change(_typed(form))
    except ValidationError as exc:
        return go_back(
            request, url, "Not changed: " + " ".join(_errors(exc, "status").values()), "error"
        )
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        return go_back(request, url, f"Not changed: {exc.detail}", "error")
    return go_back(request, url, said)


GOAL_FIELDS = ("description", "plain_words", "problem_id", "measure", "target", "unit", "due_on")


@router.post("/patients/{patient_id}/care-plans/{care_plan_id}/goals", dependencies=[Csrf])
def add_goal(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, care_plan_id)
    return _save(
        request,
        db,
        actor,
        patient_id,
        care_plan_id,
        form,
        section="goal",
        root="description",
        parse=lambda: GoalCreate.model_validate(_filled(form, GOAL_FIELDS)),
        act=lambda data: service.add_goal(db, actor, care_plan_id, data),
        done="Goal added.",
        anchor="goals",
    )


@router.post(
    "/patients/{patient_id}/care-plans/{care_plan_id}/goals/{goal_id}/edit",
    dependencies=[Csrf],
)
def edit_goal(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    goal_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, care_plan_id)
    _part_of(db, care_plan_id, "goal", goal_id)

    def parse() -> GoalUpdate:
        # Blank fields clear what they hold; the required ones come back with an error.
        data: dict[str, Any] = {name: _text(form, name) or None for name in GOAL_FIELDS}
        data["lifecycle_status"] = _text(form, "lifecycle_status") or None
        achieved = _text(form, "achievement_status")
        if achieved:
            data["achievement_status"] = achieved
        data["version"] = _text(form, "version")
        return GoalUpdate.model_validate(data)

    return _save(
        request,
        db,
        actor,
        patient_id,
        care_plan_id,
        form,
        section=f"edit-{goal_id}",
        root="description",
        parse=parse,
        act=lambda data: service.update_goal(db, actor, goal_id, data, clinic_today(request)),
        done="Goal saved.",
        anchor=f"goal-{goal_id}",
    )


@router.post(
    "/patients/{patient_id}/care-plans/{care_plan_id}/goals/{goal_id}/measurements",
    dependencies=[Csrf],
)
def record_measurement(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    goal_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, care_plan_id)
    _part_of(db, care_plan_id, "goal", goal_id)

    def act(data: MeasurementCreate) -> str:
        reading = service.record_measurement(db, actor, goal_id, data, clinic_today(request))
        said = f"Recorded {number(reading.value)}."
        if reading.meets_target is not None:
            said += " It meets the target." if reading.meets_target else " Not on target yet."
        return said

    return _save(
        request,
        db,
        actor,
        patient_id,
        care_plan_id,
        form,
        section=f"measure-{goal_id}",
        root="value",
        parse=lambda: MeasurementCreate.model_validate(
            _filled(form, ("value", "measured_on", "note"))
        ),
        act=act,
        done="Measurement recorded.",
        anchor=f"goal-{goal_id}",
    )


@router.post(
    "/patients/{patient_id}/care-plans/{care_plan_id}/measurements/{measurement_id}/error",
    dependencies=[Csrf],
)
def measurement_in_error(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    measurement_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, care_plan_id)
    _part_of(db, care_plan_id, "measurement", measurement_id)

    def change(typed: dict[str, str]) -> str:
        data = MeasurementUpdate.model_validate(
            {"status": ERROR, "version": typed.get("version", "")}
        )
        reading = service.update_measurement(db, actor, measurement_id, data)
        return (
            f"The measurement of {format_day(reading.measured_on)} is marked entered in error; "
            "it stays in the history and is left off the chart."
        )

    return _status_change(
        request, db, patient_id, care_plan_id, form, anchor="goals", change=change
    )


def _activity_data(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = _filled(
        form, ("kind", "description", "plain_words", "goal_id", "due_on", "status")
    )
    link = _text(form, "link")
    if link == "new-task":
        data["raise_task"] = True
    elif link:
        link_type, _, link_id = link.partition(":")
        data.update(link_type=link_type, link_id=link_id or None)
    return data


@router.post("/patients/{patient_id}/care-plans/{care_plan_id}/activities", dependencies=[Csrf])
def add_activity(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    care_plan_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, care_plan_id)
    zone = settings_of(request).timezone
    return _save(
        request,
        db,
        actor,
        patient_id,
        care_plan_id,
        form,
        section="activity",
        root="link",
        parse=lambda: ActivityCreate.model_validate(_activity_data(form)),
        act=lambda data: service.add_activity(db, actor, care_plan_id, data, zone),
        done="Activity added.",
        anchor="activities",
    )


def _status_route(part: str, path: str, anchor: str, noun: str) -> None:
    """The route that sets a problem's or an activity's status from its row."""
    schema = ProblemUpdate if part == "problem" else ActivityUpdate

    def change_status(
        request: Request,
        db: Db,
        actor: Writer,
        patient_id: uuid.UUID,
        care_plan_id: uuid.UUID,
        item_id: uuid.UUID,
        form: Posted,
    ) -> Response:
        _owned(db, patient_id, care_plan_id)
        _part_of(db, care_plan_id, part, item_id)

        def change(typed: dict[str, str]) -> str:
            data: Any = schema.model_validate(
                {"status": typed.get("status", ""), "version": typed.get("version", "")}
            )
            if part == "problem":
                done: Any = service.update_problem(db, actor, item_id, data)
            else:
                done = service.update_activity(db, actor, item_id, data)
            return f"{noun}“{done.description}” is now {format_words(done.status).lower()}."

        return _status_change(
            request, db, patient_id, care_plan_id, form, anchor=anchor, change=change
        )

    change_status.__name__ = f"{part}_status"
    router.post(
        f"/patients/{{patient_id}}/care-plans/{{care_plan_id}}/{path}/{{item_id}}/status",
        dependencies=[Csrf],
        name=f"page_{part}_status",
    )(change_status)


_status_route("problem", "problems", "problems", "Problem ")
_status_route("activity", "activities", "activities", "")


# --- history -------------------------------------------------------------------------------

ENTITY_WORDS = {
    "CarePlan": "Plan",
    "CarePlanProblem": "Problem",
    "Goal": "Goal",
    "GoalMeasurement": "Measurement",
    "CarePlanActivity": "Activity",
}


def _shown(value: Any) -> str:
    """A stored value as a person reads it."""
    if value is None or value == "":
        return "—"
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return format_day(text)
    return text if len(text) <= 80 else text[:79] + "…"


@router.get("/patients/{patient_id}/care-plans/{care_plan_id}/history")
def plan_history(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, care_plan_id: uuid.UUID
) -> Response:
    _owned(db, patient_id, care_plan_id)
    chart = chart_views.open_chart(request, db, actor, patient_id, "/care-plans")
    if isinstance(chart, Response):
        return chart
    plan = service.read_plan(db, actor, care_plan_id)
    changes = service.history(db, actor, care_plan_id)
    names = {c.changed_by for c in changes if c.changed_by}
    who = select(User.username, User.display_name).where(User.username.in_(names))
    people = {row.username: row.display_name for row in db.execute(who)} if names else {}
    # A problem or goal a change points at, by its words rather than its id.
    named = {str(x.id): x.description for x in plan.problems}
    named.update({str(g.id): g.description for g in plan.goals})
    rows = [
        {
            "when": c.changed_at,
            "who": people.get(c.changed_by, c.changed_by) if c.changed_by else "System",
            "what": ENTITY_WORDS.get(c.entity_type, c.entity_type),
            "label": c.label,
            "action": "added" if c.action == "create" else "changed",
            "changes": [
                (LABELS.get(k, k.replace("_", " ")).capitalize(), _shown(named.get(v, v)))
                for k, v in sorted(c.changes.items())
            ],
        }
        for c in changes
    ]
    return chart_views.chart_page(
        request, "careplans/history.html", chart, {"plan": plan, "rows": rows}, tab=TAB
    )


# --- the printable summary -----------------------------------------------------------------

PROGRESS_WORDS = {
    "achieved": "You have reached this goal.",
    "sustaining": "You are keeping this goal up.",
    "improving": "You are getting closer.",
    "worsening": "It has moved away from the goal; let us talk about what would help.",
    "no-change": "It has not changed since the reading before.",
    "not-achieved": "The goal was not reached; we will look at it together.",
    "no-progress": "There has been no progress yet; we will look at it together.",
    "not-attainable": "We agreed this goal is not within reach now.",
}


def progress_words(goal: GoalRead) -> str:
    """How a goal is going, said for the patient."""
    shown = [m for m in goal.measurements if m.status != ERROR]
    said = PROGRESS_WORDS.get(goal.achievement_status, "")
    if not shown:
        return ("Not measured yet. " + said).strip() if said else "Not measured yet."
    latest = shown[-1]
    what = goal.measure or "reading"
    first = what.split()[0]
    if first[0].isupper() and first[1:].islower():  # "Weight gain" -> "weight gain"; not HbA1c
        what = what[0].lower() + what[1:]
    value = number(latest.value) + (f" {goal.unit}" if goal.unit else "")
    sentence = f"Your latest {what} was {value} on {format_day(latest.measured_on)}."
    if latest.meets_target is False and goal.target_words:
        sentence += f" The goal is {goal.target_words}."
    return f"{sentence} {said}".strip()


def _upcoming(plan: CarePlanDetail) -> list[Any]:
    done = ("completed", "cancelled", "stopped", ERROR)
    return sorted(
        (a for a in plan.activities if a.status not in done),
        key=lambda a: (a.due_on is None, a.due_on or dt.date.max, a.position),
    )


@router.get("/patients/{patient_id}/care-plans/{care_plan_id}/summary")
def plan_summary(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, care_plan_id: uuid.UUID
) -> Response:
    _owned(db, patient_id, care_plan_id)
    chart = chart_views.open_chart(request, db, actor, patient_id, "/care-plans")
    if isinstance(chart, Response):
        return chart
    plan = service.read_plan(db, actor, care_plan_id)
    return render(
        request,
        "careplans/summary.html",
        {
            "p": chart.patient,
            "plan": plan,
            "problems": [x for x in plan.problems if x.status == "active"],
            "goals": [g for g in plan.goals if g.lifecycle_status not in (ERROR, "cancelled")],
            "upcoming": _upcoming(plan),
            "progress": progress_words,
            "charts": {g.id: _goal_chart(g) for g in plan.goals},
            "printed": clinic_today(request),
        },
        active="patients",
    )
