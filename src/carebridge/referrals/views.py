"""Referral screens: the tracker across patients (overdue first), the provider directory
(search and add), the Referrals tab on the chart, a new referral, the referral page with its
status steps and history, and the printable referral letter (also as a PDF).

Pages only: every use case is a call into ``referrals.service`` or ``referrals.directory``,
which audit reads and changes. Each write runs in a savepoint, so a refused one leaves
nothing and the page comes back with the reason beside the form and what was typed kept.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.lib.errors import AppError, NotFound
from carebridge.lib.time import utcnow
from carebridge.patients import views as chart_views
from carebridge.patients.models import Document
from carebridge.referrals import codes, directory, service
from carebridge.referrals.letter_pdf import render_letter
from carebridge.referrals.models import Referral
from carebridge.referrals.schemas import (
    ProviderCreate,
    ProviderUpdate,
    ReferralCreate,
    ReferralTransition,
)
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.web.render import clinic_today, go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.REFERRAL_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.REFERRAL_WRITE))]
Posted = chart_views.Posted

TAB = "referrals"
PROVIDER_FIELDS = (
    "name",
    "kind",
    "organization",
    "npi",
    "specialty",
    "address_line",
    "city",
    "state",
    "postal_code",
    "phone",
    "fax",
    "direct_address",
)
REFERRAL_FIELDS = ("direction", "provider_id", "service_kind", "reason", "urgency", "note")
STEP_FIELDS = ("reason", "appointment_id", "scheduled_for", "seen_on", "report_received_on")
LABELS = {
    "provider_id": "provider",
    "service_kind": "service",
    "npi": "NPI",
    "direct_address": "Direct address",
    "postal_code": "ZIP code",
    "scheduled_for": "visit date",
    "seen_on": "date seen",
    "report_received_on": "date the report came",
    "appointment_id": "appointment",
}


def _options(values: dict[str, str], blank: str | None = None) -> list[tuple[str, str]]:
    found = [("", blank)] if blank is not None else []
    return found + list(values.items())


OPTIONS: dict[str, list[tuple[str, str]]] = {
    "kind": _options(codes.PROVIDER_KINDS, "Choose…"),
    "service_kind": _options(codes.SERVICE_KINDS, "Choose…"),
    "direction": _options(codes.DIRECTIONS),
    "urgency": _options(codes.URGENCIES),
    "filter_direction": _options(codes.DIRECTIONS, "Both directions"),
    "filter_status": _options(codes.STATUSES, "Every open status"),
    "filter_urgency": _options(codes.URGENCIES, "Any urgency"),
}


# --- small helpers ------------------------------------------------------------------------


def _zone(request: Request) -> str:
    return settings_of(request).timezone


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _typed(form: FormData) -> dict[str, str]:
    return {k: _text(form, k) for k in form if k not in ("csrf_token", "diagnoses")}


def _filled(form: FormData, names: Sequence[str]) -> dict[str, str]:
    return {name: value for name in names if (value := _text(form, name))}


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else "form"
        message = chart_views.plain(name, error)
        label = LABELS.get(name)
        if label:
            message = message.replace(name.replace("_", " "), label)
        found.setdefault(name, message)
    return found


def _codes_typed(form: FormData) -> list[str]:
    """Diagnosis codes as typed: one box, separated by commas, spaces or new lines."""
    raw = _text(form, "diagnoses").replace(",", " ").split()
    return [code for code in raw if code]


# --- the tracker ---------------------------------------------------------------------------


@router.get("/referrals")
def tracker(
    request: Request,
    db: Db,
    actor: Reader,
    direction: str = "",
    status: str = "",
    urgency: str = "",
    overdue: int = 0,
) -> Response:
    chosen = {
        "direction": direction if direction in codes.DIRECTIONS else "",
        "status": status if status in codes.STATUSES else "",
        "urgency": urgency if urgency in codes.URGENCIES else "",
        "overdue": "yes" if overdue else "",
    }
    rows = service.tracker(
        db,
        actor,
        _zone(request),
        direction=chosen["direction"] or None,
        status=chosen["status"] or None,
        urgency=chosen["urgency"] or None,
        overdue_only=bool(overdue),
    )
    return render(
        request,
        "referrals/tracker.html",
        {
            "rows": rows,
            "chosen": chosen,
            "options": OPTIONS,
            "codes": codes,
            "today": clinic_today(request),
            "limit": service.TRACKER_LIMIT,
        },
        active="referrals",
    )


# --- the directory -------------------------------------------------------------------------


def _directory_page(
    request: Request,
    db: Session,
    actor: Actor,
    q: str,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "referrals/directory.html",
        {
            "q": q,
            "entries": directory.search(db, q, active_only=False),
            "form": form,
            "errors": errors,
            "options": OPTIONS,
            "codes": codes,
            "can_write": allows(actor.role, Permission.REFERRAL_WRITE),
        },
        status_code=status_code,
        active="referrals",
    )


@router.get("/directory")
def directory_page(request: Request, db: Db, actor: Reader, q: str = "") -> Response:
    return _directory_page(request, db, actor, q.strip()[:100], {}, {})


@router.post("/directory", dependencies=[Csrf])
def add_provider(request: Request, db: Db, actor: Writer, form: Posted) -> Response:
    typed = _typed(form)
    try:
        data = ProviderCreate.model_validate(_filled(form, PROVIDER_FIELDS))
        with db.begin_nested():
            entry = directory.create(db, actor, data)
    except ValidationError as exc:
        return _directory_page(request, db, actor, "", typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "name")
        return _directory_page(request, db, actor, "", typed, errors, exc.status)
    return go_back(
        request,
        f"/directory?q={entry.npi or entry.name}",
        f"“{entry.name}” added to the directory.",
    )


def _provider_page(
    request: Request,
    db: Session,
    actor: Actor,
    provider_id: uuid.UUID,
    form: dict[str, Any] | None,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    entry = directory.read(db, provider_id)
    shown = form if form is not None else entry.model_dump(mode="json")
    return render(
        request,
        "referrals/provider.html",
        {
            "entry": entry,
            "form": {k: ("" if v is None else v) for k, v in shown.items()},
            "errors": errors,
            "options": OPTIONS,
            "codes": codes,
            "can_write": allows(actor.role, Permission.REFERRAL_WRITE),
        },
        status_code=status_code,
        active="referrals",
    )


@router.get("/directory/{provider_id}")
def provider_page(request: Request, db: Db, actor: Reader, provider_id: uuid.UUID) -> Response:
    return _provider_page(request, db, actor, provider_id, None, {})


@router.post("/directory/{provider_id}", dependencies=[Csrf])
def edit_provider(
    request: Request, db: Db, actor: Writer, provider_id: uuid.UUID, form: Posted
) -> Response:
    typed: dict[str, Any] = _typed(form)
    typed["active"] = bool(_text(form, "active"))
    values: dict[str, Any] = {name: _text(form, name) or None for name in PROVIDER_FIELDS}
    values["version"] = _text(form, "version")
    values["active"] = typed["active"]
    try:
        data = ProviderUpdate.model_validate(values)
        with db.begin_nested():
            entry = directory.update(db, actor, provider_id, data)
    except ValidationError as exc:
        return _provider_page(request, db, actor, provider_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "name")
        return _provider_page(request, db, actor, provider_id, typed, errors, exc.status)
    return go_back(request, f"/directory/{entry.id}", f"“{entry.name}” saved.")


# --- the chart tab and a new referral ------------------------------------------------------


@router.get("/patients/{patient_id}/referrals")
def referral_list(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/referrals")
    if isinstance(chart, Response):
        return chart
    referrals = service.for_patient(db, actor, patient_id, _zone(request))
    return chart_views.chart_page(
        request,
        "referrals/list.html",
        chart,
        {
            "referrals": referrals,
            "rcodes": codes,
            "can_write": allows(actor.role, Permission.REFERRAL_WRITE),
        },
        tab=TAB,
    )


def _new_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/referrals/new")
    if isinstance(chart, Response):
        return chart
    q = str(form.get("q", ""))
    providers = directory.search(db, q, limit=200)
    documents = db.execute(
        select(Document.id, Document.title)
        .where(Document.patient_id == patient_id)
        .order_by(Document.created_at.desc())
        .limit(50)
    ).all()
    return chart_views.chart_page(
        request,
        "referrals/new.html",
        chart,
        {
            "form": form,
            "errors": errors,
            "providers": providers,
            "documents": documents,
            "ref_options": OPTIONS,
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/referrals/new")
def new_referral_form(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, q: str = ""
) -> Response:
    form = {"direction": "outgoing", "urgency": "routine", "q": q.strip()[:100]}
    return _new_page(request, db, actor, patient_id, form, {})


@router.post("/patients/{patient_id}/referrals", dependencies=[Csrf])
def create_referral(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed: dict[str, Any] = _typed(form)
    typed["diagnoses"] = _text(form, "diagnoses")
    typed["attachment_ids"] = [str(v) for v in form.getlist("attachment_ids")]
    try:
        data = ReferralCreate.model_validate(
            {
                **_filled(form, REFERRAL_FIELDS),
                "diagnoses": _codes_typed(form),
                "attachment_ids": typed["attachment_ids"],
            }
        )
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            referral = service.create(db, actor, patient_id, data, _zone(request))
    except ValidationError as exc:
        return _new_page(request, db, actor, patient_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "reason")
        return _new_page(request, db, actor, patient_id, typed, errors, exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/referrals/{referral.id}",
        f"Referral {referral.number} saved as a draft. Mark it sent once it has gone out.",
    )


# --- the referral page ---------------------------------------------------------------------


def _owned(db: Session, patient_id: uuid.UUID, referral_id: uuid.UUID) -> None:
    referral = db.get(Referral, referral_id)
    if referral is None or referral.patient_id != patient_id:
        raise NotFound(f"This patient has no referral with id {referral_id}")


def _referral_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    referral_id: uuid.UUID,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    _owned(db, patient_id, referral_id)
    chart = chart_views.open_chart(request, db, actor, patient_id, f"/referrals/{referral_id}")
    if isinstance(chart, Response):
        return chart
    zone = _zone(request)
    referral = service.get(db, actor, referral_id, zone)
    visits = db.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status.not_in(("cancelled", "noshow", "entered-in-error")),
            Appointment.starts_at >= utcnow() - dt.timedelta(days=60),
        )
        .order_by(Appointment.starts_at)
        .limit(30)
    ).all()
    attachments = (
        db.execute(
            select(Document.id, Document.title).where(Document.id.in_(referral.attachment_ids))
        ).all()
        if referral.attachment_ids
        else []
    )
    return chart_views.chart_page(
        request,
        "referrals/referral.html",
        chart,
        {
            "r": referral,
            "rcodes": codes,
            "history": service.history(db, actor, referral_id),
            "visits": visits,
            "attachments": attachments,
            "form": form,
            "errors": errors,
            "can_write": allows(actor.role, Permission.REFERRAL_WRITE),
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/referrals/{referral_id}")
def referral_page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, referral_id: uuid.UUID
) -> Response:
    return _referral_page(request, db, actor, patient_id, referral_id, {}, {})


@router.post("/patients/{patient_id}/referrals/{referral_id}/status", dependencies=[Csrf])
def change_status(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    referral_id: uuid.UUID,
    form: Posted,
) -> Response:
    typed = _typed(form)
    _owned(db, patient_id, referral_id)
    try:
        data = ReferralTransition.model_validate(
            {
                **_filled(form, STEP_FIELDS),
                "action": _text(form, "action"),
                "version": _text(form, "version"),
            }
        )
        with db.begin_nested():
            referral = service.transition(db, actor, referral_id, data, _zone(request))
    except ValidationError as exc:
        errors = _errors(exc)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _referral_page(
            request, db, actor, patient_id, referral_id, typed, errors, exc.status
        )
    else:
        return go_back(
            request,
            f"/patients/{patient_id}/referrals/{referral_id}",
            f"Referral {referral.number} is now {codes.STATUSES[referral.status].lower()}.",
        )
    return _referral_page(request, db, actor, patient_id, referral_id, typed, errors, 422)


# --- the letter ----------------------------------------------------------------------------


@router.get("/referrals/{referral_id}/letter")
def letter(request: Request, db: Db, actor: Reader, referral_id: uuid.UUID) -> Response:
    """The referral letter, printable on A4 or Letter without navigation."""
    context = service.letter_context(db, actor, referral_id, _zone(request))
    return render(
        request,
        "referrals/letter.html",
        {**context, "rcodes": codes, "printed": clinic_today(request)},
    )


@router.get("/referrals/{referral_id}/letter.pdf")
def letter_pdf(request: Request, db: Db, actor: Reader, referral_id: uuid.UUID) -> Response:
    """The same letter as a PDF to download, send or file (its read is audited as the page's)."""
    zone = _zone(request)
    context = service.letter_context(db, actor, referral_id, zone)
    body = render_letter(
        context,
        clinic_name=settings_of(request).clinic_name,
        printed=clinic_today(request),
        zone=zone,
    )
    filename = f"referral-{context['referral'].number}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
