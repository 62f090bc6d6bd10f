"""Eligibility on the chart's Coverage tab: the "Check eligibility" button of each coverage
and a check's own page (the plain reading, and the raw 270 and 271 as sent and received).

The tab itself (``coverage.views``) shows each coverage's latest result and history from
:func:`coverage.eligibility.for_patient`; these routes start a check and show one."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from carebridge.coverage import codes, eligibility
from carebridge.coverage import service as coverage_service
from carebridge.coverage.eligibility_schemas import CheckRead, CheckSummary
from carebridge.coverage.models import Coverage
from carebridge.lib.errors import AppError, NotFound
from carebridge.patients.views import Posted, _text, chart_page, open_chart
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import clinic_today, go_back

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.COVERAGE_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.COVERAGE_WRITE))]

OUTCOMES = {
    "complete": "The payer answered",
    "rejected": "The payer rejected the inquiry",
    "failed": "The check could not be completed",
    "pending": "Waiting for the clearinghouse; the worker will try again",
}


def said(check: CheckRead | CheckSummary) -> str:
    """One line on what became of a check, for the message after the button."""
    if check.status == "complete":
        active = check.active
        plan = (check.result or {}).get("plan_description") or ""
        state = "active" if active else "not active" if active is False else "answered"
        return f"Eligibility checked: coverage is {state}{f' ({plan})' if plan else ''}."
    if check.status == "rejected":
        reasons = [r["explanation"] for r in (check.result or {}).get("rejections", [])]
        return f"The payer rejected the inquiry. {' '.join(reasons)}"
    if check.status == "failed":
        return f"The eligibility check failed: {check.last_error}"
    return (
        "The clearinghouse did not answer; the check stays pending and is tried again "
        f"automatically. ({check.last_error})"
    )


@router.post(
    "/patients/{patient_id}/coverage/{coverage_id}/eligibility-checks", dependencies=[Csrf]
)
def check_eligibility(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, coverage_id: uuid.UUID,
    form: Posted,
) -> Response:  # fmt: skip
    back = f"/patients/{patient_id}/coverage"
    coverage = db.get(Coverage, coverage_id)
    if coverage is None or coverage.patient_id != patient_id:
        raise NotFound(f"No coverage with id {coverage_id}")
    typed = _text(form, "service_date")
    try:
        service_date = dt.date.fromisoformat(typed) if typed else clinic_today(request)
    except ValueError:
        return go_back(
            request, back, f"Enter the date of service as a date, e.g. 2026-03-12 (not {typed}).",
            "error",
        )  # fmt: skip
    try:
        made = eligibility.check(
            db, actor, coverage_id, service_date, "manual",
            settings=settings_of(request), patient_id=patient_id,
        )  # fmt: skip
    except AppError as exc:
        if exc.status == 404:
            raise
        return go_back(request, back, f"Eligibility not checked: {exc.detail}", "error")
    level = {"complete": "success", "pending": "info"}.get(made.status, "error")
    return go_back(request, f"{back}#eligibility-{coverage_id}", said(made), level)


@router.get("/patients/{patient_id}/eligibility-checks/{check_id}")
def check_page(
    request: Request, db: Db, actor: Reader, patient_id: uuid.UUID, check_id: uuid.UUID
) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/coverage")
    if isinstance(chart, Response):
        return chart
    found = eligibility.get(db, actor, check_id, patient_id=patient_id)
    coverage = coverage_service.get(db, actor, found.coverage_id, patient_id=patient_id)
    return chart_page(
        request,
        "coverage/eligibility_check.html",
        chart,
        {
            "check": found,
            "coverage": coverage,
            "reading": eligibility.reading(found.result),
            "coverage_codes": codes,
            "outcomes": OUTCOMES,
            "service_types": eligibility.SERVICE_TYPES,
        },
        tab="coverage",
    )
