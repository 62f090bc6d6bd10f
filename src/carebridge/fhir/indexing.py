"""What a resource is found by: the values of its search parameters, read from its JSON.

Each served type declares its search parameters with the paths R4 gives them (``SearchParam``);
``extract`` reads the values into rows of ``fhir_tokens``, ``fhir_strings`` and
``fhir_references``, and the one date parameter of a type into the resource row's date range.
The store writes them with every version, so a search sees what a read returns.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from carebridge.fhir.received import (
    CODE_PARAMS,
    EXTRA_TOKEN_PATHS,
    codings,
    date_of,
    values_at,
)
from carebridge.fhir.received import index as received_index
from carebridge.fhir.search import ParamDef, ParamType
from carebridge.fhir.store import Index

MAX_TEXT = 255
MAX_WORDS = 8


@dataclass(frozen=True)
class SearchParam:
    """A search parameter and where its values are. ``only``: for telecom parameters, the
    ContactPoint.system they keep (``phone=`` finds phone numbers, not email addresses)."""

    name: str
    type: ParamType
    paths: tuple[str, ...]
    targets: tuple[str, ...] = ()
    only: str | None = None

    @property
    def definition(self) -> ParamDef:
        return ParamDef(self.name, self.type, self.targets)


_SPACES = re.compile(r"\s+")
_REFERENCE = re.compile(
    r"^(?:.*/)?(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)


def fold(text: str) -> str:
    """A string as a search compares it: accents, case and repeated spaces do not count."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare.casefold()).strip()[:MAX_TEXT]


def reference_target(text: str) -> tuple[str, str] | None:
    """(type, id) a reference points at: ``Type/id``, its ``_history`` form, or an absolute
    URL ending in them. None for what is not (a ``urn:uuid``, a ``#`` local reference)."""
    match = _REFERENCE.match(text)
    return None if match is None else (match["type"], match["id"])


def rewrite_references(node: Any, resolve: Callable[[str], str]) -> Any:
    """A copy of ``node`` (a resource or part of one) with every ``reference`` replaced by
    what ``resolve`` makes of it: an import or a transaction pointing them at the ids things
    have here."""
    if isinstance(node, dict):
        return {
            k: resolve(v)
            if k == "reference" and isinstance(v, str)
            else rewrite_references(v, resolve)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [rewrite_references(item, resolve) for item in node]
    return node


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):  # HumanName and Address: every part is searched
        for key in ("text", "family", "city", "district", "state", "postalCode", "country"):
            if isinstance(value.get(key), str):
                yield value[key]
        for key in ("given", "prefix", "suffix", "line"):
            parts = value.get(key)
            if isinstance(parts, list):
                yield from (p for p in parts if isinstance(p, str))


def _word_starts(folded: str) -> Iterator[str]:
    """The string from each of its first words on: "luis ortega" is found by "ortega" too, as
    a coordinator who knows only the surname expects of a name kept as one text."""
    yield folded
    rest = folded
    for _ in range(MAX_WORDS - 1):
        _, space, rest = rest.partition(" ")
        if not space:
            return
        yield rest


def _phone_forms(value: str) -> Iterator[str]:
    """A phone number as kept (E.164), its digits, and for a NANP number the ten digits
    dialled at home: a search by any of them finds it."""
    yield value
    digits = "".join(c for c in value if c.isdigit())
    if digits and digits != value:
        yield digits
    if value.startswith("+1") and len(digits) == 11:
        yield digits[1:]


def _tokens(value: Any, only: str | None) -> Iterator[tuple[str | None, str]]:
    if isinstance(value, bool):
        yield None, "true" if value else "false"
    elif isinstance(value, str):
        yield None, value
    elif isinstance(value, dict):
        if "value" in value and isinstance(value["value"], str):  # Identifier or ContactPoint
            system = value.get("system")
            if only is not None and system != only:
                return
            kept = system if isinstance(system, str) else None
            forms = _phone_forms(value["value"]) if system == "phone" else (value["value"],)
            for form in forms:
                yield kept, form
        else:
            yield from codings(value)


def extract(
    resource: Mapping[str, Any], params: Mapping[str, SearchParam], base: Index | None = None
) -> Index:
    """``base`` (patient, status...) with the search values of ``resource`` for ``params``
    (its type's parameters)."""
    tokens: list[tuple[str, str | None, str]] = []
    strings: list[tuple[str, str, str]] = []
    references: list[tuple[str, str, str]] = []
    base = base or Index()
    date_start, date_end = base.date_start, base.date_end
    for param in params.values():
        if param.type == "date":  # one per type, kept on the resource row
            date_start, date_end = date_of(str(resource.get("resourceType")), resource, param.paths)
            continue
        for path in param.paths:
            for _key, value in values_at(resource, path):
                if param.type == "token":
                    for system, code in _tokens(value, param.only):
                        tokens.append((param.name, system, code[:MAX_TEXT]))
                elif param.type == "string":
                    for text in _strings(value):
                        for start in _word_starts(fold(text)) if text.strip() else ():
                            strings.append((param.name, start, text[:MAX_TEXT]))
                elif param.type == "reference":
                    ref = value.get("reference") if isinstance(value, dict) else None
                    target = reference_target(ref) if isinstance(ref, str) else None
                    if target is not None and (not param.targets or target[0] in param.targets):
                        references.append((param.name, *target))
    return replace(
        base,
        date_start=date_start,
        date_end=date_end,
        tokens=tuple(dict.fromkeys(tokens)),
        strings=tuple(dict.fromkeys(strings)),
        references=tuple(dict.fromkeys(references)),
    )


# --- resources kept as received ----------------------------------------------------------

# The reference parameters a received resource is searched by (and included through): R4 names
# them after the element, in kebab case (serviceProvider is service-provider).
RECEIVED_REFERENCES = (
    "patient",
    "subject",
    "encounter",
    "performer",
    "requester",
    "recorder",
    "asserter",
    "author",
    "provider",
    "insurer",
    "organization",
    "service-provider",
    "based-on",
    "part-of",
    "result",
    "location",
    "context",
)
_KEBAB = re.compile(r"(?<!^)(?=[A-Z])")
# Those that always point at one type, so a bare id can be searched (patient=123).
_ONE_TARGET = {"patient": ("Patient",), "encounter": ("Encounter",)}


def received_params(resource_type: str) -> dict[str, SearchParam]:
    """The search parameters of a type kept as received: its patient, clinical date, main
    code, category, type, identifier, status and the references above. Their values come from
    ``received.index``, so no paths are needed here."""
    tokens = {CODE_PARAMS.get(resource_type, "code"), "category", "type", "identifier", "status"}
    tokens |= {name for name, _path in EXTRA_TOKEN_PATHS.get(resource_type, ())}
    params = [SearchParam(name, "token", ()) for name in sorted(tokens)]
    params.append(SearchParam("date", "date", ()))
    params += [
        SearchParam(name, "reference", (), _ONE_TARGET.get(name, ()))
        for name in RECEIVED_REFERENCES
    ]
    return {p.name: p for p in params}


def extract_received(resource: Mapping[str, Any], patient_id: uuid.UUID | None) -> Index:
    """The index of a received resource (its references already rewritten to ours)."""
    found = received_index(resource)
    tokens = [(param, system, code[:MAX_TEXT]) for param, system, code in found.tokens]
    if found.status is not None:
        tokens.append(("status", None, found.status[:MAX_TEXT]))
    references = []
    for path, text in found.references:
        target = reference_target(text)
        if target is None or path.startswith("contained"):
            continue
        element = path.rpartition(".")[2]
        references.append((_KEBAB.sub("-", element).lower(), *target))
    if found.patient is not None:
        references.append(("patient", "Patient", found.patient))
    return Index(
        patient_id=patient_id,
        date_start=found.date_start,
        date_end=found.date_end,
        code_system=found.code_system[:255] if found.code_system else None,
        code=found.code[:64] if found.code else None,
        status=found.status[:32] if found.status else None,
        tokens=tuple(dict.fromkeys(tokens)),
        references=tuple(dict.fromkeys(references)),
    )
