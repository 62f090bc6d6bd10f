"""Index fields of FHIR resources Carebridge keeps exactly as received.

A received resource (Observation, Immunization, Claim, ExplanationOfBenefit, ... any valid R4
type we do not model) is stored unchanged; what search, ``_include``/``_revinclude`` and the
integrity check need is read out of it here: the patient it belongs to, its clinical date as an
instant range, its main code, its status, every coding and identifier as a token, and every
reference it makes.

The per-type tables are the R4 (4.0.1) definitions reduced to element paths:
``COMPARTMENT_PATHS`` from CompartmentDefinition/patient (each inclusion parameter replaced by
the element its SearchParameter expression reads), ``DATE_PATHS`` from ``clinical-date`` and the
types' own date parameters, ``CODE_PATHS`` from ``clinical-code`` and the types' own code
parameters, ``STATUS_PATHS`` from the ``status`` parameters. A path is dotted element names
(lists are walked through); a last step ending in ``[x]`` is a choice element
(``effective[x]`` reads ``effectiveDateTime``, ``effectivePeriod``, ``effectiveInstant``...).
The first path that gives a usable value wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from carebridge.fhir.errors import FhirError

# Every resource type of FHIR R4 4.0.1 (the ResourceType value set without the abstract
# Resource and DomainResource). Parameters is one: it is a valid body for operations.
RESOURCE_TYPES: frozenset[str] = frozenset(
    [
        "Account",
        "ActivityDefinition",
        "AdverseEvent",
        "AllergyIntolerance",
        "Appointment",
        "AppointmentResponse",
        "AuditEvent",
        "Basic",
        "Binary",
        "BiologicallyDerivedProduct",
        "BodyStructure",
        "Bundle",
        "CapabilityStatement",
        "CarePlan",
        "CareTeam",
        "CatalogEntry",
        "ChargeItem",
        "ChargeItemDefinition",
        "Claim",
        "ClaimResponse",
        "ClinicalImpression",
        "CodeSystem",
        "Communication",
        "CommunicationRequest",
        "CompartmentDefinition",
        "Composition",
        "ConceptMap",
        "Condition",
        "Consent",
        "Contract",
        "Coverage",
        "CoverageEligibilityRequest",
        "CoverageEligibilityResponse",
        "DetectedIssue",
        "Device",
        "DeviceDefinition",
        "DeviceMetric",
        "DeviceRequest",
        "DeviceUseStatement",
        "DiagnosticReport",
        "DocumentManifest",
        "DocumentReference",
        "EffectEvidenceSynthesis",
        "Encounter",
        "Endpoint",
        "EnrollmentRequest",
        "EnrollmentResponse",
        "EpisodeOfCare",
        "EventDefinition",
        "Evidence",
        "EvidenceVariable",
        "ExampleScenario",
        "ExplanationOfBenefit",
        "FamilyMemberHistory",
        "Flag",
        "Goal",
        "GraphDefinition",
        "Group",
        "GuidanceResponse",
        "HealthcareService",
        "ImagingStudy",
        "Immunization",
        "ImmunizationEvaluation",
        "ImmunizationRecommendation",
        "ImplementationGuide",
        "InsurancePlan",
        "Invoice",
        "Library",
        "Linkage",
        "List",
        "Location",
        "Measure",
        "MeasureReport",
        "Media",
        "Medication",
        "MedicationAdministration",
        "MedicationDispense",
        "MedicationKnowledge",
        "MedicationRequest",
        "MedicationStatement",
        "MedicinalProduct",
        "MedicinalProductAuthorization",
        "MedicinalProductContraindication",
        "MedicinalProductIndication",
        "MedicinalProductIngredient",
        "MedicinalProductInteraction",
        "MedicinalProductManufactured",
        "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect",
        "MessageDefinition",
        "MessageHeader",
        "MolecularSequence",
        "NamingSystem",
        "NutritionOrder",
        "Observation",
        "ObservationDefinition",
        "OperationDefinition",
        "OperationOutcome",
        "Organization",
        "OrganizationAffiliation",
        "Parameters",
        "Patient",
        "PaymentNotice",
        "PaymentReconciliation",
        "Person",
        "PlanDefinition",
        "Practitioner",
        "PractitionerRole",
        "Procedure",
        "Provenance",
        "Questionnaire",
        "QuestionnaireResponse",
        "RelatedPerson",
        "RequestGroup",
        "ResearchDefinition",
        "ResearchElementDefinition",
        "ResearchStudy",
        "ResearchSubject",
        "RiskAssessment",
        "RiskEvidenceSynthesis",
        "Schedule",
        "SearchParameter",
        "ServiceRequest",
        "Slot",
        "Specimen",
        "SpecimenDefinition",
        "StructureDefinition",
        "StructureMap",
        "Subscription",
        "Substance",
        "SubstanceNucleicAcid",
        "SubstancePolymer",
        "SubstanceProtein",
        "SubstanceReferenceInformation",
        "SubstanceSourceMaterial",
        "SubstanceSpecification",
        "SupplyDelivery",
        "SupplyRequest",
        "Task",
        "TerminologyCapabilities",
        "TestReport",
        "TestScript",
        "ValueSet",
        "VerificationResult",
        "VisionPrescription",
    ]
)

# The patient compartment. The first path is the one that names the patient the record is
# about; later ones (performer, author, payee...) count only when they say they are a Patient.
# Coverage puts beneficiary first: the compartment lists policy-holder first, but the covered
# person is whom a coverage belongs to. Group (member) is left out: a group has no one patient.
COMPARTMENT_PATHS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Account": ("subject",),
        "AdverseEvent": ("subject",),
        "AllergyIntolerance": ("patient", "recorder", "asserter"),
        "Appointment": ("participant.actor",),
        "AppointmentResponse": ("actor",),
        "AuditEvent": ("entity.what", "agent.who"),
        "Basic": ("subject", "author"),
        "BodyStructure": ("patient",),
        "CarePlan": ("subject", "activity.detail.performer"),
        "CareTeam": ("subject", "participant.member"),
        "ChargeItem": ("subject",),
        "Claim": ("patient", "payee.party"),
        "ClaimResponse": ("patient",),
        "ClinicalImpression": ("subject",),
        "Communication": ("subject", "sender", "recipient"),
        "CommunicationRequest": ("subject", "sender", "recipient", "requester"),
        "Composition": ("subject", "author", "attester.party"),
        "Condition": ("subject", "asserter"),
        "Consent": ("patient",),
        "Coverage": ("beneficiary", "policyHolder", "subscriber", "payor"),
        "CoverageEligibilityRequest": ("patient",),
        "CoverageEligibilityResponse": ("patient",),
        "DetectedIssue": ("patient",),
        "DeviceRequest": ("subject", "performer"),
        "DeviceUseStatement": ("subject",),
        "DiagnosticReport": ("subject",),
        "DocumentManifest": ("subject", "author", "recipient"),
        "DocumentReference": ("subject", "author"),
        "Encounter": ("subject",),
        "EnrollmentRequest": ("candidate",),
        "EpisodeOfCare": ("patient",),
        "ExplanationOfBenefit": ("patient", "payee.party"),
        "FamilyMemberHistory": ("patient",),
        "Flag": ("subject",),
        "Goal": ("subject",),
        "ImagingStudy": ("subject",),
        "Immunization": ("patient",),
        "ImmunizationEvaluation": ("patient",),
        "ImmunizationRecommendation": ("patient",),
        "Invoice": ("subject", "recipient"),
        "List": ("subject", "source"),
        "MeasureReport": ("subject",),
        "Media": ("subject",),
        "MedicationAdministration": ("subject", "performer.actor"),
        "MedicationDispense": ("subject", "receiver"),
        "MedicationRequest": ("subject",),
        "MedicationStatement": ("subject",),
        "MolecularSequence": ("patient",),
        "NutritionOrder": ("patient",),
        "Observation": ("subject", "performer"),
        "Person": ("link.target",),
        "Procedure": ("subject", "performer.actor"),
        "Provenance": ("target",),
        "QuestionnaireResponse": ("subject", "author"),
        "RelatedPerson": ("patient",),
        "RequestGroup": ("subject", "action.participant"),
        "ResearchSubject": ("individual",),
        "RiskAssessment": ("subject",),
        "Schedule": ("actor",),
        "ServiceRequest": ("subject", "performer"),
        "Specimen": ("subject",),
        "SupplyDelivery": ("patient",),
        "SupplyRequest": ("deliverTo",),
        "VisionPrescription": ("patient",),
    }
)
_COMPARTMENT_FALLBACK = ("subject", "patient")

DATE_PATHS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Account": ("servicePeriod",),
        "AdverseEvent": ("date",),
        "AllergyIntolerance": ("recordedDate", "onset[x]"),
        "Appointment": ("start",),
        "AuditEvent": ("recorded",),
        "Basic": ("created",),
        "CarePlan": ("period",),
        "CareTeam": ("period",),
        "ChargeItem": ("occurrence[x]",),
        # Claims carry no clinical date; the billable period is when the care happened.
        "Claim": ("billablePeriod", "created"),
        "ClaimResponse": ("created",),
        "ClinicalImpression": ("date", "effective[x]"),
        "Communication": ("sent", "received"),
        "CommunicationRequest": ("occurrence[x]", "authoredOn"),
        "Composition": ("date",),
        "Condition": ("onset[x]", "recordedDate"),
        "Consent": ("dateTime",),
        "Coverage": ("period",),
        "CoverageEligibilityRequest": ("created",),
        "CoverageEligibilityResponse": ("created",),
        "DetectedIssue": ("identified[x]",),
        "DeviceRequest": ("occurrence[x]", "authoredOn"),
        "DeviceUseStatement": ("timing[x]", "recordedOn"),
        "DiagnosticReport": ("effective[x]", "issued"),
        "DocumentManifest": ("created",),
        "DocumentReference": ("context.period", "date"),
        "Encounter": ("period",),
        "EnrollmentRequest": ("created",),
        "EpisodeOfCare": ("period",),
        "ExplanationOfBenefit": ("billablePeriod", "created"),
        "FamilyMemberHistory": ("date",),
        "Flag": ("period",),
        "Goal": ("start[x]", "target.due[x]"),
        "ImagingStudy": ("started",),
        "Immunization": ("occurrence[x]", "recorded"),
        "ImmunizationEvaluation": ("date",),
        "ImmunizationRecommendation": ("date",),
        "Invoice": ("date",),
        "List": ("date",),
        "MeasureReport": ("period", "date"),
        "Media": ("created[x]", "issued"),
        "MedicationAdministration": ("effective[x]",),
        "MedicationDispense": ("whenHandedOver", "whenPrepared"),
        "MedicationRequest": ("authoredOn",),
        "MedicationStatement": ("effective[x]", "dateAsserted"),
        "NutritionOrder": ("dateTime",),
        "Observation": ("effective[x]", "issued"),
        "Procedure": ("performed[x]",),
        "Provenance": ("occurred[x]", "recorded"),
        "QuestionnaireResponse": ("authored",),
        "RequestGroup": ("authoredOn",),
        "ResearchSubject": ("period",),
        "RiskAssessment": ("occurrence[x]",),
        "ServiceRequest": ("occurrence[x]", "authoredOn"),
        "Specimen": ("collection.collected[x]", "receivedTime"),
        "SupplyDelivery": ("occurrence[x]",),
        "SupplyRequest": ("authoredOn", "occurrence[x]"),
        "Task": ("executionPeriod", "authoredOn"),
        "VisionPrescription": ("dateWritten",),
    }
)
# A type we have no row for: the elements that carry the clinical date in most R4 types.
_DATE_FALLBACK = (
    "effective[x]",
    "occurrence[x]",
    "performed[x]",
    "period",
    "date",
    "created",
    "authoredOn",
    "issued",
)

CODE_PATHS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Account": ("type",),
        "AdverseEvent": ("event",),
        "AllergyIntolerance": ("code", "reaction.substance"),
        "Appointment": ("serviceType", "appointmentType"),
        "AuditEvent": ("type", "subtype"),
        "Basic": ("code",),
        "BodyStructure": ("morphology", "location"),
        "CarePlan": ("category",),
        "CareTeam": ("category",),
        "ChargeItem": ("code",),
        "Claim": ("type",),
        "ClaimResponse": ("type",),
        "ClinicalImpression": ("code",),
        "Communication": ("category",),
        "CommunicationRequest": ("category",),
        "Composition": ("type",),
        "Condition": ("code",),
        "Consent": ("category",),
        "Coverage": ("type",),
        "DetectedIssue": ("code",),
        "Device": ("type",),
        "DeviceRequest": ("code[x]",),
        "DiagnosticReport": ("code",),
        "DocumentManifest": ("type",),
        "DocumentReference": ("type",),
        "Encounter": ("type",),
        "EpisodeOfCare": ("type",),
        "ExplanationOfBenefit": ("type",),
        "FamilyMemberHistory": ("condition.code",),
        "Flag": ("code",),
        "Goal": ("description", "category"),
        "ImagingStudy": ("procedureCode", "series.modality"),
        "Immunization": ("vaccineCode",),
        "ImmunizationEvaluation": ("targetDisease",),
        "ImmunizationRecommendation": (
            "recommendation.vaccineCode",
            "recommendation.targetDisease",
        ),
        "Invoice": ("type",),
        "List": ("code",),
        "Media": ("type", "modality"),
        "Medication": ("code",),
        "MedicationAdministration": ("medication[x]",),
        "MedicationDispense": ("medication[x]",),
        "MedicationRequest": ("medication[x]",),
        "MedicationStatement": ("medication[x]",),
        "NutritionOrder": ("oralDiet.type", "enteralFormula.baseFormulaType"),
        "Observation": ("code",),
        "Procedure": ("code",),
        "RequestGroup": ("code",),
        "RiskAssessment": ("code", "method"),
        "ServiceRequest": ("code",),
        "Specimen": ("type",),
        "Substance": ("code",),
        "SupplyDelivery": ("type",),
        "SupplyRequest": ("category", "item[x]"),
        "Task": ("code",),
    }
)
_CODE_FALLBACK = ("code",)

# The search parameter the main code is found by, where R4 does not call it "code".
CODE_PARAMS: Mapping[str, str] = MappingProxyType(
    {
        "Account": "type",
        "AdverseEvent": "event",
        "Appointment": "service-type",
        "AuditEvent": "type",
        "BodyStructure": "morphology",
        "CarePlan": "category",
        "CareTeam": "category",
        "Claim": "type",
        "ClaimResponse": "type",
        "Communication": "category",
        "CommunicationRequest": "category",
        "Composition": "type",
        "Consent": "category",
        "Coverage": "type",
        "Device": "type",
        "DocumentManifest": "type",
        "DocumentReference": "type",
        "Encounter": "type",
        "EpisodeOfCare": "type",
        "ExplanationOfBenefit": "type",
        "Immunization": "vaccine-code",
        "ImmunizationEvaluation": "target-disease",
        "ImmunizationRecommendation": "vaccine-type",
        "Invoice": "type",
        "Media": "type",
        "Specimen": "type",
        "SupplyDelivery": "type",
        "SupplyRequest": "category",
    }
)

# Token parameters beside the main code: (param, path). category, type and identifier are read
# from every type.
_GENERIC_TOKEN_PATHS: tuple[tuple[str, str], ...] = (("category", "category"), ("type", "type"))
EXTRA_TOKEN_PATHS: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "Encounter": (("class", "class"),),
        "ImagingStudy": (("modality", "series.modality"),),
        "Media": (("modality", "modality"),),
        "Observation": (("component-code", "component.code"),),
    }
)

STATUS_PATHS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # These two have no plain status: clinical status first, and verification status
        # for a record entered in error without one.
        "AllergyIntolerance": ("clinicalStatus", "verificationStatus"),
        "Condition": ("clinicalStatus", "verificationStatus"),
        "AppointmentResponse": ("participantStatus",),
        "Goal": ("lifecycleStatus",),
        "ImmunizationRecommendation": ("recommendation.forecastStatus",),
    }
)
_STATUS_FALLBACK = ("status",)


@dataclass(frozen=True)
class Indexed:
    patient: str | None
    """The id of the Patient the resource belongs to (what follows ``Patient/`` or
    ``urn:uuid:``), from its patient compartment reference."""
    patient_ref: str | None
    """The reference string ``patient`` was read from."""
    date_start: datetime | None
    """The clinical date as an aware UTC instant range: a date is [its first instant, the
    next day's); a dateTime is that instant at both ends; a Period is its start and end."""
    date_end: datetime | None
    code_system: str | None
    """The first coding of the main code element."""
    code: str | None
    status: str | None
    tokens: tuple[tuple[str, str | None, str], ...]
    """(search param, system, code) for every coding of the code, category and type elements
    and (``identifier``, system, value) for every identifier."""
    references: tuple[tuple[str, str], ...]
    """(path, reference) for every reference in the resource, contained resources included
    (``contained.subject``); local ``#`` references are left out."""


def index(resource: Mapping[str, Any]) -> Indexed:
    """Read the index fields out of a resource that passed ``validate_shape``.

    Raises ``FhirError`` (400) when a date the index reads is not a valid FHIR date, dateTime
    or instant: the record would otherwise be stored unfindable by date.
    """
    rtype = str(resource.get("resourceType", ""))
    patient, patient_ref = _patient(resource, COMPARTMENT_PATHS.get(rtype, _COMPARTMENT_FALLBACK))
    date_start, date_end = date_of(rtype, resource, DATE_PATHS.get(rtype, _DATE_FALLBACK))
    code_paths = CODE_PATHS.get(rtype, _CODE_FALLBACK)
    code_system, code = _first_coding(resource, code_paths)
    status = _status(resource, STATUS_PATHS.get(rtype, _STATUS_FALLBACK))
    return Indexed(
        patient=patient,
        patient_ref=patient_ref,
        date_start=date_start,
        date_end=date_end,
        code_system=code_system,
        code=code,
        status=status,
        tokens=_tokens(rtype, resource, code_paths),
        references=_references(resource),
    )


# --- paths ---------------------------------------------------------------------------------


def values_at(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every value at ``path`` under ``node``, with the key it was found under (the choice
    element's full name, such as ``effectivePeriod``), lists walked through."""
    head, _, rest = path.partition(".")
    for item in node if isinstance(node, list) else (node,):
        if not isinstance(item, dict | Mapping):
            continue
        if head.endswith("[x]"):
            stem = head[:-3]
            keys = [
                k for k in item if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()
            ]
        else:
            keys = [head] if head in item else []
        for key in keys:
            value = item[key]
            if rest:
                yield from values_at(value, rest)
            else:
                for one in value if isinstance(value, list) else [value]:
                    yield key, one


# --- patient -------------------------------------------------------------------------------

_PATIENT_REF = re.compile(r"^Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_URN_UUID = re.compile(
    r"^urn:uuid:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)


def _patient(resource: Mapping[str, Any], paths: tuple[str, ...]) -> tuple[str | None, str | None]:
    for rank, path in enumerate(paths):
        for _key, ref in values_at(resource, path):
            if not isinstance(ref, dict):
                continue
            text = ref.get("reference")
            declared = ref.get("type")
            if not isinstance(text, str) or declared not in (None, "Patient"):
                continue
            if match := _PATIENT_REF.match(text):
                return match.group(1), text
            # A urn:uuid does not say what it points at: trust it where the element is the
            # one the record is about (subject, patient) or where the reference says Patient.
            if (match := _URN_UUID.match(text)) and (rank == 0 or declared == "Patient"):
                return match.group(1), text
    return None, None


# --- dates ---------------------------------------------------------------------------------

_DATE_TIME = re.compile(
    r"^(?P<y>[0-9]{4})(?:-(?P<m>0[1-9]|1[0-2])(?:-(?P<d>0[1-9]|[12][0-9]|3[01])"
    r"(?:T(?P<H>[01][0-9]|2[0-3]):(?P<M>[0-5][0-9]):(?P<S>[0-5][0-9]|60)(?P<f>\.[0-9]+)?"
    r"(?P<z>Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00))?)?)?$"
)
_DATE_KINDS = ("DateTime", "Instant", "Date", "Period")
_LATEST = datetime.max.replace(tzinfo=UTC)


def _bounds(text: str, where: str) -> tuple[datetime, datetime]:
    """The instants a FHIR date, dateTime or instant covers: [first, after-last) for a partial
    date, [t, t] for a moment."""
    match = _DATE_TIME.match(text)
    if match is None or match["y"] == "0000":
        raise FhirError(
            400,
            "invalid",
            f"{where}: {text!r} is not a valid FHIR date or dateTime "
            "(YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone)",
            expression=[where],
        )
    year = int(match["y"])
    month = int(match["m"] or 1)
    day = int(match["d"] or 1)
    try:
        if match["H"] is not None:
            second = min(int(match["S"]), 59)  # a leap second counts as the one before it
            micro = int((match["f"] or ".0")[1:7].ljust(6, "0"))
            zone = match["z"]
            moment = datetime.fromisoformat(
                f"{year:04d}-{month:02d}-{day:02d}T{match['H']}:{match['M']}:{second:02d}"
                f".{micro:06d}{'+00:00' if zone == 'Z' else zone}"
            ).astimezone(UTC)
            return moment, moment
        start = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        raise FhirError(
            400, "invalid", f"{where}: {text!r} is not a date in the calendar", expression=[where]
        ) from None
    try:
        if match["d"] is not None:
            end = start + timedelta(days=1)
        elif match["m"] is not None:
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        else:
            end = datetime(year + 1, 1, 1, tzinfo=UTC)
    except (OverflowError, ValueError):
        end = _LATEST  # the last day of year 9999 has no next day
    return start, end


def date_of(
    rtype: str, resource: Mapping[str, Any], paths: tuple[str, ...]
) -> tuple[datetime | None, datetime | None]:
    for path in paths:
        for key, value in values_at(resource, path):
            if path.endswith("[x]") and not key.endswith(_DATE_KINDS):
                continue  # onsetAge, occurrenceString, timingTiming...: no instant to index
            where = f"{rtype}.{path.rpartition('.')[0] + '.' if '.' in path else ''}{key}"
            if isinstance(value, str):
                return _bounds(value, where)
            if isinstance(value, dict) and ("start" in value or "end" in value):
                start = value.get("start")
                end = value.get("end")
                lower = _bounds(start, f"{where}.start")[0] if isinstance(start, str) else None
                upper = _bounds(end, f"{where}.end")[1] if isinstance(end, str) else None
                if lower is not None or upper is not None:
                    return lower, upper
    return None, None


# --- codes, tokens, status -----------------------------------------------------------------


def codings(value: Any) -> Iterator[tuple[str | None, str]]:
    """(system, code) of a CodeableConcept's codings, or of a Coding."""
    if not isinstance(value, dict):
        return
    for coding in value["coding"] if isinstance(value.get("coding"), list) else [value]:
        if not isinstance(coding, dict):
            continue
        code = coding.get("code")
        system = coding.get("system")
        if isinstance(code, str) and code:
            yield (system if isinstance(system, str) else None), code


def _first_coding(
    resource: Mapping[str, Any], paths: tuple[str, ...]
) -> tuple[str | None, str | None]:
    for path in paths:
        for _key, value in values_at(resource, path):
            for system, code in codings(value):
                return system, code
    return None, None


def _tokens(
    rtype: str, resource: Mapping[str, Any], code_paths: tuple[str, ...]
) -> tuple[tuple[str, str | None, str], ...]:
    code_param = CODE_PARAMS.get(rtype, "code")
    specs = [(code_param, path) for path in code_paths]
    specs += _GENERIC_TOKEN_PATHS
    specs += EXTRA_TOKEN_PATHS.get(rtype, ())
    found: dict[tuple[str, str | None, str], None] = {}
    for param, path in specs:
        for _key, value in values_at(resource, path):
            for system, code in codings(value):
                found[(param, system, code)] = None
    for _key, ident in values_at(resource, "identifier"):
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
            system = ident.get("system")
            found[("identifier", system if isinstance(system, str) else None, ident["value"])] = (
                None
            )
    return tuple(found)


def _status(resource: Mapping[str, Any], paths: tuple[str, ...]) -> str | None:
    for path in paths:
        for _key, value in values_at(resource, path):
            if isinstance(value, str) and value:
                return value
            for _system, code in codings(value):
                return code
    return None


# --- references ----------------------------------------------------------------------------


# Elements whose R4 types (Coding, Meta, Narrative, ContactPoint, Address, Period, Quantity)
# hold no Reference: the walk need not go into them, and codings are most of a resource.
_NO_REFERENCES = frozenset(
    ("coding", "meta", "text", "telecom", "address", "period", "valueQuantity", "quantity")
)


def _collect_references(
    node: Mapping[str, Any], path: str, positions: bool, out: list[tuple[str, Any]]
) -> None:
    """Append (where the Reference is, its ``reference`` value) for every ``reference`` key
    under ``node``; ``where`` has list positions (``item[0].encounter[1]``) when asked for.
    Only dicts and lists are descended into: that is all JSON nests, and it keeps this walk,
    which sees every element of every resource, cheap."""
    for key, value in node.items():
        if key == "reference":
            out.append((path, value))
        elif isinstance(value, dict | list) and key not in _NO_REFERENCES:
            _collect_in(value, f"{path}.{key}" if path else key, positions, out)


def _collect_in(value: Any, path: str, positions: bool, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        _collect_references(value, path, positions, out)
        return
    for position, item in enumerate(value):
        if isinstance(item, dict | list):
            _collect_in(item, f"{path}[{position}]" if positions else path, positions, out)


def _references(resource: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, Any]] = []
    _collect_references(resource, "", False, found)
    return tuple(
        dict.fromkeys(
            (path, ref)
            for path, ref in found
            if isinstance(ref, str) and ref and not ref.startswith("#")
        )
    )


# --- shape ---------------------------------------------------------------------------------

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_RELATIVE_REF = re.compile(
    r"^(?P<type>[A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)
_CONDITIONAL_REF = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)\?\S+$")
_URN_OID = re.compile(r"^urn:oid:[0-2](?:\.(?:0|[1-9][0-9]*))+$")
_LOCAL_REF = re.compile(r"^#[A-Za-z0-9\-.]{0,64}$")
_INSTANT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})$"
)


def validate_shape(resource: Any) -> None:
    """Check what every resource must get right before it is kept: a JSON object, a known R4
    ``resourceType``, an ``id`` of the R4 id syntax, references of a form we can follow and a
    ``meta.lastUpdated`` that is an instant. Raises ``FhirError`` (400) naming the path."""
    rtype = _check_header(resource, "")
    meta = resource.get("meta")
    if meta is not None:
        if not isinstance(meta, dict):
            raise FhirError(
                400, "structure", f"{rtype}.meta must be an object", expression=[f"{rtype}.meta"]
            )
        updated = meta.get("lastUpdated")
        where = f"{rtype}.meta.lastUpdated"
        if updated is not None:
            if not isinstance(updated, str) or not _INSTANT.match(updated):
                raise FhirError(
                    400,
                    "invalid",
                    f"{where}: {updated!r} is not an instant "
                    "(YYYY-MM-DDThh:mm:ss[.sss] with Z or an offset)",
                    expression=[where],
                )
            _bounds(updated, where)  # and a real moment: no 2024-02-30
    contained = resource.get("contained")
    if contained is not None:
        if not isinstance(contained, list):
            raise FhirError(
                400,
                "structure",
                f"{rtype}.contained must be an array of resources",
                expression=[f"{rtype}.contained"],
            )
        for position, inner in enumerate(contained):
            where = f"{rtype}.contained[{position}]"
            _check_header(inner, where)
            if "contained" in inner:
                raise FhirError(
                    400,
                    "structure",
                    f"{where}: a contained resource cannot contain resources",
                    expression=[f"{where}.contained"],
                )
    found: list[tuple[str, Any]] = []
    _collect_references(resource, rtype, True, found)
    for location, ref in found:
        _check_reference(ref, f"{location}.reference")


def _check_header(resource: Any, where: str) -> str:
    """The resource's type, after checking it is an object with a known type and a valid id."""
    what = where or "The resource"
    if not isinstance(resource, Mapping):
        raise FhirError(
            400,
            "structure",
            f"{what} must be a JSON object, not {_json_kind(resource)}",
            expression=[where] if where else None,
        )
    rtype = resource.get("resourceType")
    if rtype is None:
        raise FhirError(
            400,
            "structure",
            f"{what} has no resourceType",
            expression=[f"{where}.resourceType" if where else "resourceType"],
        )
    if not isinstance(rtype, str) or rtype not in RESOURCE_TYPES:
        raise FhirError(
            400,
            "invalid",
            f"{what}: resourceType {rtype!r} is not a FHIR R4 resource type",
            expression=[f"{where}.resourceType" if where else "resourceType"],
        )
    rid = resource.get("id")
    location = f"{where}.id" if where else f"{rtype}.id"
    if rid is not None and (not isinstance(rid, str) or not _ID.match(rid)):
        raise FhirError(
            400,
            "invalid",
            f"{location}: {rid!r} is not a valid id (1 to 64 letters, digits, '-' and '.')",
            expression=[location],
        )
    return rtype


def _check_reference(ref: Any, where: str) -> None:
    if not isinstance(ref, str):
        raise FhirError(
            400,
            "structure",
            f"{where} must be a string, not {_json_kind(ref)}",
            expression=[where],
        )
    if _LOCAL_REF.match(ref) or _URN_UUID.match(ref) or _URN_OID.match(ref):
        return
    relative = _RELATIVE_REF.match(ref) or _CONDITIONAL_REF.match(ref)
    if relative is not None:
        if relative["type"] not in RESOURCE_TYPES:
            raise FhirError(
                400,
                "invalid",
                f"{where}: {ref!r} names {relative['type']!r}, "
                "which is not a FHIR R4 resource type",
                expression=[where],
            )
        return
    if ref.startswith(("http://", "https://")) and urlsplit(ref).netloc and " " not in ref:
        return
    raise FhirError(
        400,
        "invalid",
        f"{where}: {ref!r} is not a reference we can follow: use Type/id, "
        "Type/id/_history/version, an absolute URL, urn:uuid:<uuid>, urn:oid:<oid> "
        "or #<contained id>",
        expression=[where],
    )


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__
