"""SMART on FHIR scopes on API tokens: what a token may do through FHIR, on top of what its
user's role allows (a scope never grants more than the role).

Both syntaxes are read: SMART v1 (``patient/Observation.read``, ``user/*.write``,
``system/*.*``) and v2 (``patient/Observation.rs``, ``user/*.cruds``). ``patient/`` scopes
need a token bound to one patient and reach only that patient's records; ``user/`` and
``system/`` scopes reach whatever the user may. A token without scopes is not narrowed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from carebridge.fhir.errors import FhirError
from carebridge.fhir.received import RESOURCE_TYPES

Need = Literal["read", "write"]
_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\."
    r"(?P<access>read|write|\*|c?r?u?d?s?)$"
)
# The scopes that are not about resources (launch context, identity) and are passed over.
_OTHER = frozenset(("openid", "fhirUser", "profile", "offline_access", "online_access"))


@dataclass(frozen=True)
class Scope:
    context: str  # patient | user | system
    resource_type: str  # a type, or "*"
    read: bool
    write: bool


def parse(text: str) -> tuple[Scope, ...]:
    """The resource scopes of a space-separated scope string; ValueError names a bad one."""
    found = []
    for word in text.split():
        if word in _OTHER or word.startswith("launch"):
            continue
        match = _SCOPE.match(word)
        if match is None or match["access"] == "":
            raise ValueError(
                f"{word!r} is not a SMART scope (context/Type.access, as patient/*.read, "
                "user/Observation.rs or system/*.*)"
            )
        kind = match["type"]
        if kind != "*" and kind not in RESOURCE_TYPES:
            raise ValueError(f"{word!r}: {kind} is not a FHIR R4 resource type")
        access = match["access"]
        if access in ("read", "write", "*"):  # v1
            read, write = access != "write", access != "read"
        else:  # v2: c(reate) r(ead) u(pdate) d(elete) s(earch)
            read, write = "r" in access or "s" in access, any(c in access for c in "cud")
        found.append(Scope(match["context"], kind, read, write))
    return tuple(found)


@dataclass(frozen=True)
class Grant:
    """What a token's scopes allow; ``patient_id``: the patient its ``patient/`` scopes
    are about."""

    scopes: tuple[Scope, ...]
    patient_id: uuid.UUID | None

    def _matching(self, resource_type: str, need: Need) -> Iterable[Scope]:
        for scope in self.scopes:
            if scope.resource_type in ("*", resource_type) and getattr(scope, need):
                yield scope

    def only_patient(self, resource_type: str, need: Need) -> uuid.UUID | None:
        """The patient the access is limited to (its ``patient/`` scopes are all it has for
        this type), or None when a ``user``/``system`` scope reaches everything the user
        may; FhirError 403 when no scope allows it at all."""
        matching = list(self._matching(resource_type, need))
        if not matching:
            raise FhirError(
                403, "forbidden", f"The token's scopes do not allow {need} of {resource_type}"
            )
        if any(s.context in ("user", "system") for s in matching):
            return None
        if self.patient_id is None:
            raise FhirError(
                403, "forbidden", "The token has patient/ scopes but no patient it is bound to"
            )
        return self.patient_id

    def check(self, resource_type: str, need: Need, patient_id: uuid.UUID | None) -> None:
        """Refuse (403) a read or write of one resource the scopes do not reach."""
        limited = self.only_patient(resource_type, need)
        if limited is not None and patient_id != limited:
            raise FhirError(
                403,
                "forbidden",
                f"The token is limited to one patient's records; this {resource_type} is not "
                "one of them",
            )

    def allows(self, resource_type: str, need: Need) -> bool:
        return any(True for _ in self._matching(resource_type, need))


def grant_of(request: Request) -> Grant | None:
    """The scopes of the token the request came with (None: not narrowed by scopes)."""
    identity = getattr(request.state, "identity", None)
    text = getattr(identity, "token_scopes", None)
    if text is None:
        return None
    cached = getattr(request.state, "smart_grant", None)
    if isinstance(cached, Grant):
        return cached
    grant = Grant(parse(text), getattr(identity, "token_patient", None))
    request.state.smart_grant = grant
    return grant


def may_read(request: Request, role_allows: bool, resource_type: str) -> bool:
    """What an include, $everything or an export may bring of a type: the role allows it
    and so do the token's scopes."""
    grant = grant_of(request)
    return role_allows and (grant is None or grant.allows(resource_type, "read"))
