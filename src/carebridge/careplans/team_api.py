"""JSON API for care teams and barriers to care. Updates carry the record's ``version``;
a stale one is a 409 and nothing is saved. Dates such as "today" are the clinic's
(``CAREBRIDGE_TIMEZONE``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response

from carebridge.careplans import barriers, team
from carebridge.careplans.team_schemas import (
    BarrierCreate,
    BarrierRead,
    BarrierUpdate,
    CareTeamMemberCreate,
    CareTeamMemberRead,
    CareTeamMemberUpdate,
    CareTeamRead,
)
from carebridge.lib.time import utcnow
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import set_etag

router = APIRouter(prefix="/api/v1", tags=["care teams"])
# Who looks after a patient says something clinical (a behavioral-health provider, a
# hospice nurse): shown to the roles that see the health history (minimum necessary).
TeamReader = Annotated[Actor, Depends(Require(Permission.HISTORY_READ))]
Reader = Annotated[Actor, Depends(Require(Permission.PATIENT_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.PATIENT_WRITE))]


def clinic_today(request: Request) -> dt.date:
    return utcnow().astimezone(ZoneInfo(settings_of(request).timezone)).date()


@router.get("/patients/{patient_id}/care-team")
def read_care_team(
    patient_id: uuid.UUID, request: Request, db: Db, actor: TeamReader
) -> CareTeamRead:
    """The primary coordinator and the members: current ones first, then past ones."""
    return team.team(db, actor, patient_id, clinic_today(request))


@router.post("/patients/{patient_id}/care-team", status_code=201)
def add_care_team_member(
    patient_id: uuid.UUID, body: CareTeamMemberCreate, db: Db, actor: Writer, response: Response
) -> CareTeamMemberRead:
    """Add a member. 422 for a bad NPI check digit, an end before the start, a disabled
    user, or a related person of another patient; 409 when they are already on the team in
    that role."""
    member = team.add_member(db, actor, patient_id, body)
    set_etag(response, member.version)
    return member


@router.patch("/care-team-members/{member_id}")
def update_care_team_member(
    member_id: uuid.UUID, body: CareTeamMemberUpdate, db: Db, actor: Writer, response: Response
) -> CareTeamMemberRead:
    """Change a membership; end it by setting ``end_on``."""
    member = team.update_member(db, actor, member_id, body)
    set_etag(response, member.version)
    return member


@router.get("/patients/{patient_id}/barriers")
def list_barriers(patient_id: uuid.UUID, db: Db, actor: Reader) -> list[BarrierRead]:
    """Active barriers first, then resolved ones."""
    return barriers.barriers(db, actor, patient_id)


@router.post("/patients/{patient_id}/barriers", status_code=201)
def add_barrier(
    patient_id: uuid.UUID,
    body: BarrierCreate,
    request: Request,
    db: Db,
    actor: Writer,
    response: Response,
) -> BarrierRead:
    """Record a barrier; 409 when one of that kind is already active."""
    made = barriers.add_barrier(db, actor, patient_id, body, clinic_today(request))
    set_etag(response, made.version)
    return made


@router.patch("/barriers/{barrier_id}")
def update_barrier(
    barrier_id: uuid.UUID,
    body: BarrierUpdate,
    request: Request,
    db: Db,
    actor: Writer,
    response: Response,
) -> BarrierRead:
    """Change the note or dates, resolve it (``status: resolved``) or reopen it."""
    changed = barriers.update_barrier(db, actor, barrier_id, body, clinic_today(request))
    set_etag(response, changed.version)
    return changed
