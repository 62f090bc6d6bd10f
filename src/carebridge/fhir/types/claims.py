"""Claim (prior authorizations and billed claims, in one projection) and ClaimResponse (the
payer's decision on a prior authorization)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import inspect, select, union_all
from sqlalchemy.orm import Session, object_session

from carebridge.authorizations.models import (
    AuthorizationDocument,
    AuthorizationService,
    PriorAuthorization,
)
from carebridge.billing.models import Claim, ClaimAttachment
from carebridge.coverage.models import Coverage
from carebridge.fhir import store
from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.claims import (
    claim_response_to_fhir,
    claim_to_fhir,
    preauthorization_to_fhir,
)
from carebridge.fhir.mapping import Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.referrals.models import OutsideProvider
from carebridge.scheduling.models import Appointment
from carebridge.security.roles import Permission

# One type, two records with different read permissions. BILLING_READ is the stricter: every
# role that holds it also holds PRIOR_AUTH_READ, so no one reads through FHIR what the JSON
# API would refuse them (clinicians, who may read prior authorizations there, may not here).
CLAIM = ResourceDef(
    "Claim",
    Permission.BILLING_READ,
    None,
    None,
    params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("patient", "reference", ("patient",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("use", "token", ("use",)),
        SearchParam("priority", "token", ("priority",)),
        SearchParam("created", "date", ("created",)),
        SearchParam("insurer", "reference", ("insurer",), ("Organization",)),
        SearchParam("provider", "reference", ("provider",), ("Practitioner",)),
        SearchParam("care-team", "reference", ("careTeam.provider",), ("Practitioner",)),
    ),
    summary=(
        "identifier",
        "status",
        "type",
        "use",
        "patient",
        "billablePeriod",
        "created",
        "insurer",
        "provider",
        "priority",
        "insurance",
        "total",
    ),
)

CLAIM_RESPONSE = ResourceDef(
    "ClaimResponse",
    Permission.PRIOR_AUTH_READ,
    None,
    None,
    params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("patient", "reference", ("patient",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("use", "token", ("use",)),
        SearchParam("outcome", "token", ("outcome",)),
        SearchParam("created", "date", ("created",)),
        SearchParam("insurer", "reference", ("insurer",), ("Organization",)),
        SearchParam("requestor", "reference", ("requestor",), ("Practitioner",)),
        SearchParam("request", "reference", ("request",), ("Claim",)),
    ),
    summary=(
        "identifier",
        "status",
        "type",
        "use",
        "patient",
        "created",
        "insurer",
        "requestor",
        "request",
        "outcome",
        "preAuthRef",
    ),
)

# Every Claim: the ids of both tables as one column (ids are UUIDs, unique across tables).
_CLAIM_IDS = union_all(
    select(PriorAuthorization.id.label("id")), select(Claim.id.label("id"))
).subquery("claim_ids")


def _payers(db: Session, coverage_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    rows = db.execute(select(Coverage.id, Coverage.payer_ref).where(Coverage.id.in_(coverage_ids)))
    return dict(rows.all())


def _lines(db: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[AuthorizationService]]:
    found: dict[uuid.UUID, list[AuthorizationService]] = defaultdict(list)
    for line in db.scalars(
        select(AuthorizationService)
        .where(AuthorizationService.authorization_id.in_(ids))
        .order_by(AuthorizationService.line)
    ):
        found[line.authorization_id].append(line)
    return found


def _authorizations(db: Session, ids: list[uuid.UUID]) -> list[PriorAuthorization]:
    return list(db.scalars(select(PriorAuthorization).where(PriorAuthorization.id.in_(ids))))


def _preauthorizations(db: Session, auths: list[PriorAuthorization]) -> Rendered:
    ids = [a.id for a in auths]
    payers = _payers(db, {a.coverage_id for a in auths})
    lines = _lines(db, ids)
    documents: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for auth_id, doc_id in db.execute(
        select(AuthorizationDocument.authorization_id, AuthorizationDocument.document_id)
        .where(AuthorizationDocument.authorization_id.in_(ids))
        .order_by(AuthorizationDocument.document_id)
    ):
        documents[auth_id].append(doc_id)
    outside = {a.rendering_provider_id for a in auths if a.rendering_provider_id is not None}
    providers = {
        p.id: p for p in db.scalars(select(OutsideProvider).where(OutsideProvider.id.in_(outside)))
    }
    for auth in auths:
        rendering = (
            providers.get(auth.rendering_provider_id) if auth.rendering_provider_id else None
        )
        resource = preauthorization_to_fhir(
            auth, payers[auth.coverage_id], lines[auth.id], documents[auth.id], rendering
        )
        base = Index(patient_id=auth.patient_id, status=resource["status"])
        yield resource, extract(resource, CLAIM.params, base)


def _billed(db: Session, claims: list[Claim]) -> Rendered:
    payers = _payers(db, {c.coverage_id for c in claims})
    visits = db.execute(
        select(Appointment.id, Appointment.practitioner_id).where(
            Appointment.id.in_({c.appointment_id for c in claims})
        )
    )
    practitioners = dict(visits.all())
    attachments: dict[uuid.UUID, list[ClaimAttachment]] = defaultdict(list)
    for item in db.scalars(
        select(ClaimAttachment)
        .where(ClaimAttachment.claim_id.in_([c.id for c in claims]))
        .order_by(ClaimAttachment.created_at, ClaimAttachment.id)
    ):
        attachments[item.claim_id].append(item)
    for claim in claims:
        resource = claim_to_fhir(
            claim,
            payers[claim.coverage_id],
            practitioners.get(claim.appointment_id),
            attachments[claim.id],
        )
        base = Index(patient_id=claim.patient_id, status=resource["status"])
        yield resource, extract(resource, CLAIM.params, base)


def _claims(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """Ids of prior authorizations and of billed claims alike, each looked up in both."""
    auths = _authorizations(db, ids)
    if auths:
        yield from _preauthorizations(db, auths)
    billed = list(db.scalars(select(Claim).where(Claim.id.in_(ids))))
    if billed:
        yield from _billed(db, billed)


def _claim_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, PriorAuthorization | Claim):
        yield obj.id
    elif isinstance(obj, AuthorizationService | AuthorizationDocument):
        yield obj.authorization_id
    elif isinstance(obj, ClaimAttachment):
        yield obj.claim_id
    elif isinstance(obj, OutsideProvider):
        # Contained as the rendering provider of the authorizations naming it.
        session = object_session(obj)
        if session is not None:
            yield from session.scalars(
                select(PriorAuthorization.id).where(
                    PriorAuthorization.rendering_provider_id == obj.id
                )
            )
    elif isinstance(obj, Coverage) and inspect(obj).attrs["payer_ref"].history.has_changes():
        yield from _of_coverage(obj, billed=True)


def _of_coverage(coverage: Coverage, *, billed: bool) -> Iterable[uuid.UUID]:
    """The authorizations (and claims) under a coverage moved to another payer: their
    insurer is rendered from it."""
    session = object_session(coverage)
    if session is None:
        return
    yield from session.scalars(
        select(PriorAuthorization.id).where(PriorAuthorization.coverage_id == coverage.id)
    )
    if billed:
        yield from session.scalars(select(Claim.id).where(Claim.coverage_id == coverage.id))


# --- ClaimResponse --------------------------------------------------------------------------


def _claim_responses(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """Accepts authorization ids (what ``feeds`` and a reindex give) and response ids alike;
    an authorization without a decision renders nothing."""
    auths = _authorizations(db, ids)
    missing = set(ids) - {a.id for a in auths}
    if missing:
        auths += _authorizations(
            db, store.referenced_ids(db, CLAIM_RESPONSE.type, sorted(missing), "request")
        )
    if not auths:
        return
    payers = _payers(db, {a.coverage_id for a in auths})
    lines = _lines(db, [a.id for a in auths])
    for auth in auths:
        resource = claim_response_to_fhir(auth, payers[auth.coverage_id], lines[auth.id])
        if resource is not None:
            base = Index(patient_id=auth.patient_id, status=resource["status"])
            yield resource, extract(resource, CLAIM_RESPONSE.params, base)


def _claim_response_feeds(obj: object) -> Iterable[uuid.UUID]:
    # Fed the authorization id: render turns it into the response's own id.
    if isinstance(obj, PriorAuthorization):
        yield obj.id
    elif isinstance(obj, AuthorizationService):
        yield obj.authorization_id
    elif isinstance(obj, Coverage) and inspect(obj).attrs["payer_ref"].history.has_changes():
        yield from _of_coverage(obj, billed=False)


TYPES = (
    Projection(CLAIM, _claims, _claim_feeds, _CLAIM_IDS.c.id),
    Projection(CLAIM_RESPONSE, _claim_responses, _claim_response_feeds, PriorAuthorization.id),
)
