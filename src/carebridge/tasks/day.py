"""My day: the worklist page (served at "/" by the shell), its live-refresh fragment, bulk
completion and reassignment of ticked tasks, and marking notifications read.

The page reads one page of ``tasks.worklist.page_for`` (a fixed number of queries however
many rows it shows) and adds only a fixed few of its own (queues, notifications)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.careplans.codes import BARRIERS
from carebridge.lib.errors import AppError, ValidationFailed
from carebridge.lib.paging import Page
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.patients.schemas import PatientSummary
from carebridge.patients.views import Posted
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require
from carebridge.security.roles import Permission, allows
from carebridge.tasks import focus, notifications, service, worklist
from carebridge.tasks.codes import CLOSED_STATUSES, KINDS, OPEN_STATUSES
from carebridge.tasks.forms import (
    as_uuid,
    assign_options,
    assignment,
    back,
    chips,
    due_words,
    form_text,
    local_path,
    local_time,
    pairs,
    schema_errors,
    typed_in,
    zone_of,
)
from carebridge.tasks.queues import member_codes
from carebridge.tasks.schemas import BulkIn
from carebridge.web.render import environment, redirect, render

router = APIRouter(include_in_schema=False)  # pages, not API
Worker = Annotated[Actor, Depends(Require(Permission.TASK_WORK))]
Viewer = Annotated[Actor, Depends(Require(Permission.WORKLIST_VIEW))]

PAGE_SIZE = 50
REFRESH_SECONDS = 30
# Our script refuses intervals under 5 s; tests ask for 5 so they do not wait 30.
REFRESH_RANGE = (5, 600)
BACKGROUND_HEADER = "x-carebridge-background"


def _int(value: str, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        return default
    return min(max(number, low), high)


# --- My day ------------------------------------------------------------------------------


@dataclass
class DayQuery:
    """The worklist's filters as typed in the URL (kept as text to put back in the form)."""

    scope: str = "all"
    kind: str = ""
    due: str = ""
    due_from: str = ""
    due_to: str = ""
    status: str = ""
    patient: str = ""
    page: int = 1
    size: int = PAGE_SIZE
    refresh: int = REFRESH_SECONDS
    select: bool = False

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> DayQuery:
        return cls(
            scope=form_text(params, "scope") or "all",
            kind=form_text(params, "kind"),
            due=form_text(params, "due"),
            due_from=form_text(params, "due_from"),
            due_to=form_text(params, "due_to"),
            status=form_text(params, "status"),
            patient=form_text(params, "patient")[:100],
            page=_int(form_text(params, "page"), 1, 1, 10_000),
            size=_int(form_text(params, "size"), PAGE_SIZE, 1, 200),
            refresh=_int(form_text(params, "refresh"), REFRESH_SECONDS, *REFRESH_RANGE),
            select=form_text(params, "select") == "1",
        )

    def url(self, **changes: Any) -> str:
        """This view's address with some filters changed (page back to 1 unless given)."""
        values = {
            "scope": self.scope,
            "kind": self.kind,
            "due": self.due,
            "due_from": self.due_from,
            "due_to": self.due_to,
            "status": self.status,
            "patient": self.patient,
            "size": self.size,
            "refresh": self.refresh,
            "select": "1" if self.select else "",
            "page": 1,
        }
        values.update(changes)
        defaults = {
            "scope": "all",
            "size": PAGE_SIZE,
            "refresh": REFRESH_SECONDS,
            "page": 1,
        }
        kept = {k: v for k, v in values.items() if v not in ("", None) and defaults.get(k) != v}
        return "/" + (f"?{urlencode(kept)}" if kept else "")

    @property
    def filtered(self) -> bool:
        return any((self.kind, self.due, self.status, self.patient)) or self.scope != "all"


@dataclass
class DayView:
    filters: worklist.Filters
    errors: dict[str, str] = field(default_factory=dict)
    candidates: list[PatientSummary] = field(default_factory=list)
    patient_label: str | None = None


def _patient_filter(db: Session, actor: Actor, typed: str, view: DayView) -> uuid.UUID | None:
    """The patient the worklist is narrowed to: an id, or a search (MRN, name) that finds
    exactly one patient; several matches are offered to choose from."""
    if not typed:
        return None
    ident = as_uuid(typed)
    if ident is not None:
        patient = db.get(Patient, ident)
        if patient is None:
            view.errors["patient"] = "No patient has this id."
            return None
        view.patient_label = f"{patient.family_name}, {patient.given_names} ({patient.mrn})"
        return ident
    if not allows(actor.role, Permission.PATIENT_READ):
        view.errors["patient"] = "Your role cannot search patients; leave this empty."
        return None
    found, more = patients.search(db, actor, typed, limit=8)
    if len(found) == 1:
        one = found[0]
        view.patient_label = f"{one.family_name}, {one.given_names} ({one.mrn})"
        return one.id
    if not found:
        view.errors["patient"] = (
            f"No patient matches “{typed}”. Try the MRN, or “family, given” names."
        )
    else:
        view.candidates = found
        view.errors["patient"] = (
            f"{'More than 8' if more else len(found)} patients match “{typed}”; choose one "
            "below or type more of the name."
        )
    return None


def _day_filters(
    db: Session, actor: Actor, q: DayQuery, now: dt.datetime, zone: str, works: list[str]
) -> DayView:
    """Filters from the query; a filter that cannot be applied is left out and said so."""
    view = DayView(filters=worklist.Filters())
    errors = view.errors
    queues: tuple[str, ...] | None
    if q.scope == "all":
        mine, queues = True, None
    elif q.scope == "mine":
        mine, queues = True, ()
    elif q.scope.startswith("queue:") and q.scope[6:] in works:
        mine, queues = False, (q.scope[6:],)
    else:
        errors["scope"] = "You do not work that queue; showing your tasks and your queues."
        mine, queues = True, None
    kinds = (q.kind,) if q.kind in KINDS else ()
    if q.kind and not kinds:
        errors["kind"] = "Unknown task type; showing every type."
    statuses: tuple[str, ...] = ()
    if q.status == "closed":
        statuses = CLOSED_STATUSES
    elif q.status in OPEN_STATUSES or q.status in CLOSED_STATUSES:
        statuses = (q.status,)
    elif q.status:
        errors["status"] = "Unknown status; showing open tasks."
    after = before = None
    try:
        first = dt.date.fromisoformat(q.due_from) if q.due_from else None
        last = dt.date.fromisoformat(q.due_to) if q.due_to else None
        after, before = worklist.due_window(q.due, now, zone, first, last)
    except ValueError:
        errors["due_from"] = "Enter the days as YYYY-MM-DD."
    except ValidationFailed as exc:
        errors.update(exc.fields or {"due": exc.detail})
    patient_id = _patient_filter(db, actor, q.patient, view)
    view.filters = worklist.Filters(
        mine=mine,
        queues=queues,
        kinds=kinds,
        statuses=statuses,
        due_after=after,
        due_before=before,
        patient_id=patient_id,
    )
    return view


@dataclass(frozen=True)
class WorkRow:
    """One worklist row as the page shows it."""

    row: worklist.Row
    due_local: str
    due_said: str
    focus_url: str | None
    focus_noun: str
    queue_name: str | None

    @property
    def task(self) -> Any:
        return self.row.task


def _rows(
    found: worklist.WorklistPage, now: dt.datetime, zone: str, queue_names: Mapping[str, str]
) -> list[WorkRow]:
    return [
        WorkRow(
            row=r,
            due_local=local_time(r.task.due_at, zone),
            due_said=due_words(r.task.due_at, now, r.task.is_open),
            focus_url=focus.url(r.task.focus_type, r.task.focus_id, r.task.patient_id),
            focus_noun=focus.noun(r.task.focus_type),
            queue_name=queue_names.get(r.task.queue or "", r.task.queue),
        )
        for r in found.rows
    ]


def my_day(
    request: Request,
    db: Session,
    actor: Actor,
    params: Mapping[str, Any] | None = None,
    *,
    bulk_errors: Mapping[str, str] | None = None,
    bulk_form: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The worklist page. A background request (our script's live refresh) gets only the
    part that refreshes: counts, rows and pager."""
    q = DayQuery.parse(params if params is not None else request.query_params)
    zone = zone_of(request)
    now = utcnow()
    queues = service.active_queues(db)
    queue_names = {qu.code: qu.name for qu in queues}
    works = [] if actor.user_id is None else member_codes(db, actor.user_id)
    view = _day_filters(db, actor, q, now, zone, works)
    found = worklist.page_for(
        db, actor, view.filters, Page(q.page, q.size), day_end=worklist.day_bounds(now, zone)[1]
    )
    context: dict[str, Any] = {
        "q": q,
        "view": view,
        "found": found,
        "rows": _rows(found, now, zone, queue_names),
        "queue_names": queue_names,
        **chips(),
        "barrier_words": BARRIERS,
        "refresh": 0 if q.select or bulk_errors else q.refresh,
        "selected": set((bulk_form or {}).get("task", [])),
        "bulk_form": bulk_form or {},
        "bulk_errors": bulk_errors or {},
        "can_work": allows(actor.role, Permission.TASK_WORK),
        "can_read_patients": allows(actor.role, Permission.PATIENT_READ),
    }
    if request.headers.get(BACKGROUND_HEADER) == "1" and params is None:
        # Only the part that refreshes, rendered bare: no cookies are set or spent (a flash
        # message waiting for the next page must survive a background refresh).
        fragment = environment().get_template("tasks/_worklist_live.html")
        return HTMLResponse(fragment.render(zone=zone, **context))
    context.update(
        {
            "today": f"{now.astimezone(ZoneInfo(zone)):%A %d %B %Y} ({zone})",
            "notes": [] if actor.user_id is None else notifications.unread(db, actor.user_id),
            "scope_options": [
                ("all", "Mine and my queues"),
                ("mine", "Only mine"),
                *[(f"queue:{c}", f"Queue: {queue_names.get(c, c)} (unclaimed)") for c in works],
            ],
            "kind_options": pairs(KINDS, "Any type"),
            "due_options": pairs(worklist.DUE_CHOICES, "Any time"),
            "status_options": [
                ("", "Open (any)"),
                *[(s, s.replace("-", " ").capitalize()) for s in OPEN_STATUSES],
                ("closed", "Closed (completed, cancelled…)"),
                ("completed", "Completed"),
                ("cancelled", "Cancelled"),
            ],
            "assign_options": assign_options(db, actor) if q.select or bulk_errors else [],
        }
    )
    return render(request, "web/home.html", context, status_code=status_code, active="home")


def _selected(form: FormData) -> tuple[list[dict[str, Any]], list[str]]:
    """The ticked rows ('<task id>:<version>') as bulk items, and the raw values."""
    raw = [v for v in form.getlist("task") if isinstance(v, str) and v]
    items = []
    for value in raw:
        ident, _, version = value.partition(":")
        items.append({"id": ident, "version": int(version) if version.isdigit() else None})
    return items, raw


@router.post("/worklist/bulk", dependencies=[Csrf])
def bulk(request: Request, db: Db, actor: Worker, form: Posted) -> Response:
    """Complete or reassign the ticked tasks, all or none."""
    return_to = local_path(form_text(form, "back"))
    params = dict(_query_of(return_to))
    params["select"] = "1"
    items, raw = _selected(form)
    typed: dict[str, Any] = {**typed_in(form), "task": raw}
    action = form_text(form, "action")
    errors: dict[str, str] = {}
    status = 422
    if not items:
        errors["form"] = "Tick the tasks to change first."
    data: dict[str, Any] = {"action": action, "tasks": items}
    try:
        if action == "reassign":
            data.update(assignment(form_text(form, "assign")))
        elif action == "complete" and form_text(form, "business_status"):
            data["business_status"] = form_text(form, "business_status")
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if not errors:
        try:
            body = BulkIn.model_validate(data)
            result = service.bulk(db, actor, body)
        except ValidationError as exc:
            errors = schema_errors(exc)
        except AppError as exc:
            errors, status = {"form": exc.detail}, exc.status
        else:
            done = "completed" if action == "complete" else "reassigned"
            count = len(result.tasks)
            params.pop("select")
            return back(
                request,
                "/?" + urlencode(params) if params else "/",
                f"{count} {'task' if count == 1 else 'tasks'} {done}.",
            )
    return my_day(
        request, db, actor, params, bulk_errors=errors, bulk_form=typed, status_code=status
    )


def _query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


@router.post("/notifications/read", dependencies=[Csrf])
def notifications_read(request: Request, db: Db, actor: Viewer, form: Posted) -> Response:
    """Mark one notification read (``id``), or all of them."""
    return_to = local_path(form_text(form, "back"))
    if actor.user_id is None:
        return redirect(return_to)
    one = as_uuid(form_text(form, "id"))
    marked = notifications.mark_read(db, actor.user_id, [one] if one else None)
    word = "notification" if marked == 1 else "notifications"
    return back(request, return_to, f"{marked} {word} marked read.", "info")
