"""What the task pages share: reading a posted form, turning errors into words beside the
right field, "assign to" choices, clinic-local due times, and how priorities, statuses and
due times are shown (word chips, "3 h overdue")."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.lib.errors import AppError, ValidationFailed
from carebridge.patients.views import app_errors, errors_of
from carebridge.security.audit import Actor
from carebridge.security.deps import settings_of
from carebridge.tasks import service
from carebridge.tasks.codes import KINDS, OUTREACH_CHANNELS, OUTREACH_OUTCOMES, PRIORITY_WORDS
from carebridge.web.render import flash, format_relative, redirect

# Chip colours; the word carries the meaning (UI.md rule 3).
PRIORITY_TONES = {"stat": "danger", "asap": "danger", "urgent": "warn", "routine": "muted"}
STATUS_TONES = {"completed": "ok", "in-progress": "ok", "on-hold": "warn", "cancelled": "muted"}
DEFAULT_DUE_TIME = dt.time(17, 0)
# Where an error about a schema field shows on the task forms.
FORM_FIELDS = {
    "due_at": "due_date",
    "owner_id": "assign",
    "queue": "assign",
    "patient_id": "patient",
}


def form_text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def typed_in(form: FormData) -> dict[str, str]:
    """What was typed, to put back into the form when it comes back with errors."""
    return {k: form_text(form, k) for k in form if k != "csrf_token"}


def as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def local_path(value: str, default: str = "/") -> str:
    """Where to go back to: only a path on this site (never another host)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def back(request: Request, url: str, message: str, level: str = "success") -> Response:
    response = redirect(url)
    flash(response, request, message, level)
    return response


def zone_of(request: Request) -> str:
    return settings_of(request).timezone


def schema_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors as words beside the form field showing each schema field."""

    def where(loc: tuple[Any, ...]) -> str:
        name = str(loc[0]) if loc else "form"
        return FORM_FIELDS.get(name, name)

    return errors_of(exc, where)


def service_errors(exc: AppError) -> dict[str, str]:
    """A refused change as words beside its fields, and the whole sentence at the top."""
    found = {FORM_FIELDS.get(k, k): v for k, v in app_errors(exc).items()}
    if exc.fields:
        found.setdefault("form", exc.detail)
    return found


def due_words(due_at: dt.datetime, now: dt.datetime, is_open: bool = True) -> str:
    """'in 2 h', '3 days overdue' (UI.md rule 6: relative time beside the absolute)."""
    said = format_relative(due_at, now)
    if is_open and due_at < now and said != "now":
        return said.removesuffix(" ago") + " overdue"
    return said


def local_time(value: dt.datetime, zone: str) -> str:
    return f"{value.astimezone(ZoneInfo(zone)):%a %d %b, %H:%M}"


def pairs(table: Mapping[str, str], blank: str | None = None) -> list[tuple[str, str]]:
    return ([("", blank)] if blank is not None else []) + list(table.items())


def assign_options(db: Session, actor: Actor) -> list[tuple[str, str]]:
    """ "Who does it" choices: me, the people who work tasks, then the queues."""
    options = []
    if actor.user_id is not None:
        options.append((f"user:{actor.user_id}", "Me"))
    options += [
        (f"user:{user_id}", name)
        for user_id, name in service.assignees(db)
        if user_id != actor.user_id
    ]
    options += [(f"queue:{q.code}", f"Queue: {q.name}") for q in service.active_queues(db)]
    return options


def assignment(value: str) -> dict[str, Any]:
    """'user:<id>' or 'queue:<code>' as owner_id / queue."""
    kind, _, ident = value.partition(":")
    if kind == "user" and as_uuid(ident) is not None:
        return {"owner_id": ident}
    if kind == "queue" and ident:
        return {"queue": ident}
    raise ValidationFailed(
        "Choose who does the task from the list.",
        fields={"assign": "Choose who does the task from the list."},
    )


def local_due(day: str, clock: str, zone: str) -> dt.datetime | None:
    """A clinic-local date and time from the form, as UTC (None when no date given)."""
    if not day:
        return None
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise ValidationFailed(
            "Enter the due date as YYYY-MM-DD.", fields={"due_date": "Enter a date."}
        ) from None
    try:
        time = dt.time.fromisoformat(clock) if clock else DEFAULT_DUE_TIME
    except ValueError:
        raise ValidationFailed(
            "Enter the due time as HH:MM, e.g. 14:30.", fields={"due_time": "Enter a time."}
        ) from None
    return dt.datetime.combine(date, time, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def chips() -> dict[str, Any]:
    """What the templates need to show priorities, statuses and task types."""
    return {
        "priority_words": PRIORITY_WORDS,
        "priority_tones": PRIORITY_TONES,
        "status_tones": STATUS_TONES,
        "kinds": KINDS,
    }


def outreach_choices() -> dict[str, Any]:
    """The outreach form's choices and the words for what was logged."""
    return {
        "channels": OUTREACH_CHANNELS,
        "outcomes": OUTREACH_OUTCOMES,
        "channel_options": pairs(OUTREACH_CHANNELS),
        "outcome_options": pairs(OUTREACH_OUTCOMES, "Choose…"),
        "direction_options": [("outbound", "We contacted them"), ("inbound", "They contacted us")],
    }
