"""The screens of social: the Social needs tab on the chart (needs found, when the patient is
next due, the history of screenings), a new screening (who answered, language, in person or
by phone, and the instrument's questions), and a need's status.

Pages only: every use case is a call into ``social.service``, which audits reads and changes.
Each write runs in a savepoint, so a refused one leaves nothing, and the page comes back with
the reason beside each question and every answer that was chosen kept.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.lib.errors import AppError, NotFound
from carebridge.patients import views as chart_views
from carebridge.patients.codes import LANGUAGES
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.social import instruments, service
from carebridge.social.instruments import AHC_HRSN, DECLINED, DOMAINS
from carebridge.social.models import Screening, SocialNeed
from carebridge.social.schemas import (
    MODES,
    NEED_STATUS_WORDS,
    NEED_STATUSES,
    RESPONDENTS,
    NeedUpdate,
    ScreeningCreate,
    ScreeningInError,
)
from carebridge.web.render import go_back

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.SCREENING_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.SCREENING_WRITE))]
Posted = chart_views.Posted

TAB = "social-needs"
DETAILS = ("respondent", "language", "mode", "note")


def _zone(request: Request) -> str:
    return settings_of(request).timezone


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _chosen(form: FormData, link_id: str) -> list[str]:
    return [str(v) for v in form.getlist(service.field_of(link_id)) if str(v).strip()]


# --- the chart tab -------------------------------------------------------------------------


@router.get("/patients/{patient_id}/social-needs")
def social_needs(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/social-needs")
    if isinstance(chart, Response):
        return chart
    return chart_views.chart_page(
        request,
        "social/tab.html",
        chart,
        {
            "needs": service.needs(db, actor, patient_id),
            "screenings": service.for_patient(db, actor, patient_id),
            "rescreen": service.rescreen(db, patient_id, _zone(request)),
            "domains": DOMAINS,
            "need_statuses": NEED_STATUSES,
            "need_words": NEED_STATUS_WORDS,
            "respondents": RESPONDENTS,
            "modes": MODES,
            "languages": LANGUAGES,
            "can_write": allows(actor.role, Permission.SCREENING_WRITE),
        },
        tab=TAB,
    )


# --- a new screening -----------------------------------------------------------------------


def _new_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/social-needs/new")
    if isinstance(chart, Response):
        return chart
    instrument = instruments.get(str(form.get("instrument", ""))) or AHC_HRSN
    return chart_views.chart_page(
        request,
        "social/new.html",
        chart,
        {
            "form": form,
            "errors": errors,
            "instrument": instrument,
            "declined": DECLINED,
            "domains": DOMAINS,
            "field_of": service.field_of,
            "choices": {
                "respondent": list(RESPONDENTS.items()),
                "mode": list(MODES.items()),
                "language": list(LANGUAGES.items()),
            },
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/social-needs/new")
def new_screening(request: Request, db: Db, actor: Writer, patient_id: uuid.UUID) -> Response:
    patient = chart_views.live_chart(db, patient_id)
    form = {
        "instrument": AHC_HRSN.code,
        "respondent": "patient",
        "mode": "in-person",
        "language": patient.language if patient.language in LANGUAGES else "en",
    }
    return _new_page(request, db, actor, patient_id, form, {})


def _schema_errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else "form"
        found.setdefault(name, chart_views.plain(name, error))
    return found


@router.post("/patients/{patient_id}/social-needs", dependencies=[Csrf])
def create_screening(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed: dict[str, Any] = {name: _text(form, name) for name in (*DETAILS, "instrument")}
    instrument = instruments.get(typed["instrument"] or AHC_HRSN.code) or AHC_HRSN
    answers = {item.link_id: _chosen(form, item.link_id) for item in instrument.items}
    for link_id, chosen in answers.items():
        typed[service.field_of(link_id)] = chosen
    try:
        data = ScreeningCreate.model_validate(
            {
                **{name: typed[name] for name in DETAILS if typed[name]},
                "instrument": instrument.code,
                "answers": {k: v for k, v in answers.items() if v},
            }
        )
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            screening = service.create(db, actor, patient_id, data, _zone(request))
    except ValidationError as exc:
        return _new_page(request, db, actor, patient_id, typed, _schema_errors(exc), 422)
    except AppError as exc:
        errors = dict(exc.fields) if exc.fields else {"form": exc.detail}
        if exc.fields and any(k.startswith("item-") for k in exc.fields):
            missing = exc.extra.get("missing", [])
            lead = (
                f"{len(missing)} questions are unanswered; nothing was saved yet."
                if missing
                else "Some answers are not valid; nothing was saved yet."
            )
            errors = {"form": lead, **errors}
        return _new_page(request, db, actor, patient_id, typed, errors, exc.status)
    found = [DOMAINS[d] for d in screening.positive_domains]
    message = (
        f"Screening saved. Needs found: {', '.join(found)}."
        if found
        else "Screening saved. No social needs found."
    )
    return go_back(request, f"/patients/{patient_id}/social-needs", message)


# --- a need's status -----------------------------------------------------------------------


@router.post("/patients/{patient_id}/social-needs/needs/{need_id}", dependencies=[Csrf])
def update_need(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    need_id: uuid.UUID,
    form: Posted,
) -> Response:
    url = f"/patients/{patient_id}/social-needs"
    need = db.get(SocialNeed, need_id)
    if need is None or need.patient_id != patient_id:
        raise NotFound(f"This patient has no social need with id {need_id}")
    try:
        data = NeedUpdate.model_validate(
            {"version": _text(form, "version"), "status": _text(form, "status") or None}
        )
        with db.begin_nested():
            saved = service.update_need(db, actor, need_id, data, _zone(request))
    except ValidationError:
        return go_back(request, url, "Choose open, addressed or declined.", "error")
    except AppError as exc:
        return go_back(request, url, exc.detail, "error")
    said = NEED_STATUSES[saved.status].lower()
    return go_back(request, url, f"{DOMAINS.get(saved.domain, saved.domain)} need marked {said}.")


# --- a screening entered in error ----------------------------------------------------------


@router.post(
    "/patients/{patient_id}/social-needs/screenings/{screening_id}/entered-in-error",
    dependencies=[Csrf],
)
def screening_in_error(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    screening_id: uuid.UUID,
    form: Posted,
) -> Response:
    url = f"/patients/{patient_id}/social-needs"
    screening = db.get(Screening, screening_id)
    if screening is None or screening.patient_id != patient_id:
        raise NotFound(f"This patient has no screening with id {screening_id}")
    try:
        data = ScreeningInError.model_validate(
            {"version": _text(form, "version"), "reason": _text(form, "reason")}
        )
        with db.begin_nested():
            service.mark_in_error(db, actor, screening_id, data, _zone(request))
    except ValidationError:
        return go_back(
            request, url, "Not changed: say why the screening is entered in error.", "error"
        )
    except AppError as exc:
        return go_back(request, url, exc.detail, "error")
    return go_back(
        request,
        url,
        "Screening marked entered in error; the needs it found that were open are closed.",
    )
