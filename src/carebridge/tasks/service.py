"""Tasks with FHIR Task semantics. Every domain raises work for people through ``create``;
people create tasks by hand (``create_by_hand``, optionally from a template), read them,
move them through their statuses, assign them to a person or a queue, comment on them,
complete or reassign several at once, and read their history.

Every change checks the version the person read (optimistic concurrency: a stale one is a
409 and nothing changes), is checked in full before anything is touched, and leaves an audit
row naming the patient."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from carebridge.db.history import RecordVersion
from carebridge.lib.errors import AppError, Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.scheduling.models import Holiday
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.security.roles import Permission, Role, allows
from carebridge.tasks import focus, presets
from carebridge.tasks.codes import (
    CLOSED_STATUSES,
    KINDS,
    OUTREACH_CHANNELS,
    OUTREACH_OUTCOMES,
    PRIORITIES,
)
from carebridge.tasks.models import (
    OutreachAttempt,
    Task,
    TaskComment,
    TaskEscalation,
    WorkQueue,
)
from carebridge.tasks.notifications import notify
from carebridge.tasks.queues import by_code
from carebridge.tasks.schemas import (
    BulkIn,
    BulkResult,
    CommentRead,
    HistoryEntry,
    TaskCreate,
    TaskDetail,
    TaskRead,
    TaskRow,
    TaskUpdate,
)

# When nobody says when: how long each priority may wait (the SLA the worklist and the
# escalation rules measure against).
DEFAULT_WAIT = {
    "stat": dt.timedelta(hours=1),
    "asap": dt.timedelta(hours=4),
    "urgent": dt.timedelta(days=1),
    "routine": dt.timedelta(days=3),
}


def create(
    db: Session,
    actor: Actor,
    *,
    title: str,
    patient_id: uuid.UUID | None = None,
    description: str | None = None,
    priority: str = "routine",
    owner_id: uuid.UUID | None = None,
    queue: str | None = None,
    due_at: dt.datetime | None = None,
    focus_type: str | None = None,
    focus_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    business_status: str | None = None,
    kind: str = "general",
    risk: int = 0,
    template_key: str | None = None,
) -> Task:
    """Raise a task. With a ``dedupe_key`` the same task is never raised twice: the
    existing one is returned instead."""
    if priority not in PRIORITIES:
        raise ValueError(f"unknown task priority {priority!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}")
    if dedupe_key is not None:
        existing = db.scalar(select(Task).where(Task.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    task = Task(
        title=title,
        patient_id=patient_id,
        description=description,
        priority=priority,
        owner_id=owner_id,
        queue=queue if owner_id is None else None,
        due_at=due_at or utcnow() + DEFAULT_WAIT[priority],
        kind=kind,
        risk=risk,
        template_key=template_key,
        focus_type=focus_type,
        focus_id=focus_id,
        dedupe_key=dedupe_key,
        business_status=business_status,
        status="requested" if owner_id is None else "ready",
    )
    db.add(task)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="Task",
        entity_id=task.id,
        patient_id=patient_id,
        reason=title[:200],
    )
    return task


def for_focus(db: Session, focus_type: str, focus_id: uuid.UUID) -> list[Task]:
    return list(
        db.scalars(
            select(Task)
            .where(Task.focus_type == focus_type, Task.focus_id == focus_id)
            .order_by(Task.created_at)
        )
    )


# --- statuses ------------------------------------------------------------------------------

# Where each open FHIR status may go. Closed statuses (completed, cancelled, rejected,
# failed, entered-in-error) are final: the work is over, and a new task is raised instead.
_UNSTARTED = frozenset(
    {
        "accepted",
        "rejected",
        "ready",
        "in-progress",
        "on-hold",
        "completed",
        "cancelled",
        "entered-in-error",
    }
)
_STARTED = frozenset(
    {"in-progress", "on-hold", "completed", "cancelled", "failed", "entered-in-error"}
)
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"requested", "ready", "cancelled", "entered-in-error"}),
    "requested": _UNSTARTED | {"received"},
    "received": _UNSTARTED,
    "accepted": _STARTED | {"ready"},
    "ready": _STARTED,
    "in-progress": _STARTED - {"in-progress"},
    "on-hold": (_STARTED - {"on-hold"}) | {"ready"},
}
# Ending work without doing it needs a reason, kept as a comment on the task.
NEEDS_REASON = frozenset({"cancelled", "rejected", "failed", "entered-in-error"})
UNCLAIMED = frozenset({"draft", "requested", "received"})
# A hand-made due time a minute in the past is a slip of the clock, not a mistake.
PAST_SLACK = dt.timedelta(minutes=1)


def words(code: str | None) -> str:
    return (code or "").replace("-", " ")


# --- reading -----------------------------------------------------------------------------


def _task(db: Session, task_id: uuid.UUID) -> Task:
    task = db.get(Task, task_id)
    if task is None:
        raise NotFound(f"No task with id {task_id}")
    return task


def _audit(db: Session, actor: Actor, action: Action, task: Task, reason: str) -> None:
    record(
        db,
        actor,
        action,
        entity_type="Task",
        entity_id=task.id,
        patient_id=task.patient_id,
        reason=reason[:1000],
    )


def get(db: Session, actor: Actor, task_id: uuid.UUID) -> TaskRead:
    """One task, audited as a read of its patient's data."""
    task = _task(db, task_id)
    _audit(db, actor, Action.READ, task, "task")
    return TaskRead.model_validate(task)


def _names(db: Session, user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {u for u in user_ids if u is not None}
    if not wanted:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}  # noqa: C416 - rows are not pairs to mypy


def _attempts(db: Session, task_id: uuid.UUID) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(OutreachAttempt)
            .where(OutreachAttempt.task_id == task_id)
        )
        or 0
    )


def overdue(task: Task | TaskRead, now: dt.datetime | None = None) -> bool:
    return task.is_open and task.due_at < (now or utcnow())


def detail(db: Session, actor: Actor, task_id: uuid.UUID) -> TaskDetail:
    """A task with its patient, owner, comments and attempts count (one audited read)."""
    task = _task(db, task_id)
    patient = db.get(Patient, task.patient_id) if task.patient_id else None
    comments = list(
        db.scalars(
            select(TaskComment)
            .where(TaskComment.task_id == task.id)
            .order_by(TaskComment.created_at, TaskComment.id)
        )
    )
    names = _names(db, [task.owner_id, *(c.created_by for c in comments)])
    _audit(db, actor, Action.READ, task, "task")
    return TaskDetail(
        task=TaskRead.model_validate(task),
        patient_name=f"{patient.family_name}, {patient.given_names}" if patient else None,
        patient_mrn=patient.mrn if patient else None,
        owner_name=names.get(task.owner_id) if task.owner_id else None,
        overdue=overdue(task),
        attempts=_attempts(db, task.id),
        focus_url=focus.url(task.focus_type, task.focus_id, task.patient_id),
        comments=[
            CommentRead.model_validate(c).model_copy(
                update={"author": names.get(c.created_by) if c.created_by else None}
            )
            for c in comments
        ],
    )


def for_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, *, closed_limit: int = 20
) -> tuple[list[TaskRow], list[TaskRow]]:
    """A patient's open tasks (worklist order) and most recently closed ones, whoever owns
    them: the chart's "Tasks & outreach" tab. One audited read."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    attempts = (
        select(func.count(OutreachAttempt.id))
        .where(OutreachAttempt.task_id == Task.id)
        .correlate(Task)
        .scalar_subquery()
    )
    base = select(Task, User.display_name, attempts).outerjoin(User, User.id == Task.owner_id)
    open_rows = db.execute(
        base.where(Task.patient_id == patient_id, Task.is_open == true()).order_by(
            Task.urgency, Task.due_at, Task.id
        )
    ).all()
    closed_rows = db.execute(
        base.where(Task.patient_id == patient_id, Task.is_open == false())
        .order_by(Task.updated_at.desc(), Task.id)
        .limit(closed_limit)
    ).all()
    record(db, actor, Action.READ, entity_type="PatientTasks", patient_id=patient_id)
    now = utcnow()

    def row(task: Task, owner: str | None, n: int | None) -> TaskRow:
        return TaskRow(
            task=TaskRead.model_validate(task),
            patient_name=None,
            patient_mrn=None,
            owner_name=owner,
            attempts=n or 0,
            barriers=[],
            overdue=overdue(task, now),
            focus_url=focus.url(task.focus_type, task.focus_id, task.patient_id),
        )

    return [row(*r) for r in open_rows], [row(*r) for r in closed_rows]


# --- who may own a task --------------------------------------------------------------------


def assignees(db: Session) -> list[tuple[uuid.UUID, str]]:
    """Active people whose role works tasks, by name (for "assign to" lists)."""
    roles = [r.value for r in Role if allows(r.value, Permission.TASK_WORK)]
    rows = db.execute(
        select(User.id, User.display_name)
        .where(User.is_active.is_(True), User.role.in_(roles))
        .order_by(User.display_name)
    )
    return [(user_id, name) for user_id, name in rows]


def active_queues(db: Session) -> list[WorkQueue]:
    return list(
        db.scalars(select(WorkQueue).where(WorkQueue.is_active.is_(True)).order_by(WorkQueue.name))
    )


def _check_owner(db: Session, owner_id: uuid.UUID) -> User:
    user = db.get(User, owner_id)
    if user is None:
        raise ValidationFailed(
            f"No user has id {owner_id}; choose someone from the list of staff.",
            fields={"owner_id": "No such user."},
        )
    if not user.is_active:
        raise ValidationFailed(
            f"{user.display_name} ({user.username}) is disabled and cannot be given tasks; "
            "choose someone else or a queue. Nothing was changed.",
            fields={"owner_id": f"{user.display_name} is disabled."},
        )
    if not allows(user.role, Permission.TASK_WORK):
        raise ValidationFailed(
            f"{user.display_name} ({user.username}) is a {user.role} and does not work tasks; "
            "choose a coordinator, clinician or billing specialist, or a queue.",
            fields={"owner_id": f"{user.display_name} does not work tasks."},
        )
    return user


def _check_queue(db: Session, code: str) -> WorkQueue:
    queue = by_code(db, code)
    if queue is None:
        known = ", ".join(q.code for q in active_queues(db)) or "none yet"
        raise ValidationFailed(
            f"There is no queue {code!r}; the queues are: {known}.",
            fields={"queue": f"No queue {code!r}."},
        )
    if not queue.is_active:
        raise ValidationFailed(
            f"The queue {queue.name!r} is closed; choose another queue or a person.",
            fields={"queue": f"{queue.name} is closed."},
        )
    return queue


def _check_due(due_at: dt.datetime, now: dt.datetime) -> None:
    if due_at < now - PAST_SLACK:
        raise ValidationFailed(
            "The due time is in the past; choose a time from now on.",
            fields={"due_at": "This time has passed."},
        )


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise ValidationFailed(
            f"No patient has id {patient_id}.", fields={"patient_id": "No such patient."}
        )
    if patient.status == "merged":
        raise ValidationFailed(
            f"Chart {patient.mrn} was merged into another chart; raise the task on the "
            "surviving chart.",
            fields={"patient_id": "This chart was merged."},
        )
    return patient


# --- creating by hand ----------------------------------------------------------------------


def closed_days(db: Session, start: dt.date, days: int = 60) -> set[dt.date]:
    """Days the whole clinic is closed (holidays without a location) from ``start``."""
    return set(
        db.scalars(
            select(Holiday.day).where(
                Holiday.location_id.is_(None),
                Holiday.day >= start,
                Holiday.day < start + dt.timedelta(days=days),
            )
        )
    )


def preset_due(db: Session, preset: presets.Preset, now: dt.datetime, zone: str) -> dt.datetime:
    today = now.astimezone(ZoneInfo(zone)).date()
    return presets.due_at(preset, now, zone, closed_days(db, today))


def create_by_hand(
    db: Session,
    actor: Actor,
    data: TaskCreate,
    *,
    zone: str,
    now: dt.datetime | None = None,
    notify_owner: bool = True,
) -> TaskRead:
    """A task a person makes: its patient, focus, owner or queue are checked first; a
    template fills what was left out; nobody named means the person making it owns it.
    The owner, when someone else, is notified; ``notify_owner=False`` leaves that to the
    caller (a bulk run tells each owner once, with a summary)."""
    now = now or utcnow()
    preset = None
    if data.preset is not None:
        preset = presets.BY_KEY.get(data.preset)
        if preset is None:
            raise ValidationFailed(
                f"There is no task template {data.preset!r}; use one of: "
                f"{', '.join(presets.BY_KEY)}.",
                fields={"preset": "Unknown template."},
            )
    patient_id = data.patient_id
    if patient_id is not None:
        _live_patient(db, patient_id)
    if data.focus_type is not None and data.focus_id is not None:
        owner_of_focus = focus.check(db, data.focus_type, data.focus_id, patient_id)
        patient_id = patient_id or owner_of_focus
    owner_id = data.owner_id
    if owner_id is not None:
        _check_owner(db, owner_id)
    elif data.queue is not None:
        _check_queue(db, data.queue)
    else:
        owner_id = actor.user_id
    if data.due_at is not None:
        _check_due(data.due_at, now)
    priority = data.priority or (preset.priority if preset else "routine")
    due_at = data.due_at or (preset_due(db, preset, now, zone) if preset else None)
    task = create(
        db,
        actor,
        title=data.title or (preset.title if preset else ""),
        patient_id=patient_id,
        description=data.description or (preset.description if preset else None),
        priority=priority,
        owner_id=owner_id,
        queue=data.queue,
        due_at=due_at,
        focus_type=data.focus_type,
        focus_id=data.focus_id,
        business_status=data.business_status,
        kind=data.kind or (preset.kind if preset else "general"),
        template_key=preset.key if preset else None,
    )
    if notify_owner and owner_id is not None and owner_id != actor.user_id:
        notify(
            db,
            owner_id,
            f"{actor.username} gave you a task: {task.title}",
            link=f"/tasks/{task.id}",
            patient_id=task.patient_id,
        )
    return TaskRead.model_validate(task)


# --- changing ------------------------------------------------------------------------------


def check_task_version(task: Task, version: int | None) -> None:
    if version is None:
        raise ValidationFailed(
            "Send the version of the task you read (the 'version' field or an If-Match "
            "header), so a change someone made meanwhile is not overwritten.",
            fields={"version": "Required."},
        )
    check_version(f"Task {task.title!r}", task.version, version, task_id=str(task.id))


def closed_error(task: Task, wanted: str | None) -> Conflict:
    """Why a closed task refuses a change (``wanted``: the status asked for, if any)."""
    when = f" on {task.completed_at:%Y-%m-%d %H:%M} UTC" if task.completed_at else ""
    extra = {"current_status": task.status, "task_id": str(task.id)}
    if wanted == task.status:
        return Conflict(
            f"Task {task.title!r} is already {words(task.status)}{when}; it cannot be "
            f"{words(wanted)} again. Nothing was changed.",
            extra=extra,
        )
    return Conflict(
        f"Task {task.title!r} is {words(task.status)}{when}, and a {words(task.status)} task "
        "cannot change; raise a new task if there is more to do. Nothing was changed.",
        extra=extra,
    )


def check_change(
    db: Session, actor: Actor, task: Task, change: TaskUpdate, now: dt.datetime
) -> dict[str, object]:
    """Check a change in full and say what it sets, touching nothing (so a refusal leaves
    the task exactly as it was)."""
    sent = change.model_fields_set - {"version", "reason"}
    if not task.is_open:
        raise closed_error(task, change.status if "status" in sent else None)
    values: dict[str, object] = {}
    status = change.status if "status" in sent else None
    if status is not None and status != task.status:
        if status not in TRANSITIONS.get(task.status, frozenset()):
            raise Conflict(
                f"A task that is {words(task.status)} cannot become {words(status)}; it can "
                f"become: {', '.join(sorted(words(s) for s in TRANSITIONS[task.status]))}. "
                "Nothing was changed.",
                fields={"status": f"Not allowed from {words(task.status)}."},
            )
        if status in NEEDS_REASON and not change.reason:
            raise ValidationFailed(
                f"Say why the task is {words(status)}.",
                fields={"reason": "Give a reason."},
            )
        values["status"] = status
        if status == "completed":
            values["completed_at"] = now
    if "priority" in sent and change.priority is not None:
        values["priority"] = change.priority
    if "due_at" in sent:
        if change.due_at is None:
            raise ValidationFailed("A task always has a due time.", fields={"due_at": "Required."})
        if change.due_at != task.due_at:
            _check_due(change.due_at, now)
            values["due_at"] = change.due_at
    for name in ("business_status", "description"):
        if name in sent:
            values[name] = getattr(change, name) or None
    if "title" in sent:
        if not change.title:
            raise ValidationFailed("A task needs a title.", fields={"title": "Required."})
        values["title"] = change.title
    if "owner_id" in sent or "queue" in sent:
        values.update(_plan_assignment(db, actor, task, change, values.get("status")))
    return values


def _plan_assignment(
    db: Session, actor: Actor, task: Task, change: TaskUpdate, new_status: object
) -> dict[str, object]:
    status = new_status if isinstance(new_status, str) else task.status
    if change.owner_id is not None:
        _check_owner(db, change.owner_id)
        values: dict[str, object] = {"owner_id": change.owner_id, "queue": task.queue}
        if status in UNCLAIMED:
            values["status"] = "accepted" if change.owner_id == actor.user_id else "ready"
        return values
    queue = change.queue or task.queue
    if queue is None:
        raise ValidationFailed(
            "Say which queue the task goes to when it has no owner.",
            fields={"queue": "Choose a queue."},
        )
    _check_queue(db, queue)
    values = {"owner_id": None, "queue": queue}
    if status in ("accepted", "ready"):
        values["status"] = "requested"  # waiting again for someone in the queue to take it
    return values


def _describe(task: Task, values: dict[str, object], names: dict[uuid.UUID, str]) -> list[str]:
    said = []
    for name, value in values.items():
        before = getattr(task, name)
        if before == value or name == "completed_at":
            continue
        if name == "owner_id":
            said.append(
                f"owner {names.get(before, 'nobody') if before else 'nobody'} -> "
                f"{names.get(value, 'nobody') if isinstance(value, uuid.UUID) else 'nobody'}"
            )
        elif name == "description":
            said.append("description changed")
        else:
            said.append(f"{name.replace('_', ' ')} {before} -> {value}")
    return said


def _apply(
    db: Session,
    actor: Actor,
    task: Task,
    change: TaskUpdate,
    now: dt.datetime,
) -> list[str]:
    values = check_change(db, actor, task, change, now)
    before = task.owner_id
    owner = values.get("owner_id", before)
    names = _names(db, [before, owner if isinstance(owner, uuid.UUID) else None])
    said = _describe(task, values, names)
    for name, value in values.items():
        setattr(task, name, value)
    if change.reason:
        verb = {
            "cancelled": "Cancelled",
            "on-hold": "Put on hold",
            "rejected": "Rejected",
            "failed": "Failed",
            "entered-in-error": "Entered in error",
        }.get(str(values.get("status", "")), "Reason")
        db.add(TaskComment(task_id=task.id, text=f"{verb}: {change.reason}"))
    if isinstance(owner, uuid.UUID) and owner not in (before, actor.user_id):
        notify(
            db,
            owner,
            f"{actor.username} gave you a task: {task.title}",
            link=f"/tasks/{task.id}",
            patient_id=task.patient_id,
        )
    return said


def _flush(db: Session, task: Task) -> None:
    """Write now, so a concurrent change (the version moved under us) is a 409 here."""
    try:
        db.flush()
    except StaleDataError:
        raise Conflict(
            f"Task {task.title!r} was changed by someone else at the same moment; reload it "
            "and make your change again. Nothing was changed.",
            extra={"task_id": str(task.id)},
        ) from None


def update(
    db: Session,
    actor: Actor,
    task_id: uuid.UUID,
    change: TaskUpdate,
    *,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> TaskRead:
    """Change a task (status, business status, priority, due, owner or queue, title,
    description). ``version`` (an If-Match) wins over the one in ``change``."""
    task = _task(db, task_id)
    check_task_version(task, version if version is not None else change.version)
    said = _apply(db, actor, task, change, now or utcnow())
    _flush(db, task)
    if said or change.reason:
        _audit(db, actor, Action.UPDATE, task, "; ".join(said) or "reason noted")
    return TaskRead.model_validate(task)


def complete_open(db: Session, actor: Actor, reason: str, *where: ColumnElement[bool]) -> int:
    """Complete the open tasks matching ``where``, each with ``reason``: what they asked for
    was done elsewhere (a referral scheduled, a ride confirmed). Returns how many."""
    found = list(db.scalars(select(Task).where(Task.is_open == true(), *where)))
    for task in found:
        change = TaskUpdate(version=task.version, status="completed", reason=reason)
        update(db, actor, task.id, change)
    return len(found)


def take(db: Session, actor: Actor, task_id: uuid.UUID, version: int | None) -> TaskRead:
    """Claim a task: the person asking becomes its owner."""
    if actor.user_id is None:
        raise ValidationFailed("Only a person can take a task.")
    return update(db, actor, task_id, TaskUpdate(owner_id=actor.user_id), version=version)


def add_comment(db: Session, actor: Actor, task_id: uuid.UUID, text: str) -> CommentRead:
    """A note on a task (also on a closed one: what happened afterwards still matters)."""
    task = _task(db, task_id)
    text = text.strip()
    if not text:
        raise ValidationFailed("Write the comment first.", fields={"text": "Required."})
    comment = TaskComment(task_id=task.id, text=text)
    db.add(comment)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="TaskComment",
        entity_id=comment.id,
        patient_id=task.patient_id,
        reason=f"comment on task {task.id}",
    )
    author = _names(db, [comment.created_by]).get(comment.created_by or uuid.UUID(int=0))
    return CommentRead.model_validate(comment).model_copy(update={"author": author})


def bulk(db: Session, actor: Actor, data: BulkIn, *, now: dt.datetime | None = None) -> BulkResult:
    """Reassign or complete several tasks, all or none. The whole change runs in a
    savepoint: when one task cannot be changed, none is, and the error names that task."""
    now = now or utcnow()
    ids = [item.id for item in data.tasks]
    found = {t.id: t for t in db.scalars(select(Task).where(Task.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(
            f"No task with id {missing[0]}; nothing was changed.",
            extra={"task_id": str(missing[0])},
        )
    if data.action == "reassign":
        change = TaskUpdate(owner_id=data.owner_id, queue=data.queue)
    else:
        change = TaskUpdate(status="completed")
        if data.business_status is not None:
            change = TaskUpdate(status="completed", business_status=data.business_status)
    changed: list[Task] = []
    with db.begin_nested():
        for item in data.tasks:
            task = found[item.id]
            try:
                if item.version is not None:
                    check_task_version(task, item.version)
                said = _apply(db, actor, task, change, now)
                _flush(db, task)
            except AppError as exc:
                raise type(exc)(
                    _in_bulk(task, exc.detail, len(data.tasks)),
                    fields=exc.fields,
                    extra={**exc.extra, "task_id": str(task.id)},
                ) from None
            if said:
                _audit(db, actor, Action.UPDATE, task, f"bulk {data.action}: " + "; ".join(said))
            changed.append(task)
    return BulkResult(action=data.action, tasks=[TaskRead.model_validate(t) for t in changed])


def _in_bulk(task: Task, detail: str, count: int) -> str:
    detail = detail.replace(" Nothing was changed.", "")
    return (
        f"Task {task.title!r} ({task.id}) could not be changed: {detail} None of the {count} "
        "tasks was changed."
    )


# --- history -------------------------------------------------------------------------------

SHOWN_FIELDS = (
    "status",
    "business_status",
    "priority",
    "owner_id",
    "queue",
    "due_at",
    "title",
    "description",
    "escalation_level",
)


def _when(value: object, zone: str) -> str:
    if not isinstance(value, str):
        return "none"
    moment = dt.datetime.fromisoformat(value).astimezone(ZoneInfo(zone))
    return f"{moment:%a %d %b %Y, %H:%M}"


def _said(name: str, before: object, after: object, names: dict[str, str], zone: str) -> str:
    label = name.replace("_", " ").capitalize()
    if name == "owner_id":
        return (
            f"Owner: {names.get(str(before), 'nobody') if before else 'nobody'} → "
            f"{names.get(str(after), 'nobody') if after else 'nobody'}"
        )
    if name == "due_at":
        return f"Due: {_when(before, zone)} → {_when(after, zone)}"
    if name == "description":
        return "Description changed"
    if name == "escalation_level":
        return f"Escalation level {before} → {after}"
    old = words(str(before)) if before else "none"
    new = words(str(after)) if after else "none"
    return f"{label}: {old} → {new}"


def history(db: Session, actor: Actor, task_id: uuid.UUID, *, zone: str) -> list[HistoryEntry]:
    """What happened to a task, oldest first: each saved version's changes, comments,
    escalations and outreach attempts, with who and when."""
    task = _task(db, task_id)
    versions = list(
        db.scalars(
            select(RecordVersion)
            .where(RecordVersion.entity_type == "Task", RecordVersion.entity_id == task.id)
            .order_by(RecordVersion.version, RecordVersion.id)
        )
    )
    comments = list(db.scalars(select(TaskComment).where(TaskComment.task_id == task.id)))
    escalations = list(db.scalars(select(TaskEscalation).where(TaskEscalation.task_id == task.id)))
    attempts = list(db.scalars(select(OutreachAttempt).where(OutreachAttempt.task_id == task.id)))
    people: list[uuid.UUID | None] = [v.changed_by for v in versions]
    people += [c.created_by for c in comments] + [a.created_by for a in attempts]
    for v in versions:
        owner = v.data.get("owner_id")
        people.append(uuid.UUID(owner) if isinstance(owner, str) else None)
    people += [e.from_owner_id for e in escalations] + [e.notified_user_id for e in escalations]
    found = _names(db, people)
    names = {str(k): v for k, v in found.items()}
    entries: list[HistoryEntry] = []
    previous: dict[str, object] | None = None
    for v in versions:
        who = found.get(v.changed_by) if v.changed_by else None
        if previous is None or v.action == "create":
            entries.append(
                HistoryEntry(
                    at=v.changed_at,
                    who=who,
                    kind="created",
                    text=f"Created: {v.data.get('title')} ({words(str(v.data.get('status')))}, "
                    f"{v.data.get('priority')}, due {_when(v.data.get('due_at'), zone)})",
                )
            )
        else:
            changes = [
                _said(name, previous.get(name), v.data.get(name), names, zone)
                for name in SHOWN_FIELDS
                if previous.get(name) != v.data.get(name)
            ]
            if changes:
                entries.append(
                    HistoryEntry(at=v.changed_at, who=who, kind="changed", text="; ".join(changes))
                )
        previous = v.data
    for c in comments:
        entries.append(
            HistoryEntry(
                at=c.created_at,
                who=found.get(c.created_by) if c.created_by else None,
                kind="comment",
                text=c.text,
            )
        )
    for e in escalations:
        parts = [f"priority {e.from_priority} → {e.to_priority}"]
        if e.to_queue:
            parts.append(f"moved to queue {e.to_queue}")
        if e.notified_user_id:
            parts.append(f"{found.get(e.notified_user_id, 'supervisor')} notified")
        entries.append(
            HistoryEntry(
                at=e.applied_at,
                who="Carebridge (escalation rule)",
                kind="escalation",
                text=f"Escalated by rule {e.rule_key}: " + ", ".join(parts),
            )
        )
    for a in attempts:
        text = (
            f"{OUTREACH_CHANNELS.get(a.channel, a.channel)} ({a.direction}): "
            f"{OUTREACH_OUTCOMES.get(a.outcome, a.outcome)}"
        )
        if a.contact_name:
            text += f", with {a.contact_name}"
        if a.note:
            text += f". {a.note}"
        entries.append(
            HistoryEntry(
                at=a.occurred_at,
                who=found.get(a.created_by) if a.created_by else None,
                kind="outreach",
                text=text,
            )
        )
    entries.sort(key=lambda e: e.at)
    _audit(db, actor, Action.READ, task, "task history")
    return entries


def closed(status: str) -> bool:
    return status in CLOSED_STATUSES


def statuses_after(status: str) -> Sequence[str]:
    """The statuses a task may move to next, for the screens' buttons."""
    return sorted(TRANSITIONS.get(status, frozenset()))
