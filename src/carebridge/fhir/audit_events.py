"""FHIR AuditEvent, read-only, straight from the audit log: every sign-in, access, change,
export and refusal Carebridge records, for a privacy officer's tools.

Not stored as FHIR: the log is append-only and the largest table there is, and every read of
it writes to it; rendering each row into ``fhir_resources`` as well would double it. A row is
rendered when it is read, and searched with the log's own indexes (patient and time, user and
time). The id is the row's number.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.search import (
    DateValue,
    ParamDef,
    ReferenceValue,
    Search,
    StringValue,
    TokenValue,
)
from carebridge.security.models import AuditEvent

PARAMS: dict[str, ParamDef] = {
    "date": ParamDef("date", "date"),
    "patient": ParamDef("patient", "reference", ("Patient",)),
    "action": ParamDef("action", "token"),
    "outcome": ParamDef("outcome", "token"),
    "agent-name": ParamDef("agent-name", "string"),
    "entity-type": ParamDef("entity-type", "token"),
    "subtype": ParamDef("subtype", "token"),
}

# Our actions as the R4 AuditEvent action codes (C R U D E) and DICOM/REST subtypes.
_ACTION = {"create": "C", "read": "R", "update": "U", "delete": "D", "export": "R"}
_REST = "http://hl7.org/fhir/restful-interaction"
_SUBTYPE = {"create": "create", "read": "read", "update": "update", "delete": "delete"}
_DICOM = "http://dicom.nema.org/resources/ontology/DCM"
_TYPE = {
    "login": ("110114", "User Authentication"),
    "logout": ("110114", "User Authentication"),
    "failed-login": ("110114", "User Authentication"),
    "export": ("110106", "Export"),
    "access-denied": ("110113", "Security Alert"),
}
_OUTCOME = {"success": "0", "failure": "8", "denied": "4"}


def _instant(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_fhir(row: AuditEvent) -> dict[str, Any]:
    code, display = _TYPE.get(row.action, ("rest", "RESTful Operation"))
    kind = {"system": _DICOM, "code": code, "display": display}
    if code == "rest":
        kind = {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"}
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(row.id),
        "type": kind,
        "recorded": _instant(row.occurred_at),
        "outcome": _OUTCOME.get(row.outcome, "4"),
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                            "code": "PROV" if row.user_id else "ASSIGNED",
                        }
                    ]
                },
                "who": {"display": row.username or "system"},
                "requestor": row.user_id is not None,
                **({"name": row.username} if row.username else {}),
                **(
                    {"network": {"address": row.client_addr, "type": "2"}}
                    if row.client_addr
                    else {}
                ),
                **({"role": [{"text": row.role}]} if row.role else {}),
            }
        ],
        "source": {"observer": {"display": "Carebridge"}, "site": "carebridge"},
    }
    if row.action in _ACTION:
        resource["action"] = _ACTION[row.action]
    if row.action in _SUBTYPE:
        resource["subtype"] = [{"system": _REST, "code": _SUBTYPE[row.action]}]
    if row.outcome != "success" and row.reason:
        resource["outcomeDesc"] = row.reason
    entities: list[dict[str, Any]] = []
    if row.patient_id is not None:
        entities.append(
            {
                "what": {"reference": f"Patient/{row.patient_id}"},
                "role": {
                    "system": "http://terminology.hl7.org/CodeSystem/object-role",
                    "code": "1",
                    "display": "Patient",
                },
            }
        )
    if row.entity_type:
        entity: dict[str, Any] = {
            "what": {"display": f"{row.entity_type} {row.entity_id or ''}".strip()},
            "type": {"system": "urn:carebridge:record-type", "code": row.entity_type},
        }
        if row.reason and row.outcome == "success":
            entity["description"] = row.reason
        entities.append(entity)
    if entities:
        resource["entity"] = entities
    return resource


def _date(value: DateValue) -> ColumnElement[bool]:
    at = AuditEvent.occurred_at
    starts, ends = value.start, value.end
    return {
        "gt": at >= ends,
        "sa": at >= ends,
        "ge": at >= starts,
        "lt": at < starts,
        "eb": at < starts,
        "le": at < ends,
        "ne": or_(at < starts, at >= ends),
    }.get(value.prefix, and_(at >= starts, at < ends))


def _clause(name: str, values: tuple[Any, ...]) -> ColumnElement[bool]:
    if name in ("date", "_lastUpdated"):  # an audit row is written once, when it happens
        return or_(*(_date(v) for v in values if isinstance(v, DateValue)))
    if name == "patient":
        ids = [v.id for v in values if isinstance(v, ReferenceValue) and v.id]
        return AuditEvent.patient_id.in_(_uuids(ids))
    if name == "agent-name":
        texts = [v.text for v in values if isinstance(v, StringValue)]
        return or_(*(AuditEvent.username.startswith(t, autoescape=True) for t in texts))
    codes = [v.code for v in values if isinstance(v, TokenValue) and v.code]
    if name == "action":
        ours = [a for a, c in _ACTION.items() if c in codes]
        return AuditEvent.action.in_(ours)
    if name == "subtype":
        return AuditEvent.action.in_(codes)
    if name == "outcome":
        return AuditEvent.outcome.in_([o for o, c in _OUTCOME.items() if c in codes])
    if name == "entity-type":
        return AuditEvent.entity_type.in_(codes)
    if name == "_id":
        return AuditEvent.id.in_([int(c) for c in codes if c.isdigit()])
    raise FhirError(400, "not-supported", f"AuditEvent has no search parameter '{name}'")


def _uuids(ids: list[str]) -> list[uuid.UUID]:
    found = []
    for text in ids:
        try:
            found.append(uuid.UUID(text))
        except ValueError:
            continue
    return found


def search(db: Session, wanted: Search, after: int | None) -> tuple[list[AuditEvent], bool]:
    """One page, newest first (``after``: the last id of the page before); whether there is
    more."""
    if wanted.sort:
        raise FhirError(400, "not-supported", "AuditEvent is given newest first; no _sort")
    query = select(AuditEvent)
    for clause in wanted.clauses:
        if clause.modifier is not None:
            raise FhirError(400, "not-supported", f"{clause.name}:{clause.modifier} on AuditEvent")
        query = query.where(_clause(clause.name, clause.values))
    if after is not None:
        query = query.where(AuditEvent.id < after)
    rows = list(db.scalars(query.order_by(AuditEvent.id.desc()).limit(wanted.count + 1)))
    return rows[: wanted.count], len(rows) > wanted.count
