"""Group: each coordinator's panel (the patients whose primary coordinator they are), what a
Group-level ``$export`` exports. Read with the permission patients are read with.

Every user with the coordinator role has one, empty (quantity 0) until charts name them; so
does anyone else a chart names (the field takes any user). A Group once served stays served:
a coordinator who changes role keeps a panel that empties as charts move on. It follows the
charts (a new primary coordinator changes both the old and the new panel; a chart's status
changes its membership) and the user (name, role, whether they can sign in).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.groups import panel_to_fhir
from carebridge.fhir.mapping import Projection, Rendered, ResourceDef, params
from carebridge.fhir.models import FhirResource
from carebridge.fhir.store import Index
from carebridge.patients.models import Patient
from carebridge.security.models import User
from carebridge.security.roles import Permission, Role

GROUP = ResourceDef(
    "Group",
    Permission.PATIENT_READ,
    params=params(
        SearchParam("name", "string", ("name",)),
        SearchParam("type", "token", ("type",)),
        SearchParam("actual", "token", ("actual",)),
        SearchParam("member", "reference", ("member.entity",), ("Patient",)),
    ),
    summary=("identifier", "active", "type", "actual", "code", "name", "quantity"),
)


def _served(db: Session, ids: list[uuid.UUID]) -> set[str]:
    """The ids among these that already have a Group."""
    wanted = [str(i) for i in ids]
    return set(
        db.scalars(
            select(FhirResource.id).where(
                FhirResource.resource_type == GROUP.type, FhirResource.id.in_(wanted)
            )
        )
    )


def _panels(db: Session, ids: list[uuid.UUID]) -> Rendered:
    users = list(db.scalars(select(User).where(User.id.in_(ids))))
    charts: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    rows = db.execute(
        select(Patient.primary_coordinator_id, Patient.id, Patient.status)
        .where(Patient.primary_coordinator_id.in_(ids), Patient.status != "merged")
        .order_by(Patient.mrn)
    )
    for coordinator, patient_id, status in rows:
        if coordinator is not None:
            charts[coordinator].append((patient_id, status))
    served = _served(db, ids)
    for user in users:
        if user.role != Role.COORDINATOR and not charts[user.id] and str(user.id) not in served:
            continue
        resource = panel_to_fhir(user, charts[user.id])
        base = Index(status="active" if user.is_active else "inactive")
        yield resource, extract(resource, GROUP.params, base)


def _panel_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Patient):
        state = inspect(obj).attrs
        moved = state.primary_coordinator_id.history
        # Both panels when the chart changes hands (new: only the one it joins).
        for user_id in (*moved.added, *moved.deleted):
            if isinstance(user_id, uuid.UUID):
                yield user_id
        if state.status.history.has_changes() and obj.primary_coordinator_id is not None:
            yield obj.primary_coordinator_id
    elif isinstance(obj, User):
        state = inspect(obj).attrs
        if any(state[name].history.has_changes() for name in ("display_name", "role", "is_active")):
            yield obj.id  # not at each sign-in, which changes the user too


TYPES = (Projection(GROUP, _panels, _panel_feeds, User.id),)
