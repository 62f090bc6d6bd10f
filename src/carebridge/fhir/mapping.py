"""What a FHIR type served from Carebridge's own records declares: its ``ResourceDef`` (access,
profile, search parameters) and its ``Projection`` (how its resources are rendered from the
records, and which record changes touch them). Each domain declares its types in
``fhir/types/<domain>.py``; ``registry`` collects them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from carebridge.fhir.indexing import SearchParam
from carebridge.fhir.store import Index
from carebridge.security.roles import Permission

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"

Rendered = Iterable[tuple[dict[str, Any], Index]]


@dataclass(frozen=True)
class ResourceDef:
    """``read``: the permission to read or search it; ``write``: to create or update it
    through its writer (None: no writer, and what is sent is kept as received);
    ``profile``: the profile its resources claim; ``params``: its search parameters (``_id``
    and ``_lastUpdated`` come with every type); ``summary``: the elements ``_summary=true``
    keeps."""

    type: str
    read: Permission
    write: Permission | None = None
    profile: str | None = None
    params: Mapping[str, SearchParam] = field(default_factory=dict)
    summary: tuple[str, ...] = ()
    received: bool = False  # kept as received: deleted through FHIR, not on a screen

    @property
    def interactions(self) -> tuple[str, ...]:
        """Every type takes writes: through its writer into Carebridge's own records, or kept
        as received (``transactions``); a delete ends only a resource kept as received."""
        reads = ("read", "vread", "history-instance", "search-type")
        return (*reads, "create", "update", "delete")


@dataclass(frozen=True)
class Projection:
    """How one type follows the records it is made from.

    ``render``: the resources (and their index) of the records with these ids, each resource's
    id being its record's id; ``feeds``: the ids of this type's resources a new or changed
    ORM object is part of (a phone number is part of its Patient); ``every``: the id column of
    every record of the type, for a reindex.
    """

    definition: ResourceDef
    render: Callable[[Session, list[uuid.UUID]], Rendered]
    feeds: Callable[[object], Iterable[uuid.UUID]]
    every: Any


def params(*found: SearchParam) -> dict[str, SearchParam]:
    return {p.name: p for p in found}
