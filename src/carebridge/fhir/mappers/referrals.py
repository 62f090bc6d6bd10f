"""Referrals -> FHIR R4 ServiceRequest (US Core ServiceRequest, category referral).

The outside provider of a referral is not served as a resource of its own: it travels inside
the ServiceRequest as a *contained* Practitioner (a person) or Organization (a hospital, an
agency, a community service), referenced as ``#provider``. It is the ``performer`` of an
outgoing referral and the ``requester`` of an incoming one; the other party is this clinic,
which is not served as a resource, so it is left out rather than invented.

Left out: ``status_reason`` (R4 ServiceRequest has no statusReason; it goes in a note),
``appointment_id`` (the visit booked for it is found from the Appointment side), the
lifecycle dates other than the one scheduled (kept in the record's history).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast
from uuid import UUID

from carebridge.fhir.mappers.patients import _coding, _prune
from carebridge.referrals.codes import SERVICE_KINDS, STATUSES
from carebridge.referrals.models import OutsideProvider, Referral

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
SERVICE_REQUEST_PROFILE = US_CORE + "us-core-servicerequest"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
REFERRAL_NUMBER = "urn:carebridge:referral-number"
# Our service kinds are broader than any one SNOMED CT procedure, so they keep their own
# system; the category (SNOMED "Patient referral") says what the request is.
SERVICE_KIND_SYSTEM = "urn:carebridge:referral-service-kind"
REFERRAL_CATEGORY = (SNOMED, "3457005", "Patient referral")

# Directory kinds that are an organization rather than a person.
ORGANIZATION_KINDS = frozenset({"hospital", "home-health", "community-service"})
CONTAINED_ID = "provider"


def request_status(referral: Referral) -> str:
    """R4 request-status of a referral. A closed referral that was never seen was closed
    after a decline: it ended unfulfilled (revoked), not completed."""
    if referral.status == "draft":
        return "draft"
    if referral.status in ("declined", "cancelled"):
        return "revoked"
    if referral.status == "closed":
        seen = referral.seen_on is not None or referral.report_received_on is not None
        return "completed" if seen else "revoked"
    return "active"


def _telecoms(provider: OutsideProvider) -> list[dict[str, Any] | None]:
    return [
        {"system": "phone", "value": provider.phone, "use": "work"} if provider.phone else None,
        {"system": "fax", "value": provider.fax, "use": "work"} if provider.fax else None,
        # A Direct address is an email address on the Direct network.
        {"system": "email", "value": provider.direct_address, "use": "work"}
        if provider.direct_address
        else None,
    ]


def _address(provider: OutsideProvider) -> list[dict[str, Any]]:
    return [
        {
            "use": "work",
            "line": [provider.address_line] if provider.address_line else None,
            "city": provider.city,
            "state": provider.state,
            "postalCode": provider.postal_code,
        }
    ]


def outside_provider(provider: OutsideProvider, contained_id: str = CONTAINED_ID) -> dict[str, Any]:
    """A directory entry as a contained Practitioner (a person) or Organization."""
    identifier = [{"system": NPI, "value": provider.npi}] if provider.npi else None
    if provider.kind in ORGANIZATION_KINDS:
        resource: dict[str, Any] = {
            "resourceType": "Organization",
            "id": contained_id,
            "identifier": identifier,
            "active": provider.active,
            "type": [{"coding": [_coding(ORGANIZATION_TYPE, "prov", "Healthcare Provider")]}],
            "name": provider.organization or provider.name,
            "alias": [provider.name] if provider.organization else None,
            "telecom": _telecoms(provider),
            "address": _address(provider),
        }
    else:
        resource = {
            "resourceType": "Practitioner",
            "id": contained_id,
            "identifier": identifier,
            "active": provider.active,
            "name": [{"text": provider.name}],
            "telecom": _telecoms(provider),
            "address": _address(provider),
            "qualification": [{"code": {"text": provider.specialty}}]
            if provider.specialty
            else None,
        }
    return cast(dict[str, Any], _prune(resource))


def _reasons(referral: Referral) -> list[dict[str, Any]]:
    found = [
        {"coding": [_coding(ICD10CM, d["code"], d.get("display"))], "text": d.get("display")}
        for d in referral.diagnoses
        if d.get("code")
    ]
    found.append({"text": referral.reason})
    return found


def _notes(referral: Referral) -> list[dict[str, Any]]:
    notes = [{"text": referral.note}] if referral.note else []
    if referral.status_reason:
        notes.append({"text": f"{STATUSES[referral.status]}: {referral.status_reason}"})
    return notes


def service_request_to_fhir(
    referral: Referral, provider: OutsideProvider, attachments: Iterable[UUID] = ()
) -> dict[str, Any]:
    """A Referral (with its outside provider and attached document ids) as a US Core
    ServiceRequest. ``authoredOn`` is when it was sent (when it became actionable), or made
    while it is a draft; ``occurrenceDateTime`` the visit date once scheduled."""
    kind = SERVICE_KINDS.get(referral.service_kind, referral.service_kind)
    local = {"reference": f"#{CONTAINED_ID}", "display": provider.name}
    authored = referral.sent_at or referral.created_at
    resource = {
        "resourceType": "ServiceRequest",
        "id": str(referral.id),
        "meta": {"profile": [SERVICE_REQUEST_PROFILE]},
        "contained": [outside_provider(provider)],
        "identifier": [{"system": REFERRAL_NUMBER, "value": referral.number}],
        "status": request_status(referral),
        "intent": "order",
        "category": [{"coding": [_coding(*REFERRAL_CATEGORY)], "text": "Referral"}],
        "priority": referral.urgency,
        "code": {
            "coding": [_coding(SERVICE_KIND_SYSTEM, referral.service_kind, kind)],
            "text": kind,
        },
        "subject": {"reference": f"Patient/{referral.patient_id}"},
        "occurrenceDateTime": referral.scheduled_for.isoformat()
        if referral.scheduled_for
        else None,
        "authoredOn": authored.isoformat() if authored else None,
        "requester": local if referral.direction == "incoming" else None,
        "performer": [local] if referral.direction == "outgoing" else None,
        "reasonCode": _reasons(referral),
        "supportingInfo": [{"reference": f"DocumentReference/{doc}"} for doc in attachments],
        "note": _notes(referral),
    }
    return cast(dict[str, Any], _prune(resource))
