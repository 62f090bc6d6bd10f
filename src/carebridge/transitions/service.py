"""Reads for the transitions screens and API, and the coordinator's writes on a transition.

The ADT feed (``transitions.inbox``) and the discharge workflow (``transitions.workflow``)
make encounters and transitions; here they are read (the board and census, a patient's
stays, one transition with its tasks and history, the interface queue) and the coordinator
records what was done: the contact, the medication reconciliation, each post-discharge
service, the follow-up visit, the discharge summary, and closing it.

Every read and change is audited with the patient. Services flush and never commit; a
refused change raises before anything is written. ``zone`` is the clinic's time zone (which
calendar day "today" is).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, true
from sqlalchemy.orm import Session

from carebridge.db.history import RecordVersion
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients.models import Document, Patient
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task
from carebridge.tasks.schemas import TaskUpdate
from carebridge.transitions import codes
from carebridge.transitions.inbox import Hl7MessageRead
from carebridge.transitions.models import Encounter, Hl7Message, Transition
from carebridge.transitions.schemas import (
    Census,
    CensusRow,
    EncounterRead,
    TransitionChange,
    TransitionRead,
    TransitionUpdate,
)

_Q = TypeVar("_Q", bound="Select[*tuple[Any, ...]]")
BOARD_LIMIT = 500
DONE_DAYS = 14  # "done" on the board: finished in the last two weeks
IN_HOSPITAL_CLASSES = codes.FOLLOW_UP_CLASSES
MESSAGE_LIMIT = 200
EVENT_WORDS = {
    "A01": "Admitted",
    "A02": "Transferred",
    "A03": "Discharged",
    "A04": "Registered (outpatient or ED)",
    "A05": "Pre-admitted",
    "A06": "Changed to inpatient",
    "A07": "Changed to outpatient",
    "A08": "Details updated",
    "A11": "Admission cancelled",
    "A12": "Transfer cancelled",
    "A13": "Discharge cancelled",
    "A31": "Person details updated",
    "A40": "Charts merged",
}
CANCEL_EVENTS = ("A11", "A12", "A13")
BANDS = {"high": "High risk", "moderate": "Moderate risk", "low": "Low risk"}


# --- small helpers -------------------------------------------------------------------------


def today_in(zone: str, now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(ZoneInfo(zone)).date()


def band(lace: int | None) -> str | None:
    """``high`` / ``moderate`` / ``low`` (the LACE bands of ``codes``), None when not computed."""
    word = codes.lace_band(lace)
    return word.lower() if word else None


def checklist_state(value: Any) -> str:
    """A checklist entry's state, whether stored as a word or as ``{"state": ...}``."""
    if isinstance(value, dict):
        return str(value.get("state") or "to-check")
    return str(value or "to-check")


def _transition_read(
    transition: Transition, today: dt.date, encounter: Encounter | None = None
) -> TransitionRead:
    read = TransitionRead.model_validate(transition)
    open_ = transition.status == "open"
    read.risk_band = band(transition.lace_score)  # type: ignore[assignment]
    read.contact_overdue = (
        open_ and transition.contacted_at is None and transition.contact_due_on < today
    )
    read.follow_up_overdue = (
        open_
        and transition.follow_up_appointment_id is None
        and transition.follow_up_due_on < today
    )
    if encounter is not None:
        read.encounter = EncounterRead.model_validate(encounter)
    return read


def _transition(db: Session, transition_id: uuid.UUID) -> Transition:
    found = db.get(Transition, transition_id)
    if found is None:
        raise NotFound(f"No transition with id {transition_id}")
    return found


def _patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    return patient


# --- the board and the census ---------------------------------------------------------------


@dataclass
class Board:
    census: Census
    facilities: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "in_hospital": len(self.census.in_hospital),
            "awaiting_contact": len(self.census.awaiting_contact),
            "overdue": len(self.census.overdue),
            "in_follow_up": len(self.census.in_follow_up),
            "done": len(self.census.done),
        }


def _filtered(query: _Q, facility: str | None, coordinator_id: uuid.UUID | None) -> _Q:
    if facility:
        query = query.where(Encounter.facility == facility)
    if coordinator_id is not None:
        query = query.where(Patient.primary_coordinator_id == coordinator_id)
    return query


def census(
    db: Session,
    actor: Actor,
    zone: str,
    *,
    facility: str | None = None,
    coordinator_id: uuid.UUID | None = None,
    risk: str | None = None,
    now: dt.datetime | None = None,
    limit: int = BOARD_LIMIT,
) -> Census:
    """The board's sections. In hospital: our patients' in-progress inpatient, observation
    and emergency stays, longest in first. Awaiting contact: open transitions not yet
    contacted, highest LACE first, then the earliest due. Overdue: contact or follow-up
    visit past due (most overdue first). In follow-up: contacted, still open. Done: closed
    in the last two weeks. ``risk`` (high/moderate/low) filters the transitions by LACE band."""
    today = today_in(zone, now)
    names: dict[uuid.UUID, str] = dict(db.execute(select(User.id, User.display_name)).all())
    base = select(Encounter, Patient).join(Patient, Patient.id == Encounter.patient_id)
    base = base.where(Patient.status != "merged")
    inpatients = db.execute(
        _filtered(base, facility, coordinator_id)
        .where(
            Encounter.status == "in-progress",
            Encounter.class_code.in_(IN_HOSPITAL_CLASSES),
        )
        .order_by(Encounter.admit_at, Encounter.id)
        .limit(limit)
    ).all()

    def row(encounter: Encounter, patient: Patient, t: TransitionRead | None) -> CensusRow:
        return CensusRow(
            patient_id=patient.id,
            patient_name=f"{patient.family_name}, {patient.given_names}",
            mrn=patient.mrn,
            coordinator=names.get(patient.primary_coordinator_id)
            if patient.primary_coordinator_id
            else None,
            encounter=EncounterRead.model_validate(encounter),
            transition=t,
        )

    result = Census(
        in_hospital=[row(e, p, None) for e, p in inpatients],
        awaiting_contact=[],
        overdue=[],
        in_follow_up=[],
        done=[],
    )
    since = today - dt.timedelta(days=DONE_DAYS)
    transitions = db.execute(
        _filtered(
            select(Transition, Encounter, Patient)
            .join(Encounter, Encounter.id == Transition.encounter_id)
            .join(Patient, Patient.id == Transition.patient_id)
            .where(Patient.status != "merged"),
            facility,
            coordinator_id,
        )
        .where(
            (Transition.status == "open")
            | ((Transition.status == "done") & (Transition.discharged_on >= since))
        )
        .order_by(Transition.contact_due_on, Transition.id)
        .limit(limit * 2)
    ).all()
    for transition, encounter, patient in transitions:
        read = _transition_read(transition, today, encounter)
        if risk and read.risk_band != risk:
            continue
        entry = row(encounter, patient, read)
        if transition.status == "done":
            result.done.append(entry)
        elif read.contact_overdue or read.follow_up_overdue:
            result.overdue.append(entry)
        elif transition.contacted_at is None:
            result.awaiting_contact.append(entry)
        else:
            result.in_follow_up.append(entry)

    def lace(entry: CensusRow) -> int:
        t = entry.transition
        return -(t.lace_score if t is not None and t.lace_score is not None else -1)

    def due(entry: CensusRow, which: str) -> dt.date:
        t = entry.transition
        if t is None:
            return dt.date.max
        if which == "contact":
            return t.contact_due_on
        if which == "follow-up":
            return t.follow_up_due_on
        if which == "discharge":
            return t.discharged_on
        return t.contact_due_on if t.contact_overdue else t.follow_up_due_on

    result.awaiting_contact.sort(key=lambda e: (lace(e), due(e, "contact")))
    result.overdue.sort(key=lambda e: (due(e, "first"), lace(e)))
    result.in_follow_up.sort(key=lambda e: (due(e, "follow-up"), lace(e)))
    result.done.sort(key=lambda e: due(e, "discharge"), reverse=True)
    record(db, actor, Action.READ, entity_type="Transition", reason="transitions census")
    return result


def board(
    db: Session,
    actor: Actor,
    zone: str,
    *,
    facility: str | None = None,
    coordinator_id: uuid.UUID | None = None,
    risk: str | None = None,
    now: dt.datetime | None = None,
) -> Board:
    found = census(
        db, actor, zone, facility=facility, coordinator_id=coordinator_id, risk=risk, now=now
    )
    facilities = [
        f
        for f in db.scalars(
            select(Encounter.facility)
            .where(Encounter.facility.is_not(None))
            .distinct()
            .order_by(Encounter.facility)
            .limit(100)
        )
        if f
    ]
    return Board(found, facilities)


def list_transitions(
    db: Session,
    actor: Actor,
    zone: str,
    *,
    status: str | None = None,
    risk: str | None = None,
    facility: str | None = None,
    coordinator_id: uuid.UUID | None = None,
    overdue_only: bool = False,
    now: dt.datetime | None = None,
    limit: int = BOARD_LIMIT,
) -> list[TransitionRead]:
    """Transitions across patients, newest discharge first."""
    today = today_in(zone, now)
    query = (
        select(Transition, Encounter)
        .join(Encounter, Encounter.id == Transition.encounter_id)
        .join(Patient, Patient.id == Transition.patient_id)
    )
    if status:
        query = query.where(Transition.status == status)
    query = _filtered(query, facility, coordinator_id)
    rows = db.execute(
        query.order_by(Transition.discharged_on.desc(), Transition.id).limit(limit)
    ).all()
    record(db, actor, Action.READ, entity_type="Transition", reason="transition list")
    found = [_transition_read(t, today, e) for t, e in rows]
    if risk:
        found = [t for t in found if t.risk_band == risk]
    if overdue_only:
        found = [t for t in found if t.contact_overdue or t.follow_up_overdue]
    return found


# --- one patient ----------------------------------------------------------------------------


def encounters(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[EncounterRead]:
    """The patient's hospital stays and visits, newest first."""
    _patient(db, patient_id)
    rows = db.scalars(
        select(Encounter)
        .where(Encounter.patient_id == patient_id)
        .order_by(Encounter.admit_at.desc(), Encounter.created_at.desc())
    ).all()
    record(db, actor, Action.READ, entity_type="Encounter", patient_id=patient_id, reason="list")
    return [EncounterRead.model_validate(e) for e in rows]


@dataclass(frozen=True)
class TimelineEvent:
    """One thing the hospital told us about a stay: admitted, transferred, discharged, a
    cancel, with where the patient was."""

    at: dt.datetime
    event: str
    words: str
    encounter_id: uuid.UUID | None
    facility: str | None
    location: str | None
    cancel: bool


def timeline(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[TimelineEvent]:
    """Each applied ADT event for the patient, newest first. A stay with no message on
    file (entered another way) shows its admit and discharge."""
    _patient(db, patient_id)
    messages = db.execute(
        select(Hl7Message, Encounter)
        .outerjoin(Encounter, Encounter.id == Hl7Message.encounter_id)
        .where(Hl7Message.patient_id == patient_id, Hl7Message.status.in_(("applied", "resolved")))
        .order_by(Hl7Message.received_at.desc())
        .limit(MESSAGE_LIMIT)
    ).all()
    events: list[TimelineEvent] = []
    seen: set[uuid.UUID] = set()
    for message, encounter in messages:
        if message.status == "resolved" and message.replay_of_id is None:
            continue  # a dismissed message was never applied
        code = message.event or ""
        if encounter is not None:
            seen.add(encounter.id)
        events.append(
            TimelineEvent(
                at=message.received_at,
                event=code,
                words=EVENT_WORDS.get(code, code or "Message"),
                encounter_id=encounter.id if encounter else None,
                facility=encounter.facility if encounter else message.sending_facility,
                location=encounter.location if encounter else None,
                cancel=code in CANCEL_EVENTS,
            )
        )
    for encounter in db.scalars(select(Encounter).where(Encounter.patient_id == patient_id)).all():
        if encounter.id in seen:
            continue
        for at, code in ((encounter.admit_at, "A01"), (encounter.discharge_at, "A03")):
            if at is not None:
                events.append(
                    TimelineEvent(
                        at=at,
                        event=code,
                        words=EVENT_WORDS[code],
                        encounter_id=encounter.id,
                        facility=encounter.facility,
                        location=encounter.location,
                        cancel=False,
                    )
                )
    record(
        db, actor, Action.READ, entity_type="Encounter", patient_id=patient_id, reason="timeline"
    )
    return sorted(events, key=lambda e: e.at, reverse=True)


def for_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, zone: str, now: dt.datetime | None = None
) -> list[TransitionRead]:
    """The patient's transitions, newest discharge first."""
    _patient(db, patient_id)
    today = today_in(zone, now)
    rows = db.execute(
        select(Transition, Encounter)
        .join(Encounter, Encounter.id == Transition.encounter_id)
        .where(Transition.patient_id == patient_id)
        .order_by(Transition.discharged_on.desc(), Transition.id)
    ).all()
    record(db, actor, Action.READ, entity_type="Transition", patient_id=patient_id, reason="list")
    return [_transition_read(t, today, e) for t, e in rows]


def get(
    db: Session, actor: Actor, transition_id: uuid.UUID, zone: str, now: dt.datetime | None = None
) -> TransitionRead:
    transition = _transition(db, transition_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type="Transition",
        entity_id=transition.id,
        patient_id=transition.patient_id,
    )
    encounter = db.get(Encounter, transition.encounter_id)
    return _transition_read(transition, today_in(zone, now), encounter)


def tasks_of(db: Session, transition_id: uuid.UUID) -> list[Task]:
    """The tasks the discharge raised (their reads are the transition page's)."""
    return list(
        db.scalars(
            select(Task)
            .where(Task.focus_type == "Transition", Task.focus_id == transition_id)
            .order_by(Task.due_at, Task.created_at)
        )
    )


HISTORY_FIELDS = {
    "status": "status",
    "contacted_at": "contact",
    "contact_note": "contact note",
    "medications_reconciled_at": "medication reconciliation",
    "checklist": "services checklist",
    "follow_up_appointment_id": "follow-up visit",
    "discharge_summary_id": "discharge summary",
    "lace_score": "LACE score",
    "complexity": "complexity",
    "readmission": "readmission flag",
}


def history(db: Session, actor: Actor, transition_id: uuid.UUID) -> list[TransitionChange]:
    """Each saved version of the transition: what changed, who, when (oldest first)."""
    transition = _transition(db, transition_id)
    rows = db.execute(
        select(RecordVersion, User.display_name)
        .outerjoin(User, User.id == RecordVersion.changed_by)
        .where(RecordVersion.entity_type == "Transition", RecordVersion.entity_id == transition.id)
        .order_by(RecordVersion.version, RecordVersion.id)
    ).all()
    record(
        db,
        actor,
        Action.READ,
        entity_type="Transition",
        entity_id=transition.id,
        patient_id=transition.patient_id,
        reason="history",
    )
    changes: list[TransitionChange] = []
    before: dict[str, Any] | None = None
    for version, name in rows:
        data = version.data or {}
        if before is None:
            said = ["opened at discharge"]
        else:
            said = [
                words for key, words in HISTORY_FIELDS.items() if data.get(key) != before.get(key)
            ]
        before = data
        if said:
            changes.append(
                TransitionChange(
                    version=version.version,
                    changed_at=version.changed_at,
                    changed_by=name,
                    changes=said,
                )
            )
    return changes


# --- the coordinator's changes --------------------------------------------------------------


def _appointment(db: Session, patient_id: uuid.UUID, appointment_id: uuid.UUID) -> Appointment:
    visit = db.get(Appointment, appointment_id)
    if visit is None:
        raise ValidationFailed(
            f"There is no appointment with id {appointment_id}.",
            fields={"follow_up_appointment_id": "No appointment has this id."},
        )
    if visit.patient_id != patient_id:
        raise ValidationFailed(
            "That appointment belongs to another patient; link this patient's own follow-up "
            "visit. Nothing was saved.",
            fields={"follow_up_appointment_id": "This appointment is another patient's."},
        )
    if visit.status in ("cancelled", "noshow", "entered-in-error"):
        raise ValidationFailed(
            f"That appointment is {visit.status}; link a booked follow-up visit.",
            fields={"follow_up_appointment_id": f"The appointment is {visit.status}."},
        )
    return visit


def _document(db: Session, patient_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    doc = db.get(Document, document_id)
    if doc is None:
        raise ValidationFailed(
            f"There is no document with id {document_id}.",
            fields={"discharge_summary_id": "No document has this id."},
        )
    if doc.patient_id != patient_id:
        raise ValidationFailed(
            "That document belongs to another patient; attach this patient's discharge "
            "summary. Nothing was saved.",
            fields={"discharge_summary_id": "That document is another patient's."},
        )
    return doc


def update(
    db: Session,
    actor: Actor,
    transition_id: uuid.UUID,
    data: TransitionUpdate,
    zone: str,
    now: dt.datetime | None = None,
) -> TransitionRead:
    """Record what the coordinator did. A closed transition takes no changes (409); a stale
    version is a 409; another patient's appointment or document, or closing before the
    contact is recorded, is a 422. Nothing is saved when any part is refused."""
    now = now or utcnow()
    transition = _transition(db, transition_id)
    check_version("This transition", transition.version, data.version)
    if transition.status != "open":
        raise Conflict(
            f"This transition is {transition.status}; it takes no more changes. Nothing was saved."
        )
    patient = _patient(db, transition.patient_id)
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; open the surviving chart. "
            "Nothing was saved."
        )
    sent = data.model_fields_set
    said: list[str] = []
    if "follow_up_appointment_id" in sent:
        if data.follow_up_appointment_id is not None:
            _appointment(db, patient.id, data.follow_up_appointment_id)
        said.append("follow-up visit linked" if data.follow_up_appointment_id else "visit unlinked")
    if "discharge_summary_id" in sent:
        if data.discharge_summary_id is not None:
            _document(db, patient.id, data.discharge_summary_id)
        said.append("discharge summary attached")
    contacted = transition.contacted_at is not None or bool(data.contacted)
    if data.status == "done" and not contacted:
        raise ValidationFailed(
            "Record the interactive contact with the patient before closing the transition.",
            fields={"contacted": "Record the contact first."},
        )
    if data.checklist:
        known = set(codes.CHECKLIST_ITEMS) | set(transition.checklist or {})
        unknown = [key for key in data.checklist if key not in known]
        if unknown:
            raise ValidationFailed(
                f"Unknown checklist item {unknown[0]!r}; use one of "
                f"{', '.join(codes.CHECKLIST_ITEMS)}.",
                fields={"checklist": f"No checklist item {unknown[0]!r}."},
            )
    # Everything checked: apply.
    if "follow_up_appointment_id" in sent:
        transition.follow_up_appointment_id = data.follow_up_appointment_id
    if "discharge_summary_id" in sent:
        transition.discharge_summary_id = data.discharge_summary_id
    if data.contacted and transition.contacted_at is None:
        transition.contacted_at = now
        said.append("contact recorded")
    elif data.contacted is False and transition.contacted_at is not None:
        transition.contacted_at = None
        said.append("contact cleared")
    if "contact_note" in sent:
        transition.contact_note = data.contact_note or None
    if data.medications_reconciled and transition.medications_reconciled_at is None:
        transition.medications_reconciled_at = now
        said.append("medications reconciled")
    elif data.medications_reconciled is False:
        transition.medications_reconciled_at = None
    if data.checklist:
        checklist = dict(transition.checklist or {})
        for key, state in data.checklist.items():
            old = checklist.get(key)
            if isinstance(old, dict):
                checklist[key] = {**old, "state": state}
            else:
                checklist[key] = {"state": state}
        transition.checklist = checklist
        said.append("services checklist")
    if data.status == "done":
        transition.status = "done"
        said.append("closed")
    db.flush()
    _finish_answered_tasks(db, actor, transition)
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Transition",
        entity_id=transition.id,
        patient_id=transition.patient_id,
        reason=", ".join(said)[:200] or "details",
    )
    return _transition_read(
        transition, today_in(zone, now), db.get(Encounter, transition.encounter_id)
    )


def _answered(transition: Transition) -> list[str]:
    """The follow-up steps (``codes.STEPS``) the transition's record now shows done."""
    done = []
    if transition.contacted_at is not None:
        done.append("contact")
    if transition.medications_reconciled_at is not None:
        done.append("medications")
    if transition.follow_up_appointment_id is not None:
        done.append("follow-up")
    if transition.discharge_summary_id is not None:
        done.append("summary")
    states = [checklist_state(v) for v in (transition.checklist or {}).values()]
    if states and all(state in codes.CHECKLIST_DONE for state in states):
        done.append("services")
    return done


def _finish_answered_tasks(db: Session, actor: Actor, transition: Transition) -> None:
    """Complete the open step tasks (dedupe key ``transition:<id>:<step>:...``) whose step
    the coordinator has just recorded, so the worklist does not chase done work."""
    steps = _answered(transition)
    if not steps:
        return
    open_tasks = db.scalars(
        select(Task).where(
            Task.focus_type == "Transition",
            Task.focus_id == transition.id,
            Task.is_open == true(),
        )
    )
    for task in list(open_tasks):
        parts = (task.dedupe_key or "").split(":")
        if len(parts) >= 3 and parts[0] == "transition" and parts[2] in steps:
            tasks.update(
                db,
                actor,
                task.id,
                TaskUpdate(
                    version=task.version,
                    status="completed",
                    reason=f"Recorded on the transition: {codes.STEPS[parts[2]].lower()}.",
                ),
            )


# --- the interface queue ---------------------------------------------------------------------


def replays_of(db: Session, message_id: uuid.UUID) -> list[Hl7MessageRead]:
    return [
        Hl7MessageRead.model_validate(m)
        for m in db.scalars(
            select(Hl7Message)
            .where(Hl7Message.replay_of_id == message_id)
            .order_by(Hl7Message.received_at)
        )
    ]


def segments(raw: str) -> str:
    """The raw message with one segment a line, as people read and edit it."""
    return "\n".join(part for part in raw.replace("\r\n", "\r").replace("\n", "\r").split("\r"))


def as_hl7(text: str) -> str:
    """Edited text back into a message: lines become CR-separated segments, blanks dropped."""
    lines: Sequence[str] = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\r".join(line for line in lines if line.strip())
