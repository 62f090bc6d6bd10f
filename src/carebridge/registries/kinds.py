"""The kinds of registry: each a population query with its parameters, defined in code.

A registry saved by a coordinator is one of these kinds with values for its parameters, plus
the filters every registry has (primary coordinator, age range). ``validate`` checks typed
values and names the field that is wrong; ``find`` answers "who is in it now" with a few set
queries (never one per patient), giving each member the reason (``Why``) shown beside them.

Sources each kind reads:

- ``diabetes-a1c``: active, not refuted/entered-in-error problems coded ICD-10-CM E10*, E11*
  or E13* (``conditions``); HbA1c results from two places: Observations received through FHIR
  import (``fhir_resources``, any coding LOINC 4548-4, 17856-6 or 4549-2, status final,
  amended or corrected, not deleted; value from ``valueQuantity`` in %) and readings toward
  care-plan goals whose measure is HbA1c/A1c (``goal_measurements``, status final). The later
  of the two is the patient's last result.
- ``no-pcp-visit``: fulfilled appointments with a practitioner whose specialties include
  family medicine or internal medicine (``appointments``, ``practitioners``).
- ``high-risk-no-plan``: hospital stays (inpatient, observation or emergency encounters,
  planned, in progress or finished, admitted in the window up to the end of today: a planned
  admission next month is not a stay) and the LACE score of transitions of care discharged in
  the window; "no care plan" means no care plan with status active.

The rules of ``no-pcp-visit`` and ``high-risk-no-plan`` are SQL queries of patient ids, so the
list of registries counts them in the database (``count``); the diabetes rule reads the HbA1c
value out of the FHIR resource, so it is counted by running it.

Months are calendar months back from today in the clinic's zone: a result or visit on the
day exactly N months ago still counts as within the last N months.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from dateutil.relativedelta import relativedelta
from sqlalchemy import ColumnElement, Select, and_, func, select, union
from sqlalchemy.orm import Session

from carebridge.careplans.models import CarePlan, Goal, GoalMeasurement
from carebridge.fhir.models import FhirResource, FhirToken
from carebridge.lib.errors import ValidationFailed
from carebridge.patients.models import Condition, Patient
from carebridge.patients.terminology import LOINC
from carebridge.scheduling.models import Appointment, Practitioner
from carebridge.transitions.models import Encounter, Transition

DIABETES_PREFIXES = ("E10", "E11", "E13")
A1C_LOINC = ("4548-4", "17856-6", "4549-2")
A1C_MEASURES = ("hba1c", "a1c", "hemoglobin a1c", "haemoglobin a1c", "hgba1c")
RESULT_STATUSES = ("final", "amended", "corrected")
PRIMARY_CARE = frozenset({"family-medicine", "internal-medicine"})
STAY_CLASSES = ("IMP", "OBSENC", "EMER")
LIVE_STAYS = ("planned", "in-progress", "finished")
DEAD_PROBLEMS = ("entered-in-error", "refuted")
MAX_AGE = 130


@dataclass(frozen=True)
class Param:
    """One parameter of a kind (or a filter): a whole number or a decimal within bounds."""

    name: str
    label: str
    default: int | float | None
    low: float
    high: float
    hint: str
    decimal: bool = False
    optional: bool = False


@dataclass(frozen=True)
class Why:
    """Why a patient is in the registry: the cells shown beside them (in the kind's
    ``columns`` order), a sentence, and the date the list sorts "why" by."""

    cells: tuple[str | int | float | dt.date | None, ...]
    said: str
    on: dt.date | None = None


@dataclass(frozen=True)
class Context:
    """What a query needs besides the database: today in the clinic and its zone."""

    today: dt.date
    zone: str

    def months_back(self, months: int) -> dt.date:
        return self.today - relativedelta(months=months)

    def start_of(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), ZoneInfo(self.zone)).astimezone(dt.UTC)

    def local_day(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(ZoneInfo(self.zone)).date()


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    summary: str
    params: tuple[Param, ...]
    columns: tuple[str, ...]
    find: Callable[
        [Session, Context, Mapping[str, Any], Select[uuid.UUID]], dict[uuid.UUID, Why]
    ] = field(repr=False)
    # How many are in it, counted by the database from the same rule as ``find`` (None: the
    # rule needs Python, e.g. the HbA1c value is read from the FHIR resource; count ``find``).
    count: Callable[[Session, Context, Mapping[str, Any], Select[uuid.UUID]], int] | None = field(
        default=None, repr=False
    )


# --- filters every registry has ----------------------------------------------------------

FILTERS = (
    Param("age_min", "Age from", None, 0, MAX_AGE, "Years, inclusive.", optional=True),
    Param("age_max", "Age to", None, 0, MAX_AGE, "Years, inclusive.", optional=True),
)


def population(ctx: Context, values: Mapping[str, Any]) -> Select[uuid.UUID]:
    """The active (not merged, not deceased) patients the filters keep, as a query of ids."""
    query = select(Patient.id).where(
        Patient.status == "active",
        Patient.deceased_date.is_(None),
        Patient.merged_into_id.is_(None),
    )
    coordinator = values.get("coordinator_id")
    if coordinator:
        query = query.where(Patient.primary_coordinator_id == uuid.UUID(str(coordinator)))
    if values.get("age_min") is not None:  # aged at least n: born on or before today - n y
        query = query.where(
            Patient.birth_date <= ctx.today - relativedelta(years=int(values["age_min"]))
        )
    if values.get("age_max") is not None:  # at most n: born after today - (n + 1) years
        query = query.where(
            Patient.birth_date > ctx.today - relativedelta(years=int(values["age_max"]) + 1)
        )
    return query


# --- diabetes: HbA1c overdue or high -------------------------------------------------------


def _percent(content: bytes) -> float | None:
    quantity = orjson.loads(content).get("valueQuantity")
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
        return None
    unit = str(quantity.get("code") or quantity.get("unit") or "%")
    return float(quantity["value"]) if unit.strip() == "%" else None


def _effective_day(content: bytes, start: dt.datetime, ctx: Context) -> dt.date:
    """A date-only effective date as written; an instant as the clinic's local day."""
    written = orjson.loads(content).get("effectiveDateTime")
    if isinstance(written, str) and len(written) == 10:
        try:
            return dt.date.fromisoformat(written)
        except ValueError:
            pass
    return ctx.local_day(start)


def last_a1c(
    db: Session, ctx: Context, patients: Select[uuid.UUID]
) -> dict[uuid.UUID, tuple[dt.date, float | None, str]]:
    """Each patient's latest HbA1c: (day, value in % or None, source)."""
    found: dict[uuid.UUID, tuple[dt.date, float | None, str]] = {}
    coded = select(FhirToken.resource_pk).where(
        FhirToken.param == "code", FhirToken.system == LOINC, FhirToken.code.in_(A1C_LOINC)
    )
    where = (
        FhirResource.resource_type == "Observation",
        FhirResource.deleted.is_(False),
        FhirResource.status.in_(RESULT_STATUSES),
        FhirResource.date_start.is_not(None),
        FhirResource.patient_id.in_(patients),
        FhirResource.pk.in_(coded),
    )
    latest = (
        select(FhirResource.patient_id.label("p"), func.max(FhirResource.date_start).label("d"))
        .where(*where)
        .group_by(FhirResource.patient_id)
        .subquery()
    )
    rows = db.execute(
        select(FhirResource.patient_id, FhirResource.date_start, FhirResource.content)
        .join(
            latest,
            and_(FhirResource.patient_id == latest.c.p, FhirResource.date_start == latest.c.d),
        )
        .where(*where)
    )
    for patient_id, start, content in rows:
        assert patient_id is not None  # by the query
        assert start is not None
        day, value = _effective_day(content, start, ctx), _percent(content)
        before = found.get(patient_id)
        if before is None or (before[1] or 0) < (value or 0):
            found[patient_id] = (day, value, "lab result")
    reading = (
        select(
            CarePlan.patient_id,
            GoalMeasurement.measured_on,
            GoalMeasurement.value,
        )
        .join(Goal, Goal.id == GoalMeasurement.goal_id)
        .join(CarePlan, CarePlan.id == Goal.care_plan_id)
        .where(
            GoalMeasurement.status == "final",
            Goal.lifecycle_status != "entered-in-error",
            CarePlan.status != "entered-in-error",
            func.lower(Goal.measure).in_(A1C_MEASURES),
            CarePlan.patient_id.in_(patients),
        )
    )
    for patient_id, day, amount in db.execute(reading):
        value = float(amount)
        before = found.get(patient_id)
        if before is None or day > before[0] or (day == before[0] and value > (before[1] or 0)):
            found[patient_id] = (day, value, "goal measurement")
    return found


def diabetics(patients: Select[uuid.UUID]) -> Select[uuid.UUID]:
    """Patients with an active diabetes problem on their problem list."""
    return (
        select(Condition.patient_id)
        .where(
            Condition.clinical_status == "active",
            Condition.verification_status.not_in(DEAD_PROBLEMS),
            func.upper(func.substr(Condition.code, 1, 3)).in_(DIABETES_PREFIXES),
            Condition.patient_id.in_(patients),
        )
        .distinct()
    )


def _diabetes(
    db: Session, ctx: Context, values: Mapping[str, Any], patients: Select[uuid.UUID]
) -> dict[uuid.UUID, Why]:
    months, above = int(values["months"]), float(values["above"])
    since = ctx.months_back(months)
    sick = diabetics(patients)
    results = last_a1c(db, ctx, sick)
    members: dict[uuid.UUID, Why] = {}
    for patient_id in db.scalars(sick):
        last = results.get(patient_id)
        if last is None:
            members[patient_id] = Why((None, None, None), "No HbA1c on record.")
            continue
        day, value, source = last
        shown = f"{value:g} %" if value is not None else "value not in %"
        if day < since:
            said = f"Last HbA1c {shown} on {day.isoformat()}, more than {months} months ago."
            members[patient_id] = Why((value, day, source), said, day)
        elif value is not None and value > above:
            said = f"Last HbA1c {shown} on {day.isoformat()}, above {above:g} %."
            members[patient_id] = Why((value, day, source), said, day)
    return members


# --- no primary care visit -----------------------------------------------------------------


def primary_care(db: Session) -> list[uuid.UUID]:
    """Practitioners with a primary-care specialty (specialties are a JSON list)."""
    return [
        pid
        for pid, specialties in db.execute(select(Practitioner.id, Practitioner.specialties))
        if PRIMARY_CARE & set(specialties or ())
    ]


def _no_pcp_ids(
    ctx: Context, values: Mapping[str, Any], patients: Select[uuid.UUID], doctors: list[uuid.UUID]
) -> Select[uuid.UUID]:
    """The rule, in SQL: the patients with no fulfilled primary care visit since N months ago
    (an anti-join, so the database finds them without reading every patient out)."""
    since = ctx.start_of(ctx.months_back(int(values["months"])))
    seen = select(Appointment.id).where(
        Appointment.patient_id == Patient.id,
        Appointment.status == "fulfilled",
        Appointment.practitioner_id.in_(doctors),
        Appointment.starts_at >= since,
    )
    return patients.where(~seen.exists())


def _no_pcp(
    db: Session, ctx: Context, values: Mapping[str, Any], patients: Select[uuid.UUID]
) -> dict[uuid.UUID, Why]:
    months = int(values["months"])
    doctors = primary_care(db)
    lacking = _no_pcp_ids(ctx, values, patients, doctors)
    last: dict[uuid.UUID, dt.datetime] = dict(
        db.execute(
            select(Appointment.patient_id, func.max(Appointment.starts_at))
            .where(
                Appointment.status == "fulfilled",
                Appointment.practitioner_id.in_(doctors),
                Appointment.patient_id.in_(lacking),
            )
            .group_by(Appointment.patient_id)
        ).all()
    )
    members: dict[uuid.UUID, Why] = {}
    for patient_id in db.scalars(lacking):
        when = last.get(patient_id)
        if when is None:
            members[patient_id] = Why((None,), "No completed primary care visit on record.")
        else:  # older than the window, by the rule
            day = ctx.local_day(when)
            said = f"Last primary care visit {day.isoformat()}, more than {months} months ago."
            members[patient_id] = Why((day,), said, day)
    return members


def _no_pcp_count(
    db: Session, ctx: Context, values: Mapping[str, Any], patients: Select[uuid.UUID]
) -> int:
    return _count(db, _no_pcp_ids(ctx, values, patients, primary_care(db)))


# --- high risk without a care plan ---------------------------------------------------------


def _stays(ctx: Context, since_day: dt.date) -> tuple[ColumnElement[bool], ...]:
    """Hospital or emergency stays admitted from ``since_day`` up to the end of today (a
    planned admission later than today is not a stay yet)."""
    return (
        Encounter.class_code.in_(STAY_CLASSES),
        Encounter.status.in_(LIVE_STAYS),
        Encounter.admit_at >= ctx.start_of(since_day),
        Encounter.admit_at < ctx.start_of(ctx.today + dt.timedelta(days=1)),
    )


def _scored(since_day: dt.date, today: dt.date) -> tuple[ColumnElement[bool], ...]:
    """Transitions of care discharged in the window with a LACE score."""
    return (
        Transition.lace_score.is_not(None),
        Transition.status != "cancelled",
        Transition.discharged_on >= since_day,
        Transition.discharged_on <= today,
    )


def _high_risk_ids(
    ctx: Context, values: Mapping[str, Any], patients: Select[uuid.UUID]
) -> Select[uuid.UUID]:
    """The rule, in SQL: no active care plan, and at least S stays in the window or (when a
    LACE threshold is set) a LACE score of at least L on a discharge in it."""
    since_day = ctx.months_back(int(values["months"]))
    planned = select(CarePlan.patient_id).where(CarePlan.status == "active")
    unplanned = patients.where(Patient.id.not_in(planned))
    stayed = (
        select(Encounter.patient_id)
        .where(*_stays(ctx, since_day), Encounter.patient_id.in_(unplanned))
        .group_by(Encounter.patient_id)
        .having(func.count() >= int(values["stays"]))
    )
    lace = values.get("lace")
    if lace is None:
        return stayed
    scored = select(Transition.patient_id).where(
        *_scored(since_day, ctx.today),
        Transition.lace_score >= int(lace),
        Transition.patient_id.in_(unplanned),
    )
    either = union(stayed, scored).subquery()
    return select(either.c.patient_id)


def _high_risk(
    db: Session, ctx: Context, values: Mapping[str, Any], patients: Select[uuid.UUID]
) -> dict[uuid.UUID, Why]:
    months, least = int(values["months"]), int(values["stays"])
    lace = values.get("lace")
    since_day = ctx.months_back(months)
    chosen = _high_risk_ids(ctx, values, patients).subquery()
    inside = select(chosen.c.patient_id)
    stays = {
        patient_id: (count, ctx.local_day(latest) if latest is not None else None)
        for patient_id, count, latest in db.execute(
            select(Encounter.patient_id, func.count(), func.max(Encounter.admit_at))
            .where(*_stays(ctx, since_day), Encounter.patient_id.in_(inside))
            .group_by(Encounter.patient_id)
        )
    }
    scores: dict[uuid.UUID, int] = {}
    if lace is not None:
        scores = {
            patient_id: int(score)
            for patient_id, score in db.execute(
                select(Transition.patient_id, func.max(Transition.lace_score))
                .where(*_scored(since_day, ctx.today), Transition.patient_id.in_(inside))
                .group_by(Transition.patient_id)
            )
            if score is not None
        }
    members: dict[uuid.UUID, Why] = {}
    for patient_id in db.scalars(inside):
        count, latest = stays.get(patient_id, (0, None))
        score = scores.get(patient_id)
        reasons = []  # what the rule found, in words
        if count >= least:
            reasons.append(f"{count} hospital or emergency stays in {months} months")
        if score is not None and lace is not None and score >= int(lace):
            reasons.append(f"LACE score {score}")
        said = "; ".join(reasons) + "; no active care plan."
        members[patient_id] = Why((count, latest, score), said[0].upper() + said[1:], latest)
    return members


def _high_risk_count(
    db: Session, ctx: Context, values: Mapping[str, Any], patients: Select[uuid.UUID]
) -> int:
    return _count(db, _high_risk_ids(ctx, values, patients))


def _count(db: Session, ids: Select[uuid.UUID]) -> int:
    return db.scalar(select(func.count()).select_from(ids.subquery())) or 0


MONTHS_HINT = "Calendar months back from today."
KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(
            "diabetes-a1c",
            "Diabetes: HbA1c overdue or high",
            "Active diabetes (ICD-10-CM E10, E11, E13) with no HbA1c in the last N months, "
            "or a last HbA1c above X %.",
            (
                Param("months", "HbA1c within (months)", 6, 1, 60, MONTHS_HINT),
                Param("above", "Last HbA1c above (%)", 9.0, 4, 20, "E.g. 9.", decimal=True),
            ),
            ("Last HbA1c (%)", "HbA1c date", "HbA1c source"),
            _diabetes,
        ),
        Kind(
            "no-pcp-visit",
            "No primary care visit",
            "Active patients without a completed visit with a family or internal medicine "
            "practitioner in the last N months.",
            (Param("months", "Visit within (months)", 12, 1, 60, MONTHS_HINT),),
            ("Last PCP visit",),
            _no_pcp,
            _no_pcp_count,
        ),
        Kind(
            "high-risk-no-plan",
            "High risk without a care plan",
            "Patients with at least S hospital or emergency stays in the last N months, or a "
            "LACE score of L or more on a discharge in that time, and no active care plan.",
            (
                Param("months", "Stays within (months)", 12, 1, 60, MONTHS_HINT),
                Param("stays", "At least (stays)", 2, 1, 20, "Inpatient, observation or ED."),
                Param(
                    "lace",
                    "Or LACE score at least",
                    10,
                    0,
                    19,
                    "Leave blank to use stays only. 10 or more is high risk.",
                    optional=True,
                ),
            ),
            ("Stays", "Last stay", "Highest LACE"),
            _high_risk,
            _high_risk_count,
        ),
    )
}


def defaults(kind: str) -> dict[str, Any]:
    return {p.name: p.default for p in KINDS[kind].params}


def _number(param: Param, text: str) -> int | float:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("Enter a number" + (", e.g. 9.5." if param.decimal else ".")) from None
    if not number.is_finite():
        raise ValueError("Enter a number.")
    if not param.decimal and number != number.to_integral_value():
        raise ValueError("Enter a whole number.")
    if not param.low <= number <= param.high:
        raise ValueError(f"Enter a number from {param.low:g} to {param.high:g}.")
    return float(number) if param.decimal else int(number)


def validate(kind: str, typed: Mapping[str, Any]) -> dict[str, Any]:
    """The typed parameters and filters of a registry of ``kind``, checked and typed;
    ValidationFailed names each field that is wrong and how to fix it."""
    if kind not in KINDS:
        raise ValidationFailed(
            f"There is no registry kind {kind!r}; choose one of: {', '.join(KINDS)}.",
            fields={"kind": "Choose the kind of registry from the list."},
        )
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for param in (*KINDS[kind].params, *FILTERS):
        raw = typed.get(param.name)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if param.optional:
                values[param.name] = None
            else:
                errors[param.name] = f"Enter the {param.label.lower()}."
            continue
        try:
            values[param.name] = _number(param, text)
        except ValueError as exc:
            errors[param.name] = str(exc)
    low, high = values.get("age_min"), values.get("age_max")
    if low is not None and high is not None and low > high:
        errors["age_max"] = "The upper age must not be below the lower one."
    coordinator = str(typed.get("coordinator_id") or "").strip()
    if coordinator:
        try:
            values["coordinator_id"] = str(uuid.UUID(coordinator))
        except ValueError:
            errors["coordinator_id"] = "Choose the coordinator from the list."
    else:
        values["coordinator_id"] = None
    if errors:
        names = ", ".join(errors)
        raise ValidationFailed(f"Check the registry's settings: {names}.", fields=errors)
    return values


def find(db: Session, ctx: Context, kind: str, values: Mapping[str, Any]) -> dict[uuid.UUID, Why]:
    """Who is in a registry of ``kind`` with ``values`` now, and why."""
    chosen = KINDS[kind]
    merged = {**defaults(kind), **values}
    return chosen.find(db, ctx, merged, population(ctx, merged))


def count(db: Session, ctx: Context, kind: str, values: Mapping[str, Any]) -> int:
    """How many are in a registry of ``kind`` with ``values`` now (what ``find`` would give)."""
    chosen = KINDS[kind]
    merged = {**defaults(kind), **values}
    if chosen.count is None:
        return len(chosen.find(db, ctx, merged, population(ctx, merged)))
    return chosen.count(db, ctx, merged, population(ctx, merged))
