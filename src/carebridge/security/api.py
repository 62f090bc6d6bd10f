"""JSON API for the signed-in caller, user administration and the audit log."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from carebridge.lib.paging import MAX_PAGE_SIZE, Page
from carebridge.security import service
from carebridge.security.audit import Action, Actor, record
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.security.schemas import AuditEventRead, AuditFilter, Me, UserCreate, UserRead

router = APIRouter(prefix="/api/v1", tags=["security"])


@router.get("/me")
def me(actor: Annotated[Actor, Depends(Require(Permission.ACCOUNT_SELF))]) -> Me:
    """Who this token belongs to."""
    return Me(id=actor.user_id, username=actor.username, role=actor.role)


@router.get("/users")
def users(
    db: Db, actor: Annotated[Actor, Depends(Require(Permission.USERS_MANAGE))]
) -> list[UserRead]:
    return service.list_users(db)


@router.post("/users", status_code=201)
def create_user(
    body: UserCreate, db: Db, actor: Annotated[Actor, Depends(Require(Permission.USERS_MANAGE))]
) -> UserRead:
    return service.create_user(db, actor, body, temporary_password=True)


class AuditPage(BaseModel):
    total: int
    page: int
    size: int
    items: list[AuditEventRead]


@router.get("/audit-events")
def audit_events(
    request: Request,
    db: Db,
    actor: Annotated[Actor, Depends(Require(Permission.AUDIT_READ))],
    username: str | None = None,
    patient_id: uuid.UUID | None = None,
    action: Action | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> AuditPage:
    flt = AuditFilter(
        username=username,
        patient_id=patient_id,
        action=action.value if action else None,
        date_from=date_from,
        date_to=date_to,
    )
    items, total = service.search_audit(db, flt, Page(page, size), settings_of(request).timezone)
    shown = flt.model_dump(exclude_none=True, mode="json")
    record(
        db,
        actor,
        Action.READ,
        entity_type="AuditLog",
        reason=", ".join(f"{k}={v}" for k, v in shown.items()) or None,
    )
    return AuditPage(total=total, page=page, size=size, items=items)
