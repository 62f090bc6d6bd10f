"""The HL7 inbox over HTTP under /api/v1/hl7: post one ER7 message and get its ACK back as
text (status 200 for AA, AE and AR alike: the ACK carries the outcome), and read the stored
messages (``?status=rejected`` is the dead-letter list). Permission: HL7_MANAGE."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.lib.errors import BadRequest, PayloadTooLarge
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.transitions import inbox
from carebridge.transitions.inbox import Hl7MessageRead

router = APIRouter(prefix="/api/v1/hl7", tags=["hl7"])
Manager = Annotated[Actor, Depends(Require(Permission.HL7_MANAGE))]
MAX_MESSAGE_BYTES = 1024 * 1024
ER7 = "x-application/hl7-v2+er7"


@router.post(
    "/messages",
    response_class=Response,
    responses={200: {"content": {ER7: {}}, "description": "The ACK (MSA-1 AA, AE or AR)"}},
)
async def post_message(request: Request, db: Db, actor: Manager) -> Response:
    """One HL7 v2 message in ER7 (pipe) encoding as the body. The message is stored, applied
    and committed before the ACK is returned."""
    body = await request.body()
    if len(body) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"An HL7 message may be at most {MAX_MESSAGE_BYTES} bytes")
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"The body is not UTF-8 text (byte {exc.start}); send the message as UTF-8"
        ) from None
    if not raw.strip():
        raise BadRequest("The body is empty; send one HL7 v2 message")
    outcome = inbox.receive(
        db,
        raw,
        source="http",
        peer=actor.client_addr or actor.username,
        settings=settings_of(request),
    )
    return Response(
        content=outcome.ack,
        media_type=ER7,
        headers={"X-Hl7-Message-Id": str(outcome.message_id), "X-Hl7-Ack-Code": outcome.code},
    )


@router.get("/messages")
def list_messages(
    db: Db,
    actor: Manager,
    status: Annotated[
        str | None, Query(description="received, applied, duplicate, rejected or resolved")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Hl7MessageRead]:
    """Stored messages, newest first."""
    return list(inbox.list_messages(db, actor, status=status, limit=limit))


@router.get("/messages/{message_id}")
def read_message(message_id: uuid.UUID, db: Db, actor: Manager) -> Hl7MessageRead:
    return inbox.read_message(db, actor, message_id)
