"""FHIR Slot search: free times, computed from the scheduler when asked (slots are not
stored: they follow from working hours, time off and bookings at the moment of the search).

``GET /fhir/R4/Slot?service-type=urn:carebridge:appointment-type|<code>`` with optionally
``start=ge<date>`` (and ``lt``/``le`` for the end of the window), ``schedule.actor=
Practitioner/<id>`` or ``Location/<id>``, ``_count``: the scheduler's own first-available
search (``scheduling.service.search_slots``), each free time a Slot of the Schedule (the
availability rule) it falls in. A slot's id names its schedule and start, so the same time
keeps its id between searches.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.scheduling import (
    APPOINTMENT_TYPE_SYSTEM,
    MODALITY_SERVICES,
    SNOMED,
)
from carebridge.fhir.search import ChainValue, DateValue, ParamDef, Search, TokenValue
from carebridge.scheduling import service as scheduling
from carebridge.scheduling.models import AppointmentType, AvailabilityRule
from carebridge.scheduling.schemas import MAX_WINDOW_DAYS, Slot, SlotQuery

PARAMS: dict[str, ParamDef] = {
    "service-type": ParamDef("service-type", "token"),
    "start": ParamDef("start", "date"),
    "status": ParamDef("status", "token"),
    "schedule": ParamDef("schedule", "reference", ("Schedule",)),
}


def _window(values: Sequence[DateValue], today: dt.date) -> tuple[dt.date, int]:
    first, last = today, today + dt.timedelta(days=13)
    for value in values:
        if value.prefix in ("ge", "gt", "sa"):
            first = max(first, value.start.date())
        elif value.prefix in ("lt", "le", "eb"):
            last = min(last, (value.end - dt.timedelta(microseconds=1)).date())
        elif value.prefix == "eq":
            first, last = value.start.date(), (value.end - dt.timedelta(microseconds=1)).date()
        else:
            raise FhirError(400, "not-supported", f"start={value.prefix}: use ge, gt, lt, le or eq")
    days = (last - first).days + 1
    if days < 1:
        raise FhirError(400, "invalid", "start: the window ends before it begins")
    return first, min(days, MAX_WINDOW_DAYS)


def query_of(db: Session, search: Search, today: dt.date) -> SlotQuery:
    kind_id: uuid.UUID | None = None
    practitioner: uuid.UUID | None = None
    location: uuid.UUID | None = None
    dates: list[DateValue] = []
    for clause in search.clauses:
        if clause.name == "service-type":
            codes = [
                v.code
                for v in clause.values
                if isinstance(v, TokenValue) and v.system in (None, APPOINTMENT_TYPE_SYSTEM)
            ]
            kind_id = db.scalar(select(AppointmentType.id).where(AppointmentType.code.in_(codes)))
            if kind_id is None:
                raise FhirError(
                    400, "invalid", f"service-type: no visit type {', '.join(map(str, codes))}"
                )
        elif clause.name == "start":
            dates += [v for v in clause.values if isinstance(v, DateValue)]
        elif clause.name == "status":
            if any(isinstance(v, TokenValue) and v.code != "free" for v in clause.values):
                raise FhirError(400, "not-supported", "Only free slots are searched (status=free)")
        elif clause.name == "schedule" and clause.chain == "actor":
            for value in clause.values:
                text = value.raw if isinstance(value, ChainValue) else ""
                kind, _, rid = text.partition("/")
                try:
                    target = uuid.UUID(rid)
                except ValueError as exc:
                    raise FhirError(
                        400, "invalid", f"schedule.actor={text}: Practitioner/<id> or Location/<id>"
                    ) from exc
                if kind == "Practitioner":
                    practitioner = target
                elif kind == "Location":
                    location = target
                else:
                    raise FhirError(
                        400, "invalid", f"schedule.actor={text}: Practitioner or Location"
                    )
        else:
            raise FhirError(
                400,
                "not-supported",
                "Slot search takes service-type, start, status and schedule.actor, "
                f"not {clause.name}",
            )
    if kind_id is None:
        raise FhirError(
            400,
            "required",
            "Slot search needs service-type=urn:carebridge:appointment-type|<visit type code>",
        )
    first, days = _window(dates, today)
    return SlotQuery(
        appointment_type_id=kind_id,
        practitioner_id=practitioner,
        location_id=location,
        start=first,
        days=days,
        limit=min(max(search.count, 1), 200),
    )


def _schedule(db: Session, slot: Slot) -> uuid.UUID | None:
    """The availability rule the free time falls in (its Schedule)."""
    day = slot.starts_at.astimezone(ZoneInfo(slot.timezone)).date()
    rules = db.scalars(
        select(AvailabilityRule).where(
            AvailabilityRule.practitioner_id == slot.practitioner_id,
            AvailabilityRule.location_id == slot.location_id,
            AvailabilityRule.active,
            AvailabilityRule.valid_from <= day,
        )
    )
    for rule in rules:
        if rule.valid_until is None or rule.valid_until >= day:
            return rule.id
    return None


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_fhir(slot: Slot, schedule: uuid.UUID, kind_code: str) -> dict[str, Any]:
    minutes = int(slot.starts_at.timestamp() // 60)
    service = [{"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": kind_code}]}]
    if slot.modality in MODALITY_SERVICES:
        code, display = MODALITY_SERVICES[slot.modality]
        service.append({"coding": [{"system": SNOMED, "code": code, "display": display}]})
    return {
        "resourceType": "Slot",
        "id": f"{schedule}.{minutes}",
        "serviceType": service,
        "schedule": {"reference": f"Schedule/{schedule}"},
        "status": "free",
        "start": _instant(slot.starts_at),
        "end": _instant(slot.ends_at),
        "comment": slot.explanation,
    }


def search(db: Session, wanted: Search, today: dt.date) -> list[dict[str, Any]]:
    q = query_of(db, wanted, today)
    code = db.scalar(
        select(AppointmentType.code).where(AppointmentType.id == q.appointment_type_id)
    )
    found = []
    for slot in scheduling.search_slots(db, q):
        schedule = _schedule(db, slot)
        if schedule is not None:
            found.append(to_fhir(slot, schedule, str(code)))
    return found
