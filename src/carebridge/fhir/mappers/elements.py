"""What reading and writing FHIR elements takes in every mapper.

Writing: ``prune`` drops what has no value (FHIR forbids empty elements), ``coding_of`` makes a
Coding. Reading: getters that check an element's shape and name its path when it is wrong
(``text_at(node, "family", "Patient.name[0].family")``), ``codings_in`` a CodeableConcept's
codings, ``full_date_at`` a calendar date, and ``Reading``: the values read for a screen's
input schema, the FHIR path each came from, and the warnings for what could not be kept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from carebridge.fhir.errors import FhirError

# Elements about the resource itself, not facts it states.
META_KEYS = frozenset({"resourceType", "id", "meta", "text", "implicitRules", "language"})

M = TypeVar("M", bound=BaseModel)

FULL_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")

# --- writing ------------------------------------------------------------------------------


def prune(value: Any) -> Any:
    """Drop None, empty strings, lists and objects at every depth (FHIR forbids them)."""
    if isinstance(value, dict):
        kept = {key: prune(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        items = [prune(item) for item in value]
        return [item for item in items if item not in (None, "", [], {})]
    return value


def coding_of(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"system": system, "code": code, "display": display}


# --- reading: structure ------------------------------------------------------------------


def structure_error(path: str, expected: str) -> FhirError:
    return FhirError(400, "structure", f"{path} must be {expected}", expression=[path])


def items_at(node: Mapping[str, Any], key: str, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The objects of an array element, each with its FHIR path."""
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise structure_error(f"{path}.{key}", "an array")
    found = []
    for index, item in enumerate(value):
        where = f"{path}.{key}[{index}]"
        if not isinstance(item, Mapping):
            raise structure_error(where, "an object")
        found.append((where, item))
    return found


def strings_at(node: Mapping[str, Any], key: str, path: str) -> list[str]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise structure_error(f"{path}.{key}", "an array of strings")
    return [v.strip() for v in value if v.strip()]


def text_at(node: Mapping[str, Any], key: str, path: str) -> str | None:
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise structure_error(f"{path}.{key}", "a string")
    return value.strip() or None


def object_at(node: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise structure_error(f"{path}.{key}", "an object")
    return value


def boolean_at(node: Mapping[str, Any], key: str, path: str) -> bool | None:
    value = node.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise structure_error(f"{path}.{key}", "true or false")


def codings_in(concept: Mapping[str, Any] | None, path: str) -> list[tuple[str, str]]:
    """(system, code) of each coding of a CodeableConcept."""
    if concept is None:
        return []
    found = []
    for where, coding in items_at(concept, "coding", path):
        code = text_at(coding, "code", where)
        if code:
            found.append((text_at(coding, "system", where) or "", code))
    return found


class Reading:
    """Values gathered for a schema, the FHIR path each came from, and what was dropped."""

    def __init__(self, resource_type: str, resource: Mapping[str, Any]) -> None:
        found = resource.get("resourceType")
        if found != resource_type:
            raise FhirError(
                400,
                "invalid",
                f"{resource_type}.resourceType: expected {resource_type}, got {found!r}",
                expression=[f"{resource_type}.resourceType"],
            )
        if resource.get("modifierExtension"):
            # A modifier changes the meaning of the rest; keeping the rest would mislead.
            raise FhirError(
                422,
                "not-supported",
                f"{resource_type}.modifierExtension is not understood by Carebridge",
                expression=[f"{resource_type}.modifierExtension"],
            )
        self.root = resource_type
        self.values: dict[str, Any] = {}
        self.paths: dict[str, str] = {}
        self.item_paths: dict[str, list[str]] = {}
        self.warnings: list[str] = []

    def put(self, field: str, value: Any, path: str) -> None:
        self.values[field] = value
        self.paths[field] = path

    def append(self, field: str, value: Any, path: str) -> None:
        self.values.setdefault(field, []).append(value)
        self.item_paths.setdefault(field, []).append(path)

    def warn(self, path: str, why: str) -> None:
        self.warnings.append(f"{path}: {why}")

    def leftovers(self, node: Mapping[str, Any], path: str, used: set[str]) -> None:
        """Name every element of ``node`` that was not read (element ids carry no data)."""
        for key, value in node.items():
            if key in used or key == "id" or value in (None, "", [], {}):
                continue
            if key == "extension" and isinstance(value, list):
                for index, ext in enumerate(value):
                    url = ext.get("url") if isinstance(ext, Mapping) else None
                    self.warn(f"{path}.extension[{index}]", f"extension {url} not kept")
            else:
                self.warn(f"{path}.{key}", "not kept in the chart")

    def path_of(self, loc: tuple[int | str, ...]) -> str:
        if not loc:
            return self.root
        field = str(loc[0])
        if len(loc) > 1 and isinstance(loc[1], int) and field in self.item_paths:
            items = self.item_paths[field]
            if loc[1] < len(items):
                return items[loc[1]]
        return self.paths.get(field, f"{self.root}.{field}")

    def drop(self, loc: tuple[int | str, ...]) -> None:
        field = str(loc[0])
        if len(loc) > 1 and isinstance(loc[1], int) and field in self.item_paths:
            del self.values[field][loc[1]]
            del self.item_paths[field][loc[1]]
        else:
            self.values.pop(field, None)

    def validate(self, model: type[M], required: frozenset[str]) -> M:
        """Build ``model``; an optional value it refuses is dropped with a warning and the
        build retried; a required one (or a rule across fields) is a 422 naming its path."""
        while True:
            try:
                return model.model_validate(self.values)
            except ValidationError as exc:
                errors = exc.errors()
            fatal: list[tuple[str, str, bool]] = []
            drops: set[tuple[int | str, ...]] = set()
            for error in errors:
                loc = tuple(error["loc"])
                path = self.path_of(loc)
                message = str(error["msg"]).removeprefix("Value error, ")
                if not loc or str(loc[0]) in required:
                    fatal.append((path, message, error["type"] == "missing"))
                else:
                    # One drop per list item or field, however many errors it has.
                    is_item = len(loc) > 1 and isinstance(loc[1], int)
                    drops.add(loc[:2] if is_item else loc[:1])
                    self.warn(path, f"{message}; not kept")
            if fatal:
                raise FhirError(
                    422,
                    "required" if all(missing for _p, _m, missing in fatal) else "value",
                    "; ".join(f"{path}: {message}" for path, message, _missing in fatal),
                    expression=[path for path, _m, _missing in fatal],
                )
            # Items of one list go from the last, so earlier indexes stay right.
            for loc in sorted(drops, key=lambda loc: [str(part).zfill(9) for part in loc])[::-1]:
                self.drop(loc)

    def require(self, fields: dict[str, str]) -> None:
        """A PUT replaces the resource: a required element left out is an error, not a keep."""
        missing = [path for field, path in fields.items() if self.values.get(field) is None]
        if missing:
            raise FhirError(
                422,
                "required",
                "; ".join(f"{path}: is required" for path in missing),
                expression=missing,
            )


def full_date_at(value: str | None, path: str) -> dt.date | None:
    """A FHIR date or dateTime's calendar date; None when only a year or month is given."""
    if value is None:
        return None
    match = FULL_DATE.match(value)
    try:
        return dt.date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        raise FhirError(
            422, "value", f"{path}: {value!r} is not a calendar date", expression=[path]
        ) from None
