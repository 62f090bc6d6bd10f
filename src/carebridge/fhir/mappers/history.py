"""The chart's health history, consents and documents as FHIR R4 (US Core where it has a
profile): Condition, AllergyIntolerance, MedicationStatement, FamilyMemberHistory, Consent
(from sharing consents and from contact consents) and DocumentReference.

Rendering is pure: ORM rows in, a pruned dict out (``_prune``: no empty values). Left out, for
want of a FHIR home or of a stored value: the ``source`` of an entry (reported, clinician...)
except where R4 has a code for it (MedicationStatement ``patientspecified``); a medication's
``prescriber`` (a name, not a Practitioner); an allergy's severity without reactions
(``reaction.manifestation`` is required); a consent's ``note`` and a contact consent's
``source`` text (R4 Consent has neither a note nor a text source); the document's
SHA-256 (``Attachment.hash`` is SHA-1). Social history and past events are not served: their
clean homes (Observation with US Core's smoking-status and social-history profiles; Procedure
and Encounter) need codes and dates the records do not hold.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from carebridge.fhir.mappers.patients import ROLE_CLASS, ROLE_CODE, SNOMED, _coding, _prune
from carebridge.patients.codes import RELATIONSHIPS, SHARING_CATEGORIES
from carebridge.patients.models import (
    Allergy,
    Condition,
    ContactConsent,
    Document,
    FamilyHistory,
    Medication,
    Patient,
    SharingConsent,
)
from carebridge.patients.terminology import LOINC, RXNORM

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
CONDITION_PROFILE = US_CORE + "us-core-condition-problems-health-concerns"
ALLERGY_PROFILE = US_CORE + "us-core-allergyintolerance"
DOCUMENT_PROFILE = US_CORE + "us-core-documentreference"

TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
CONDITION_CATEGORY = TERMINOLOGY + "condition-category"
CONDITION_CLINICAL = TERMINOLOGY + "condition-clinical"
CONDITION_VERIFICATION = TERMINOLOGY + "condition-ver-status"
ALLERGY_CLINICAL = TERMINOLOGY + "allergyintolerance-clinical"
ALLERGY_VERIFICATION = TERMINOLOGY + "allergyintolerance-verification"
MEDICATION_CATEGORY = TERMINOLOGY + "medication-statement-category"
CONSENT_SCOPE = TERMINOLOGY + "consentscope"
CONSENT_POLICY = TERMINOLOGY + "consentpolicycodes"
CONSENT_ACTION = TERMINOLOGY + "consentaction"
PARTICIPATION_TYPE = TERMINOLOGY + "v3-ParticipationType"
ACT_CODE = TERMINOLOGY + "v3-ActCode"
NULL_FLAVOR = TERMINOLOGY + "v3-NullFlavor"
DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
FORMAT_CODE = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode"
CONTACT_POINT_SYSTEM = "http://hl7.org/fhir/contact-point-system"
UCUM = "http://unitsofmeasure.org"
# Our own code systems, for what no published one names.
SHARING_CATEGORY_SYSTEM = "urn:carebridge:sharing-category"
DOCUMENT_KIND_SYSTEM = "urn:carebridge:document-category"

CONDITION_CLINICAL_DISPLAYS = {
    "active": "Active",
    "recurrence": "Recurrence",
    "relapse": "Relapse",
    "inactive": "Inactive",
    "remission": "Remission",
    "resolved": "Resolved",
}
CONDITION_VERIFICATION_DISPLAYS = {
    "unconfirmed": "Unconfirmed",
    "provisional": "Provisional",
    "differential": "Differential",
    "confirmed": "Confirmed",
    "refuted": "Refuted",
    "entered-in-error": "Entered in Error",
}
ALLERGY_CLINICAL_DISPLAYS = {"active": "Active", "inactive": "Inactive", "resolved": "Resolved"}
# Sharing categories whose data carries a v3 sensitivity label (42 CFR Part 2, behavioral and
# sexual health need the patient's specific consent).
SENSITIVITY_LABELS = {
    "behavioral-health": ("BH", "behavioral health information sensitivity"),
    "substance-use": ("ETH", "substance abuse information sensitivity"),
    "sexual-health": ("SEX", "sexuality and reproductive health information sensitivity"),
}
# Contact channels as ContactPoint.system codes (a letter is "other").
CHANNEL_SYSTEMS = {
    "sms": ("sms", "SMS"),
    "email": ("email", "Email"),
    "voice": ("phone", "Phone"),
    "mail": ("other", "Other"),
}
CHANNEL_WORDS = {"sms": "SMS", "email": "email", "voice": "voice call", "mail": "mail"}
# What a document is, from the record that points at it.
DISCHARGE_SUMMARY = "discharge-summary"
CONSENT_FORM = "consent-form"
DOCUMENT_TYPES = {
    DISCHARGE_SUMMARY: (LOINC, "18842-5", "Discharge summary"),
    CONSENT_FORM: (LOINC, "59284-0", "Patient Consent"),
}


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _instant(value: dt.datetime | None) -> str | None:
    """A stored (aware, UTC) time as a FHIR dateTime/instant."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)], "text": display}


def _patient(patient_id: uuid.UUID) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _notes(text: str | None) -> list[dict[str, str]] | None:
    return [{"text": text}] if text else None


def _done(resource: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], _prune(resource))


# --- Condition ------------------------------------------------------------------------------


def condition_to_fhir(item: Condition) -> dict[str, Any]:
    """A problem-list entry as a US Core problem. One marked entered in error keeps its
    code but loses its clinical status (R4 con-5) and says so in verificationStatus."""
    in_error = item.clinical_status == "entered-in-error"
    verification = "entered-in-error" if in_error else item.verification_status
    clinical = None
    if not in_error:
        clinical = _concept(
            CONDITION_CLINICAL,
            item.clinical_status,
            CONDITION_CLINICAL_DISPLAYS.get(item.clinical_status),
        )
    return _done(
        {
            "resourceType": "Condition",
            "id": str(item.id),
            "meta": {"profile": [CONDITION_PROFILE]},
            "clinicalStatus": clinical,
            "verificationStatus": _concept(
                CONDITION_VERIFICATION,
                verification,
                CONDITION_VERIFICATION_DISPLAYS.get(verification),
            ),
            "category": [_concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
            "code": _concept(item.code_system, item.code, item.display),
            "subject": _patient(item.patient_id),
            "onsetDateTime": _day(item.onset_date),
            "abatementDateTime": _day(item.abatement_date),
            "recordedDate": _instant(item.created_at),
            "note": _notes(item.note),
        }
    )


# --- AllergyIntolerance -------------------------------------------------------------------


def allergy_to_fhir(item: Allergy) -> dict[str, Any]:
    """An allergy or intolerance as a US Core AllergyIntolerance: the substance as text
    (coded when a code is stored), reactions as manifestations with the severity."""
    in_error = item.clinical_status == "entered-in-error"
    code: dict[str, Any] = {"text": item.substance}
    if item.code_system and item.code:
        code["coding"] = [_coding(item.code_system, item.code, item.substance)]
    reactions = None
    if item.reactions:
        reactions = [
            {
                "manifestation": [{"text": text} for text in item.reactions],
                "severity": item.severity,
            }
        ]
    return _done(
        {
            "resourceType": "AllergyIntolerance",
            "id": str(item.id),
            "meta": {"profile": [ALLERGY_PROFILE]},
            "clinicalStatus": None
            if in_error
            else _concept(
                ALLERGY_CLINICAL,
                item.clinical_status,
                ALLERGY_CLINICAL_DISPLAYS.get(item.clinical_status),
            ),
            # Only an error is stated: the chart does not record whether one was confirmed.
            "verificationStatus": _concept(
                ALLERGY_VERIFICATION, "entered-in-error", "Entered in Error"
            )
            if in_error
            else None,
            "type": item.type,
            "category": [item.category] if item.category else None,
            "criticality": item.criticality,
            "code": code,
            "patient": _patient(item.patient_id),
            "onsetDateTime": _day(item.onset_date),
            "recordedDate": _instant(item.created_at),
            "note": _notes(item.note),
            "reaction": reactions,
        }
    )


NO_KNOWN_ALLERGY = (SNOMED, "716186003", "No known allergy (situation)")


def no_known_allergies_to_fhir(patient: Patient) -> dict[str, Any]:
    """A chart's "no known allergies" as US Core says to record it: an AllergyIntolerance
    coded 716186003, whose id is the chart's. Once an allergy is recorded the statement no
    longer holds and is ``inactive``."""
    holds = patient.allergy_status == "no-known-allergies"
    status = "active" if holds else "inactive"
    return _done(
        {
            "resourceType": "AllergyIntolerance",
            "id": str(patient.id),
            "meta": {"profile": [ALLERGY_PROFILE]},
            "clinicalStatus": _concept(ALLERGY_CLINICAL, status, ALLERGY_CLINICAL_DISPLAYS[status]),
            "verificationStatus": _concept(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
            "code": _concept(*NO_KNOWN_ALLERGY),
            "patient": _patient(patient.id),
            "recordedDate": _instant(patient.allergy_status_at),
        }
    )


# --- MedicationStatement ------------------------------------------------------------------


def medication_to_fhir(item: Medication) -> dict[str, Any]:
    """A medication the patient takes (or took) as an R4 MedicationStatement: RxNorm when
    stored, the dose, route and frequency as the dosage text."""
    medication: dict[str, Any] = {"text": item.name}
    if item.rxnorm:
        medication["coding"] = [_coding(RXNORM, item.rxnorm, item.name)]
    dosage_text = " ".join(part for part in (item.dose, item.route, item.frequency) if part)
    dosage = None
    if dosage_text:
        dosage = [{"text": dosage_text, "route": {"text": item.route} if item.route else None}]
    period = {"start": _day(item.start_date), "end": _day(item.stop_date)}
    return _done(
        {
            "resourceType": "MedicationStatement",
            "id": str(item.id),
            "status": item.status,
            "category": _concept(MEDICATION_CATEGORY, "patientspecified", "Patient Specified")
            if item.source in ("reported", "caregiver")
            else None,
            "medicationCodeableConcept": medication,
            "subject": _patient(item.patient_id),
            "effectivePeriod": period,
            "dateAsserted": _instant(item.created_at),
            "reasonCode": [{"text": item.reason}] if item.reason else None,
            "note": _notes(item.note),
            "dosage": dosage,
        }
    )


# --- FamilyMemberHistory ------------------------------------------------------------------


def _relationship(code: str) -> dict[str, Any]:
    # CAREGIVER is a v3 RoleClass code; the family relationships are v3 RoleCode.
    system = ROLE_CLASS if code == "CAREGIVER" else ROLE_CODE
    return _concept(system, code, RELATIONSHIPS.get(code))


def family_history_to_fhir(item: FamilyHistory) -> dict[str, Any]:
    """A relative's condition as an R4 FamilyMemberHistory: the relationship (v3 RoleCode),
    the condition (ICD-10-CM when coded) with the age it began at."""
    code: dict[str, Any] = {"text": item.condition}
    if item.code_system and item.code:
        code["coding"] = [_coding(item.code_system, item.code)]
    onset = None
    if item.onset_age is not None:
        onset = {"value": item.onset_age, "unit": "years", "system": UCUM, "code": "a"}
    return _done(
        {
            "resourceType": "FamilyMemberHistory",
            "id": str(item.id),
            "status": item.status,
            "patient": _patient(item.patient_id),
            "date": _instant(item.created_at),
            "relationship": _relationship(item.relationship_code),
            "deceasedBoolean": True if item.deceased else None,
            "note": _notes(item.note),
            "condition": [{"code": code, "onsetAge": onset}],
        }
    )


# --- Consent ------------------------------------------------------------------------------


def _sharing_codes(categories: list[str]) -> list[dict[str, Any]]:
    return [
        _concept(SHARING_CATEGORY_SYSTEM, category, SHARING_CATEGORIES.get(category))
        for category in categories
    ]


def sharing_consent_to_fhir(consent: SharingConsent) -> dict[str, Any]:
    """What the patient allowed us to disclose to a related person, as an R4 privacy
    Consent: the person is the provision's recipient, the categories its codes (with the v3
    sensitivity labels of the ones that need specific consent), the expiry its period's end,
    the signed form its source. Revoked is ``inactive``; an expired one stays ``active`` with
    its period ended (the status follows the record, not the clock)."""
    labels = [
        _coding(ACT_CODE, *SENSITIVITY_LABELS[c])
        for c in consent.categories
        if c in SENSITIVITY_LABELS
    ]
    return _done(
        {
            "resourceType": "Consent",
            "id": str(consent.id),
            "status": "inactive" if consent.status == "revoked" else "active",
            "scope": _concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
            "category": [_concept(LOINC, "64292-6", "Release of information consent")],
            "patient": _patient(consent.patient_id),
            "dateTime": _day(consent.signed_on),
            "performer": [_patient(consent.patient_id)],
            "sourceReference": {"reference": f"DocumentReference/{consent.document_id}"}
            if consent.document_id
            else None,
            "policyRule": _concept(CONSENT_POLICY, "hipaa-auth", "HIPAA Authorization"),
            "provision": {
                "type": "permit",
                "period": {"start": _day(consent.signed_on), "end": _day(consent.expires_on)},
                "actor": [
                    {
                        "role": _concept(PARTICIPATION_TYPE, "IRCP", "information recipient"),
                        "reference": {"reference": f"RelatedPerson/{consent.related_person_id}"},
                    }
                ],
                "action": [_concept(CONSENT_ACTION, "disclose", "Disclose")],
                "securityLabel": labels,
                "code": _sharing_codes(consent.categories),
            },
        }
    )


def contact_consent_to_fhir(consent: ContactConsent) -> dict[str, Any]:
    """The patient's decision to be contacted (or not) on one channel, as an R4 Consent whose
    provision permits or denies it from one day to another. Each decision is served as
    recorded: a later one for the same channel takes precedence (as reminders read them)."""
    system_code, display = CHANNEL_SYSTEMS.get(consent.channel, ("other", "Other"))
    words = CHANNEL_WORDS.get(consent.channel, consent.channel)
    return _done(
        {
            "resourceType": "Consent",
            "id": str(consent.id),
            "status": "active",
            "scope": _concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
            "category": [_concept(LOINC, "59284-0", "Patient Consent")],
            "patient": _patient(consent.patient_id),
            "dateTime": _instant(consent.created_at),
            "performer": [_patient(consent.patient_id)],
            "policyRule": {"text": f"Contact by {words}"},
            "provision": {
                "type": consent.decision,
                "period": {
                    "start": _day(consent.effective_from),
                    "end": _day(consent.effective_until),
                },
                "code": [
                    {
                        "coding": [_coding(CONTACT_POINT_SYSTEM, system_code, display)],
                        "text": f"Contact by {words}",
                    }
                ],
            },
        }
    )


# --- DocumentReference --------------------------------------------------------------------


def document_to_fhir(
    doc: Document, *, kind: str | None = None, encounter_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """An uploaded file as a US Core DocumentReference whose attachment is fetched from the
    JSON API's download route. ``kind``: what a record pointing at it says it is (a
    transition's discharge summary, a sharing consent's signed form); the type is UNK
    otherwise. ``encounter_id``: the stay a discharge summary ends."""
    known = DOCUMENT_TYPES.get(kind or "")
    doc_type = _concept(*known) if known else _concept(NULL_FLAVOR, "UNK", "unknown")
    if kind == DISCHARGE_SUMMARY:
        category = _concept(DOCUMENT_CATEGORY, "clinical-note", "Clinical Note")
    else:
        category = _concept(DOCUMENT_KIND_SYSTEM, "patient-document", "Patient document")
    return _done(
        {
            "resourceType": "DocumentReference",
            "id": str(doc.id),
            "meta": {"profile": [DOCUMENT_PROFILE]},
            "status": "current",
            "type": doc_type,
            "category": [category],
            "subject": _patient(doc.patient_id),
            "date": _instant(doc.created_at),
            "description": doc.title,
            "content": [
                {
                    "attachment": {
                        "contentType": doc.content_type,
                        "url": f"/api/v1/patients/{doc.patient_id}/documents/{doc.id}",
                        "size": doc.size,
                        "title": doc.title,
                        "creation": _instant(doc.created_at),
                    },
                    "format": _coding(
                        FORMAT_CODE,
                        "urn:ihe:iti:xds:2017:mimeTypeSufficient",
                        "mimeType Sufficient",
                    ),
                }
            ],
            "context": {"encounter": [{"reference": f"Encounter/{encounter_id}"}]}
            if encounter_id
            else None,
        }
    )
