"""Da Vinci Prior Authorization Support (PAS) shapes: the request Bundle and the ClaimResponse.

The request is a Bundle (type ``collection``) whose first entry is a Claim with
``use = preauthorization`` that references, by ``urn:uuid`` full URLs inside the bundle, the
Patient, the insurer Organization, the requesting Organization, the Coverage and the
Practitioners. Each item carries its CPT/HCPCS ``productOrService``, ``quantity`` and
``servicedPeriod``. The answer is a Bundle whose first entry is a ClaimResponse: ``outcome``,
``preAuthRef``, ``preAuthPeriod`` and per item an adjudication with the PAS review action
extension (X12 306 action codes A1 / A2 / A3 / A4) and the units approved as its ``value``.

Pure functions over dicts and JSON text; nothing here touches the database.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
PAYER_ID = "urn:carebridge:payer-id"
TRACE = "urn:carebridge:prior-authorization"
REVIEW_ACTION = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction"
REVIEW_CODES = "https://codesystem.x12.org/005010/306"
REASON_CODES = "https://codesystem.x12.org/005010/886"
CLAIM_PROFILE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claim"
OUTCOMES = ("complete", "partial", "queued", "error")


class PasError(ValueError):
    """An answer that is not a readable PAS ClaimResponse bundle, naming the JSON path."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(f"{message} (at {path})")
        self.path = path


@dataclass(frozen=True, slots=True)
class Person:
    family: str
    given: str = ""
    npi: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    system: str  # "CPT" or "HCPCS"
    units: int
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PasRequest:
    trace_number: str
    created: datetime
    patient_id: str
    patient_family: str
    patient_given: str
    patient_birth_date: date
    patient_sex: str  # FHIR administrative gender
    member_id: str
    relationship: str  # FHIR subscriber-relationship code
    payer_name: str
    payer_id: str
    requester_name: str
    requester_npi: str
    diagnoses: tuple[str, ...]
    items: tuple[Item, ...]
    start: date
    end: date
    ordering: Person | None = None
    rendering: Person | None = None
    documents: tuple[str, ...] = ()  # our document ids, sent as supportingInfo references


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _practitioner(person: Person) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "name": [{"family": person.family, **({"given": [person.given]} if person.given else {})}],
    }
    if person.npi:
        resource["identifier"] = [{"system": NPI, "value": person.npi}]
    return resource


def build_bundle(request: PasRequest) -> dict[str, Any]:
    """The PAS request Bundle for ``request`` (a plain dict, ready for ``json.dumps``)."""
    if not request.items:
        raise ValueError("at least one item (service) is required")
    if not request.diagnoses:
        raise ValueError("at least one diagnosis is required")
    patient, insurer, provider, coverage = _urn(), _urn(), _urn(), _urn()
    entries: list[dict[str, Any]] = []
    care_team: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    for role, person in (("ordering", request.ordering), ("performing", request.rendering)):
        if person is None:
            continue
        url = _urn()
        people.append({"fullUrl": url, "resource": _practitioner(person)})
        care_team.append(
            {
                "sequence": len(care_team) + 1,
                "provider": {"reference": url},
                "role": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/claimcareteamrole",
                            "code": "primary" if role == "ordering" else "assist",
                        }
                    ],
                    "text": role,
                },
            }
        )
    period = {"start": request.start.isoformat(), "end": request.end.isoformat()}
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "meta": {"profile": [CLAIM_PROFILE]},
        "identifier": [{"system": TRACE, "value": request.trace_number}],
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "professional",
                }
            ]
        },
        "use": "preauthorization",
        "patient": {"reference": patient},
        "created": request.created.isoformat(),
        "insurer": {"reference": insurer},
        "provider": {"reference": provider},
        "priority": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                    "code": "normal",
                }
            ]
        },
        "careTeam": care_team,
        "supportingInfo": [
            {
                "sequence": number,
                "category": {
                    "coding": [
                        {
                            "system": "http://hl7.org/us/davinci-pas/CodeSystem/PASSupportingInfoType",
                            "code": "additionalInformation",
                        }
                    ]
                },
                "valueReference": {"reference": f"DocumentReference/{doc}"},
            }
            for number, doc in enumerate(request.documents, start=1)
        ],
        "diagnosis": [
            {
                "sequence": number,
                "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": code}]},
            }
            for number, code in enumerate(request.diagnoses, start=1)
        ],
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": coverage}}],
        "item": [
            {
                "sequence": number,
                "diagnosisSequence": [1],
                "productOrService": {
                    "coding": [
                        {"system": CPT if item.system == "CPT" else HCPCS, "code": item.code}
                    ]
                },
                **(
                    {"modifier": [{"coding": [{"system": CPT, "code": m}]} for m in item.modifiers]}
                    if item.modifiers
                    else {}
                ),
                "quantity": {"value": item.units},
                "servicedPeriod": period,
            }
            for number, item in enumerate(request.items, start=1)
        ],
    }
    if not claim["supportingInfo"]:
        del claim["supportingInfo"]
    if not care_team:
        del claim["careTeam"]
    entries.append({"fullUrl": _urn(), "resource": claim})
    entries.append(
        {
            "fullUrl": patient,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:carebridge:patient", "value": request.patient_id}],
                "name": [{"family": request.patient_family, "given": [request.patient_given]}],
                "gender": request.patient_sex,
                "birthDate": request.patient_birth_date.isoformat(),
            },
        }
    )
    entries.append(
        {
            "fullUrl": insurer,
            "resource": {
                "resourceType": "Organization",
                "identifier": [{"system": PAYER_ID, "value": request.payer_id}],
                "name": request.payer_name,
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                "code": "ins",
                            }
                        ]
                    }
                ],
            },
        }
    )
    entries.append(
        {
            "fullUrl": provider,
            "resource": {
                "resourceType": "Organization",
                "identifier": [{"system": NPI, "value": request.requester_npi}],
                "name": request.requester_name,
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                "code": "prov",
                            }
                        ]
                    }
                ],
            },
        }
    )
    entries.append(
        {
            "fullUrl": coverage,
            "resource": {
                "resourceType": "Coverage",
                "status": "active",
                "subscriberId": request.member_id,
                "beneficiary": {"reference": patient},
                "relationship": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                            "code": request.relationship,
                        }
                    ]
                },
                "payor": [{"reference": insurer}],
            },
        }
    )
    entries += people
    return {
        "resourceType": "Bundle",
        "identifier": {"system": TRACE, "value": request.trace_number},
        "type": "collection",
        "timestamp": request.created.isoformat(),
        "entry": entries,
    }


# --- reading the ClaimResponse -------------------------------------------------------------


@dataclass(slots=True)
class ItemDecision:
    sequence: int
    action: str  # X12 306 review action code: A1, A2, A3, A4...
    units: int | None
    reason: str = ""


@dataclass(slots=True)
class PasDecision:
    trace_number: str
    outcome: str
    action: str  # the overall review action, worked out from the items when not given
    auth_number: str
    reason: str
    start: date | None = None
    end: date | None = None
    items: list[ItemDecision] = field(default_factory=list)


def _need(value: Any, kind: type, path: str) -> Any:
    if not isinstance(value, kind):
        raise PasError(f"expected {kind.__name__}, found {type(value).__name__}", path)
    return value


def _date(value: Any, path: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise PasError(f"{value!r} is not a date", path) from None


def _review(extensions: Any, path: str) -> tuple[str, str]:
    """The review action code and reason from a PAS reviewAction extension."""
    for e_index, extension in enumerate(extensions or []):
        if not isinstance(extension, dict) or extension.get("url") != REVIEW_ACTION:
            continue
        code = reason = ""
        for s_index, sub in enumerate(extension.get("extension") or []):
            where = f"{path}.extension[{e_index}].extension[{s_index}]"
            concept = _need(sub, dict, where).get("valueCodeableConcept") or {}
            codings = concept.get("coding") or [{}]
            value = str(_need(codings[0], dict, where).get("code", ""))
            if sub.get("url") == "code":
                code = value
            elif sub.get("url") == "reasonCode":
                reason = value
        if not code:
            raise PasError("the review action has no code", f"{path}.extension[{e_index}]")
        return code, reason
    return "", ""


def read_claim_response(text: str) -> PasDecision:
    """The decision in a PAS response bundle; PasError naming the JSON path otherwise."""
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PasError(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "$"
        ) from None
    _need(bundle, dict, "Bundle")
    if bundle.get("resourceType") != "Bundle":
        raise PasError(f"resourceType is {bundle.get('resourceType')!r}, not Bundle", "$")
    entries = _need(bundle.get("entry"), list, "Bundle.entry")
    if not entries:
        raise PasError("the bundle is empty", "Bundle.entry")
    first = _need(
        _need(entries[0], dict, "Bundle.entry[0]").get("resource"), dict, "Bundle.entry[0].resource"
    )
    if first.get("resourceType") != "ClaimResponse":
        raise PasError(
            f"the first entry is a {first.get('resourceType')!r}, not a ClaimResponse",
            "Bundle.entry[0].resource.resourceType",
        )
    path = "ClaimResponse"
    outcome = first.get("outcome")
    if outcome not in OUTCOMES:
        raise PasError(
            f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}", f"{path}.outcome"
        )
    request = first.get("request") or {}
    trace = str(
        ((request.get("identifier") or {}) if isinstance(request, dict) else {}).get("value", "")
    )
    period = first.get("preAuthPeriod") or {}
    items: list[ItemDecision] = []
    for i_index, item in enumerate(first.get("item") or []):
        where = f"{path}.item[{i_index}]"
        _need(item, dict, where)
        sequence = item.get("itemSequence")
        if not isinstance(sequence, int):
            raise PasError("itemSequence is missing or not a number", f"{where}.itemSequence")
        action, reason, units = "", "", None
        for a_index, adjudication in enumerate(item.get("adjudication") or []):
            a_path = f"{where}.adjudication[{a_index}]"
            _need(adjudication, dict, a_path)
            code, why = _review(adjudication.get("extension"), a_path)
            action, reason = code or action, why or reason
            if "value" in adjudication:
                value = adjudication["value"]
                if not isinstance(value, int | float) or value < 0:
                    raise PasError(f"{value!r} is not a number of units", f"{a_path}.value")
                units = int(value)
        if not action:
            action, reason = _review(item.get("extension"), where)
        if not action:
            raise PasError("the item has no review action", where)
        items.append(ItemDecision(sequence, action, units, reason))
    overall, why = _review(first.get("extension"), path)
    if not overall:
        actions = {i.action for i in items}
        if outcome == "queued" or "A4" in actions:
            overall = "A4"
        elif actions == {"A1"}:
            overall = "A1"
        elif actions == {"A3"}:
            overall = "A3"
        elif items:
            overall = "A2"
        else:
            raise PasError("no review action for the request or its items", f"{path}.item")
    return PasDecision(
        trace_number=trace,
        outcome=outcome,
        action=overall,
        auth_number=str(first.get("preAuthRef") or ""),
        reason=why or str(first.get("disposition") or ""),
        start=_date(period.get("start"), f"{path}.preAuthPeriod.start"),
        end=_date(period.get("end"), f"{path}.preAuthPeriod.end"),
        items=items,
    )


def claim_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Claim (first entry) of a request bundle; PasError when it is not one."""
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    if not entries or not isinstance(entries, list):
        raise PasError("the bundle has no entries", "Bundle.entry")
    claim = entries[0].get("resource") if isinstance(entries[0], dict) else None
    if not isinstance(claim, dict) or claim.get("resourceType") != "Claim":
        raise PasError("the first entry is not a Claim", "Bundle.entry[0].resource")
    if claim.get("use") != "preauthorization":
        raise PasError(f"Claim.use is {claim.get('use')!r}, not preauthorization", "Claim.use")
    return claim


def build_claim_response(
    request: dict[str, Any],
    *,
    action: str,
    auth_number: str,
    reason: str,
    item_answers: list[tuple[str, int, str]],  # (action, units approved, reason) per item
    now: datetime,
) -> dict[str, Any]:
    """A PAS response bundle to ``request`` (the simulator and tests answer with it)."""
    claim = claim_of(request)
    outcome = {"A1": "complete", "A2": "partial", "A3": "complete", "A4": "queued"}.get(
        action, "complete"
    )
    identifier = (claim.get("identifier") or [{}])[0].get("value", "")
    period = (claim.get("item") or [{}])[0].get("servicedPeriod") or {}

    def review(code: str, why: str) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [
            {
                "url": "code",
                "valueCodeableConcept": {"coding": [{"system": REVIEW_CODES, "code": code}]},
            },
        ]
        if why:
            parts.append(
                {
                    "url": "reasonCode",
                    "valueCodeableConcept": {"coding": [{"system": REASON_CODES, "code": why}]},
                }
            )
        return {"url": REVIEW_ACTION, "extension": parts}

    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": claim.get("type"),
        "use": "preauthorization",
        "patient": claim.get("patient"),
        "created": now.isoformat(),
        "insurer": claim.get("insurer"),
        "request": {"identifier": {"system": TRACE, "value": identifier}},
        "outcome": outcome,
        "disposition": {
            "A1": "Certified in total",
            "A2": "Certified, partial",
            "A3": "Not certified",
            "A4": "Pended",
        }.get(action, action),
        "extension": [review(action, reason)],
        "item": [
            {
                "itemSequence": number,
                "adjudication": [
                    {
                        "category": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/adjudication",
                                    "code": "submitted",
                                }
                            ]
                        },
                        "extension": [review(item_action, why)],
                        "value": units,
                    }
                ],
            }
            for number, (item_action, units, why) in enumerate(item_answers, start=1)
        ],
    }
    if action in ("A1", "A2") and auth_number:
        response["preAuthRef"] = auth_number
        response["preAuthPeriod"] = period
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": [{"fullUrl": _urn(), "resource": response}],
    }
