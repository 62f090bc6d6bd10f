"""The shell's own pages: My day (home, the worklist) and the health check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from carebridge.db.migrate import is_current
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require, public
from carebridge.security.roles import Permission
from carebridge.tasks.day import my_day

router = APIRouter()


@router.get("/", include_in_schema=False)
def home(
    request: Request,
    db: Db,
    actor: Annotated[Actor, Depends(Require(Permission.WORKLIST_VIEW))],
) -> Response:
    """My day: the worklist (see ``tasks.day.my_day``)."""
    return my_day(request, db, actor)


@router.get("/healthz", dependencies=[Depends(public)])
def healthz(request: Request) -> Response:
    """Liveness and database status for load balancers and monitoring."""
    engine = request.app.state.engine
    body: dict[str, Any] = {"status": "ok", "database": {"backend": engine.dialect.name}}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        body["database"]["status"] = "ok"
        body["database"]["migrations"] = "current" if is_current(engine) else "behind"
    except Exception as exc:  # any failure means "not healthy"; say which
        body["status"] = "error"
        body["database"]["status"] = "unreachable"
        body["database"]["error"] = type(exc).__name__
        return JSONResponse(body, status_code=503)
    if body["database"]["migrations"] != "current":
        body["status"] = "degraded"
    return JSONResponse(body)
