"""The worklist: a person's open tasks and the unclaimed tasks of their queues, most
urgent first, then earliest due, then highest risk.

One page costs the same few queries whatever its length or the size of the panel: the
page's task ids come from one query that reads each source (the person's own tasks, each
queue's unclaimed tasks) along its worklist index, already in order and cut to the page,
and merges them; the rows, their patients, owners and outreach counts come back in the same
statement; barriers come in one more query, the counts in another. Every patient on the page
is an audited read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from carebridge.careplans.barriers import active_kinds
from carebridge.lib.errors import ValidationFailed
from carebridge.lib.paging import Page
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Action, Actor, Outcome
from carebridge.security.models import AuditEvent, User
from carebridge.tasks.codes import CLOSED_STATUSES, KINDS, OPEN_STATUSES, STATUSES
from carebridge.tasks.models import OutreachAttempt, Task
from carebridge.tasks.queues import member_codes


@dataclass(frozen=True)
class Filters:
    """What to show. ``mine`` takes the tasks the person owns; ``queues`` the unclaimed
    tasks of those queues (None: every queue the person works)."""

    mine: bool = True
    queues: tuple[str, ...] | None = None
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # () means every open status
    due_after: dt.datetime | None = None
    due_before: dt.datetime | None = None
    patient_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ValidationFailed(
                f"Unknown task type {unknown[0]!r}; use one of: {', '.join(KINDS)}."
            )
        wrong = [s for s in self.statuses if s not in STATUSES]
        if wrong:
            raise ValidationFailed(
                f"Unknown task status {wrong[0]!r}; use one of: {', '.join(STATUSES)}."
            )
        if self.due_after and self.due_before and self.due_after >= self.due_before:
            raise ValidationFailed(
                "The due range is empty: 'due after' must be before 'due before'."
            )


@dataclass(frozen=True)
class Row:
    task: Task
    patient_name: str | None
    patient_mrn: str | None
    owner_name: str | None
    attempts: int
    barriers: list[str]

    @property
    def overdue(self) -> bool:
        return self.task.is_open and self.task.due_at < utcnow()


@dataclass(frozen=True)
class Counts:
    open: int = 0
    overdue: int = 0
    due_today: int = 0
    unclaimed: int = 0
    by_queue: dict[str, int] = field(default_factory=dict)
    # A source had more than COUNT_CAP open tasks: every number is a lower bound ("500+").
    at_least: bool = False


@dataclass(frozen=True)
class WorklistPage:
    rows: list[Row]
    counts: Counts
    queues: list[str]  # the queues the person works
    page: Page
    has_more: bool


def _sources(
    user_id: uuid.UUID, filters: Filters, queues: Sequence[str]
) -> list[ColumnElement[bool]]:
    """The WHERE term of each source: own tasks, then each queue's unclaimed tasks."""
    terms: list[ColumnElement[bool]] = []
    if filters.mine:
        terms.append(Task.owner_id == user_id)
    terms.extend(and_(Task.queue == code, Task.owner_id.is_(None)) for code in queues)
    return terms


def _narrow(
    query: Select[uuid.UUID, int, dt.datetime, int], filters: Filters
) -> Select[uuid.UUID, int, dt.datetime, int]:
    statuses = filters.statuses or OPEN_STATUSES
    if all(s in OPEN_STATUSES for s in statuses):
        query = query.where(Task.is_open == true())
    elif all(s in CLOSED_STATUSES for s in statuses):
        query = query.where(Task.is_open == false())
    if filters.statuses and set(filters.statuses) != set(OPEN_STATUSES):
        query = query.where(Task.status.in_(filters.statuses))
    if filters.kinds:
        query = query.where(Task.kind.in_(filters.kinds))
    if filters.due_after is not None:
        query = query.where(Task.due_at >= filters.due_after)
    if filters.due_before is not None:
        query = query.where(Task.due_at < filters.due_before)
    if filters.patient_id is not None:
        query = query.where(Task.patient_id == filters.patient_id)
    return query


ORDER = (Task.urgency, Task.due_at, Task.risk.desc(), Task.id)


def _page_ids(
    db: Session, user_id: uuid.UUID, filters: Filters, queues: Sequence[str], page: Page
) -> list[uuid.UUID]:
    terms = _sources(user_id, filters, queues)
    if not terms:
        return []
    if filters.patient_id is not None:
        # One patient has few tasks: one query along the patient's index beats reading each
        # source's whole range for them.
        terms = [or_(*terms)]
    enough = page.offset + page.size + 1  # one more tells whether there is a next page
    parts = [
        _narrow(
            select(Task.id, Task.urgency, Task.due_at, Task.risk).where(term),
            filters,
        )
        .order_by(*ORDER)
        .limit(enough)
        .subquery()
        for term in terms
    ]
    merged = union_all(*(select(part) for part in parts)).subquery()
    query = (
        select(merged.c.id)
        .order_by(merged.c.urgency, merged.c.due_at, merged.c.risk.desc(), merged.c.id)
        .offset(page.offset)
        .limit(enough - page.offset)
    )
    return list(db.scalars(query))


# Counting stops here in each source (the person's own tasks, each queue): past it a count
# says "at least" (500+). Counting every open task would make each page cost more as the
# panel grows; nobody works a list by telling 4,036 from 4,037.
COUNT_CAP = 500


def _counts(
    db: Session,
    user_id: uuid.UUID,
    filters: Filters,
    queues: Sequence[str],
    now: dt.datetime,
    day_end: dt.datetime,
) -> Counts:
    """Open, overdue and due-today counts, one aggregate per source joined by UNION ALL, so
    each reads only its own index range (an OR across sources makes the planners read every
    open task), and over at most ``COUNT_CAP`` of its most urgent tasks."""
    open_ = Task.is_open == true()
    sources: list[tuple[str | None, ColumnElement[bool]]] = []
    if filters.mine:
        sources.append((None, and_(Task.owner_id == user_id, open_)))
    sources.extend(
        (code, and_(Task.queue == code, Task.owner_id.is_(None), open_)) for code in queues
    )
    if not sources:
        return Counts()
    parts = []
    for code, term in sources:
        first = select(Task.due_at).where(term).order_by(*ORDER).limit(COUNT_CAP).subquery()
        parts.append(
            select(
                literal(code, String(64)),
                func.count(),
                func.sum(case((first.c.due_at < now, 1), else_=0)),
                func.sum(case((first.c.due_at < day_end, 1), else_=0)),
            ).select_from(first)
        )
    total = overdue = today = claimable = 0
    at_least = False
    by_queue: dict[str, int] = {}
    for queue, n, behind, due in db.execute(union_all(*parts)).all():
        total += n
        overdue += behind or 0
        today += due or 0
        at_least = at_least or n >= COUNT_CAP
        if queue is not None:
            by_queue[queue] = n
            claimable += n
    return Counts(
        open=total,
        overdue=overdue,
        due_today=today,
        unclaimed=claimable,
        by_queue=by_queue,
        at_least=at_least,
    )


def _audit_shown(db: Session, actor: Actor, patient_ids: Iterable[uuid.UUID]) -> None:
    """One audited read per patient shown, written in one statement: one ORM insert per row
    would make a page of 50 cost 50 more statements (SQLite cannot batch them)."""
    now = utcnow()
    rows = [
        {
            "occurred_at": now,
            "user_id": actor.user_id,
            "username": actor.username[:64],
            "role": actor.role,
            "action": Action.READ.value,
            "entity_type": "Worklist",
            "patient_id": patient_id,
            "client_addr": actor.client_addr,
            "request_id": actor.request_id,
            "outcome": Outcome.SUCCESS.value,
        }
        for patient_id in patient_ids
    ]
    if rows:
        db.execute(insert(AuditEvent), rows)


def page_for(
    db: Session,
    actor: Actor,
    filters: Filters,
    page: Page,
    *,
    day_end: dt.datetime,
) -> WorklistPage:
    """One page of ``actor``'s worklist. ``day_end`` is the end of today in the clinic's
    zone (for the "due today" count)."""
    if actor.user_id is None:
        raise ValidationFailed("The worklist belongs to a person; the system has none.")
    works = member_codes(db, actor.user_id)
    # A person sees the unclaimed tasks of the queues they work, never of others.
    wanted = works if filters.queues is None else filters.queues
    queues = [code for code in wanted if code in works]
    ids = _page_ids(db, actor.user_id, filters, queues, page)
    has_more = len(ids) > page.size
    ids = ids[: page.size]
    rows: list[Row] = []
    if ids:
        attempts = (
            select(func.count(OutreachAttempt.id))
            .where(OutreachAttempt.task_id == Task.id)
            .correlate(Task)
            .scalar_subquery()
        )
        found = {
            task.id: (task, family, given, mrn, owner, n)
            for task, family, given, mrn, owner, n in db.execute(
                select(
                    Task,
                    Patient.family_name,
                    Patient.given_names,
                    Patient.mrn,
                    User.display_name,
                    attempts,
                )
                .outerjoin(Patient, Patient.id == Task.patient_id)
                .outerjoin(User, User.id == Task.owner_id)
                .where(Task.id.in_(ids) if ids else false())
            )
        }
        barriers = active_kinds(db, {t.patient_id for t, *_ in found.values() if t.patient_id})
        for task_id in ids:
            task, family, given, mrn, owner, n = found[task_id]
            rows.append(
                Row(
                    task=task,
                    patient_name=f"{family}, {given}" if family is not None else None,
                    patient_mrn=mrn,
                    owner_name=owner,
                    attempts=n or 0,
                    barriers=barriers.get(task.patient_id, []) if task.patient_id else [],
                )
            )
    _audit_shown(db, actor, dict.fromkeys(r.task.patient_id for r in rows if r.task.patient_id))
    return WorklistPage(
        rows=rows,
        counts=_counts(db, actor.user_id, filters, queues, utcnow(), day_end),
        queues=works,
        page=page,
        has_more=has_more,
    )


# --- due ranges people pick (added for the screens and the API) ------------------------------

DUE_CHOICES = {
    "overdue": "Overdue",
    "today": "Due by end of today",
    "week": "Due by end of this week",
    "custom": "Custom range",
}


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def day_bounds(now: dt.datetime, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """Start and end of today in the clinic's zone, as UTC."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    return _midnight(today, tz), _midnight(today + dt.timedelta(days=1), tz)


def due_window(
    choice: str,
    now: dt.datetime,
    zone: str,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(due_after, due_before) for a due-range choice. "today" and "week" include what is
    overdue: everything that must be done by then. "custom" runs from the start of
    ``first`` to the end of ``last`` (clinic days; either may be open)."""
    tz = ZoneInfo(zone)
    if choice == "":
        return None, None
    if choice == "overdue":
        return None, now
    if choice == "today":
        return None, day_bounds(now, zone)[1]
    if choice == "week":
        today = now.astimezone(tz).date()
        return None, _midnight(today + dt.timedelta(days=8 - today.isoweekday()), tz)
    if choice == "custom":
        after = _midnight(first, tz) if first else None
        before = _midnight(last + dt.timedelta(days=1), tz) if last else None
        if after and before and after >= before:
            raise ValidationFailed(
                "The due range is empty: the first day must be on or before the last day.",
                fields={"due_to": "Choose a day on or after the first day."},
            )
        return after, before
    raise ValidationFailed(
        f"Unknown due range {choice!r}; use one of: {', '.join(DUE_CHOICES)}.",
        fields={"due": "Choose a due range from the list."},
    )
