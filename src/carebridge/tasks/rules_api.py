"""JSON API: the worker's rules, in words, with how often each acted this past week."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.orm import Session

from carebridge.lib.time import utcnow
from carebridge.security.audit import Actor
from carebridge.security.deps import Db, Require
from carebridge.security.roles import Permission
from carebridge.tasks.escalation import activity
from carebridge.tasks.rules import ESCALATIONS, TIMERS

router = APIRouter(prefix="/api/v1", tags=["tasks"])
Viewer = Annotated[Actor, Depends(Require(Permission.WORKLIST_VIEW))]
RECENT = dt.timedelta(days=7)


class RuleRead(BaseModel):
    key: str
    type: Literal["escalation", "timer"]
    name: str
    when: str
    actions: list[str]
    applied_last_7_days: int
    last_applied_at: dt.datetime | None


def listing(db: Session, now: dt.datetime | None = None) -> list[RuleRead]:
    """Every rule in the order the worker applies them."""
    acted = activity(db, (now or utcnow()) - RECENT)
    found: list[RuleRead] = []
    for kind, rules in (("escalation", ESCALATIONS), ("timer", TIMERS)):
        for rule in rules:
            seen = acted.get(rule.key)
            found.append(
                RuleRead(
                    key=rule.key,
                    type=kind,
                    name=rule.name,
                    when=rule.when(),
                    actions=rule.actions(),
                    applied_last_7_days=seen.recent if seen else 0,
                    last_applied_at=seen.last if seen else None,
                )
            )
    return found


@router.get("/escalation-rules")
def list_rules(db: Db, actor: Viewer) -> list[RuleRead]:
    """The escalation and timer rules ``carebridge worker`` applies, in the order it applies
    them; the counts are of the last seven days."""
    return listing(db)
