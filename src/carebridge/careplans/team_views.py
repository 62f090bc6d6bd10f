"""The chart's "Care team" tab: the primary coordinator, current and past members with forms
to add (our staff, an outside provider, a family caregiver) and to end a membership, and the
patient's barriers to care with forms to record and resolve them.

Pages only: every read and change is a call into ``careplans.team`` or
``careplans.barriers``, which audit them. A refused form comes back with the message next to
the field and what was typed still in place; nothing of it is saved."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.careplans import barriers, team
from carebridge.careplans.codes import BARRIERS, MEMBER_KINDS, TEAM_ROLES
from carebridge.careplans.team_schemas import (
    BarrierCreate,
    BarrierUpdate,
    CareTeamMemberCreate,
    CareTeamMemberUpdate,
)
from carebridge.lib.errors import AppError
from carebridge.patients.models import RelatedPerson
from carebridge.patients.views import Posted, app_errors, chart_page, open_chart
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require
from carebridge.security.models import User
from carebridge.security.roles import Permission, Role
from carebridge.web.render import clinic_today, go_back

router = APIRouter(include_in_schema=False)  # pages, not API

# Who looks after a patient says something clinical (a behavioral-health provider, a
# hospice nurse): shown to the roles that see the health history (minimum necessary).
TeamReader = Annotated[Actor, Depends(Require(Permission.HISTORY_READ))]
Reader = Annotated[Actor, Depends(Require(Permission.PATIENT_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.PATIENT_WRITE))]

MEMBER_FIELDS = (
    "user_id",
    "related_person_id",
    "name",
    "role",
    "organization",
    "npi",
    "phone",
    "email",
    "start_on",
    "end_on",
    "note",
)
LABELS = {
    "user_id": "staff member",
    "related_person_id": "person",
    "name": "name",
    "role": "role on the team",
    "organization": "organization",
    "npi": "NPI",
    "phone": "phone number",
    "email": "email address",
    "start_on": "start date",
    "end_on": "end date",
    "note": "note",
    "kind": "barrier",
    "identified_on": "date identified",
    "resolved_on": "date resolved",
    "member_kind": "kind of member",
}
CHOSEN = frozenset({"user_id", "related_person_id", "role", "kind", "member_kind"})


# --- reading forms and saying what is wrong ------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _typed(form: FormData) -> dict[str, str]:
    return {k: _text(form, k) for k in form if k != "csrf_token"}


def _filled(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name in names if (value := _text(form, name))}


def _sentence(text: str) -> str:
    text = text.strip().removeprefix("Value error, ")
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def explain(exc: ValidationError) -> dict[str, str]:
    """Each field's first problem, said as how to fix it."""
    found: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        kind = str(error.get("type", ""))
        label = LABELS.get(name, name.replace("_", " "))
        if kind == "missing":
            message = f"{'Choose' if name in CHOSEN else 'Enter'} the {label}."
        elif kind.startswith("date"):
            message = f"Enter the {label} as a date, e.g. 2026-03-12."
        elif kind in ("uuid_parsing", "uuid_type", "literal_error") or (
            kind == "value_error" and "unknown " in str(error.get("msg", ""))
        ):
            message = f"Choose the {label} from the list."
        elif kind == "string_too_long":
            message = f"Use at most {(error.get('ctx') or {}).get('max_length')} characters."
        elif kind == "int_parsing":
            message = "The form is out of date; reload the page and try again."
        else:
            message = _sentence(str(error.get("msg", "Check this field")))
        found.setdefault(name, message)
    return found


# --- the tab -------------------------------------------------------------------------------


def _staff_options(db: Session) -> list[tuple[str, str]]:
    users = db.scalars(
        select(User)
        .where(User.is_active.is_(True), User.role != Role.AUDITOR.value)
        .order_by(User.display_name)
    )
    return [("", "Choose…")] + [(str(u.id), u.display_name) for u in users]


def _people(db: Session, patient_id: uuid.UUID) -> list[tuple[str, str]]:
    people = db.scalars(
        select(RelatedPerson)
        .where(RelatedPerson.patient_id == patient_id, RelatedPerson.status == "active")
        .order_by(RelatedPerson.name)
    )
    return [("", "Not listed: type a name")] + [(str(p.id), p.name) for p in people]


def _tab(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    section: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/care-team")
    if isinstance(chart, Response):
        return chart
    today = clinic_today(request)
    found = team.team(db, actor, patient_id, today)
    listed = barriers.barriers(db, actor, patient_id)
    roles = list(TEAM_ROLES.items())
    return chart_page(
        request,
        "careplans/team.html",
        chart,
        {
            "team": found,
            "current": [m for m in found.members if team.is_current(m, today)],
            "past": [m for m in found.members if not team.is_current(m, today)],
            "active_barriers": [b for b in listed if b.status == "active"],
            "resolved_barriers": [b for b in listed if b.status != "active"],
            "team_codes": {"roles": TEAM_ROLES, "kinds": MEMBER_KINDS, "barriers": BARRIERS},
            "choices": {
                "staff": _staff_options(db),
                "people": _people(db, patient_id),
                "roles": [("", "Choose…"), *roles],
                "barriers": [("", "Choose…"), *BARRIERS.items()],
            },
            "section": section,
            "form": form or {},
            "errors": errors or {},
        },
        tab="care-team",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/care-team")
def care_team_tab(request: Request, db: Db, actor: TeamReader, patient_id: uuid.UUID) -> Response:
    return _tab(request, db, actor, patient_id)


@router.post("/patients/{patient_id}/care-team", dependencies=[Csrf])
def add_member(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    kind = _text(form, "member_kind")
    section = kind if kind in MEMBER_KINDS else "staff"
    data: dict[str, Any] = {"member_kind": kind, **_filled(form, MEMBER_FIELDS)}
    try:
        parsed = CareTeamMemberCreate.model_validate(data)
        with db.begin_nested():
            member = team.add_member(db, actor, patient_id, parsed)
    except ValidationError as exc:
        errors = explain(exc)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = app_errors(exc)
    else:
        return go_back(
            request,
            f"/patients/{patient_id}/care-team#team",
            f"{member.name} added to the care team as {TEAM_ROLES[member.role].lower()}.",
        )
    return _tab(
        request,
        db,
        actor,
        patient_id,
        section=section,
        form=typed,
        errors=errors,
        status_code=422,
    )


@router.post("/patients/{patient_id}/care-team/{member_id}/end", dependencies=[Csrf])
def end_member(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    member_id: uuid.UUID,
    form: Posted,
) -> Response:
    back = f"/patients/{patient_id}/care-team#team"
    try:
        data = CareTeamMemberUpdate.model_validate(
            {"version": _text(form, "version"), "end_on": _text(form, "end_on") or None}
        )
        if data.end_on is None:
            return go_back(request, back, "Not changed: enter the last day on the team.", "error")
        with db.begin_nested():
            member = team.update_member(db, actor, member_id, data, patient_id=patient_id)
    except ValidationError as exc:
        problem = next(iter(explain(exc).values()))
        return go_back(request, back, f"Not changed: {problem}", "error")
    except AppError as exc:
        if exc.status == 404:
            raise
        return go_back(request, back, f"Not changed: {exc.detail}", "error")
    when = f"{member.end_on:%d %b %Y}" if member.end_on else ""
    return go_back(request, back, f"{member.name}'s time on the care team ends on {when}.")


@router.post("/patients/{patient_id}/barriers", dependencies=[Csrf])
def add_barrier(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    try:
        parsed = BarrierCreate.model_validate(_filled(form, ("kind", "note", "identified_on")))
        with db.begin_nested():
            made = barriers.add_barrier(db, actor, patient_id, parsed, clinic_today(request))
    except ValidationError as exc:
        errors = explain(exc)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = app_errors(exc)
    else:
        return go_back(
            request,
            f"/patients/{patient_id}/care-team#barriers",
            f"Barrier recorded: {BARRIERS[made.kind].lower()}.",
        )
    return _tab(
        request,
        db,
        actor,
        patient_id,
        section="barrier",
        form=typed,
        errors=errors,
        status_code=422,
    )


@router.post("/patients/{patient_id}/barriers/{barrier_id}/resolve", dependencies=[Csrf])
def resolve_barrier(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    barrier_id: uuid.UUID,
    form: Posted,
) -> Response:
    back = f"/patients/{patient_id}/care-team#barriers"
    try:
        data = BarrierUpdate.model_validate(
            {"version": _text(form, "version"), "status": "resolved"}
        )
        with db.begin_nested():
            done = barriers.update_barrier(
                db, actor, barrier_id, data, clinic_today(request), patient_id=patient_id
            )
    except ValidationError:
        return go_back(request, back, "Not changed: reload the page and try again.", "error")
    except AppError as exc:
        if exc.status == 404:
            raise
        return go_back(request, back, f"Not changed: {exc.detail}", "error")
    return go_back(request, back, f"Barrier resolved: {BARRIERS[done.kind].lower()}.")
