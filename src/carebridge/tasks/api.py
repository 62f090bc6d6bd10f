"""JSON API for tasks under /api/v1: the caller's worklist, tasks (read, create, change,
comment, bulk), their history, task templates, the outreach log and notifications.

Reads return the task's version as a weak ETag; a change sends it back as ``If-Match`` (or
as ``version`` in the body). A stale version is a 409 and nothing is changed."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from carebridge.lib.errors import BadRequest
from carebridge.lib.paging import Page
from carebridge.lib.time import utcnow
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.tasks import focus, notifications, outreach, presets, service, worklist
from carebridge.tasks.schemas import (
    BulkIn,
    BulkResult,
    CommentCreate,
    CommentRead,
    CountsRead,
    HistoryEntry,
    MarkedRead,
    MarkReadIn,
    NotificationRead,
    OutreachCreate,
    OutreachLog,
    OutreachLogged,
    PresetRead,
    TaskCreate,
    TaskDetail,
    TaskPage,
    TaskRead,
    TaskRow,
    TaskUpdate,
    WorklistRead,
)
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["tasks"])
Worker = Annotated[Actor, Depends(Require(Permission.TASK_WORK))]
Viewer = Annotated[Actor, Depends(Require(Permission.WORKLIST_VIEW))]
ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    found = ETAG.match(value)
    if found is None:
        raise BadRequest(f'If-Match must be the ETag you read, e.g. W/"3"; got {value!r}')
    return int(found.group(1))


def row_read(row: worklist.Row) -> TaskRow:
    return TaskRow(
        task=TaskRead.model_validate(row.task),
        patient_name=row.patient_name,
        patient_mrn=row.patient_mrn,
        owner_name=row.owner_name,
        attempts=row.attempts,
        barriers=row.barriers,
        overdue=row.overdue,
        focus_url=focus.url(row.task.focus_type, row.task.focus_id, row.task.patient_id),
    )


# --- the worklist ------------------------------------------------------------------------

Scope = Literal["all", "mine", "queues"]
ScopeQ = Annotated[
    Scope,
    Query(description="all: my tasks and my queues' unclaimed tasks; mine; queues"),
]
QueueQ = Annotated[list[str] | None, Query(description="Only these queues (that I work)")]
KindQ = Annotated[list[str] | None, Query(description="Task types (codes.KINDS)")]
StatusQ = Annotated[list[str] | None, Query(description="Statuses; default: every open one")]
DueQ = Annotated[
    str, Query(pattern=r"^(|overdue|today|week)$", description="overdue, today or week")
]


@dataclass(frozen=True)
class WorklistQuery:
    """The worklist filters /tasks and /worklist share, as sent."""

    scope: Scope
    queue: list[str] | None
    kind: list[str] | None
    status: list[str] | None
    due: str
    due_after: dt.datetime | None
    due_before: dt.datetime | None
    page: int
    size: int


def worklist_query(
    scope: ScopeQ = "all",
    queue: QueueQ = None,
    kind: KindQ = None,
    status: StatusQ = None,
    due: DueQ = "",
    due_after: dt.datetime | None = None,
    due_before: dt.datetime | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WorklistQuery:
    return WorklistQuery(scope, queue, kind, status, due, due_after, due_before, page, size)


Filtering = Annotated[WorklistQuery, Depends(worklist_query)]


def _page(
    request: Request, db: Db, actor: Actor, q: WorklistQuery, patient_id: uuid.UUID | None
) -> worklist.WorklistPage:
    zone = settings_of(request).timezone
    now = utcnow()
    after, before = worklist.due_window(q.due, now, zone)
    if q.due_after is not None:
        after = max(after, q.due_after) if after else q.due_after
    if q.due_before is not None:
        before = min(before, q.due_before) if before else q.due_before
    filters = worklist.Filters(
        mine=q.scope != "queues",
        queues=() if q.scope == "mine" else (tuple(q.queue) if q.queue else None),
        kinds=tuple(q.kind or ()),
        statuses=tuple(q.status or ()),
        due_after=after,
        due_before=before,
        patient_id=patient_id,
    )
    return worklist.page_for(
        db, actor, filters, Page(q.page, q.size), day_end=worklist.day_bounds(now, zone)[1]
    )


@router.get("/worklist")
def read_worklist(
    request: Request,
    db: Db,
    actor: Viewer,
    q: Filtering,
    patient_id: uuid.UUID | None = None,
) -> WorklistRead:
    """One page of the caller's worklist, most urgent first, then earliest due, then
    highest risk; with the counts My day shows."""
    found = _page(request, db, actor, q, patient_id)
    c = found.counts
    return WorklistRead(
        items=[row_read(r) for r in found.rows],
        counts=CountsRead(
            open=c.open,
            overdue=c.overdue,
            due_today=c.due_today,
            unclaimed=c.unclaimed,
            by_queue=c.by_queue,
            at_least=c.at_least,
        ),
        queues=found.queues,
        page=q.page,
        size=q.size,
        has_more=found.has_more,
    )


@router.get("/tasks")
def list_tasks(
    request: Request,
    db: Db,
    actor: Worker,
    q: Filtering,
    patient_id: Annotated[
        uuid.UUID | None, Query(description="All of this patient's tasks, whoever owns them")
    ] = None,
    state: Annotated[
        Literal["open", "closed", "all"], Query(description="With patient_id")
    ] = "all",
) -> TaskPage:
    """Without ``patient_id``: the caller's tasks, filtered as on the worklist. With it: the
    patient's open tasks (worklist order) and the 20 most recently closed, whoever owns
    them."""
    if patient_id is not None:
        open_rows, closed_rows = service.for_patient(db, actor, patient_id)
        items = (open_rows if state != "closed" else []) + (closed_rows if state != "open" else [])
        return TaskPage(items=items, page=1, size=len(items) or 1, has_more=False)
    found = _page(request, db, actor, q, None)
    return TaskPage(
        items=[row_read(r) for r in found.rows], page=q.page, size=q.size, has_more=found.has_more
    )


# --- one task ------------------------------------------------------------------------------


@router.post("/tasks", status_code=201)
def create_task(
    body: TaskCreate, request: Request, response: Response, db: Db, actor: Worker
) -> TaskRead:
    """Create a task by hand, optionally from a template (``preset``). Without an owner or a
    queue the caller owns it. ``focus_type``/``focus_id`` must name an existing record of the
    same patient."""
    task = service.create_by_hand(db, actor, body, zone=settings_of(request).timezone)
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    set_etag(response, task.version)
    return task


@router.get("/tasks/{task_id}")
def read_task(task_id: uuid.UUID, response: Response, db: Db, actor: Worker) -> TaskDetail:
    found = service.detail(db, actor, task_id)
    set_etag(response, found.task.version)
    return found


@router.patch("/tasks/{task_id}")
def change_task(
    task_id: uuid.UUID,
    body: TaskUpdate,
    response: Response,
    db: Db,
    actor: Worker,
    if_match: Annotated[str | None, Header(description='The ETag read, e.g. W/"3"')] = None,
) -> TaskRead:
    """Change status (FHIR transitions; completed and cancelled are final), business status,
    priority, due time, owner (an active user who works tasks) or queue, title or
    description. A stale version is a 409; nothing is changed."""
    task = service.update(db, actor, task_id, body, version=_if_match(if_match))
    set_etag(response, task.version)
    return task


@router.post("/tasks/{task_id}/take")
def take_task(
    task_id: uuid.UUID,
    response: Response,
    db: Db,
    actor: Worker,
    if_match: Annotated[str | None, Header(description='The ETag read, e.g. W/"3"')] = None,
) -> TaskRead:
    """Claim a task: the caller becomes its owner."""
    task = service.take(db, actor, task_id, _if_match(if_match))
    set_etag(response, task.version)
    return task


@router.post("/tasks/{task_id}/comments", status_code=201)
def comment_on_task(task_id: uuid.UUID, body: CommentCreate, db: Db, actor: Worker) -> CommentRead:
    return service.add_comment(db, actor, task_id, body.text)


@router.get("/tasks/{task_id}/history")
def task_history(task_id: uuid.UUID, request: Request, db: Db, actor: Worker) -> list[HistoryEntry]:
    """Every change, comment, escalation and outreach attempt, oldest first."""
    return service.history(db, actor, task_id, zone=settings_of(request).timezone)


@router.post("/tasks/bulk")
def bulk_change(body: BulkIn, db: Db, actor: Worker) -> BulkResult:
    """Reassign or complete up to 200 tasks, all or none: when one cannot be changed the
    error names it (``task_id``) and says why, and no task is changed."""
    return service.bulk(db, actor, body)


@router.get("/task-presets")
def list_presets(actor: Worker) -> list[PresetRead]:
    return [
        PresetRead(
            key=p.key,
            title=p.title,
            kind=p.kind,
            priority=p.priority,
            due=p.due_words,
            description=p.description,
        )
        for p in presets.PRESETS
    ]


# --- outreach ------------------------------------------------------------------------------


@router.post("/patients/{patient_id}/outreach", status_code=201)
def log_outreach(
    patient_id: uuid.UUID, body: OutreachCreate, request: Request, db: Db, actor: Worker
) -> OutreachLogged:
    """Log a call, text, email, letter or visit. With ``task_id`` the task moves along:
    in progress, due again on ``next_attempt_on``, or completed with ``complete_task``
    (only when the patient was reached or the message sent)."""
    return outreach.log(db, actor, patient_id, body, zone=settings_of(request).timezone)


@router.get("/patients/{patient_id}/outreach")
def patient_outreach(patient_id: uuid.UUID, db: Db, actor: Worker) -> OutreachLog:
    return outreach.for_patient(db, actor, patient_id)


@router.get("/tasks/{task_id}/outreach")
def task_outreach(task_id: uuid.UUID, db: Db, actor: Worker) -> OutreachLog:
    return outreach.for_task(db, actor, task_id)


# --- notifications -------------------------------------------------------------------------


@router.get("/notifications")
def unread_notifications(
    db: Db, actor: Viewer, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[NotificationRead]:
    """The caller's unread notifications, newest first."""
    if actor.user_id is None:
        return []
    return [
        NotificationRead.model_validate(n) for n in notifications.unread(db, actor.user_id, limit)
    ]


@router.post("/notifications/read")
def mark_notifications_read(body: MarkReadIn, db: Db, actor: Viewer) -> MarkedRead:
    """Mark the caller's notifications read: those listed in ``ids``, or all."""
    if actor.user_id is None:
        return MarkedRead(marked=0)
    return MarkedRead(marked=notifications.mark_read(db, actor.user_id, body.ids))
