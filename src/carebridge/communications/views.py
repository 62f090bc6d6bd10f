"""The screens of communications: the message templates (list, add, change, add the starter
set), the chart's Communications tab (send a message to the patient or their family, and the
communication log with every delivery result and the outreach log), and a letter as a
printable page and a PDF, marked mailed once it is in the post.

Pages only: every use case is a call into ``communications.service``, which audits reads
and changes. A refused message comes back with the reason beside the form, what was typed
kept, and nothing written.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.communications import codes, service, starters
from carebridge.communications.letter_pdf import render_letter
from carebridge.communications.models import MessageTemplate
from carebridge.communications.schemas import MessageCreate, TemplateCreate, TemplateUpdate
from carebridge.lib.errors import AppError
from carebridge.patients import codes as patient_codes
from carebridge.patients import views as chart_views
from carebridge.patients.models import RelatedPerson
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import clinic_today, go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Sender = Annotated[Actor, Depends(Require(Permission.PATIENT_MESSAGE))]
Manager = Annotated[Actor, Depends(Require(Permission.TEMPLATES_MANAGE))]
Posted = chart_views.Posted

TAB = "communications"
LABELS = {
    "template_code": "template",
    "related_person_id": "recipient",
    "code": "code",
}
SEND_FIELDS = ("channel", "related_person_id", "template_code", "subject", "body", "language")
TEMPLATE_FIELDS = ("code", "name", "channel", "language", "subject", "body")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _typed(form: FormData) -> dict[str, str]:
    return {k: _text(form, k) for k in form if k != "csrf_token"}


def _filled(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
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


def _pairs(table: dict[str, str], blank: str | None = None) -> list[tuple[str, str]]:
    return ([("", blank)] if blank is not None else []) + list(table.items())


OPTIONS: dict[str, list[tuple[str, str]]] = {
    "channel": _pairs(codes.CHANNELS, "Choose…"),
    "language": _pairs(codes.LANGUAGES),
    "free_language": _pairs(codes.LANGUAGES),
}


# --- templates -----------------------------------------------------------------------------


def _templates_page(
    request: Request,
    db: Session,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "communications/templates.html",
        {
            "templates": service.list_templates(db, include_inactive=True),
            "form": form,
            "errors": errors,
            "options": OPTIONS,
            "ccodes": codes,
            "starters_missing": _starters_missing(db),
        },
        status_code=status_code,
        active="communications",
    )


def _starters_missing(db: Session) -> int:
    have = {
        (row.code, row.channel, row.language)
        for row in db.execute(
            select(MessageTemplate.code, MessageTemplate.channel, MessageTemplate.language)
        )
    }
    return sum((s.code, s.channel, s.language) not in have for s in starters.STARTERS)


@router.get("/communications/templates")
def templates_page(request: Request, db: Db, actor: Manager) -> Response:
    return _templates_page(request, db, {"language": "en"}, {})


@router.post("/communications/templates", dependencies=[Csrf])
def add_template(request: Request, db: Db, actor: Manager, form: Posted) -> Response:
    typed = _typed(form)
    try:
        data = TemplateCreate.model_validate(_filled(form, TEMPLATE_FIELDS))
        with db.begin_nested():
            template = service.create_template(db, actor, data)
    except ValidationError as exc:
        return _templates_page(request, db, typed, _errors(exc), 422)
    except AppError as exc:
        return _templates_page(request, db, typed, chart_views.app_errors(exc, "body"), exc.status)
    return go_back(
        request,
        f"/communications/templates/{template.id}",
        f"Template “{template.name}” ({codes.LANGUAGES[template.language]}, "
        f"{codes.CHANNELS[template.channel].lower()}) added.",
    )


@router.post("/communications/templates/starters", dependencies=[Csrf])
def add_starters(request: Request, db: Db, actor: Manager) -> Response:
    added = starters.install(db, actor)
    return go_back(
        request,
        "/communications/templates",
        f"{added} starter template{'s' if added != 1 else ''} added in English and Spanish."
        if added
        else "Every starter template is already there.",
    )


def _template_page(
    request: Request,
    db: Session,
    template_id: uuid.UUID,
    form: dict[str, Any] | None,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    template = service.get_template(db, template_id)
    shown = form if form is not None else template.model_dump(mode="json")
    return render(
        request,
        "communications/template.html",
        {
            "t": template,
            "form": {k: ("" if v is None else v) for k, v in shown.items()},
            "errors": errors,
            "ccodes": codes,
        },
        status_code=status_code,
        active="communications",
    )


@router.get("/communications/templates/{template_id}")
def template_page(request: Request, db: Db, actor: Manager, template_id: uuid.UUID) -> Response:
    return _template_page(request, db, template_id, None, {})


@router.post("/communications/templates/{template_id}", dependencies=[Csrf])
def save_template(
    request: Request, db: Db, actor: Manager, template_id: uuid.UUID, form: Posted
) -> Response:
    typed: dict[str, Any] = _typed(form)
    typed["active"] = bool(_text(form, "active"))
    try:
        data = TemplateUpdate.model_validate(
            {
                "version": _text(form, "version"),
                "name": _text(form, "name"),
                "subject": _text(form, "subject") or None,
                "body": _text(form, "body"),
                "active": typed["active"],
            }
        )
        with db.begin_nested():
            template = service.update_template(db, actor, template_id, data)
    except ValidationError as exc:
        return _template_page(request, db, template_id, typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "body")
        return _template_page(request, db, template_id, typed, errors, exc.status)
    return go_back(
        request, f"/communications/templates/{template.id}", f"Template “{template.name}” saved."
    )


# --- the chart tab: send and log -------------------------------------------------------------


def _recipients(db: Session, patient_id: uuid.UUID, patient_name: str) -> list[tuple[str, str]]:
    people = db.scalars(
        select(RelatedPerson)
        .where(RelatedPerson.patient_id == patient_id, RelatedPerson.status == "active")
        .order_by(RelatedPerson.name)
    )
    found = [("", f"The patient, {patient_name}")]
    for person in people:
        relation = patient_codes.RELATIONSHIPS.get(
            person.relationship_code, person.relationship_code
        )
        found.append((str(person.id), f"{person.name} ({relation})"))
    return found


def _template_choices(db: Session) -> list[tuple[str, str]]:
    channels: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    for template in service.list_templates(db):
        channels.setdefault(template.code, set()).add(template.channel)
        names.setdefault(template.code, template.name)
    found = [("", "No template: write my own message")]
    for code, name in sorted(names.items(), key=lambda item: item[1]):
        kinds = ", ".join(codes.CHANNELS[c].split(" (")[0].lower() for c in sorted(channels[code]))
        found.append((code, f"{name} ({kinds})"))
    return found


def _log_page(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    channel: str,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, f"/{TAB}")
    if isinstance(chart, Response):
        return chart
    entries = service.communication_log(db, actor, patient_id, channel or None)
    return chart_views.chart_page(
        request,
        "communications/log.html",
        chart,
        {
            "entries": entries,
            "channel": channel,
            "form": form,
            "errors": errors,
            "ccodes": codes,
            "coptions": {
                **OPTIONS,
                "recipient": _recipients(db, patient_id, chart.patient.given_names),
                "template": _template_choices(db),
            },
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/communications")
def log_page(
    request: Request, db: Db, actor: Sender, patient_id: uuid.UUID, channel: str = ""
) -> Response:
    chosen = channel if channel in codes.LOG_CHANNELS else ""
    return _log_page(request, db, actor, patient_id, chosen, {"language": "en"}, {})


@router.post("/patients/{patient_id}/communications", dependencies=[Csrf])
def send_message(
    request: Request, db: Db, actor: Sender, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    try:
        data = MessageCreate.model_validate(_filled(form, SEND_FIELDS))
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            sent = service.send(db, actor, settings_of(request), patient_id, data)
    except ValidationError as exc:
        return _log_page(request, db, actor, patient_id, "", typed, _errors(exc), 422)
    except AppError as exc:
        errors = chart_views.app_errors(exc, "channel")
        return _log_page(request, db, actor, patient_id, "", typed, errors, exc.status)
    message = sent.message
    what = codes.CHANNELS[message.channel].split(" (")[0]
    summary = f"{what} to {message.recipient_name}: " + " ".join(sent.notes)
    if message.channel == "letter":
        return go_back(
            request, f"/patients/{patient_id}/communications/{message.id}/letter", summary
        )
    return go_back(request, f"/patients/{patient_id}/communications", summary)


# --- letters ---------------------------------------------------------------------------------


@router.get("/patients/{patient_id}/communications/{communication_id}/letter")
def letter_page(
    request: Request, db: Db, actor: Sender, patient_id: uuid.UUID, communication_id: uuid.UUID
) -> Response:
    """The letter, printable on A4 or Letter without navigation."""
    found = service.letter_context(db, actor, patient_id, communication_id)
    return render(
        request,
        "communications/letter.html",
        {
            "letter": found.letter,
            "patient": found.patient,
            "printed": service.format_date(clinic_today(request), found.letter.language),
            "clinic_phone": service.phone_words(settings_of(request).clinic_phone),
        },
    )


@router.get("/patients/{patient_id}/communications/{communication_id}/letter.pdf")
def letter_pdf(
    request: Request, db: Db, actor: Sender, patient_id: uuid.UUID, communication_id: uuid.UUID
) -> Response:
    """The same letter as a PDF to print or file."""
    found = service.letter_context(db, actor, patient_id, communication_id)
    settings = settings_of(request)
    body = render_letter(
        found.letter,
        clinic_name=settings.clinic_name,
        clinic_phone=service.phone_words(settings.clinic_phone),
        printed=clinic_today(request),
    )
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="letter-{communication_id}.pdf"'},
    )


@router.post("/patients/{patient_id}/communications/{communication_id}/mailed", dependencies=[Csrf])
def mark_mailed(
    request: Request, db: Db, actor: Sender, patient_id: uuid.UUID, communication_id: uuid.UUID
) -> Response:
    chart_views.live_chart(db, patient_id)
    letter = service.mark_mailed(db, actor, patient_id, communication_id)
    return go_back(
        request,
        f"/patients/{patient_id}/communications",
        f"Letter to {letter.recipient_name} recorded as mailed.",
    )
