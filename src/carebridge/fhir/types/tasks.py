"""Task and Communication, from the worklist's tasks, the outreach log and the messages sent
to patients and their families."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import inspect, select, union_all
from sqlalchemy.orm import Session, object_session

from carebridge.careplans.models import CarePlanActivity
from carebridge.communications.models import PatientCommunication
from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.tasks import (
    communication_to_fhir,
    focus_reference,
    patient_message_to_fhir,
    task_to_fhir,
)
from carebridge.fhir.mapping import Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.fhir.types.careplans import staff_references
from carebridge.messaging.models import OutboxMessage
from carebridge.security.roles import Permission
from carebridge.tasks.models import OutreachAttempt, Task, TaskComment, WorkQueue
from carebridge.transitions.models import Transition

_PEOPLE = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Organization")

TASK = ResourceDef(
    "Task",
    Permission.TASK_WORK,
    Permission.TASK_WORK,  # created and updated through the tasks service (fhir/writes.py)
    params=params(
        SearchParam("patient", "reference", ("for",), ("Patient",)),
        SearchParam("subject", "reference", ("for",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("business-status", "token", ("businessStatus",)),
        SearchParam("intent", "token", ("intent",)),
        SearchParam("priority", "token", ("priority",)),
        SearchParam("code", "token", ("code",)),
        SearchParam("performer", "token", ("performerType",)),
        SearchParam("owner", "reference", ("owner",), _PEOPLE),
        SearchParam("focus", "reference", ("focus",)),
        SearchParam("based-on", "reference", ("basedOn",)),
        # The one date: the time fulfilment is sought, from when the task was raised to
        # when it is due (restriction.period). R4 puts ``period`` on executionPeriod, which
        # we can only end (completed_at): a search needs both ends, and the due time is
        # what a coordinator searches by.
        SearchParam("period", "date", ("restriction.period",)),
    ),
    summary=(
        "identifier",
        "instantiatesCanonical",
        "instantiatesUri",
        "basedOn",
        "groupIdentifier",
        "partOf",
        "status",
        "statusReason",
        "businessStatus",
        "intent",
        "code",
        "description",
        "focus",
        "for",
        "encounter",
        "executionPeriod",
        "lastModified",
        "requester",
        "owner",
        "location",
    ),
)

COMMUNICATION = ResourceDef(
    "Communication",
    # What the chart's communication log needs (outreach attempts and messages sent).
    Permission.PATIENT_MESSAGE,
    params=params(
        SearchParam("patient", "reference", ("subject",), ("Patient",)),
        SearchParam("subject", "reference", ("subject",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("medium", "token", ("medium",)),
        SearchParam("based-on", "reference", ("basedOn",), ("Task",)),
        SearchParam("recipient", "reference", ("recipient",), _PEOPLE),
        SearchParam("sender", "reference", ("sender",), _PEOPLE),
        # One date per type: when the attempt happened (sent, or received when inbound).
        SearchParam("sent", "date", ("sent", "received")),
    ),
    summary=(
        "identifier",
        "instantiatesCanonical",
        "instantiatesUri",
        "basedOn",
        "partOf",
        "inResponseTo",
        "status",
        "statusReason",
        "priority",
        "subject",
        "encounter",
        "reasonCode",
        "reasonReference",
    ),
)


def _resolved_focus(db: Session, tasks: list[Task]) -> dict[uuid.UUID, str]:
    """Focus records served through another record: a care-plan activity is part of its
    CarePlan, a transition follows up its Encounter (one query each, only when needed)."""
    wanted: dict[str, list[uuid.UUID]] = defaultdict(list)
    for task in tasks:
        if task.focus_type in ("CarePlanActivity", "Transition") and task.focus_id:
            wanted[task.focus_type].append(task.focus_id)
    found: dict[uuid.UUID, str] = {}
    if wanted["CarePlanActivity"]:
        rows = db.execute(
            select(CarePlanActivity.id, CarePlanActivity.care_plan_id).where(
                CarePlanActivity.id.in_(wanted["CarePlanActivity"])
            )
        )
        found.update({a: f"CarePlan/{plan}" for a, plan in rows})
    if wanted["Transition"]:
        rows = db.execute(
            select(Transition.id, Transition.encounter_id).where(
                Transition.id.in_(wanted["Transition"])
            )
        )
        found.update({t: f"Encounter/{encounter}" for t, encounter in rows})
    return found


def _tasks(db: Session, ids: list[uuid.UUID]) -> Rendered:
    tasks = list(db.scalars(select(Task).where(Task.id.in_(ids))))
    if not tasks:
        return
    found = [t.id for t in tasks]
    comments: dict[uuid.UUID, list[TaskComment]] = defaultdict(list)
    for comment in db.scalars(
        select(TaskComment)
        .where(TaskComment.task_id.in_(found))
        .order_by(TaskComment.created_at, TaskComment.id)
    ):
        comments[comment.task_id].append(comment)
    plans: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    links = db.execute(
        select(CarePlanActivity.link_id, CarePlanActivity.care_plan_id).where(
            CarePlanActivity.link_type == "task", CarePlanActivity.link_id.in_(found)
        )
    )
    for task_id, plan_id in links:
        if task_id is not None:
            plans[task_id].add(plan_id)
    queues = {t.queue for t in tasks if t.queue}
    names: dict[str, str] = {}
    if queues:
        rows = db.execute(select(WorkQueue.code, WorkQueue.name).where(WorkQueue.code.in_(queues)))
        names = {code: name for code, name in rows}  # noqa: C416 - rows are not pairs to mypy
    users = [t.owner_id for t in tasks] + [c.created_by for cs in comments.values() for c in cs]
    staff = staff_references(db, users)
    resolved = _resolved_focus(db, tasks)
    for task in tasks:
        resource = task_to_fhir(
            task,
            comments=comments[task.id],
            staff=staff,
            queue_name=names.get(task.queue) if task.queue else None,
            focus=focus_reference(task.focus_type, task.focus_id, resolved),
            based_on=sorted(plans[task.id]),
        )
        base = Index(patient_id=task.patient_id, status=task.status)
        yield resource, extract(resource, TASK.params, base)


def _task_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Task):
        yield obj.id
    elif isinstance(obj, TaskComment):
        yield obj.task_id
    elif isinstance(obj, CarePlanActivity):
        # The task linked now, and one unlinked in this change (its basedOn goes).
        history = inspect(obj).attrs.link_id.history
        for task_id in (*history.added, *history.deleted, obj.link_id):
            if isinstance(task_id, uuid.UUID):
                yield task_id


def _communications(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """The outreach log's attempts, and the messages sent to patients and their families."""
    attempts = list(db.scalars(select(OutreachAttempt).where(OutreachAttempt.id.in_(ids))))
    messages = db.execute(
        select(PatientCommunication, OutboxMessage)
        .outerjoin(OutboxMessage, OutboxMessage.id == PatientCommunication.outbox_id)
        .where(PatientCommunication.id.in_(ids))
    ).all()
    staff = staff_references(
        db, [a.created_by for a in attempts] + [m.created_by for m, _ in messages]
    )
    for attempt in attempts:
        resource = communication_to_fhir(attempt, staff)
        base = Index(patient_id=attempt.patient_id, status=resource["status"])
        yield resource, extract(resource, COMMUNICATION.params, base)
    for message, outbox in messages:
        resource = patient_message_to_fhir(message, outbox, staff)
        base = Index(patient_id=message.patient_id, status=resource["status"])
        yield resource, extract(resource, COMMUNICATION.params, base)


def _communication_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, OutreachAttempt | PatientCommunication):
        yield obj.id
    elif isinstance(obj, OutboxMessage) and obj.patient_id is not None:
        # A delivery result changes the message it delivers.
        session = object_session(obj)
        if session is not None:
            with session.no_autoflush:
                yield from session.scalars(
                    select(PatientCommunication.id).where(PatientCommunication.outbox_id == obj.id)
                )


# A reindex renders both kinds: the ids of the two tables, as one column.
_COMMUNICATION_IDS = union_all(
    select(OutreachAttempt.id.label("id")), select(PatientCommunication.id.label("id"))
).subquery("communication_ids")


TYPES = (
    Projection(TASK, _tasks, _task_feeds, Task.id),
    Projection(COMMUNICATION, _communications, _communication_feeds, _COMMUNICATION_IDS.c.id),
)
