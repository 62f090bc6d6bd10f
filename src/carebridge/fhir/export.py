"""FHIR Bulk Data export (the asynchronous ``$export`` of the Bulk Data Access guide).

A kick-off records what was asked and the moment it is as of (``transaction_time``); a
background thread then plans the files: for each type, the keys of the resources in the
export, cut into parts of at most ``PART_SIZE``. Nothing is copied: a file is read when it
is downloaded, from each resource as it was at ``transaction_time`` (its current row when it
has not changed since, else the version it had then), so every file shows the same moment
however long the client takes to fetch them.

Three levels: ``system`` (everything), ``patient`` (every patient compartment) and ``group``
(the compartments of one Group's members, the Group as it was at ``transaction_time``: the
kick-off URL names it, and a member marked inactive is not exported).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from sqlalchemy import Connection, Select, and_, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from carebridge.fhir.errors import FhirError
from carebridge.fhir.models import FhirExport, FhirResource, FhirResourceVersion
from carebridge.lib.time import utcnow

PART_SIZE = 50_000
LEVELS = ("system", "patient", "group")
log = logging.getLogger(__name__)


def start(
    db: Session,
    *,
    level: str,
    types: Sequence[str],
    since: datetime | None,
    requested_by: uuid.UUID | None,
    request_url: str,
) -> FhirExport:
    """Record a kick-off; ``plan`` does the rest."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    now = utcnow()
    export = FhirExport(
        level=level,
        types=list(types),
        since=since,
        transaction_time=now,
        status="accepted",
        requested_by=requested_by,
        request_url=request_url,
        manifest=[],
        created_at=now,
    )
    db.add(export)
    db.flush()
    return export


# --- what an export holds ------------------------------------------------------------------

# The patients a group-level export is about; None for the other levels.
Members = Sequence[uuid.UUID] | None


def group_of(export: FhirExport) -> str | None:
    """The id of the Group a group-level export is about, from its kick-off URL
    (``.../Group/{id}/$export``)."""
    if export.level != "group":
        return None
    segments = [unquote(s) for s in urlsplit(export.request_url).path.split("/")]
    return segments[-2] if len(segments) >= 3 and segments[-3] == "Group" else None


def members(conn: Connection, export: FhirExport) -> Members:
    """The patients of a group-level export: the members of its Group as the Group was at the
    export's moment, those marked inactive left out."""
    if export.level != "group":
        return None
    row, version = FhirResource, FhirResourceVersion
    then = conn.execute(
        select(version.content, version.deleted)
        .join(row, row.pk == version.resource_pk)
        .where(
            row.resource_type == "Group",
            row.id == group_of(export),
            version.last_updated <= export.transaction_time,
        )
        .order_by(version.version_id.desc())
        .limit(1)
    ).first()
    if then is None or then.deleted:
        return []
    found = []
    for member in orjson.loads(then.content).get("member", []):
        entity = member.get("entity") if isinstance(member, dict) else None
        reference = entity.get("reference") if isinstance(entity, dict) else None
        kind, _, patient_id = str(reference).partition("/")
        if kind == "Patient" and not member.get("inactive"):
            try:
                found.append(uuid.UUID(patient_id))
            except ValueError:
                continue  # a Group kept as received may name what is not a chart here
    return found


def _within(query: Select[int, bytes], export: FhirExport, scope: Members) -> Select[int, bytes]:
    """Patient and group level: only resources in the compartments exported."""
    if export.level == "patient":
        return query.where(FhirResource.patient_id.is_not(None))
    if export.level == "group":
        return query.where(FhirResource.patient_id.in_(scope or ()))
    return query


def _current(export: FhirExport, kind: str, scope: Members = None) -> Select[int, bytes]:
    """Resources unchanged since the export's moment: their row is what they were then."""
    row = FhirResource
    query = select(row.pk, row.content).where(
        row.resource_type == kind,
        row.deleted.is_(False),
        row.last_updated <= export.transaction_time,
    )
    if export.since is not None:
        query = query.where(row.last_updated > export.since)
    return _within(query, export, scope)


def _earlier(export: FhirExport, kind: str, scope: Members = None) -> Select[int, bytes]:
    """Resources changed since the export's moment, as the version they had then."""
    row, version, other = FhirResource, FhirResourceVersion, aliased(FhirResourceVersion)
    then = (
        select(func.max(other.version_id))
        .where(
            other.resource_pk == version.resource_pk,
            other.last_updated <= export.transaction_time,
        )
        .scalar_subquery()
    )
    query = (
        select(row.pk, version.content)
        .join(version, and_(version.resource_pk == row.pk, version.version_id == then))
        .where(
            row.resource_type == kind,
            row.last_updated > export.transaction_time,
            version.deleted.is_(False),
        )
    )
    if export.since is not None:
        query = query.where(version.last_updated > export.since)
    return _within(query, export, scope)


def _keys(conn: Connection, export: FhirExport, kind: str, scope: Members) -> list[int]:
    current = _current(export, kind, scope).with_only_columns(FhirResource.pk)
    found = [pk for (pk,) in conn.execute(current)]
    found += [pk for (pk, _content) in conn.execute(_earlier(export, kind, scope))]
    return sorted(found)


def plan(
    factory: sessionmaker[Session], export_id: uuid.UUID, readable: Callable[[str], bool]
) -> None:
    """Work out the export's files (types the requester may read, split into parts) and mark
    it complete; an error is kept on the export for the status poll to report."""
    from carebridge.db.session import unit_of_work

    try:
        with unit_of_work(factory) as db:
            export = db.get(FhirExport, export_id)
            if export is None or export.status != "accepted":
                return  # cancelled before it started
            conn = db.connection()
            kinds = export.types or sorted(
                conn.execute(select(FhirResource.resource_type).distinct()).scalars()
            )
            scope = members(conn, export)
            manifest = []
            for kind in kinds:
                if not readable(kind):
                    continue
                keys = _keys(conn, export, kind, scope)
                for part, first in enumerate(range(0, len(keys), PART_SIZE), start=1):
                    chunk = keys[first : first + PART_SIZE]
                    manifest.append(
                        {
                            "type": kind,
                            "part": part,
                            "low": chunk[0],
                            "high": chunk[-1],
                            "count": len(chunk),
                        }
                    )
            db.refresh(export, with_for_update=True)
            if export.status == "accepted":
                export.manifest = manifest
                export.status = "complete"
                export.completed_at = utcnow()
    except Exception as exc:  # the client learns of it from the status poll
        log.exception("bulk export %s failed", export_id)
        with unit_of_work(factory) as db:
            failed = db.get(FhirExport, export_id)
            if failed is not None:
                failed.status = "error"
                failed.error = f"{type(exc).__name__}: {exc}"
                failed.completed_at = utcnow()


def plan_in_background(
    factory: sessionmaker[Session], export_id: uuid.UUID, readable: Callable[[str], bool]
) -> threading.Thread:
    thread = threading.Thread(
        target=plan, args=(factory, export_id, readable), name=f"export-{export_id}", daemon=True
    )
    thread.start()
    return thread


def owned(db: Session, export_id: uuid.UUID, user_id: uuid.UUID | None) -> FhirExport:
    """The export, if the caller is the one who asked for it (anyone else: not found)."""
    export = db.get(FhirExport, export_id)
    if export is None or export.requested_by != user_id or export.status == "cancelled":
        raise FhirError(404, "not-found", f"No export {export_id}")
    return export


def file_of(export: FhirExport, kind: str, part: int) -> dict[str, Any]:
    for item in export.manifest:
        if item["type"] == kind and item["part"] == part:
            return item
    raise FhirError(404, "not-found", f"Export {export.id} has no {kind} file {part}")


def lines(conn: Connection, export: FhirExport, item: dict[str, Any]) -> Iterator[bytes]:
    """The NDJSON of one file: its resources as they were at the export's moment."""
    kind, low, high = item["type"], item["low"], item["high"]
    in_part = and_(FhirResource.pk >= low, FhirResource.pk <= high)
    scope = members(conn, export)
    for query in (_current(export, kind, scope), _earlier(export, kind, scope)):
        rows = conn.execution_options(yield_per=2000).execute(query.where(in_part))
        for _pk, content in rows:
            yield content + b"\n"
