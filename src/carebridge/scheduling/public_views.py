"""Pages a patient reaches from the links in a reminder, by the appointment's secret token
(no sign-in): see the visit and confirm it, cancel it, download it as .ics. And each
practitioner's calendar feed, by the practitioner's own calendar token.

The pages show the visit only (date, time, practitioner, place): no name, no other patient
data, since whoever holds the link sees them. Unknown tokens get a plain 404 page. Every
read and change is audited with the actor "patient-link" (or "calendar-feed")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.errors import AppError
from carebridge.lib.time import utcnow
from carebridge.scheduling import ical, service
from carebridge.scheduling.models import Appointment, Practitioner
from carebridge.scheduling.reminders import UPCOMING
from carebridge.scheduling.schemas import CancelIn
from carebridge.security.audit import Action, Actor, record
from carebridge.security.deps import Csrf, Db, client_addr, public, request_id, settings_of
from carebridge.web.render import flash, redirect, render

router = APIRouter(include_in_schema=False)  # pages and files, not API
Public = Depends(public)
# The token is in the address: no search engine may keep the page. (The middleware already
# keeps it out of caches and out of the Referer sent to other sites, such as the video service.)
PRIVATE = {"X-Robots-Tag": "noindex"}
CANCEL_NOTE = "Cancelled by the patient with the link in a reminder"


def _actor(request: Request, name: str = "patient-link") -> Actor:
    return Actor(
        user_id=None,
        username=name,
        role="patient" if name == "patient-link" else "system",
        client_addr=client_addr(request),
        request_id=request_id(request),
    )


def _by_token(db: Session, token: str) -> Appointment | None:
    if not token or len(token) > 64:
        return None
    return db.scalar(select(Appointment).where(Appointment.patient_token == token))


def _missing(request: Request) -> Response:
    response = render(request, "scheduling/public_missing.html", status_code=404)
    response.headers.update(PRIVATE)
    return response


def _audit(db: Session, request: Request, row: Appointment, action: Action, why: str) -> None:
    record(
        db,
        _actor(request),
        action,
        entity_type="Appointment",
        entity_id=row.id,
        patient_id=row.patient_id,
        reason=why,
    )


def _state(row: Appointment) -> str:
    """What the patient may still do: confirm/cancel ("open"), or why not."""
    if row.status in ("cancelled", "entered-in-error"):
        return "cancelled"
    if row.status not in UPCOMING or row.starts_at <= utcnow():
        return "past"
    return "open"


def _page(request: Request, db: Session, row: Appointment, token: str, mode: str) -> Response:
    visit = ical.visit(db, settings_of(request), row)
    context: dict[str, Any] = {
        "mode": mode,
        "token": token,
        "visit": visit,
        "state": _state(row),
        "confirmed_at": (
            ical.local_when(row.confirmed_at, visit.timezone) if row.confirmed_at else None
        ),
    }
    response = render(request, "scheduling/public_appointment.html", context)
    response.headers.update(PRIVATE)
    return response


@router.get("/appointments/confirm/{token}", dependencies=[Public])
def confirm_page(token: str, request: Request, db: Db) -> Response:
    row = _by_token(db, token)
    if row is None:
        return _missing(request)
    _audit(db, request, row, Action.READ, "opened the confirmation link")
    return _page(request, db, row, token, "confirm")


@router.post("/appointments/confirm/{token}", dependencies=[Public, Csrf])
def confirm(token: str, request: Request, db: Db) -> Response:
    row = _by_token(db, token)
    if row is None:
        return _missing(request)
    state = _state(row)
    if state == "open" and row.confirmed_at is None:
        row.confirmed_at = utcnow()
        db.flush()
        _audit(db, request, row, Action.UPDATE, "confirmed by the patient with the reminder link")
        message, level = "Thank you: your appointment is confirmed.", "success"
    elif state == "open":
        message, level = "You had already confirmed this appointment. Thank you.", "info"
    else:
        message, level = f"This appointment is {state}; there is nothing to confirm.", "error"
    response = redirect(f"/appointments/confirm/{token}")
    flash(response, request, message, level)
    return response


@router.get("/appointments/cancel/{token}", dependencies=[Public])
def cancel_page(token: str, request: Request, db: Db) -> Response:
    row = _by_token(db, token)
    if row is None:
        return _missing(request)
    _audit(db, request, row, Action.READ, "opened the cancellation link")
    return _page(request, db, row, token, "cancel")


@router.post("/appointments/cancel/{token}", dependencies=[Public, Csrf])
def cancel(token: str, request: Request, db: Db) -> Response:
    row = _by_token(db, token)
    if row is None:
        return _missing(request)
    if _state(row) == "open":
        try:
            service.cancel(
                db,
                _actor(request),
                settings_of(request),
                row.id,
                CancelIn(version=row.version, reason="pat-crs", note=CANCEL_NOTE),
            )
        except AppError as exc:  # changed or cancelled a moment ago: say so, keep the page
            message, level = f"Your appointment could not be cancelled: {exc.detail}", "error"
        else:
            message, level = (
                "Your appointment is cancelled. Thank you for letting us know.",
                "success",
            )
    else:
        message, level = f"This appointment is {_state(row)}; it cannot be cancelled.", "error"
    response = redirect(f"/appointments/cancel/{token}")
    flash(response, request, message, level)
    return response


@router.get("/appointments/{token}.ics", dependencies=[Public])
def appointment_ics(token: str, request: Request, db: Db) -> Response:
    """The visit as an iCalendar file (also how staff download one: the token is in the
    reminder and on the appointment)."""
    row = _by_token(db, token)
    if row is None:
        return _missing(request)
    _audit(db, request, row, Action.EXPORT, "downloaded the appointment as .ics")
    settings = settings_of(request)
    body = ical.appointment_calendar(settings, ical.visit(db, settings, row))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={**PRIVATE, "Content-Disposition": 'attachment; filename="appointment.ics"'},
    )


@router.get("/calendars/{calendar_token}.ics", dependencies=[Public])
def practitioner_feed(calendar_token: str, request: Request, db: Db) -> Response:
    """A practitioner's appointments as a calendar subscription (no patient data)."""
    person = (
        db.scalar(select(Practitioner).where(Practitioner.calendar_token == calendar_token))
        if 0 < len(calendar_token) <= 64
        else None
    )
    if person is None or not person.active:
        return _missing(request)
    record(
        db,
        _actor(request, "calendar-feed"),
        Action.READ,
        entity_type="CalendarFeed",
        entity_id=person.id,
        reason="practitioner calendar feed fetched",
    )
    return Response(
        ical.provider_feed(db, settings_of(request), person),
        media_type="text/calendar; charset=utf-8",
        headers={**PRIVATE, "Content-Disposition": 'inline; filename="appointments.ics"'},
    )
