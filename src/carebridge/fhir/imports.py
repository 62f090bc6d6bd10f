"""Records from elsewhere, in: FHIR transaction or batch Bundles and NDJSON files.

A Patient becomes a chart (matched by what it was imported as before, then by identifier,
else registered through the chart's own service); every other resource is kept as received,
its references rewritten to the ids they have here, indexed by patient, date, code, status and
references. ``fhir_source_ids`` remembers what each sender id became, so importing the same
files again, or the same organization in many bundles, creates nothing new, and a resource
changed at the source gets a new version.

One file is one transaction: a bad entry leaves nothing of its file behind, and the error
names the file, the entry and the element.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from carebridge.fhir import projection, query, store
from carebridge.fhir.errors import FhirError
from carebridge.fhir.indexing import extract_received, reference_target, rewrite_references
from carebridge.fhir.mappers.patients import patient_from_fhir
from carebridge.fhir.models import FhirResource, FhirSourceId
from carebridge.fhir.received import validate_shape
from carebridge.fhir.registry import PARAMS, definition_of
from carebridge.fhir.search import parse
from carebridge.lib.errors import AppError
from carebridge.patients import service as patients
from carebridge.patients.models import Identifier
from carebridge.security.audit import Action, Actor, record

MAX_FILE_BYTES = 200_000_000
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_URN_UUID = re.compile(r"^urn:uuid:([0-9a-fA-F-]{36})$")


@dataclass(frozen=True)
class Entry:
    resource: dict[str, Any]
    full_url: str | None
    where: str  # "file.json entry 3", for errors


@dataclass
class Summary:
    """What an import did, per resource type."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def resources(self) -> int:
        return (
            sum(self.created.values()) + sum(self.updated.values()) + sum(self.unchanged.values())
        )

    def types(self) -> list[str]:
        return sorted(set(self.created) | set(self.updated) | set(self.unchanged))


def _bad(where: str, diagnostics: str, status: int = 400, code: str = "invalid") -> FhirError:
    return FhirError(status, code, f"{where}: {diagnostics}")


@contextmanager
def _located(where: str) -> Iterator[None]:
    """Errors raised while an entry is handled name the entry."""
    try:
        yield
    except FhirError as exc:
        if exc.diagnostics.startswith(where):
            raise
        raise _bad(where, exc.diagnostics, exc.status, exc.code) from exc
    except AppError as exc:
        raise _bad(where, exc.detail, exc.status, "invalid") from exc


def read_entries(path: Path) -> list[Entry]:
    """The resources of a Bundle file (transaction, batch or collection) or an NDJSON file."""
    name = path.name
    if path.stat().st_size > MAX_FILE_BYTES:
        raise _bad(name, f"larger than {MAX_FILE_BYTES} bytes; split it", 413, "too-costly")
    data = path.read_bytes()
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        entries = []
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                entries.append(
                    Entry(_json(line, f"{name} line {number}"), None, f"{name} line {number}")
                )
        return entries
    bundle = _json(data, name)
    if bundle.get("resourceType") != "Bundle":
        return [Entry(bundle, None, name)]  # one resource alone in a file
    if bundle.get("type") not in ("transaction", "batch", "collection", "searchset"):
        raise _bad(name, f"a Bundle of type {bundle.get('type')!r} is not imported")
    found = bundle.get("entry", [])
    if not isinstance(found, list):
        raise _bad(name, "Bundle.entry must be an array", code="structure")
    entries = []
    for position, item in enumerate(found):
        where = f"{name} entry {position}"
        if not isinstance(item, dict) or not isinstance(item.get("resource"), dict):
            raise _bad(where, "has no resource", code="structure")
        method = (item.get("request") or {}).get("method", "POST")
        if method not in ("POST", "PUT"):
            raise _bad(where, f"request.method {method} is not imported (POST or PUT only)")
        url = item.get("fullUrl")
        entries.append(Entry(item["resource"], url if isinstance(url, str) else None, where))
    return entries


def _json(data: bytes, where: str) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _bad(where, f"not valid JSON ({exc})", code="structure") from exc
    if not isinstance(value, dict):
        raise _bad(where, "must be a JSON object", code="structure")
    return value


# --- ids ---------------------------------------------------------------------------------


def _source_id(entry: Entry) -> str:
    rid = entry.resource.get("id")
    if isinstance(rid, str) and rid:
        return rid
    match = _URN_UUID.match(entry.full_url or "")
    if match:
        return match.group(1)
    raise _bad(entry.where, "a resource needs an id or a urn:uuid fullUrl to be imported")


def _known(
    db: Session, namespace: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """What each (type, sender id) became here, for those imported before."""
    found: dict[tuple[str, str], str] = {}
    for first in range(0, len(keys), 500):
        chunk = keys[first : first + 500]
        rows = db.execute(
            select(FhirSourceId.resource_type, FhirSourceId.source_id, FhirResource.id)
            .join(FhirResource, FhirResource.pk == FhirSourceId.resource_pk)
            .where(
                FhirSourceId.namespace == namespace,
                tuple_(FhirSourceId.resource_type, FhirSourceId.source_id).in_(chunk),
            )
        )
        found.update({(kind, source): ours for kind, source, ours in rows})
    return found


def _taken(db: Session, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    taken: set[tuple[str, str]] = set()
    for first in range(0, len(keys), 500):
        chunk = keys[first : first + 500]
        rows = db.execute(
            select(FhirResource.resource_type, FhirResource.id).where(
                tuple_(FhirResource.resource_type, FhirResource.id).in_(chunk)
            )
        )
        taken.update((kind, rid) for kind, rid in rows)
    return taken


def _chart_by_identifier(db: Session, resource: Mapping[str, Any]) -> uuid.UUID | None:
    pairs = [
        (i.get("system"), i.get("value"))
        for i in resource.get("identifier", [])
        if isinstance(i, dict)
        and isinstance(i.get("system"), str)
        and isinstance(i.get("value"), str)
    ]
    if not pairs:
        return None
    found: uuid.UUID | None = db.scalar(
        select(Identifier.patient_id)
        .where(tuple_(Identifier.system, Identifier.value).in_(pairs))
        .limit(1)
    )
    return found


def _register(db: Session, actor: Actor, entry: Entry, summary: Summary) -> str:
    data, warnings = patient_from_fhir(entry.resource)
    summary.warnings += [f"{entry.where}: {w}" for w in warnings]
    try:
        chart = patients.register(db, actor, data)
    except patients.DuplicateSuspected:
        reason = f"Imported from {entry.where}; review the suggested duplicates"
        chart = patients.register(
            db, actor, data.model_copy(update={"duplicate_override_reason": reason})
        )
        summary.warnings.append(f"{entry.where}: registered beside a possible duplicate chart")
    return str(chart.id)


# --- references --------------------------------------------------------------------------


def _conditional(db: Session, reference: str) -> str:
    kind, _, condition = reference.partition("?")
    definition = definition_of(kind)
    if definition is None:
        raise FhirError(422, "not-found", f"{reference}: no such type")
    wanted = parse(kind, parse_qsl(condition), query.definitions(definition.params), strict=True)
    page = query.run(db, kind, wanted, PARAMS, lambda _t: False)
    if len(page.matches) != 1:
        raise FhirError(
            422, "not-found", f"{reference} matches {len(page.matches)} resources, not one"
        )
    return f"{kind}/{page.matches[0].id}"


# --- one file ----------------------------------------------------------------------------


class _Earlier(dict[str, str]):
    """``Type/id`` of resources imported from the same source in earlier files (an NDJSON
    export sends Patient.ndjson first, then Observation.ndjson pointing at them) to what
    they became here, looked up once each."""

    def __init__(self, db: Session, namespace: str) -> None:
        super().__init__()
        self.db = db
        self.namespace = namespace

    def __missing__(self, reference: str) -> str:
        kind, _, source = reference.partition("/")
        found = _known(self.db, self.namespace, [(kind, source)]) if source else {}
        self[reference] = f"{kind}/{found[(kind, source)]}" if found else reference
        return self[reference]


def _prepared(
    db: Session,
    entry: Entry,
    our_id: str,
    by_url: Mapping[str, str],
    earlier: _Earlier,
    charts: set[str],
) -> tuple[dict[str, Any], store.Index]:
    """A received resource as it will be kept: our id, references to what they name here,
    and its index, with the chart it belongs to."""

    def resolve(reference: str) -> str:
        if reference in by_url:
            return by_url[reference]
        if reference_target(reference) is not None and not reference.startswith("http"):
            return earlier[reference.partition("/_history")[0]]
        if reference.startswith("urn:"):
            raise FhirError(422, "not-found", f"{reference} is not an entry of this file")
        if "?" in reference and not reference.startswith(("http:", "https:")):
            return _conditional(db, reference)
        return reference

    resource = rewrite_references(entry.resource, resolve)
    resource["id"] = our_id
    return resource, kept_index(db, resource, charts)


def kept_index(
    db: Session, resource: Mapping[str, Any], charts: set[str] | None = None
) -> store.Index:
    """The index of a resource kept as received, with the chart it belongs to, which must
    exist (``charts``: Patient ids known to exist, made in this same transaction)."""
    index = extract_received(resource, None)
    subject = next((t for p, k, t in index.references if (p, k) == ("patient", "Patient")), None)
    if subject is None:
        return index
    if subject not in (charts or set()):
        found = store.read(db, "Patient", subject)
        if found is None or found.patient_id is None:
            raise FhirError(
                422, "not-found", f"{resource['resourceType']}: there is no Patient/{subject}"
            )
    return replace(index, patient_id=uuid.UUID(subject))


def import_entries(
    db: Session,
    actor: Actor,
    entries: Sequence[Entry],
    namespace: str,
    summary: Summary,
    source: str,
) -> None:
    """Import one file's entries (``source`` names the file in the audit log) in the
    caller's transaction; raises FhirError naming the entry, and the caller rolls back."""
    for entry in entries:
        with _located(entry.where):
            validate_shape(entry.resource)
    keyed: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        keyed.setdefault((entry.resource["resourceType"], _source_id(entry)), entry)
    keys = list(keyed)
    known = _known(db, namespace, keys)
    taken = _taken(db, [k for k in keys if k not in known])

    ours: dict[tuple[str, str], str] = dict(known)
    charts: set[str] = set()
    for key, entry in keyed.items():
        kind, sender_id = key
        if kind == "Patient":
            if key not in ours:
                with _located(entry.where):
                    chart = _chart_by_identifier(db, entry.resource)
                    ours[key] = str(chart) if chart else _register(db, actor, entry, summary)
            charts.add(ours[key])
        elif key not in ours:
            mine = _ID.match(sender_id) and key not in taken
            ours[key] = sender_id if mine else str(uuid.uuid4())

    by_url: dict[str, str] = {}
    for key, entry in keyed.items():
        target = f"{key[0]}/{ours[key]}"
        by_url[f"{key[0]}/{key[1]}"] = target
        if entry.full_url:
            by_url[entry.full_url] = target

    projection.render_pending(db)  # the new charts' Patients, which references point at
    new_sources: list[tuple[str, str, int, bytes | None]] = []
    for key in keys:
        if key[0] != "Patient":
            continue
        # A chart keeps what it can; the Patient as sent is kept beside it, so nothing the
        # sender gave is lost (birth sex, birthplace, a phone without its area code...).
        sent = orjson.dumps(keyed[key].resource)
        if key in known:
            _keep_original(db, namespace, key, sent)
            continue
        rendered = store.read(db, "Patient", ours[key])
        if rendered is None:  # rendered by render_pending above
            raise RuntimeError(f"Patient/{ours[key]} has no rendering")
        new_sources.append((key[0], key[1], rendered.pk, sent))
    fresh_sources: list[tuple[str, str]] = []

    earlier = _Earlier(db, namespace)
    fresh: list[tuple[dict[str, Any], store.Index]] = []
    touched: Counter[str] = Counter()
    for key, entry in keyed.items():
        kind = key[0]
        if kind == "Patient":
            summary.unchanged[kind] += key in known
            summary.created[kind] += key not in known
            continue

        with _located(entry.where):
            resource, index = _prepared(db, entry, ours[key], by_url, earlier, charts)
        patient_id = index.patient_id
        if patient_id is not None:
            touched[str(patient_id)] += 1
        if key in known:
            _, changed = store.put(db, resource, origin="received", index=index, keep_earlier=True)
            (summary.updated if changed else summary.unchanged)[kind] += 1
        else:
            fresh.append((resource, index))
            fresh_sources.append(key)
            summary.created[kind] += 1
    added = store.add_new(db, fresh, origin="received")
    new_sources += [(k, sid, s.pk, None) for (k, sid), s in zip(fresh_sources, added, strict=True)]
    _remember(db, namespace, new_sources)
    for patient, count in touched.items():
        record(
            db,
            actor,
            Action.CREATE,
            entity_type="FhirImport",
            entity_id=source,
            patient_id=uuid.UUID(patient),
            reason=f"{count} resource(s) imported",
        )


def _remember(
    db: Session, namespace: str, sources: Sequence[tuple[str, str, int, bytes | None]]
) -> None:
    """Note what each (type, sender id) became: the resource with that key (and, for a
    Patient, the resource as sent)."""
    if sources:
        db.connection().execute(
            insert(FhirSourceId),
            [
                {
                    "namespace": namespace,
                    "resource_type": kind,
                    "source_id": sid,
                    "resource_pk": pk,
                    "original": sent,
                }
                for kind, sid, pk, sent in sources
            ],
        )


def _keep_original(db: Session, namespace: str, key: tuple[str, str], sent: bytes) -> None:
    db.connection().execute(
        update(FhirSourceId)
        .where(
            FhirSourceId.namespace == namespace,
            FhirSourceId.resource_type == key[0],
            FhirSourceId.source_id == key[1],
        )
        .values(original=sent)
    )


def files_in(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and the .json/.ndjson files in the folders named, in order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.iterdir() if p.suffix.lower() in (".json", ".ndjson", ".jsonl")
            )
        else:
            yield path


def import_files(
    factory: sessionmaker[Session],
    actor: Actor,
    paths: Sequence[Path],
    *,
    namespace: str = "fhir-import",
    progress: Callable[[Path, int], object] | None = None,
) -> Summary:
    """Import each file in a transaction of its own; a file that fails is named in
    ``failed`` with why, leaves nothing behind, and the others go on. ``progress`` is told
    (file, resources in it) after each file."""
    from carebridge.db.session import unit_of_work

    summary = Summary()
    for path in paths:
        before = summary.resources
        attempt = Summary()
        try:
            entries = read_entries(path)
            with unit_of_work(factory) as db:
                import_entries(db, actor, entries, namespace, attempt, path.name)
        except FhirError as exc:
            summary.failed.append(exc.diagnostics)
        except OSError as exc:
            summary.failed.append(f"{path}: {exc.strerror or exc}")
        else:
            summary.created.update(attempt.created)
            summary.updated.update(attempt.updated)
            summary.unchanged.update(attempt.unchanged)
            summary.warnings += attempt.warnings
            summary.files += 1
        if progress is not None:
            progress(path, summary.resources - before)
    return summary
