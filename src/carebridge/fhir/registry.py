"""The FHIR resource types Carebridge serves, what each one allows and what it is searched by.
The routes, the CapabilityStatement, the access checks and the search index are all made from
this one table, so what ``metadata`` says is what the server does."""

from __future__ import annotations

import pkgutil
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import import_module

from carebridge.fhir import types
from carebridge.fhir.indexing import SearchParam, received_params
from carebridge.fhir.mapping import Projection, ResourceDef
from carebridge.fhir.received import RESOURCE_TYPES
from carebridge.security.roles import Permission


def _declared() -> Iterator[Projection]:
    """The ``TYPES`` of every module in ``fhir/types``: a domain serves a type by declaring
    it there, and nothing else has to be told."""
    for module in sorted(pkgutil.iter_modules(types.__path__), key=lambda m: m.name):
        yield from import_module(f"{types.__name__}.{module.name}").TYPES


def _by_type() -> dict[str, Projection]:
    found: dict[str, Projection] = {}
    for projection in _declared():
        kind = projection.definition.type
        if kind in found:
            raise RuntimeError(f"FHIR type {kind} is declared twice in fhir/types")
        found[kind] = projection
    return found


# Served by routes of their own (AuditEvent: from the audit log; Slot: computed by the
# scheduler when searched).
SERVED_APART = frozenset(("AuditEvent", "Slot"))

# Every type served from Carebridge's own records.
PROJECTIONS: dict[str, Projection] = _by_type()
REGISTRY: dict[str, ResourceDef] = {kind: p.definition for kind, p in PROJECTIONS.items()}


@cache
def received_def(resource_type: str) -> ResourceDef | None:
    """A type Carebridge does not model, kept as received (read-only, found by patient, date,
    code, status and references); None for a mapped type or one R4 does not define."""
    if resource_type in REGISTRY or resource_type in SERVED_APART:
        return None
    if resource_type not in RESOURCE_TYPES:
        return None
    return ResourceDef(
        resource_type,
        Permission.HISTORY_READ,
        Permission.HISTORY_WRITE,
        params=received_params(resource_type),
        received=True,
    )


def definition_of(resource_type: str) -> ResourceDef | None:
    return REGISTRY.get(resource_type) or received_def(resource_type)


class _AllParams(Mapping[str, Mapping[str, SearchParam]]):
    """The search parameters of every type served, mapped or received: what chains and
    includes across types look up."""

    def __getitem__(self, resource_type: str) -> Mapping[str, SearchParam]:
        found = definition_of(resource_type)
        if found is None:
            raise KeyError(resource_type)
        return found.params

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(RESOURCE_TYPES))

    def __len__(self) -> int:
        return len(RESOURCE_TYPES)


PARAMS: Mapping[str, Mapping[str, SearchParam]] = _AllParams()
