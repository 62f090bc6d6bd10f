"""The chart's "Coverage" tab (a patient's insurance in order of benefits, with forms to add
and edit a coverage and upload the card's images) and the payer list.

Pages only: every read and change is a call into ``coverage.service`` (which audits them)
and, for card images, ``patients.service.add_document`` (which keeps the house's upload
limits). A refused form comes back with the message next to the field and what was typed
still in place; nothing of it is saved, uploaded images included."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.coverage import codes, eligibility, service
from carebridge.coverage.schemas import (
    CoverageCreate,
    CoverageUpdate,
    PayerCreate,
    PayerUpdate,
    PlanCreate,
    PlanUpdate,
)
from carebridge.lib.errors import AppError, NotFound, ValidationFailed
from carebridge.patients import service as patients

# The chart's own form helpers, so a coverage form reads and answers like the others.
from carebridge.patients.views import (
    Posted,
    _filled,
    _sentence,
    _text,
    _typed,
    _upload,
    app_errors,
    chart_page,
    open_chart,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.web.render import clinic_today, go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.COVERAGE_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.COVERAGE_WRITE))]

COVERAGE_FIELDS = (
    "payer_ref",
    "plan_id",
    "member_id",
    "group_number",
    "group_name",
    "relationship",
    "subscriber_family_name",
    "subscriber_given_names",
    "subscriber_birth_date",
    "subscriber_sex",
    "subscriber_member_id",
    "rank",
    "start_on",
    "end_on",
    "status",
    "note",
)
LABELS = {
    "payer_ref": "payer",
    "plan_id": "plan",
    "member_id": "member id",
    "group_number": "group number",
    "group_name": "group name",
    "relationship": "patient's relationship to the subscriber",
    "subscriber_family_name": "subscriber's family name",
    "subscriber_given_names": "subscriber's given names",
    "subscriber_birth_date": "subscriber's date of birth",
    "subscriber_sex": "subscriber's sex",
    "subscriber_member_id": "subscriber's member id",
    "rank": "order of benefits",
    "start_on": "start date",
    "end_on": "end date",
    "status": "status",
    "name": "name",
    "payer_id": "payer id",
    "plan_type": "plan type",
    "phone": "phone number",
    "website": "website",
}
CHOSEN = frozenset(
    {"payer_ref", "plan_id", "relationship", "subscriber_sex", "rank", "status", "plan_type"}
)
HINTS = {"payer_id": "Use the clearinghouse's payer id: letters, digits and dashes only."}


# --- reading forms and saying what is wrong ------------------------------------------------


def explain(exc: ValidationError) -> dict[str, str]:
    """Each field's first problem, said as how to fix it."""
    found: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        kind = str(error.get("type", ""))
        label = LABELS.get(name, name.replace("_", " "))
        if kind in ("missing", "string_too_short"):
            message = f"{'Choose' if name in CHOSEN else 'Enter'} the {label}."
        elif kind.startswith("date"):
            message = f"Enter the {label} as a date, e.g. 2026-03-12."
        elif kind in ("uuid_parsing", "uuid_type", "literal_error", "enum") or name == "rank":
            message = f"Choose the {label} from the list."
        elif kind == "string_too_long":
            message = f"Use at most {(error.get('ctx') or {}).get('max_length')} characters."
        elif kind == "string_pattern_mismatch":
            message = HINTS.get(name, f"Check the format of the {label}.")
        elif kind == "int_parsing" and name == "version":
            message = "The form is out of date; reload the page and try again."
        elif kind == "value_error" and "unknown " in str(error.get("msg", "")):
            message = f"Choose the {label} from the list."
        else:
            message = _sentence(
                str(error.get("msg", "Check this field")).removeprefix("Value error, ")
            )
        found.setdefault(name, message)
    return found


def _store_cards(
    db: Session, actor: Actor, patient_id: uuid.UUID, form: FormData
) -> dict[str, uuid.UUID]:
    """Upload the card images sent with the form, through the chart's own document upload
    (file types and size limit); a refused image names its side."""
    stored: dict[str, uuid.UUID] = {}
    for side in ("front", "back"):
        upload = _upload(form, f"card_{side}")
        if upload is None:
            continue
        if (upload.content_type or "") not in service.CARD_TYPES:
            raise ValidationFailed(
                f"The card's {side} is not a PNG or JPEG image. Nothing was saved.",
                fields={f"card_{side}": f"Card {side}: upload a PNG or JPEG photo of the card."},
            )
        try:
            document = patients.add_document(
                db,
                actor,
                patient_id,
                title=f"Insurance card ({side}) {upload.filename or ''}".strip(),
                content_type=upload.content_type or "",
                content=upload.file.read(patients.MAX_DOCUMENT_BYTES + 1),
            )
        except AppError as exc:
            problem = next(iter(exc.fields.values()), exc.detail)
            exc.fields = {f"card_{side}": f"Card {side}: {problem}"}
            raise
        stored[f"card_{side}_id"] = document.id
    return stored


# --- the tab -------------------------------------------------------------------------------


def _choices(db: Session) -> dict[str, list[tuple[str, str]]]:
    payers = service.payers(db, active_only=True)
    names = {p.id: p.name for p in payers}
    plans = [p for p in service.plans(db, active_only=True) if p.payer_ref in names]
    return {
        "payers": [("", "Choose…")] + [(str(p.id), f"{p.name} ({p.payer_id})") for p in payers],
        "plans": [("", "Not known")]
        + [
            (str(p.id), f"{names[p.payer_ref]} · {p.name} ({codes.PLAN_TYPES[p.plan_type]})")
            for p in plans
        ],
        "relationships": list(codes.RELATIONSHIPS.items()),
        "sexes": [("", "Choose…"), *codes.SEXES.items()],
        "ranks": [(str(k), v) for k, v in codes.RANKS.items()],
        "statuses": list(codes.STATUSES.items()),
    }


def _context(request: Request, db: Session) -> dict[str, Any]:
    settings = settings_of(request)
    return {
        "choices": _choices(db),
        "coverage_codes": codes,
        "max_upload": min(patients.MAX_DOCUMENT_BYTES, settings.max_body_bytes - 64 * 1024),
    }


def _tab(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/coverage")
    if isinstance(chart, Response):
        return chart
    today = clinic_today(request)
    found = service.coverages(db, actor, patient_id)
    return chart_page(
        request,
        "coverage/tab.html",
        chart,
        {
            "in_force": [c for c in found if service.in_force(c, today)],
            "others": [c for c in found if not service.in_force(c, today)],
            "can_write": allows(actor.role, Permission.COVERAGE_WRITE),
            "checks": eligibility.for_patient(db, actor, patient_id),
            "reading": eligibility.reading,
            "form": form if form is not None else {"start_on": today.isoformat()},
            "errors": errors or {},
            **_context(request, db),
        },
        tab="coverage",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/coverage")
def coverage_tab(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    return _tab(request, db, actor, patient_id)


@router.post("/patients/{patient_id}/coverage", dependencies=[Csrf])
def add_coverage(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    try:
        parsed = CoverageCreate.model_validate(_filled(form, COVERAGE_FIELDS))
        with db.begin_nested():
            cards = _store_cards(db, actor, patient_id, form)
            made = service.add(
                db, actor, patient_id, parsed.model_copy(update=cards), clinic_today(request)
            )
    except ValidationError as exc:
        errors = explain(exc)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = app_errors(exc)
    else:
        return go_back(
            request,
            f"/patients/{patient_id}/coverage",
            f"{codes.RANKS[made.rank]} coverage with {made.payer_name} added.",
        )
    return _tab(request, db, actor, patient_id, form=typed, errors=errors, status_code=422)


def _edit_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    coverage_id: uuid.UUID,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/coverage")
    if isinstance(chart, Response):
        return chart
    coverage = service.get(db, actor, coverage_id, patient_id=patient_id)
    if form is None:
        form = {
            name: "" if value is None else str(value)
            for name, value in coverage.model_dump(include=set(COVERAGE_FIELDS)).items()
        }
        form["version"] = str(coverage.version)
    return chart_page(
        request,
        "coverage/edit.html",
        chart,
        {"coverage": coverage, "form": form, "errors": errors or {}, **_context(request, db)},
        tab="coverage",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/coverage/{coverage_id}/edit")
def edit_coverage_page(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, coverage_id: uuid.UUID
) -> Response:
    return _edit_page(request, db, actor, patient_id, coverage_id)


@router.post("/patients/{patient_id}/coverage/{coverage_id}", dependencies=[Csrf])
def edit_coverage(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    coverage_id: uuid.UUID,
    form: Posted,
) -> Response:
    typed = _typed(form)
    try:
        # Every field is on the form: a blank optional one is cleared, a blank required one
        # gets the same message as when adding.
        whole = CoverageCreate.model_validate(_filled(form, COVERAGE_FIELDS))
        changes = whole.model_dump(exclude={"card_front_id", "card_back_id"})
        with db.begin_nested():
            changes.update(_store_cards(db, actor, patient_id, form))
            data = CoverageUpdate.model_validate({**changes, "version": _text(form, "version")})
            changed = service.update(
                db, actor, coverage_id, data, clinic_today(request), patient_id=patient_id
            )
    except ValidationError as exc:
        errors = explain(exc)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = app_errors(exc)
    else:
        return go_back(
            request,
            f"/patients/{patient_id}/coverage",
            f"Coverage with {changed.payer_name} saved.",
        )
    return _edit_page(
        request, db, actor, patient_id, coverage_id, form=typed, errors=errors, status_code=422
    )


# --- payers ----------------------------------------------------------------------------------


def _payers_page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    section: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    payers = service.payers(db)
    plans = service.plans(db)
    return render(
        request,
        "coverage/payers.html",
        {
            "payers": payers,
            "plans_of": {p.id: [plan for plan in plans if plan.payer_ref == p.id] for p in payers},
            "plan_types": codes.PLAN_TYPES,
            "payer_options": [("", "Choose…")] + [(str(p.id), p.name) for p in payers],
            "type_options": [("", "Choose…"), *codes.PLAN_TYPES.items()],
            "channel_options": list(codes.PRIOR_AUTH_CHANNELS.items()),
            "channels": codes.PRIOR_AUTH_CHANNELS,
            "can_write": allows(actor.role, Permission.COVERAGE_WRITE),
            "section": section,
            "form": form or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/coverage/payers")
def payer_list(request: Request, db: Db, actor: Reader) -> Response:
    return _payers_page(request, db, actor)


@router.post("/coverage/payers", dependencies=[Csrf])
def add_payer(request: Request, db: Db, actor: Writer, form: Posted) -> Response:
    try:
        parsed = PayerCreate.model_validate(
            _filled(form, ("name", "payer_id", "phone", "website", "prior_auth_channel"))
        )
        with db.begin_nested():
            made = service.add_payer(db, actor, parsed)
    except ValidationError as exc:
        errors = explain(exc)
    except AppError as exc:
        errors = app_errors(exc)
    else:
        return go_back(request, "/coverage/payers", f"Payer {made.name} ({made.payer_id}) added.")
    return _payers_page(
        request, db, actor, section="payer", form=_typed(form), errors=errors, status_code=422
    )


@router.post("/coverage/plans", dependencies=[Csrf])
def add_plan(request: Request, db: Db, actor: Writer, form: Posted) -> Response:
    try:
        parsed = PlanCreate.model_validate(_filled(form, ("payer_ref", "name", "plan_type")))
        with db.begin_nested():
            made = service.add_plan(db, actor, parsed)
    except ValidationError as exc:
        errors = explain(exc)
    except AppError as exc:
        errors = app_errors(exc)
    else:
        return go_back(request, "/coverage/payers", f"Plan {made.name} added.")
    return _payers_page(
        request, db, actor, section="plan", form=_typed(form), errors=errors, status_code=422
    )


# --- editing a payer, deactivating payers and plans ----------------------------------------

PAYER_FIELDS = ("name", "payer_id", "phone", "website", "prior_auth_channel")


def _payer_page(
    request: Request,
    db: Session,
    actor: Actor,
    payer_record_id: uuid.UUID,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    payer = next((p for p in service.payers(db) if p.id == payer_record_id), None)
    if payer is None:
        raise NotFound(f"No payer with id {payer_record_id}")
    if form is None:
        form = {
            name: "" if getattr(payer, name) is None else str(getattr(payer, name))
            for name in PAYER_FIELDS
        }
        form["active"] = "yes" if payer.active else ""
    return render(
        request,
        "coverage/payer.html",
        {
            "payer": payer,
            "plans": service.plans(db, payer_ref=payer.id),
            "plan_types": codes.PLAN_TYPES,
            "channel_options": list(codes.PRIOR_AUTH_CHANNELS.items()),
            "can_write": allows(actor.role, Permission.COVERAGE_WRITE),
            "form": form,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/coverage/payers/{payer_record_id}")
def payer_page(request: Request, db: Db, actor: Reader, payer_record_id: uuid.UUID) -> Response:
    return _payer_page(request, db, actor, payer_record_id)


@router.post("/coverage/payers/{payer_record_id}", dependencies=[Csrf])
def edit_payer(
    request: Request, db: Db, actor: Writer, payer_record_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    values: dict[str, Any] = {name: _text(form, name) or None for name in PAYER_FIELDS}
    values["active"] = bool(_text(form, "active"))
    values["version"] = _text(form, "version")
    try:
        parsed = PayerUpdate.model_validate(values)
        with db.begin_nested():
            changed = service.update_payer(db, actor, payer_record_id, parsed)
    except ValidationError as exc:
        errors = explain(exc)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = app_errors(exc)
        return _payer_page(
            request, db, actor, payer_record_id, form=typed, errors=errors, status_code=exc.status
        )
    else:
        state = "" if changed.active else " It is deactivated: new coverages cannot choose it."
        return go_back(request, "/coverage/payers", f"Payer {changed.name} saved.{state}")
    return _payer_page(
        request, db, actor, payer_record_id, form=typed, errors=errors, status_code=422
    )


@router.post("/coverage/plans/{plan_id}", dependencies=[Csrf])
def toggle_plan(
    request: Request, db: Db, actor: Writer, plan_id: uuid.UUID, form: Posted
) -> Response:
    """Deactivate or reactivate a plan (the button says which)."""
    try:
        parsed = PlanUpdate.model_validate(
            {"version": _text(form, "version"), "active": _text(form, "active") == "yes"}
        )
        with db.begin_nested():
            changed = service.update_plan(db, actor, plan_id, parsed)
    except (ValidationError, AppError) as exc:
        message = exc.detail if isinstance(exc, AppError) else "The form is out of date; reload it."
        return go_back(request, "/coverage/payers", message, "error")
    word = "reactivated" if changed.active else "deactivated"
    return go_back(request, f"/coverage/payers/{changed.payer_ref}", f"Plan {changed.name} {word}.")
