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
from carebridge.fhir.indexing import extract
from carebridge.fhir.mappers.patients import patient_to_fhir, related_person_to_fhir
from carebridge.fhir.registry import PATIENT, RELATED_PERSON
from carebridge.patients.models import Identifier, Patient, RelatedPerson, Telecom

_NOTED = "carebridge.fhir.noted"
Key = tuple[str, uuid.UUID]


def _feeds(obj: object) -> Iterable[Key]:
    """The FHIR resources a changed record is part of."""
    if isinstance(obj, Patient):
        yield ("Patient", obj.id)
    elif isinstance(obj, Identifier | Telecom):
        yield ("Patient", obj.patient_id)
    elif isinstance(obj, RelatedPerson):
        yield ("RelatedPerson", obj.id)


Rendered = Iterable[tuple[dict[str, Any], store.Index]]


def _patients(db: Session, ids: list[uuid.UUID]) -> Rendered:
    charts = db.scalars(
        select(Patient)
        .where(Patient.id.in_(ids))
        .options(selectinload(Patient.identifiers), selectinload(Patient.telecoms))
    )
    for patient in charts:
        resource = patient_to_fhir(patient)
        base = store.Index(patient_id=patient.id, status=patient.status)
        yield resource, extract(resource, PATIENT.params, base)


def _related_persons(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for person in db.scalars(select(RelatedPerson).where(RelatedPerson.id.in_(ids))):
        resource = related_person_to_fhir(person)
        base = store.Index(patient_id=person.patient_id, status=person.status)
        yield resource, extract(resource, RELATED_PERSON.params, base)


RENDERERS: dict[str, Callable[[Session, list[uuid.UUID]], Rendered]] = {
    "Patient": _patients,
    "RelatedPerson": _related_persons,
}
# Every record of each mapped type, for reindex.
_ALL: dict[str, Any] = {"Patient": Patient.id, "RelatedPerson": RelatedPerson.id}


def _render(db: Session, kind: str, ids: list[uuid.UUID], *, reindex: bool = False) -> None:
    for resource, index in RENDERERS[kind](db, ids):
        stored, changed = store.put(db, resource, origin="mapped", index=index)
        if reindex and not changed:  # the search rows may predate the current rendering
            store.write_index(db, [(stored.pk, index)], replace=True)


def render_new(db: Session, kind: str, ids: list[uuid.UUID]) -> None:
    """Version 1 of records just bulk-inserted (``patients.bulk``), in one statement per
    table instead of a lookup and an insert each."""
    store.add_new(db, list(RENDERERS[kind](db, ids)), origin="mapped")


def _note(session: Session, _ctx: object) -> None:
    for obj in chain(session.new, session.dirty):
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        for key in _feeds(obj):
            session.info.setdefault(_NOTED, set()).add(key)


def render_pending(session: Session) -> None:
    """Render what the changes so far touched, now (a write answers with the new version)
    instead of at the commit."""
    while True:
        session.flush()  # what is still pending is noted too
        noted: set[Key] | None = session.info.pop(_NOTED, None)
        if not noted:
            return
        for kind in RENDERERS:
            ids = sorted({i for k, i in noted if k == kind})
            if ids:
                _render(session, kind, ids)


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
        (kind, list(db.scalars(select(column).order_by(column)))) for kind, column in _ALL.items()
    ]
    total = sum(len(ids) for _kind, ids in work)
    done = 0
    for kind, ids in work:
        for first in range(0, len(ids), batch):
            chunk = ids[first : first + batch]
            _render(db, kind, chunk, reindex=True)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return done
