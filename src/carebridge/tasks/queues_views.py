"""The team queues screen: every queue with its supervisor and members, for everyone who
works a list; forms to create a queue, change its supervisor and add or remove members for
those who keep the directory."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.errors import AppError
from carebridge.patients.views import Posted
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require
from carebridge.security.models import User
from carebridge.security.roles import Permission, allows
from carebridge.tasks import queues
from carebridge.tasks.queue_schemas import QueueCreate, QueueUpdate
from carebridge.web.render import flash, redirect, render

router = APIRouter(include_in_schema=False)  # pages, not API
Viewer = Annotated[Actor, Depends(Require(Permission.WORKLIST_VIEW))]
Manager = Annotated[Actor, Depends(Require(Permission.DIRECTORY_MANAGE))]
BACK = "/tasks/queues"
MESSAGES = {
    "code": "Use lower-case letters, digits and hyphens, e.g. front-desk.",
    "name": "Enter the queue's name (at most 120 characters).",
    "description": "Use at most 2,000 characters.",
    "supervisor_id": "Choose the supervisor from the list.",
}


def _users(db: Session) -> list[tuple[str, str]]:
    people = db.scalars(select(User).where(User.is_active.is_(True)).order_by(User.display_name))
    return [(str(u.id), u.display_name) for u in people]


def _page(
    request: Request,
    db: Session,
    actor: Actor,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "tasks/queues.html",
        {
            "queues": queues.list_queues(db),
            "users": _users(db),
            "can_manage": allows(actor.role, Permission.DIRECTORY_MANAGE),
            "form": form or {},
            "errors": errors or {},
        },
        status_code=status_code,
        active="home",
    )


def _back(request: Request, message: str, level: str = "success") -> Response:
    response = redirect(BACK)
    flash(response, request, message, level)
    return response


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get("/tasks/queues")
def queues_page(request: Request, db: Db, actor: Viewer) -> Response:
    return _page(request, db, actor)


@router.post("/tasks/queues", dependencies=[Csrf])
def create_queue(request: Request, db: Db, actor: Manager, form: Posted) -> Response:
    typed = {k: _field(form, k) for k in ("code", "name", "description", "supervisor_id")}
    data = {k: v for k, v in typed.items() if v}
    try:
        parsed = QueueCreate.model_validate(data)
        with db.begin_nested():
            made = queues.create_queue(db, actor, parsed)
    except ValidationError as exc:
        wrong = {str(e["loc"][0]) if e["loc"] else "form" for e in exc.errors()}
        errors = {name: MESSAGES.get(name, "Check this field.") for name in wrong}
    except AppError as exc:
        errors = exc.fields or {"form": exc.detail}
    else:
        return _back(request, f"Queue {made.name} ({made.code}) created.")
    return _page(request, db, actor, form=typed, errors=errors, status_code=422)


@router.post("/tasks/queues/{queue_id}", dependencies=[Csrf])
def update_queue(
    request: Request, db: Db, actor: Manager, queue_id: uuid.UUID, form: Posted
) -> Response:
    data: dict[str, Any] = {
        "version": _field(form, "version"),
        "supervisor_id": _field(form, "supervisor_id") or None,
        "is_active": _field(form, "is_active") == "yes",
    }
    if _field(form, "name"):
        data["name"] = _field(form, "name")
    try:
        parsed = QueueUpdate.model_validate(data)
        with db.begin_nested():
            changed = queues.update_queue(db, actor, queue_id, parsed)
    except ValidationError:
        return _back(request, "Not changed: reload the page and try again.", "error")
    except AppError as exc:
        if exc.status == 404:
            raise
        return _back(request, f"Not changed: {exc.detail}", "error")
    return _back(request, f"Queue {changed.name} saved.")


@router.post("/tasks/queues/{queue_id}/members", dependencies=[Csrf])
def add_member(
    request: Request, db: Db, actor: Manager, queue_id: uuid.UUID, form: Posted
) -> Response:
    try:
        user_id = uuid.UUID(_field(form, "user_id"))
    except ValueError:
        return _back(request, "Not added: choose a person from the list.", "error")
    try:
        with db.begin_nested():
            changed = queues.add_member(db, actor, queue_id, user_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        return _back(request, f"Not added: {exc.detail}", "error")
    return _back(request, f"Added to {changed.name}.")


@router.post("/tasks/queues/{queue_id}/members/{user_id}/remove", dependencies=[Csrf])
def remove_member(
    request: Request, db: Db, actor: Manager, queue_id: uuid.UUID, user_id: uuid.UUID
) -> Response:
    with db.begin_nested():
        changed = queues.remove_member(db, actor, queue_id, user_id)
    return _back(request, f"Removed from {changed.name}; the tasks they own stay theirs.")
