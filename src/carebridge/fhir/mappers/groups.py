"""A coordinator's panel as an R4 Group: the patients whose chart names them as primary
coordinator (``Patient.primary_coordinator_id``).

The Group's id is the coordinator's user id (users are not a served type; the panel is the
only thing of theirs FHIR shows). Each chart is a member by reference, without display, so a
renamed patient leaves no stale name here. A chart marked inactive or deceased still names
its coordinator but is no longer coordinated: it stays listed, ``inactive``, and is not
counted in ``quantity`` (R4 lets the count be less than the members for that reason). A chart
merged into another is left out: its survivor is the member.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from carebridge.fhir.mappers.elements import (
    prune,
)
from carebridge.security.models import User

# Chart statuses whose patient is still on the panel; the others are listed as inactive.
ON_PANEL = frozenset(("active",))


def panel_to_fhir(user: User, charts: Sequence[tuple[uuid.UUID, str]]) -> dict[str, Any]:
    """``charts``: (patient id, chart status) of the charts naming ``user`` as their primary
    coordinator, merged ones excluded, in the order to list them."""
    resource = {
        "resourceType": "Group",
        "id": str(user.id),
        "active": user.is_active,
        "type": "person",
        "actual": True,
        "name": f"Panel of {user.display_name}",
        "quantity": sum(1 for _id, status in charts if status in ON_PANEL),
        "member": [
            {
                "entity": {"reference": f"Patient/{patient_id}"},
                "inactive": True if status not in ON_PANEL else None,
            }
            for patient_id, status in charts
        ],
    }
    return cast(dict[str, Any], prune(resource))
