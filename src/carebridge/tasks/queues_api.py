"""JSON API for team queues under /api/v1/queues: everyone who sees a worklist may list
them; changing them (supervisor, members) takes directory rights. Updates carry the queue's
``version``; a stale one is a 409 and nothing is saved."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require
from carebridge.security.roles import Permission
from carebridge.tasks import queues
from carebridge.tasks.queue_schemas import MemberIn, QueueCreate, QueueRead, QueueUpdate
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["tasks"])
Viewer = Annotated[Actor, Depends(Require(Permission.WORKLIST_VIEW))]
Manager = Annotated[Actor, Depends(Require(Permission.DIRECTORY_MANAGE))]


@router.get("/queues")
def list_queues(db: Db, actor: Viewer) -> list[QueueRead]:
    """Every queue with its supervisor and members, active queues first."""
    return queues.list_queues(db)


@router.get("/queues/{queue_id}")
def read_queue(queue_id: uuid.UUID, db: Db, actor: Viewer, response: Response) -> QueueRead:
    found = queues.get_queue(db, queue_id)
    set_etag(response, found.version)
    return found


@router.post("/queues", status_code=201)
def create_queue(body: QueueCreate, db: Db, actor: Manager, response: Response) -> QueueRead:
    """A new queue; 409 when the code is taken, 422 when the supervisor is disabled."""
    made = queues.create_queue(db, actor, body)
    response.headers["Location"] = f"/api/v1/queues/{made.id}"
    set_etag(response, made.version)
    return made


@router.patch("/queues/{queue_id}")
def update_queue(
    queue_id: uuid.UUID, body: QueueUpdate, db: Db, actor: Manager, response: Response
) -> QueueRead:
    changed = queues.update_queue(db, actor, queue_id, body)
    set_etag(response, changed.version)
    return changed


@router.post("/queues/{queue_id}/members", status_code=201)
def add_member(queue_id: uuid.UUID, body: MemberIn, db: Db, actor: Manager) -> QueueRead:
    """Add a person to the queue; 422 when their account is disabled, 409 when they are
    already a member."""
    return queues.add_member(db, actor, queue_id, body.user_id)


@router.delete("/queues/{queue_id}/members/{user_id}")
def remove_member(queue_id: uuid.UUID, user_id: uuid.UUID, db: Db, actor: Manager) -> QueueRead:
    """Take a person off the queue; the tasks they own stay theirs."""
    return queues.remove_member(db, actor, queue_id, user_id)
