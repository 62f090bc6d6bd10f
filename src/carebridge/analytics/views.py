"""The quality screens: the dashboard of every measure in ``measures.REGISTRY`` (rate, counts,
trend by month, a breakdown by provider, coordinator, location or payer), the access page
(third-next-available per practitioner, with no-shows and lead time), a measure's own page
(its definition, trend and breakdown), the drill-down from any number to the patients behind
it, their exports (CSV or XLSX through ``analytics.export``) and the de-identified extract.

The dashboard computes each measure once per request; the third-next-available search (a
slot search per practitioner and visit type) is on its own page, since it is today's figure
whatever the period and costs more than all the measures together.

Every page takes the same filters as a GET form: a period (the last 3, 6 or 12 full months, or
chosen first and last days) and a provider, coordinator, location or payer. Measures are
computed for the period, then their cases are kept or dropped by the filters
(``analytics.breakdown``); the counts of excluded cases are the whole population's, since an
excluded case is not attributed to anyone.

Reads: the dashboard, access and measure pages show counts only and leave one audit row
each; the drill-down leaves one row per patient shown; exports are audited by
``export.download``. The extract reads in a read-only unit of work, outside the request's
write lock, and records its one audit row at the end.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.analytics import breakdown, deidentify, export
from carebridge.analytics.breakdown import DIMENSIONS, NOBODY, Attribution, Figures
from carebridge.analytics.export import Cell, Table
from carebridge.analytics.measures import REGISTRY
from carebridge.analytics.results import Case, Measure, MeasureResult
from carebridge.coverage.models import Payer
from carebridge.db.session import WRITE_OPTION, unit_of_work
from carebridge.lib.batches import chunked
from carebridge.lib.errors import AppError, NotFound, ValidationFailed
from carebridge.lib.time import parse_day
from carebridge.patients import views as chart_views
from carebridge.patients.models import Patient
from carebridge.scheduling import measures as access_measures
from carebridge.scheduling.models import Location, Practitioner
from carebridge.scheduling.waitlist_schemas import AccessMeasures
from carebridge.security.audit import Action, Actor, deferred, record
from carebridge.security.deps import Csrf, Db, Require, factory_of, settings_of
from carebridge.security.models import User
from carebridge.security.roles import Permission, Role
from carebridge.web.charts import BarChart, LineChart, bar_chart, line_chart
from carebridge.web.render import clinic_today, render

router = APIRouter(include_in_schema=False)  # pages, not API

Viewer = Annotated[Actor, Depends(Require(Permission.QUALITY_VIEW))]
Extractor = Annotated[Actor, Depends(Require(Permission.DEIDENTIFIED_EXTRACT))]
Posted = chart_views.Posted

PERIODS: list[tuple[str, str]] = [
    ("3", "Last 3 full months"),
    ("6", "Last 6 full months"),
    ("12", "Last 12 full months"),
    ("custom", "Chosen dates"),
]
MAX_PERIOD_DAYS = access_measures.MAX_PERIOD_DAYS  # 731
SETS = {
    "numerator": "In the numerator",
    "denominator": "In the denominator",
    "gap": "Care gaps",
}
FORMATS = [("csv", "CSV (spreadsheet, any program)"), ("xlsx", "XLSX (Excel)")]
PAGE_SIZE = 50
FILTER_NAMES = ("period", "first", "last", *DIMENSIONS)


# --- the filters ---------------------------------------------------------------------------


@dataclass
class Filters:
    """The filters as typed (``form``, kept on an error) and as understood."""

    form: dict[str, str]
    first: dt.date
    last: dt.date
    chosen: dict[str, uuid.UUID | str | None]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The filters as a query string, for links that keep them."""
        return urlencode({k: v for k, v in self.form.items() if k in FILTER_NAMES and v})

    @property
    def narrowed(self) -> bool:
        return any(v is not None for v in self.chosen.values())


def _months_back(last: dt.date, months: int) -> dt.date:
    first = last.replace(day=1)
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


def read_filters(params: Mapping[str, str], today: dt.date) -> Filters:
    form = {name: params.get(name, "").strip() for name in (*FILTER_NAMES, "by", "chart")}
    errors: dict[str, str] = {}
    last = today.replace(day=1) - dt.timedelta(days=1)  # the last full month's last day
    period = form["period"] or "3"
    if period not in dict(PERIODS):
        errors["period"] = "Choose one of the periods listed."
        period = "3"
    form["period"] = period
    first = _months_back(last, int(period)) if period != "custom" else last.replace(day=1)
    if period == "custom":
        typed_first, typed_last = parse_day(form["first"]), parse_day(form["last"])
        for name, typed in (("first", typed_first), ("last", typed_last)):
            if typed is None:
                errors[name] = "Enter the day as YYYY-MM-DD, e.g. 2026-01-31."
        if typed_first and typed_last:
            if typed_last < typed_first:
                errors["last"] = "The last day is before the first; choose a later day."
            elif (typed_last - typed_first).days > MAX_PERIOD_DAYS:
                errors["first"] = f"Choose a period of at most {MAX_PERIOD_DAYS} days."
            else:
                first, last = typed_first, typed_last
    else:
        form["first"], form["last"] = first.isoformat(), last.isoformat()
    chosen: dict[str, uuid.UUID | str | None] = {}
    for dimension, label in DIMENSIONS.items():
        try:
            chosen[dimension] = breakdown.wanted(form[dimension])
        except ValueError:
            errors[dimension] = f"Choose a {label.lower()} from the list."
            chosen[dimension] = None
    if form["by"] and form["by"] not in DIMENSIONS:
        errors["by"] = "Break down by: choose provider, coordinator, location or payer."
    if form["by"] not in DIMENSIONS:
        form["by"] = "provider"
    if form["chart"] and form["chart"] not in REGISTRY:
        errors["chart"] = "Measure to chart: choose one of the measures listed."
        form["chart"] = ""
    return Filters(form=form, first=first, last=last, chosen=chosen, errors=errors)


def _options(db: Session) -> dict[str, list[tuple[str, str]]]:
    """Each dimension's filter choices: everyone, nobody, then each by name."""
    queries: dict[str, Any] = {
        "provider": select(Practitioner.id, Practitioner.name).order_by(Practitioner.name),
        "coordinator": select(User.id, User.display_name)
        .where(User.role == Role.COORDINATOR.value)
        .order_by(User.display_name),
        "location": select(Location.id, Location.name).order_by(Location.name),
        "payer": select(Payer.id, Payer.name).order_by(Payer.name),
    }
    return {
        d: [
            ("", f"All {label.lower()}s"),
            (NOBODY, breakdown.UNATTRIBUTED[d]),
            *((str(i), str(name)) for i, name in db.execute(queries[d])),
        ]
        for d, label in DIMENSIONS.items()
    }


# --- the figures ---------------------------------------------------------------------------


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def days_text(value: float | None) -> str:
    if value is None:
        return "—"
    shown = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{shown} {'day' if shown == '1' else 'days'}"


@dataclass(frozen=True)
class Shown:
    """One measure as a page shows it: the result, its cases after the filters, their
    figures and their trend."""

    measure: Measure
    result: MeasureResult
    cases: list[Case]
    figures: Figures
    months: list[breakdown.Month]

    @property
    def key(self) -> str:
        return self.measure.key


def _trend_chart(shown: Shown) -> LineChart:
    readings = [
        (m.month, Decimal(f"{m.figures.rate * 100:.1f}"), None)
        for m in shown.months
        if m.figures.rate is not None
    ]
    return line_chart(
        chart_id=f"trend-{shown.key}",
        title=f"{shown.measure.title}, rate by month",
        unit="%",
        readings=readings,
        x_label="Month",
        day_format="%b %Y",
        tick_format="%b",  # the year is in the period; "Mar 2008" would not fit the edge
        y_range=(0.0, 100.0),
    )


def _bar_chart(shown: Shown, groups: Sequence[breakdown.Group], dimension: str) -> BarChart:
    return bar_chart(
        chart_id=f"by-{dimension}-{shown.key}",
        title=f"{shown.measure.title}, by {DIMENSIONS[dimension].lower()}",
        bars=[
            (
                g.label,
                None if g.figures.rate is None else g.figures.rate * 100,
                f"{percent(g.figures.rate)} ({g.figures.numerator} of {g.figures.denominator})",
            )
            for g in groups
        ],
        x_label="Rate, %",
        y_label=DIMENSIONS[dimension],
        maximum=100.0,
    )


def _compute(
    request: Request, db: Session, filters: Filters, keys: Sequence[str]
) -> tuple[list[Shown], Attribution]:
    settings = settings_of(request)
    results = [REGISTRY[k].compute(db, settings, filters.first, filters.last) for k in keys]
    attribution = breakdown.attribute(db, [c for r in results for c in r.cases])
    shown = []
    for key, result in zip(keys, results, strict=True):
        cases = breakdown.select_cases(result.cases, attribution, filters.chosen)
        shown.append(
            Shown(
                measure=REGISTRY[key],
                result=result,
                cases=cases,
                figures=breakdown.figures(cases),
                months=breakdown.trend(cases, filters.first, filters.last),
            )
        )
    return shown, attribution


def _measure(key: str) -> Measure:
    found = REGISTRY.get(key)
    if found is None:
        raise NotFound(f"No measure {key!r}; the dashboard lists them all.")
    return found


def _period_words(filters: Filters) -> str:
    return f"{filters.first:%d %b %Y} to {filters.last:%d %b %Y}"


def _fmt(value: str) -> str:
    if value not in export.FORMATS:
        raise ValidationFailed("Unknown export format", fields={"format": "Choose CSV or XLSX."})
    return value


def _refuse_filters(filters: Filters) -> None:
    if filters.errors:
        raise ValidationFailed("The filters are not valid", fields=filters.errors)


# --- the dashboard -------------------------------------------------------------------------


def _groups(shown: Sequence[Shown]) -> list[tuple[str, list[Shown]]]:
    grouped: dict[str, list[Shown]] = {}
    for s in shown:
        grouped.setdefault(s.measure.group or "Other", []).append(s)
    return list(grouped.items())


@router.get("/quality")
def dashboard(request: Request, db: Db, actor: Viewer) -> Response:
    filters = read_filters(request.query_params, clinic_today(request))
    shown: list[Shown] = []
    charts: dict[str, LineChart] = {}
    chosen_chart: Shown | None = None
    by_chart: BarChart | None = None
    by_groups: list[breakdown.Group] = []
    if not filters.errors:
        shown, attribution = _compute(request, db, filters, list(REGISTRY))
        charts = {s.key: _trend_chart(s) for s in shown}
        chosen_chart = next((s for s in shown if s.key == filters.form["chart"]), None)
        chosen_chart = chosen_chart or (shown[0] if shown else None)
        if chosen_chart is not None:
            filters.form["chart"] = chosen_chart.key
            by_groups = breakdown.groups(chosen_chart.cases, attribution, filters.form["by"])
            by_chart = _bar_chart(chosen_chart, by_groups, filters.form["by"])
        record(
            db,
            actor,
            Action.READ,
            entity_type="QualityDashboard",
            reason=f"{filters.first}..{filters.last} {filters.query}",
        )
    return render(
        request,
        "analytics/dashboard.html",
        {
            "filters": filters,
            "options": _options(db),
            "periods": PERIODS,
            "dimensions": DIMENSIONS,
            "groups": _groups(shown),
            "charts": charts,
            "chosen_chart": chosen_chart,
            "by_chart": by_chart,
            "by_groups": by_groups,
            "measure_options": [(s.key, s.measure.title) for s in shown],
            "percent": percent,
            "days_text": days_text,
            "period_words": _period_words(filters),
            "formats": FORMATS,
        },
        status_code=422 if filters.errors else 200,
        active="quality",
    )


def _dashboard_table(shown: Sequence[Shown], filters: Filters) -> Table:
    rows: list[list[Cell]] = []
    for s in shown:
        f = s.figures
        rows.append(
            [
                s.measure.group,
                s.measure.title,
                s.key,
                filters.first,
                filters.last,
                f.numerator,
                f.denominator,
                None if f.rate is None else round(f.rate * 100, 1),
                s.result.excluded,
                f.median_days,
                s.measure.median_label or "",
                "lower" if s.measure.lower_is_better else "higher",
            ]
        )
    return Table(
        title="Quality measures",
        columns=[
            "Group",
            "Measure",
            "Key",
            "First day",
            "Last day",
            "Numerator",
            "Denominator",
            "Rate %",
            "Excluded",
            "Median days",
            "Median of",
            "Better when",
        ],
        rows=rows,
    )


@router.get("/quality/export")
def dashboard_export(request: Request, db: Db, actor: Viewer, format: str = "csv") -> Response:
    fmt = _fmt(format)
    filters = read_filters(request.query_params, clinic_today(request))
    _refuse_filters(filters)
    shown, _ = _compute(request, db, filters, list(REGISTRY))
    return export.download(
        db,
        actor,
        _dashboard_table(shown, filters),
        fmt,
        entity_type="QualityDashboard",
        reason=f"quality measures {filters.first}..{filters.last} {filters.query}",
    )


# --- access: third-next-available -----------------------------------------------------------


def _access_options(db: Session) -> dict[str, list[tuple[str, str]]]:
    """The access page's one filter: the active practitioners (nobody is not one)."""
    found = db.execute(
        select(Practitioner.id, Practitioner.name)
        .where(Practitioner.active)
        .order_by(Practitioner.name)
    )
    return {"provider": [("", "All providers"), *((str(i), str(n)) for i, n in found)]}


@router.get("/quality/access")
def access_page(request: Request, db: Db, actor: Viewer) -> Response:
    """Third-next-available per practitioner and visit type (today's), with each one's
    no-show rate and median lead time over the period; audited by ``access_measures``."""
    filters = read_filters(request.query_params, clinic_today(request))
    provider = filters.chosen["provider"]
    if provider == NOBODY:
        filters.errors["provider"] = "Choose a provider from the list."
    access: AccessMeasures | None = None
    if not filters.errors:
        try:
            access = access_measures.access(
                db,
                actor,
                settings_of(request),
                start=filters.first,
                end=filters.last,
                practitioner_id=provider if isinstance(provider, uuid.UUID) else None,
            )
        except ValidationFailed as exc:
            named = {"start": "first", "end": "last"}
            filters.errors.update(
                {named.get(k, k): v for k, v in exc.fields.items()} or {"period": exc.detail}
            )
    return render(
        request,
        "analytics/access.html",
        {
            "filters": filters,
            "options": _access_options(db),
            "periods": PERIODS,
            "dimensions": {"provider": DIMENSIONS["provider"]},
            "access": access,
            "percent": percent,
            "days_text": days_text,
            "period_words": _period_words(filters),
        },
        status_code=422 if filters.errors else 200,
        active="quality",
    )


# --- a measure's page ----------------------------------------------------------------------


@router.get("/quality/measures/{key}")
def measure_page(request: Request, db: Db, actor: Viewer, key: str) -> Response:
    measure = _measure(key)
    filters = read_filters(request.query_params, clinic_today(request))
    shown: Shown | None = None
    groups: list[breakdown.Group] = []
    trend: LineChart | None = None
    by_chart: BarChart | None = None
    if not filters.errors:
        found, attribution = _compute(request, db, filters, [key])
        shown = found[0]
        groups = breakdown.groups(shown.cases, attribution, filters.form["by"])
        trend = _trend_chart(shown)
        by_chart = _bar_chart(shown, groups, filters.form["by"])
        record(
            db,
            actor,
            Action.READ,
            entity_type="QualityMeasure",
            entity_id=key,
            reason=f"{filters.first}..{filters.last} {filters.query}",
        )
    return render(
        request,
        "analytics/measure.html",
        {
            "measure": measure,
            "filters": filters,
            "options": _options(db),
            "periods": PERIODS,
            "dimensions": DIMENSIONS,
            "shown": shown,
            "groups": groups,
            "trend": trend,
            "by_chart": by_chart,
            "percent": percent,
            "days_text": days_text,
            "period_words": _period_words(filters),
            "formats": FORMATS,
            "nobody": NOBODY,
        },
        status_code=422 if filters.errors else 200,
        active="quality",
    )


@router.get("/quality/measures/{key}/export")
def measure_export(
    request: Request, db: Db, actor: Viewer, key: str, format: str = "csv"
) -> Response:
    measure = _measure(key)
    fmt = _fmt(format)
    filters = read_filters(request.query_params, clinic_today(request))
    _refuse_filters(filters)
    found, attribution = _compute(request, db, filters, [key])
    shown = found[0]
    dimension = filters.form["by"]
    rows: list[list[Cell]] = []
    for g in breakdown.groups(shown.cases, attribution, dimension):
        f = g.figures
        rows.append(
            [
                g.label,
                f.numerator,
                f.denominator,
                None if f.rate is None else round(f.rate * 100, 1),
                f.denominator_patients,
                f.median_days,
            ]
        )
    for m in shown.months:
        f = m.figures
        rows.append(
            [
                f"Month {m.month:%Y-%m}",
                f.numerator,
                f.denominator,
                None if f.rate is None else round(f.rate * 100, 1),
                f.denominator_patients,
                f.median_days,
            ]
        )
    table = Table(
        title=f"{measure.title} by {DIMENSIONS[dimension].lower()}",
        columns=[
            DIMENSIONS[dimension] + " or month",
            "Numerator",
            "Denominator",
            "Rate %",
            "Patients",
            "Median days",
        ],
        rows=rows,
    )
    return export.download(
        db,
        actor,
        table,
        fmt,
        entity_type="QualityMeasure",
        reason=f"{key} by {dimension} {filters.first}..{filters.last} {filters.query}",
    )


# --- the drill-down ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    patient_id: uuid.UUID
    name: str
    mrn: str
    case: Case


def _in_set(measure: Measure, cases: Sequence[Case], which: str) -> list[Case]:
    """The cases behind a number: met (numerator), all (denominator), or the care gaps:
    those falling short of the measure (not met; met when lower is better)."""
    if which == "numerator":
        return [c for c in cases if c.met]
    if which == "gap":
        return [c for c in cases if c.met == measure.lower_is_better]
    return list(cases)


def _rows(db: Session, cases: Sequence[Case]) -> list[Row]:
    ids = sorted({c.patient_id for c in cases}, key=str)
    people: dict[uuid.UUID, tuple[str, str]] = {}
    for chunk in chunked(ids):
        for pid, family, given, mrn in db.execute(
            select(Patient.id, Patient.family_name, Patient.given_names, Patient.mrn).where(
                Patient.id.in_(chunk)
            )
        ):
            people[pid] = (f"{family}, {given}", mrn)
    rows = [
        Row(c.patient_id, *people.get(c.patient_id, ("(unknown patient)", "")), case=c)
        for c in cases
    ]
    rows.sort(key=lambda r: (r.name.casefold(), r.mrn, r.case.on))
    return rows


def _drill(
    request: Request, db: Session, key: str
) -> tuple[Measure, Filters, str, list[Row], Shown | None]:
    measure = _measure(key)
    filters = read_filters(request.query_params, clinic_today(request))
    which = request.query_params.get("set", "numerator")
    if which not in SETS:
        filters.errors["set"] = "Choose numerator, denominator or gap."
        which = "numerator"
    if filters.errors:
        return measure, filters, which, [], None
    found, _ = _compute(request, db, filters, [key])
    shown = found[0]
    return measure, filters, which, _rows(db, _in_set(measure, shown.cases, which)), shown


@router.get("/quality/measures/{key}/patients")
def drill_down(request: Request, db: Db, actor: Viewer, key: str, page: int = 1) -> Response:
    measure, filters, which, rows, shown = _drill(request, db, key)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    on_page = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    with deferred(db):  # one INSERT for the page's patients
        for patient_id in dict.fromkeys(r.patient_id for r in on_page):
            record(
                db,
                actor,
                Action.READ,
                entity_type="QualityDrillDown",
                entity_id=key,
                patient_id=patient_id,
                reason=f"{which} {filters.first}..{filters.last} {filters.query}",
            )
    query = urlencode({"set": which}) + ("&" + filters.query if filters.query else "")
    return render(
        request,
        "analytics/patients.html",
        {
            "measure": measure,
            "filters": filters,
            "which": which,
            "sets": SETS,
            "rows": on_page,
            "total": len(rows),
            "patients": len({r.patient_id for r in rows}),
            "shown": shown,
            "page": page,
            "pages": pages,
            "query": query,
            "period_words": _period_words(filters),
            "formats": FORMATS,
            "options": _options(db),
            "dimensions": DIMENSIONS,
        },
        status_code=422 if filters.errors else 200,
        active="quality",
    )


def _one_decimal(days: float | None) -> float | None:
    return None if days is None else round(days, 1)


@router.get("/quality/measures/{key}/patients/export")
def drill_down_export(
    request: Request, db: Db, actor: Viewer, key: str, format: str = "csv"
) -> Response:
    fmt = _fmt(format)
    measure, filters, which, rows, _ = _drill(request, db, key)
    _refuse_filters(filters)
    with_days = measure.median_label is not None
    table = Table(
        title=f"{measure.title} - {SETS[which].lower()}",
        columns=[
            "Patient",
            "MRN",
            "Case date",
            "Met",
            *(["Days"] if with_days else []),
        ],
        rows=[
            [
                r.name,
                r.mrn,
                r.case.on,
                "yes" if r.case.met else "no",
                *([_one_decimal(r.case.days)] if with_days else []),
            ]
            for r in rows
        ],
        patient_ids=[r.patient_id for r in rows],
    )
    return export.download(
        db,
        actor,
        table,
        fmt,
        entity_type="QualityDrillDown",
        reason=f"{key} {which} {filters.first}..{filters.last} {filters.query}",
    )


# --- the de-identified extract -------------------------------------------------------------

POPULATIONS = [("active", "All active patients"), ("measure", "A measure's denominator")]
DATE_MODES = [
    ("shifted", "Shifted per patient (intervals kept)"),
    ("year", "Year only (strict Safe Harbor)"),
]


def _extract_context(form: dict[str, str]) -> dict[str, Any]:
    return {
        "form": form,
        "populations": POPULATIONS,
        "date_modes": DATE_MODES,
        "formats": FORMATS,
        "measure_options": [("", "Choose a measure…")]
        + [(k, m.title) for k, m in REGISTRY.items()],
        "periods": PERIODS,
    }


def _extract_page(
    request: Request,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "analytics/extract.html",
        {**_extract_context(form), "errors": errors or {}},
        status_code=status,
        active="quality",
    )


EXTRACT_FIELDS = ("population", "measure", "period", "first", "last", "dates", "format")


@router.get("/quality/extract")
def extract_form(request: Request, actor: Extractor) -> Response:
    today = clinic_today(request)
    filters = read_filters({"period": "12"}, today)
    form = {
        "population": "active",
        "measure": "",
        "period": "12",
        "first": filters.form["first"],
        "last": filters.form["last"],
        "dates": "shifted",
        "format": "csv",
    }
    return _extract_page(request, form)


@router.post("/quality/extract", dependencies=[Csrf])
def extract_download(request: Request, db: Db, actor: Extractor, form: Posted) -> Response:
    typed = {k: (v.strip() if isinstance(v := form.get(k), str) else "") for k in EXTRACT_FIELDS}
    errors: dict[str, str] = {}
    if typed["population"] not in dict(POPULATIONS):
        errors["population"] = "Choose all active patients or a measure's denominator."
    if typed["dates"] not in dict(DATE_MODES):
        errors["dates"] = "Choose shifted dates or year only."
    if typed["format"] not in export.FORMATS:
        errors["format"] = "Choose CSV or XLSX."
    filters = read_filters({**typed, "period": typed["period"] or "12"}, clinic_today(request))
    if typed["population"] == "measure":
        if typed["measure"] not in REGISTRY:
            errors["measure"] = "Choose the measure whose denominator to extract."
        errors.update({k: v for k, v in filters.errors.items() if k in ("period", "first", "last")})
    if errors:
        return _extract_page(request, typed, errors, 422)
    dates: deidentify.DateMode = "year" if typed["dates"] == "year" else "shifted"
    as_of = clinic_today(request)
    # The request's write transaction took the write lock (SQLite has one): end it, read and
    # de-identify in a read-only unit of work, make the file, then take the lock again for
    # the one audit row.
    db.commit()
    try:
        with unit_of_work(factory_of(request), write=False) as reader:
            if typed["population"] == "measure":
                result = REGISTRY[typed["measure"]].compute(
                    reader, settings_of(request), filters.first, filters.last
                )
                ids: Sequence[uuid.UUID] = result.denominator_patients
                what = f"denominator of {typed['measure']} {filters.first}..{filters.last}"
            else:
                ids = list(reader.scalars(select(Patient.id).where(Patient.status == "active")))
                what = "all active patients"
            secret = secrets.token_bytes(32)
            rows = deidentify.extract(reader, ids, secret, as_of=as_of, dates=dates)
    except AppError as exc:
        return _extract_page(request, typed, chart_views.app_errors(exc), exc.status)
    table = Table(
        title="De-identified extract",
        columns=deidentify.TABLE_COLUMNS,
        rows=deidentify.flatten(rows),
    )
    body = export.encode(table, typed["format"])
    db.connection(execution_options={WRITE_OPTION: True})
    return export.download(
        db,
        actor,
        table,
        typed["format"],
        entity_type="DeidentifiedExtract",
        reason=(
            f"De-identified extract of {len(rows)} patient(s), {what}, "
            f"{deidentify.MODE_WORDS[dates]}"
        ),
        body=body,
    )
