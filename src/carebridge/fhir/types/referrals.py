"""ServiceRequest, from referrals (with their outside provider contained)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.referrals import SERVICE_REQUEST_PROFILE, service_request_to_fhir
from carebridge.fhir.mapping import Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.referrals.models import OutsideProvider, Referral, ReferralAttachment
from carebridge.security.roles import Permission

SERVICE_REQUEST = ResourceDef(
    "ServiceRequest",
    Permission.REFERRAL_READ,
    Permission.REFERRAL_WRITE,
    SERVICE_REQUEST_PROFILE,
    params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("patient", "reference", ("subject",), ("Patient",)),
        SearchParam("subject", "reference", ("subject",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("intent", "token", ("intent",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("code", "token", ("code",)),
        SearchParam("priority", "token", ("priority",)),
        SearchParam("authored", "date", ("authoredOn",)),
    ),
    summary=(
        "identifier",
        "status",
        "intent",
        "category",
        "priority",
        "code",
        "subject",
        "occurrenceDateTime",
        "authoredOn",
        "requester",
        "performer",
        "reasonCode",
    ),
)


def _service_requests(db: Session, ids: list[uuid.UUID]) -> Rendered:
    referrals = list(db.scalars(select(Referral).where(Referral.id.in_(ids))))
    if not referrals:
        return
    provider_ids = {r.provider_id for r in referrals}
    providers = {
        p.id: p
        for p in db.scalars(select(OutsideProvider).where(OutsideProvider.id.in_(provider_ids)))
    }
    attached: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    rows = db.execute(
        select(ReferralAttachment.referral_id, ReferralAttachment.document_id)
        .where(ReferralAttachment.referral_id.in_([r.id for r in referrals]))
        .order_by(ReferralAttachment.referral_id, ReferralAttachment.document_id)
    )
    for referral_id, document_id in rows:
        attached[referral_id].append(document_id)
    for referral in referrals:
        resource = service_request_to_fhir(
            referral, providers[referral.provider_id], attached[referral.id]
        )
        base = Index(patient_id=referral.patient_id, status=resource["status"])
        yield resource, extract(resource, SERVICE_REQUEST.params, base)


def _service_request_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Referral):
        yield obj.id
    elif isinstance(obj, ReferralAttachment):
        yield obj.referral_id
    elif isinstance(obj, OutsideProvider):
        # A directory entry is contained in every referral to or from it; the ORM object
        # alone does not know them, so they are looked up in its own session.
        session = object_session(obj)
        if session is not None and obj.id is not None:
            yield from session.scalars(select(Referral.id).where(Referral.provider_id == obj.id))


TYPES = (Projection(SERVICE_REQUEST, _service_requests, _service_request_feeds, Referral.id),)
