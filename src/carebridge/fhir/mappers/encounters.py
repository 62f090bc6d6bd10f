"""A hospital stay or visit, as the ADT feed reported it, as a US Core Encounter.

The feed gives the facility, unit, room and attending as text (no Location, Organization or
Practitioner record behind them), so they are references with a ``display`` only. The visit
number (PV1-19) is the identifier, typed VN and assigned by the facility; there is no URI to
give it a system. The encounter type US Core requires is the SNOMED CT admission for the
classes that have one, the class's name otherwise. The hospital service (PV1-10) and admit
source (PV1-14) are site-defined HL7 tables, so they are text; the discharge disposition
(PV1-36) is the UB-04 patient status, which NUBC publishes as a code system.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from carebridge.fhir.mappers.elements import (
    coding_of,
    prune,
)
from carebridge.fhir.mappers.patients import (
    IDENTIFIER_TYPE,
    SNOMED,
)
from carebridge.patients.terminology import ICD10CM
from carebridge.transitions.codes import ADMISSION_TYPES, DISCHARGE_DISPOSITIONS, ENCOUNTER_CLASSES
from carebridge.transitions.models import Encounter

ENCOUNTER_PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
ACT_CODE = TERMINOLOGY + "v3-ActCode"
ACT_PRIORITY = TERMINOLOGY + "v3-ActPriority"
PARTICIPATION_TYPE = TERMINOLOGY + "v3-ParticipationType"
READMISSION = TERMINOLOGY + "v2-0092"
DISCHARGE_STATUS = "https://www.nubc.org/CodeSystem/PatDischargeStatus"
ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"

# v3 ActCode displays of the classes we store.
CLASS_DISPLAYS = {
    "IMP": "inpatient encounter",
    "EMER": "emergency",
    "AMB": "ambulatory",
    "OBSENC": "observation encounter",
    "PRENC": "pre-admission",
}
# SNOMED CT procedures for the classes that are an admission.
CLASS_TYPES = {
    "IMP": (SNOMED, "32485007", "Hospital admission (procedure)"),
    "EMER": (SNOMED, "50849002", "Emergency room admission (procedure)"),
}
# HL7 table 0007 admission types with a v3 ActPriority equivalent.
PRIORITIES = {
    "E": ("EM", "emergency"),
    "U": ("UR", "urgent"),
    "C": ("EL", "elective"),
    "R": ("R", "routine"),
}
# DG1 coding systems (as ``hl7.diagnoses`` normalises them) and their FHIR URIs. A US feed's
# ICD-10 is ICD-10-CM.
DIAGNOSIS_SYSTEMS = {
    "ICD-10": ICD10CM,
    "ICD-10-CM": ICD10CM,
    "ICD-9": ICD9CM,
    "SCT": SNOMED,
    "SNOMED": SNOMED,
    "SNM": SNOMED,
}


def _instant(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _type(class_code: str) -> dict[str, Any]:
    known = CLASS_TYPES.get(class_code)
    if known is None:
        return {"text": ENCOUNTER_CLASSES.get(class_code, class_code)}
    return {"coding": [coding_of(*known)], "text": known[2]}


def _priority(admission_type: str | None) -> dict[str, Any] | None:
    if not admission_type:
        return None
    text = ADMISSION_TYPES.get(admission_type, admission_type)
    found = PRIORITIES.get(admission_type)
    if found is None:
        return {"text": text}
    return {"coding": [coding_of(ACT_PRIORITY, *found)], "text": text}


def _reason(diagnosis: dict[str, Any]) -> dict[str, Any] | None:
    code = diagnosis.get("code")
    text = diagnosis.get("text") or diagnosis.get("display")  # rows not made from DG1
    system = DIAGNOSIS_SYSTEMS.get(str(diagnosis.get("system") or "").upper())
    concept: dict[str, Any] = {"text": text or code}
    if code and system:
        concept["coding"] = [coding_of(system, code, text or None)]
    return concept


def _locations(stay: Encounter) -> list[dict[str, Any]]:
    current = "completed" if stay.status in ("finished", "cancelled") else "active"
    found = []
    if stay.location:
        found.append({"location": {"display": stay.location}, "status": current})
    if stay.prior_location and stay.prior_location != stay.location:
        found.append({"location": {"display": stay.prior_location}, "status": "completed"})
    return found


def _hospitalization(stay: Encounter) -> dict[str, Any]:
    disposition = stay.discharge_disposition
    return {
        "admitSource": {"text": stay.admit_source} if stay.admit_source else None,
        "reAdmission": {"coding": [coding_of(READMISSION, "R", "Re-admission")]}
        if stay.readmission_of_id
        else None,
        "dischargeDisposition": {
            "coding": [
                coding_of(DISCHARGE_STATUS, disposition, DISCHARGE_DISPOSITIONS.get(disposition))
            ],
            "text": DISCHARGE_DISPOSITIONS.get(disposition, disposition),
        }
        if disposition
        else None,
    }


def encounter_to_fhir(stay: Encounter) -> dict[str, Any]:
    """An Encounter row as a US Core Encounter: status and class as stored (they are FHIR's
    own codes), the admit and discharge times as the period, the DG1 diagnoses as reasons."""
    return cast(
        dict[str, Any],
        prune(
            {
                "resourceType": "Encounter",
                "id": str(stay.id),
                "meta": {"profile": [ENCOUNTER_PROFILE]},
                "identifier": [
                    {
                        "use": "official",
                        "type": {
                            "coding": [coding_of(IDENTIFIER_TYPE, "VN", "Visit number")],
                            "text": "Visit number",
                        },
                        "value": stay.visit_number,
                        "assigner": {"display": stay.facility} if stay.facility else None,
                    }
                ]
                if stay.visit_number
                else None,
                "status": stay.status,
                "class": coding_of(ACT_CODE, stay.class_code, CLASS_DISPLAYS.get(stay.class_code)),
                "type": [_type(stay.class_code)],
                "serviceType": {"text": stay.hospital_service} if stay.hospital_service else None,
                "priority": _priority(stay.admission_type),
                "subject": {"reference": f"Patient/{stay.patient_id}"},
                "participant": [
                    {
                        "type": [
                            {
                                "coding": [coding_of(PARTICIPATION_TYPE, "ATND", "attender")],
                                "text": "Attending",
                            }
                        ],
                        "individual": {"display": stay.attending},
                    }
                ]
                if stay.attending
                else None,
                "period": {
                    "start": _instant(stay.admit_at),
                    "end": _instant(stay.discharge_at),
                },
                "reasonCode": [_reason(d) for d in stay.diagnoses or [] if isinstance(d, dict)],
                "hospitalization": _hospitalization(stay),
                "location": _locations(stay),
                "serviceProvider": {"display": stay.facility} if stay.facility else None,
            }
        ),
    )
