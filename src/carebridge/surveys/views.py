"""The survey's pages: the public page a patient reaches from the link in the invitation
(no sign-in, like the appointment links of ``scheduling.public_views``), and the staff page
of results.

The public page shows only the visit's day and the practitioner's name: whoever holds the link
sees it. It speaks the patient's language (English or Spanish). A survey is answered once;
an unknown link is a 404 page, an expired one a 410 page. Every read and answer is audited
with the actor "patient-link".
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from carebridge.communications.service import format_date
from carebridge.lib.time import parse_day, utcnow
from carebridge.patients import views as chart_views
from carebridge.scheduling import measures as access_measures
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Action, Actor, record
from carebridge.security.deps import Csrf, Db, Require, client_addr, public, request_id, settings_of
from carebridge.security.roles import Permission
from carebridge.surveys import items, service
from carebridge.surveys.models import SurveyInvitation
from carebridge.web.render import clinic_today, redirect, render

router = APIRouter(include_in_schema=False)  # pages, not API
Public = Depends(public)
Viewer = Annotated[Actor, Depends(Require(Permission.QUALITY_VIEW))]
Posted = chart_views.Posted
# The token is in the address: no search engine may keep the page.
PRIVATE = {"X-Robots-Tag": "noindex"}
DEFAULT_DAYS = 30
DATE_HINT = "Enter the day as YYYY-MM-DD, e.g. 2026-11-24."
MAX_PERIOD_DAYS = access_measures.MAX_PERIOD_DAYS  # 731, as on the quality dashboard


def _actor(request: Request) -> Actor:
    return Actor(
        user_id=None,
        username="patient-link",
        role="patient",
        client_addr=client_addr(request),
        request_id=request_id(request),
    )


def _private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


def _closed(request: Request, invitation: SurveyInvitation | None, sent: bool = False) -> Response:
    """The page of a link that takes no answers: unknown (404), expired (410) or answered."""
    language = invitation.language if invitation is not None else "en"
    if invitation is None:
        kind, status = "missing", 404
    elif invitation.answered_at is not None:
        kind, status = ("thanks" if sent else "already"), 200
    else:
        kind, status = "expired", 410
    context = {"kind": kind, "said": items.words(language), "language": language}
    return _private(render(request, "surveys/closed.html", context, status_code=status))


def _form_page(
    request: Request,
    db: Session,
    invitation: SurveyInvitation,
    token: str,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    visit = db.get(Appointment, invitation.appointment_id)
    assert visit is not None  # foreign key
    facts = service.visit_facts(db, visit)
    language = invitation.language
    said = items.words(language)
    context: dict[str, Any] = {
        "token": token,
        "language": language,
        "said": said,
        "intro": said["intro"].format(
            provider=facts.provider, day=format_date(facts.day, language)
        ),
        "items": items.ITEMS,
        "form": form or {},
        "errors": errors or {},
        "comment_max": items.COMMENT_MAX,
    }
    status = 422 if errors else 200
    return _private(render(request, "surveys/survey.html", context, status_code=status))


@router.get("/survey/{token}", dependencies=[Public])
def survey_page(token: str, request: Request, db: Db) -> Response:
    invitation = service.find(db, token)
    if invitation is None or service.state(invitation) != "open":
        return _closed(request, invitation, sent=request.query_params.get("sent") == "1")
    record(
        db,
        _actor(request),
        Action.READ,
        entity_type=service.ENTITY,
        entity_id=invitation.id,
        patient_id=invitation.patient_id,
        reason="opened the post-visit survey link",
    )
    return _form_page(request, db, invitation, token)


@router.post("/survey/{token}", dependencies=[Public, Csrf])
def survey_answer(token: str, request: Request, db: Db, posted: Posted) -> Response:
    invitation = service.find(db, token)
    if invitation is None or service.state(invitation) != "open":
        return _closed(request, invitation)
    form = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    answers, errors = items.validate(form, invitation.language)
    if errors:
        return _form_page(request, db, invitation, token, form, errors)
    if service.answer(db, _actor(request), invitation, answers) is None:
        return _closed(request, invitation)  # answered a moment ago, or just expired
    return redirect(f"/survey/{token}?sent=1")


# --- staff -------------------------------------------------------------------------------


@router.get("/surveys")
def results(request: Request, db: Db, actor: Viewer) -> Response:
    params = request.query_params
    today = clinic_today(request)
    form = {name: params.get(name, "").strip() for name in ("start", "end")}
    errors = {
        name: DATE_HINT for name in ("start", "end") if form[name] and parse_day(form[name]) is None
    }
    last = parse_day(form["end"]) or today
    first = parse_day(form["start"]) or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if not errors and first > last:
        errors["end"] = "The period ends before it starts; choose a later day."
    elif not errors and (last - first).days > MAX_PERIOD_DAYS:
        errors["start"] = f"Choose a period of at most {MAX_PERIOD_DAYS} days."
    summary = None
    if not errors:  # else the form keeps what was typed, next to its message
        form.update(start=first.isoformat(), end=last.isoformat())
        summary = service.summary(db, actor, settings_of(request), first, last)
    context = {
        "form": form,
        "errors": errors,
        "summary": summary,
        "now": utcnow(),
        "items": items,
        "invite_hours": int(service.INVITE_AFTER.total_seconds() // 3600),
    }
    status = 422 if errors else 200
    return render(request, "surveys/results.html", context, status_code=status, active="quality")
