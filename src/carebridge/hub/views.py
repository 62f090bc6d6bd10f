"""The screens of hub: the inbox (/messages, unread first), a new message (/messages/new: to
colleagues, optionally about a patient found by name or MRN, with a file), a thread
(/messages/{id}: every message, a reply form; opening it marks it read) and the chart's
Messages tab (/patients/{id}/messages).

Pages only: every use case is a call into ``hub.service``, which audits. Each write runs in a
savepoint, so a refused one leaves nothing and the page comes back with the reason beside the
form and what was typed kept.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from carebridge.hub import service
from carebridge.hub.api import download
from carebridge.hub.guard import refusals_recorded
from carebridge.lib.errors import AppError, Forbidden, ValidationFailed
from carebridge.patients import service as patients
from carebridge.patients import views as chart_views
from carebridge.patients.models import Patient
from carebridge.patients.schemas import PatientSummary
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.tasks.forms import as_uuid, form_text
from carebridge.web.render import go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Member = Annotated[Actor, Depends(Require(Permission.TEAM_MESSAGES))]
Posted = chart_views.Posted
TAB = "messages"
SHOW = {"all": "All my threads", "unread": "Unread", "patient": "About a patient"}
# Where an error about a service field shows on the forms.
FIELDS = {"patient_id": "patient_id", "to": "to", "text": "text", "subject": "subject"}


def _limit(request: Request) -> int:
    """The largest file a form may carry: 5 MB, or less when the body limit is lower."""
    return min(service.MAX_ATTACHMENT_BYTES, settings_of(request).max_body_bytes - 64 * 1024)


def _files(form: FormData, limit: int) -> list[service.NewFile]:
    found = []
    for value in form.getlist("attachment"):
        if isinstance(value, UploadFile) and (value.filename or value.size):
            content = value.file.read(limit + 1)
            found.append(
                service.NewFile(
                    value.filename or "attachment",
                    value.content_type or "application/octet-stream",
                    content,
                )
            )
    return found


def _errors(exc: AppError) -> dict[str, str]:
    if exc.fields:
        return {FIELDS.get(k, k): v for k, v in exc.fields.items()}
    return {"form": exc.detail}


# --- the inbox ------------------------------------------------------------------------------


@router.get("/messages")
def inbox(request: Request, db: Db, actor: Member, show: str = "all") -> Response:
    chosen = show if show in SHOW else "all"
    threads = service.inbox(
        db,
        actor,
        unread_only=chosen == "unread",
        about_patient=True if chosen == "patient" else None,
    )
    return render(
        request,
        "hub/inbox.html",
        {
            "threads": threads,
            "show": chosen,
            "shows": SHOW,
            "unread_total": service.unread_count(db, actor.user_id) if actor.user_id else 0,
            "limit": service.INBOX_LIMIT,
        },
        active="messages",
    )


# --- a new thread ---------------------------------------------------------------------------


def _new_page(
    request: Request,
    db: Session,
    actor: Actor,
    form: dict[str, Any],
    errors: dict[str, str],
    q: str = "",
    status_code: int = 200,
) -> Response:
    may_patient = service.may_read_patient(actor.role)
    found: list[tuple[str, str]] = []
    chosen = as_uuid(str(form.get("patient_id", ""))) if may_patient else None
    if chosen is not None:
        patient = db.get(Patient, chosen)
        if patient is not None:
            found.append((str(patient.id), _patient_label(patient)))
    if may_patient and q:
        matches, _ = patients.search(db, actor, q, limit=20)
        found += [(str(m.id), _patient_label(m)) for m in matches if m.id != chosen]
    # With the patient chosen, only colleagues who may read the patient are offered.
    people = service.colleagues(db, actor, about_patient=chosen is not None)
    return render(
        request,
        "hub/new.html",
        {
            "form": form,
            "errors": errors,
            "q": q,
            "may_patient": may_patient,
            "patient_options": [("", "Not about a patient"), *found],
            "people": [(p.username, f"{p.display_name} (@{p.username})") for p in people],
            "limit_mb": f"{_limit(request) / (1024 * 1024):.0f}",
        },
        status_code=status_code,
        active="messages",
    )


def _patient_label(patient: Patient | PatientSummary) -> str:
    return (
        f"{patient.family_name}, {patient.given_names} — MRN {patient.mrn}, "
        f"born {patient.birth_date:%d %b %Y}"
    )


@router.get("/messages/new")
def new_thread(
    request: Request,
    db: Db,
    actor: Member,
    patient_id: str = "",
    q: str = "",
    to: str = "",
) -> Response:
    form: dict[str, Any] = {"patient_id": patient_id, "to": [to] if to else []}
    with refusals_recorded(db, actor):
        if patient_id and not service.may_read_patient(actor.role):
            raise Forbidden(
                f"Your role ({actor.role}) may not write threads about a patient",
                extra={"patient_id": patient_id if as_uuid(patient_id) else None},
            )
    return _new_page(request, db, actor, form, {}, q.strip()[:100])


@router.post("/messages", dependencies=[Csrf])
def create_thread(request: Request, db: Db, actor: Member, form: Posted) -> Response:
    typed: dict[str, Any] = {k: form_text(form, k) for k in ("subject", "text", "patient_id")}
    typed["to"] = [v for v in form.getlist("to") if isinstance(v, str) and v]
    try:
        patient_id = as_uuid(typed["patient_id"])
        if typed["patient_id"] and patient_id is None:
            raise ValidationFailed(
                "Choose the patient from the list.",
                fields={"patient_id": "Choose the patient from the list."},
            )
        with refusals_recorded(db, actor), db.begin_nested():
            thread = service.start(
                db,
                actor,
                subject=typed["subject"],
                to=typed["to"],
                patient_id=patient_id,
                text=str(form.get("text") or ""),
                files=_files(form, _limit(request)),
                limit=_limit(request),
            )
    except Forbidden:
        raise
    except AppError as exc:
        return _new_page(request, db, actor, typed, _errors(exc), status_code=exc.status)
    return go_back(request, f"/messages/{thread.id}", "Message sent.")


# --- a thread -------------------------------------------------------------------------------


def _thread_page(
    request: Request,
    db: Session,
    actor: Actor,
    thread_id: uuid.UUID,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    with refusals_recorded(db, actor):
        thread = service.get(db, actor, thread_id, mark_read=True)
    return render(
        request,
        "hub/thread.html",
        {
            "thread": thread,
            "form": form,
            "errors": errors,
            "limit_mb": f"{_limit(request) / (1024 * 1024):.0f}",
        },
        status_code=status_code,
        active="messages",
    )


@router.get("/messages/{thread_id}")
def thread_page(request: Request, db: Db, actor: Member, thread_id: uuid.UUID) -> Response:
    """The thread; opening it marks it read."""
    return _thread_page(request, db, actor, thread_id, {}, {})


@router.post("/messages/{thread_id}/reply", dependencies=[Csrf])
def reply(request: Request, db: Db, actor: Member, thread_id: uuid.UUID, form: Posted) -> Response:
    text = str(form.get("text") or "")
    try:
        with refusals_recorded(db, actor), db.begin_nested():
            service.post(
                db,
                actor,
                thread_id,
                text,
                _files(form, _limit(request)),
                limit=_limit(request),
            )
    except Forbidden:
        raise
    except AppError as exc:
        if exc.status == 404:
            raise
        return _thread_page(request, db, actor, thread_id, {"text": text}, _errors(exc), exc.status)
    return go_back(request, f"/messages/{thread_id}#latest", "Reply sent.")


@router.get("/messages/{thread_id}/attachments/{attachment_id}")
def attachment(db: Db, actor: Member, thread_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    """The file as sent, always as a download."""
    with refusals_recorded(db, actor):
        found = service.attachment(db, actor, thread_id, attachment_id)
    return download(found)


# --- the chart tab --------------------------------------------------------------------------


@router.get("/patients/{patient_id}/messages")
def chart_messages(request: Request, db: Db, actor: Member, patient_id: uuid.UUID) -> Response:
    """The actor's threads about this patient."""
    with refusals_recorded(db, actor):
        threads = service.inbox(db, actor, patient_id=patient_id)
    chart = chart_views.open_chart(request, db, actor, patient_id, "/messages")
    if isinstance(chart, Response):
        return chart
    return chart_views.chart_page(
        request, "hub/chart_tab.html", chart, {"threads": threads}, tab=TAB
    )
