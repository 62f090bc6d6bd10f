"""Human-facing numbers (referral R0000001, authorization PA0000001, claim C0000001...) from
the named rows of the ``counters`` table, advanced with UPDATE ... RETURNING so concurrent
writers never share one. Each counter's row is created by the migration that introduces it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def next_number(db: Session, counter: str, prefix: str) -> str:
    value = db.execute(
        text("UPDATE counters SET value = value + 1 WHERE name = :name RETURNING value"),
        {"name": counter},
    ).scalar_one()
    return f"{prefix}{value:07d}"
