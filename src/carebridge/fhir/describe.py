"""A record kept as received, in a coordinator's words: what it is, what it says, when.

A coordinator reading a hospital's history wants "Influenza vaccine, 12 Mar 2019" and
"Hemoglobin A1c 7.9 %", not JSON: this reads the elements R4 puts the meaning in (the code's
text or display, the value, the vaccine, the claim's total) and falls back to the type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class Described:
    kind: str  # "Immunization" as words: "Immunization", "Explanation of benefit"
    title: str
    detail: str


def kind_words(resource_type: str) -> str:
    words = _CAMEL.sub(" ", resource_type).lower()
    return words[:1].upper() + words[1:]


def concept_text(concept: Any) -> str | None:
    """What a CodeableConcept (or Coding) says: its text, else its first display, else its
    first code."""
    if not isinstance(concept, Mapping):
        return None
    if isinstance(concept.get("text"), str):
        return str(concept["text"])
    found = concept.get("coding")
    codings: list[Any] = found if isinstance(found, list) else [concept]
    for coding in codings:
        if isinstance(coding, Mapping) and isinstance(coding.get("display"), str):
            return str(coding["display"])
    for coding in codings:
        if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def _first_concept(resource: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = resource.get(key)
        for one in value if isinstance(value, list) else [value]:
            text = concept_text(one)
            if text:
                return text
    return None


def _quantity(value: Any) -> str | None:
    if not isinstance(value, Mapping) or "value" not in value:
        return None
    unit = value.get("unit") or value.get("code") or ""
    return f"{value['value']} {unit}".strip()


def _value(resource: Mapping[str, Any]) -> str | None:
    for key, value in resource.items():
        if not key.startswith("value"):
            continue
        if key == "valueQuantity":
            return _quantity(value)
        if key == "valueCodeableConcept":
            return concept_text(value)
        if isinstance(value, str | int | float | bool):
            return str(value)
    parts = []
    for component in (
        resource.get("component", []) if isinstance(resource.get("component"), list) else []
    ):
        label = concept_text(component.get("code")) if isinstance(component, Mapping) else None
        amount = (
            _quantity(component.get("valueQuantity")) if isinstance(component, Mapping) else None
        )
        if label and amount:
            parts.append(f"{label} {amount}")
    return "; ".join(parts) or None


def _money(value: Any) -> str | None:
    if isinstance(value, Mapping) and "value" in value:
        return f"{value['value']:,.2f} {value.get('currency', '')}".strip()
    return None


def describe(resource: Mapping[str, Any]) -> Described:
    kind = str(resource.get("resourceType", "Resource"))
    title = (
        _first_concept(resource, "code", "vaccineCode", "medicationCodeableConcept", "type")
        or _first_concept(resource, "category", "class")
        or (resource.get("description") if isinstance(resource.get("description"), str) else None)
        or kind_words(kind)
    )
    details: list[str] = []
    value = _value(resource)
    if value:
        details.append(value)
    total = _money(resource.get("total"))
    if total is None and isinstance(resource.get("total"), list):
        totals = [_money(t.get("amount")) for t in resource["total"] if isinstance(t, Mapping)]
        total = next((t for t in totals if t), None)
    if total:
        details.append(f"total {total}")
    reason = _first_concept(resource, "reasonCode")
    if reason:
        details.append(f"for {reason}")
    return Described(kind_words(kind), str(title), ", ".join(details))
