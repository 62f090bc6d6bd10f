"""The screens of scheduled reports: the list, a new report, a report's page (edit it,
deactivate or reactivate it, send it now) and the preview of its email.

Pages only: every use case is a call into ``reports.service``, which audits reads and
changes. Each write runs in a savepoint, so a refused one leaves nothing and the form comes
back with the reason beside the field and what was typed kept. "Send now" computes the
figures in a read-only unit of work before its short write transaction, so the request
does not hold the database's write lock while the measures run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from carebridge.analytics.measures import REGISTRY
from carebridge.db.session import WRITE_OPTION, unit_of_work
from carebridge.lib.errors import AppError, Conflict
from carebridge.lib.time import utcnow
from carebridge.patients.views import Posted
from carebridge.reports import mail, service
from carebridge.reports.models import ScheduledReport
from carebridge.reports.schemas import WEEKDAYS, ReportIn
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, factory_of, settings_of
from carebridge.security.roles import Permission
from carebridge.tasks.forms import form_text
from carebridge.web.render import go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Manager = Annotated[Actor, Depends(Require(Permission.REPORTS_MANAGE))]
ACTIVE = "quality"
MESSAGES = {
    "name": "Enter the report's name (at most 120 characters).",
    "measure_keys": "Tick at least one measure.",
    "recipient_ids": "Tick at least one recipient.",
    "weekday": "Choose the day of the week to send on.",
    "hour": "Choose the hour to send at, from 00:00 to 23:00.",
    "version": "Reload the page and make your change again.",
}
OPTIONS: dict[str, list[tuple[str, str]]] = {
    "weekday": [(str(i), day) for i, day in enumerate(WEEKDAYS)],
    "hour": [(str(h), f"{h:02d}:00") for h in range(24)],
}


def _measure_options() -> list[tuple[str, str]]:
    return [
        (key, f"{m.title}" + (f" ({m.group})" if m.group else ""))
        for key, m in sorted(REGISTRY.items(), key=lambda kv: (kv[1].group, kv[1].title))
    ]


def _typed(form: FormData) -> dict[str, Any]:
    """What was typed, as the form shows it again."""
    return {
        "name": form_text(form, "name"),
        "measure_keys": [v for v in form.getlist("measure_keys") if isinstance(v, str)],
        "recipient_ids": [v for v in form.getlist("recipient_ids") if isinstance(v, str)],
        "emails": {
            key.removeprefix("email-"): value.strip()
            for key, value in form.multi_items()
            if key.startswith("email-") and isinstance(value, str)
        },
        "weekday": form_text(form, "weekday"),
        "hour": form_text(form, "hour"),
        "version": form_text(form, "version"),
    }


def _parse(typed: dict[str, Any]) -> ReportIn:
    chosen = set(typed["recipient_ids"])
    addresses = {k: v for k, v in typed["emails"].items() if k in chosen and v}
    values: dict[str, Any] = {
        "name": typed["name"],
        "measure_keys": typed["measure_keys"],
        "recipient_ids": typed["recipient_ids"],
        "addresses": addresses,
        "weekday": typed["weekday"],
        "hour": typed["hour"],
    }
    if typed["version"]:
        values["version"] = typed["version"]
    return ReportIn.model_validate(values)


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else "form"
        if name == "addresses" and len(loc) > 1:
            found.setdefault(f"email-{loc[1]}", "Enter a valid email address.")
            continue
        message = MESSAGES.get(name, "Check this field.")
        if error["type"] == "value_error" and name == "measure_keys":
            detail = str((error.get("ctx") or {}).get("error", "unknown measure"))
            message = f"{detail.capitalize()}: tick measures from the list."
        elif name in ("measure_keys", "recipient_ids") and len(loc) > 1:
            message = f"{MESSAGES[name].removesuffix('.')} from the list."
        found.setdefault(name, message)
    return found


def _form_page(
    request: Request,
    db: Session,
    report: ScheduledReport | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    now = utcnow()
    people = service.candidates(db)
    if report is not None:  # a disabled recipient still shows, to be unticked
        known = {p.user_id for p in people}
        people += [r for r in service.recipients_of(db, report) if r.user_id not in known]
    return render(
        request,
        "reports/form.html",
        {
            "report": report,
            "form": form,
            "errors": errors,
            "people": people,
            "measure_options": _measure_options(),
            "ropts": OPTIONS,
            "next_send": service.next_send(settings, report, now) if report else None,
            "recipients": service.recipients_of(db, report) if report else [],
            "describe": service.describe,
            "last_full_week": service.last_full_week(settings, now),
        },
        status_code=status_code,
        active=ACTIVE,
    )


def _stored(report: ScheduledReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "measure_keys": list(report.measure_keys),
        "recipient_ids": list(report.recipient_ids),
        "emails": {},
        "weekday": str(report.weekday),
        "hour": str(report.hour),
        "version": str(report.version),
    }


@router.get("/reports")
def reports_list(request: Request, db: Db, actor: Manager) -> Response:
    settings = settings_of(request)
    now = utcnow()
    rows = [
        {
            "report": r,
            "when": service.describe(r),
            "next": service.next_send(settings, r, now) if r.is_active else None,
            "measures": [REGISTRY[k].title for k in r.measure_keys if k in REGISTRY],
            "recipients": service.recipients_of(db, r),
        }
        for r in service.all_reports(db)
    ]
    return render(request, "reports/list.html", {"rows": rows, "now": now}, active=ACTIVE)


@router.get("/reports/new")
def new_report(request: Request, db: Db, actor: Manager) -> Response:
    defaults = {
        "name": "",
        "measure_keys": [],
        "recipient_ids": [],
        "emails": {},
        "weekday": "0",
        "hour": "7",
        "version": "",
    }
    return _form_page(request, db, None, defaults, {})


@router.post("/reports", dependencies=[Csrf])
def create_report(request: Request, db: Db, actor: Manager, form: Posted) -> Response:
    typed = _typed(form)
    typed["version"] = ""
    try:
        data = _parse(typed)
        with db.begin_nested():
            made = service.create(db, actor, data)
    except ValidationError as exc:
        return _form_page(request, db, None, typed, _errors(exc), 422)
    except AppError as exc:
        errors = exc.fields or {"form": exc.detail}
        return _form_page(request, db, None, typed, errors, exc.status)
    settings = settings_of(request)
    return go_back(
        request,
        f"/reports/{made.id}",
        f"Report “{made.name}” saved: it goes out {service.describe(made)} ({settings.timezone}),"
        " first on " + f"{service.next_send(settings, made, utcnow()):%a %d %b %Y}.",
    )


@router.get("/reports/{report_id}")
def report_page(request: Request, db: Db, actor: Manager, report_id: uuid.UUID) -> Response:
    report = service.get(db, report_id)
    return _form_page(request, db, report, _stored(report), {})


@router.post("/reports/{report_id}", dependencies=[Csrf])
def edit_report(
    request: Request, db: Db, actor: Manager, report_id: uuid.UUID, form: Posted
) -> Response:
    report = service.get(db, report_id)
    typed = _typed(form)
    try:
        data = _parse(typed)
        with db.begin_nested():
            changed = service.update(db, actor, report_id, data)
    except ValidationError as exc:
        return _form_page(request, db, report, typed, _errors(exc), 422)
    except AppError as exc:
        errors = exc.fields or {"form": exc.detail}
        return _form_page(request, db, report, typed, errors, exc.status)
    return go_back(request, f"/reports/{report_id}", f"Report “{changed.name}” saved.")


@router.post("/reports/{report_id}/active", dependencies=[Csrf])
def activate(
    request: Request, db: Db, actor: Manager, report_id: uuid.UUID, form: Posted
) -> Response:
    wanted = form_text(form, "active") == "yes"
    version = form_text(form, "version")
    try:
        with db.begin_nested():
            changed = service.set_active(
                db, actor, report_id, wanted, int(version) if version.isdigit() else None
            )
    except AppError as exc:
        if exc.status == 404:
            raise
        return go_back(request, f"/reports/{report_id}", f"Not changed: {exc.detail}", "error")
    message = (
        f"Report “{changed.name}” is active again: it goes out {service.describe(changed)}."
        if wanted
        else f"Report “{changed.name}” deactivated: nobody receives it until it is reactivated."
    )
    return go_back(request, f"/reports/{report_id}", message)


@router.post("/reports/{report_id}/send", dependencies=[Csrf])
def send_now(request: Request, db: Db, actor: Manager, report_id: uuid.UUID) -> Response:
    settings = settings_of(request)
    now = utcnow()
    # The request's unit of work began as a writer. End it (keeping what signing in wrote)
    # so the figures are computed without the write lock, then write in a short one.
    db.commit()
    with unit_of_work(factory_of(request), write=False) as reader:
        planned = service.plan_now(reader, settings, report_id, now)
    if planned is not None:
        db.connection(execution_options={WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE
        try:
            report, queued = service.send_now(db, settings, actor, planned, now)
        except Conflict as exc:
            return go_back(request, f"/reports/{report_id}", f"Not sent: {exc.detail}.", "error")
        if queued:
            return go_back(
                request,
                f"/reports/{report_id}",
                f"Report “{report.name}” for the week of {planned.monday:%a %d %b %Y} queued "
                f"to {len(queued)} recipient{'s' if len(queued) != 1 else ''}; "
                "the worker emails it within a minute.",
            )
    return go_back(
        request,
        f"/reports/{report_id}",
        "Not sent: none of the recipients is an active user with an email address.",
        "error",
    )


@router.get("/reports/{report_id}/preview")
def preview(request: Request, db: Db, actor: Manager, report_id: uuid.UUID) -> Response:
    report = service.get(db, report_id)
    settings = settings_of(request)
    shown = service.preview(db, settings, actor, report, utcnow())
    return render(
        request,
        "reports/preview.html",
        {
            "report": report,
            "email": shown.email,
            "lines": shown.lines,
            "first": shown.monday,
            "last": shown.monday + dt.timedelta(days=6),
            "recipients": service.recipients_of(db, report),
            "dashboard": mail.dashboard_url(settings),
        },
        active=ACTIVE,
    )
