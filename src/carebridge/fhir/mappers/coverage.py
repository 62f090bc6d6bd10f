"""Payers, coverages and eligibility checks -> FHIR R4: Organization (the payer), US Core
Coverage, and CoverageEligibilityRequest / CoverageEligibilityResponse (the 270 and the 271).

One eligibility check is both the question and the answer. The request is the check itself
(its id); the response is made from the same row, so it needs an id of its own that anyone can
work out again from the check: ``response_id`` (a name-based UUID of the check id).

Left out: the payer's prior authorization channel (how we send, not what the payer is); the
coverage's card images (documents, not Coverage elements) and its note (R4 Coverage has no
note); the raw X12 both ways and the attempt bookkeeping of a check (kept on the record).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

from carebridge.coverage.codes import CHECK_STATUSES, PLAN_TYPES, RELATIONSHIPS
from carebridge.coverage.eligibility import SERVICE_TYPES
from carebridge.coverage.models import Coverage, EligibilityCheck, Payer, Plan
from carebridge.fhir.mappers.elements import (
    coding_of,
    prune,
)

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
ORGANIZATION_PROFILE = US_CORE + "us-core-organization"
COVERAGE_PROFILE = US_CORE + "us-core-coverage"
PAYER_ID = "urn:carebridge:payer-id"  # as the PAS bundles we send name a payer
ELIGIBILITY_TRACE = "urn:carebridge:eligibility-trace"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
SOPT = "https://nahdo.org/sopt"  # Source of Payment Typology, US Core's Coverage.type
BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
BENEFIT_NETWORK = "http://terminology.hl7.org/CodeSystem/benefit-network"
BENEFIT_UNIT = "http://terminology.hl7.org/CodeSystem/benefit-unit"
BENEFIT_TERM = "http://terminology.hl7.org/CodeSystem/benefit-term"
# X12 005010 data elements of the 271: EB01 (1390), EB03 (1365), EB06 (615), AAA03 (901).
X12_BENEFIT_CODE = "https://codesystem.x12.org/005010/1390"
X12_SERVICE_TYPE = "https://codesystem.x12.org/005010/1365"
X12_TIME_PERIOD = "https://codesystem.x12.org/005010/615"
X12_REJECT_REASON = "https://codesystem.x12.org/005010/901"

# The response's id: uuid5 of the check id under this namespace. Deterministic, so the
# response keeps its id (and its history) every time the check is rendered again, and a
# reader can go from a check to its answer without a lookup; ids are UUIDs like every other
# mapped resource, and a name-based UUID cannot collide with a record's random one.
RESPONSE_NAMESPACE = uuid.UUID("5f0b7a2e-3c1d-4d8e-9a6b-2e4f8c1d0b37")

# Our plan kinds in the Source of Payment Typology. "other" and a coverage without a plan
# are 9999 (unavailable / no payer type specified).
PLAN_SOPT: dict[str, tuple[str, str]] = {
    "commercial": ("5", "PRIVATE HEALTH INSURANCE"),
    "hmo": ("511", "Commercial Managed Care - HMO"),
    "ppo": ("512", "Commercial Managed Care - PPO"),
    "pos": ("513", "Commercial Managed Care - POS"),
    "epo": ("514", "Exclusive Provider Organization"),
    "medicare": ("1", "MEDICARE"),
    "medicare-advantage": ("11", "Medicare Managed Care (Includes Medicare Advantage Plans)"),
    "medicaid": ("2", "MEDICAID"),
    "medicaid-managed-care": ("21", "Medicaid (Managed Care)"),
    "tricare": ("311", "TRICARE (CHAMPUS)"),
    "workers-comp": ("95", "Worker's Compensation"),
}
UNKNOWN_SOPT = ("9999", "Unavailable / No Payer Specified / Blank")

# Benefit kinds of the 271 reading -> R4 benefit-type, where R4 has the same concept.
BENEFIT_TYPES: dict[str, tuple[str, str]] = {
    "copay": ("copay", "Copayment per service"),
    "coinsurance": ("copay-percent", "Copayment Percent per service"),
    "deductible": ("deductible", "Deductible"),
}
COVERAGE_LEVELS: dict[str, tuple[str, str]] = {
    "IND": ("individual", "Individual"),
    "FAM": ("family", "Family"),
}
TIME_PERIODS: dict[str, tuple[str, str]] = {
    "23": ("annual", "Annual"),
    "32": ("lifetime", "Lifetime"),
    "7": ("day", "Day"),
}
X12_TIME_PERIOD_WORDS = {"23": "Calendar year", "25": "Contract", "29": "Remaining", "27": "Visit"}


def response_id(check_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(RESPONSE_NAMESPACE, str(check_id))


def _money(value: Decimal | str | None) -> dict[str, Any] | None:
    return None if value is None else {"value": float(Decimal(value)), "currency": "USD"}


def organization_to_fhir(payer: Payer) -> dict[str, Any]:
    """A payer as a US Core Organization of type ``ins``, found by its EDI payer id."""
    resource = {
        "resourceType": "Organization",
        "id": str(payer.id),
        "meta": {"profile": [ORGANIZATION_PROFILE]},
        "identifier": [{"system": PAYER_ID, "value": payer.payer_id}],
        "active": payer.active,
        "type": [{"coding": [coding_of(ORGANIZATION_TYPE, "ins", "Insurance Company")]}],
        "name": payer.name,
        "telecom": [
            {"system": "phone", "value": payer.phone, "use": "work"} if payer.phone else None,
            {"system": "url", "value": payer.website, "use": "work"} if payer.website else None,
        ],
    }
    return cast(dict[str, Any], prune(resource))


def _coverage_type(plan: Plan | None) -> dict[str, Any]:
    code, display = PLAN_SOPT.get(plan.plan_type, UNKNOWN_SOPT) if plan else UNKNOWN_SOPT
    text = PLAN_TYPES.get(plan.plan_type) if plan else None
    return {"coding": [coding_of(SOPT, code, display)], "text": text or display}


def _subscriber(coverage: Coverage) -> dict[str, Any] | None:
    if coverage.relationship == "self":
        return {"reference": f"Patient/{coverage.patient_id}"}
    # The subscriber is kept as a name on the coverage, not as a record to point at.
    parts = [coverage.subscriber_given_names, coverage.subscriber_family_name]
    name = " ".join(p for p in parts if p)
    return {"display": name} if name else None


def coverage_to_fhir(coverage: Coverage, plan: Plan | None) -> dict[str, Any]:
    """A Coverage row (and its plan, if any) as a US Core Coverage: the member id typed MB,
    the subscriber's id, the payer as ``Organization/<payer record id>``, group and plan as
    classes, the order of benefits as ``order``."""
    relationship = RELATIONSHIPS.get(coverage.relationship, coverage.relationship)
    classes = [
        {
            "type": {"coding": [coding_of(COVERAGE_CLASS, "group", "Group")]},
            "value": coverage.group_number,
            "name": coverage.group_name,
        }
        if coverage.group_number
        else None,
        {
            "type": {"coding": [coding_of(COVERAGE_CLASS, "plan", "Plan")]},
            "value": str(plan.id),
            "name": plan.name,
        }
        if plan is not None
        else None,
    ]
    resource = {
        "resourceType": "Coverage",
        "id": str(coverage.id),
        "meta": {"profile": [COVERAGE_PROFILE]},
        "identifier": [
            {
                "type": {"coding": [coding_of(IDENTIFIER_TYPE, "MB", "Member Number")]},
                "value": coverage.member_id,
                "assigner": {"reference": f"Organization/{coverage.payer_ref}"},
            }
        ],
        "status": coverage.status,
        "type": _coverage_type(plan),
        "subscriber": _subscriber(coverage),
        "subscriberId": coverage.subscriber_member_id or coverage.member_id,
        "beneficiary": {"reference": f"Patient/{coverage.patient_id}"},
        "relationship": {
            "coding": [coding_of(SUBSCRIBER_RELATIONSHIP, coverage.relationship, relationship)],
            "text": relationship.split(" (")[0],
        },
        "period": {
            "start": coverage.start_on.isoformat(),
            "end": coverage.end_on.isoformat() if coverage.end_on else None,
        },
        "payor": [{"reference": f"Organization/{coverage.payer_ref}"}],
        "class": classes,
        "order": coverage.rank,
    }
    return cast(dict[str, Any], prune(resource))


# --- eligibility ----------------------------------------------------------------------------

PURPOSE = ["validation", "benefits"]  # is the coverage in force, and what does it pay


def eligibility_request_to_fhir(check: EligibilityCheck, coverage: Coverage) -> dict[str, Any]:
    """The 270 of a check: in force and benefits of one coverage on one date of service."""
    resource = {
        "resourceType": "CoverageEligibilityRequest",
        "id": str(check.id),
        "identifier": [{"system": ELIGIBILITY_TRACE, "value": check.trace_number}],
        "status": "active",
        "purpose": PURPOSE,
        "patient": {"reference": f"Patient/{check.patient_id}"},
        "servicedDate": check.service_date.isoformat(),
        "created": check.created_at.isoformat(),
        "insurer": {"reference": f"Organization/{coverage.payer_ref}"},
        "insurance": [{"focal": True, "coverage": {"reference": f"Coverage/{check.coverage_id}"}}],
        # The 270 asks for service type 30, health benefit plan coverage.
        "item": [
            {"category": {"coding": [coding_of(X12_SERVICE_TYPE, "30", SERVICE_TYPES["30"])]}}
        ],
    }
    return cast(dict[str, Any], prune(resource))


def _benefit_item(benefit: dict[str, Any]) -> dict[str, Any] | None:
    kind = benefit.get("kind")
    amount, percent = benefit.get("amount"), benefit.get("percent")
    required = benefit.get("authorization_required")
    if kind == "other" and required is None:
        return None  # coverage status lines: what insurance.inforce says
    code = str(benefit.get("code") or "")
    r4 = BENEFIT_TYPES.get(str(kind))
    allowed: dict[str, Any] = {}
    if percent is not None:  # a fraction: 0.2 is 20 percent
        allowed["allowedUnsignedInt"] = int(Decimal(percent) * 100)
    elif amount is not None:
        allowed["allowedMoney"] = _money(amount)
    benefit_type = {
        "coding": [
            coding_of(BENEFIT_TYPE, *r4) if r4 else None,
            coding_of(X12_BENEFIT_CODE, code) if code else None,
        ],
        "text": str(kind).replace("_", " "),
    }
    # A remaining amount (EB06 29) is what is still allowed, over the term "Remaining".
    period = str(benefit.get("time_period") or "")
    term = TIME_PERIODS.get(period)
    level = COVERAGE_LEVELS.get(str(benefit.get("coverage_level") or ""))
    network = benefit.get("in_network")
    services = benefit.get("service_types") or []
    item = {
        "category": {
            "coding": [coding_of(X12_SERVICE_TYPE, s, SERVICE_TYPES.get(s)) for s in services[:1]]
        },
        "name": benefit.get("plan_description"),
        "description": ", ".join(SERVICE_TYPES.get(s, s) for s in services) or None,
        "network": None
        if network is None
        else {"coding": [coding_of(BENEFIT_NETWORK, "in" if network else "out")]},
        "unit": {"coding": [coding_of(BENEFIT_UNIT, *level)]} if level else None,
        "term": {
            "coding": [
                coding_of(BENEFIT_TERM, *term) if term else None,
                coding_of(X12_TIME_PERIOD, period),
            ],
            "text": X12_TIME_PERIOD_WORDS.get(period),
        }
        if period
        else None,
        "benefit": [{"type": benefit_type, **allowed}] if allowed else None,
        "authorizationRequired": required,
    }
    return cast(dict[str, Any] | None, prune(item) or None)


def _outcome(check: EligibilityCheck) -> str:
    return {"pending": "queued", "complete": "complete"}.get(check.status, "error")


def eligibility_response_to_fhir(check: EligibilityCheck, coverage: Coverage) -> dict[str, Any]:
    """The 271 of a check as read (``check.result``): whether the coverage is in force, each
    benefit the payer stated as an item, and each AAA rejection as an error."""
    result = check.result or {}
    rejections = result.get("rejections") or []
    errors = [
        {
            "code": {
                "coding": [coding_of(X12_REJECT_REASON, r["code"])] if r.get("code") else None,
                "text": r.get("explanation"),
            }
        }
        for r in rejections
    ]
    if check.status == "failed" and not errors:
        errors.append({"code": {"text": check.last_error or CHECK_STATUSES["failed"]}})
    items = [_benefit_item(b) for b in result.get("benefits") or []]
    answered = check.answered_at or check.created_at
    resource = {
        "resourceType": "CoverageEligibilityResponse",
        "id": str(response_id(check.id)),
        "identifier": [{"system": ELIGIBILITY_TRACE, "value": check.trace_number}],
        "status": "active",
        "purpose": PURPOSE,
        "patient": {"reference": f"Patient/{check.patient_id}"},
        "servicedDate": check.service_date.isoformat(),
        "created": answered.isoformat(),
        "request": {"reference": f"CoverageEligibilityRequest/{check.id}"},
        "outcome": _outcome(check),
        "disposition": result.get("plan_description") or CHECK_STATUSES.get(check.status),
        "insurer": {"reference": f"Organization/{coverage.payer_ref}"},
        "insurance": [
            {
                "coverage": {"reference": f"Coverage/{check.coverage_id}"},
                "inforce": check.active,
                "item": items,
            }
        ]
        if check.status == "complete"
        else None,
        "error": errors,
    }
    return cast(dict[str, Any], prune(resource))
