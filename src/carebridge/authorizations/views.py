"""Prior authorization screens: the board across patients (over-used and expiring first), the
chart's "Authorizations" tab, a new or changed request, and the authorization page with its
services (used / approved / remaining), decision, submissions with their raw payloads,
appeals and history, and the forms to submit, record a decision, appeal and cancel.

Pages only: every use case is a call into ``authorizations.service``, which audits reads and
changes. Each write runs in a savepoint, so a refused one leaves nothing and the page comes
back with the reason beside the form and what was typed kept.
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.authorizations import codes, service
from carebridge.authorizations.models import PriorAuthorization
from carebridge.authorizations.schemas import (
    AppealCreate,
    AppealDecisionIn,
    AuthorizationCreate,
    AuthorizationUpdate,
    CancelIn,
    DecisionIn,
)
from carebridge.coverage import service as coverage_service
from carebridge.coverage.codes import PRIOR_AUTH_CHANNELS
from carebridge.lib.errors import AppError, NotFound
from carebridge.patients import views as chart_views
from carebridge.patients.models import Document
from carebridge.referrals import directory
from carebridge.referrals.models import Referral
from carebridge.scheduling.models import Practitioner
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.tasks.forms import form_text
from carebridge.web.render import clinic_today, go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.PRIOR_AUTH_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.PRIOR_AUTH_WRITE))]
Posted = chart_views.Posted

TAB = "authorizations"
LINES = 4  # service rows on the form
FIELDS = (
    "coverage_id",
    "ordering_practitioner_id",
    "rendering_practitioner_id",
    "rendering_provider_id",
    "referral_id",
    "requested_start",
    "requested_end",
    "note",
)
LABELS = {
    "coverage_id": "coverage",
    "ordering_practitioner_id": "ordering provider",
    "rendering_practitioner_id": "rendering provider",
    "rendering_provider_id": "outside rendering provider",
    "referral_id": "referral",
    "requested_start": "first day requested",
    "requested_end": "last day requested",
    "approved_start": "first day approved",
    "approved_end": "last day approved",
    "auth_number": "authorization number",
    "submitted_on": "date sent",
    "decided_on": "date decided",
}


def _zone(request: Request) -> str:
    return settings_of(request).timezone


def _typed(form: FormData) -> dict[str, Any]:
    typed: dict[str, Any] = {k: form_text(form, k) for k in form if k != "csrf_token"}
    typed["document_ids"] = [str(v) for v in form.getlist("document_ids")]
    return typed


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else "form"
        if name == "services" and len(loc) >= 3:
            found.setdefault(
                "services",
                f"Line {int(loc[1]) + 1}: " + chart_views.plain(str(loc[2]), error),
            )
            continue
        message = chart_views.plain(name, error)
        label = LABELS.get(name)
        if label:
            message = message.replace(name.replace("_", " "), label)
        found.setdefault(name, message)
    return found


def _codes_typed(form: FormData) -> list[str]:
    return [c for c in form_text(form, "diagnoses").replace(",", " ").split() if c]


def _lines_typed(form: FormData) -> list[dict[str, Any]]:
    lines = []
    for n in range(1, LINES + 1):
        code = form_text(form, f"code_{n}")
        if not code:
            continue
        modifiers = form_text(form, f"modifiers_{n}").replace(",", " ").split()
        lines.append(
            {"code": code, "modifiers": modifiers, "units_requested": form_text(form, f"units_{n}")}
        )
    return lines


def _request_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: form_text(form, name) or None for name in FIELDS}
    values["diagnoses"] = _codes_typed(form)
    values["services"] = _lines_typed(form)
    values["document_ids"] = [str(v) for v in form.getlist("document_ids")]
    return values


def _owned(db: Session, patient_id: uuid.UUID, authorization_id: uuid.UUID) -> None:
    found = db.get(PriorAuthorization, authorization_id)
    if found is None or found.patient_id != patient_id:
        raise NotFound(f"This patient has no prior authorization with id {authorization_id}")


# --- the board -----------------------------------------------------------------------------


@router.get("/authorizations")
def board(
    request: Request, db: Db, actor: Reader, status: str = "", payer: str = "", attention: int = 0
) -> Response:
    payers = coverage_service.payers(db)
    payer_ids = {str(p.id) for p in payers}
    chosen = {
        "status": status if status in codes.STATUSES else "",
        "payer": payer if payer in payer_ids else "",
        "attention": "yes" if attention else "",
    }
    rows = service.board(
        db,
        actor,
        _zone(request),
        status=chosen["status"] or None,
        payer_ref=uuid.UUID(chosen["payer"]) if chosen["payer"] else None,
        attention_only=bool(attention),
    )
    return render(
        request,
        "authorizations/board.html",
        {
            "rows": rows,
            "chosen": chosen,
            "codes": codes,
            "status_options": [("", "Every open status"), *codes.STATUSES.items()],
            "payer_options": [("", "Any payer")] + [(str(p.id), p.name) for p in payers],
            "limit": service.BOARD_LIMIT,
        },
        active="authorizations",
    )


# --- the chart tab and the request form ----------------------------------------------------


@router.get("/patients/{patient_id}/authorizations")
def authorization_list(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/authorizations")
    if isinstance(chart, Response):
        return chart
    found = service.for_patient(db, actor, patient_id, _zone(request))
    return chart_views.chart_page(
        request,
        "authorizations/list.html",
        chart,
        {
            "authorizations": found,
            "acodes": codes,
            "can_write": allows(actor.role, Permission.PRIOR_AUTH_WRITE),
        },
        tab=TAB,
    )


def _choices(db: Session, actor: Actor, patient_id: uuid.UUID) -> dict[str, Any]:
    coverages = [
        c for c in coverage_service.coverages(db, actor, patient_id) if c.status == "active"
    ]
    people = db.execute(
        select(Practitioner.id, Practitioner.name)
        .where(Practitioner.active.is_(True))
        .order_by(Practitioner.name)
    ).all()
    outside = directory.search(db, "", limit=200)
    referrals = db.execute(
        select(Referral.id, Referral.number, Referral.status)
        .where(Referral.patient_id == patient_id)
        .order_by(Referral.created_at.desc())
        .limit(30)
    ).all()
    documents = db.execute(
        select(Document.id, Document.title)
        .where(Document.patient_id == patient_id)
        .order_by(Document.created_at.desc())
        .limit(50)
    ).all()
    return {
        "coverage_options": [("", "Choose…")]
        + [
            (
                str(c.id),
                f"{c.payer_name} · member {c.member_id} ("
                f"{PRIOR_AUTH_CHANNELS.get(payer_channel(db, c.payer_ref), '')})",
            )
            for c in coverages
        ],
        "people_options": [("", "Choose…")] + [(str(i), n) for i, n in people],
        "rendering_options": [("", "None of ours")] + [(str(i), n) for i, n in people],
        "outside_options": [("", "Not an outside provider")]
        + [(str(p.id), p.name + (f" ({p.specialty})" if p.specialty else "")) for p in outside],
        "referral_options": [("", "No referral")]
        + [(str(i), f"{number} ({status})") for i, number, status in referrals],
        "document_options": [(str(i), title) for i, title in documents],
    }


def payer_channel(db: Session, payer_ref: uuid.UUID) -> str:
    from carebridge.coverage.models import Payer

    payer = db.get(Payer, payer_ref)
    return payer.prior_auth_channel if payer is not None else ""


def _form_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    authorization_id: uuid.UUID | None = None,
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/authorizations")
    if isinstance(chart, Response):
        return chart
    return chart_views.chart_page(
        request,
        "authorizations/form.html",
        chart,
        {
            "form": form,
            "errors": errors,
            "lines": LINES,
            "authorization_id": authorization_id,
            **_choices(db, actor, patient_id),
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/authorizations/new")
def new_form(request: Request, db: Db, actor: Writer, patient_id: uuid.UUID) -> Response:
    today = clinic_today(request)
    form = {"requested_start": today.isoformat(), "units_1": "1", "document_ids": []}
    return _form_page(request, db, actor, patient_id, form, {})


@router.post("/patients/{patient_id}/authorizations", dependencies=[Csrf])
def create(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    try:
        data = AuthorizationCreate.model_validate(
            {k: v for k, v in _request_values(form).items() if v is not None}
        )
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            made = service.create(db, actor, patient_id, data, _zone(request))
    except ValidationError as exc:
        return _form_page(request, db, actor, patient_id, typed, _errors(exc), status_code=422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _form_page(request, db, actor, patient_id, typed, errors, status_code=exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/authorizations/{made.id}",
        f"Authorization request {made.number} saved as a draft. Submit it to send it to "
        f"{made.payer_name}.",
    )


@router.get("/patients/{patient_id}/authorizations/{authorization_id}/edit")
def edit_form(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, authorization_id: uuid.UUID
) -> Response:
    _owned(db, patient_id, authorization_id)
    auth = service.get(db, actor, authorization_id, _zone(request))
    form: dict[str, Any] = {
        name: "" if getattr(auth, name) is None else str(getattr(auth, name)) for name in FIELDS
    }
    form["version"] = str(auth.version)
    form["diagnoses"] = " ".join(d.code for d in auth.diagnoses)
    form["document_ids"] = [str(d) for d in auth.document_ids]
    for n, line in enumerate(auth.services, start=1):
        form[f"code_{n}"] = line.code
        form[f"modifiers_{n}"] = " ".join(line.modifiers)
        form[f"units_{n}"] = str(line.units_requested)
    return _form_page(request, db, actor, patient_id, form, {}, authorization_id=authorization_id)


@router.post("/patients/{patient_id}/authorizations/{authorization_id}", dependencies=[Csrf])
def edit(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    authorization_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, authorization_id)
    typed = _typed(form)
    try:
        values = _request_values(form)
        values["version"] = form_text(form, "version")
        whole = AuthorizationCreate.model_validate(
            {k: v for k, v in values.items() if v is not None and k != "version"}
        )
        data = AuthorizationUpdate.model_validate(
            {**whole.model_dump(), "version": values["version"]}
        )
        with db.begin_nested():
            changed = service.update(db, actor, authorization_id, data, _zone(request))
    except ValidationError as exc:
        return _form_page(
            request,
            db,
            actor,
            patient_id,
            typed,
            _errors(exc),
            authorization_id=authorization_id,
            status_code=422,
        )
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _form_page(
            request,
            db,
            actor,
            patient_id,
            typed,
            errors,
            authorization_id=authorization_id,
            status_code=exc.status,
        )
    return go_back(
        request,
        f"/patients/{patient_id}/authorizations/{authorization_id}",
        f"Authorization request {changed.number} saved.",
    )


# --- the authorization page ----------------------------------------------------------------


def _page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    authorization_id: uuid.UUID,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    _owned(db, patient_id, authorization_id)
    chart = chart_views.open_chart(
        request, db, actor, patient_id, f"/authorizations/{authorization_id}"
    )
    if isinstance(chart, Response):
        return chart
    found = service.detail(db, actor, authorization_id, _zone(request))
    documents = (
        db.execute(
            select(Document.id, Document.title).where(Document.id.in_(found.document_ids))
        ).all()
        if found.document_ids
        else []
    )
    return chart_views.chart_page(
        request,
        "authorizations/authorization.html",
        chart,
        {
            "a": found,
            "acodes": codes,
            "channels": PRIOR_AUTH_CHANNELS,
            "history": service.history(db, actor, authorization_id),
            "documents": documents,
            "form": form or {},
            "errors": errors or {},
            "can_write": allows(actor.role, Permission.PRIOR_AUTH_WRITE),
            "decision_options": list(codes.DECISIONS.items()),
            "level_options": list(codes.APPEAL_LEVELS.items()),
            "outcome_options": [(k, v) for k, v in codes.APPEAL_OUTCOMES.items() if k != "pending"],
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/authorizations/{authorization_id}")
def page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, authorization_id: uuid.UUID
) -> Response:
    return _page(request, db, actor, patient_id, authorization_id)


def _step(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    authorization_id: uuid.UUID,
    form: FormData,
    which: str,
) -> Response:
    """One of the page's forms: submit, decision, appeal, appeal outcome or cancel."""
    _owned(db, patient_id, authorization_id)
    typed = {**_typed(form), "which": which}
    back = f"/patients/{patient_id}/authorizations/{authorization_id}"
    zone = _zone(request)
    today = clinic_today(request)
    # Submitting commits before it calls the clearinghouse (no savepoint can span that); it
    # checks everything before it writes, so a refused submit leaves nothing behind.
    try:
        with nullcontext() if which == "submit" else db.begin_nested():
            if which == "submit":
                done = service.submit(
                    db,
                    actor,
                    authorization_id,
                    int(form_text(form, "version") or 0),
                    settings_of(request),
                )
                if done.status == "submitted":
                    message = (
                        f"Sent, but no decision yet: {done.last_error or 'waiting for the payer'}."
                        " It is tried again automatically."
                    )
                else:
                    message = f"{done.payer_name} answered: {codes.STATUSES[done.status]}."
                    if done.auth_number:
                        message += f" Authorization number {done.auth_number}."
            elif which == "decision":
                lines = [
                    {"line": n, "units_approved": form_text(form, f"approved_{n}")}
                    for n in range(1, 13)
                    if form_text(form, f"approved_{n}")
                ]
                data = DecisionIn.model_validate(
                    {
                        "version": form_text(form, "version"),
                        "decision": form_text(form, "decision"),
                        "auth_number": form_text(form, "auth_number") or None,
                        "approved_start": form_text(form, "approved_start") or None,
                        "approved_end": form_text(form, "approved_end") or None,
                        "reason": form_text(form, "reason") or None,
                        "lines": lines,
                    }
                )
                done = service.record_decision(db, actor, authorization_id, data, zone)
                message = f"Decision recorded: {codes.STATUSES[done.status]}."
            elif which == "appeal":
                appeal = AppealCreate.model_validate(
                    {
                        "version": form_text(form, "version"),
                        "level": form_text(form, "level") or "first",
                        "submitted_on": form_text(form, "submitted_on"),
                        "reason": form_text(form, "reason"),
                    }
                )
                service.add_appeal(db, actor, authorization_id, appeal, today)
                message = "Appeal recorded. Record its outcome when the payer answers."
            elif which == "appeal-outcome":
                outcome = AppealDecisionIn.model_validate(
                    {
                        "version": form_text(form, "version"),
                        "outcome": form_text(form, "outcome"),
                        "decided_on": form_text(form, "decided_on"),
                        "note": form_text(form, "note") or None,
                    }
                )
                service.decide_appeal(
                    db,
                    actor,
                    authorization_id,
                    uuid.UUID(form_text(form, "appeal_id")),
                    outcome,
                    today,
                )
                message = f"Appeal {codes.APPEAL_OUTCOMES[outcome.outcome].lower()}."
            else:
                cancel = CancelIn.model_validate(
                    {"version": form_text(form, "version"), "reason": form_text(form, "reason")}
                )
                service.cancel(db, actor, authorization_id, cancel, zone)
                message = "Authorization request cancelled."
    except ValidationError as exc:
        return _page(request, db, actor, patient_id, authorization_id, typed, _errors(exc), 422)
    except ValueError:
        errors = {"form": "The form could not be read; reload the page and try again."}
        return _page(request, db, actor, patient_id, authorization_id, typed, errors, 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _page(request, db, actor, patient_id, authorization_id, typed, errors, exc.status)
    return go_back(request, back, message)


def _poster(which: str) -> Any:
    def handler(
        request: Request,
        db: Db,
        actor: Writer,
        patient_id: uuid.UUID,
        authorization_id: uuid.UUID,
        form: Posted,
    ) -> Response:
        return _step(request, db, actor, patient_id, authorization_id, form, which)

    handler.__name__ = f"authorization_{which.replace('-', '_')}"
    return handler


for _which, _path in (
    ("submit", "submit"),
    ("decision", "decision"),
    ("appeal", "appeals"),
    ("appeal-outcome", "appeal-outcome"),
    ("cancel", "cancel"),
):
    router.post(
        f"/patients/{{patient_id}}/authorizations/{{authorization_id}}/{_path}",
        dependencies=[Csrf],
    )(_poster(_which))
