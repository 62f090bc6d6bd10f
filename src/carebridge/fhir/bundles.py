"""Search results as a ``searchset`` Bundle, and resources cut down by ``_summary`` or
``_elements`` (marked SUBSETTED, as R4 asks, so no one stores them as the whole record)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import orjson

from carebridge.fhir import store
from carebridge.fhir.query import Page
from carebridge.fhir.search import Search, canonical_query

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "Resource encoded in summary mode",
}
_ALWAYS = ("resourceType", "id", "meta")


def _subsetted(resource: dict[str, Any], keep: Sequence[str]) -> dict[str, Any]:
    kept = {k: v for k, v in resource.items() if k in _ALWAYS or k in keep}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def _elements(resource: dict[str, Any], names: Sequence[str]) -> list[str]:
    """Element names as asked (``effective[x]`` keeps every ``effective*``)."""
    keep = []
    for name in names:
        if name.endswith("[x]"):
            stem = name[:-3]
            keep += [
                k for k in resource if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()
            ]
        else:
            keep.append(name)
    return keep


def shaped(content: bytes, search: Search, summary: Sequence[str]) -> dict[str, Any] | bytes:
    """The resource as the search asks for it: the stored bytes when whole, else a dict.
    ``summary``: the elements ``_summary=true`` keeps for its type (none known: all but the
    narrative)."""
    if search.elements:
        resource = orjson.loads(content)
        return _subsetted(resource, _elements(resource, search.elements))
    if search.summary in (None, "false"):
        return content
    resource = orjson.loads(content)
    if search.summary == "text":
        return _subsetted(resource, ("text",))
    if search.summary == "data" or not summary:
        return _subsetted(resource, [k for k in resource if k != "text"])
    return _subsetted(resource, summary)


def _link(base: str, kind: str, search: Search, cursor: str | None = None) -> str:
    pairs = canonical_query(search if cursor is None else replace(search, cursor=cursor))
    return f"{base}/{kind}?{urlencode(pairs)}"


def _entry(base: str, stored: store.Stored, resource: dict[str, Any] | bytes, mode: str) -> bytes:
    body = resource if isinstance(resource, bytes) else orjson.dumps(resource)
    head = orjson.dumps({"fullUrl": f"{base}/{stored.resource_type}/{stored.id}"})[:-1]
    return head + b',"resource":' + body + b',"search":{"mode":"' + mode.encode() + b'"}}'


def search_links(base: str, kind: str, search: Search, page: Page) -> list[dict[str, str]]:
    """``self`` and, when there is more, ``next``: the search again with the cursor."""
    links = [{"relation": "self", "url": _link(base, kind, search)}]
    if page.next_cursor is not None:
        links.append({"relation": "next", "url": _link(base, kind, search, page.next_cursor)})
    return links


def searchset(
    base: str,
    links: list[dict[str, str]],
    search: Search,
    page: Page,
    summary: Sequence[str],
    outcome: dict[str, Any] | None = None,
) -> bytes:
    """The Bundle as bytes: stored resources are spliced in as they are, not parsed and
    dumped again. ``outcome``: an OperationOutcome about the search (ignored parameters)."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links
    entries = [_entry(base, s, shaped(s.content, search, summary), "match") for s in page.matches]
    entries += [_entry(base, s, s.content, "include") for s in page.included]
    if outcome is not None:
        entries.append(orjson.dumps({"resource": outcome, "search": {"mode": "outcome"}}))
    head = orjson.dumps(bundle)
    if not entries:
        return head
    return head[:-1] + b',"entry":[' + b",".join(entries) + b"]}"


def count_only(base: str, kind: str, search: Search, total: int) -> dict[str, Any]:
    """``_summary=count``: how many, no entries."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": _link(base, kind, search)}],
    }
