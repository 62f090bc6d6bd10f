"""Prior authorizations and claims -> FHIR R4 Claim, and a prior authorization's decision ->
ClaimResponse.

Both records are a Claim: a prior authorization with ``use = preauthorization`` (what the
Da Vinci PAS request we send is), a billed visit (the 837P) with ``use = claim``. The payer's
decision on a prior authorization is its ClaimResponse, made from the same row, so it has an
id of its own that anyone can work out again: ``response_id`` (a name-based UUID of the
authorization id).

Left out: the raw X12 / PAS payloads, submission attempts and errors (kept on the records);
appeals (R4 has no appeal resource; an overturned appeal shows as the new decision);
a claim's payment (``paid_amount``) would be an ExplanationOfBenefit or its own
ClaimResponse, not served yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

from carebridge.authorizations.codes import ACTION_OF, DECISIONS
from carebridge.authorizations.codes import STATUSES as AUTH_STATUSES
from carebridge.authorizations.models import AuthorizationService, PriorAuthorization
from carebridge.billing.codes import ATTACHMENT_KINDS
from carebridge.billing.models import Claim, ClaimAttachment
from carebridge.coverage.procedures import code_system
from carebridge.fhir.mappers.elements import (
    coding_of,
    prune,
)
from carebridge.fhir.mappers.referrals import outside_provider
from carebridge.referrals.models import OutsideProvider

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
INFO_CATEGORY = "http://terminology.hl7.org/CodeSystem/claiminformationcategory"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
PLACE_OF_SERVICE = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
)
# X12 005010 data elements: HCR01 review action (306), PWK01 report type (755).
X12_REVIEW_ACTION = "https://codesystem.x12.org/005010/306"
X12_REPORT_TYPE = "https://codesystem.x12.org/005010/755"
AUTHORIZATION_NUMBER = "urn:carebridge:prior-authorization-number"
CLAIM_NUMBER = "urn:carebridge:claim-number"

# The ClaimResponse id: uuid5 of the authorization id under this namespace. Deterministic, so
# the decision keeps its id (and history) across renders and a reader can go from the
# request to its answer; a name-based UUID cannot collide with a record's random one.
RESPONSE_NAMESPACE = uuid.UUID("0c6f3e58-8f3b-4a7e-b1d2-7a9e5c4b2f61")

# Statuses of a prior authorization that carry a payer decision (a cancelled one keeps the
# decision it had, if any).
DECIDED = ("approved", "partially-approved", "denied", "pended", "expired", "cancelled")
RENDERING_ID = "rendering"


def response_id(authorization_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(RESPONSE_NAMESPACE, str(authorization_id))


def _money(value: Decimal | str | None) -> dict[str, Any] | None:
    return None if value is None else {"value": float(Decimal(value)), "currency": "USD"}


def _product(code: str) -> dict[str, Any]:
    system = CPT if code_system(code) == "CPT" else HCPCS
    return {"coding": [coding_of(system, code)]}


def _modifiers(modifiers: Sequence[str]) -> list[dict[str, Any]]:
    # Modifiers are CPT (two digits) or HCPCS Level II (letters) modifier codes.
    return [
        {"coding": [coding_of(CPT if m.isdigit() else HCPCS, m)]} for m in modifiers if m.strip()
    ]


def _diagnoses(diagnoses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "sequence": number,
            "diagnosisCodeableConcept": {
                "coding": [coding_of(ICD10CM, d["code"], d.get("display"))],
                "text": d.get("display"),
            },
        }
        for number, d in enumerate(diagnoses, start=1)
        if d.get("code")
    ]


def _fixed(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [coding_of(system, code, display)]}


def _attachment_info(number: int, document_id: uuid.UUID | None, code: Any = None) -> Any:
    return {
        "sequence": number,
        "category": _fixed(INFO_CATEGORY, "attachment", "Attachment"),
        "code": code,
        "valueReference": {"reference": f"DocumentReference/{document_id}"}
        if document_id
        else None,
    }


def preauthorization_to_fhir(
    auth: PriorAuthorization,
    payer_ref: uuid.UUID,
    lines: Iterable[AuthorizationService],
    documents: Iterable[uuid.UUID] = (),
    rendering: OutsideProvider | None = None,
) -> dict[str, Any]:
    """A prior authorization request as a Claim (``use = preauthorization``): the ordering
    practitioner is the provider, the rendering one (ours, or an outside provider contained)
    is on the care team, each service line an item for the dates requested."""
    period = {"start": auth.requested_start.isoformat(), "end": auth.requested_end.isoformat()}
    team: list[dict[str, Any]] = [
        {
            "sequence": 1,
            "provider": {"reference": f"Practitioner/{auth.ordering_practitioner_id}"},
            "role": _fixed(CARE_TEAM_ROLE, "primary", "Primary provider"),
        }
    ]
    if auth.rendering_practitioner_id is not None:
        performer = {"reference": f"Practitioner/{auth.rendering_practitioner_id}"}
    elif rendering is not None:
        performer = {"reference": f"#{RENDERING_ID}", "display": rendering.name}
    else:
        performer = None
    if performer is not None:
        team.append(
            {
                "sequence": 2,
                "provider": performer,
                "role": _fixed(CARE_TEAM_ROLE, "assist", "Assisting Provider"),
            }
        )
    has_diagnosis = bool(auth.diagnoses)
    resource = {
        "resourceType": "Claim",
        "id": str(auth.id),
        "contained": [outside_provider(rendering, RENDERING_ID)]
        if rendering is not None and auth.rendering_practitioner_id is None
        else None,
        "identifier": [{"system": AUTHORIZATION_NUMBER, "value": auth.number}],
        "status": {"draft": "draft", "cancelled": "cancelled"}.get(auth.status, "active"),
        "type": _fixed(CLAIM_TYPE, "professional", "Professional"),
        "use": "preauthorization",
        "patient": {"reference": f"Patient/{auth.patient_id}"},
        "billablePeriod": period,
        "created": auth.created_at.isoformat(),
        "insurer": {"reference": f"Organization/{payer_ref}"},
        "provider": {"reference": f"Practitioner/{auth.ordering_practitioner_id}"},
        "priority": _fixed(PRIORITY, "normal", "Normal"),
        "referral": {"reference": f"ServiceRequest/{auth.referral_id}"}
        if auth.referral_id
        else None,
        "careTeam": team,
        "supportingInfo": [
            _attachment_info(number, doc) for number, doc in enumerate(documents, start=1)
        ],
        "diagnosis": _diagnoses(auth.diagnoses),
        "insurance": [
            {
                "sequence": 1,
                "focal": True,
                "coverage": {"reference": f"Coverage/{auth.coverage_id}"},
            }
        ],
        "item": [
            {
                "sequence": line.line,
                "careTeamSequence": [2] if performer is not None else None,
                "diagnosisSequence": [1] if has_diagnosis else None,
                "productOrService": _product(line.code),
                "modifier": _modifiers(line.modifiers),
                "servicedPeriod": period,
                "quantity": {"value": line.units_requested},
            }
            for line in lines
        ],
    }
    return cast(dict[str, Any], prune(resource))


def claim_to_fhir(
    claim: Claim,
    payer_ref: uuid.UUID,
    practitioner_id: uuid.UUID | None,
    attachments: Iterable[ClaimAttachment] = (),
) -> dict[str, Any]:
    """A billed visit (837P) as a Claim (``use = claim``): the visit's practitioner is the
    provider, each line an item with its charge, units, date and diagnosis pointers, the prior
    authorization number on the insurance, the attachments checklist as supporting info
    (with the document once received)."""
    where = {"coding": [coding_of(PLACE_OF_SERVICE, claim.place_of_service)]}
    dates = sorted(str(line["service_date"]) for line in claim.lines if line.get("service_date"))
    items = [
        {
            "sequence": number,
            "diagnosisSequence": [int(p) for p in line.get("pointers") or []],
            "productOrService": _product(str(line["code"])),
            "modifier": _modifiers(line.get("modifiers") or []),
            "servicedDate": line.get("service_date"),
            "locationCodeableConcept": where,
            "quantity": {"value": float(Decimal(str(line.get("units") or 1)))},
            "net": _money(str(line["charge"])) if line.get("charge") is not None else None,
        }
        for number, line in enumerate(claim.lines, start=1)
    ]
    info = [
        _attachment_info(
            number,
            item.document_id,
            {
                "coding": [coding_of(X12_REPORT_TYPE, item.report_type)],
                "text": ATTACHMENT_KINDS.get(item.kind, (item.label,))[0],
            },
        )
        for number, item in enumerate(attachments, start=1)
    ]
    resource = {
        "resourceType": "Claim",
        "id": str(claim.id),
        "identifier": [{"system": CLAIM_NUMBER, "value": claim.number}],
        "status": "draft" if claim.status in ("draft", "ready") else "active",
        "type": _fixed(CLAIM_TYPE, "professional", "Professional"),
        "use": "claim",
        "patient": {"reference": f"Patient/{claim.patient_id}"},
        "billablePeriod": {"start": dates[0], "end": dates[-1]} if dates else None,
        "created": claim.created_at.isoformat(),
        "insurer": {"reference": f"Organization/{payer_ref}"},
        "provider": {"reference": f"Practitioner/{practitioner_id}"} if practitioner_id else None,
        "priority": _fixed(PRIORITY, "normal", "Normal"),
        "supportingInfo": info,
        "diagnosis": _diagnoses(claim.diagnoses),
        "insurance": [
            {
                "sequence": 1,
                "focal": True,
                "coverage": {"reference": f"Coverage/{claim.coverage_id}"},
                "preAuthRef": [claim.prior_authorization] if claim.prior_authorization else None,
            }
        ],
        "item": items,
        "total": _money(claim.total_charge),
    }
    return cast(dict[str, Any], prune(resource))


def _outcome(status: str) -> str:
    return "queued" if status == "pended" else "complete"


def claim_response_to_fhir(
    auth: PriorAuthorization, payer_ref: uuid.UUID, lines: Iterable[AuthorizationService]
) -> dict[str, Any] | None:
    """The payer's decision on a prior authorization as a ClaimResponse; None while there is
    none. Each decided line is an item whose adjudication carries the X12 review action
    (HCR01) and the units approved as its ``value``."""
    if auth.decided_at is None or auth.status not in DECIDED:
        return None
    words = AUTH_STATUSES.get(auth.status, auth.status)
    items = []
    for line in lines:
        if line.decision is None and line.units_approved is None:
            continue
        action = ACTION_OF.get(line.decision or "")
        items.append(
            {
                "itemSequence": line.line,
                "adjudication": [
                    {
                        "category": _fixed(ADJUDICATION, "submitted", "Submitted Amount"),
                        "reason": {
                            "coding": [coding_of(X12_REVIEW_ACTION, action)] if action else None,
                            "text": DECISIONS.get(line.decision or ""),
                        },
                        "value": line.units_approved,
                    }
                ],
            }
        )
    granted = auth.approved_start is not None
    resource = {
        "resourceType": "ClaimResponse",
        "id": str(response_id(auth.id)),
        "identifier": [{"system": AUTHORIZATION_NUMBER, "value": auth.number}],
        "status": "active",
        "type": _fixed(CLAIM_TYPE, "professional", "Professional"),
        "use": "preauthorization",
        "patient": {"reference": f"Patient/{auth.patient_id}"},
        "created": auth.decided_at.isoformat(),
        "insurer": {"reference": f"Organization/{payer_ref}"},
        "requestor": {"reference": f"Practitioner/{auth.ordering_practitioner_id}"},
        "request": {"reference": f"Claim/{auth.id}"},
        "outcome": _outcome(auth.status),
        "disposition": f"{words}: {auth.decision_reason}" if auth.decision_reason else words,
        "preAuthRef": auth.auth_number,
        "preAuthPeriod": {
            "start": auth.approved_start.isoformat() if auth.approved_start else None,
            "end": auth.approved_end.isoformat() if auth.approved_end else None,
        }
        if granted
        else None,
        "item": items,
    }
    return cast(dict[str, Any], prune(resource))
