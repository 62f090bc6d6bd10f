"""The chart's health history, consents and documents as FHIR R4 (US Core where it has a
profile): Condition, AllergyIntolerance, MedicationStatement, FamilyMemberHistory, Consent
(from sharing consents and from contact consents) and DocumentReference.

Rendering is pure: ORM rows in, a pruned dict out (``prune``: no empty values). Left out, for
want of a FHIR home or of a stored value: the ``source`` of an entry (reported, clinician...)
except where R4 has a code for it (MedicationStatement ``patientspecified``); a medication's
``prescriber`` (a name, not a Practitioner); an allergy's severity without reactions
(``reaction.manifestation`` is required); a consent's ``note`` and a contact consent's
``source`` text (R4 Consent has neither a note nor a text source); the document's
SHA-256 (``Attachment.hash`` is SHA-1); past events (their clean homes, Procedure and
Encounter, need codes and dates the records do not hold). Social history is served as
Observations (``mappers.observations``).

Reading (FHIR create and update) builds the history screens' own inputs, so a Condition,
AllergyIntolerance or MedicationStatement sent to us is checked like one typed on the
screen: a required value missing or refused is a 422 naming its FHIR path; an optional one
the chart cannot keep is named in a warning. The chart keeps an allergy's substance in words
(no code), one code per problem (ICD-10-CM, else SNOMED CT), one dosage, reason and severity;
an entry sent by another system is "imported" (a medication the patient reported, category
``patientspecified``, is "reported").
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.elements import (
    META_KEYS,
    Reading,
    coding_of,
    codings_in,
    full_date_at,
    items_at,
    object_at,
    prune,
    strings_at,
    text_at,
)
from carebridge.fhir.mappers.patients import (
    ROLE_CLASS,
    ROLE_CODE,
    SNOMED,
)
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
from carebridge.patients.schemas import AllergyCreate, ConditionCreate, MedicationCreate
from carebridge.patients.terminology import ICD10CM, LOINC, RXNORM

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
    return {"coding": [coding_of(system, code, display)], "text": display}


def _patient(patient_id: uuid.UUID) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _notes(text: str | None) -> list[dict[str, str]] | None:
    return [{"text": text}] if text else None


def _done(resource: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], prune(resource))


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
        code["coding"] = [coding_of(item.code_system, item.code, item.substance)]
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
        medication["coding"] = [coding_of(RXNORM, item.rxnorm, item.name)]
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
        code["coding"] = [coding_of(item.code_system, item.code)]
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
        coding_of(ACT_CODE, *SENSITIVITY_LABELS[c])
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
                        "coding": [coding_of(CONTACT_POINT_SYSTEM, system_code, display)],
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
                    "format": coding_of(
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


# --- reading: Condition, AllergyIntolerance, MedicationStatement -> the history screens -----

ERROR = "entered-in-error"
# A history entry sent by another system (the chart's "imported" source).
SENT_SOURCE = "imported"
NO_KNOWN_ALLERGY_CODE = NO_KNOWN_ALLERGY[1]
# Narrower "no known ..." statements: the chart has only "no known allergies" for them.
NARROWER_NO_KNOWN = {
    "409137002": "no known drug allergy",
    "429625007": "no known food allergy",
    "428607008": "no known environmental allergy",
}
SEVERITY_ORDER = ("mild", "moderate", "severe")

CONDITION_KEYS = frozenset(
    {
        "clinicalStatus",
        "verificationStatus",
        "category",
        "code",
        "subject",
        "onsetDateTime",
        "abatementDateTime",
        "recordedDate",
        "note",
    }
)
ALLERGY_KEYS = frozenset(
    {
        "clinicalStatus",
        "verificationStatus",
        "type",
        "category",
        "criticality",
        "code",
        "patient",
        "onsetDateTime",
        "recordedDate",
        "note",
        "reaction",
    }
)
MEDICATION_KEYS = frozenset(
    {
        "status",
        "category",
        "medicationCodeableConcept",
        "subject",
        "effectivePeriod",
        "effectiveDateTime",
        "dateAsserted",
        "reasonCode",
        "note",
        "dosage",
    }
)


def concept_words(concept: Mapping[str, Any] | None, path: str) -> str | None:
    """A CodeableConcept in words: its text, else the display of its first coding."""
    if concept is None:
        return None
    text = text_at(concept, "text", path)
    if text:
        return text
    for where, coding in items_at(concept, "coding", path):
        display = text_at(coding, "display", where)
        if display:
            return display
    return None


def _status(resource: Mapping[str, Any], key: str, system: str, root: str) -> str | None:
    """The code, from ``system``, of a status CodeableConcept (a required binding)."""
    path = f"{root}.{key}"
    concept = object_at(resource, key, root)
    if concept is None:
        return None
    codes = [code for found, code in codings_in(concept, path) if found == system]
    if not codes:
        raise FhirError(422, "value", f"{path}: give a code from {system}", expression=[path])
    return codes[0]


def _put_day(reading: Reading, node: Mapping[str, Any], key: str, field: str, path: str) -> None:
    where = f"{path}.{key}"
    value = text_at(node, key, path)
    day = full_date_at(value, where)
    if day is not None:
        reading.put(field, day, where)
    elif value is not None:
        reading.warn(where, f"{value!r} is not a full date; not kept")


def _put_notes(reading: Reading, resource: Mapping[str, Any]) -> None:
    """Every note's text, as the entry's one note."""
    texts = [
        text
        for where, note in items_at(resource, "note", reading.root)
        if (text := text_at(note, "text", where))
    ]
    if texts:
        reading.put("note", "\n\n".join(texts), f"{reading.root}.note")


def _read_condition(resource: Mapping[str, Any]) -> Reading:
    """A Condition as the problem list's fields: one ICD-10-CM code (else SNOMED CT, whose
    words the chart keeps as its display), the statuses, onset, abatement and notes."""
    reading = Reading("Condition", resource)
    path = "Condition.code"
    reading.paths.update(
        code=path, code_system=path, display=path, clinical_status="Condition.clinicalStatus"
    )
    concept = object_at(resource, "code", "Condition")
    codings = items_at(concept, "coding", path) if concept else []
    chosen = next((c for c in codings if c[1].get("system") == ICD10CM), None) or next(
        (c for c in codings if c[1].get("system") == SNOMED), None
    )
    if chosen is None:
        raise FhirError(
            422,
            "required",
            f"{path}: give an ICD-10-CM or SNOMED CT coding of the problem",
            expression=[path],
        )
    where, coding = chosen
    snomed = coding.get("system") == SNOMED
    reading.put("code_system", "snomed" if snomed else "icd-10-cm", where)
    reading.put("code", text_at(coding, "code", where), f"{where}.code")
    if snomed:
        display = text_at(coding, "display", where) or text_at(concept or {}, "text", path)
        reading.put("display", display, f"{where}.display")
    for other, _coding_sent in codings:
        if other != where:
            reading.warn(other, "not kept (the chart keeps one code for a problem)")
    verification = _status(resource, "verificationStatus", CONDITION_VERIFICATION, "Condition")
    clinical = _status(resource, "clinicalStatus", CONDITION_CLINICAL, "Condition")
    if verification == ERROR:
        reading.put("clinical_status", ERROR, "Condition.verificationStatus")
    else:
        if clinical is not None:
            reading.put("clinical_status", clinical, "Condition.clinicalStatus")
        if verification is not None:
            reading.put("verification_status", verification, "Condition.verificationStatus")
    for where, category in items_at(resource, "category", "Condition"):
        if (CONDITION_CATEGORY, "problem-list-item") not in codings_in(category, where):
            reading.warn(where, "not kept (the chart keeps a problem list)")
    _put_day(reading, resource, "onsetDateTime", "onset_date", "Condition")
    _put_day(reading, resource, "abatementDateTime", "abatement_date", "Condition")
    _put_notes(reading, resource)
    reading.leftovers(resource, "Condition", set(META_KEYS | CONDITION_KEYS))
    return reading


def _read_reactions(reading: Reading, resource: Mapping[str, Any]) -> None:
    """Every manifestation in words; the chart keeps one severity, the worst one sent."""
    severities: list[tuple[int, str, str]] = []
    for where, reaction in items_at(resource, "reaction", reading.root):
        for item, manifestation in items_at(reaction, "manifestation", where):
            words = concept_words(manifestation, item)
            if words:
                reading.append("reactions", words, item)
        severity = text_at(reaction, "severity", where)
        if severity in SEVERITY_ORDER:
            severities.append((SEVERITY_ORDER.index(severity), severity, f"{where}.severity"))
        elif severity is not None:
            reading.warn(f"{where}.severity", f"{severity!r} is not a severity; not kept")
        reading.leftovers(reaction, where, {"manifestation", "severity"})
    if severities:
        _rank, severity, where = max(severities)
        reading.put("severity", severity, where)


def _read_allergy(resource: Mapping[str, Any]) -> Reading:
    """An AllergyIntolerance as the allergy list's fields: the substance in words (the chart
    keeps no code for it), type, category, criticality, status, onset, reactions, notes."""
    root = "AllergyIntolerance"
    reading = Reading(root, resource)
    reading.paths.update(substance=f"{root}.code", clinical_status=f"{root}.clinicalStatus")
    concept = object_at(resource, "code", root)
    substance = concept_words(concept, f"{root}.code")
    if substance is None:
        raise FhirError(
            422,
            "required",
            f"{root}.code: give the substance (its text, or a coding's display)",
            expression=[f"{root}.code"],
        )
    reading.put("substance", substance, f"{root}.code")
    if concept is not None and concept.get("coding"):
        reading.warn(f"{root}.code.coding", "not kept (the chart keeps the substance in words)")
    verification = _status(resource, "verificationStatus", ALLERGY_VERIFICATION, root)
    clinical = _status(resource, "clinicalStatus", ALLERGY_CLINICAL, root)
    if verification == "refuted":
        raise FhirError(
            422,
            "value",
            f"{root}.verificationStatus: the chart keeps no refuted allergies; mark the entry "
            "inactive or entered in error",
            expression=[f"{root}.verificationStatus"],
        )
    if verification == ERROR:
        reading.put("clinical_status", ERROR, f"{root}.verificationStatus")
    elif clinical is not None:
        reading.put("clinical_status", clinical, f"{root}.clinicalStatus")
    if verification not in (None, ERROR, "confirmed"):
        reading.warn(
            f"{root}.verificationStatus",
            f"{verification} not kept (the chart does not record whether it was confirmed)",
        )
    for key in ("type", "criticality"):
        if (value := text_at(resource, key, root)) is not None:
            reading.put(key, value, f"{root}.{key}")
    categories = strings_at(resource, "category", root)
    if categories:
        reading.put("category", categories[0], f"{root}.category[0]")
    for index in range(1, len(categories)):
        reading.warn(f"{root}.category[{index}]", "not kept (the chart keeps one category)")
    _put_day(reading, resource, "onsetDateTime", "onset_date", root)
    _read_reactions(reading, resource)
    _put_notes(reading, resource)
    reading.leftovers(resource, root, set(META_KEYS | ALLERGY_KEYS))
    return reading


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _read_dosage(reading: Reading, resource: Mapping[str, Any]) -> None:
    """The chart keeps a dose, a route and a frequency as typed, and shows them as one
    text: a dosage's text is kept as the dose (with the route, when the text does not say
    it); without a text, the dose quantity, the route and the timing's code in words."""
    dosages = items_at(resource, "dosage", reading.root)
    for where, _dosage in dosages[1:]:
        reading.warn(where, "not kept (the chart keeps one dosage)")
    if not dosages:
        return
    where, dosage = dosages[0]
    text = text_at(dosage, "text", where)
    route = concept_words(object_at(dosage, "route", where), f"{where}.route")
    if route and not (text and route.lower() in text.lower()):
        reading.put("route", route, f"{where}.route")
    if text:
        reading.put("dose", text, f"{where}.text")
        return
    amounts = items_at(dosage, "doseAndRate", where)
    quantity = object_at(amounts[0][1], "doseQuantity", amounts[0][0]) if amounts else None
    if quantity is not None and quantity.get("value") is not None:
        unit = text_at(quantity, "unit", "doseQuantity") or text_at(
            quantity, "code", "doseQuantity"
        )
        dose = " ".join(p for p in (_number(quantity["value"]), unit) if p)
        reading.put("dose", dose, f"{amounts[0][0]}.doseQuantity")
    timing = object_at(dosage, "timing", where)
    code = object_at(timing, "code", f"{where}.timing") if timing else None
    frequency = concept_words(code, f"{where}.timing.code")
    if frequency:
        reading.put("frequency", frequency, f"{where}.timing.code")
    elif timing:
        reading.warn(f"{where}.timing", "not kept without a text or a timing code")
    reading.leftovers(dosage, where, {"text", "route", "doseAndRate", "timing", "sequence"})


def _read_medication(resource: Mapping[str, Any]) -> Reading:
    """A MedicationStatement as the medication list's fields: the medicine in words with
    its RxNorm code, status, dates, dosage, reason and notes; one the patient or a caregiver
    reported (category patientspecified) is "reported", one from elsewhere "imported"."""
    root = "MedicationStatement"
    reading = Reading(root, resource)
    medicine = f"{root}.medicationCodeableConcept"
    reading.paths.update(name=medicine, status=f"{root}.status")
    if resource.get("medicationReference") is not None:
        raise FhirError(
            422,
            "not-supported",
            f"{root}.medicationReference: send the medicine as medicationCodeableConcept "
            "(its name, and its RxNorm code)",
            expression=[f"{root}.medicationReference"],
        )
    if (status := text_at(resource, "status", root)) is not None:
        reading.put("status", status, f"{root}.status")
    concept = object_at(resource, "medicationCodeableConcept", root)
    name = concept_words(concept, medicine)
    if name is None:
        raise FhirError(
            422,
            "required",
            f"{medicine}: give the medicine's name (its text, or a coding's display)",
            expression=[medicine],
        )
    reading.put("name", name, medicine)
    if concept is not None:
        for where, coding in items_at(concept, "coding", medicine):
            code = text_at(coding, "code", where)
            if coding.get("system") == RXNORM and code and "rxnorm" not in reading.values:
                reading.put("rxnorm", code, f"{where}.code")
            else:
                reading.warn(where, "not kept (the chart keeps one RxNorm code)")
    period = object_at(resource, "effectivePeriod", root)
    if period is not None:
        _put_day(reading, period, "start", "start_date", f"{root}.effectivePeriod")
        _put_day(reading, period, "end", "stop_date", f"{root}.effectivePeriod")
    _put_day(reading, resource, "effectiveDateTime", "start_date", root)
    _read_dosage(reading, resource)
    reasons = items_at(resource, "reasonCode", root)
    if reasons:
        reading.put("reason", concept_words(reasons[0][1], reasons[0][0]), reasons[0][0])
    for where, _reason in reasons[1:]:
        reading.warn(where, "not kept (the chart keeps one reason)")
    category = object_at(resource, "category", root)
    reported = (MEDICATION_CATEGORY, "patientspecified") in codings_in(category, f"{root}.category")
    reading.put("source", "reported" if reported else SENT_SOURCE, f"{root}.category")
    if category is not None and not reported:
        reading.warn(f"{root}.category", "not kept (the chart records who reported it)")
    _put_notes(reading, resource)
    reading.leftovers(resource, root, set(META_KEYS | MEDICATION_KEYS))
    return reading


# Each type: how it is read, the field its status goes in, the one its end date goes in,
# and the fields without which there is no entry.
_READERS: dict[str, tuple[Callable[[Mapping[str, Any]], Reading], str, str | None]] = {
    "Condition": (_read_condition, "clinical_status", "abatement_date"),
    "AllergyIntolerance": (_read_allergy, "clinical_status", None),
    "MedicationStatement": (_read_medication, "status", "stop_date"),
}
_REQUIRED = {
    "Condition": frozenset(
        {"code", "code_system", "display", "clinical_status", "verification_status"}
    ),
    "AllergyIntolerance": frozenset({"substance", "clinical_status"}),
    "MedicationStatement": frozenset({"name", "status"}),
}
_SCHEMAS: dict[str, type[ConditionCreate | AllergyCreate | MedicationCreate]] = {
    "Condition": ConditionCreate,
    "AllergyIntolerance": AllergyCreate,
    "MedicationStatement": MedicationCreate,
}


def _reader(resource: Mapping[str, Any]) -> tuple[str, Reading, str, str | None]:
    kind = str(resource.get("resourceType"))
    if kind not in _READERS:
        raise FhirError(400, "invalid", f"{kind} is not a health-history type")
    read, status_field, end_field = _READERS[kind]
    return kind, read(resource), status_field, end_field


def history_item_from_fhir(
    resource: Mapping[str, Any],
) -> tuple[ConditionCreate | AllergyCreate | MedicationCreate, list[str]]:
    """A Condition, AllergyIntolerance or MedicationStatement as the history screen's new
    entry (the patient is the caller's to resolve), and a warning for each element the
    chart cannot keep. A missing or invalid required value is a 422 naming its path; a new
    entry cannot start entered in error."""
    kind, reading, status_field, _end = _reader(resource)
    if reading.values.get(status_field) == ERROR:
        path = reading.paths[status_field]
        raise FhirError(
            422,
            "value",
            f"{path}: a new entry cannot be entered in error",
            expression=[path],
        )
    reading.values.setdefault("source", SENT_SOURCE)
    reading.values = {k: v for k, v in reading.values.items() if v is not None}
    return reading.validate(_SCHEMAS[kind], _REQUIRED[kind]), reading.warnings


@dataclass(frozen=True)
class HistoryChange:
    """What an update of a history entry may change, as the entry's status form does: the
    status, the note and the end date (a problem's abatement, a medication's stop)."""

    status: str | None
    note: str | None
    end_date: dt.date | None
    paths: dict[str, str]  # each field's FHIR element


def history_change_from_fhir(resource: Mapping[str, Any]) -> HistoryChange:
    kind, reading, status_field, end_field = _reader(resource)
    values = reading.values
    return HistoryChange(
        status=values.get(status_field),
        note=values.get("note"),
        end_date=values.get(end_field) if end_field else None,
        paths={
            "status": reading.paths[status_field],
            "note": f"{kind}.note",
            "end_date": reading.paths.get(end_field or "", kind),
        },
    )


def no_known_allergies_from_fhir(resource: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """The clinical status of an AllergyIntolerance that states "no known allergies"
    (SNOMED CT 716186003), and what of it is not kept; None for any other allergy. The
    narrower statements (no known drug, food or environmental allergy) are a 422: the chart
    has no place for them, and taking them as "no known allergies" would say too much."""
    root = "AllergyIntolerance"
    concept = object_at(resource, "code", root)
    codes = {code for system, code in codings_in(concept, f"{root}.code") if system == SNOMED}
    for code, words in NARROWER_NO_KNOWN.items():
        if code in codes:
            raise FhirError(
                422,
                "not-supported",
                f"{root}.code: the chart records {words} only as no known allergies at all "
                f"({SNOMED}|{NO_KNOWN_ALLERGY_CODE}); send that, or the allergies themselves",
                expression=[f"{root}.code"],
            )
    if NO_KNOWN_ALLERGY_CODE not in codes:
        return None
    reading = Reading(root, resource)
    status = _status(resource, "clinicalStatus", ALLERGY_CLINICAL, root) or "active"
    kept = {"code", "clinicalStatus", "verificationStatus", "patient", "recordedDate"}
    reading.leftovers(resource, root, set(META_KEYS) | kept)
    return status, reading.warnings
