"""Goal targets as people type them ("< 7 %", "between 70 and 180 mg/dL", "at least 150"),
whether a measurement meets one, and how a goal is doing from its measurements.

A target is a comparator and one or two numbers, with an optional unit:

====================  ===========================================
typed                 means
====================  ===========================================
``< 7``               below 7 (also ``under 7``, ``less than 7``)
``<= 130``            130 or below (``≤``, ``at most``, ``no more than``)
``> 150``             above 150 (``over``, ``more than``)
``>= 150``            150 or more (``≥``, ``at least``)
``= 0``               exactly 0 (a bare number means the same)
``between 70 and 180`` 70 to 180, both included (``70-180``, ``70 to 180``)
====================  ===========================================

Achievement (FHIR goal-achievement) from the measurements, newest last:

- the latest meets the target: ``achieved``;
- otherwise, with an earlier one to compare: ``improving`` when the latest is nearer the
  target than the one before, ``worsening`` when further away, ``no-change`` when as far;
- otherwise (one reading, not yet met): ``in-progress``.

A goal without a target keeps whatever status a person gives it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from carebridge.lib.errors import ValidationFailed

ACCEPTED = (
    "'< 7', '<= 130', '> 150', '>= 150', '= 0', 'between 70 and 180' or '70-180', "
    "optionally followed by a unit such as '%' or 'mg/dL'"
)
MAX_TEXT = 80
MAX_UNIT = 24  # Goal.unit
# Numeric(12, 3): at most nine digits before the point and three after.
LIMIT = Decimal("999999999.999")

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
# A unit follows the number; it is not a range's "and"/"to", nor an exponent ("1e5").
_UNIT = r"(?P<unit>(?!(?:and|to|or)\b)(?![eE][-+]?\d)[A-Za-z%°µ/][A-Za-z0-9%°µ/ .²³]*?)?"
_WORDS = {
    "<": ("<", "under", "below", "less than", "lower than", "fewer than"),
    "<=": ("<=", "=<", "≤", "at most", "no more than", "not more than", "up to", "max"),
    ">": (">", "over", "above", "more than", "greater than", "higher than"),
    ">=": (">=", "=>", "≥", "at least", "no less than", "not less than", "min"),
    "=": ("=", "==", "exactly", "equal to"),
}
_SPOKEN = {
    word: comparator for comparator, words in _WORDS.items() for word in words if word[0].isalpha()
}
_SYMBOLS = sorted(
    (word for words in _WORDS.values() for word in words if not word[0].isalpha()),
    key=len,
    reverse=True,
)
_COMPARED = re.compile(
    r"^(?P<op>"
    + "|".join(re.escape(s) for s in _SYMBOLS)
    + "|"
    + "|".join(sorted((re.escape(w) for w in _SPOKEN), key=len, reverse=True))
    + rf")\s*(?P<a>{_NUMBER})\s*{_UNIT}$",
    re.IGNORECASE,
)
_BETWEEN = re.compile(
    rf"^(?:between|from)?\s*(?P<a>{_NUMBER})\s*{_UNIT.replace('unit', 'unit_a')}\s*"
    rf"(?:-|\u2013|\u2014|to|and)\s*(?P<b>{_NUMBER})\s*{_UNIT}$",
    re.IGNORECASE,
)
_BARE = re.compile(rf"^(?P<a>{_NUMBER})\s*{_UNIT}$")

WORDS = {
    "<": "below",
    "<=": "at most",
    ">": "above",
    ">=": "at least",
    "=": "exactly",
}


@dataclass(frozen=True)
class Target:
    """What a goal aims for. ``low`` is the only number for the one-sided comparators;
    ``between`` uses ``low`` and ``high``."""

    comparator: str
    low: Decimal
    high: Decimal | None = None
    unit: str | None = None

    @property
    def text(self) -> str:
        """The target written back the canonical way ("< 7 %", "between 70 and 180 mg/dL")."""
        unit = f" {self.unit}" if self.unit else ""
        if self.comparator == "between":
            return f"between {number(self.low)} and {number(self.high)}{unit}"
        return f"{self.comparator} {number(self.low)}{unit}"

    @property
    def words(self) -> str:
        """The target in plain words for a patient ("below 7 %")."""
        unit = f" {self.unit}" if self.unit else ""
        if self.comparator == "between":
            return f"between {number(self.low)} and {number(self.high)}{unit}"
        return f"{WORDS[self.comparator]} {number(self.low)}{unit}"

    def meets(self, value: Decimal) -> bool:
        return self.distance(value) == 0

    def distance(self, value: Decimal) -> Decimal:
        """How far ``value`` is from meeting the target (0 when it meets it). A strict
        comparator is met only past its number, so sitting on it is a distance of 0 that
        still fails: it counts as the smallest step away."""
        low, high = self.low, self.high
        if self.comparator == "between":
            assert high is not None
            return max(low - value, value - high, Decimal(0))
        if self.comparator == "=":
            return abs(value - low)
        if self.comparator in ("<", "<="):
            gap = value - low
            if self.comparator == "<" and gap == 0:
                return STEP
            return max(gap, Decimal(0))
        gap = low - value
        if self.comparator == ">" and gap == 0:
            return STEP
        return max(gap, Decimal(0))


STEP = Decimal("0.001")  # the smallest difference a stored value can show


def number(value: Decimal | None) -> str:
    """A stored number without trailing zeros: 7.000 -> "7", 7.250 -> "7.25"."""
    if value is None:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _decimal(text: str, typed: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:  # the patterns only let numbers through; kept as a guard
        raise _refuse(typed) from None
    if abs(value) > LIMIT:
        raise ValidationFailed(
            f"The target '{typed}' has a number too large to store",
            fields={"target": f"Use numbers between -{LIMIT} and {LIMIT}."},
        )
    if value != value.quantize(STEP):
        raise ValidationFailed(
            f"The target '{typed}' has more than three decimal places",
            fields={"target": "Use at most three digits after the decimal point."},
        )
    return value


def _refuse(typed: str) -> ValidationFailed:
    shown = typed if len(typed) <= 40 else typed[:39] + "…"
    return ValidationFailed(
        f"The target '{shown}' is not one Carebridge understands; write it as {ACCEPTED}",
        fields={
            "target": f"'{shown}' is not a target. Write it like '< 7', '>= 150', "
            "'between 70 and 180' or '70-180', with a unit after it if you like."
        },
    )


def _unit(*found: str | None) -> str | None:
    units = {u.strip() for u in found if u and u.strip()}
    if len(units) > 1:
        raise ValidationFailed(
            "A range has one unit: " + " and ".join(sorted(units)) + " differ",
            fields={"target": "Give both numbers in the same unit, e.g. 'between 70 and 180'."},
        )
    unit = units.pop() if units else None
    if unit is not None and len(unit) > MAX_UNIT:
        raise ValidationFailed(
            f"The target's unit '{unit}' is longer than {MAX_UNIT} characters",
            fields={
                "target": f"Shorten the unit to at most {MAX_UNIT} characters, e.g. 'min/week'."
            },
        )
    return unit


def parse(typed: str) -> Target:
    """The target in ``typed``, or ``ValidationFailed`` (field ``target``) naming the text
    and the forms that are understood."""
    text = " ".join(typed.split())
    if not text:
        raise ValidationFailed(
            "The target is empty", fields={"target": f"Write the target as {ACCEPTED}."}
        )
    if len(text) > MAX_TEXT:
        raise _refuse(text)
    match = _COMPARED.match(text)
    if match:
        word = match["op"].lower()
        comparator = _SPOKEN.get(word) or next(c for c, ws in _WORDS.items() if word in ws)
        return Target(comparator, _decimal(match["a"], text), None, _unit(match["unit"]))
    match = _BETWEEN.match(text)
    if match:
        low, high = _decimal(match["a"], text), _decimal(match["b"], text)
        if low > high:
            raise ValidationFailed(
                f"The target '{text}' runs from {number(low)} down to {number(high)}",
                fields={"target": "Put the lower number first, e.g. 'between 70 and 180'."},
            )
        unit = _unit(match["unit_a"], match["unit"])
        if low == high:
            return Target("=", low, None, unit)
        return Target("between", low, high, unit)
    match = _BARE.match(text)
    if match:
        return Target("=", _decimal(match["a"], text), None, _unit(match["unit"]))
    raise _refuse(text)


def from_columns(
    comparator: str | None, low: Decimal | None, high: Decimal | None, unit: str | None
) -> Target | None:
    """The target a goal row stores, or None when the goal has none."""
    if comparator is None or low is None:
        return None
    return Target(comparator, low, high if comparator == "between" else None, unit)


def achievement(target: Target | None, values: Sequence[Decimal]) -> str | None:
    """The achievement status the measurements ``values`` (oldest first) show, or None
    when they say nothing (no target, no measurement)."""
    if target is None or not values:
        return None
    latest = values[-1]
    if target.meets(latest):
        return "achieved"
    if len(values) < 2:
        return "in-progress"
    now, before = target.distance(latest), target.distance(values[-2])
    if now < before:
        return "improving"
    if now > before:
        return "worsening"
    return "no-change"
