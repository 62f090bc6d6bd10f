"""The JSON API of communications under /api/v1: message templates (list and read for those
who send messages; add, change and retire for those who manage templates), sending a message
to a patient or their family, and the patient's communication log. A refused message is a
422 naming the reason (no consent for the channel, no address, unknown placeholder...) and
nothing is written."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.communications import service
from carebridge.communications.schemas import (
    Channel,
    Language,
    LogChannel,
    LogEntry,
    MessageCreate,
    MessageRead,
    Sent,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["communications"])
Sender = Annotated[Actor, Depends(Require(Permission.PATIENT_MESSAGE))]
Manager = Annotated[Actor, Depends(Require(Permission.TEMPLATES_MANAGE))]


# --- templates -------------------------------------------------------------------------------


@router.get("/communication-templates")
def list_templates(
    db: Db,
    actor: Sender,
    channel: Channel | None = None,
    language: Language | None = None,
    include_inactive: bool = False,
) -> list[TemplateRead]:
    """Templates by name, channel and language (active ones unless asked)."""
    return service.list_templates(
        db, channel=channel, language=language, include_inactive=include_inactive
    )


@router.post("/communication-templates", status_code=201)
def create_template(
    body: TemplateCreate, response: Response, db: Db, actor: Manager
) -> TemplateRead:
    """Add a template. 422 names an unknown placeholder; 409 when the code already has a
    template for that channel and language."""
    template = service.create_template(db, actor, body)
    response.headers["Location"] = f"/api/v1/communication-templates/{template.id}"
    set_etag(response, template.version)
    return template


@router.get("/communication-templates/{template_id}")
def read_template(
    template_id: uuid.UUID, response: Response, db: Db, actor: Sender
) -> TemplateRead:
    template = service.get_template(db, template_id)
    set_etag(response, template.version)
    return template


@router.patch("/communication-templates/{template_id}")
def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, response: Response, db: Db, actor: Manager
) -> TemplateRead:
    """Change the name, subject, text or active flag; ``version`` must be current (409)."""
    template = service.update_template(db, actor, template_id, body)
    set_etag(response, template.version)
    return template


@router.delete("/communication-templates/{template_id}", status_code=204)
def retire_template(template_id: uuid.UUID, db: Db, actor: Manager) -> Response:
    """Retire a template: it is kept (messages sent with it name it) but no longer offered."""
    current = service.get_template(db, template_id)
    service.update_template(
        db, actor, template_id, TemplateUpdate(version=current.version, active=False)
    )
    return Response(status_code=204)


# --- messages --------------------------------------------------------------------------------


@router.post("/patients/{patient_id}/communications", status_code=201)
def send_message(
    patient_id: uuid.UUID,
    body: MessageCreate,
    request: Request,
    response: Response,
    db: Db,
    actor: Sender,
) -> Sent:
    """Send an email or text message (through the outbox) or make a letter to print. The
    answer says which language was chosen and whether quiet hours hold the message."""
    sent = service.send(db, actor, settings_of(request), patient_id, body)
    response.headers["Location"] = f"/api/v1/patients/{patient_id}/communications/{sent.message.id}"
    return sent


@router.get("/patients/{patient_id}/communications")
def communication_log(
    patient_id: uuid.UUID,
    db: Db,
    actor: Sender,
    channel: Annotated[LogChannel | None, Query(description="Only this channel")] = None,
) -> list[LogEntry]:
    """The communication log: messages with their delivery attempts, appointment reminders
    and the outreach log, newest first."""
    return service.communication_log(db, actor, patient_id, channel)


@router.get("/patients/{patient_id}/communications/{communication_id}")
def read_message(
    patient_id: uuid.UUID, communication_id: uuid.UUID, db: Db, actor: Sender
) -> MessageRead:
    return service.get(db, actor, patient_id, communication_id)


@router.post("/patients/{patient_id}/communications/{communication_id}/mailed")
def mark_mailed(
    patient_id: uuid.UUID, communication_id: uuid.UUID, db: Db, actor: Sender
) -> MessageRead:
    """Record a printed letter as sent by mail."""
    return service.mark_mailed(db, actor, patient_id, communication_id)
