"""Task screens: a task's page (status, taking and reassigning, priority and due time,
comments, logging a call, history), the new-task form (blank or from a template), and the
chart's "Tasks & outreach" tab. My day is in ``tasks.day``.

Pages only: every use case is a call into ``tasks.service`` or ``tasks.outreach``, which check
and audit. Forms post with a CSRF token; when something is wrong the page comes back with
the message beside the field and what was typed still in place; a refused change changes
nothing (each runs in a savepoint)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.errors import AppError, ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.patients.views import Chart, Posted, chart_page, open_chart
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require
from carebridge.security.roles import Permission, allows
from carebridge.tasks import focus, outreach, presets, service
from carebridge.tasks.codes import (
    KINDS,
    OUTREACH_CHANNELS,
    OUTREACH_OUTCOMES,
    PRIORITIES,
    PRIORITY_WORDS,
)
from carebridge.tasks.forms import (
    as_uuid,
    assign_options,
    assignment,
    back,
    chips,
    due_words,
    form_text,
    local_due,
    local_time,
    outreach_choices,
    pairs,
    schema_errors,
    service_errors,
    typed_in,
    zone_of,
)
from carebridge.tasks.schemas import OutreachCreate, TaskCreate, TaskDetail, TaskUpdate
from carebridge.web.render import render

router = APIRouter(include_in_schema=False)  # pages, not API
Worker = Annotated[Actor, Depends(Require(Permission.TASK_WORK))]


# --- a task's page -----------------------------------------------------------------------


@dataclass
class TaskForms:
    """What was typed into each form of the task page, and what was wrong with it."""

    which: str = ""
    form: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _chart_of(request: Request, db: Session, actor: Actor, patient_id: uuid.UUID) -> Chart | None:
    """The patient's banner for a page about one of their tasks (the read is audited)."""
    if not allows(actor.role, Permission.PATIENT_READ):
        return None
    chart = open_chart(request, db, actor, patient_id)
    return chart if isinstance(chart, Chart) else None


def _edit_values(detail: TaskDetail, zone: str) -> dict[str, Any]:
    task = detail.task
    local = task.due_at.astimezone(ZoneInfo(zone))
    assigned = f"user:{task.owner_id}" if task.owner_id else f"queue:{task.queue or ''}"
    return {
        "priority": task.priority,
        "due_date": local.date().isoformat(),
        "due_time": f"{local:%H:%M}",
        "business_status": task.business_status or "",
        "assign": assigned,
        "title": task.title,
    }


def _task_page(
    request: Request,
    db: Session,
    actor: Actor,
    task_id: uuid.UUID,
    forms: TaskForms | None = None,
    *,
    status_code: int = 200,
) -> Response:
    zone = zone_of(request)
    now = utcnow()
    detail = service.detail(db, actor, task_id)
    task = detail.task
    forms = forms or TaskForms()
    chart = _chart_of(request, db, actor, task.patient_id) if task.patient_id else None
    edit = _edit_values(detail, zone)
    if forms.which == "edit":
        edit.update(forms.form)
    log_form: dict[str, Any] = {"channel": "phone", "direction": "outbound", "outcome": ""}
    if forms.which == "outreach":
        log_form.update(forms.form)
    context: dict[str, Any] = {
        "detail": detail,
        "t": task,
        "chart": chart,
        "p": chart.patient if chart else None,
        "forms": forms,
        "edit": edit,
        "log_form": log_form,
        "history": service.history(db, actor, task_id, zone=zone),
        "log": outreach.for_task(db, actor, task_id),
        "due_local": local_time(task.due_at, zone),
        "due_said": due_words(task.due_at, now, task.is_open),
        "next_statuses": service.statuses_after(task.status),
        "queue_names": {q.code: q.name for q in service.active_queues(db)},
        "focus_noun": focus.noun(task.focus_type),
        **chips(),
        "priority_options": [(p, PRIORITY_WORDS[p]) for p in reversed(PRIORITIES)],
        "assign_options": assign_options(db, actor),
        **outreach_choices(),
        "today": now.astimezone(ZoneInfo(zone)).date().isoformat(),
        "mine": task.owner_id is not None and task.owner_id == actor.user_id,
    }
    return render(request, "tasks/task.html", context, status_code=status_code, active="home")


@router.get("/tasks/new")
def new_task_form(request: Request, db: Db, actor: Worker) -> Response:
    params = request.query_params
    form: dict[str, Any] = {k: form_text(params, k) for k in params}
    return _new_page(request, db, actor, _new_defaults(request, db, form), {})


def _new_defaults(request: Request, db: Session, form: dict[str, Any]) -> dict[str, Any]:
    """The new-task form's starting values: the template's, and the patient's MRN."""
    preset = presets.BY_KEY.get(form.get("preset", ""))
    if preset is not None:
        form.setdefault("title", preset.title)
        form.setdefault("kind", preset.kind)
        form.setdefault("priority", preset.priority)
        form.setdefault("description", preset.description)
        due = service.preset_due(db, preset, utcnow(), zone_of(request)).astimezone(
            ZoneInfo(zone_of(request))
        )
        form.setdefault("due_date", due.date().isoformat())
        form.setdefault("due_time", f"{due:%H:%M}")
    patient_id = as_uuid(form.get("patient_id", ""))
    if patient_id is not None and not form.get("patient"):
        patient = db.get(Patient, patient_id)
        if patient is not None:
            form["patient"] = patient.mrn
    form.setdefault("kind", "general")
    form.setdefault("priority", "routine")
    return form


def _new_page(
    request: Request,
    db: Session,
    actor: Actor,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    focus_type = form.get("focus_type") or None
    return render(
        request,
        "tasks/new.html",
        {
            "form": form,
            "errors": errors,
            "presets": presets.PRESETS,
            "preset": presets.BY_KEY.get(form.get("preset", "")),
            "preset_options": [("", "No template: start blank")]
            + [(p.key, p.title) for p in presets.PRESETS],
            "kind_options": pairs(KINDS),
            "priority_options": [(p, PRIORITY_WORDS[p]) for p in reversed(PRIORITIES)],
            "assign_options": assign_options(db, actor),
            "focus_noun": focus.noun(focus_type),
        },
        status_code=status_code,
        active="home",
    )


def _patient_by_typed(db: Session, typed: str) -> uuid.UUID | None:
    """The patient the new task is for: an 8-digit MRN (or an id); blank: no patient."""
    if not typed:
        return None
    ident = as_uuid(typed)
    if ident is not None:
        return ident
    mrn = typed.replace(" ", "").replace("-", "")
    found = db.scalar(select(Patient.id).where(Patient.mrn == mrn)) if mrn.isdigit() else None
    if found is None:
        raise ValidationFailed(
            f"No patient has MRN {typed}; check the number on the patient's banner.",
            fields={"patient": f"No patient has MRN {typed}."},
        )
    return found


@router.post("/tasks/new", dependencies=[Csrf])
def create_task(request: Request, db: Db, actor: Worker, form: Posted) -> Response:
    typed = typed_in(form)
    zone = zone_of(request)
    try:
        data: dict[str, Any] = {
            "preset": typed.get("preset") or None,
            "title": typed.get("title") or None,
            "kind": typed.get("kind") or None,
            "priority": typed.get("priority") or None,
            "description": typed.get("description") or None,
            "patient_id": _patient_by_typed(db, typed.get("patient", "")),
            "due_at": local_due(typed.get("due_date", ""), typed.get("due_time", ""), zone),
            "focus_type": typed.get("focus_type") or None,
            "focus_id": typed.get("focus_id") or None,
        }
        data.update(assignment(typed.get("assign", "")) if typed.get("assign") else {})
        body = TaskCreate.model_validate(data)
        with db.begin_nested():
            task = service.create_by_hand(db, actor, body, zone=zone)
    except ValidationError as exc:
        errors = schema_errors(exc)
        return _new_page(request, db, actor, typed, errors, status_code=422)
    except AppError as exc:
        return _new_page(request, db, actor, typed, service_errors(exc), status_code=exc.status)
    return back(request, f"/tasks/{task.id}", f"Task created: {task.title}.")


@router.get("/tasks/{task_id}")
def task_page(request: Request, db: Db, actor: Worker, task_id: uuid.UUID) -> Response:
    return _task_page(request, db, actor, task_id)


def _version(form: Mapping[str, Any]) -> int | None:
    value = form_text(form, "version")
    return int(value) if value.isdigit() else None


def _change(
    request: Request,
    db: Session,
    actor: Actor,
    task_id: uuid.UUID,
    which: str,
    typed: dict[str, Any],
    make: Callable[[], object],
    message: str,
) -> Response:
    """Run one change from a form of the task page; on refusal, the page with the error."""
    try:
        with db.begin_nested():
            make()
    except ValidationError as exc:
        forms = TaskForms(which, typed, schema_errors(exc))
        return _task_page(request, db, actor, task_id, forms, status_code=422)
    except AppError as exc:
        forms = TaskForms(which, typed, service_errors(exc))
        return _task_page(request, db, actor, task_id, forms, status_code=exc.status)
    return back(request, f"/tasks/{task_id}", message)


STATUS_MESSAGES = {
    "in-progress": "Task started.",
    "on-hold": "Task put on hold.",
    "completed": "Task completed.",
    "cancelled": "Task cancelled.",
    "ready": "Task resumed.",
}


@router.post("/tasks/{task_id}/status", dependencies=[Csrf])
def change_status(
    request: Request, db: Db, actor: Worker, task_id: uuid.UUID, form: Posted
) -> Response:
    typed = typed_in(form)
    status = typed.get("status", "")
    values: dict[str, Any] = {"status": status}
    if typed.get("reason"):
        values["reason"] = typed["reason"]
    if status == "completed" and typed.get("business_status"):
        values["business_status"] = typed["business_status"]

    def make() -> None:
        service.update(
            db, actor, task_id, TaskUpdate.model_validate(values), version=_version(form)
        )

    message = STATUS_MESSAGES.get(status, "Status changed.")
    return _change(request, db, actor, task_id, f"status-{status}", typed, make, message)


@router.post("/tasks/{task_id}/take", dependencies=[Csrf])
def take(request: Request, db: Db, actor: Worker, task_id: uuid.UUID, form: Posted) -> Response:
    def make() -> None:
        service.take(db, actor, task_id, _version(form))

    return _change(request, db, actor, task_id, "take", {}, make, "The task is yours now.")


@router.post("/tasks/{task_id}/edit", dependencies=[Csrf])
def edit(request: Request, db: Db, actor: Worker, task_id: uuid.UUID, form: Posted) -> Response:
    """Priority, due time, business status and who does it; only what changed is sent, so
    an overdue task keeps its due time unless it is moved."""
    typed = typed_in(form)
    zone = zone_of(request)

    def make() -> None:
        current = service.get(db, actor, task_id)
        values: dict[str, Any] = {}
        if typed.get("priority") and typed["priority"] != current.priority:
            values["priority"] = typed["priority"]
        due = local_due(typed.get("due_date", ""), typed.get("due_time", ""), zone)
        if due is None:
            raise ValidationFailed("A task needs a due date.", fields={"due_date": "Enter a date."})
        if due != current.due_at.replace(second=0, microsecond=0):
            values["due_at"] = due
        if typed.get("business_status", "") != (current.business_status or ""):
            values["business_status"] = typed.get("business_status") or None
        assigned = f"user:{current.owner_id}" if current.owner_id else f"queue:{current.queue}"
        if typed.get("assign") and typed["assign"] != assigned:
            values.update(assignment(typed["assign"]))
        service.update(
            db, actor, task_id, TaskUpdate.model_validate(values), version=_version(form)
        )

    return _change(request, db, actor, task_id, "edit", typed, make, "Task saved.")


@router.post("/tasks/{task_id}/comments", dependencies=[Csrf])
def comment(request: Request, db: Db, actor: Worker, task_id: uuid.UUID, form: Posted) -> Response:
    typed = typed_in(form)

    def make() -> None:
        service.add_comment(db, actor, task_id, typed.get("text", ""))

    return _change(request, db, actor, task_id, "comment", typed, make, "Comment added.")


def _outreach_body(typed: Mapping[str, Any], task_id: uuid.UUID | None) -> OutreachCreate:
    return OutreachCreate.model_validate(
        {
            "task_id": task_id,
            "channel": typed.get("channel") or "phone",
            "direction": typed.get("direction") or "outbound",
            "outcome": typed.get("outcome") or None,
            "contact_name": typed.get("contact_name") or None,
            "note": typed.get("note") or None,
            "next_attempt_on": typed.get("next_attempt_on") or None,
            "complete_task": bool(typed.get("complete_task")),
            "task_version": int(typed["version"]) if typed.get("version", "").isdigit() else None,
        }
    )


def _logged_message(typed: Mapping[str, Any]) -> str:
    what = OUTREACH_CHANNELS.get(typed.get("channel", ""), "Attempt")
    outcome = OUTREACH_OUTCOMES.get(typed.get("outcome", ""), "")
    said = f"{what} logged: {outcome.lower()}."
    if typed.get("complete_task"):
        said += " The task is completed."
    return said


@router.post("/tasks/{task_id}/outreach", dependencies=[Csrf])
def log_on_task(
    request: Request, db: Db, actor: Worker, task_id: uuid.UUID, form: Posted
) -> Response:
    typed = typed_in(form)

    def make() -> None:
        task = service.get(db, actor, task_id)
        if task.patient_id is None:
            raise ValidationFailed("This task is about no patient; there is nobody to log.")
        body = _outreach_body(typed, task_id)
        outreach.log(db, actor, task.patient_id, body, zone=zone_of(request))

    message = _logged_message(typed)
    return _change(request, db, actor, task_id, "outreach", typed, make, message)


# --- the chart's "Tasks & outreach" tab ------------------------------------------------------


def _chart_tasks(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/tasks")
    if isinstance(chart, Response):
        return chart
    zone = zone_of(request)
    now = utcnow()
    open_rows, closed_rows = service.for_patient(db, actor, patient_id)
    log = outreach.for_patient(db, actor, patient_id)
    titles = {r.task.id: r.task.title for r in open_rows + closed_rows}
    return chart_page(
        request,
        "tasks/chart_tasks.html",
        chart,
        {
            "open_rows": open_rows,
            "closed_rows": closed_rows,
            "log": log,
            "titles": titles,
            "focus_noun": focus.noun,
            "log_form": form or {"channel": "phone", "direction": "outbound"},
            "log_errors": errors or {},
            "local_time": lambda value: local_time(value, zone),
            "due_said": lambda value, is_open: due_words(value, now, is_open),
            **chips(),
            **outreach_choices(),
            "task_options": [("", "No task")] + [(str(r.task.id), r.task.title) for r in open_rows],
            "today_iso": now.astimezone(ZoneInfo(zone)).date().isoformat(),
        },
        tab="tasks",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/tasks")
def chart_tasks(request: Request, db: Db, actor: Worker, patient_id: uuid.UUID) -> Response:
    return _chart_tasks(request, db, actor, patient_id)


@router.post("/patients/{patient_id}/outreach", dependencies=[Csrf])
def chart_log(
    request: Request, db: Db, actor: Worker, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = typed_in(form)
    try:
        body = _outreach_body(typed, as_uuid(typed.get("task_id", "")))
        with db.begin_nested():
            outreach.log(db, actor, patient_id, body, zone=zone_of(request))
    except ValidationError as exc:
        errors = schema_errors(exc)
    except AppError as exc:
        errors = service_errors(exc)
    else:
        return back(request, f"/patients/{patient_id}/tasks#outreach", _logged_message(typed))
    return _chart_tasks(request, db, actor, patient_id, form=typed, errors=errors, status_code=422)
