"""FHIR R4 (4.0.1) search requests, parsed and validated; no database here.

`parse` turns the (name, value) pairs of a GET query string or of a `POST [type]/_search` form
body into a `Search`: one `Clause` per occurrence of a parameter (clauses are ANDed, the values
inside one clause are ORed), plus the result parameters (`_count`, `_sort`, `_include`, ...).
`canonical_query` gives the search back as pairs, in a stable order, for self and next links.

Choices the spec leaves open, made here:
- Date values without a time zone are taken as UTC. A date denotes the range [start, end) its
  precision covers (2024 is the whole year). `ap` (approximately) is the value's range widened by
  one day on each side, instead of the spec's "10% of the gap to now", so an answer does not
  drift with the clock.
- Numbers denote half a unit of their last digit either side (100 is [99.5, 100.5), 1e2 is
  [50, 150)); `ap` widens that to 10% of the value when that is more.
- A chained parameter (`patient.name=x`) keeps its value unparsed: the caller parses it against
  the target type with `parse(target, [(clause.chain, value.raw)], target_params, strict=...)`.
- A `+` in a time zone that arrived decoded as a space (an unencoded query string) is read as `+`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeAlias, cast

from carebridge.fhir.errors import FhirError

ParamType = Literal["string", "token", "date", "reference", "number", "quantity", "uri"]
Prefix = Literal["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]

PREFIXES: frozenset[str] = frozenset(("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"))

# Guards against requests that would cost the database far more than any real client needs.
MAX_CLAUSES = 64
MAX_OR_VALUES = 100
MAX_INCLUDES = 16
MAX_CURSOR_LENGTH = 2048


@dataclass(frozen=True)
class ParamDef:
    """A search parameter a resource type supports."""

    name: str
    type: ParamType
    targets: tuple[str, ...] = ()


COMMON_PARAMS: Mapping[str, ParamDef] = {
    "_id": ParamDef("_id", "token"),
    "_lastUpdated": ParamDef("_lastUpdated", "date"),
}


@dataclass(frozen=True)
class StringValue:
    """A string parameter's text, or a token searched with `:text`."""

    text: str


@dataclass(frozen=True)
class UriValue:
    uri: str


@dataclass(frozen=True)
class TokenValue:
    """`system|code`, `|code` (system "" = no system), `code` (system None = any system) or
    `system|` (code None = any code in that system)."""

    system: str | None
    code: str | None


@dataclass(frozen=True)
class DateValue:
    """The range [start, end) in UTC the value denotes; for `ap` already widened by a day on each
    side. `literal` is the value as written (without its prefix), kept for links."""

    prefix: Prefix
    start: datetime
    end: datetime
    literal: str


@dataclass(frozen=True)
class NumberValue:
    """The number and the range [low, high) its precision implies (widened for `ap`)."""

    prefix: Prefix
    value: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class QuantityValue:
    """`[prefix]number|system|code`; system or code None means any."""

    prefix: Prefix
    value: Decimal
    low: Decimal
    high: Decimal
    system: str | None
    code: str | None


@dataclass(frozen=True)
class ReferenceValue:
    """`Type/id`, `Type/id/_history/v`, a bare id (type from the modifier or the single target
    type), or an absolute URL / URN kept in `url`; for a URL ending in `Type/id`, `type` and `id`
    are filled in too, so the caller can match one that points at our own base."""

    type: str | None
    id: str | None
    version: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class MissingValue:
    """`name:missing=true|false`."""

    missing: bool


@dataclass(frozen=True)
class ChainValue:
    """The unparsed value of a chained parameter, escapes intact."""

    raw: str


Value: TypeAlias = (
    StringValue
    | UriValue
    | TokenValue
    | DateValue
    | NumberValue
    | QuantityValue
    | ReferenceValue
    | MissingValue
    | ChainValue
)


@dataclass(frozen=True)
class Clause:
    """One occurrence of a parameter: its values are ORed; clauses are ANDed."""

    name: str
    modifier: str | None
    values: tuple[Value, ...]
    chain: str | None = None


@dataclass(frozen=True)
class Include:
    """`_include`/`_revinclude`: `Source:param[:Target]`; `*` as source, param or both."""

    source: str
    param: str
    target: str | None = None
    iterate: bool = False


@dataclass(frozen=True)
class Search:
    clauses: tuple[Clause, ...]
    count: int
    sort: tuple[tuple[str, bool], ...]
    includes: tuple[Include, ...]
    revincludes: tuple[Include, ...]
    summary: str | None
    elements: tuple[str, ...]
    total: str | None
    ignored: tuple[str, ...]
    cursor: str | None


# Result parameters, and those accepted everywhere that do not change what is found
# (`_totalMethod` is sent by fhirpy's count()).
_RESULT_PARAMS = frozenset(
    ("_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total", "_cursor")
)
_SILENT_PARAMS = frozenset(("_format", "_pretty", "_totalMethod"))
_ONCE_PARAMS = frozenset(("_count", "_sort", "_summary", "_elements", "_total", "_cursor"))
_SUMMARY = frozenset(("true", "false", "text", "data", "count"))
_TOTAL = frozenset(("none", "estimate", "accurate"))

_MODIFIERS: Mapping[str, frozenset[str]] = {
    "string": frozenset(("exact", "contains", "missing")),
    "token": frozenset(("not", "text", "missing")),
    "reference": frozenset(("missing",)),
    "date": frozenset(("missing",)),
    "number": frozenset(("missing",)),
    "quantity": frozenset(("missing",)),
    "uri": frozenset(("missing",)),
}
_ID_MODIFIERS = frozenset(("not", "missing"))
# Defined by R4 for the type, but not implemented here.
_UNSUPPORTED_MODIFIERS: Mapping[str, frozenset[str]] = {
    "token": frozenset(("of-type", "in", "not-in", "below", "above")),
    "reference": frozenset(("identifier", "below", "above")),
    "uri": frozenset(("below", "above")),
}

_TYPE_RE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_CHAIN_RE = re.compile(
    r"[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z][A-Za-z\-]*)?"
    r"(?:\.[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z][A-Za-z\-]*)?)*"
)
_ELEMENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:\[x\])?")
_COUNT_RE = re.compile(r"\d{1,9}")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DATE_RE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<hh>\d{2}):(?P<mm>\d{2})(?::(?P<ss>\d{2})(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)
_SPACE_TZ_RE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:\d{2})$")
_URL_TAIL_RE = re.compile(
    r"/(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?$"
)
_INCLUDE_RE = re.compile(
    r"(?P<source>\*|[A-Z][A-Za-z]{1,63}):(?P<param>\*|[A-Za-z_][A-Za-z0-9_\-]*)"
    r"(?::(?P<target>[A-Z][A-Za-z]{1,63}))?"
)
_UNESCAPE_RE = re.compile(r"\\([\\,$|])")
_ESCAPE_RE = re.compile(r"([\\,$|])")

_UTC_MIN = datetime.min.replace(tzinfo=UTC)
_UTC_MAX = datetime.max.replace(tzinfo=UTC)


def _invalid(diagnostics: str) -> FhirError:
    return FhirError(400, "invalid", diagnostics)


def _not_supported(diagnostics: str) -> FhirError:
    return FhirError(400, "not-supported", diagnostics)


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` where it is not escaped by a backslash; the parts keep their escapes."""
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def unescape(text: str) -> str:
    """Undo the search escapes `\\,` `\\$` `\\|` `\\\\`; any other backslash is literal."""
    return _UNESCAPE_RE.sub(r"\1", text)


def escape(text: str) -> str:
    """Escape the characters a search value gives a meaning to."""
    return _ESCAPE_RE.sub(r"\\\1", text)


def _prefixed(text: str) -> tuple[Prefix, str]:
    if len(text) > 2 and text[:2] in PREFIXES:
        return cast(Prefix, text[:2]), text[2:]
    return "eq", text


# --- dates -------------------------------------------------------------------------------------


def date_range(name: str, text: str) -> tuple[datetime, datetime]:
    match = _DATE_RE.fullmatch(text)
    if match is None:
        raise _invalid(
            f"Invalid date '{text}' for parameter '{name}': expected YYYY, YYYY-MM, YYYY-MM-DD "
            "or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm]"
        )
    g = match.groupdict()
    try:
        year = int(g["y"])
        if g["m"] is None:
            start = datetime(year, 1, 1, tzinfo=UTC)
            return start, _add(start, years=1)
        month = int(g["m"])
        if g["d"] is None:
            start = datetime(year, month, 1, tzinfo=UTC)
            return start, _add(start, months=1)
        day = int(g["d"])
        if g["hh"] is None:
            start = datetime(year, month, day, tzinfo=UTC)
            return start, _add(start, days=1)
        tz = _zone(g["tz"])
        micro = 0
        if g["ss"] is None:
            width = timedelta(minutes=1)
        elif g["frac"] is None:
            width = timedelta(seconds=1)
        else:
            frac = g["frac"]
            micro = int(frac[:6].ljust(6, "0"))
            # A datetime holds microseconds: finer precision counts as one microsecond.
            width = timedelta(microseconds=10 ** max(0, 6 - len(frac)))
        local = datetime(
            year, month, day, int(g["hh"]), int(g["mm"]), int(g["ss"] or 0), micro, tzinfo=tz
        )
        start = local.astimezone(UTC)
        return start, _add(start, delta=width)
    except (ValueError, OverflowError) as exc:
        raise _invalid(f"Invalid date '{text}' for parameter '{name}': {exc}") from None


def _zone(text: str | None) -> timezone:
    if text is None or text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise ValueError(f"time zone offset {text} is out of range")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _add(
    start: datetime,
    *,
    years: int = 0,
    months: int = 0,
    days: int = 0,
    delta: timedelta | None = None,
) -> datetime:
    """The end of a range, clamped at the largest datetime rather than failing for year 9999."""
    try:
        if years or months:
            index = start.year * 12 + (start.month - 1) + years * 12 + months
            return start.replace(year=index // 12, month=index % 12 + 1)
        return start + (delta if delta is not None else timedelta(days=days))
    except (ValueError, OverflowError):
        return _UTC_MAX


def _widen(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    day = timedelta(days=1)
    low = start - day if start - _UTC_MIN >= day else _UTC_MIN
    high = end + day if _UTC_MAX - end >= day else _UTC_MAX
    return low, high


def _date_value(name: str, piece: str) -> DateValue:
    prefix, literal = _prefixed(unescape(piece).strip())
    literal = _SPACE_TZ_RE.sub(r"\1+\2", literal)
    start, end = date_range(name, literal)
    if prefix == "ap":
        start, end = _widen(start, end)
    return DateValue(prefix, start, end, literal)


# --- numbers and quantities --------------------------------------------------------------------


def _number(name: str, text: str, prefix: Prefix) -> tuple[Decimal, Decimal, Decimal]:
    if _NUMBER_RE.fullmatch(text) is None:
        raise _invalid(f"Invalid number '{text}' for parameter '{name}'")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _invalid(f"Invalid number '{text}' for parameter '{name}'") from None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: the pattern admits no NaN or Infinity
    margin = Decimal(5).scaleb(exponent - 1)
    if prefix == "ap":
        margin = max(margin, abs(value) / 10)
    return value, value - margin, value + margin


def _number_value(name: str, piece: str) -> NumberValue:
    prefix, text = _prefixed(unescape(piece).strip())
    value, low, high = _number(name, text, prefix)
    return NumberValue(prefix, value, low, high)


def _quantity_value(name: str, piece: str) -> QuantityValue:
    parts = _split(piece, "|")
    if len(parts) not in (1, 3):
        raise _invalid(
            f"Invalid quantity '{unescape(piece)}' for parameter '{name}': "
            "expected [prefix]number or [prefix]number|system|code"
        )
    prefix, text = _prefixed(unescape(parts[0]).strip())
    value, low, high = _number(name, text, prefix)
    if len(parts) == 1:
        return QuantityValue(prefix, value, low, high, None, None)
    # An empty system or code matches any (R4: `5.4||mg`).
    system, code = unescape(parts[1]) or None, unescape(parts[2]) or None
    return QuantityValue(prefix, value, low, high, system, code)


# --- tokens and references ---------------------------------------------------------------------


def _token_value(name: str, piece: str) -> TokenValue:
    parts = _split(piece, "|")
    if len(parts) == 1:
        return TokenValue(None, unescape(parts[0]))
    if len(parts) == 2:
        system, code = unescape(parts[0]), unescape(parts[1])
        if not system and not code:
            raise _invalid(f"Parameter '{name}' has '|' with neither a system nor a code")
        return TokenValue(system, code or None)
    raise _invalid(
        f"Invalid token '{unescape(piece)}' for parameter '{name}': "
        "expected system|code, |code or code (escape a '|' in a code as '\\|')"
    )


def _id_value(name: str, piece: str) -> TokenValue:
    text = unescape(piece)
    if _ID_RE.fullmatch(text) is None:
        raise _invalid(
            f"Invalid id '{text}' for parameter '{name}': an id is 1-64 letters, digits, '-' or '.'"
        )
    return TokenValue(None, text)


def _reference_value(
    param: ParamDef, name: str, type_hint: str | None, piece: str
) -> ReferenceValue:
    text = unescape(piece).strip()
    if "://" in text or text.startswith("urn:"):
        tail = _URL_TAIL_RE.search(text) if "://" in text else None
        if tail is None:
            return ReferenceValue(None, None, None, url=text)
        ref_type = tail["type"]
        _check_target(param, name, ref_type, type_hint, text)
        return ReferenceValue(ref_type, tail["id"], tail["version"], url=text)
    parts = text.split("/")
    version: str | None = None
    if len(parts) == 1:
        ref_id = parts[0]
        if type_hint is not None:
            ref_type = type_hint
        elif len(param.targets) == 1:
            ref_type = param.targets[0]
        else:
            raise _invalid(
                f"Reference '{text}' for parameter '{name}' has no type: write Type/id or "
                f"use {name}:Type"
            )
    elif len(parts) == 2:
        ref_type, ref_id = parts
    elif len(parts) == 4 and parts[2] == "_history":
        ref_type, ref_id, version = parts[0], parts[1], parts[3]
    else:
        raise _invalid(
            f"Invalid reference '{text}' for parameter '{name}': expected Type/id, id or a URL"
        )
    if _TYPE_RE.fullmatch(ref_type) is None:
        raise _invalid(f"Invalid resource type '{ref_type}' in parameter '{name}'")
    if _ID_RE.fullmatch(ref_id) is None or (
        version is not None and _ID_RE.fullmatch(version) is None
    ):
        raise _invalid(f"Invalid id in reference '{text}' for parameter '{name}'")
    _check_target(param, name, ref_type, type_hint, text)
    return ReferenceValue(ref_type, ref_id, version)


def _check_target(
    param: ParamDef, name: str, ref_type: str, type_hint: str | None, text: str
) -> None:
    if type_hint is not None and ref_type != type_hint:
        raise _invalid(
            f"Reference '{text}' for parameter '{name}:{type_hint}' points at {ref_type}"
        )
    if param.targets and ref_type not in param.targets:
        raise _invalid(f"Parameter '{name}' refers to {', '.join(param.targets)}, not {ref_type}")


# --- parameters --------------------------------------------------------------------------------


def _check_modifier(param: ParamDef, name: str, modifier: str) -> None:
    if param.type == "reference" and _TYPE_RE.fullmatch(modifier):
        if param.targets and modifier not in param.targets:
            raise _invalid(
                f"Parameter '{name}' refers to {', '.join(param.targets)}, not {modifier}"
            )
        return
    allowed = _ID_MODIFIERS if name == "_id" else _MODIFIERS[param.type]
    if modifier in allowed:
        return
    if modifier in _UNSUPPORTED_MODIFIERS.get(param.type, frozenset()):
        raise _not_supported(f"Modifier ':{modifier}' on parameter '{name}' is not supported")
    raise _invalid(f"Unknown modifier ':{modifier}' for {param.type} parameter '{name}'")


def _clause(
    param: ParamDef, name: str, modifier: str | None, chain: str | None, raw: str
) -> Clause | None:
    if modifier is not None:
        _check_modifier(param, name, modifier)
    if chain is not None:
        if param.type != "reference":
            raise _invalid(
                f"Parameter '{name}' is not a reference, so '{name}.{chain}' cannot chain"
            )
        if modifier == "missing":
            raise _invalid(f"':missing' cannot be used in the chain '{name}:missing.{chain}'")
        if _CHAIN_RE.fullmatch(chain) is None:
            raise _invalid(f"Invalid chained parameter '{name}.{chain}'")
        return Clause(name, modifier, (ChainValue(raw),), chain)
    if modifier == "missing":
        flag = raw.strip()
        if flag not in ("true", "false"):
            raise _invalid(f"'{name}:missing' takes true or false, not '{raw}'")
        return Clause(name, modifier, (MissingValue(flag == "true"),))
    pieces = [piece for piece in _split(raw, ",") if piece]
    if not pieces:
        return None
    if len(pieces) > MAX_OR_VALUES:
        raise FhirError(
            400, "too-costly", f"Parameter '{name}' has more than {MAX_OR_VALUES} values"
        )
    type_hint = modifier if param.type == "reference" else None
    return Clause(
        name, modifier, tuple(_value(param, name, modifier, type_hint, p) for p in pieces)
    )


def _value(
    param: ParamDef, name: str, modifier: str | None, type_hint: str | None, piece: str
) -> Value:
    if param.type == "token":
        if modifier == "text":
            return StringValue(unescape(piece))
        return _id_value(name, piece) if name == "_id" else _token_value(name, piece)
    if param.type == "date":
        return _date_value(name, piece)
    if param.type == "reference":
        return _reference_value(param, name, type_hint, piece)
    if param.type == "number":
        return _number_value(name, piece)
    if param.type == "quantity":
        return _quantity_value(name, piece)
    if param.type == "uri":
        return UriValue(unescape(piece))
    return StringValue(unescape(piece))


def _sort(value: str, known: Mapping[str, ParamDef], resource_type: str) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for item in (unescape(part).strip() for part in _split(value, ",")):
        descending = item.startswith("-")
        name = item[1:] if descending else item
        if not name:
            raise _invalid(f"Empty sort key in _sort={value}")
        if name not in known:
            raise _not_supported(
                f"Cannot sort {resource_type} by unknown search parameter '{name}'"
            )
        if name in seen:
            raise _invalid(f"_sort names '{name}' twice")
        seen.add(name)
        keys.append((name, descending))
    return keys


def _includes(name: str, modifier: str | None, value: str) -> list[Include]:
    if modifier not in (None, "iterate", "recurse"):
        raise _invalid(f"Unknown modifier ':{modifier}' on {name}: use :iterate")
    iterate = modifier is not None
    found: list[Include] = []
    for item in (unescape(part).strip() for part in _split(value, ",")):
        if item == "*":
            found.append(Include("*", "*", None, iterate))
            continue
        match = _INCLUDE_RE.fullmatch(item)
        if match is None:
            raise _invalid(
                f"Invalid {name} value '{item}': expected Type:param, Type:param:TargetType or *"
            )
        found.append(Include(match["source"], match["param"], match["target"], iterate))
    return found


def _elements(value: str, resource_type: str) -> list[str]:
    names: list[str] = []
    for item in (unescape(part).strip() for part in _split(value, ",")):
        name = item.removeprefix(resource_type + ".")
        if _ELEMENT_RE.fullmatch(name) is None:
            raise _invalid(f"Invalid element name '{item}' in _elements")
        if name not in names:
            names.append(name)
    return names


def parse(
    resource_type: str,
    pairs: Sequence[tuple[str, str]],
    params: Mapping[str, ParamDef],
    *,
    strict: bool,
    default_count: int = 50,
    max_count: int = 1000,
) -> Search:
    """Parse a search on `resource_type` (`params`: what it supports; `_id` and `_lastUpdated`
    are added). `strict` is `Prefer: handling=strict`: an unknown parameter is a 400 instead of
    being dropped and listed in `ignored`. Raises FhirError (400) for anything malformed."""
    known: dict[str, ParamDef] = {**COMMON_PARAMS, **params}
    clauses: list[Clause] = []
    ignored: list[str] = []
    seen_once: set[str] = set()
    count = min(default_count, max_count)
    sort: list[tuple[str, bool]] = []
    includes: list[Include] = []
    revincludes: list[Include] = []
    summary: str | None = None
    elements: list[str] = []
    total: str | None = None
    cursor: str | None = None

    for raw_name, raw_value in pairs:
        # An empty value means the parameter is not there (R4 search, "Searching").
        if not raw_name or raw_value == "":
            continue
        head, dot, chain = raw_name.partition(".")
        base, colon, modifier_text = head.partition(":")
        modifier = modifier_text if colon else None
        if base in _SILENT_PARAMS:
            continue
        if base in _RESULT_PARAMS:
            if dot:
                raise _invalid(f"'{raw_name}' is not a parameter: {base} cannot be chained")
            if modifier is not None and base not in ("_include", "_revinclude"):
                raise _invalid(f"{base} takes no modifier (':{modifier}')")
            if base in _ONCE_PARAMS:
                if base in seen_once:
                    raise _invalid(f"{base} may be given only once")
                seen_once.add(base)
            value = raw_value.strip()
            if base == "_count":
                if _COUNT_RE.fullmatch(value) is None:
                    raise _invalid(f"_count must be a whole number, 0 or more, not '{raw_value}'")
                count = min(int(value), max_count)
            elif base == "_sort":
                sort = _sort(value, known, resource_type)
            elif base in ("_include", "_revinclude"):
                target = includes if base == "_include" else revincludes
                target.extend(_includes(base, modifier, value))
                if len(includes) + len(revincludes) > MAX_INCLUDES:
                    raise FhirError(
                        400, "too-costly", f"More than {MAX_INCLUDES} _include/_revinclude values"
                    )
            elif base == "_summary":
                if value not in _SUMMARY:
                    raise _invalid(
                        f"_summary must be true, false, text, data or count, not '{raw_value}'"
                    )
                summary = value
            elif base == "_elements":
                elements = _elements(value, resource_type)
            elif base == "_total":
                if value not in _TOTAL:
                    raise _invalid(f"_total must be none, estimate or accurate, not '{raw_value}'")
                total = value
            else:  # _cursor: opaque here; the paging module checks it
                if len(value) > MAX_CURSOR_LENGTH:
                    raise _invalid("_cursor is too long")
                cursor = value
            continue
        param = known.get(base)
        if param is None:
            if strict:
                raise _not_supported(f"Unknown search parameter '{base}' for {resource_type}")
            if base not in ignored:
                ignored.append(base)
            continue
        clause = _clause(param, base, modifier, chain if dot else None, raw_value)
        if clause is None:
            continue
        clauses.append(clause)
        if len(clauses) > MAX_CLAUSES:
            raise FhirError(400, "too-costly", f"More than {MAX_CLAUSES} search parameters")

    if summary is not None and elements:
        raise _invalid("_summary and _elements cannot be used together")
    return Search(
        clauses=tuple(clauses),
        count=count,
        sort=tuple(sort),
        includes=tuple(includes),
        revincludes=tuple(revincludes),
        summary=summary,
        elements=tuple(elements),
        total=total,
        ignored=tuple(ignored),
        cursor=cursor,
    )


# --- back to a query ---------------------------------------------------------------------------


def _render_prefix(prefix: Prefix) -> str:
    return "" if prefix == "eq" else prefix


def render_value(value: Value) -> str:
    """One value as it is written in a query (escaped)."""
    if isinstance(value, StringValue):
        return escape(value.text)
    if isinstance(value, UriValue):
        return escape(value.uri)
    if isinstance(value, TokenValue):
        if value.system is None:
            return escape(value.code or "")
        return f"{escape(value.system)}|{escape(value.code or '')}"
    if isinstance(value, DateValue):
        return _render_prefix(value.prefix) + value.literal
    if isinstance(value, NumberValue):
        return _render_prefix(value.prefix) + str(value.value)
    if isinstance(value, QuantityValue):
        number = _render_prefix(value.prefix) + str(value.value)
        if value.system is None and value.code is None:
            return number
        return f"{number}|{escape(value.system or '')}|{escape(value.code or '')}"
    if isinstance(value, ReferenceValue):
        if value.url is not None:
            return escape(value.url)
        text = f"{value.type}/{value.id}"
        if value.version is not None:
            text += f"/_history/{value.version}"
        return escape(text)
    if isinstance(value, MissingValue):
        return "true" if value.missing else "false"
    return value.raw


def _clause_name(clause: Clause) -> str:
    name = clause.name if clause.modifier is None else f"{clause.name}:{clause.modifier}"
    return name if clause.chain is None else f"{name}.{clause.chain}"


def _render_include(include: Include) -> str:
    if include.source == "*" and include.param == "*" and include.target is None:
        return "*"
    text = f"{include.source}:{include.param}"
    return text if include.target is None else f"{text}:{include.target}"


def canonical_query(search: Search) -> list[tuple[str, str]]:
    """The search as (name, value) pairs for self and next links: ignored parameters left out,
    clauses sorted by name and value (AND does not depend on order), then the result
    parameters. Parsing it again gives the same search. For a next link, replace the cursor first
    (`dataclasses.replace(search, cursor=token)`)."""
    rendered = sorted(
        (_clause_name(clause), ",".join(render_value(v) for v in clause.values))
        for clause in search.clauses
    )
    pairs: list[tuple[str, str]] = list(rendered)
    if search.sort:
        pairs.append(("_sort", ",".join(("-" if d else "") + name for name, d in search.sort)))
    for name, found in (("_include", search.includes), ("_revinclude", search.revincludes)):
        for include in found:
            pairs.append((f"{name}:iterate" if include.iterate else name, _render_include(include)))
    if search.summary is not None:
        pairs.append(("_summary", search.summary))
    if search.elements:
        pairs.append(("_elements", ",".join(search.elements)))
    if search.total is not None:
        pairs.append(("_total", search.total))
    pairs.append(("_count", str(search.count)))
    if search.cursor is not None:
        pairs.append(("_cursor", search.cursor))
    return pairs
