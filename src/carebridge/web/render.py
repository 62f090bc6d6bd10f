"""Page rendering shared by every domain's views: one Jinja environment over each package's
``templates/`` folder, with the signed-in user, CSRF token, flash messages and navigation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape

from carebridge.lib.ids import new_secret
from carebridge.security.deps import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    csrf_binding,
    csrf_token_for,
    settings_of,
)
from carebridge.security.roles import ROLE_LABELS, Permission, Role, allows

PACKAGE = Path(__file__).resolve().parent.parent
FLASH_COOKIE = "cb_flash"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: Permission
    key: str


# The areas of the app; later capabilities add theirs here.
NAV: tuple[NavItem, ...] = (
    NavItem("My day", "/", Permission.WORKLIST_VIEW, "home"),
    NavItem("Users", "/admin/users", Permission.USERS_MANAGE, "users"),
    NavItem("Audit log", "/audit", Permission.AUDIT_READ, "audit"),
)


@lru_cache(maxsize=1)
def environment() -> Environment:
    folders = sorted(str(p) for p in PACKAGE.glob("*/templates") if p.is_dir())
    env = Environment(
        loader=FileSystemLoader(folders),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_when
    env.globals["role_label"] = lambda role: ROLE_LABELS.get(Role(role), role)
    return env


def format_when(value: datetime | None, zone: str = "UTC") -> str:
    """'Tue 24 Nov 2026, 14:30 (America/Chicago)' as UI.md asks."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y, %H:%M} ({zone})"


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(settings_of(request).secret_key, salt="flash")


def flash(response: Any, request: Request, message: str, level: str = "success") -> None:
    """Queue a message for the next page this browser renders."""
    queued = _read_flashes(request)
    queued.append({"level": level, "message": message})
    response.set_cookie(
        FLASH_COOKIE,
        _serializer(request).dumps(queued),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


def _read_flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        data = _serializer(request).loads(raw)
    except BadSignature:
        return []
    return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


def secure_cookies(request: Request) -> bool:
    forced = settings_of(request).cookie_secure
    return forced if forced is not None else request.url.scheme == "https"


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    active: str | None = None,
) -> HTMLResponse:
    settings = settings_of(request)
    identity = getattr(request.state, "identity", None)
    actor = identity.actor if identity is not None and identity.stage == "active" else None
    binding = csrf_binding(request)
    new_pre = None
    if binding is None:
        new_pre = binding = new_secret()
    flashes = _read_flashes(request)
    nav = [n for n in NAV if actor is not None and allows(actor.role, n.permission)]
    page = (
        environment()
        .get_template(template)
        .render(
            request=request,
            actor=actor,
            nav=nav,
            active=active,
            csrf_token=csrf_token_for(settings.secret_key, binding),
            flashes=flashes,
            settings=settings,
            clinic_name=settings.clinic_name,
            zone=settings.timezone,
            **(context or {}),
        )
    )
    response = HTMLResponse(page, status_code=status_code)
    if new_pre is not None:
        response.set_cookie(
            PRE_SESSION_COOKIE,
            new_pre,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/",
        )
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def set_session_cookie(response: Any, request: Request, key: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        key,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


def clear_session_cookie(response: Any) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
