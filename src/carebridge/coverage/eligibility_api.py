"""JSON API for eligibility checks: start one for a coverage (the answer comes back in the
same call when the payer answers), list a coverage's checks, read one with its raw X12."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from carebridge.coverage import eligibility
from carebridge.coverage.eligibility_schemas import CheckCreate, CheckPage, CheckRead
from carebridge.lib.paging import MAX_PAGE_SIZE, Page
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, settings_of
from carebridge.security.roles import Permission
from carebridge.web.render import clinic_today, set_etag

router = APIRouter(prefix="/api/v1", tags=["eligibility"])
Reader = Annotated[Actor, Depends(Require(Permission.COVERAGE_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.COVERAGE_WRITE))]


@router.post("/coverage/{coverage_id}/eligibility-checks", status_code=201)
def start_check(
    coverage_id: uuid.UUID,
    request: Request,
    db: Db,
    actor: Writer,
    response: Response,
    body: CheckCreate | None = None,
) -> CheckRead:
    """Send a 270 for the coverage (service date: today in the clinic's time zone unless
    given) and record the answer. The check comes back ``complete``, ``rejected`` (with what
    to fix), ``failed`` (with why; a task is raised) or, when the clearinghouse did not
    answer, ``pending`` with ``next_attempt_at`` (the worker tries again). 404 for an unknown
    coverage, 409 for one that is not active, 422 for a service date payers do not take."""
    service_date = (body.service_date if body else None) or clinic_today(request)
    made = eligibility.check(
        db, actor, coverage_id, service_date, "api", settings=settings_of(request)
    )
    response.headers["Location"] = f"/api/v1/eligibility-checks/{made.id}"
    set_etag(response, made.version)
    return made


@router.get("/coverage/{coverage_id}/eligibility-checks")
def list_checks(
    coverage_id: uuid.UUID,
    db: Db,
    actor: Reader,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> CheckPage:
    """The coverage's checks, newest first, without the raw X12."""
    items, more = eligibility.history(db, actor, coverage_id, Page(page, size))
    return CheckPage(items=items, page=page, size=size, has_more=more)


@router.get("/eligibility-checks/{check_id}")
def read_check(check_id: uuid.UUID, db: Db, actor: Reader, response: Response) -> CheckRead:
    """One check with its plain reading (``result``) and the raw 270 and 271."""
    found = eligibility.get(db, actor, check_id)
    set_etag(response, found.version)
    return found
