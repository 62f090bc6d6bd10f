"""Organization (payers), Coverage, CoverageEligibilityRequest and CoverageEligibilityResponse,
from the coverage domain."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, object_session

from carebridge.coverage.models import Coverage, EligibilityCheck, Payer, Plan
from carebridge.fhir import store
from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.coverage import (
    COVERAGE_PROFILE,
    ORGANIZATION_PROFILE,
    coverage_to_fhir,
    eligibility_request_to_fhir,
    eligibility_response_to_fhir,
    organization_to_fhir,
)
from carebridge.fhir.mapping import Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.security.roles import Permission

ORGANIZATION = ResourceDef(
    "Organization",
    Permission.COVERAGE_READ,
    None,
    ORGANIZATION_PROFILE,
    params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("name", "string", ("name", "alias")),
        SearchParam("active", "token", ("active",)),
        SearchParam("type", "token", ("type",)),
    ),
    summary=("identifier", "active", "type", "name"),
)

COVERAGE = ResourceDef(
    "Coverage",
    Permission.COVERAGE_READ,
    None,
    COVERAGE_PROFILE,
    params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("patient", "reference", ("beneficiary",), ("Patient",)),
        SearchParam("beneficiary", "reference", ("beneficiary",), ("Patient",)),
        SearchParam("subscriber", "reference", ("subscriber",), ("Patient", "RelatedPerson")),
        SearchParam("payor", "reference", ("payor",), ("Organization",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("type", "token", ("type",)),
        SearchParam("class-type", "token", ("class.type",)),
        SearchParam("class-value", "string", ("class.value",)),
    ),
    summary=(
        "identifier",
        "status",
        "type",
        "policyHolder",
        "subscriber",
        "subscriberId",
        "beneficiary",
        "dependent",
        "period",
        "payor",
        "class",
        "order",
        "network",
        "subrogation",
        "contract",
    ),
)

_ELIGIBILITY_SUMMARY = ("identifier", "status", "purpose", "patient", "created", "insurer")

ELIGIBILITY_REQUEST = ResourceDef(
    "CoverageEligibilityRequest",
    Permission.COVERAGE_READ,
    None,
    None,
    params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("patient", "reference", ("patient",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("created", "date", ("created",)),
        SearchParam("insurer", "reference", ("insurer",), ("Organization",)),
        SearchParam("coverage", "reference", ("insurance.coverage",), ("Coverage",)),
    ),
    summary=(*_ELIGIBILITY_SUMMARY, "servicedDate"),
)

ELIGIBILITY_RESPONSE = ResourceDef(
    "CoverageEligibilityResponse",
    Permission.COVERAGE_READ,
    None,
    None,
    params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("patient", "reference", ("patient",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("outcome", "token", ("outcome",)),
        SearchParam("created", "date", ("created",)),
        SearchParam("insurer", "reference", ("insurer",), ("Organization",)),
        SearchParam("request", "reference", ("request",), ("CoverageEligibilityRequest",)),
    ),
    summary=(*_ELIGIBILITY_SUMMARY, "request", "outcome", "disposition", "servicedDate"),
)


def _changed(obj: object, attribute: str) -> bool:
    """Whether the flush just done changed ``attribute`` of ``obj`` (history is still there
    in ``after_flush``, when feeds are asked)."""
    return bool(inspect(obj).attrs[attribute].history.has_changes())


def _lookup(obj: object, ids: Callable[[Session], Iterable[uuid.UUID]]) -> Iterable[uuid.UUID]:
    """Ids of the resources an ORM object is part of but does not know, from its session."""
    session = object_session(obj)
    return () if session is None else ids(session)


# --- Organization ---------------------------------------------------------------------------


def _organizations(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for payer in db.scalars(select(Payer).where(Payer.id.in_(ids))):
        resource = organization_to_fhir(payer)
        base = Index(status="active" if payer.active else "inactive")
        yield resource, extract(resource, ORGANIZATION.params, base)


def _organization_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Payer):
        yield obj.id


# --- Coverage -------------------------------------------------------------------------------


def _coverages(db: Session, ids: list[uuid.UUID]) -> Rendered:
    coverages = list(db.scalars(select(Coverage).where(Coverage.id.in_(ids))))
    plan_ids = {c.plan_id for c in coverages if c.plan_id is not None}
    plans = {p.id: p for p in db.scalars(select(Plan).where(Plan.id.in_(plan_ids)))}
    for coverage in coverages:
        plan = plans.get(coverage.plan_id) if coverage.plan_id else None
        resource = coverage_to_fhir(coverage, plan)
        base = Index(patient_id=coverage.patient_id, status=coverage.status)
        yield resource, extract(resource, COVERAGE.params, base)


def _coverage_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Coverage):
        yield obj.id
    elif isinstance(obj, Plan) and (_changed(obj, "name") or _changed(obj, "plan_type")):
        # A plan's name and kind are rendered in each coverage under it.
        yield from _lookup(
            obj, lambda db: db.scalars(select(Coverage.id).where(Coverage.plan_id == obj.id))
        )


# --- eligibility ----------------------------------------------------------------------------


def _checks(db: Session, ids: list[uuid.UUID]) -> list[tuple[EligibilityCheck, Coverage]]:
    rows = db.execute(
        select(EligibilityCheck, Coverage)
        .join(Coverage, Coverage.id == EligibilityCheck.coverage_id)
        .where(EligibilityCheck.id.in_(ids))
    )
    return [(check, coverage) for check, coverage in rows]


def _eligibility_requests(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for check, coverage in _checks(db, ids):
        resource = eligibility_request_to_fhir(check, coverage)
        base = Index(patient_id=check.patient_id, status=resource["status"])
        yield resource, extract(resource, ELIGIBILITY_REQUEST.params, base)


def _eligibility_responses(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """Accepts check ids (what ``feeds`` and a reindex give) and response ids alike."""
    found = _checks(db, ids)
    missing = set(ids) - {check.id for check, _ in found}
    if missing:
        found += _checks(
            db, store.referenced_ids(db, ELIGIBILITY_RESPONSE.type, sorted(missing), "request")
        )
    for check, coverage in found:
        resource = eligibility_response_to_fhir(check, coverage)
        base = Index(patient_id=check.patient_id, status=resource["status"])
        yield resource, extract(resource, ELIGIBILITY_RESPONSE.params, base)


def _check_feeds(obj: object) -> Iterable[uuid.UUID]:
    """Both the request and the response are fed the check id: the check is the record both
    are made from, and the response's render turns it into the response's own id. A coverage
    moved to another payer changes the insurer of its checks."""
    if isinstance(obj, EligibilityCheck):
        yield obj.id
    elif isinstance(obj, Coverage) and _changed(obj, "payer_ref"):
        coverage_id = obj.id
        yield from _lookup(
            obj,
            lambda db: db.scalars(
                select(EligibilityCheck.id).where(EligibilityCheck.coverage_id == coverage_id)
            ),
        )


TYPES = (
    Projection(ORGANIZATION, _organizations, _organization_feeds, Payer.id),
    Projection(COVERAGE, _coverages, _coverage_feeds, Coverage.id),
    Projection(ELIGIBILITY_REQUEST, _eligibility_requests, _check_feeds, EligibilityCheck.id),
    Projection(ELIGIBILITY_RESPONSE, _eligibility_responses, _check_feeds, EligibilityCheck.id),
)
