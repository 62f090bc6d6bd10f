"""Reading and writing ``fhir_resources``: versions, history, deletion, sender ids.

Everything here is Core (no ORM objects): an import writes thousands of resources per
transaction and a read returns the stored bytes as they are. The JSON is compact (orjson) with
``meta.versionId`` and ``meta.lastUpdated`` set by ``put``; a resource written again unchanged
(apart from its meta) keeps its version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.models import (
    FhirReference,
    FhirResource,
    FhirResourceVersion,
    FhirSourceId,
    FhirString,
    FhirToken,
)
from carebridge.lib.time import utcnow

ORIGINS = ("mapped", "received")


@dataclass(frozen=True)
class Stored:
    """One version of a resource as stored."""

    pk: int
    resource_type: str
    id: str
    version_id: int
    last_updated: dt.datetime
    deleted: bool
    content: bytes
    patient_id: uuid.UUID | None = None

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'


@dataclass(frozen=True)
class Index:
    """What a resource is searched by, besides its type and id."""

    patient_id: uuid.UUID | None = None
    date_start: dt.datetime | None = None
    date_end: dt.datetime | None = None
    code_system: str | None = None
    code: str | None = None
    status: str | None = None
    tokens: tuple[tuple[str, str | None, str], ...] = ()
    """(param, system, code)"""
    strings: tuple[tuple[str, str, str], ...] = ()
    """(param, folded, as written)"""
    references: tuple[tuple[str, str, str], ...] = ()
    """(param, target type, target id)"""


def instant(moment: dt.datetime) -> str:
    """A FHIR instant in UTC with milliseconds, as ``meta.lastUpdated`` carries it."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def content_hash(resource: Mapping[str, Any]) -> str:
    """SHA-256 of the resource without the meta the store sets, keys sorted."""
    meta = resource.get("meta")
    body = dict(resource)
    if isinstance(meta, Mapping):
        kept = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        if kept:
            body["meta"] = kept
        else:
            body.pop("meta")
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _render(resource: Mapping[str, Any], version_id: int, moment: dt.datetime) -> bytes:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = instant(moment)
    return orjson.dumps({**resource, "meta": meta})


COLUMNS = (  # what a Stored is read from
    FhirResource.pk,
    FhirResource.resource_type,
    FhirResource.id,
    FhirResource.version_id,
    FhirResource.last_updated,
    FhirResource.deleted,
    FhirResource.content,
    FhirResource.patient_id,
)
_CURRENT = select(*COLUMNS, FhirResource.content_hash).where(
    FhirResource.resource_type == bindparam("resource_type"), FhirResource.id == bindparam("id")
)


def _columns(index: Index) -> dict[str, Any]:
    return {
        "patient_id": index.patient_id,
        "date_start": index.date_start,
        "date_end": index.date_end,
        "code_system": index.code_system,
        "code": index.code,
        "status": index.status,
    }


_INDEX_TABLES = (FhirToken, FhirString, FhirReference)


def write_index(db: Session, items: Sequence[tuple[int, Index]], *, replace: bool) -> None:
    """The search rows of each (resource pk, index); ``replace`` drops the rows an earlier
    version left first."""
    conn = db.connection()
    if replace:
        pks = [pk for pk, _index in items]
        for table in _INDEX_TABLES:
            conn.execute(sql_delete(table).where(table.resource_pk.in_(pks)))
    tokens = [
        {"resource_pk": pk, "param": param, "system": system, "code": code}
        for pk, index in items
        for param, system, code in index.tokens
    ]
    strings = [
        {"resource_pk": pk, "param": param, "value": value, "exact": exact}
        for pk, index in items
        for param, value, exact in index.strings
    ]
    references = [
        {"resource_pk": pk, "param": param, "target_type": kind, "target_id": target}
        for pk, index in items
        for param, kind, target in index.references
    ]
    for table, rows in ((FhirToken, tokens), (FhirString, strings), (FhirReference, references)):
        if rows:
            conn.execute(insert(table), rows)


def stored_of(row: Any) -> Stored:
    """A row of ``COLUMNS`` as a Stored."""
    return Stored(
        pk=row.pk,
        resource_type=row.resource_type,
        id=row.id,
        version_id=row.version_id,
        last_updated=row.last_updated,
        deleted=row.deleted,
        content=row.content,
        patient_id=row.patient_id,
    )


def read(db: Session, resource_type: str, resource_id: str) -> Stored | None:
    """The current version (deleted ones too: the caller answers 410 for those)."""
    row = db.connection().execute(_CURRENT, {"resource_type": resource_type, "id": resource_id})
    found = row.first()
    return None if found is None else stored_of(found)


def origin_of(db: Session, pk: int) -> str:
    """Where a stored resource came from: ``mapped`` (rendered from Carebridge's own records)
    or ``received``."""
    origin: str = db.execute(select(FhirResource.origin).where(FhirResource.pk == pk)).scalar_one()
    return origin


def _check_version(current: Stored, if_match: int | None) -> None:
    if if_match is not None and if_match != current.version_id:
        raise FhirError(
            412,
            "conflict",
            f"{current.resource_type}/{current.id} is at version {current.version_id}, "
            f"not {if_match}: read it again and apply the change to the current version",
        )


def put(
    db: Session,
    resource: Mapping[str, Any],
    *,
    origin: str,
    index: Index | None = None,
    if_match: int | None = None,
    now: dt.datetime | None = None,
    keep_earlier: bool = False,
) -> tuple[Stored, bool]:
    """Store ``resource`` (with its ``resourceType`` and ``id``) as a new resource or a new
    version of it; ``(stored, changed)``. Unchanged content keeps the current version.
    ``if_match`` is the version the writer read: another one is a 412. ``keep_earlier``:
    content equal to an earlier version keeps the current one too (an import that meets an
    older copy of a record again, as Synthea repeats an organization in every bundle)."""
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}")
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    if not isinstance(resource_type, str) or not isinstance(resource_id, str):
        raise FhirError(400, "required", "A stored resource needs resourceType and id")
    now = now or utcnow()
    index = index or Index()
    digest = content_hash(resource)
    conn = db.connection()
    found = conn.execute(_CURRENT, {"resource_type": resource_type, "id": resource_id}).first()
    columns = _columns(index)
    if found is None:
        if if_match is not None:
            raise FhirError(404, "not-found", f"No {resource_type}/{resource_id} to update")
        content = _render(resource, 1, now)
        pk = conn.execute(
            insert(FhirResource).returning(FhirResource.pk),
            {
                "resource_type": resource_type,
                "id": resource_id,
                "origin": origin,
                "version_id": 1,
                "last_updated": now,
                "deleted": False,
                "content": content,
                "content_hash": digest,
                **columns,
            },
        ).scalar_one()
        stored = Stored(pk, resource_type, resource_id, 1, now, False, content, index.patient_id)
        _keep_version(db, stored)
        write_index(db, [(pk, index)], replace=False)
        return stored, True
    current = stored_of(found)
    _check_version(current, if_match)
    if found.content_hash == digest and not current.deleted:
        return current, False
    if keep_earlier and _held_before(db, current.pk, digest):
        return current, False
    version = current.version_id + 1
    content = _render(resource, version, now)
    moved = conn.execute(
        update(FhirResource)
        .where(FhirResource.pk == current.pk, FhirResource.version_id == current.version_id)
        .values(
            version_id=version,
            last_updated=now,
            deleted=False,
            content=content,
            content_hash=digest,
            origin=origin,
            **columns,
        )
    )
    if moved.rowcount != 1:  # another writer got there between our read and this update
        raise FhirError(
            409, "conflict", f"{resource_type}/{resource_id} changed while it was being written"
        )
    stored = Stored(
        current.pk, resource_type, resource_id, version, now, False, content, index.patient_id
    )
    _keep_version(db, stored)
    write_index(db, [(current.pk, index)], replace=True)
    return stored, True


def add_new(
    db: Session,
    items: Sequence[tuple[Mapping[str, Any], Index]],
    *,
    origin: str,
    now: dt.datetime | None = None,
) -> list[Stored]:
    """Resources known to be new (records just bulk-inserted): version 1 of each, in one
    INSERT per table. One that exists already fails the whole call (the unique key)."""
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}")
    if not items:
        return []
    now = now or utcnow()
    rows = []
    for resource, index in items:
        rows.append(
            {
                "resource_type": resource["resourceType"],
                "id": resource["id"],
                "origin": origin,
                "version_id": 1,
                "last_updated": now,
                "deleted": False,
                "content": _render(resource, 1, now),
                "content_hash": content_hash(resource),
                **_columns(index),
            }
        )
    conn = db.connection()
    pks = conn.execute(
        insert(FhirResource).returning(FhirResource.pk, sort_by_parameter_order=True), rows
    ).scalars()
    stored = [
        Stored(pk, r["resource_type"], r["id"], 1, now, False, r["content"], r["patient_id"])
        for pk, r in zip(pks, rows, strict=True)
    ]
    conn.execute(
        insert(FhirResourceVersion),
        [
            {
                "resource_pk": s.pk,
                "version_id": 1,
                "last_updated": now,
                "deleted": False,
                "content": s.content,
            }
            for s in stored
        ],
    )
    write_index(
        db, [(s.pk, index) for s, (_r, index) in zip(stored, items, strict=True)], replace=False
    )
    return stored


def _held_before(db: Session, pk: int, digest: str) -> bool:
    earlier = db.connection().execute(
        select(FhirResourceVersion.content).where(
            FhirResourceVersion.resource_pk == pk, FhirResourceVersion.deleted.is_(False)
        )
    )
    return any(content_hash(orjson.loads(content)) == digest for (content,) in earlier)


def _keep_version(db: Session, stored: Stored) -> None:
    db.connection().execute(
        insert(FhirResourceVersion),
        {
            "resource_pk": stored.pk,
            "version_id": stored.version_id,
            "last_updated": stored.last_updated,
            "deleted": stored.deleted,
            "content": stored.content,
        },
    )


def delete(
    db: Session, resource_type: str, resource_id: str, *, now: dt.datetime | None = None
) -> Stored | None:
    """Mark the resource deleted (a new version, kept in history; a read answers 410).
    None when there is no such resource; deleting a deleted one changes nothing."""
    current = read(db, resource_type, resource_id)
    if current is None or current.deleted:
        return current
    now = now or utcnow()
    version = current.version_id + 1
    db.connection().execute(
        update(FhirResource)
        .where(FhirResource.pk == current.pk)
        .values(version_id=version, last_updated=now, deleted=True)
    )
    stored = Stored(
        current.pk,
        resource_type,
        resource_id,
        version,
        now,
        True,
        current.content,
        current.patient_id,
    )
    _keep_version(db, stored)
    return stored


def _versions(resource_type: str, resource_id: str) -> Any:
    return (
        select(
            FhirResource.pk,
            FhirResource.resource_type,
            FhirResource.id,
            FhirResourceVersion.version_id,
            FhirResourceVersion.last_updated,
            FhirResourceVersion.deleted,
            FhirResourceVersion.content,
            FhirResource.patient_id,
        )
        .join(FhirResourceVersion, FhirResourceVersion.resource_pk == FhirResource.pk)
        .where(FhirResource.resource_type == resource_type, FhirResource.id == resource_id)
    )


def history(db: Session, resource_type: str, resource_id: str) -> Sequence[Stored]:
    """Every version, newest first."""
    query = _versions(resource_type, resource_id).order_by(FhirResourceVersion.version_id.desc())
    return [stored_of(row) for row in db.connection().execute(query)]


def version(db: Session, resource_type: str, resource_id: str, version_id: int) -> Stored | None:
    """One version (vread)."""
    query = _versions(resource_type, resource_id).where(
        FhirResourceVersion.version_id == version_id
    )
    found = db.connection().execute(query).first()
    return None if found is None else stored_of(found)


def remember_source(
    db: Session, namespace: str, resource_type: str, source_id: str, stored: Stored
) -> None:
    """Note that the sender's ``source_id`` became ``stored`` (idempotent)."""
    key = {"namespace": namespace, "resource_type": resource_type, "source_id": source_id}
    if source_pk(db, namespace, resource_type, source_id) is None:
        db.connection().execute(insert(FhirSourceId), {**key, "resource_pk": stored.pk})


def source_pk(db: Session, namespace: str, resource_type: str, source_id: str) -> int | None:
    """The resource a sender's id became, if it was seen before."""
    found: int | None = (
        db.connection()
        .execute(
            select(FhirSourceId.resource_pk).where(
                FhirSourceId.namespace == namespace,
                FhirSourceId.resource_type == resource_type,
                FhirSourceId.source_id == source_id,
            )
        )
        .scalar()
    )
    return found


def referenced_ids(
    db: Session, resource_type: str, resource_ids: Sequence[uuid.UUID], param: str
) -> list[uuid.UUID]:
    """What the stored resources of ``resource_type`` with these ids point at through
    ``param`` (from the search index): how a response rendered under a derived id (a uuid5,
    which cannot be turned back) finds the record it was made from."""
    rows = db.scalars(
        select(FhirReference.target_id)
        .join(FhirResource, FhirResource.pk == FhirReference.resource_pk)
        .where(
            FhirResource.resource_type == resource_type,
            FhirResource.id.in_([str(i) for i in resource_ids]),
            FhirReference.param == param,
        )
    )
    return [uuid.UUID(target) for target in rows]
