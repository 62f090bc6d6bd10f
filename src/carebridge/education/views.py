"""The screens of education: the library (search, add, change, view), the plain-language
term search, and the Education tab of the chart (suggested, assigned, delivered,
teach-back) with the printable handout.

Pages only: every use case is a call into ``education.service``, which audits reads and
changes. Each write runs in a savepoint, so a refused one leaves nothing, and the page comes
back with the reason beside the form and what was typed kept.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from carebridge.careplans.models import CarePlan
from carebridge.education import readability, service, starter
from carebridge.education.models import EducationAssignment
from carebridge.education.schemas import (
    ASSIGNMENT_STATUSES,
    AUDIENCES,
    DELIVERY,
    LANGUAGES,
    TEACH_BACK,
    AssignmentCreate,
    Delivery,
    MaterialCreate,
    MaterialUpdate,
    TeachBack,
)
from carebridge.lib.errors import AppError, NotFound
from carebridge.patients import views as chart_views
from carebridge.security.audit import Action, Actor, record
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.web.render import clinic_today, go_back, redirect, render

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.EDUCATION_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.EDUCATION_WRITE))]
Posted = chart_views.Posted

TAB = "education"
ACTIVE = "education"
MATERIAL_FIELDS = ("title", "body", "language", "audience", "source", "reviewed_on")
LABELS = {
    "title": "title",
    "body": "text",
    "tags": "condition tags",
    "reviewed_on": "date reviewed",
    "material_id": "material",
    "care_plan_id": "care plan",
    "via": "how to deliver",
    "result": "teach-back result",
    "on": "teach-back date",
}
OPTIONS: dict[str, list[tuple[str, str]]] = {
    "language": list(LANGUAGES.items()),
    "audience": list(AUDIENCES.items()),
    "filter_language": [("", "Any language"), *LANGUAGES.items()],
    "status": [("active", "Active"), ("retired", "Retired")],
    "result": list(TEACH_BACK.items()),
}
WORDS = {
    "languages": LANGUAGES,
    "audiences": AUDIENCES,
    "delivery": DELIVERY,
    "teach_back": TEACH_BACK,
    "statuses": ASSIGNMENT_STATUSES,
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _typed(form: FormData) -> dict[str, str]:
    return {k: _text(form, k) for k in form if k not in ("csrf_token", "file")}


def _tags_typed(form: FormData) -> list[str]:
    return [t for t in _text(form, "tags").replace(",", " ").split() if t]


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else "form"
        if name == "tags":
            message = str(error.get("msg", "")).removeprefix("Value error, ")
        else:
            message = chart_views.plain(name, error)
            label = LABELS.get(name)
            if label:
                message = message.replace(name.replace("_", " "), label)
        found.setdefault(name, message)
    return found


async def _upload(form: FormData) -> service.Upload | None:
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return None
    content = await file.read()
    if not content:
        return None
    return service.Upload(file.filename, file.content_type or "application/pdf", content)


# --- the library ---------------------------------------------------------------------------


@router.get("/education")
def library(
    request: Request,
    db: Db,
    actor: Reader,
    q: str = "",
    tag: str = "",
    language: str = "",
    flagged: int = 0,
) -> Response:
    chosen = {
        "q": q.strip()[:100],
        "tag": tag.strip()[:16],
        "language": language if language in LANGUAGES else "",
        "flagged": "yes" if flagged else "",
    }
    materials = service.search(
        db,
        chosen["q"],
        tag=chosen["tag"] or None,
        language=chosen["language"] or None,
        flagged_only=bool(flagged),
    )
    return render(
        request,
        "education/library.html",
        {
            "materials": materials,
            "chosen": chosen,
            "options": OPTIONS,
            "words": WORDS,
            "plain_grade": readability.PLAIN_GRADE,
            "can_write": allows(actor.role, Permission.EDUCATION_WRITE),
            "starter_missing": starter.missing(db),
        },
        active=ACTIVE,
    )


def _form_page(
    request: Request,
    material_id: uuid.UUID | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "education/edit.html",
        {
            "material_id": material_id,
            "form": form,
            "errors": errors,
            "options": OPTIONS,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@router.get("/education/new")
def new_material_form(request: Request, actor: Writer) -> Response:
    return _form_page(request, None, {"language": "en", "audience": "patient"}, {})


def _material_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: value for name in MATERIAL_FIELDS if (value := _text(form, name))
    }
    values["tags"] = _tags_typed(form)
    return values


@router.post("/education", dependencies=[Csrf])
async def add_material(request: Request, db: Db, actor: Writer, form: Posted) -> Response:
    typed = _typed(form)
    try:
        data = MaterialCreate.model_validate(_material_values(form))
        upload = await _upload(form)
        with db.begin_nested():
            material = service.create_material(db, actor, data, upload)
    except ValidationError as exc:
        return _form_page(request, None, typed, _errors(exc), 422)
    except AppError as exc:
        return _form_page(request, None, typed, chart_views.app_errors(exc, "form"), exc.status)
    said = f"“{material.title}” added to the library"
    if material.above_grade_6:
        said += f"; it reads at grade {material.reading_grade}, above 6: consider simpler words"
    return go_back(request, f"/education/{material.id}", f"{said}.")


@router.post("/education/starter", dependencies=[Csrf])
def load_starter(request: Request, db: Db, actor: Writer) -> Response:
    """Add the starter set Carebridge ships (the ones not yet in the library)."""
    with db.begin_nested():
        added = starter.load(db)
        record(db, actor, Action.CREATE, entity_type="EducationMaterial", reason="starter set")
    said = f"{added} starter materials added." if added else "The starter set is already there."
    return go_back(request, "/education", said)


@router.get("/education/terms")
def terms_page(
    request: Request, actor: Reader, q: str = "", patient: uuid.UUID | None = None
) -> Response:
    found = service.terms(q)
    return render(
        request,
        "education/terms.html",
        {"found": found, "patient_id": patient},
        active=ACTIVE,
    )


@router.get("/education/{material_id}")
def material_page(request: Request, db: Db, actor: Reader, material_id: uuid.UUID) -> Response:
    material = service.get(db, material_id)
    return render(
        request,
        "education/material.html",
        {
            "m": material,
            "html": readability.render(material.body),
            "words": WORDS,
            "plain_grade": readability.PLAIN_GRADE,
            "can_write": allows(actor.role, Permission.EDUCATION_WRITE),
        },
        active=ACTIVE,
    )


@router.get("/education/{material_id}/edit")
def edit_material_form(request: Request, db: Db, actor: Writer, material_id: uuid.UUID) -> Response:
    m = service.get(db, material_id)
    form = {
        **m.model_dump(mode="json", include={"title", "language", "audience", "status"}),
        "body": m.body or "",
        "source": m.source or "",
        "reviewed_on": m.reviewed_on.isoformat() if m.reviewed_on else "",
        "tags": ", ".join(m.tags),
        "version": str(m.version),
        "file_name": m.file_name or "",
    }
    return _form_page(request, material_id, form, {})


@router.post("/education/{material_id}", dependencies=[Csrf])
async def edit_material(
    request: Request, db: Db, actor: Writer, material_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    values = _material_values(form)
    values["version"] = _text(form, "version")
    values["status"] = _text(form, "status") or "active"
    try:
        data = MaterialUpdate.model_validate(values)
        upload = await _upload(form)
        with db.begin_nested():
            material = service.update_material(db, actor, material_id, data, upload)
    except ValidationError as exc:
        return _form_page(request, material_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _form_page(request, material_id, typed, errors, exc.status)
    return go_back(request, f"/education/{material.id}", f"“{material.title}” saved.")


@router.get("/education/{material_id}/file")
def material_file(db: Db, actor: Reader, material_id: uuid.UUID) -> Response:
    upload = service.file_of(db, material_id)
    safe = "".join(c for c in upload.name if c.isalnum() or c in "._- ") or "material.pdf"
    return Response(
        upload.content,
        media_type=upload.content_type,
        headers={"Content-Disposition": f'inline; filename="{safe}"'},
    )


# --- the chart tab -------------------------------------------------------------------------


def _plans(db: Session, patient_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = db.execute(
        select(CarePlan.id, CarePlan.title)
        .where(CarePlan.patient_id == patient_id, CarePlan.status.in_(service.OPEN_PLAN))
        .order_by(CarePlan.start_on.desc())
    ).all()
    return [("", "No care plan")] + [(str(i), t) for i, t in rows]


def _tab_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/education")
    if isinstance(chart, Response):
        return chart
    can_write = allows(actor.role, Permission.EDUCATION_WRITE)
    return chart_views.chart_page(
        request,
        "education/tab.html",
        chart,
        {
            "suggested": service.suggestions(db, actor, patient_id),
            "assignments": service.for_patient(db, actor, patient_id),
            "plans": _plans(db, patient_id) if can_write else [],
            "edu_options": OPTIONS,
            "edu": WORDS,
            "form": form,
            "errors": errors,
            "can_write": can_write,
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/education")
def education_tab(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    return _tab_page(request, db, actor, patient_id, {}, {})


def _owned(db: Session, patient_id: uuid.UUID, assignment_id: uuid.UUID) -> None:
    found = db.get(EducationAssignment, assignment_id)
    if found is None or found.patient_id != patient_id:
        raise NotFound(f"This patient has no education assignment with id {assignment_id}")


@router.post("/patients/{patient_id}/education/assignments", dependencies=[Csrf])
def assign(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    values = {k: v for k in ("material_id", "care_plan_id", "note") if (v := _text(form, k))}
    try:
        data = AssignmentCreate.model_validate(values)
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            found = service.assign(db, actor, patient_id, data)
    except ValidationError as exc:
        return _tab_page(request, db, actor, patient_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _tab_page(request, db, actor, patient_id, typed, errors, exc.status)
    where = f" on the care plan “{found.care_plan_title}”" if found.care_plan_title else ""
    return go_back(
        request,
        f"/patients/{patient_id}/education#assigned",
        f"“{found.material_title}” assigned{where}. Print it or email it next.",
    )


@router.post("/patients/{patient_id}/education/{assignment_id}/deliver", dependencies=[Csrf])
def deliver(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    assignment_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, assignment_id)
    typed = {**_typed(form), "assignment_id": str(assignment_id)}
    try:
        data = Delivery.model_validate(
            {"via": _text(form, "via"), "version": _text(form, "version")}
        )
        with db.begin_nested():
            found = service.deliver(
                db,
                actor,
                assignment_id,
                data,
                today=clinic_today(request),
                clinic=settings_of(request).clinic_name,
            )
    except ValidationError as exc:
        return _tab_page(request, db, actor, patient_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        if "via" in errors:
            errors = {"form": exc.detail}
        return _tab_page(request, db, actor, patient_id, typed, errors, exc.status)
    if found.delivered_via == "print":
        return redirect(f"/patients/{patient_id}/education/{assignment_id}/print")
    return go_back(
        request,
        f"/patients/{patient_id}/education#assigned",
        f"“{found.material_title}” is in the outbox; it is emailed after the save.",
    )


@router.get("/patients/{patient_id}/education/{assignment_id}/print")
def print_page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, assignment_id: uuid.UUID
) -> Response:
    """The handout for the patient, printable on A4 or Letter without navigation."""
    _owned(db, patient_id, assignment_id)
    chart = chart_views.open_chart(request, db, actor, patient_id, "/education")
    if isinstance(chart, Response):
        return chart
    assignment, material = service.printable(db, actor, assignment_id)
    return render(
        request,
        "education/print.html",
        {
            "a": assignment,
            "m": material,
            "patient": chart.patient,
            "html": readability.render(material.body),
            "printed": clinic_today(request),
        },
    )


@router.post("/patients/{patient_id}/education/{assignment_id}/teach-back", dependencies=[Csrf])
def teach_back(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    assignment_id: uuid.UUID,
    form: Posted,
) -> Response:
    _owned(db, patient_id, assignment_id)
    typed = {**_typed(form), "assignment_id": str(assignment_id)}
    values = {k: v for k in ("result", "note", "on", "version") if (v := _text(form, k))}
    try:
        data = TeachBack.model_validate(values)
        with db.begin_nested():
            found = service.teach_back(db, actor, assignment_id, data, today=clinic_today(request))
    except ValidationError as exc:
        return _tab_page(request, db, actor, patient_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "form")
        return _tab_page(request, db, actor, patient_id, typed, errors, exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/education#assigned",
        f"Teach-back for “{found.material_title}” recorded: "
        f"{TEACH_BACK[found.teach_back or 'understood'].lower()}.",
    )
