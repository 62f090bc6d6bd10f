"""Billing screens: the billing board across patients (open cases, claims by status, payment
plans with late ones first), the Billing tab on the chart, a claim made from a completed
visit and its page (lines, diagnoses, attachments checklist, status history, the raw 837 and
999), billing cases with their notes, the estimate of the patient's share (printable), and
payment plans.

Pages only: every use case is a call into the billing services, which audit reads and
changes. Each write runs in a savepoint, so a refused one leaves nothing and the page comes
back with the reason beside the form and what was typed kept.
"""

from __future__ import annotations

import datetime as dt
import uuid
from contextlib import nullcontext
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.billing import cases, claims, codes, estimates, plans
from carebridge.billing.estimate import money
from carebridge.billing.models import BillingCase, Claim, Instalment, PaymentPlan
from carebridge.billing.schemas import (
    AttachmentIn,
    AttachmentUpdate,
    CaseCreate,
    CaseUpdate,
    ClaimCreate,
    ClaimStep,
    ClaimUpdate,
    EstimateIn,
    PaymentIn,
    PlanCancel,
    PlanCreate,
)
from carebridge.coverage.procedures import DESCRIPTIONS
from carebridge.coverage.x12.claim import PLACES_OF_SERVICE, REPORT_TYPES, TRANSMISSIONS
from carebridge.lib.errors import AppError, NotFound
from carebridge.patients import views as chart_views
from carebridge.patients.models import Document
from carebridge.scheduling.models import Appointment, AppointmentType, Practitioner
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.models import User
from carebridge.security.roles import Permission, allows
from carebridge.tasks.forms import form_text, typed_in
from carebridge.web.render import clinic_today, go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.BILLING_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.BILLING_WRITE))]
Posted = chart_views.Posted

TAB = "billing"
LINE_ROWS = 4
LABELS = {
    "appointment_id": "visit",
    "coverage_id": "coverage",
    "owner_id": "owner",
    "claim_id": "claim",
    "first_due_on": "first due date",
    "instalment_amount": "amount of each instalment",
    "paid_on": "date paid",
    "paid_amount": "amount paid",
    "patient_responsibility": "patient responsibility",
}


def _options(values: dict[str, str], blank: str | None = None) -> list[tuple[str, str]]:
    found = [("", blank)] if blank is not None else []
    return found + list(values.items())


OPTIONS: dict[str, list[tuple[str, str]]] = {
    "topic": _options(codes.CASE_TOPICS, "Choose…"),
    "case_status": _options(codes.CASE_STATUSES),
    "outcome": _options(codes.OUTCOMES, "Choose…"),
    "attachment_kind": _options({k: v[0] for k, v in codes.ATTACHMENT_KINDS.items()}),
    "transmission": _options(TRANSMISSIONS),
    "filter_claim_status": _options(codes.CLAIM_STATUSES, "Every open status"),
}


def _zone(request: Request) -> str:
    return settings_of(request).timezone


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else "form"
        if name == "lines" and len(loc) >= 3:
            message = f"Line {int(loc[1]) + 1}, {str(loc[2]).replace('_', ' ')}: {error['msg']}"
        else:
            message = chart_views.plain(name, error)
            label = LABELS.get(name)
            if label:
                message = message.replace(name.replace("_", " "), label)
        found.setdefault(name, message)
    return found


def _base(request: Request, actor: Actor) -> dict[str, Any]:
    return {
        "bcodes": codes,
        "money": money,
        "boptions": OPTIONS,
        "can_write": allows(actor.role, Permission.BILLING_WRITE),
    }


def _users(db: Session) -> list[tuple[str, str]]:
    rows = db.execute(
        select(User.id, User.display_name)
        .where(User.is_active.is_(True))
        .order_by(User.display_name)
    ).all()
    return [("", "Nobody yet")] + [(str(i), name) for i, name in rows]


# --- the board -----------------------------------------------------------------------------


@router.get("/billing")
def board(request: Request, db: Db, actor: Reader, status: str = "") -> Response:
    chosen = status if status in codes.CLAIM_STATUSES else ""
    today = clinic_today(request)
    return render(
        request,
        "billing/board.html",
        {
            **_base(request, actor),
            "cases": cases.board(db, actor),
            "claims": claims.board(db, actor, status=chosen or None),
            "counts": claims.counts(db),
            "plans": plans.board(db, actor, today),
            "chosen": chosen,
            "today": today,
        },
        active="billing",
    )


# --- the chart tab -------------------------------------------------------------------------


def _unbilled(db: Session, patient_id: uuid.UUID) -> list[tuple[Appointment, str, str]]:
    """Completed visits of the last 180 days that have no claim yet, newest first."""
    billed = select(Claim.appointment_id).where(Claim.patient_id == patient_id)
    rows = db.execute(
        select(Appointment, AppointmentType.name, Practitioner.name)
        .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status == "fulfilled",
            Appointment.starts_at >= dt.datetime.now(dt.UTC) - dt.timedelta(days=180),
            Appointment.id.not_in(billed),
        )
        .order_by(Appointment.starts_at.desc())
        .limit(20)
    ).all()
    return [(visit, kind, who) for visit, kind, who in rows]


def _tab(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/billing")
    if isinstance(chart, Response):
        return chart
    today = clinic_today(request)
    return chart_views.chart_page(
        request,
        "billing/tab.html",
        chart,
        {
            **_base(request, actor),
            "claims": claims.for_patient(db, actor, patient_id),
            "cases": cases.for_patient(db, actor, patient_id),
            "plans": plans.for_patient(db, actor, patient_id, today),
            "unbilled": _unbilled(db, patient_id),
            "users": _users(db),
            "form": form,
            "errors": errors,
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/billing")
def billing_tab(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    return _tab(request, db, actor, patient_id, {"owner_id": str(actor.user_id or "")}, {})


# --- cases ---------------------------------------------------------------------------------


@router.post("/patients/{patient_id}/billing/cases", dependencies=[Csrf])
def open_case(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = typed_in(form)
    try:
        data = CaseCreate.model_validate(
            {
                "topic": form_text(form, "topic"),
                "question": form_text(form, "question"),
                "owner_id": form_text(form, "owner_id") or None,
                "claim_id": form_text(form, "claim_id") or None,
            }
        )
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            made = cases.create(db, actor, patient_id, data)
    except ValidationError as exc:
        return _tab(request, db, actor, patient_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "question")
        return _tab(request, db, actor, patient_id, typed, errors, exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/billing/cases/{made.id}",
        f"Billing case {made.number} opened.",
    )


def _owned(db: Session, model: Any, patient_id: uuid.UUID, record_id: uuid.UUID, what: str) -> Any:
    row = db.get(model, record_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound(f"This patient has no {what} with id {record_id}")
    return row


def _case_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    case_id: uuid.UUID,
    form: dict[str, Any] | None,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    _owned(db, BillingCase, patient_id, case_id, "billing case")
    chart = chart_views.open_chart(request, db, actor, patient_id, f"/billing/cases/{case_id}")
    if isinstance(chart, Response):
        return chart
    case = cases.get(db, actor, case_id)
    shown = form or {
        "status": case.status,
        "owner_id": str(case.owner_id or ""),
        "claim_id": str(case.claim_id or ""),
        "resolution": case.resolution or "",
    }
    patient_claims = [("", "No claim")] + [
        (str(c.id), f"{c.number} · {c.service_date:%d %b %Y} · {money(c.total_charge)}")
        for c in claims.for_patient(db, actor, patient_id)
    ]
    return chart_views.chart_page(
        request,
        "billing/case.html",
        chart,
        {
            **_base(request, actor),
            "c": case,
            "form": shown,
            "errors": errors,
            "users": _users(db),
            "patient_claims": patient_claims,
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/billing/cases/{case_id}")
def case_page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, case_id: uuid.UUID
) -> Response:
    return _case_page(request, db, actor, patient_id, case_id, None, {})


@router.post("/patients/{patient_id}/billing/cases/{case_id}", dependencies=[Csrf])
def change_case(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    case_id: uuid.UUID,
    form: Posted,
) -> Response:
    typed = typed_in(form)
    _owned(db, BillingCase, patient_id, case_id, "billing case")
    try:
        data = CaseUpdate.model_validate(
            {
                "version": form_text(form, "version"),
                "status": form_text(form, "status") or None,
                "owner_id": form_text(form, "owner_id") or None,
                "claim_id": form_text(form, "claim_id") or None,
                "note": form_text(form, "note") or None,
                "resolution": form_text(form, "resolution") or None,
            }
        )
        with db.begin_nested():
            case = cases.update(db, actor, case_id, data)
    except ValidationError as exc:
        return _case_page(request, db, actor, patient_id, case_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "note")
        return _case_page(request, db, actor, patient_id, case_id, typed, errors, exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/billing/cases/{case_id}",
        f"Billing case {case.number} saved: {codes.CASE_STATUSES[case.status].lower()}.",
    )


# --- claims --------------------------------------------------------------------------------


def _lines_typed(form: FormData) -> list[dict[str, Any]]:
    """Service lines as typed in the rows of the claim form (blank rows left out)."""
    found = []
    for row in range(1, LINE_ROWS + 1):
        code = form_text(form, f"line{row}_code")
        charge = form_text(form, f"line{row}_charge")
        if not code and not charge:
            continue
        line: dict[str, Any] = {
            "code": code,
            "charge": charge,
            "units": form_text(form, f"line{row}_units") or "1",
            "modifiers": form_text(form, f"line{row}_modifiers").replace(",", " ").split(),
            "pointers": form_text(form, f"line{row}_pointers").replace(",", " ").split() or ["1"],
        }
        found.append(line)
    return found


def _diagnoses_typed(form: FormData) -> list[str]:
    return [c for c in form_text(form, "diagnoses").replace(",", " ").split() if c]


def _claim_form(lines: list[dict[str, Any]], diagnoses: list[str]) -> dict[str, str]:
    form = {"diagnoses": ", ".join(diagnoses)}
    for row, line in enumerate(lines, start=1):
        form[f"line{row}_code"] = str(line["code"])
        form[f"line{row}_charge"] = str(line["charge"])
        form[f"line{row}_units"] = str(line.get("units", "1"))
        form[f"line{row}_modifiers"] = " ".join(line.get("modifiers", []))
        form[f"line{row}_pointers"] = " ".join(str(p) for p in line.get("pointers", [1]))
    return form


def _new_claim_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    appointment_id: uuid.UUID,
    form: dict[str, Any] | None,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    visit = _owned(db, Appointment, patient_id, appointment_id, "visit")
    chart = chart_views.open_chart(request, db, actor, patient_id, "/billing")
    if isinstance(chart, Response):
        return chart
    if form is None:
        lines = [
            {"code": line.code, "charge": line.charge, "units": "1", "pointers": [1]}
            for line in claims.default_lines(db, visit)
        ]
        form = _claim_form(lines, claims.active_problems(db, patient_id))
    kind = db.get(AppointmentType, visit.appointment_type_id)
    who = db.get(Practitioner, visit.practitioner_id)
    day = claims.service_day(visit, _zone(request))
    coverage = claims.primary_coverage(db, patient_id, day)
    return chart_views.chart_page(
        request,
        "billing/claim_new.html",
        chart,
        {
            **_base(request, actor),
            "visit": visit,
            "visit_kind": kind.name if kind else "",
            "practitioner": who.name if who else "",
            "coverage": coverage,
            "day": day,
            "form": form,
            "errors": errors,
            "rows": LINE_ROWS,
            "fees": codes.FEES,
            "descriptions": DESCRIPTIONS,
            "existing": claims.existing_for_visit(db, visit.id),
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/claims/new/{appointment_id}")
def new_claim(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, appointment_id: uuid.UUID
) -> Response:
    return _new_claim_page(request, db, actor, patient_id, appointment_id, None, {})


@router.post("/patients/{patient_id}/claims/new/{appointment_id}", dependencies=[Csrf])
def create_claim(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    appointment_id: uuid.UUID,
    form: Posted,
) -> Response:
    typed = typed_in(form)
    _owned(db, Appointment, patient_id, appointment_id, "visit")
    try:
        data = ClaimCreate.model_validate(
            {
                "appointment_id": str(appointment_id),
                "diagnoses": _diagnoses_typed(form),
                "lines": _lines_typed(form),
                "total": form_text(form, "total") or None,
                "prior_authorization": form_text(form, "prior_authorization") or None,
            }
        )
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            made = claims.create(db, actor, data, _zone(request))
    except ValidationError as exc:
        errors = _errors(exc)
        return _new_claim_page(request, db, actor, patient_id, appointment_id, typed, errors, 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _new_claim_page(
            request, db, actor, patient_id, appointment_id, typed, errors, exc.status
        )
    return go_back(
        request,
        f"/patients/{patient_id}/claims/{made.id}",
        f"Claim {made.number} saved as a draft. Check it, then mark it ready to send.",
    )


def _claim_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    claim_id: uuid.UUID,
    form: dict[str, Any] | None,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    _owned(db, Claim, patient_id, claim_id, "claim")
    chart = chart_views.open_chart(request, db, actor, patient_id, f"/claims/{claim_id}")
    if isinstance(chart, Response):
        return chart
    claim = claims.get(db, actor, claim_id)
    documents = db.execute(
        select(Document.id, Document.title)
        .where(Document.patient_id == patient_id)
        .order_by(Document.created_at.desc())
        .limit(50)
    ).all()
    titles = {str(i): t for i, t in documents}
    correction = _claim_form(
        [line.model_dump() for line in claim.lines], [d.code for d in claim.diagnoses]
    )
    return chart_views.chart_page(
        request,
        "billing/claim.html",
        chart,
        {
            **_base(request, actor),
            "cl": claim,
            "history": claims.history(db, actor, claim_id),
            "raw": claims.raw(db, actor, claim_id),
            "documents": [("", "Not received yet")] + [(str(i), t) for i, t in documents],
            "titles": titles,
            "form": form if form is not None else correction,
            "errors": errors,
            "rows": LINE_ROWS,
            "places": PLACES_OF_SERVICE,
            "report_types": REPORT_TYPES,
            "transmissions": TRANSMISSIONS,
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/claims/{claim_id}")
def claim_page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, claim_id: uuid.UUID
) -> Response:
    return _claim_page(request, db, actor, patient_id, claim_id, None, {})


def _claim_write(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    claim_id: uuid.UUID,
    form: FormData,
    run: Any,
    *,
    sending: bool = False,
) -> Response:
    """Run one change of a claim in a savepoint; the page again with the reason if refused."""
    typed = typed_in(form)
    _owned(db, Claim, patient_id, claim_id, "claim")
    try:
        # Sending commits before the clearinghouse call (no savepoint spans it); it checks
        # everything before it writes, so a refused send leaves nothing behind.
        with nullcontext() if sending else db.begin_nested():
            message = run()
    except ValidationError as exc:
        return _claim_page(request, db, actor, patient_id, claim_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _claim_page(request, db, actor, patient_id, claim_id, typed, errors, exc.status)
    return go_back(request, f"/patients/{patient_id}/claims/{claim_id}", message)


@router.post("/patients/{patient_id}/claims/{claim_id}/status", dependencies=[Csrf])
def claim_step(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    claim_id: uuid.UUID,
    form: Posted,
) -> Response:
    def run() -> str:
        data = ClaimStep.model_validate(
            {
                "action": form_text(form, "action"),
                "version": form_text(form, "version"),
                "outcome": form_text(form, "outcome") or None,
                "paid_amount": form_text(form, "paid_amount") or None,
                "patient_responsibility": form_text(form, "patient_responsibility") or None,
                "decided_on": form_text(form, "decided_on") or None,
                "note": form_text(form, "note") or None,
            }
        )
        done = claims.step(db, actor, claim_id, data)
        return f"Claim {done.number} is now {codes.CLAIM_STATUSES[done.status].lower()}."

    return _claim_write(request, db, actor, patient_id, claim_id, form, run)


@router.post("/patients/{patient_id}/claims/{claim_id}/submit", dependencies=[Csrf])
def claim_submit(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    claim_id: uuid.UUID,
    form: Posted,
) -> Response:
    settings = settings_of(request)

    def run() -> str:
        version = int(form_text(form, "version") or 0)
        done = claims.submit(db, actor, claim_id, version, settings)
        if done.status == "accepted":
            return f"Claim {done.number} was sent and the clearinghouse accepted it."
        if done.status == "rejected":
            return f"Claim {done.number} was rejected by the clearinghouse: see why below."
        return f"Claim {done.number} was not sent: {done.last_error}"

    return _claim_write(request, db, actor, patient_id, claim_id, form, run, sending=True)


@router.post("/patients/{patient_id}/claims/{claim_id}/correct", dependencies=[Csrf])
def claim_correct(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    claim_id: uuid.UUID,
    form: Posted,
) -> Response:
    def run() -> str:
        data = ClaimUpdate.model_validate(
            {
                "version": form_text(form, "version"),
                "diagnoses": _diagnoses_typed(form),
                "lines": _lines_typed(form),
                "prior_authorization": form_text(form, "prior_authorization") or None,
            }
        )
        done = claims.update(db, actor, claim_id, data, _zone(request))
        return f"Claim {done.number} corrected."

    return _claim_write(request, db, actor, patient_id, claim_id, form, run)


@router.post("/patients/{patient_id}/claims/{claim_id}/attachments", dependencies=[Csrf])
def claim_add_attachment(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    claim_id: uuid.UUID,
    form: Posted,
) -> Response:
    def run() -> str:
        data = AttachmentIn.model_validate(
            {
                "kind": form_text(form, "kind"),
                "label": form_text(form, "label") or None,
                "required": bool(form_text(form, "required")),
                "transmission": form_text(form, "transmission") or "FX",
                "document_id": form_text(form, "document_id") or None,
            }
        )
        claims.add_attachment(db, actor, claim_id, data)
        return "Added to the attachments checklist."

    return _claim_write(request, db, actor, patient_id, claim_id, form, run)


@router.post(
    "/patients/{patient_id}/claims/{claim_id}/attachments/{attachment_id}", dependencies=[Csrf]
)
def claim_mark_attachment(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    claim_id: uuid.UUID,
    attachment_id: uuid.UUID,
    form: Posted,
) -> Response:
    def run() -> str:
        data = AttachmentUpdate.model_validate(
            {
                "version": form_text(form, "version"),
                "document_id": form_text(form, "document_id") or None,
            }
        )
        claims.mark_attachment(db, actor, attachment_id, data)
        return "Checklist updated."

    return _claim_write(request, db, actor, patient_id, claim_id, form, run)


# --- the estimate --------------------------------------------------------------------------


@router.get("/patients/{patient_id}/billing/estimate")
def estimate_page(
    request: Request,
    db: Db,
    actor: Reader,
    patient_id: uuid.UUID,
    code: str = "",
    allowed: str = "",
    printable: Annotated[int, Query(alias="print")] = 0,
) -> Response:
    """The form, and the estimate when a service was asked for (a GET: printable, linkable)."""
    chart = chart_views.open_chart(request, db, actor, patient_id, "/billing/estimate")
    if isinstance(chart, Response):
        return chart
    form = {"code": code.strip()[:10], "allowed": allowed.strip()[:12]}
    errors: dict[str, str] = {}
    result = None
    status_code = 200
    if form["code"]:
        try:
            data = EstimateIn.model_validate(
                {"patient_id": str(patient_id), "code": form["code"],
                 "allowed": form["allowed"] or None}
            )  # fmt: skip
            result = estimates.make(db, actor, data, clinic_today(request))
        except ValidationError as exc:
            errors, status_code = _errors(exc), 422
        except AppError as exc:
            errors, status_code = chart_views.app_errors(exc, "code"), exc.status
    if printable and result is not None:
        return render(
            request,
            "billing/estimate_print.html",
            {
                **_base(request, actor),
                "p": chart.patient,
                "form": form,
                "result": result,
                "today": clinic_today(request),
                "clinic_phone": settings_of(request).clinic_phone,
            },
        )
    return chart_views.chart_page(
        request,
        "billing/estimate.html",
        chart,
        {
            **_base(request, actor),
            "form": form,
            "errors": errors,
            "result": result,
            "services": sorted(codes.FEES.items()),
            "descriptions": DESCRIPTIONS,
        },
        tab=TAB,
        status_code=status_code,
    )


# --- payment plans -------------------------------------------------------------------------


def _new_plan_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/payment-plans/new")
    if isinstance(chart, Response):
        return chart
    return chart_views.chart_page(
        request,
        "billing/plan_new.html",
        chart,
        {**_base(request, actor), "form": form, "errors": errors},
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/payment-plans/new")
def new_plan(request: Request, db: Db, actor: Writer, patient_id: uuid.UUID) -> Response:
    first = clinic_today(request) + dt.timedelta(days=14)
    return _new_plan_page(request, db, actor, patient_id, {"first_due_on": first.isoformat()}, {})


@router.post("/patients/{patient_id}/payment-plans", dependencies=[Csrf])
def create_plan(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = typed_in(form)
    try:
        data = PlanCreate.model_validate(
            {
                "total": form_text(form, "total"),
                "instalments": form_text(form, "instalments") or None,
                "instalment_amount": form_text(form, "instalment_amount") or None,
                "first_due_on": form_text(form, "first_due_on"),
                "note": form_text(form, "note") or None,
            }
        )
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            made = plans.create(db, actor, patient_id, data, clinic_today(request))
    except ValidationError as exc:
        return _new_plan_page(request, db, actor, patient_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "total")
        return _new_plan_page(request, db, actor, patient_id, typed, errors, exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/payment-plans/{made.id}",
        f"Payment plan {made.number} made: {len(made.instalments)} instalments.",
    )


def _plan_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    plan_id: uuid.UUID,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    _owned(db, PaymentPlan, patient_id, plan_id, "payment plan")
    chart = chart_views.open_chart(request, db, actor, patient_id, f"/payment-plans/{plan_id}")
    if isinstance(chart, Response):
        return chart
    return chart_views.chart_page(
        request,
        "billing/plan.html",
        chart,
        {
            **_base(request, actor),
            "pl": plans.get(db, actor, plan_id, clinic_today(request)),
            "form": form,
            "errors": errors,
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/payment-plans/{plan_id}")
def plan_page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, plan_id: uuid.UUID
) -> Response:
    return _plan_page(request, db, actor, patient_id, plan_id, {}, {})


@router.post(
    "/patients/{patient_id}/payment-plans/{plan_id}/instalments/{instalment_id}",
    dependencies=[Csrf],
)
def pay_instalment(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    plan_id: uuid.UUID,
    instalment_id: uuid.UUID,
    form: Posted,
) -> Response:
    typed = typed_in(form)
    _owned(db, PaymentPlan, patient_id, plan_id, "payment plan")
    item = db.get(Instalment, instalment_id)
    if item is None or item.plan_id != plan_id:
        raise NotFound(f"This plan has no instalment with id {instalment_id}")
    try:
        data = PaymentIn.model_validate(
            {
                "version": form_text(form, "version"),
                "amount": form_text(form, "amount"),
                "paid_on": form_text(form, "paid_on"),
            }
        )
        with db.begin_nested():
            plan = plans.pay(db, actor, instalment_id, data, clinic_today(request))
    except ValidationError as exc:
        return _plan_page(request, db, actor, patient_id, plan_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "amount")
        return _plan_page(request, db, actor, patient_id, plan_id, typed, errors, exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/payment-plans/{plan_id}",
        f"Payment recorded. Balance {money(plan.balance)}.",
    )


@router.post("/patients/{patient_id}/payment-plans/{plan_id}/cancel", dependencies=[Csrf])
def cancel_plan(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    plan_id: uuid.UUID,
    form: Posted,
) -> Response:
    typed = typed_in(form)
    _owned(db, PaymentPlan, patient_id, plan_id, "payment plan")
    try:
        data = PlanCancel.model_validate(
            {"version": form_text(form, "version"), "note": form_text(form, "note")}
        )
        with db.begin_nested():
            plan = plans.cancel(db, actor, plan_id, data, clinic_today(request))
    except ValidationError as exc:
        return _plan_page(request, db, actor, patient_id, plan_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "note")
        return _plan_page(request, db, actor, patient_id, plan_id, typed, errors, exc.status)
    return go_back(
        request, f"/patients/{patient_id}/payment-plans/{plan_id}", f"Plan {plan.number} cancelled."
    )
