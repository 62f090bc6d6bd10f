"""Observation: the chart's social history (one Observation per fact it states) and the
measurements recorded against care-plan goals. Observations received from elsewhere (an
import, a client's POST) are kept in the same type as they were sent: they are found by the
same search, and written and deleted through FHIR as before; Carebridge's own are changed on
their screens."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import inspect, select, union_all
from sqlalchemy.orm import Session, object_session

from carebridge.careplans.models import CarePlan, Goal, GoalMeasurement
from carebridge.db.history import RecordVersion
from carebridge.fhir import store
from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.observations import (
    SMOKING_STATUS_PROFILE,
    SOCIAL_FACTS,
    measurement_to_fhir,
    social_history_to_fhir,
    social_observation_id,
)
from carebridge.fhir.mapping import Projection, Rendered, ResourceDef, params
from carebridge.fhir.models import FhirResource
from carebridge.fhir.store import Index
from carebridge.lib.time import as_utc
from carebridge.patients.models import SocialHistory
from carebridge.security.roles import Permission

ERROR = "entered-in-error"

OBSERVATION = ResourceDef(
    "Observation",
    # Social history and goal measurements are read by the same roles (HISTORY_READ and
    # CAREPLAN_READ go together); received ones have always needed HISTORY_READ.
    Permission.HISTORY_READ,
    None,  # no writer: what is sent is kept as received; ours are changed on their screens
    SMOKING_STATUS_PROFILE,
    params(
        SearchParam("patient", "reference", ("subject",), ("Patient",)),
        SearchParam(
            "subject", "reference", ("subject",), ("Patient", "Group", "Device", "Location")
        ),
        SearchParam("encounter", "reference", ("encounter",), ("Encounter",)),
        SearchParam("performer", "reference", ("performer",)),
        SearchParam("based-on", "reference", ("basedOn",)),
        SearchParam("part-of", "reference", ("partOf",)),
        SearchParam("derived-from", "reference", ("derivedFrom",)),
        SearchParam("has-member", "reference", ("hasMember",)),
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("code", "token", ("code",)),
        SearchParam("component-code", "token", ("component.code",)),
        SearchParam("date", "date", ("effective[x]",)),
    ),
    summary=(
        "identifier",
        "basedOn",
        "partOf",
        "status",
        "code",
        "subject",
        "focus",
        "encounter",
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveInstant",
        "issued",
        "performer",
        "valueQuantity",
        "valueCodeableConcept",
        "valueString",
        "valueBoolean",
        "hasMember",
        "derivedFrom",
        "component",
    ),
)


def withdrawn(
    db: Session, kind: str, ids: Sequence[uuid.UUID], searched_by: Mapping[str, SearchParam]
) -> Rendered:
    """Resources of ours among ``ids`` that their record no longer states (a fact cleared, a
    prescriber removed), as their last rendering marked ``entered-in-error``: a client that
    read them learns they no longer hold, and nothing is deleted."""
    if not ids:
        return
    rows = db.execute(
        select(*store.COLUMNS).where(
            FhirResource.resource_type == kind,
            FhirResource.id.in_([str(i) for i in ids]),
            FhirResource.origin == "mapped",
            FhirResource.deleted.is_(False),
        )
    )
    for row in rows:
        stored = store.stored_of(row)
        resource: dict[str, Any] = orjson.loads(stored.content)
        meta = resource.pop("meta", {})
        kept = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        resource = {**({"meta": kept} if kept else {}), **resource, "status": ERROR}
        base = Index(patient_id=stored.patient_id, status=ERROR)
        yield resource, extract(resource, searched_by, base)


# --- social history --------------------------------------------------------------------------


def _recorded(db: Session, records: list[SocialHistory]) -> dict[uuid.UUID, dict[str, datetime]]:
    """When each fact of each record was last recorded: the time of the newest version that
    changed it (from the records' history of changes)."""
    found: dict[uuid.UUID, dict[str, datetime]] = defaultdict(dict)
    versions = db.execute(
        select(RecordVersion.entity_id, RecordVersion.changed_at, RecordVersion.data)
        .where(
            RecordVersion.entity_type == SocialHistory.__name__,
            RecordVersion.entity_id.in_([r.id for r in records]),
        )
        .order_by(RecordVersion.entity_id, RecordVersion.version)
    )
    before: dict[uuid.UUID, dict[str, Any]] = {}
    for record_id, changed_at, data in versions:
        earlier = before.get(record_id)
        for fact in SOCIAL_FACTS:
            if earlier is None or earlier.get(fact) != data.get(fact):
                found[record_id][fact] = as_utc(changed_at)
        before[record_id] = data
    return found


def _social_history(db: Session, ids: list[uuid.UUID]) -> Rendered:
    records = list(db.scalars(select(SocialHistory).where(SocialHistory.id.in_(ids))))
    if not records:
        return
    recorded = _recorded(db, records)
    cleared = []
    for record in records:
        for fact in SOCIAL_FACTS:
            when = recorded[record.id].get(fact, as_utc(record.updated_at))
            resource = social_history_to_fhir(record, fact, when)
            if resource is None:
                cleared.append(social_observation_id(record.id, fact))
                continue
            base = Index(patient_id=record.patient_id, status=resource["status"])
            yield resource, extract(resource, OBSERVATION.params, base)
    yield from withdrawn(db, OBSERVATION.type, cleared, OBSERVATION.params)


# --- goal measurements -----------------------------------------------------------------------


def _measurements(db: Session, ids: list[uuid.UUID]) -> Rendered:
    rows = db.execute(
        select(GoalMeasurement, Goal, CarePlan.patient_id)
        .join(Goal, Goal.id == GoalMeasurement.goal_id)
        .join(CarePlan, CarePlan.id == Goal.care_plan_id)
        .where(GoalMeasurement.id.in_(ids))
    )
    for reading, goal, patient_id in rows:
        resource = measurement_to_fhir(reading, goal, patient_id)
        base = Index(patient_id=patient_id, status=reading.status)
        yield resource, extract(resource, OBSERVATION.params, base)


def _observations(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """Ids of social-history records (each gives an Observation per fact) and of goal
    measurements alike, each looked up in both."""
    yield from _social_history(db, ids)
    yield from _measurements(db, ids)


def _goal_changed(goal: Goal) -> bool:
    """Whether what its measurements show of a goal (its measure and unit) just changed."""
    state = inspect(goal)
    return any(state.attrs[a].history.has_changes() for a in ("measure", "unit", "description"))


def _observation_feeds(obj: object) -> Iterable[uuid.UUID]:
    # Fed the record's id: a social-history record's render gives all its facts.
    if isinstance(obj, SocialHistory | GoalMeasurement):
        yield obj.id
    elif isinstance(obj, Goal) and _goal_changed(obj):
        session = object_session(obj)
        if session is not None:
            yield from session.scalars(
                select(GoalMeasurement.id).where(GoalMeasurement.goal_id == obj.id)
            )


# A reindex renders both kinds: the ids of the two tables, as one column.
_OBSERVATION_IDS = union_all(
    select(SocialHistory.id.label("id")), select(GoalMeasurement.id.label("id"))
).subquery("observation_ids")


TYPES = (Projection(OBSERVATION, _observations, _observation_feeds, _OBSERVATION_IDS.c.id),)
