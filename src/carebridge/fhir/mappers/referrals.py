"""Referrals -> FHIR R4 ServiceRequest (US Core ServiceRequest, category referral).

The outside provider of a referral is not served as a resource of its own: it travels inside
the ServiceRequest as a *contained* Practitioner (a person) or Organization (a hospital, an
agency, a community service), referenced as ``#provider``. It is the ``performer`` of an
outgoing referral and the ``requester`` of an incoming one; the other party is this clinic,
which is not served as a resource, so it is left out rather than invented.

Left out: ``status_reason`` (R4 ServiceRequest has no statusReason; it goes in a note),
``appointment_id`` (the visit booked for it is found from the Appointment side), the
lifecycle dates other than the one scheduled (kept in the record's history).

Reading (FHIR create and update) gives the referral form's fields: the contained provider
(the caller finds it in the directory, by NPI or name), the service kind, the reason in words
with the ICD-10-CM reasons as diagnoses, the urgency (``priority``), the attached
DocumentReferences and the notes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from carebridge.fhir.errors import FhirError
from carebridge.fhir.indexing import reference_target
from carebridge.fhir.mappers.elements import (
    META_KEYS,
    Reading,
    coding_of,
    codings_in,
    items_at,
    object_at,
    prune,
    strings_at,
    text_at,
)
from carebridge.fhir.mappers.history import concept_words
from carebridge.referrals.codes import SERVICE_KINDS, STATUSES
from carebridge.referrals.models import OutsideProvider, Referral
from carebridge.referrals.schemas import ReferralCreate, ReferralUpdate

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
            "type": [{"coding": [coding_of(ORGANIZATION_TYPE, "prov", "Healthcare Provider")]}],
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
    return cast(dict[str, Any], prune(resource))


def _reasons(referral: Referral) -> list[dict[str, Any]]:
    found = [
        {"coding": [coding_of(ICD10CM, d["code"], d.get("display"))], "text": d.get("display")}
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
        "category": [{"coding": [coding_of(*REFERRAL_CATEGORY)], "text": "Referral"}],
        "priority": referral.urgency,
        "code": {
            "coding": [coding_of(SERVICE_KIND_SYSTEM, referral.service_kind, kind)],
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
    return cast(dict[str, Any], prune(resource))


# --- reading: ServiceRequest -> the referral screen's fields -------------------------------

REFERRAL_KEYS = frozenset(
    {
        "contained",
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
        "supportingInfo",
        "note",
    }
)
# The service's fields -> the elements they come from.
REFERRAL_PATHS = {
    "provider_id": "ServiceRequest.performer",
    "service_kind": "ServiceRequest.code",
    "reason": "ServiceRequest.reasonCode",
    "diagnoses": "ServiceRequest.reasonCode",
    "urgency": "ServiceRequest.priority",
    "attachment_ids": "ServiceRequest.supportingInfo",
    "note": "ServiceRequest.note",
}
DETAILS = ("provider_id", "service_kind", "reason", "urgency", "diagnoses", "note")


@dataclass(frozen=True)
class SentProvider:
    """The outside provider a ServiceRequest names (contained): found in the directory by
    its NPI, else by its name."""

    path: str
    npi: str | None
    name: str | None


@dataclass(frozen=True)
class SentReferral:
    direction: str
    provider: SentProvider
    status: str | None
    values: dict[str, Any]  # the referral's fields, the provider's id not yet looked up
    reading: Reading


def _provider_named(resource: Mapping[str, Any], reference: Any, path: str) -> SentProvider | None:
    """The contained Practitioner or Organization ``reference`` points at (``#provider``)."""
    target = reference.get("reference") if isinstance(reference, Mapping) else None
    if not isinstance(target, str) or not target.startswith("#"):
        return None
    for where, contained in items_at(resource, "contained", "ServiceRequest"):
        if contained.get("id") != target[1:]:
            continue
        kind = contained.get("resourceType")
        if kind not in ("Practitioner", "Organization"):
            raise FhirError(
                422,
                "invalid",
                f"{path}: the outside provider is a Practitioner or an Organization",
                expression=[path],
            )
        npis = [
            value
            for ident_path, ident in items_at(contained, "identifier", where)
            if ident.get("system") == NPI and (value := text_at(ident, "value", ident_path))
        ]
        if kind == "Organization":
            name = text_at(contained, "name", where)
        else:
            names = items_at(contained, "name", where)
            name = None
            if names:
                first_path, first = names[0]
                parts = [
                    *strings_at(first, "given", first_path),
                    text_at(first, "family", first_path),
                ]
                name = text_at(first, "text", first_path) or " ".join(p for p in parts if p) or None
        return SentProvider(path, npis[0] if npis else None, name)
    raise FhirError(
        422, "invalid", f"{path}: {target} is not contained in the resource", expression=[path]
    )


def _read_provider(resource: Mapping[str, Any], reading: Reading) -> tuple[str, SentProvider]:
    """Outgoing when the (first) performer is the contained provider; incoming when the
    requester is (the clinic, the other party, is not served as a resource)."""
    performers = items_at(resource, "performer", "ServiceRequest")
    requester = object_at(resource, "requester", "ServiceRequest")
    first = _provider_named(resource, performers[0][1], performers[0][0]) if performers else None
    if first is not None:
        for where, _performer in performers[1:]:
            reading.warn(where, "not kept (a referral goes to one provider)")
        if requester is not None:
            reading.warn("ServiceRequest.requester", "not kept (the clinic sends the referral)")
        return "outgoing", first
    found = _provider_named(resource, requester, "ServiceRequest.requester")
    if found is None:
        raise FhirError(
            422,
            "required",
            "ServiceRequest.performer: name the outside provider as a contained Practitioner "
            "or Organization (with its NPI): the performer of a referral we send, the "
            "requester of one we receive",
            expression=["ServiceRequest.performer"],
        )
    for where, _performer in performers:
        reading.warn(where, "not kept (the clinic receives an incoming referral)")
    return "incoming", found


def _read_reasons(resource: Mapping[str, Any], reading: Reading) -> None:
    """ICD-10-CM codings are the diagnoses; a reason without one is the reason in words."""
    words = []
    for where, concept in items_at(resource, "reasonCode", "ServiceRequest"):
        coded = [code for system, code in codings_in(concept, where) if system == ICD10CM]
        for code in coded:
            reading.append("diagnoses", code, where)
        if not coded and (text := concept_words(concept, where)):
            words.append(text)
    reading.put("reason", "; ".join(words) or None, "ServiceRequest.reasonCode")


def _read_documents(resource: Mapping[str, Any], reading: Reading) -> None:
    for where, info in items_at(resource, "supportingInfo", "ServiceRequest"):
        target = reference_target(text_at(info, "reference", where) or "")
        try:
            document = uuid.UUID(target[1]) if target and target[0] == "DocumentReference" else None
        except ValueError:
            document = None
        if document is None:
            reading.warn(where, "not kept (a referral carries the patient's documents)")
        else:
            reading.append("attachment_ids", document, where)


def service_request_from_fhir(
    resource: Mapping[str, Any], status_note: str | None = None
) -> SentReferral:
    """A ServiceRequest as the referral form's fields: the contained outside provider
    (looked up by the caller), the service kind (``urn:carebridge:referral-service-kind``),
    the reason (a reason in words; ICD-10-CM reasons are the diagnoses), the urgency, the
    attached documents and the notes (``status_note``: the note a rendering adds for a
    decline or cancellation, which is not the referral's own note)."""
    reading = Reading("ServiceRequest", resource)
    reading.paths.update(REFERRAL_PATHS)
    direction, provider = _read_provider(resource, reading)
    kinds = [
        c
        for s, c in codings_in(object_at(resource, "code", "ServiceRequest"), "ServiceRequest.code")
        if s == SERVICE_KIND_SYSTEM
    ]
    reading.put("service_kind", kinds[0] if kinds else None, "ServiceRequest.code")
    _read_reasons(resource, reading)
    reading.put(
        "urgency", text_at(resource, "priority", "ServiceRequest"), "ServiceRequest.priority"
    )
    _read_documents(resource, reading)
    notes = [
        text
        for where, note in items_at(resource, "note", "ServiceRequest")
        if (text := text_at(note, "text", where)) and text != status_note
    ]
    reading.put("note", "\n\n".join(notes) or None, "ServiceRequest.note")
    intent = text_at(resource, "intent", "ServiceRequest")
    if intent not in (None, "order"):
        reading.warn("ServiceRequest.intent", f"{intent!r} not kept (a referral is an order)")
    for where, ident in items_at(resource, "identifier", "ServiceRequest"):
        if ident.get("system") != REFERRAL_NUMBER:
            reading.warn(where, "not kept (a referral is known by its referral number)")
    if len(items_at(resource, "contained", "ServiceRequest")) > 1:
        reading.warn("ServiceRequest.contained", "only the outside provider is kept")
    reading.leftovers(resource, "ServiceRequest", set(META_KEYS | REFERRAL_KEYS))
    status = text_at(resource, "status", "ServiceRequest")
    return SentReferral(direction, provider, status, reading.values, reading)


def referral_create(sent: SentReferral, provider_id: uuid.UUID) -> tuple[ReferralCreate, list[str]]:
    """The new referral, once the caller found its provider in the directory."""
    reading = sent.reading
    if reading.values.get("service_kind") is None:
        raise FhirError(
            422,
            "required",
            f"ServiceRequest.code: give the service kind ({SERVICE_KIND_SYSTEM}: "
            f"{', '.join(SERVICE_KINDS)})",
            expression=["ServiceRequest.code"],
        )
    reading.values = {
        **{k: v for k, v in sent.values.items() if v is not None},
        "direction": sent.direction,
        "provider_id": provider_id,
    }
    required = frozenset({"provider_id", "service_kind", "reason", "urgency", "direction"})
    return reading.validate(ReferralCreate, required), reading.warnings


def referral_update(
    sent: SentReferral, provider_id: uuid.UUID, referral: Referral, attached: list[uuid.UUID]
) -> ReferralUpdate | None:
    """What a PUT changes in the referral's details (None: nothing)."""
    reading = sent.reading
    values = {**sent.values, "provider_id": provider_id}
    held = {
        "provider_id": referral.provider_id,
        "service_kind": referral.service_kind,
        "reason": referral.reason,
        "urgency": referral.urgency,
        "diagnoses": [d["code"] for d in referral.diagnoses],
        "note": referral.note,
    }
    values.setdefault("diagnoses", [])
    values["urgency"] = values.get("urgency") or "routine"
    changed = {k: values.get(k) for k in DETAILS if values.get(k) != held[k]}
    if sorted(values.get("attachment_ids", [])) != sorted(attached):
        changed["attachment_ids"] = values.get("attachment_ids", [])
    if not changed:
        return None
    reading.values = {**changed, "version": referral.version}
    required = frozenset({"provider_id", "service_kind", "reason", "urgency", "version"})
    return reading.validate(ReferralUpdate, required)
