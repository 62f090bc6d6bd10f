"""Keeps the FHIR renderings of Carebridge's own records current, in the transaction that
changes them: a change made on a screen, through the JSON API or by the ADT feed is the same
change through FHIR, with a new version when (and only when) the rendering changed.

After each flush the records touched are noted (a phone number touches its Patient, through
each type's ``Projection.feeds``); before the commit each noted resource is rendered once and
stored (``store.put``, origin ``mapped``). ``reindex`` renders them all, for a database that
had records before a type was served.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from itertools import chain

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from carebridge.fhir import store
from carebridge.fhir.registry import PROJECTIONS

_NOTED = "carebridge.fhir.noted"
Key = tuple[str, uuid.UUID]


def render(db: Session, kind: str, ids: list[uuid.UUID], *, reindex: bool = False) -> None:
    """Render these records of ``kind`` now: a new version where the rendering changed."""
    for resource, index in PROJECTIONS[kind].render(db, ids):
        stored, changed = store.put(db, resource, origin="mapped", index=index)
        if reindex and not changed:  # the search rows may predate the current rendering
            store.write_index(db, [(stored.pk, index)], replace=True)


def render_new(db: Session, kind: str, ids: list[uuid.UUID]) -> None:
    """Version 1 of records just bulk-inserted (``patients.bulk``), in one statement per
    table instead of a lookup and an insert each."""
    store.add_new(db, list(PROJECTIONS[kind].render(db, ids)), origin="mapped")


def _note(session: Session, _ctx: object) -> None:
    for obj in chain(session.new, session.dirty):
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        for kind, projection in PROJECTIONS.items():
            for record_id in projection.feeds(obj):
                session.info.setdefault(_NOTED, set()).add((kind, record_id))


def render_pending(session: Session) -> None:
    """Render what the changes so far touched, now (a write answers with the new version)
    instead of at the commit."""
    while True:
        session.flush()  # what is still pending is noted too
        noted: set[Key] | None = session.info.pop(_NOTED, None)
        if not noted:
            return
        for kind in PROJECTIONS:
            ids = sorted({i for k, i in noted if k == kind})
            if ids:
                render(session, kind, ids)


def install() -> None:
    """Keep renderings current in every session from now on (idempotent). Called when a
    session factory is made, so no import order can leave a process without it."""
    if not event.contains(Session, "after_flush", _note):
        event.listen(Session, "after_flush", _note)
        event.listen(Session, "before_commit", render_pending)


def reindex(
    db: Session, batch: int = 500, progress: Callable[[int, int], object] | None = None
) -> int:
    """Render every record of every mapped type; how many were rendered. ``progress`` is
    told (done, total) after each batch."""
    work = [
        (kind, list(db.scalars(select(p.every).order_by(p.every))))
        for kind, p in PROJECTIONS.items()
    ]
    total = sum(len(ids) for _kind, ids in work)
    done = 0
    for kind, ids in work:
        for first in range(0, len(ids), batch):
            chunk = ids[first : first + batch]
            render(db, kind, chunk, reindex=True)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return done
