"""Sign-in, sign-out, second factor, own password, user administration and the audit screens."""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from carebridge.db.session import unit_of_work
from carebridge.lib.errors import AppError, NotFound, ValidationFailed
from carebridge.lib.paging import Page
from carebridge.lib.time import utcnow
from carebridge.security import service
from carebridge.security.audit import Action, Actor, Outcome, record
from carebridge.security.deps import (
    Csrf,
    Db,
    Identity,
    Require,
    SignInStep,
    client_addr,
    factory_of,
    public,
    request_id,
    settings_of,
)
from carebridge.security.models import User
from carebridge.security.roles import ROLE_LABELS, Permission, allows
from carebridge.security.schemas import AuditFilter, UserCreate
from carebridge.web.render import (
    clear_session_cookie,
    flash,
    redirect,
    render,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)  # pages, not API
Str = Annotated[str, Form()]


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot bounce a user elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# --- sign-in ---------------------------------------------------------------------------


@router.get("/login", dependencies=[Depends(public)])
def login_form(request: Request, next: str = "/", idle: int = 0, expired: int = 0) -> Response:
    notice = None
    if idle:
        minutes = settings_of(request).session_idle_minutes
        notice = f"You were signed out after {minutes} minutes without activity."
    elif expired:
        hours = settings_of(request).session_max_hours
        notice = f"Sessions last at most {hours} hours; please sign in again."
    return render(
        request,
        "security/login.html",
        {"next": _safe_next(next), "username": "", "error": None, "notice": notice},
    )


@router.post("/login", dependencies=[Depends(public), Csrf])
def login(
    request: Request,
    db: Db,
    username: Str = "",
    password: Str = "",
    next: Str = "/",
) -> Response:
    settings = settings_of(request)
    result = service.authenticate(
        db,
        settings,
        username,
        password,
        client_addr=client_addr(request),
        request_id=request_id(request),
    )
    if result.user is None:
        return render(
            request,
            "security/login.html",
            {
                "next": _safe_next(next),
                "username": username.strip()[:64],
                "error": service.SIGN_IN_FAILED,
                "notice": None,
            },
            status_code=401,
        )
    user = result.user
    key = service.start_session(
        db,
        user,
        stage=result.next_stage,
        client_addr=client_addr(request),
        user_agent=request.headers.get("user-agent"),
    )
    if result.next_stage == "active":
        service.complete_sign_in(
            db,
            user,
            Actor(
                user_id=user.id,
                username=user.username,
                role=user.role,
                client_addr=client_addr(request),
                request_id=request_id(request),
            ),
        )
        target = "/account/password" if user.must_change_password else _safe_next(next)
    else:
        target = "/login/totp" if result.next_stage == "totp" else "/account/totp"
    response = redirect(target)
    set_session_cookie(response, request, key)
    return response


@router.get("/login/totp")
def totp_form(
    request: Request, identity: Annotated[Identity, Depends(SignInStep("totp"))]
) -> Response:
    if identity.stage == "active":
        return redirect("/")
    return render(request, "security/totp.html", {"errors": {}})


@router.post("/login/totp", dependencies=[Csrf])
def totp_submit(
    request: Request,
    db: Db,
    identity: Annotated[Identity, Depends(SignInStep("totp"))],
    code: Str = "",
) -> Response:
    if identity.stage == "active" or identity.session is None:
        return redirect("/")
    user = service.get_user(db, identity.session.user_id)
    failure = service.check_totp_step(db, settings_of(request), user, code)
    if failure is not None:
        record(
            db,
            identity.actor,
            Action.FAILED_LOGIN,
            entity_type="User",
            entity_id=user.id,
            outcome=Outcome.FAILURE,
            reason=failure,
        )
        if identity.session.ended_at is not None:  # locked: start again from the password
            response = redirect("/login")
            clear_session_cookie(response)
            flash(response, request, service.SIGN_IN_FAILED, "error")
            return response
        return render(
            request,
            "security/totp.html",
            {"errors": {"code": "That code did not match. Type the code shown now."}},
            status_code=401,
        )
    identity.session.stage = "active"
    service.complete_sign_in(db, user, identity.actor)
    return redirect("/account/password" if user.must_change_password else "/")


@router.post("/logout", dependencies=[Csrf])
def logout(
    request: Request, db: Db, identity: Annotated[Identity, Depends(SignInStep("any"))]
) -> Response:
    if identity.session is not None:
        service.end_session(db, identity.session, "logout")
        record(
            db, identity.actor, Action.LOGOUT, entity_type="User", entity_id=identity.actor.user_id
        )
    response = redirect("/login")
    clear_session_cookie(response)
    flash(response, request, "You have signed out.")
    return response


# --- own account -----------------------------------------------------------------------


@router.get("/account/password")
def password_form(
    request: Request, actor: Annotated[Actor, Depends(Require(Permission.ACCOUNT_SELF))]
) -> Response:
    return render(
        request, "security/password.html", {"errors": {}, "forced": actor.must_change_password}
    )


@router.post("/account/password", dependencies=[Csrf])
def password_change(
    request: Request,
    db: Db,
    actor: Annotated[Actor, Depends(Require(Permission.ACCOUNT_SELF))],
    current: Str = "",
    new: Str = "",
    confirm: Str = "",
) -> Response:
    try:
        service.change_password(db, actor, current, new, confirm)
    except ValidationFailed as exc:
        return render(
            request,
            "security/password.html",
            {"errors": exc.fields, "forced": actor.must_change_password},
            status_code=422,
        )
    response = redirect("/")
    flash(response, request, "Your password has been changed.")
    return response


def _totp_page(
    request: Request, db: Db, identity: Identity, errors: dict[str, str], status: int = 200
) -> Response:
    assert identity.actor.user_id is not None
    user = service.get_user(db, identity.actor.user_id)
    if user.totp_enabled:
        return render(request, "security/totp_setup.html", {"enabled": True})
    secret = service.begin_totp_enrollment(db, user)
    return render(
        request,
        "security/totp_setup.html",
        {
            "enabled": False,
            "required": identity.stage == "enroll",
            "errors": errors,
            "secret_display": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "uri": service.totp_uri(user, settings_of(request).clinic_name),
        },
        status_code=status,
    )


@router.get("/account/totp")
def totp_setup(
    request: Request, db: Db, identity: Annotated[Identity, Depends(SignInStep("enroll"))]
) -> Response:
    return _totp_page(request, db, identity, {})


@router.post("/account/totp", dependencies=[Csrf])
def totp_enable(
    request: Request,
    db: Db,
    identity: Annotated[Identity, Depends(SignInStep("enroll"))],
    code: Str = "",
) -> Response:
    assert identity.actor.user_id is not None
    user = service.get_user(db, identity.actor.user_id)
    try:
        service.confirm_totp_enrollment(db, identity.actor, user, code)
    except ValidationFailed as exc:
        return _totp_page(request, db, identity, exc.fields, status=422)
    if identity.session is not None and identity.session.stage == "enroll":
        identity.session.stage = "active"
        service.complete_sign_in(db, user, identity.actor)
    response = redirect("/")
    flash(response, request, "Two-step sign-in is on. You will be asked for a code at sign-in.")
    return response


# --- user administration ---------------------------------------------------------------

ManageUsers = Annotated[Actor, Depends(Require(Permission.USERS_MANAGE))]


def _users_page(
    request: Request, db: Db, errors: dict[str, str], form: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "security/users.html",
        {
            "users": service.list_users(db),
            "errors": errors,
            "form": form,
            "now": utcnow(),
            "roles": [(r.value, label) for r, label in ROLE_LABELS.items()],
        },
        status_code=status,
        active="users",
    )


@router.get("/admin/users")
def users_page(request: Request, db: Db, actor: ManageUsers) -> Response:
    return _users_page(request, db, {}, {})


@router.post("/admin/users", dependencies=[Csrf])
def users_create(
    request: Request,
    db: Db,
    actor: ManageUsers,
    username: Str = "",
    display_name: Str = "",
    role: Str = "",
    password: Str = "",
) -> Response:
    form = {"username": username, "display_name": display_name, "role": role}
    try:
        data = UserCreate(
            username=username,
            display_name=display_name,
            role=role,
            password=password,
        )
        created = service.create_user(db, actor, data, temporary_password=True)
    except ValidationError as exc:
        errors = {str(e["loc"][0]): _plain(str(e["loc"][0]), e["msg"]) for e in exc.errors()}
        return _users_page(request, db, errors, form, status=422)
    except AppError as exc:
        return _users_page(
            request, db, exc.fields or {"username": exc.detail}, form, status=exc.status
        )
    response = redirect("/admin/users")
    flash(
        response,
        request,
        f"User {created.username} added. Give them the temporary password "
        "in person; they must change it at first sign-in.",
    )
    return response


def _plain(field: str, message: str) -> str:
    if field == "username":
        return "Use 2 to 64 lower-case letters, digits, dot, dash or underscore."
    if field == "role":
        return "Choose one of the listed roles."
    return f"{field.replace('_', ' ').capitalize()}: {message}"


def _user_or_404(db: Db, user_id: str) -> User:
    try:
        return service.get_user(db, uuid.UUID(user_id))
    except ValueError:
        raise NotFound(f"No user with id {user_id}") from None


@router.post("/admin/users/{user_id}/disable", dependencies=[Csrf])
def users_disable(request: Request, db: Db, actor: ManageUsers, user_id: str) -> Response:
    user = service.set_active(db, actor, _user_or_404(db, user_id), False)
    response = redirect("/admin/users")
    flash(response, request, f"{user.username} is disabled and has been signed out.")
    return response


@router.post("/admin/users/{user_id}/reset-totp", dependencies=[Csrf])
def users_reset_totp(request: Request, db: Db, actor: ManageUsers, user_id: str) -> Response:
    user = _user_or_404(db, user_id)
    service.reset_totp(db, actor, user)
    response = redirect("/admin/users")
    flash(
        response,
        request,
        f"Two-step sign-in is off for {user.username}; they have been "
        "signed out and set it up again at next sign-in if their role needs it.",
    )
    return response


@router.post("/admin/users/{user_id}/enable", dependencies=[Csrf])
def users_enable(request: Request, db: Db, actor: ManageUsers, user_id: str) -> Response:
    user = service.set_active(db, actor, _user_or_404(db, user_id), True)
    response = redirect("/admin/users")
    flash(response, request, f"{user.username} can sign in again.")
    return response


@router.post("/admin/users/{user_id}/reset-password", dependencies=[Csrf])
def users_reset_password(
    request: Request, db: Db, actor: ManageUsers, user_id: str, password: Str = ""
) -> Response:
    user = _user_or_404(db, user_id)
    response = redirect("/admin/users")
    try:
        service.reset_password(db, actor, user, password)
    except ValidationFailed as exc:
        problems = "; ".join(exc.fields.values()) or exc.detail
        flash(response, request, f"Password for {user.username} not changed. {problems}", "error")
        return response
    flash(
        response,
        request,
        f"Temporary password set for {user.username}; they must change it at next sign-in.",
    )
    return response


# --- audit -----------------------------------------------------------------------------

AUDIT_ACTIONS = [("", "Any action")] + [(a.value, a.value) for a in Action]


FILTER_HINTS = {
    "date_from": "Enter the first day as YYYY-MM-DD, e.g. 2026-11-24.",
    "date_to": "Enter the last day as YYYY-MM-DD, e.g. 2026-11-24.",
    "patient_id": "Paste the patient's id exactly as shown on their chart (a UUID).",
}


def _audit_filter(request: Request) -> tuple[AuditFilter, dict[str, str], dict[str, str]]:
    raw = {
        k: v for k, v in request.query_params.items() if k in AuditFilter.model_fields and v.strip()
    }
    try:
        return AuditFilter.model_validate(raw), raw, {}
    except ValidationError as exc:
        errors = {
            str(e["loc"][0]): FILTER_HINTS.get(str(e["loc"][0]), str(e["msg"]))
            for e in exc.errors()
        }
        good = {k: v for k, v in raw.items() if k not in errors}
        return AuditFilter.model_validate(good), raw, errors


@router.get("/audit")
def audit_page(
    request: Request,
    db: Db,
    actor: Annotated[Actor, Depends(Require(Permission.AUDIT_READ))],
    page: int = 1,
) -> Response:
    flt, raw, errors = _audit_filter(request)
    paging = Page(number=max(page, 1), size=50)
    events, total = service.search_audit(db, flt, paging, settings_of(request).timezone)
    record(db, actor, Action.READ, entity_type="AuditLog", reason=_describe(raw))
    return render(
        request,
        "security/audit.html",
        {
            "events": events,
            "total": total,
            "page": paging,
            "pages": max(1, math.ceil(total / paging.size)),
            "flt": raw,
            "errors": errors,
            "query": urlencode(raw),
            "actions": AUDIT_ACTIONS,
            "can_export": allows(actor.role, Permission.AUDIT_EXPORT),
        },
        status_code=422 if errors else 200,
        active="audit",
    )


def _describe(raw: dict[str, str]) -> str | None:
    return ", ".join(f"{k}={v}" for k, v in raw.items()) or None


CSV_COLUMNS = [
    "id",
    "occurred_at",
    "username",
    "role",
    "action",
    "entity_type",
    "entity_id",
    "patient_id",
    "client_addr",
    "request_id",
    "outcome",
    "reason",
]


@router.get("/audit/export.csv")
def audit_export(
    request: Request, db: Db, actor: Annotated[Actor, Depends(Require(Permission.AUDIT_EXPORT))]
) -> Response:
    flt, raw, errors = _audit_filter(request)
    if errors:
        raise ValidationFailed("Fix the filter before exporting", fields=errors)
    record(db, actor, Action.EXPORT, entity_type="AuditLog", reason=_describe(raw))
    factory = factory_of(request)
    zone = settings_of(request).timezone

    def lines() -> Iterator[str]:
        # Streams after the request's unit of work has ended, so it reads in its own.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        with unit_of_work(factory, write=False) as reader:
            yield from _csv_rows(reader, flt, zone, writer, buffer)
        yield buffer.getvalue()

    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )


def _csv_rows(
    db: Session, flt: AuditFilter, zone: str, writer: Any, buffer: io.StringIO
) -> Iterator[str]:
    for event in service.iter_audit(db, flt, zone):
        data = event.model_dump()
        writer.writerow([_cell(data[c]) for c in CSV_COLUMNS])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


def _cell(value: object) -> str:
    """Text for a CSV cell; a leading = + - @ is quoted so spreadsheets don't run it
    (usernames typed at a failed sign-in end up here)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
