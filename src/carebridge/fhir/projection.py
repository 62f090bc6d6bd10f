"""Keeps the FHIR renderings of Carebridge's own records current, in the transaction that
changes them: a change made on a screen, through the JSON API or by the ADT feed is the same
change through FHIR, with a new version when (and only when) the rendering changed.

After each flush the records touched are noted (a phone number touches its Patient); before
the commit each noted resource is rendered once and stored (``store.put``, origin ``mapped``).
``reindex`` renders them all, for a database that had records before this existed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from carebridge.fhir import store
from carebridge.fhir.mappers.patients import patient_to_fhir
from carebridge.patients.models import Identifier, Patient, Telecom

_NOTED = "carebridge.fhir.noted"
Key = tuple[str, uuid.UUID]


def _feeds(obj: object) -> Iterable[Key]:
    """The FHIR resources a changed record is part of."""
    if isinstance(obj, Patient):
        yield ("Patient", obj.id)
    elif isinstance(obj, Identifier | Telecom):
        yield ("Patient", obj.patient_id)


def _patients(db: Session, ids: list[uuid.UUID]) -> Iterable[tuple[dict[str, Any], store.Index]]:
    charts = db.scalars(
        select(Patient)
        .where(Patient.id.in_(ids))
        .options(selectinload(Patient.identifiers), selectinload(Patient.telecoms))
    )
    for patient in charts:
        yield patient_to_fhir(patient), store.Index(patient_id=patient.id, status=patient.status)


def _render_patients(db: Session, ids: list[uuid.UUID]) -> None:
    for resource, index in _patients(db, ids):
        store.put(db, resource, origin="mapped", index=index)


def render_new_patients(db: Session, ids: list[uuid.UUID]) -> None:
    """Version 1 of charts just bulk-inserted (``patients.bulk``), in one statement per
    table instead of a lookup and an insert each."""
    store.add_new(db, list(_patients(db, ids)), origin="mapped")


RENDERERS: dict[str, Callable[[Session, list[uuid.UUID]], None]] = {
    "Patient": _render_patients,
}


def _note(session: Session, _ctx: object) -> None:
    for obj in chain(session.new, session.dirty):
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        for key in _feeds(obj):
            session.info.setdefault(_NOTED, set()).add(key)


def _project(session: Session) -> None:
    while True:
        session.flush()  # what is still pending is noted too
        noted: set[Key] | None = session.info.pop(_NOTED, None)
        if not noted:
            return
        for kind, render in RENDERERS.items():
            ids = sorted({i for k, i in noted if k == kind})
            if ids:
                render(session, ids)


def install() -> None:
    """Keep renderings current in every session from now on (idempotent). Called when a
    session factory is made, so no import order can leave a process without it."""
    if not event.contains(Session, "after_flush", _note):
        event.listen(Session, "after_flush", _note)
        event.listen(Session, "before_commit", _project)


def reindex(
    db: Session, batch: int = 500, progress: Callable[[int, int], object] | None = None
) -> int:
    """Render every record of every mapped type; how many were rendered. ``progress`` is
    told (done, total) after each batch."""
    ids = list(db.scalars(select(Patient.id).order_by(Patient.id)))
    done = 0
    for first in range(0, len(ids), batch):
        chunk = ids[first : first + batch]
        _render_patients(db, chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, len(ids))
    return done
