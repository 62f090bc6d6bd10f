"""The FHIR R4 API at ``/fhir/R4``: the CapabilityStatement, and read, vread and instance
history for every type in the registry. Answers are ``application/fhir+json``; errors are
OperationOutcomes (see ``web.errors``). Every access is audited with the patient it concerns.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from carebridge.fhir import audit_events, bundles, query, slots, store, transactions
from carebridge.fhir.capability import capability_statement, fhir_base
from carebridge.fhir.errors import FhirError
from carebridge.fhir.mapping import ResourceDef
from carebridge.fhir.outcome import FHIR_JSON, operation_outcome
from carebridge.fhir.registry import (
    PARAMS,
    REGISTRY,
    definition_of,
    received_def,
)
from carebridge.fhir.scopes import grant_of, may_read
from carebridge.fhir.search import canonical_query, date_range, parse
from carebridge.security.audit import Action, Actor, record
from carebridge.security.deps import Db, Require, public, settings_of
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Permission, allows
from carebridge.web.render import clinic_today

router = APIRouter(prefix="/fhir/R4", tags=["fhir"])
Format = Annotated[str | None, Query(alias="_format")]
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})


def _json_only(requested: str | None) -> None:
    if requested is not None and requested.split(";")[0].strip() not in JSON_FORMATS:
        raise FhirError(
            406, "not-supported", f"_format={requested}: this server speaks FHIR JSON only"
        )


def _fhir_json(body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, media_type=FHIR_JSON, headers=headers)


@router.get("/metadata", dependencies=[Depends(public)])
def metadata(request: Request, _format: Format = None) -> Response:
    """The CapabilityStatement: what this server supports, made from the same table as the
    routes."""
    _json_only(_format)
    return _fhir_json(capability_statement(settings_of(request)))


def _current(db: Db, definition: ResourceDef, resource_id: str) -> store.Stored:
    found = store.read(db, definition.type, resource_id)
    if found is None:
        raise FhirError(404, "not-found", f"No {definition.type} with id {resource_id}")
    return found


def _headers(stored: store.Stored, base: str) -> dict[str, str]:
    return {
        "ETag": stored.etag,
        "Last-Modified": format_datetime(stored.last_updated, usegmt=True),
        "Content-Location": f"{base}/{stored.resource_type}/{stored.id}/_history/"
        f"{stored.version_id}",
    }


def _disclose(request: Request, db: Db, actor: Actor, stored: store.Stored, reason: str) -> None:
    """Every resource that leaves: within the token's scopes, and audited with its patient."""
    grant = grant_of(request)
    if grant is not None:
        grant.check(stored.resource_type, "read", stored.patient_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type=stored.resource_type,
        entity_id=stored.id,
        patient_id=stored.patient_id,
        reason=reason,
    )


def _matches(if_none_match: str | None, stored: store.Stored) -> bool:
    """``If-None-Match`` names the current version (``W/"3"``, or a bare ``3`` as some clients
    send it)."""
    if not if_none_match:
        return False
    wanted = {t.strip().removeprefix("W/").strip('"') for t in if_none_match.split(",")}
    return "*" in wanted or str(stored.version_id) in wanted


def _strict(request: Request) -> bool:
    """``Prefer: handling=strict``: an unknown search parameter is an error, not ignored."""
    prefer = request.headers.get("prefer", "")
    return any(p.strip().replace(" ", "") == "handling=strict" for p in prefer.split(","))


async def _form(request: Request) -> list[tuple[str, str]]:
    """The parameters of ``POST [type]/_search``: the query string and the form body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    body = await request.body()
    if body and kind != "application/x-www-form-urlencoded":
        raise FhirError(
            415, "not-supported", "POST _search takes application/x-www-form-urlencoded"
        )
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise FhirError(400, "invalid", "The _search body is not UTF-8") from exc
    return [*request.query_params.multi_items(), *pairs]


# The caller is identified before the body is read: a stranger's bad body is a 401, not a 400.
FORM = Depends(_form)
FormPairs = Annotated[list[tuple[str, str]], FORM]
MAX_RESOURCE_BYTES = 1_000_000


async def _resource(request: Request) -> dict[str, Any]:
    """The resource in a create or update body: FHIR JSON, one object, not too large."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in ("application/fhir+json", "application/json"):
        raise FhirError(415, "not-supported", "Send the resource as application/fhir+json")
    body = await request.body()
    if len(body) > MAX_RESOURCE_BYTES:
        raise FhirError(413, "too-costly", f"A resource may be at most {MAX_RESOURCE_BYTES} bytes")
    try:
        resource = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FhirError(400, "structure", f"The body is not valid JSON: {exc}") from exc
    if not isinstance(resource, dict):
        raise FhirError(400, "structure", "The body must be one JSON object (a resource)")
    return resource


BODY = Depends(_resource)


def _written(request: Request, stored: store.Stored, status: int, warnings: list[str]) -> Response:
    """The answer to a create or update, as ``Prefer: return=`` asks: the resource
    (default), nothing, or an OperationOutcome with what could not be kept."""
    base = fhir_base(settings_of(request))
    headers = _headers(stored, base)
    headers["Location"] = headers["Content-Location"]
    prefer = request.headers.get("prefer", "").replace(" ", "")
    if "return=minimal" in prefer:
        return Response(status_code=status, headers=headers)
    if "return=OperationOutcome" in prefer:
        issues = [FhirError(status, "informational", w, severity="warning") for w in warnings]
        done = FhirError(status, "informational", "Done", severity="information")
        body = operation_outcome(*(issues or [done]))
        return Response(orjson.dumps(body), status, headers, media_type=FHIR_JSON)
    return Response(stored.content, status, headers, media_type=FHIR_JSON)


def _check_type(definition: ResourceDef, resource: dict[str, Any]) -> None:
    if resource.get("resourceType") != definition.type:
        raise FhirError(
            400,
            "invalid",
            f"resourceType is {resource.get('resourceType')!r}; this endpoint takes "
            f"{definition.type}",
            expression=["resourceType"],
        )


def _readable(request: Request, actor: Actor, resource_type: str) -> bool:
    found = definition_of(resource_type)
    role_allows = found is not None and allows(actor.role, found.read)
    return may_read(request, role_allows, resource_type)


def _search(
    request: Request,
    db: Db,
    actor: Actor,
    definition: ResourceDef,
    pairs: Sequence[tuple[str, str]],
) -> Response:
    kind = definition.type
    search = parse(kind, pairs, query.definitions(definition.params), strict=_strict(request))
    _json_only(dict(pairs).get("_format"))
    base = fhir_base(settings_of(request))
    grant = grant_of(request)
    within = grant.only_patient(kind, "read") if grant is not None else None
    if search.summary == "count":
        total = query.count(db, kind, search, PARAMS, within)
        record(db, actor, Action.READ, entity_type=kind, reason=f"FHIR search {kind} (count)")
        return _fhir_json(bundles.count_only(base, kind, search, total))
    page = query.run(db, kind, search, PARAMS, lambda t: _readable(request, actor, t), within)
    for stored in [*page.matches, *page.included]:
        _disclose(request, db, actor, stored, f"FHIR search {kind}")
    outcome = None
    if search.ignored:
        outcome = operation_outcome(
            FhirError(
                200,
                "not-supported",
                f"Ignored unknown search parameters: {', '.join(search.ignored)}",
                severity="warning",
            )
        )
    summary = definition.summary
    links = bundles.search_links(base, kind, search, page)
    return _fhir_json(bundles.searchset(base, links, search, page, summary, outcome))


def _history_entry(stored: store.Stored, base: str) -> dict[str, Any]:
    url = f"{base}/{stored.resource_type}/{stored.id}"
    entry: dict[str, Any] = {"fullUrl": url}
    if stored.deleted:
        entry["request"] = {"method": "DELETE", "url": f"{stored.resource_type}/{stored.id}"}
        entry["response"] = {"status": "410 Gone", "etag": stored.etag}
        return entry
    entry["resource"] = orjson.loads(stored.content)
    method = "POST" if stored.version_id == 1 else "PUT"
    entry["request"] = {
        "method": method,
        "url": stored.resource_type if method == "POST" else f"{stored.resource_type}/{stored.id}",
    }
    entry["response"] = {
        "status": "201 Created" if method == "POST" else "200 OK",
        "etag": stored.etag,
        "lastModified": store.instant(stored.last_updated),
    }
    return entry


def _read(
    request: Request, db: Db, actor: Actor, definition: ResourceDef, resource_id: str
) -> Response:
    kind = definition.type
    stored = _current(db, definition, resource_id)
    if stored.deleted:
        raise FhirError(410, "deleted", f"{kind}/{resource_id} was deleted")
    _disclose(request, db, actor, stored, f"FHIR read {kind}/{resource_id}")
    headers = _headers(stored, fhir_base(settings_of(request)))
    if _matches(request.headers.get("if-none-match"), stored):
        return Response(status_code=304, headers=headers)
    return _fhir_json(stored.content, headers)


def _vread(
    request: Request,
    db: Db,
    actor: Actor,
    definition: ResourceDef,
    resource_id: str,
    version_id: int,
) -> Response:
    kind = definition.type
    found = store.version(db, kind, resource_id, version_id)
    if found is None:
        _current(db, definition, resource_id)  # 404 for the resource before the version
        raise FhirError(404, "not-found", f"{kind}/{resource_id} has no version {version_id}")
    if found.deleted:
        raise FhirError(
            410, "deleted", f"Version {version_id} of {kind}/{resource_id} is a deletion"
        )
    _disclose(request, db, actor, found, f"FHIR vread {kind}/{resource_id}/_history/{version_id}")
    return _fhir_json(found.content, _headers(found, fhir_base(settings_of(request))))


def _history(
    request: Request, db: Db, actor: Actor, definition: ResourceDef, resource_id: str
) -> Response:
    kind = definition.type
    versions = store.history(db, kind, resource_id)
    if not versions:
        raise FhirError(404, "not-found", f"No {kind} with id {resource_id}")
    _disclose(request, db, actor, versions[0], f"FHIR history {kind}/{resource_id}")
    base = fhir_base(settings_of(request))
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(versions),
        "link": [{"relation": "self", "url": f"{base}/{kind}/{resource_id}/_history"}],
        "entry": [_history_entry(v, base) for v in versions],
    }
    return _fhir_json(bundle)


def _add_type_routes(definition: ResourceDef) -> None:
    # A default, not an Annotated alias: annotations are read as strings from the module, where
    # a per-type alias made here does not exist.
    reader = Depends(Require(definition.read))
    kind = definition.type

    def read(
        request: Request, db: Db, resource_id: str, _format: Format = None, actor: Actor = reader
    ) -> Response:
        _json_only(_format)
        return _read(request, db, actor, definition, resource_id)

    def vread(
        request: Request,
        db: Db,
        resource_id: str,
        version_id: int,
        _format: Format = None,
        actor: Actor = reader,
    ) -> Response:
        _json_only(_format)
        return _vread(request, db, actor, definition, resource_id, version_id)

    def history(
        request: Request, db: Db, resource_id: str, _format: Format = None, actor: Actor = reader
    ) -> Response:
        _json_only(_format)
        return _history(request, db, actor, definition, resource_id)

    def search_get(request: Request, db: Db, actor: Actor = reader) -> Response:
        return _search(request, db, actor, definition, request.query_params.multi_items())

    def search_post(
        request: Request, db: Db, actor: Actor = reader, pairs: list[tuple[str, str]] = FORM
    ) -> Response:
        return _search(request, db, actor, definition, pairs)

    if definition.write is not None:
        _add_write_routes(definition)
    read.__doc__ = f"Read a {kind} (the current version; 410 when deleted)."
    vread.__doc__ = f"Read one version of a {kind}."
    history.__doc__ = f"Every version of a {kind}, newest first."
    search_get.__doc__ = f"Search {kind} resources (a searchset Bundle, paged)."
    search_post.__doc__ = f"Search {kind} resources with the parameters in a form body."
    _add_read_routes(f"/{kind}", f" {kind}", read, vread, history, search_get, search_post)


def _add_read_routes(prefix: str, label: str, *handlers: Any) -> None:
    read, vread, history, search_get, search_post = handlers
    router.add_api_route(prefix, search_get, methods=["GET"], name=f"search{label}")
    router.add_api_route(
        f"{prefix}/_search", search_post, methods=["POST"], name=f"search{label} (POST)"
    )
    router.add_api_route(f"{prefix}/{{resource_id}}", read, methods=["GET"], name=f"read{label}")
    router.add_api_route(
        f"{prefix}/{{resource_id}}/_history", history, methods=["GET"], name=f"history{label}"
    )
    router.add_api_route(
        f"{prefix}/{{resource_id}}/_history/{{version_id}}",
        vread,
        methods=["GET"],
        name=f"vread{label}",
    )


# --- types kept as received: one set of routes for all of them -----------------------------

ReceivedReader = Annotated[Actor, Depends(Require(Permission.HISTORY_READ))]


def _received(resource_type: str) -> ResourceDef:
    found = received_def(resource_type)
    if found is None:
        raise FhirError(404, "not-supported", f"This server has no resource type '{resource_type}'")
    return found


def read_received(
    request: Request,
    db: Db,
    resource_type: str,
    resource_id: str,
    actor: ReceivedReader,
    _format: Format = None,
) -> Response:
    """Read a resource kept as received from elsewhere (any R4 type Carebridge does not
    model)."""
    _json_only(_format)
    return _read(request, db, actor, _received(resource_type), resource_id)


def vread_received(
    request: Request,
    db: Db,
    resource_type: str,
    resource_id: str,
    version_id: int,
    actor: ReceivedReader,
    _format: Format = None,
) -> Response:
    """Read one version of a resource kept as received."""
    _json_only(_format)
    return _vread(request, db, actor, _received(resource_type), resource_id, version_id)


def history_received(
    request: Request,
    db: Db,
    resource_type: str,
    resource_id: str,
    actor: ReceivedReader,
    _format: Format = None,
) -> Response:
    """Every version of a resource kept as received, newest first."""
    _json_only(_format)
    return _history(request, db, actor, _received(resource_type), resource_id)


def search_received(
    request: Request, db: Db, resource_type: str, actor: ReceivedReader
) -> Response:
    """Search resources kept as received (patient, date, code, status, references)."""
    definition = _received(resource_type)
    return _search(request, db, actor, definition, request.query_params.multi_items())


def search_received_post(
    request: Request, db: Db, resource_type: str, actor: ReceivedReader, pairs: FormPairs
) -> Response:
    """Search resources kept as received, with the parameters in a form body."""
    return _search(request, db, actor, _received(resource_type), pairs)


def _context(request: Request, db: Db, actor: Actor) -> transactions.Context:
    return transactions.Context(db, actor, grant_of(request), settings_of(request))


def _create(request: Request, db: Db, actor: Actor, resource: dict[str, Any]) -> Response:
    condition = request.headers.get("if-none-exist")
    done = transactions.create(_context(request, db, actor), resource, condition)
    assert done.stored is not None
    if done.status.startswith("200"):  # a conditional create that found its match
        _disclose(
            request, db, actor, done.stored, f"FHIR conditional create {done.stored.resource_type}"
        )
        return _written(request, done.stored, 200, [])
    return _written(request, done.stored, 201, list(done.warnings))


def _update(
    request: Request, db: Db, actor: Actor, kind: str, resource_id: str, resource: dict[str, Any]
) -> Response:
    wanted = transactions.version_of(request.headers.get("if-match"))
    done = transactions.update(_context(request, db, actor), kind, resource_id, resource, wanted)
    assert done.stored is not None
    return _written(request, done.stored, int(done.status[:3]), list(done.warnings))


def _add_write_routes(definition: ResourceDef) -> None:
    assert definition.write is not None
    writer_of = Depends(Require(definition.write))
    kind = definition.type

    def create(
        request: Request, db: Db, actor: Actor = writer_of, resource: dict[str, Any] = BODY
    ) -> Response:
        _check_type(definition, resource)
        return _create(request, db, actor, resource)

    def update(
        request: Request,
        db: Db,
        resource_id: str,
        actor: Actor = writer_of,
        resource: dict[str, Any] = BODY,
    ) -> Response:
        _check_type(definition, resource)
        return _update(request, db, actor, kind, resource_id, resource)

    create.__doc__ = f"Create a {kind} (If-None-Exist for a conditional create)."
    update.__doc__ = f"Replace a {kind} (If-Match with its version to guard against lost updates)."
    router.add_api_route(f"/{kind}", create, methods=["POST"], name=f"create {kind}")
    router.add_api_route(f"/{kind}/{{resource_id}}", update, methods=["PUT"], name=f"update {kind}")


@router.get("/Patient/{resource_id}/$everything", name="Patient $everything")
def patient_everything(
    request: Request,
    db: Db,
    resource_id: str,
    actor: Annotated[Actor, Depends(Require(Permission.HISTORY_READ))],
) -> Response:
    """Everything about one patient: the chart, its related persons, its records and those
    kept as received, and the practitioners, organizations and locations they point at;
    ``_type``, ``_since``, ``start``, ``end``, ``_count``, paged by ``next`` links."""
    pairs = dict(request.query_params.multi_items())
    _json_only(pairs.get("_format"))
    stored = _current(db, REGISTRY["Patient"], resource_id)
    if stored.deleted or stored.patient_id is None:
        raise FhirError(410, "deleted", f"Patient/{resource_id} was deleted")
    grant = grant_of(request)
    if grant is not None:
        grant.check("Patient", "read", stored.patient_id)
    wanted = _everything_query(stored.patient_id, pairs)
    page = query.everything(db, wanted, lambda t: _readable(request, actor, t))
    if grant is not None and grant.only_patient("Patient", "read") is not None:
        page = replace(page, included=[])  # outside the one patient's records
    record(
        db,
        actor,
        Action.READ,
        entity_type="Patient",
        entity_id=resource_id,
        patient_id=stored.patient_id,
        reason=f"FHIR Patient/$everything ({len(page.matches)} resources)",
    )
    base = fhir_base(settings_of(request))
    path = f"{base}/Patient/{resource_id}/$everything"
    kept = {k: v for k, v in pairs.items() if k in _EVERYTHING_PARAMS and k != "_cursor"}
    links = [{"relation": "self", "url": f"{path}?{urlencode(sorted(kept.items()))}"}]
    if page.next_cursor is not None:
        following = sorted({**kept, "_cursor": page.next_cursor}.items())
        links.append({"relation": "next", "url": f"{path}?{urlencode(following)}"})
    plain = parse("Patient", [], {}, strict=False)
    return _fhir_json(bundles.searchset(base, links, plain, page, ()))


_EVERYTHING_PARAMS = frozenset(("_type", "_since", "start", "end", "_count", "_cursor", "_format"))


def _everything_query(patient_id: uuid.UUID, pairs: dict[str, str]) -> query.Everything:
    unknown = sorted(set(pairs) - _EVERYTHING_PARAMS)
    if unknown:
        raise FhirError(400, "not-supported", f"$everything takes no {', '.join(unknown)}")
    types = tuple(t.strip() for t in pairs.get("_type", "").split(",") if t.strip())
    strange = [t for t in types if definition_of(t) is None]
    if strange:
        raise FhirError(400, "invalid", f"_type: {', '.join(strange)} is not a type served here")
    count = pairs.get("_count", "100")
    if not count.isdigit() or not 1 <= int(count) <= 1000:
        raise FhirError(400, "invalid", "_count must be a whole number from 1 to 1000")
    after = pairs.get("_cursor", "after:").removeprefix("after:")
    if after and not after.isdigit():
        raise FhirError(400, "invalid", "_cursor is not one this server gave out")

    def moment(name: str, which: int) -> datetime | None:
        text = pairs.get(name)
        return None if not text else date_range(name, text.replace(" ", "+"))[which]

    return query.Everything(
        patient_id,
        types,
        since=moment("_since", 0),
        start=moment("start", 0),
        end=moment("end", 1),
        count=int(count),
        after=int(after) if after else None,
    )


AuditReader = Annotated[Actor, Depends(Require(Permission.AUDIT_READ))]


@router.get("/AuditEvent/{resource_id}", name="read AuditEvent")
def read_audit_event(request: Request, db: Db, resource_id: str, actor: AuditReader) -> Response:
    """One entry of the audit log as an AuditEvent (privacy auditors)."""
    row = db.get(AuditEvent, int(resource_id)) if resource_id.isdigit() else None
    if row is None:
        raise FhirError(404, "not-found", f"No AuditEvent with id {resource_id}")
    record(db, actor, Action.READ, entity_type="AuditEvent", entity_id=resource_id)
    return _fhir_json(audit_events.to_fhir(row))


@router.get("/AuditEvent", name="search AuditEvent")
def search_audit_events(request: Request, db: Db, actor: AuditReader) -> Response:
    """The audit log as AuditEvents, newest first: by patient, date, action, outcome,
    agent-name, entity-type and subtype."""
    pairs = request.query_params.multi_items()
    search = parse("AuditEvent", pairs, audit_events.PARAMS, strict=_strict(request))
    after_text = (search.cursor or "after:").removeprefix("after:")
    if after_text and not after_text.isdigit():
        raise FhirError(400, "invalid", "_cursor is not one this server gave out")
    rows, more = audit_events.search(db, search, int(after_text) if after_text else None)
    record(db, actor, Action.READ, entity_type="AuditEvent", reason=f"FHIR search ({len(rows)})")
    base = fhir_base(settings_of(request))
    links = [{"relation": "self", "url": f"{base}/AuditEvent?{urlencode(canonical_query(search))}"}]
    if more and rows:
        following = canonical_query(replace(search, cursor=f"after:{rows[-1].id}"))
        links.append({"relation": "next", "url": f"{base}/AuditEvent?{urlencode(following)}"})
    entries = [
        {
            "fullUrl": f"{base}/AuditEvent/{row.id}",
            "resource": audit_events.to_fhir(row),
            "search": {"mode": "match"},
        }
        for row in rows
    ]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if entries:  # FHIR has no empty arrays
        bundle["entry"] = entries
    return _fhir_json(bundle)


@router.get("/Slot", name="search Slot")
def search_slots(
    request: Request, db: Db, actor: Annotated[Actor, Depends(Require(Permission.SCHEDULE_VIEW))]
) -> Response:
    """Free times, computed by the scheduler when asked (``service-type`` required; ``start``,
    ``schedule.actor``, ``_count``)."""
    pairs = request.query_params.multi_items()
    wanted = parse("Slot", pairs, slots.PARAMS, strict=_strict(request))
    found = slots.search(db, wanted, clinic_today(request))
    record(db, actor, Action.READ, entity_type="Slot", reason=f"FHIR Slot search ({len(found)})")
    base = fhir_base(settings_of(request))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": f"{base}/Slot?{urlencode(canonical_query(wanted))}"}],
    }
    if found:
        bundle["entry"] = [
            {"fullUrl": f"{base}/Slot/{s['id']}", "resource": s, "search": {"mode": "match"}}
            for s in found
        ]
    return _fhir_json(bundle)


for _definition in REGISTRY.values():
    _add_type_routes(_definition)
# After the mapped types: a path that names one of them is theirs.
ReceivedWriter = Annotated[Actor, Depends(Require(Permission.HISTORY_WRITE))]
# Each entry of a Bundle is checked for the permission its own write or read needs.
BundleWriter = Annotated[Actor, Depends(Require(Permission.HISTORY_READ))]


@router.post("", name="transaction or batch")
def bundle(
    request: Request,
    db: Db,
    actor: BundleWriter,
    resource: dict[str, Any] = BODY,
) -> Response:
    """A transaction (all or nothing) or batch (each entry alone) Bundle; each entry needs
    the permission its own write or read needs."""
    base = fhir_base(settings_of(request))
    answer = transactions.run_bundle(
        _context(request, db, actor), resource, base, lambda t: _readable(request, actor, t)
    )
    return _fhir_json(answer)


def create_received(
    request: Request,
    db: Db,
    resource_type: str,
    actor: ReceivedWriter,
    resource: dict[str, Any] = BODY,
) -> Response:
    """Create a resource of a type kept as received (the server gives its id)."""
    if resource.get("resourceType") != resource_type:
        raise FhirError(400, "invalid", f"resourceType must be {resource_type} at this endpoint")
    return _create(request, db, actor, resource)


def update_received(
    request: Request,
    db: Db,
    resource_type: str,
    resource_id: str,
    actor: ReceivedWriter,
    resource: dict[str, Any] = BODY,
) -> Response:
    """Replace (or create with this id) a resource of a type kept as received."""
    return _update(request, db, actor, resource_type, resource_id, resource)


def delete_received(
    request: Request, db: Db, resource_type: str, resource_id: str, actor: ReceivedWriter
) -> Response:
    """Delete a resource kept as received (its versions stay readable); Carebridge's own
    records are ended on their screens instead (405)."""
    transactions.delete(_context(request, db, actor), resource_type, resource_id)
    return Response(status_code=204)


router.add_api_route("/{resource_type}", create_received, methods=["POST"], name="create")
router.add_api_route(
    "/{resource_type}/{resource_id}", update_received, methods=["PUT"], name="update"
)
router.add_api_route(
    "/{resource_type}/{resource_id}", delete_received, methods=["DELETE"], name="delete"
)
_add_read_routes(
    "/{resource_type}",
    "",
    read_received,
    vread_received,
    history_received,
    search_received,
    search_received_post,
)
