"""Task and Communication, rendered from tasks and the outreach log (R4; US Core has no
profile for either).

Pure functions of ORM rows and what the caller looked up (users' references, the queue's
name, the record a task is about). Choices made where R4 and the records do not meet:

- A task's status and priority are R4's own codes; its kind is ``code`` (our codes, no
  standard set has them). The title is ``description``, with the longer text after it.
- ``restriction.period`` is when fulfilment is sought: from when the task was raised to
  when it is due; a finished task's ``executionPeriod.end`` is when it was completed (we do
  not keep when work on it started).
- A task waiting in a team queue has no owner: the queue is its ``performerType``.
- ``focus`` refers to the record a task is about by the type that record is served as
  (a referral is a ServiceRequest, a hospital stay's transition its Encounter, a prior
  authorization a Claim); a record of a kind not served is named by our id and its noun.
- An outreach attempt is a Communication: sent when we reached out, received when the
  patient did; "no answer" and "wrong number" are ``not-done``, and the outcome is the
  ``statusReason`` either way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from carebridge.communications.models import PatientCommunication
from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.elements import coding_of, prune
from carebridge.lib.time import as_utc
from carebridge.messaging.models import OutboxMessage
from carebridge.tasks.codes import KINDS, OUTREACH_CHANNELS, OUTREACH_OUTCOMES
from carebridge.tasks.focus import NOUNS
from carebridge.tasks.models import OutreachAttempt, Task, TaskComment

TASK_KIND = "urn:carebridge:task-kind"
WORK_QUEUE = "urn:carebridge:work-queue"
OUTREACH_OUTCOME = "urn:carebridge:outreach-outcome"
RECORD = "urn:carebridge:record:"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"

# The type each kind of record a task may concern is served as (ids are the records' own).
FOCUS_TYPES = {
    "Patient": "Patient",
    "Appointment": "Appointment",
    "CarePlan": "CarePlan",
    "Goal": "Goal",
    "Task": "Task",
    "Referral": "ServiceRequest",
    "PriorAuthorization": "Claim",
    "EligibilityCheck": "CoverageEligibilityRequest",
}
# v3 ParticipationMode of each channel; a text message is written, without a finer code.
MEDIUM = {
    "phone": ("PHONE", "telephone"),
    "sms": ("WRITTEN", "written"),
    "email": ("EMAILWRIT", "email"),
    "letter": ("MAILWRIT", "mail"),
    "in-person": ("FACE", "face-to-face"),
}
NOT_DONE = frozenset({"no-answer", "wrong-number"})


def instant(moment: dt.datetime) -> str:
    """A FHIR dateTime in UTC to the second (what a screen shows; stable across reloads)."""
    return as_utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")


def focus_reference(
    focus_type: str | None, focus_id: uuid.UUID | None, resolved: Mapping[uuid.UUID, str]
) -> dict[str, Any] | None:
    """``resolved``: the reference worked out from another record (an activity's plan, a
    transition's encounter), by focus id."""
    if focus_type is None or focus_id is None:
        return None
    if focus_id in resolved:
        return {"reference": resolved[focus_id]}
    served = FOCUS_TYPES.get(focus_type)
    if served is not None:
        return {"reference": f"{served}/{focus_id}"}
    noun = NOUNS.get(focus_type, focus_type)
    return {
        "identifier": {"system": RECORD + focus_type, "value": str(focus_id)},
        "display": noun[:1].upper() + noun[1:],
    }


def _note(comment: TaskComment, staff: Mapping[uuid.UUID, dict[str, Any]]) -> dict[str, Any]:
    author = staff.get(comment.created_by) if comment.created_by else None
    by: dict[str, Any] = {}
    if author is not None and "reference" in author:
        by["authorReference"] = author
    elif author is not None:
        by["authorString"] = author.get("display")
    return {**by, "time": instant(comment.created_at), "text": comment.text}


def task_to_fhir(
    task: Task,
    *,
    comments: Sequence[TaskComment] = (),
    staff: Mapping[uuid.UUID, dict[str, Any]] | None = None,
    queue_name: str | None = None,
    focus: dict[str, Any] | None = None,
    based_on: Sequence[uuid.UUID] = (),
) -> dict[str, Any]:
    """A task as an R4 Task. ``staff``: the reference for each user (owner, commenters);
    ``focus``: from ``focus_reference``; ``based_on``: the care plans it carries out."""
    staff = staff or {}
    kind = KINDS.get(task.kind, task.kind)
    owner = staff.get(task.owner_id) if task.owner_id else None
    resource = {
        "resourceType": "Task",
        "id": str(task.id),
        "basedOn": [{"reference": f"CarePlan/{plan}"} for plan in based_on],
        "status": task.status,
        "businessStatus": {"text": task.business_status} if task.business_status else None,
        "intent": "order",
        "priority": task.priority,
        "code": {"coding": [coding_of(TASK_KIND, task.kind, kind)], "text": kind},
        "description": "\n\n".join(t for t in (task.title, task.description) if t),
        "focus": focus,
        "for": {"reference": f"Patient/{task.patient_id}"} if task.patient_id else None,
        "executionPeriod": {"end": instant(task.completed_at)} if task.completed_at else None,
        "authoredOn": instant(task.created_at),
        "lastModified": instant(task.updated_at),
        "performerType": [
            {"coding": [coding_of(WORK_QUEUE, task.queue, queue_name)], "text": queue_name}
        ]
        if task.queue
        else None,
        "owner": owner,
        "note": [_note(c, staff) for c in comments],
        "restriction": {"period": {"start": instant(task.created_at), "end": instant(task.due_at)}},
    }
    return cast(dict[str, Any], prune(resource))


def communication_to_fhir(
    attempt: OutreachAttempt, staff: Mapping[uuid.UUID, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An outreach attempt as an R4 Communication. ``staff``: the reference of the user who
    logged it (the one who reached out, or who took the patient's call)."""
    staff = staff or {}
    patient = {"reference": f"Patient/{attempt.patient_id}"}
    other = {"display": attempt.contact_name} if attempt.contact_name else patient
    us = staff.get(attempt.created_by) if attempt.created_by else None
    inbound = attempt.direction == "inbound"
    code, display = MEDIUM[attempt.channel]
    outcome = OUTREACH_OUTCOMES.get(attempt.outcome, attempt.outcome)
    when = instant(attempt.occurred_at)
    resource = {
        "resourceType": "Communication",
        "id": str(attempt.id),
        "basedOn": [{"reference": f"Task/{attempt.task_id}"}] if attempt.task_id else None,
        "status": "not-done" if attempt.outcome in NOT_DONE else "completed",
        "statusReason": {
            "coding": [coding_of(OUTREACH_OUTCOME, attempt.outcome, outcome)],
            "text": outcome,
        },
        "medium": [
            {
                "coding": [coding_of(PARTICIPATION_MODE, code, display)],
                "text": OUTREACH_CHANNELS.get(attempt.channel, attempt.channel),
            }
        ],
        "subject": patient,
        "sent": None if inbound else when,
        "received": when if inbound else None,
        "recipient": [us] if inbound and us else [other] if not inbound else None,
        "sender": other if inbound else us,
        "note": [{"text": attempt.note}] if attempt.note else None,
    }
    return cast(dict[str, Any], prune(resource))


def patient_message_to_fhir(
    message: PatientCommunication,
    outbox: OutboxMessage | None,
    staff: Mapping[uuid.UUID, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message to a patient or their family (``communications``) as an R4 Communication:
    an email or SMS is in progress until the outbox delivers it (completed) or gives it up
    (not-done, with why); a letter is in preparation until it is marked mailed."""
    staff = staff or {}
    if message.channel == "letter":
        status, reason = ("completed", None) if message.mailed_at else ("preparation", None)
        sent = message.mailed_at
    else:
        state = outbox.status if outbox is not None else "pending"
        status = {"sent": "completed", "failed": "not-done", "cancelled": "not-done"}.get(
            state, "in-progress"
        )
        reason = outbox.last_error if outbox is not None and status == "not-done" else None
        sent = outbox.sent_at if outbox is not None else None
    code, display = MEDIUM[message.channel]
    recipient = (
        {"reference": f"RelatedPerson/{message.related_person_id}"}
        if message.related_person_id
        else {"reference": f"Patient/{message.patient_id}"}
    )
    recipient["display"] = message.recipient_name
    words = "\n\n".join(t for t in (message.subject, message.body) if t)
    resource = {
        "resourceType": "Communication",
        "id": str(message.id),
        "status": status,
        "statusReason": {"text": reason} if reason else None,
        "medium": [
            {
                "coding": [coding_of(PARTICIPATION_MODE, code, display)],
                "text": OUTREACH_CHANNELS.get(message.channel, message.channel),
            }
        ],
        "subject": {"reference": f"Patient/{message.patient_id}"},
        "sent": instant(sent) if sent else None,
        "recipient": [recipient],
        "sender": staff.get(message.created_by) if message.created_by else None,
        "payload": [{"contentString": words}],
    }
    return cast(dict[str, Any], prune(resource))


# --- reading a Task sent to us -------------------------------------------------------------

# The other way from FOCUS_TYPES: the kind of record a focus reference names.
FOCUS_KINDS = {served: kind for kind, served in FOCUS_TYPES.items()}


def _invalid(path: str, message: str) -> FhirError:
    return FhirError(422, "invalid", f"{path}: {message}", expression=[path])


def _text(resource: Mapping[str, Any], key: str) -> str | None:
    value = resource.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"Task.{key}", "must be a string")
    return value


def _due(resource: Mapping[str, Any]) -> dt.datetime | None:
    restriction = resource.get("restriction")
    period = restriction.get("period") if isinstance(restriction, dict) else None
    end = period.get("end") if isinstance(period, dict) else None
    if end is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid("Task.restriction.period.end", f"{end!r} is not a dateTime") from exc
    if moment.tzinfo is None:
        raise _invalid("Task.restriction.period.end", "give the time zone (Z or +hh:mm)")
    return moment


def _coded(concept: Any, system: str) -> str | None:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and coding.get("system") == system:
            code = coding.get("code")
            return str(code) if code is not None else None
    return None


def _reference(resource: Mapping[str, Any], key: str) -> tuple[str, uuid.UUID] | None:
    node = resource.get(key)
    text = node.get("reference") if isinstance(node, dict) else None
    if text is None:
        return None
    kind, _, rid = str(text).partition("/")
    try:
        return kind, uuid.UUID(rid)
    except ValueError as exc:
        raise _invalid(f"Task.{key}", f"{text!r} is not a reference to a record here") from exc


def task_values_from_fhir(resource: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """What a Task sent to us sets, as the fields of a task (TaskCreate/TaskUpdate), and
    what of it is not kept."""
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key in ("status", "priority"):
        if (text := _text(resource, key)) is not None:
            values[key] = text
    business = resource.get("businessStatus")
    if isinstance(business, dict) and isinstance(business.get("text"), str):
        values["business_status"] = business["text"]
    reason = resource.get("statusReason")
    if isinstance(reason, dict) and isinstance(reason.get("text"), str):
        values["reason"] = reason["text"]
    if (due := _due(resource)) is not None:
        values["due_at"] = due
    description = _text(resource, "description")
    if description:
        title, _, rest = description.partition("\n\n")
        values["title"] = title.strip()[:200]
        values["description"] = rest.strip() or None
    kind = _coded(resource.get("code"), TASK_KIND)
    if kind is not None:
        values["kind"] = kind
    performer = resource.get("performerType")
    if isinstance(performer, list) and performer:
        queue = _coded(performer[0], WORK_QUEUE)
        if queue is not None:
            values["queue"] = queue
    patient = _reference(resource, "for")
    if patient is not None:
        if patient[0] != "Patient":
            raise _invalid("Task.for", "must be a Patient")
        values["patient_id"] = patient[1]
    focus = _reference(resource, "focus")
    if focus is not None:
        if focus[0] not in FOCUS_KINDS:
            raise _invalid("Task.focus", f"{focus[0]} is not a record a task can be about")
        values["focus_type"], values["focus_id"] = FOCUS_KINDS[focus[0]], focus[1]
    for key in ("owner", "note", "basedOn", "input", "output"):
        if resource.get(key):
            warnings.append(f"Task.{key}: not set through FHIR (use the task's screen)")
    return values, warnings
