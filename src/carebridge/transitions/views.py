"""Transitions-of-care screens: the board across patients (in hospital now, discharged
awaiting contact, overdue, in follow-up, done), one transition with its risk, checklist,
tasks and history, the chart's "Hospital stays" tab (encounter timeline), and the interface
queue where rejected HL7 messages are corrected and replayed or dismissed.

Pages only: every use case is a call into ``transitions.service`` (or ``transitions.inbox``
for the queue), which audit reads and changes. Each write runs in a savepoint, so a refused
one leaves nothing and the page comes back with the reason beside the form.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.lib.errors import AppError, NotFound
from carebridge.lib.time import utcnow
from carebridge.patients import views as chart_views
from carebridge.patients.models import Document
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.models import User
from carebridge.security.roles import Permission, Role, allows
from carebridge.tasks.forms import form_text
from carebridge.tasks.service import overdue as task_overdue
from carebridge.transitions import codes, inbox, service
from carebridge.transitions.models import Hl7Message, Transition
from carebridge.transitions.schemas import TransitionUpdate
from carebridge.web.render import clinic_today, go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.TRANSITION_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.TRANSITION_WRITE))]
Interface = Annotated[Actor, Depends(Require(Permission.HL7_MANAGE))]
Posted = chart_views.Posted

TAB = "hospital-stays"
RISKS = [
    ("", "Any risk"),
    ("high", "High (LACE 10 or more)"),
    ("moderate", "Moderate (LACE 5 to 9)"),
    ("low", "Low (LACE 0 to 4)"),
]
QUEUE_STATUSES = {
    "rejected": "Rejected (needs attention)",
    "resolved": "Resolved",
    "applied": "Applied",
    "duplicate": "Duplicate",
    "received": "Received, not processed",
}
ACTIONS = ("contact", "medications", "services", "follow-up", "summary", "close")


def _zone(request: Request) -> str:
    return settings_of(request).timezone


def _coordinators(db: Session) -> list[tuple[str, str]]:
    rows = db.execute(
        select(User.id, User.display_name)
        .where(User.role == Role.COORDINATOR.value, User.is_active.is_(True))
        .order_by(User.display_name)
    ).all()
    return [("", "Any coordinator")] + [(str(uid), name) for uid, name in rows]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- the board -----------------------------------------------------------------------------


@router.get("/transitions")
def board(
    request: Request,
    db: Db,
    actor: Reader,
    facility: str = "",
    coordinator: str = "",
    risk: str = "",
) -> Response:
    coordinator_id = _uuid(coordinator) if coordinator else None
    chosen = {
        "facility": facility[:227],
        "coordinator": str(coordinator_id) if coordinator_id else "",
        "risk": risk if risk in ("high", "moderate", "low") else "",
    }
    found = service.board(
        db,
        actor,
        _zone(request),
        facility=chosen["facility"] or None,
        coordinator_id=coordinator_id,
        risk=chosen["risk"] or None,
    )
    return render(
        request,
        "transitions/board.html",
        {
            "board": found,
            "census": found.census,
            "chosen": chosen,
            "options": {
                "facility": [("", "Any facility")] + [(f, f) for f in found.facilities],
                "coordinator": _coordinators(db),
                "risk": RISKS,
            },
            "tcodes": codes,
            "today": clinic_today(request),
            "now": utcnow(),
        },
        active="transitions",
    )


# --- the chart tab -------------------------------------------------------------------------


@router.get("/patients/{patient_id}/hospital-stays")
def hospital_stays(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/hospital-stays")
    if isinstance(chart, Response):
        return chart
    zone = _zone(request)
    stays = service.encounters(db, actor, patient_id)
    return chart_views.chart_page(
        request,
        "transitions/stays.html",
        chart,
        {
            "events": service.timeline(db, actor, patient_id),
            "stays": stays,
            "stay_index": {s.id: s for s in stays},
            "transitions": service.for_patient(db, actor, patient_id, zone),
            "tcodes": codes,
            "event_words": service.EVENT_WORDS,
        },
        tab=TAB,
    )


# --- one transition ------------------------------------------------------------------------


def _owned(db: Session, patient_id: uuid.UUID, transition_id: uuid.UUID) -> None:
    found = db.get(Transition, transition_id)
    if found is None or found.patient_id != patient_id:
        raise NotFound(f"This patient has no transition with id {transition_id}")


def _transition_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    transition_id: uuid.UUID,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    _owned(db, patient_id, transition_id)
    chart = chart_views.open_chart(request, db, actor, patient_id, f"/transitions/{transition_id}")
    if isinstance(chart, Response):
        return chart
    zone = _zone(request)
    t = service.get(db, actor, transition_id, zone)
    visits = db.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status.not_in(("cancelled", "noshow", "entered-in-error")),
            Appointment.starts_at >= utcnow() - dt.timedelta(days=7),
        )
        .order_by(Appointment.starts_at)
        .limit(30)
    ).all()
    documents = db.execute(
        select(Document.id, Document.title)
        .where(Document.patient_id == patient_id)
        .order_by(Document.created_at.desc())
        .limit(50)
    ).all()
    linked_visit = (
        db.get(Appointment, t.follow_up_appointment_id) if t.follow_up_appointment_id else None
    )
    summary = db.get(Document, t.discharge_summary_id) if t.discharge_summary_id else None
    readmission_of = None
    if t.encounter is not None and t.encounter.readmission_of_id is not None:
        readmission_of = db.scalar(
            select(Transition).where(Transition.encounter_id == t.encounter.readmission_of_id)
        )
    checklist = [
        (key, codes.CHECKLIST_ITEMS.get(key, key.replace("-", " ").capitalize()), value)
        for key, value in {
            **dict.fromkeys(codes.CHECKLIST_ITEMS, None),
            **(t.checklist or {}),
        }.items()
    ]
    now = utcnow()
    return chart_views.chart_page(
        request,
        "transitions/transition.html",
        chart,
        {
            "t": t,
            "e": t.encounter,
            "tcodes": codes,
            "band_words": service.BANDS,
            "checklist": checklist,
            "state_of": service.checklist_state,
            "tasks": service.tasks_of(db, transition_id),
            "task_overdue": lambda task: task_overdue(task, now),
            "history": service.history(db, actor, transition_id),
            "visits": visits,
            "documents": documents,
            "linked_visit": linked_visit,
            "summary": summary,
            "readmission_of": readmission_of,
            "form": form,
            "errors": errors,
            "can_write": allows(actor.role, Permission.TRANSITION_WRITE),
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/transitions/{transition_id}")
def transition_page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, transition_id: uuid.UUID
) -> Response:
    return _transition_page(request, db, actor, patient_id, transition_id, {}, {})


def _change(action: str, form: FormData) -> dict[str, Any]:
    """What one of the page's forms asks for, as a TransitionUpdate body."""
    if action == "contact":
        return {"contacted": True, "contact_note": form_text(form, "contact_note") or None}
    if action == "medications":
        return {"medications_reconciled": True}
    if action == "services":
        return {
            "checklist": {
                key[len("item-") :]: form_text(form, key)
                for key in form
                if key.startswith("item-") and form_text(form, key)
            }
        }
    if action == "follow-up":
        return {"follow_up_appointment_id": form_text(form, "follow_up_appointment_id") or None}
    if action == "summary":
        return {"discharge_summary_id": form_text(form, "discharge_summary_id") or None}
    if action == "close":
        return {"status": "done"}
    return {}


DONE_WORDS = {
    "contact": "Contact recorded.",
    "medications": "Medication reconciliation recorded.",
    "services": "Services checklist saved.",
    "follow-up": "Follow-up visit saved.",
    "summary": "Discharge summary saved.",
    "close": "Transition closed.",
}


@router.post("/patients/{patient_id}/transitions/{transition_id}", dependencies=[Csrf])
def change_transition(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    transition_id: uuid.UUID,
    form: Posted,
) -> Response:
    typed = {k: form_text(form, k) for k in form if k != "csrf_token"}
    _owned(db, patient_id, transition_id)
    action = form_text(form, "action")
    if action not in ACTIONS:
        errors = {"form": f"Unknown step “{action[:40]}”; use one of the page's buttons."}
        return _transition_page(request, db, actor, patient_id, transition_id, typed, errors, 422)
    try:
        data = TransitionUpdate.model_validate(
            {**_change(action, form), "version": form_text(form, "version")}
        )
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            service.update(db, actor, transition_id, data, _zone(request))
    except ValidationError as exc:
        errors = {
            str(err["loc"][0]) if err["loc"] else "form": chart_views.plain(
                str(err["loc"][0]) if err["loc"] else "form", err
            )
            for err in exc.errors()
        }
        errors.setdefault("form", "Please correct the marked field.")
        return _transition_page(request, db, actor, patient_id, transition_id, typed, errors, 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        if "form" not in errors:
            errors["form"] = exc.detail
        return _transition_page(
            request, db, actor, patient_id, transition_id, typed, errors, exc.status
        )
    return go_back(
        request, f"/patients/{patient_id}/transitions/{transition_id}", DONE_WORDS[action]
    )


# --- the interface queue -------------------------------------------------------------------


@router.get("/hl7/messages")
def message_queue(request: Request, db: Db, actor: Interface, status: str = "rejected") -> Response:
    chosen = status if status in QUEUE_STATUSES else "rejected"
    return render(
        request,
        "transitions/queue.html",
        {
            "messages": inbox.list_messages(db, actor, status=chosen, limit=service.MESSAGE_LIMIT),
            "chosen": chosen,
            "statuses": QUEUE_STATUSES,
            "limit": service.MESSAGE_LIMIT,
        },
        active="hl7",
    )


def _message_page(
    request: Request,
    db: Session,
    actor: Actor,
    message_id: uuid.UUID,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    message = inbox.read_message(db, actor, message_id)
    raw = message.raw
    original = inbox.read_message(db, actor, message.replay_of_id) if message.replay_of_id else None
    return render(
        request,
        "transitions/message.html",
        {
            "m": message,
            "text": form.get("raw") or service.segments(raw),
            "reason": form.get("reason", ""),
            "replays": service.replays_of(db, message_id),
            "original": original,
            "errors": errors,
            "statuses": QUEUE_STATUSES,
            "event_words": service.EVENT_WORDS,
        },
        status_code=status_code,
        active="hl7",
    )


@router.get("/hl7/messages/{message_id}")
def message_page(request: Request, db: Db, actor: Interface, message_id: uuid.UUID) -> Response:
    return _message_page(request, db, actor, message_id, {}, {})


def _waiting(db: Session, message_id: uuid.UUID) -> Hl7Message:
    found = db.get(Hl7Message, message_id)
    if found is None:
        raise NotFound(f"No HL7 message with id {message_id}")
    return found


@router.post("/hl7/messages/{message_id}/replay", dependencies=[Csrf])
def replay(
    request: Request, db: Db, actor: Interface, message_id: uuid.UUID, form: Posted
) -> Response:
    _waiting(db, message_id)
    text = form_text(form, "raw")
    typed = {"raw": text}
    if not text:
        errors = {"raw": "The message is empty; paste or correct the message to replay."}
        return _message_page(request, db, actor, message_id, typed, errors, 422)
    try:
        with db.begin_nested():
            outcome = inbox.replay(
                db, actor, message_id, service.as_hl7(text), settings_of(request)
            )
    except AppError as exc:
        errors = chart_views.app_errors(exc, "raw")
        return _message_page(request, db, actor, message_id, typed, errors, exc.status)
    if outcome.code == "AA":
        return go_back(
            request,
            f"/hl7/messages/{outcome.message_id}",
            f"Replayed and applied ({outcome.status}). The original is marked resolved.",
        )
    return go_back(
        request,
        f"/hl7/messages/{outcome.message_id}",
        f"The corrected message was refused again ({outcome.code}): {outcome.error or ''}",
        "error",
    )


@router.post("/hl7/messages/{message_id}/dismiss", dependencies=[Csrf])
def dismiss(
    request: Request, db: Db, actor: Interface, message_id: uuid.UUID, form: Posted
) -> Response:
    _waiting(db, message_id)
    reason = form_text(form, "reason")
    typed = {"reason": reason}
    if not reason:
        errors = {"reason": "Say why the message is dismissed (e.g. “test message sent in error”)."}
        return _message_page(request, db, actor, message_id, typed, errors, 422)
    try:
        with db.begin_nested():
            inbox.dismiss(db, actor, message_id, reason[:500])
    except AppError as exc:
        errors = chart_views.app_errors(exc, "reason")
        return _message_page(request, db, actor, message_id, typed, errors, exc.status)
    return go_back(request, "/hl7/messages?status=rejected", "Message dismissed.")
