"""The JSON API of hub: care-team threads under /api/v1. Only participants read a thread;
a thread about a patient needs a role that may read the patient's history (billing staff use
threads not about a patient). Messages are never edited or deleted: a correction is a new
message. Files travel as base64 in the JSON body (at most 5 MB each)."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response

from carebridge.hub import service
from carebridge.hub.guard import refusals_recorded
from carebridge.hub.models import TeamAttachment
from carebridge.hub.schemas import (
    AttachmentIn,
    MessageCreate,
    MessageRead,
    ReadState,
    ThreadCreate,
    ThreadRead,
    ThreadSummary,
)
from carebridge.lib.errors import ValidationFailed
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require
from carebridge.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["hub"])
Member = Annotated[Actor, Depends(Require(Permission.TEAM_MESSAGES))]


def _files(attachments: list[AttachmentIn]) -> list[service.NewFile]:
    files = []
    for n, item in enumerate(attachments):
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(
                f"attachments[{n}].content_base64 of “{item.filename}” is not valid base64. "
                "Nothing was sent.",
                fields={f"attachments.{n}.content_base64": "Not valid base64."},
            ) from None
        files.append(service.NewFile(item.filename, item.content_type, content))
    return files


@router.get("/threads")
def list_threads(
    db: Db,
    actor: Member,
    unread: Annotated[bool, Query(description="Only threads with unread messages")] = False,
    about_patient: Annotated[
        bool | None, Query(description="true: only about a patient; false: only not")
    ] = None,
    patient_id: Annotated[uuid.UUID | None, Query(description="Only about this patient")] = None,
) -> list[ThreadSummary]:
    """The caller's threads, unread first, then latest activity first (at most 200)."""
    with refusals_recorded(db, actor):
        return service.inbox(
            db, actor, unread_only=unread, about_patient=about_patient, patient_id=patient_id
        )


@router.post("/threads", status_code=201)
def create_thread(body: ThreadCreate, response: Response, db: Db, actor: Member) -> ThreadRead:
    """A new thread with its first message. 422 names an unknown username, a colleague who
    may not read the patient, or a file that is too large; nothing is stored then."""
    files = _files(body.attachments)
    with refusals_recorded(db, actor):
        thread = service.start(
            db,
            actor,
            subject=body.subject,
            to=body.to,
            patient_id=body.patient_id,
            text=body.text,
            files=files,
        )
    response.headers["Location"] = f"/api/v1/threads/{thread.id}"
    return thread


@router.get("/threads/{thread_id}")
def read_thread(thread_id: uuid.UUID, db: Db, actor: Member) -> ThreadRead:
    """A thread with every message (reading it does not mark it read: POST .../read)."""
    with refusals_recorded(db, actor):
        return service.get(db, actor, thread_id)


@router.post("/threads/{thread_id}/messages", status_code=201)
def post_message(
    thread_id: uuid.UUID, body: MessageCreate, response: Response, db: Db, actor: Member
) -> MessageRead:
    """A reply. ``@username`` adds that colleague to the thread and notifies them."""
    files = _files(body.attachments)
    with refusals_recorded(db, actor):
        message = service.post(db, actor, thread_id, body.text, files)
    response.headers["Location"] = f"/api/v1/threads/{thread_id}"
    return message


@router.post("/threads/{thread_id}/read")
def mark_thread_read(thread_id: uuid.UUID, db: Db, actor: Member) -> ReadState:
    """Mark every message of the thread read for the caller."""
    with refusals_recorded(db, actor):
        return service.mark_read(db, actor, thread_id)


@router.get("/threads/{thread_id}/attachments/{attachment_id}")
def download_attachment(
    thread_id: uuid.UUID, attachment_id: uuid.UUID, db: Db, actor: Member
) -> Response:
    """The file as sent, always as a download (never shown inline)."""
    with refusals_recorded(db, actor):
        found = service.attachment(db, actor, thread_id, attachment_id)
    return download(found)


def download(found: TeamAttachment) -> Response:
    """The file as sent, always as a download (never shown inline, never sniffed)."""
    ascii_name = "".join(ch if ch.isascii() and ch not in '"\\;' else "_" for ch in found.filename)
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Content-Disposition": (
                f'attachment; filename="{ascii_name}"; '
                f"filename*=UTF-8''{quote(found.filename, safe='')}"
            ),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
