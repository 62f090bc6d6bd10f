"""Page rendering shared by every domain's views: one Jinja environment over each package's
``templates/`` folder, with the signed-in user, CSRF token, flash messages and navigation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from carebridge.hub.service import unread_count
from carebridge.lib.ids import new_secret
from carebridge.lib.time import age_on
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
    NavItem("Messages", "/messages", Permission.TEAM_MESSAGES, "messages"),
    NavItem("Patients", "/patients", Permission.PATIENT_READ, "patients"),
    NavItem("Schedule", "/schedule", Permission.SCHEDULE_VIEW, "schedule"),
    NavItem("Transitions", "/transitions", Permission.TRANSITION_READ, "transitions"),
    NavItem("Referrals", "/referrals", Permission.REFERRAL_READ, "referrals"),
    NavItem("Resources", "/resources", Permission.RESOURCES_READ, "resources"),
    NavItem("Education", "/education", Permission.EDUCATION_READ, "education"),
    NavItem("Rides", "/rides", Permission.TRANSPORT_READ, "rides"),
    NavItem("Authorizations", "/authorizations", Permission.PRIOR_AUTH_READ, "authorizations"),
    NavItem("Billing", "/billing", Permission.BILLING_READ, "billing"),
    NavItem("Quality", "/quality", Permission.QUALITY_VIEW, "quality"),
    NavItem(
        "Message templates",
        "/communications/templates",
        Permission.TEMPLATES_MANAGE,
        "communications",
    ),
    NavItem("Interface queue", "/hl7/messages", Permission.HL7_MANAGE, "hl7"),
    NavItem("FHIR import", "/admin/fhir-import", Permission.FHIR_IMPORT, "fhir-import"),
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
    env.filters["day"] = format_day
    env.filters["age"] = format_age
    env.filters["phone"] = format_phone
    env.filters["words"] = format_words
    env.filters["chip"] = format_chip
    env.filters["relative"] = format_relative
    env.globals["may"] = lambda actor, permission: (
        actor is not None and allows(actor.role, Permission(permission))
    )
    env.globals["role_label"] = lambda role: ROLE_LABELS.get(Role(role), role)
    return env


def format_when(value: datetime | None, zone: str = "UTC") -> str:
    """'Tue 24 Nov 2026, 14:30 (America/Chicago)' as UI.md asks."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y, %H:%M} ({zone})"


def format_relative(value: datetime | None, now: datetime | None = None) -> str:
    """How far away a moment is, beside its absolute time (UI.md rule 6): 'in 2 h',
    '3 days ago', 'in 25 min', 'now'."""
    if value is None:
        return ""
    seconds = (value - (now or datetime.now(UTC))).total_seconds()
    ahead = seconds >= 0
    minutes = int(abs(seconds) // 60)
    if minutes < 1:
        return "now"
    if minutes < 60:
        amount = f"{minutes} min"
    elif minutes < 48 * 60:
        amount = f"{minutes // 60} h"
    else:
        days = minutes // (24 * 60)
        amount = f"{days} days"
    return f"in {amount}" if ahead else f"{amount} ago"


def format_day(value: date | str | None) -> str:
    """A calendar date as '12 Mar 1956' (ISO strings from stored snapshots are accepted)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        day = value
    return f"{day:%d %b %Y}"


def format_age(born: date | None, zone: str = "UTC", on: date | None = None) -> str:
    """'72 y'; '18 mo' under two; '3 wk' / '5 d' under two months (clinic's calendar day)."""
    if born is None:
        return ""
    today = on or datetime.now(ZoneInfo(zone)).date()
    years, months = age_on(born, today)
    if years >= 2:
        return f"{years} y"
    total = years * 12 + months
    if total >= 2:
        return f"{total} mo"
    days = max((today - born).days, 0)
    return f"{days // 7} wk" if days >= 14 else f"{days} d"


def format_phone(value: str | None) -> str:
    """An E.164 number as people read it: '(312) 555-0148' at home, '+44 20 7946 0958' abroad."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return value
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def format_words(code: str | None) -> str:
    """A stored code as words: 'entered-in-error' -> 'Entered in error'."""
    if not code:
        return ""
    return code.replace("-", " ").replace("_", " ").capitalize()


CHIP_TONES = {
    "ok": (
        "active",
        "permit",
        "permits",
        "in-force",
        "booked",
        "arrived",
        "checked-in",
        "fulfilled",
    ),
    "warn": (
        "entered-in-error",
        "noshow",
        "offered",
        "deny",
        "refuses",
        "recurrence",
        "relapse",
        "expired",
        "likely",
        "very likely",
    ),
    "danger": ("allergy",),
}


def format_chip(status: str | None, label: str | None = None) -> Markup:
    """A status as a word in a chip; the colour only supports the word (UI.md rule 3)."""
    tone = next((t for t, values in CHIP_TONES.items() if status in values), "muted")
    text = label if label is not None else format_words(status)
    return Markup('<span class="chip chip-{}">{}</span>').format(tone, escape(text))


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


def go_back(request: Request, url: str, message: str, level: str = "success") -> RedirectResponse:
    """Go back to ``url`` after a form post, with ``message`` shown there once."""
    response = redirect(url)
    flash(response, request, message, level)
    return response


def clinic_today(request: Request) -> date:
    """Today's date where the clinic is (its configured time zone), not the server's."""
    return datetime.now(UTC).astimezone(ZoneInfo(settings_of(request).timezone)).date()


def set_etag(response: Any, version: int) -> None:
    """The record's version as a weak ETag: clients send it back in If-Match."""
    response.headers["ETag"] = f'W/"{version}"'


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
    unread = 0
    if actor is not None and actor.user_id and allows(actor.role, Permission.TEAM_MESSAGES):
        # Its own short read: the menu shows it on every page, whatever the page reads.
        with request.app.state.sessionmaker() as db:
            unread = unread_count(db, actor.user_id)
    page = (
        environment()
        .get_template(template)
        .render(
            request=request,
            actor=actor,
            nav=nav,
            unread_messages=unread,
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
