"""Request-level security: the unit of work, who is asking, what each route requires, CSRF.

Every route declares its access with exactly one of ``Depends(Require(Permission.X))`` or
``Depends(public)``; :func:`route_access` reads that declaration back so a test can walk every
route with every role.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from hashlib import sha256
from typing import Annotated, Any, cast
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from carebridge.db.history import ACTOR_KEY
from carebridge.db.session import unit_of_work
from carebridge.lib.errors import CsrfFailed, Forbidden, Unauthenticated
from carebridge.security import service
from carebridge.security.audit import Action, Actor, Outcome, record
from carebridge.security.models import UserSession
from carebridge.security.roles import Permission, allows
from carebridge.settings import Settings

SESSION_COOKIE = "cb_session"
PRE_SESSION_COOKIE = "cb_pre"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# Sent by our script's live refresh: such requests must not keep an idle session alive.
BACKGROUND_HEADER = "x-carebridge-background"
MACHINE_PREFIXES = ("/api/", "/fhir/")


def is_machine_path(path: str) -> bool:
    """API and FHIR routes answer in JSON and authenticate with bearer tokens."""
    return path.startswith(MACHINE_PREFIXES)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def factory_of(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work (declared with ``scope="function"``: it commits after the
    route function returns and before the response is sent, so a failed commit is an error
    response, never a false success).

    A read opens its session here, on the event loop: that touches no database, and saves a
    hand-off to a worker thread per request. A write takes its write lock in a worker, and
    every commit or rollback runs in one."""
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    work = unit_of_work(factory_of(request), write=writes)
    db = await run_in_threadpool(work.__enter__) if writes else work.__enter__()
    try:
        yield db
    except BaseException as exc:
        await run_in_threadpool(work.__exit__, type(exc), exc, exc.__traceback__)
        raise
    await run_in_threadpool(work.__exit__, None, None, None)


Db = Annotated[Session, Depends(get_db, scope="function")]


def refuse(db: Session, actor: Actor | None, **details: Any) -> None:
    """Record a refused request and keep the record, although the request itself fails:
    its work so far is rolled back (releasing any write lock), the refusal committed alone."""
    db.rollback()
    record(db, actor, Action.ACCESS_DENIED, outcome=Outcome.DENIED, **details)
    db.commit()


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_id(request: Request) -> str | None:
    rid: str | None = request.scope.get("state", {}).get("request_id")
    return rid


def _actor(request: Request, *, user_id: Any, username: str, role: str, must_change: bool) -> Actor:
    return Actor(
        user_id=user_id,
        username=username,
        role=role,
        client_addr=client_addr(request),
        request_id=request_id(request),
        must_change_password=must_change,
    )


@dataclass(frozen=True)
class Identity:
    """Who the request is from; ``stage`` is a sign-in step still owed ("active" if none)."""

    actor: Actor
    stage: str = "active"
    session: UserSession | None = None
    # The SMART scopes and patient of the API token used, if it has scopes.
    token_scopes: str | None = None
    token_patient: uuid.UUID | None = None


def identify(request: Request, db: Session) -> Identity | None:
    """Resolve the caller from a bearer token (API/FHIR) or the session cookie (pages)."""
    cached = getattr(request.state, "identity", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cast("Identity | None", cached)
    identity = (
        _identify_bearer(request, db)
        if is_machine_path(request.url.path)
        else (_identify_cookie(request, db))
    )
    request.state.identity = identity
    return identity


def _identify_bearer(request: Request, db: Session) -> Identity | None:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        return None
    token = service.resolve_token(db, secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        refuse(
            db,
            None,
            reason="invalid or revoked API token",
            client_addr=client_addr(request),
            request_id=request_id(request),
        )
        raise Unauthenticated(
            "The API token is invalid or has been revoked",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    user = token.user
    actor = _actor(
        request, user_id=user.id, username=user.username, role=user.role, must_change=False
    )
    return Identity(actor=actor, token_scopes=token.scopes, token_patient=token.patient_id)


def _identify_cookie(request: Request, db: Session) -> Identity | None:
    key = request.cookies.get(SESSION_COOKIE)
    if not key:
        return None
    settings = settings_of(request)
    lookup = service.resolve_session(
        db,
        key,
        idle_minutes=settings.session_idle_minutes,
        max_hours=settings.session_max_hours,
        touch=request.headers.get(BACKGROUND_HEADER) != "1",
    )
    if lookup.session is None:
        if lookup.ended is not None:
            ended = lookup.ended
            record(
                db,
                _actor(
                    request,
                    user_id=ended.user.id,
                    username=ended.user.username,
                    role=ended.user.role,
                    must_change=False,
                ),
                Action.LOGOUT,
                entity_type="User",
                entity_id=ended.user.id,
                reason=ended.end_reason,
            )
            db.commit()  # keep the session's end even though this request is refused
            request.state.signed_out_reason = ended.end_reason
        return None
    row = lookup.session
    user = row.user
    actor = _actor(
        request,
        user_id=user.id,
        username=user.username,
        role=user.role,
        must_change=user.must_change_password,
    )
    return Identity(actor=actor, stage=row.stage, session=row)


_UNRESOLVED = object()
STAGE_PAGES = {"totp": "/login/totp", "enroll": "/account/totp"}


class Require:
    """Dependency: the caller must be signed in (all steps done) and hold ``permission``."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request, db: Db) -> Actor:
        identity = identify(request, db)
        path = request.url.path
        if identity is None:
            raise _sign_in_required(request)
        if identity.stage != "active" and path != STAGE_PAGES.get(identity.stage):
            raise Unauthenticated(
                "Finish signing in first", extra={"location": STAGE_PAGES[identity.stage]}
            )
        actor = identity.actor
        if actor.must_change_password and path not in ("/account/password", "/logout"):
            raise Unauthenticated(
                "Choose a new password to continue", extra={"location": "/account/password"}
            )
        db.info[ACTOR_KEY] = actor.user_id  # stamps created_by/updated_by and history
        if not allows(actor.role, self.permission):
            refuse(
                db,
                actor,
                entity_type="Route",
                entity_id=f"{request.method} {path}",
                reason=f"role {actor.role} lacks {self.permission.value}",
            )
            raise Forbidden(f"Your role ({actor.role}) may not do this ({self.permission.value})")
        return actor

    def __repr__(self) -> str:
        return f"Require({self.permission.value})"


class SignInStep:
    """Dependency for the pages of a sign-in step still owed ("totp" code, "enroll" in a
    second factor) that signed-in users may open too; "any" admits every stage (sign-out)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def __call__(self, request: Request, db: Db) -> Identity:
        identity = identify(request, db)
        if identity is None:
            raise _sign_in_required(request)
        if self.stage != "any" and identity.stage not in (self.stage, "active"):
            raise Unauthenticated(
                "Finish signing in first", extra={"location": STAGE_PAGES[identity.stage]}
            )
        return identity


def _sign_in_required(request: Request) -> Unauthenticated:
    if is_machine_path(request.url.path):
        return Unauthenticated(
            "Send an API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    ended = getattr(request.state, "signed_out_reason", None)
    reason = {"idle-timeout": "&idle=1", "max-lifetime": "&expired=1"}.get(ended or "", "")
    return Unauthenticated(
        "Please sign in", extra={"location": f"/login?next={quote(target)}{reason}"}
    )


def public() -> None:
    """Marks a route as open to anyone (sign-in page, health check, static files)."""


# --- CSRF ------------------------------------------------------------------------------


def csrf_binding(request: Request) -> str | None:
    """The cookie value a form's CSRF token is bound to: the session, else the pre-session."""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_SESSION_COOKIE)


def csrf_token_for(secret: str, binding: str) -> str:
    return hmac.new(secret.encode(), b"csrf|" + binding.encode(), sha256).hexdigest()


async def verify_csrf(request: Request, db: Db) -> None:
    """Dependency for every form post: the token must be the HMAC of this browser's cookie."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    binding = csrf_binding(request)
    expected = csrf_token_for(settings_of(request).secret_key, binding) if binding else None
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        await run_in_threadpool(
            refuse,
            db,
            None,
            entity_type="Route",
            entity_id=f"{request.method} {request.url.path}",
            reason="CSRF token missing or invalid",
            client_addr=client_addr(request),
            request_id=request_id(request),
        )
        raise CsrfFailed(
            "This form has expired or did not come from Carebridge. "
            "Go back, reload the page and submit it again."
        )


Csrf = Depends(verify_csrf)


# --- route declarations ----------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    public: bool
    permission: Permission | None
    sign_in_step: str | None
    csrf: bool


def route_access(route: APIRoute) -> Access:
    calls: list[Any] = []

    def walk(dep: Dependant) -> None:
        calls.append(dep.call)
        for sub in dep.dependencies:
            walk(sub)

    walk(route.dependant)
    requires = [c for c in calls if isinstance(c, Require)]
    steps = [c for c in calls if isinstance(c, SignInStep)]
    return Access(
        public=public in calls,
        permission=requires[0].permission if requires else None,
        sign_in_step=steps[0].stage if steps else None,
        csrf=verify_csrf in calls,
    )
