"""The rules page: every escalation and timer rule the worker applies, in plain words,
with how often each acted this past week."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require
from carebridge.security.roles import Permission
from carebridge.tasks.rules_api import listing
from carebridge.web.render import render

router = APIRouter(include_in_schema=False)  # pages, not API
Viewer = Annotated[Actor, Depends(Require(Permission.WORKLIST_VIEW))]


@router.get("/tasks/rules")
def rules_page(request: Request, db: Db, actor: Viewer) -> Response:
    rules = listing(db)
    return render(
        request,
        "tasks/rules.html",
        {
            "escalations": [r for r in rules if r.type == "escalation"],
            "timers": [r for r in rules if r.type == "timer"],
        },
        active="home",
    )
