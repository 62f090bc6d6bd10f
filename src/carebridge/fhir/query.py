"""A parsed search (``search.Search``) run against the store: matches, one page at a time,
with what ``_include`` and ``_revinclude`` bring along.

Each clause becomes an EXISTS over the search index (``fhir_tokens``, ``fhir_strings``,
``fhir_references``) or a condition on the resource row (``_id``, ``_lastUpdated``, the type's
date). Pages follow the resource key when no ``_sort`` is asked for (a page costs the same
however deep it is) and an offset when one is.

Dates compare as ranges, as R4 defines the prefixes: a stored value is the range
[date_start, date_end) (an instant has both ends equal; a missing end is open), a searched
value is [vs, ve). ``eq``: the stored range lies within the searched one; ``gt``/``ge``: some
of it is at or after ve/vs; ``lt``/``le``: some of it is before vs/ve; ``sa``: all of it is
at or after ve; ``eb``: all of it is before vs; ``ap``: it overlaps the (widened) range.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session, aliased

from carebridge.fhir import store
from carebridge.fhir.errors import FhirError
from carebridge.fhir.indexing import SearchParam, fold
from carebridge.fhir.models import FhirReference, FhirResource, FhirString, FhirToken
from carebridge.fhir.search import (
    ChainValue,
    Clause,
    DateValue,
    Include,
    MissingValue,
    ParamDef,
    ReferenceValue,
    Search,
    StringValue,
    TokenValue,
    parse,
)

# Every search parameter of every served type, by type: what chains and includes may name.
Params = Mapping[str, Mapping[str, SearchParam]]
MAX_INCLUDED = 1000
_TOP = "\U0010ffff"  # above every folded string: [p, p + _TOP) is "starts with p"
_OPEN_END = datetime(9999, 12, 31, tzinfo=UTC)
Query = Select[*tuple[Any, ...]]
# How a clause is written: a correlated EXISTS (False), ``pk IN (index rows)`` (True, inside a
# chain), or (a list) as the index rows the search starts from, appended for the caller to join.
Driver = bool | list[Any]


@dataclass(frozen=True)
class Page:
    matches: list[store.Stored]
    included: list[store.Stored]
    total: int | None
    next_cursor: str | None


def _not_supported(diagnostics: str) -> FhirError:
    return FhirError(400, "not-supported", diagnostics)


def _param(params: Params, kind: str, name: str) -> SearchParam:
    found = params.get(kind, {}).get(name)
    if found is None:
        raise FhirError(400, "not-supported", f"{kind} has no search parameter '{name}'")
    return found


# --- clauses -------------------------------------------------------------------------------


def _exists(
    table: Any, row: Any, name: str, *conditions: ColumnElement[bool], driver: Driver = False
) -> ColumnElement[bool]:
    """The resource has a value of ``name`` meeting ``conditions``. The search's driving
    clause is written ``pk IN (index rows)`` so the database starts from the few index rows
    that match instead of testing every resource of the type; the others are correlated
    EXISTS probes of those candidates (the cost follows the answer, not the table)."""
    if isinstance(driver, list):  # the search starts here: the caller joins these rows
        driver.append(select(table.resource_pk).where(table.param == name, *conditions))
        return true()
    if driver:
        among: ColumnElement[bool] = row.pk.in_(
            select(table.resource_pk).where(table.param == name, *conditions)
        )
        return among
    return (
        select(literal(1))
        .where(table.resource_pk == row.pk, table.param == name, *conditions)
        .exists()
    )


def _values(clause: Clause, kind: type[Any]) -> list[Any]:
    found = [v for v in clause.values if isinstance(v, kind)]
    if len(found) != len(clause.values):
        raise FhirError(400, "invalid", f"Values of {clause.name} are not all of its type")
    return found


def _probe(column: Any, driver: Driver) -> Any:
    """The column as a probe of one candidate compares it: wrapped (``|| ''``, same value)
    so the database looks the candidate's rows up by resource and parameter rather than
    walking every row with that value."""
    leads = driver is True or isinstance(driver, list)  # an empty list is still the lead
    return column if leads else column.concat("")


def _token(row: Any, clause: Clause, driver: Driver) -> ColumnElement[bool]:
    if clause.modifier == "text":
        raise _not_supported(f"{clause.name}:text is not supported: search by code instead")
    code = _probe(FhirToken.code, driver)
    choices = []
    for value in _values(clause, TokenValue):
        parts = []
        if value.code is not None:
            parts.append(code == value.code)
        if value.system == "":
            parts.append(FhirToken.system.is_(None))
        elif value.system is not None:
            parts.append(FhirToken.system == value.system)
        choices.append(and_(true(), *parts))
    found = _exists(FhirToken, row, clause.name, or_(*choices), driver=driver)
    return not_(found) if clause.modifier == "not" else found


def _string(row: Any, clause: Clause, driver: Driver) -> ColumnElement[bool]:
    text = _probe(FhirString.value, driver)
    choices = []
    for value in _values(clause, StringValue):
        if clause.modifier == "exact":
            choices.append(FhirString.exact == value.text)
            continue
        folded = fold(value.text)
        if clause.modifier == "contains":
            escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            choices.append(text.like(f"%{escaped}%", escape="\\"))
        else:
            choices.append(and_(text >= folded, text < folded + _TOP))
    return _exists(FhirString, row, clause.name, or_(*choices), driver=driver)


def _date_matches(
    start: ColumnElement[datetime], end: ColumnElement[datetime], value: DateValue
) -> ColumnElement[bool]:
    vs, ve = value.start, value.end
    end = func.coalesce(end, _OPEN_END)  # an open period goes on
    some_at_or_after = {"gt": ve, "ge": vs}
    prefix = value.prefix
    if prefix in some_at_or_after:
        at = some_at_or_after[prefix]
        return or_(end > at, start >= at)
    if prefix == "lt":
        return start < vs
    if prefix == "le":
        return start < ve
    if prefix == "sa":
        return start >= ve
    if prefix == "eb":
        return and_(end <= vs, start < vs)
    if prefix == "ap":
        return and_(start < ve, or_(end > vs, start >= vs))
    within = and_(start >= vs, start < ve, end <= ve)
    return not_(within) if prefix == "ne" else within


def _date(row: Any, clause: Clause) -> ColumnElement[bool]:
    if clause.name == "_lastUpdated":
        start, end = row.last_updated, row.last_updated
    else:
        start, end = row.date_start, row.date_end
    choices = [_date_matches(start, end, v) for v in _values(clause, DateValue)]
    return and_(start.is_not(None), or_(*choices))


def _reference(
    row: Any, clause: Clause, param: SearchParam, params: Params, driver: Driver
) -> ColumnElement[bool]:
    if clause.chain is not None:
        return _chain(row, clause, param, params, driver)
    choices = []
    for value in _values(clause, ReferenceValue):
        if value.id is None:
            raise _not_supported(
                f"{clause.name}={value.url}: only references to this server can be searched"
            )
        parts = [_probe(FhirReference.target_id, driver) == value.id]
        kind = value.type or clause.modifier
        if kind is not None:
            parts.append(FhirReference.target_type == kind)
        choices.append(and_(*parts))
    return _exists(FhirReference, row, clause.name, or_(*choices), driver=driver)


def _chain(
    row: Any, clause: Clause, param: SearchParam, params: Params, driver: Driver
) -> ColumnElement[bool]:
    target = clause.modifier or (param.targets[0] if len(param.targets) == 1 else None)
    if target is None or target not in params:
        raise FhirError(
            400,
            "invalid",
            f"{clause.name}.{clause.chain}: name the type to chain through "
            f"({clause.name}:Type.{clause.chain}), one of {', '.join(param.targets)}",
        )
    raw = [v.raw for v in _values(clause, ChainValue)]
    inner = parse(
        target, [(str(clause.chain), ",".join(raw))], definitions(params[target]), strict=True
    ).clauses
    if any(c.chain is not None for c in inner):
        raise _not_supported("Chains go one reference deep here")
    other = aliased(FhirResource)
    targets = select(other.id).where(
        other.resource_type == target,
        other.deleted.is_(False),
        *(_condition(other, target, c, params, i == 0) for i, c in enumerate(inner)),
    )
    return _exists(
        FhirReference,
        row,
        clause.name,
        FhirReference.target_type == target,
        FhirReference.target_id.in_(targets),
    )


def _missing(row: Any, clause: Clause, param: SearchParam | None) -> ColumnElement[bool]:
    (value,) = _values(clause, MissingValue)
    if clause.name == "_lastUpdated":
        present: ColumnElement[bool] = true()
    elif clause.name == "_id":
        present = true()
    elif param is not None and param.type == "date":
        present = row.date_start.is_not(None)
    else:
        table = {"token": FhirToken, "string": FhirString, "reference": FhirReference}.get(
            param.type if param is not None else "", FhirToken
        )
        present = _exists(table, row, clause.name)
    return not_(present) if value.missing else present


def _condition(
    row: Any, kind: str, clause: Clause, params: Params, driver: Driver = False
) -> ColumnElement[bool]:
    param = params.get(kind, {}).get(clause.name)
    if clause.modifier == "missing":
        return _missing(row, clause, param)
    if clause.name == "_id":
        ids = [v.code for v in _values(clause, TokenValue)]
        found: ColumnElement[bool] = row.id.in_(ids)
        return not_(found) if clause.modifier == "not" else found
    if clause.name == "_lastUpdated" or (param is not None and param.type == "date"):
        return _date(row, clause)
    if param is None:
        raise _not_supported(f"{kind} has no search parameter '{clause.name}'")
    if param.type == "token":
        return _token(row, clause, driver if clause.modifier != "not" else False)
    if param.type == "string":
        return _string(row, clause, driver)
    if param.type == "reference":
        return _reference(row, clause, param, params, driver)
    raise _not_supported(f"{clause.name}: {param.type} parameters are not searched here")


def definitions(params: Mapping[str, SearchParam]) -> dict[str, ParamDef]:
    """What ``search.parse`` needs to know of a type's parameters."""
    return {name: p.definition for name, p in params.items()}


# --- paging --------------------------------------------------------------------------------


def _sort_key(row: Any, kind: str, name: str, params: Params) -> Any:
    if name == "_id":
        return row.id
    if name == "_lastUpdated":
        return row.last_updated
    param = _param(params, kind, name)
    if param.type == "date":
        return row.date_start
    if param.type == "string":
        smallest = select(func.min(FhirString.value)).where(
            FhirString.resource_pk == row.pk, FhirString.param == name
        )
    elif param.type == "token":
        smallest = select(func.min(FhirToken.code)).where(
            FhirToken.resource_pk == row.pk, FhirToken.param == name
        )
    else:
        raise _not_supported(f"_sort={name}: {param.type} parameters cannot be sorted on")
    return smallest.scalar_subquery()


def _cursor(search: Search) -> tuple[str, int] | None:
    if search.cursor is None:
        return None
    kind, _, number = search.cursor.partition(":")
    if kind not in ("after", "offset") or not number.isdigit() or len(number) > 18:
        raise FhirError(400, "invalid", "_cursor is not one this server gave out")
    return kind, int(number)


def _driver(kind: str, clauses: Sequence[Clause], params: Params) -> int | None:
    """The clause the search starts from: the first that an index answers exactly (a token,
    then a string, then a reference); none when ``_id`` names the resources already."""
    if any(c.name == "_id" and c.modifier is None for c in clauses):
        return None
    for wanted in ("token", "string", "reference"):
        for i, clause in enumerate(clauses):
            param = params.get(kind, {}).get(clause.name)
            if (
                param is not None
                and param.type == wanted
                and clause.modifier not in ("missing", "not", "contains", "text")
            ):
                return i
    return None


def _where(
    kind: str, search: Search, params: Params, within: uuid.UUID | None
) -> tuple[list[ColumnElement[bool]], Any]:
    """The conditions on the resources of ``kind`` the clauses of ``search`` find (not
    deleted; ``within``: only that patient's, for a token limited to one patient), and the
    index rows the search starts from (a subquery of resource keys), if one clause gives
    them."""
    row = FhirResource
    chosen = _driver(kind, search.clauses, params)
    lead: list[Any] = []
    found = [
        row.resource_type == kind,
        row.deleted.is_(False),
        *(
            _condition(row, kind, c, params, lead if i == chosen else False)
            for i, c in enumerate(search.clauses)
        ),
    ]
    if within is not None:
        found.append(row.patient_id == within)
    return found, (lead[0].distinct().subquery() if lead else None)


def _matching(
    columns: Sequence[Any], kind: str, search: Search, params: Params, within: uuid.UUID | None
) -> Query:
    """SELECT ``columns`` of the matches: from the driving clause's index rows joined to the
    resources when there is one (the database then reads the few rows that match instead of
    every resource of the type), else from the resources."""
    conditions, lead = _where(kind, search, params, within)
    query = select(*columns)
    if lead is not None:
        query = query.select_from(lead).join(FhirResource, FhirResource.pk == lead.c.resource_pk)
    return query.where(*conditions)


_COLUMNS = store.COLUMNS


def _stored(rows: Any) -> list[store.Stored]:
    return [store.stored_of(r) for r in rows]


def count(
    db: Session, kind: str, search: Search, params: Params, within: uuid.UUID | None = None
) -> int:
    query = _matching([func.count()], kind, search, params, within)
    return int(db.connection().execute(query).scalar_one())


def run(
    db: Session,
    kind: str,
    search: Search,
    params: Params,
    readable: Callable[[str], bool],
    within: uuid.UUID | None = None,
) -> Page:
    """One page of matches, what its includes bring (of the types ``readable`` allows, and
    of the patient ``within`` when given) and the total when it is asked for or known
    without counting."""
    row = FhirResource
    query = _matching(_COLUMNS, kind, search, params, within)
    cursor = _cursor(search)
    offset = 0
    if search.sort:
        keys = [_sort_key(row, kind, name, params) for name, _descending in search.sort]
        order = [
            (k.desc() if descending else k.asc()).nulls_last()
            for k, (_name, descending) in zip(keys, search.sort, strict=True)
        ]
        if cursor is not None:
            if cursor[0] != "offset":
                raise FhirError(400, "invalid", "_cursor does not belong to this search")
            offset = cursor[1]
        query = query.order_by(*order, row.pk).offset(offset)
    else:
        if cursor is not None:
            if cursor[0] != "after":
                raise FhirError(400, "invalid", "_cursor does not belong to this search")
            query = query.where(row.pk > cursor[1])
        query = query.order_by(row.pk)
    conn = db.connection()
    found = _stored(conn.execute(query.limit(search.count + 1)))
    more = len(found) > search.count
    matches = found[: search.count]
    next_cursor = None
    if more and matches:
        next_cursor = (
            f"offset:{offset + len(matches)}" if search.sort else f"after:{matches[-1].pk}"
        )
    total = None
    # _count=0 asks for the number alone (as fhirpy's count() does).
    if search.total in ("accurate", "estimate") or search.count == 0:
        total = count(db, kind, search, params, within)
    elif cursor is None and not more:
        total = len(matches)
    included = _included(db, kind, search, params, matches, readable)
    if within is not None:
        included = [s for s in included if s.patient_id == within]
    return Page(matches, included, total, next_cursor)


# --- _include and _revinclude --------------------------------------------------------------


def _include_param(params: Params, source: str, name: str) -> SearchParam:
    param = _param(params, source, name)
    if param.type != "reference":
        raise FhirError(400, "invalid", f"{source}:{name} is not a reference parameter")
    return param


def _forward(params: Params, kind: str, include: Include, pks: Sequence[int]) -> Query | None:
    if include.source not in (kind, "*"):
        raise FhirError(
            400, "invalid", f"_include={include.source}:{include.param}: the search is on {kind}"
        )
    names = (
        [n for n, p in params.get(kind, {}).items() if p.type == "reference"]
        if include.param == "*"
        else [_include_param(params, kind, include.param).name]
    )
    if not names:
        return None
    ref = FhirReference
    wanted = select(ref.target_type, ref.target_id).where(
        ref.resource_pk.in_(pks), ref.param.in_(names)
    )
    if include.target is not None:
        wanted = wanted.where(ref.target_type == include.target)
    row = FhirResource
    return select(*_COLUMNS).where(
        tuple_(row.resource_type, row.id).in_(wanted), row.deleted.is_(False)
    )


def _reverse(params: Params, kind: str, include: Include, matches: Sequence[store.Stored]) -> Query:
    if include.source == "*" or include.source not in params:
        raise FhirError(
            400, "invalid", f"_revinclude={include.source}:{include.param}: name a served type"
        )
    param = _include_param(params, include.source, include.param)
    ref = FhirReference
    row = FhirResource
    pointing = select(ref.resource_pk).where(
        ref.param == param.name,
        ref.target_type == kind,
        ref.target_id.in_([m.id for m in matches]),
    )
    return select(*_COLUMNS).where(
        row.resource_type == include.source, row.pk.in_(pointing), row.deleted.is_(False)
    )


def _included(
    db: Session,
    kind: str,
    search: Search,
    params: Params,
    matches: Sequence[store.Stored],
    readable: Callable[[str], bool],
) -> list[store.Stored]:
    if not matches or not (search.includes or search.revincludes):
        return []
    pks = [m.pk for m in matches]
    queries = [_forward(params, kind, i, pks) for i in search.includes]
    queries += [_reverse(params, kind, i, matches) for i in search.revincludes]
    seen = set(pks)
    found: list[store.Stored] = []
    conn = db.connection()
    for query in queries:
        if query is None:
            continue
        for stored in _stored(conn.execute(query.order_by(FhirResource.pk).limit(MAX_INCLUDED))):
            if stored.pk not in seen and readable(stored.resource_type):
                seen.add(stored.pk)
                found.append(stored)
    return found[:MAX_INCLUDED]


# --- Patient/$everything -------------------------------------------------------------------


@dataclass(frozen=True)
class Everything:
    """What ``Patient/$everything`` asks for: the patient's compartment, narrowed by type,
    last update and clinical dates; paged by ``after`` (a resource key)."""

    patient_id: uuid.UUID
    types: tuple[str, ...] = ()
    since: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    count: int = 100
    after: int | None = None


def everything(db: Session, wanted: Everything, readable: Callable[[str], bool]) -> Page:
    """One page of the patient's records (the Patient first: it has the lowest key of its
    compartment only by chance, so it is not promised) and the resources outside the
    compartment they point at (practitioners, organizations, locations)."""
    row = FhirResource
    where = [row.patient_id == wanted.patient_id, row.deleted.is_(False)]
    if wanted.types:
        where.append(row.resource_type.in_(wanted.types))
    if wanted.since is not None:
        where.append(row.last_updated >= wanted.since)
    # Records without a clinical date are kept: only dated ones are outside [start, end].
    if wanted.start is not None:
        where.append(
            or_(row.date_start.is_(None), func.coalesce(row.date_end, _OPEN_END) >= wanted.start)
        )
    if wanted.end is not None:
        where.append(or_(row.date_start.is_(None), row.date_start <= wanted.end))
    if wanted.after is not None:
        where.append(row.pk > wanted.after)
    query = select(*_COLUMNS).where(*where).order_by(row.pk).limit(wanted.count + 1)
    conn = db.connection()
    found = _stored(conn.execute(query))
    more = len(found) > wanted.count
    page = found[: wanted.count]
    matches = [s for s in page if readable(s.resource_type)]
    referenced = select(FhirReference.target_type, FhirReference.target_id).where(
        FhirReference.resource_pk.in_([s.pk for s in matches])
    )
    outside = select(*_COLUMNS).where(
        tuple_(row.resource_type, row.id).in_(referenced),
        row.patient_id.is_(None),
        row.deleted.is_(False),
    )
    included = [
        s
        for s in _stored(conn.execute(outside.order_by(row.pk).limit(MAX_INCLUDED)))
        if readable(s.resource_type)
    ]
    next_cursor = f"after:{page[-1].pk}" if more and page else None
    total = len(matches) if wanted.after is None and not more else None
    return Page(matches, included, total, next_cursor)
