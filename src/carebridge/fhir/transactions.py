"""FHIR writes one entry at a time, and ``transaction`` and ``batch`` Bundles made of them.

An entry is a POST (create, ``ifNoneExist`` for a conditional create), PUT (update,
``ifMatch``), DELETE or GET (read or search). Types kept from Carebridge's own records are
written through their domain's writer (``writes.WRITERS``: the screens' validation and
audit); everything else is kept as received, as an import keeps them, with server-assigned
ids: resources of types Carebridge does not model, of its types that have no writer (a lab's
Observation, a payer's Claim), and resources that were themselves received (a hospital's
Condition is corrected as it was sent). A rendering of Carebridge's own records is changed
only through its writer, or on its screen (405).

In a transaction, ``urn:uuid`` references between entries are resolved to the ids the
entries get (an entry is applied once everything it points at has been), and the whole
Bundle is one database transaction: the first entry that fails undoes them all and its
error names it. In a batch each entry stands alone, in a savepoint, with its own outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy.orm import Session

from carebridge.fhir import projection, query, store
from carebridge.fhir.errors import FhirError
from carebridge.fhir.imports import kept_index
from carebridge.fhir.indexing import rewrite_references
from carebridge.fhir.mapping import ResourceDef
from carebridge.fhir.outcome import operation_outcome
from carebridge.fhir.received import validate_shape
from carebridge.fhir.registry import PARAMS, definition_of
from carebridge.fhir.scopes import Grant
from carebridge.fhir.search import parse
from carebridge.fhir.writes import WRITERS, record_id
from carebridge.lib.errors import AppError
from carebridge.security.audit import Action, Actor, record
from carebridge.security.roles import Permission, allows
from carebridge.settings import Settings

MAX_ENTRIES = 1000
_METHODS = ("DELETE", "POST", "PUT", "GET")  # the order a transaction applies them in


@dataclass
class Context:
    """Who writes, what their token allows, and the ids the entries so far became."""

    db: Session
    actor: Actor
    grant: Grant | None
    settings: Settings
    resolved: dict[str, str] = field(default_factory=dict)  # fullUrl -> Type/id


@dataclass(frozen=True)
class Done:
    status: str  # "201 Created"
    stored: store.Stored | None = None
    warnings: tuple[str, ...] = ()
    body: dict[str, Any] | None = None  # a GET's answer (a Bundle for a search)


def _definition(kind: str) -> ResourceDef:
    found = definition_of(kind)
    if found is None:
        raise FhirError(404, "not-supported", f"This server has no resource type '{kind}'")
    return found


def _may_write(ctx: Context, definition: ResourceDef, *, own: bool) -> None:
    """``own``: the write goes to Carebridge's own records, with its writer's permission;
    otherwise the resource is kept as received, with the permission received records are
    written with, whatever the type."""
    needed = definition.write if own else Permission.HISTORY_WRITE
    if needed is None:
        raise RuntimeError(f"{definition.type} has a writer but no write permission")
    if not allows(ctx.actor.role, needed):
        raise FhirError(
            403, "forbidden", f"Your role ({ctx.actor.role}) may not write {definition.type}"
        )


def _own_record(kind: str, resource_id: str) -> FhirError:
    return FhirError(
        405,
        "not-supported",
        f"{kind}/{resource_id} is kept from Carebridge's own records: change it on its screen "
        "or through its JSON API",
    )


def _writes_own(ctx: Context, kind: str, current: store.Stored | None) -> bool:
    """Whether a write goes through the type's writer (to Carebridge's own records) rather
    than being kept as received: a type with a writer, unless the resource there was itself
    received (a hospital's Condition is corrected as the hospital sent it). A rendering of
    our own records that has no writer cannot be written at all."""
    origin = store.origin_of(ctx.db, current.pk) if current is not None else None
    if origin == "mapped" and kind not in WRITERS:
        assert current is not None
        raise _own_record(kind, current.id)
    return kind in WRITERS and origin != "received"


def _checked(ctx: Context, stored: store.Stored, need: str) -> store.Stored:
    if ctx.grant is not None:
        ctx.grant.check(
            stored.resource_type, "write" if need == "write" else "read", stored.patient_id
        )
    return stored


def _resolver(ctx: Context) -> Callable[[str], str]:
    def resolve(reference: str) -> str:
        if reference in ctx.resolved:
            return ctx.resolved[reference]
        if reference.startswith("urn:uuid:"):
            raise FhirError(
                422, "not-found", f"{reference} is not the fullUrl of an entry of this Bundle"
            )
        return reference

    return resolve


def _matches(
    ctx: Context, kind: str, condition: str, definition: ResourceDef
) -> list[store.Stored]:
    pairs = parse_qsl(condition.removeprefix(f"{kind}?"), keep_blank_values=True)
    wanted = parse(kind, pairs, query.definitions(definition.params), strict=True)
    return query.run(ctx.db, kind, replace(wanted, count=2), PARAMS, lambda _t: False).matches


def _audit_received(ctx: Context, stored: store.Stored, action: Action) -> None:
    record(
        ctx.db,
        ctx.actor,
        action,
        entity_type=stored.resource_type,
        entity_id=stored.id,
        patient_id=stored.patient_id,
        reason="FHIR write of a record kept as received",
    )


def create(ctx: Context, resource: dict[str, Any], if_none_exist: str | None = None) -> Done:
    """POST: a new resource (200 with the match instead, for a conditional create that
    finds one)."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        raise FhirError(400, "structure", "The resource has no resourceType")
    definition = _definition(kind)
    own = kind in WRITERS
    _may_write(ctx, definition, own=own)
    if if_none_exist:
        found = _matches(ctx, kind, if_none_exist, definition)
        if len(found) > 1:
            raise FhirError(412, "duplicate", f"If-None-Exist {if_none_exist} matches several")
        if found:
            return Done("200 OK", _checked(ctx, found[0], "read"))
    resource = rewrite_references(resource, _resolver(ctx))
    if own:
        made, warnings = WRITERS[kind].create(ctx.db, ctx.actor, resource, ctx.settings)
        projection.render_pending(ctx.db)
        stored = store.read(ctx.db, kind, str(made))
        if stored is None:  # the projection writes it in this transaction
            raise RuntimeError(f"{kind}/{made} was written but not rendered")
        return Done("201 Created", _checked(ctx, stored, "write"), tuple(warnings))
    resource = {**resource, "id": str(uuid.uuid4())}  # ids are ours to give on create
    validate_shape(resource)
    stored, _changed = store.put(
        ctx.db, resource, origin="received", index=kept_index(ctx.db, resource)
    )
    _audit_received(ctx, _checked(ctx, stored, "write"), Action.CREATE)
    return Done("201 Created", stored)


def update(
    ctx: Context, kind: str, resource_id: str, resource: dict[str, Any], if_match: int | None
) -> Done:
    """PUT: the whole resource; a received one may be created with the client's id."""
    definition = _definition(kind)
    if resource.get("resourceType") != kind:
        raise FhirError(400, "invalid", f"resourceType must be {kind} at {kind}/{resource_id}")
    if resource.get("id") != resource_id:
        raise FhirError(
            400,
            "invalid",
            f"The resource's id ({resource.get('id')!r}) must be the one in the URL "
            f"({resource_id})",
        )
    current = store.read(ctx.db, kind, resource_id)
    own = _writes_own(ctx, kind, current)
    _may_write(ctx, definition, own=own)
    if current is not None and if_match is not None and if_match != current.version_id:
        raise FhirError(
            412,
            "conflict",
            f"{kind}/{resource_id} is at version {current.version_id}, not {if_match}",
        )
    resource = rewrite_references(resource, _resolver(ctx))
    if own:
        if current is None:
            raise FhirError(404, "not-found", f"No {kind}/{resource_id} (create it with POST)")
        warnings = WRITERS[kind].update(
            ctx.db, ctx.actor, record_id(kind, resource_id), resource, ctx.settings
        )
        projection.render_pending(ctx.db)
        stored = store.read(ctx.db, kind, resource_id)
        if stored is None:
            raise RuntimeError(f"{kind}/{resource_id} lost its rendering")
        return Done("200 OK", _checked(ctx, stored, "write"), tuple(warnings))
    if current is not None and current.patient_id is not None and ctx.grant is not None:
        ctx.grant.check(kind, "write", current.patient_id)
    validate_shape(resource)
    stored, _changed = store.put(
        ctx.db, resource, origin="received", index=kept_index(ctx.db, resource)
    )
    _audit_received(
        ctx, _checked(ctx, stored, "write"), Action.UPDATE if current else Action.CREATE
    )
    return Done("200 OK" if current else "201 Created", stored)


def delete(ctx: Context, kind: str, resource_id: str) -> Done:
    """DELETE of a received resource (its history stays readable)."""
    definition = _definition(kind)
    current = store.read(ctx.db, kind, resource_id)
    if current is not None and store.origin_of(ctx.db, current.pk) == "mapped":
        raise FhirError(
            405,
            "not-supported",
            f"{kind}/{resource_id} is one of Carebridge's own records: end or cancel it on "
            "its screen",
        )
    _may_write(ctx, definition, own=False)
    if current is None or current.deleted:
        return Done("204 No Content")
    _checked(ctx, current, "write")
    stored = store.delete(ctx.db, kind, resource_id)
    if stored is not None:
        _audit_received(ctx, stored, Action.DELETE)
    return Done("204 No Content", stored)


# --- Bundles -----------------------------------------------------------------------------


def _request(entry: Any, position: int) -> tuple[str, str, Mapping[str, Any]]:
    where = f"Bundle.entry[{position}]"
    if not isinstance(entry, dict):
        raise FhirError(400, "structure", f"{where} must be an object")
    request = entry.get("request")
    if not isinstance(request, dict):
        raise FhirError(400, "required", f"{where}.request is required in a transaction or batch")
    method, url = request.get("method"), request.get("url")
    if method not in _METHODS:
        raise FhirError(
            400, "not-supported", f"{where}.request.method {method!r}: use {', '.join(_METHODS)}"
        )
    if not isinstance(url, str) or not url:
        raise FhirError(400, "required", f"{where}.request.url is required")
    return method, url.lstrip("/"), request


def version_of(text: Any) -> int | None:
    """The version an If-Match (or ``request.ifMatch``) names: ``W/\"3\"`` or a bare 3."""
    if not isinstance(text, str) or not text:
        return None
    bare = text.strip().removeprefix("W/").strip('"')
    if not bare.isdigit():
        raise FhirError(400, "invalid", f'If-Match (ifMatch) must name a version, as W/"3": {text}')
    return int(bare)


def _get(ctx: Context, url: str, readable: Callable[[str], bool]) -> Done:
    path, _, condition = url.partition("?")
    kind, _, rest = path.partition("/")
    definition = _definition(kind)
    if not allows(ctx.actor.role, definition.read):
        raise FhirError(403, "forbidden", f"Your role ({ctx.actor.role}) may not read {kind}")
    if rest:
        stored = store.read(ctx.db, kind, rest)
        if stored is None or stored.deleted:
            raise FhirError(404, "not-found", f"No {kind}/{rest}")
        _checked(ctx, stored, "read")
        return Done("200 OK", stored)
    wanted = parse(
        kind,
        parse_qsl(condition, keep_blank_values=True),
        query.definitions(definition.params),
        strict=False,
    )
    within = ctx.grant.only_patient(kind, "read") if ctx.grant is not None else None
    page = query.run(ctx.db, kind, wanted, PARAMS, readable, within)
    body: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if page.matches:  # FHIR has no empty arrays
        body["entry"] = [
            {"resource": orjson.loads(s.content), "search": {"mode": "match"}} for s in page.matches
        ]
    if page.total is not None:
        body["total"] = page.total
    return Done("200 OK", body=body)


def _apply(
    ctx: Context,
    entry: Mapping[str, Any],
    method: str,
    url: str,
    request: Mapping[str, Any],
    readable: Callable[[str], bool],
) -> Done:
    resource = entry.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise FhirError(400, "required", f"A {method} entry needs a resource")
    if method == "POST":
        assert isinstance(resource, dict)
        condition = request.get("ifNoneExist")
        return create(ctx, resource, condition if isinstance(condition, str) else None)
    kind, _, resource_id = url.partition("?")[0].partition("/")
    if method == "GET":
        return _get(ctx, url, readable)
    if not resource_id or "/" in resource_id:
        raise FhirError(400, "invalid", f"{method} {url}: the url must be Type/id")
    if method == "PUT":
        assert isinstance(resource, dict)
        return update(ctx, kind, resource_id, resource, version_of(request.get("ifMatch")))
    return delete(ctx, kind, resource_id)


def _response(done: Done, base: str) -> dict[str, Any]:
    response: dict[str, Any] = {"status": done.status}
    if done.stored is not None:
        s = done.stored
        response["location"] = f"{base}/{s.resource_type}/{s.id}/_history/{s.version_id}"
        response["etag"] = s.etag
        response["lastModified"] = store.instant(s.last_updated)
    if done.warnings:
        response["outcome"] = operation_outcome(
            *(FhirError(200, "informational", w, severity="warning") for w in done.warnings)
        )
    entry: dict[str, Any] = {"response": response}
    if done.body is not None:
        entry["resource"] = done.body
    elif done.stored is not None and not done.stored.deleted:
        entry["resource"] = orjson.loads(done.stored.content)
        entry["fullUrl"] = f"{base}/{done.stored.resource_type}/{done.stored.id}"
    return entry


def _dependencies(entry: Mapping[str, Any], pending: set[str]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "reference" and value in pending:
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(entry.get("resource"))
    return found


def _order(entries: list[Any]) -> list[int]:
    """The positions in the order a transaction applies them: by method (DELETE, POST, PUT,
    GET), a POST after the POSTs whose fullUrl it points at."""
    requests = [_request(e, i) for i, e in enumerate(entries)]
    order = [i for i, (m, _u, _r) in enumerate(requests) if m == "DELETE"]
    posts = [i for i, (m, _u, _r) in enumerate(requests) if m == "POST"]
    urls = {
        entries[i].get("fullUrl"): i for i in posts if isinstance(entries[i].get("fullUrl"), str)
    }
    waiting = {i: _dependencies(entries[i], set(urls)) - {entries[i].get("fullUrl")} for i in posts}
    done: set[str] = set()
    while waiting:
        ready = [i for i, needs in waiting.items() if needs <= done]
        if not ready:
            circle = ", ".join(f"entry[{i}]" for i in sorted(waiting))
            raise FhirError(
                400, "invalid", f"The POST entries point at each other in a circle: {circle}"
            )
        for i in ready:
            order.append(i)
            done.add(entries[i].get("fullUrl"))
            del waiting[i]
    order += [i for i, (m, _u, _r) in enumerate(requests) if m == "PUT"]
    order += [i for i, (m, _u, _r) in enumerate(requests) if m == "GET"]
    return order


def run_bundle(
    ctx: Context, bundle: Any, base: str, readable: Callable[[str], bool]
) -> dict[str, Any]:
    """Apply a transaction or batch Bundle; the response Bundle. A transaction raises the
    first entry's error (the caller rolls everything back)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError(400, "invalid", "POST to the base takes a Bundle")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise FhirError(400, "invalid", f"Bundle.type must be transaction or batch, not {kind!r}")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(400, "structure", "Bundle.entry must be an array")
    if len(entries) > MAX_ENTRIES:
        raise FhirError(413, "too-costly", f"At most {MAX_ENTRIES} entries in one Bundle")
    answers: list[dict[str, Any] | None] = [None] * len(entries)
    if kind == "transaction":
        for position in _order(entries):
            method, url, request = _request(entries[position], position)
            try:
                done = _apply(ctx, entries[position], method, url, request, readable)
            except AppError as exc:
                raise FhirError(
                    exc.status, "invalid", f"Bundle.entry[{position}]: {exc.detail}"
                ) from exc
            except FhirError as exc:
                raise FhirError(
                    exc.status,
                    exc.code,
                    f"Bundle.entry[{position}]: {exc.diagnostics}",
                    exc.expression,
                ) from exc
            full_url = entries[position].get("fullUrl")
            if method == "POST" and done.stored is not None and isinstance(full_url, str):
                ctx.resolved[full_url] = f"{done.stored.resource_type}/{done.stored.id}"
            answers[position] = _response(done, base)
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": answers}
    for position, entry in enumerate(entries):
        savepoint = ctx.db.begin_nested()
        try:
            method, url, request = _request(entry, position)
            done = _apply(ctx, entry, method, url, request, readable)
            savepoint.commit()
            answers[position] = _response(done, base)
        except (FhirError, AppError) as exc:
            savepoint.rollback()
            status = exc.status
            words = exc.diagnostics if isinstance(exc, FhirError) else exc.detail
            code = exc.code if isinstance(exc, FhirError) else "invalid"
            answers[position] = {
                "response": {
                    "status": str(status),
                    "outcome": operation_outcome(FhirError(status, code, words)),
                }
            }
    return {"resourceType": "Bundle", "type": "batch-response", "entry": answers}
