"""Team queues: which ones a person works, who supervises each, and keeping them (create,
rename, change the supervisor, add and remove members). A disabled account can be neither a
supervisor nor a new member: work would wait in a queue nobody reads."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.tasks.models import QueueMember, WorkQueue
from carebridge.tasks.queue_schemas import MemberRead, QueueCreate, QueueRead, QueueUpdate


def member_codes(db: Session, user_id: uuid.UUID) -> list[str]:
    """Codes of the active queues ``user_id`` works, alphabetically."""
    return list(
        db.scalars(
            select(WorkQueue.code)
            .join(QueueMember, QueueMember.queue_id == WorkQueue.id)
            .where(QueueMember.user_id == user_id, WorkQueue.is_active.is_(True))
            .order_by(WorkQueue.code)
        )
    )


def by_code(db: Session, code: str) -> WorkQueue | None:
    return db.scalar(select(WorkQueue).where(WorkQueue.code == code))


# --- reading ---------------------------------------------------------------------------


def list_queues(db: Session, *, ids: list[uuid.UUID] | None = None) -> list[QueueRead]:
    """Every queue (or those in ``ids``) with its supervisor and members, in two queries."""
    query = select(WorkQueue, User.display_name).outerjoin(User, User.id == WorkQueue.supervisor_id)
    if ids is not None:
        query = query.where(WorkQueue.id.in_(ids))
    rows = db.execute(query.order_by(WorkQueue.is_active.desc(), WorkQueue.code)).all()
    members: dict[uuid.UUID, list[MemberRead]] = defaultdict(list)
    if rows:
        found = db.execute(
            select(QueueMember.queue_id, User)
            .join(User, User.id == QueueMember.user_id)
            .where(QueueMember.queue_id.in_([q.id for q, _ in rows]))
            .order_by(User.display_name)
        )
        for queue_id, user in found:
            members[queue_id].append(
                MemberRead(
                    user_id=user.id,
                    username=user.username,
                    display_name=user.display_name,
                    is_active=user.is_active,
                )
            )
    return [
        QueueRead(
            id=queue.id,
            code=queue.code,
            name=queue.name,
            description=queue.description,
            supervisor_id=queue.supervisor_id,
            supervisor_name=name,
            is_active=queue.is_active,
            version=queue.version,
            members=members[queue.id],
        )
        for queue, name in rows
    ]


def get_queue(db: Session, queue_id: uuid.UUID) -> QueueRead:
    found = list_queues(db, ids=[queue_id])
    if not found:
        raise NotFound(f"No queue with id {queue_id}")
    return found[0]


# --- changing --------------------------------------------------------------------------


def _queue(db: Session, queue_id: uuid.UUID) -> WorkQueue:
    queue = db.get(WorkQueue, queue_id)
    if queue is None:
        raise NotFound(f"No queue with id {queue_id}")
    return queue


def _active_user(db: Session, user_id: uuid.UUID, field: str, what: str) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise ValidationFailed(
            f"There is no user with id {user_id}.", fields={field: "Choose a user from the list."}
        )
    if not user.is_active:
        raise ValidationFailed(
            f"{user.display_name}'s account is disabled; a disabled user cannot be {what}. "
            "Nothing was saved.",
            fields={field: f"{user.display_name}'s account is disabled; choose someone else."},
        )
    return user


def create_queue(db: Session, actor: Actor, data: QueueCreate) -> QueueRead:
    if by_code(db, data.code) is not None:
        raise Conflict(
            f"A queue with the code {data.code!r} already exists. Nothing was saved.",
            fields={"code": "Another queue has this code; choose another."},
        )
    if data.supervisor_id is not None:
        _active_user(db, data.supervisor_id, "supervisor_id", "a queue's supervisor")
    queue = WorkQueue(**data.model_dump())
    db.add(queue)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="WorkQueue", entity_id=queue.id, reason=data.code)
    return get_queue(db, queue.id)


def update_queue(db: Session, actor: Actor, queue_id: uuid.UUID, data: QueueUpdate) -> QueueRead:
    queue = _queue(db, queue_id)
    check_version(f"The queue {queue.code!r}", queue.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    if sent.get("supervisor_id") is not None:
        _active_user(db, sent["supervisor_id"], "supervisor_id", "a queue's supervisor")
    for name, value in sent.items():
        setattr(queue, name, value)
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="WorkQueue",
        entity_id=queue.id,
        reason=", ".join(sorted(sent)) or None,
    )
    return get_queue(db, queue.id)


def add_member(db: Session, actor: Actor, queue_id: uuid.UUID, user_id: uuid.UUID) -> QueueRead:
    queue = _queue(db, queue_id)
    user = _active_user(db, user_id, "user_id", "added to a queue")
    taken = db.scalar(
        select(QueueMember.id).where(
            QueueMember.queue_id == queue.id, QueueMember.user_id == user.id
        )
    )
    if taken is not None:
        raise Conflict(
            f"{user.display_name} is already a member of {queue.name}.",
            fields={"user_id": f"{user.display_name} is already a member."},
        )
    db.add(QueueMember(queue_id=queue.id, user_id=user.id))
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="WorkQueue",
        entity_id=queue.id,
        reason=f"member added: {user.username}",
    )
    return get_queue(db, queue.id)


def remove_member(db: Session, actor: Actor, queue_id: uuid.UUID, user_id: uuid.UUID) -> QueueRead:
    queue = _queue(db, queue_id)
    member = db.scalar(
        select(QueueMember).where(QueueMember.queue_id == queue.id, QueueMember.user_id == user_id)
    )
    if member is None:
        raise NotFound(f"That user is not a member of {queue.name}.")
    user = db.get(User, user_id)
    db.delete(member)
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="WorkQueue",
        entity_id=queue.id,
        reason=f"member removed: {user.username if user else user_id}",
    )
    return get_queue(db, queue.id)
