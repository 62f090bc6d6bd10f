"""Value sets for patient records: the codes stored, their FHIR systems and their labels."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args


class Sex(StrEnum):
    """FHIR administrative gender."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class GenderIdentity(StrEnum):
    FEMALE = "female"
    MALE = "male"
    NON_BINARY = "non-binary"
    TRANSGENDER_FEMALE = "transgender-female"
    TRANSGENDER_MALE = "transgender-male"
    OTHER = "other"
    DECLINED = "asked-declined"


class Pronouns(StrEnum):
    SHE = "she/her"
    HE = "he/him"
    THEY = "they/them"
    OTHER = "other"


class PatientStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DECEASED = "deceased"
    MERGED = "merged"  # set only by a merge; the chart redirects to its survivor


class ContactMethod(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    MAIL = "mail"
    PORTAL = "portal"


class Channel(StrEnum):
    """Channels a patient may allow or refuse contact on."""

    SMS = "sms"
    EMAIL = "email"
    VOICE = "voice"
    MAIL = "mail"


# OMB race and ethnicity categories with their CDC Race & Ethnicity codes (as US Core uses).
RACES: dict[str, str] = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
    "ASKU": "Asked but declined",
    "UNK": "Unknown",
}
ETHNICITIES: dict[str, str] = {
    "2135-2": "Hispanic or Latino",
    "2186-5": "Not Hispanic or Latino",
    "ASKU": "Asked but declined",
    "UNK": "Unknown",
}

# Languages most often needed in US clinics (BCP-47); others are accepted by code.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "tl": "Tagalog",
    "ar": "Arabic",
    "ko": "Korean",
    "ru": "Russian",
    "fr": "French",
    "ht": "Haitian Creole",
    "pt": "Portuguese",
    "de": "German",
    "pl": "Polish",
    "hi": "Hindi",
    "so": "Somali",
    "asl": "American Sign Language",
}

# HL7 v3 RoleCode (personal relationships) used for related persons and family history.
RELATIONSHIPS: dict[str, str] = {
    "MTH": "Mother",
    "FTH": "Father",
    "PRN": "Parent",
    "SPS": "Spouse",
    "DOMPART": "Partner",
    "CHILD": "Child",
    "DAU": "Daughter",
    "SON": "Son",
    "SIB": "Sibling",
    "SIS": "Sister",
    "BRO": "Brother",
    "GRMTH": "Grandmother",
    "GRFTH": "Grandfather",
    "GRNDCHILD": "Grandchild",
    "AUNT": "Aunt",
    "UNCLE": "Uncle",
    "COUSN": "Cousin",
    "FRND": "Friend",
    "NBOR": "Neighbor",
    "GUARD": "Guardian",
    "CAREGIVER": "Caregiver",
    "ONESELF": "Self",
}

# What a patient may authorise to share with a related person.
SHARING_CATEGORIES: dict[str, str] = {
    "appointments": "Appointments and reminders",
    "care-plan": "Care plan and goals",
    "diagnoses": "Diagnoses and test results",
    "medications": "Medications",
    "billing": "Billing and insurance",
    "behavioral-health": "Behavioral health",
    "substance-use": "Substance use treatment (42 CFR Part 2)",
    "sexual-health": "Sexual and reproductive health",
}

IDENTIFIER_TYPES: dict[str, str] = {
    "MR": "Medical record number (another organisation)",
    "MB": "Payer member id",
    "SS": "Social Security number",
    "DL": "Driver's license",
    "PPN": "Passport",
}

ConditionStatus = Literal["active", "recurrence", "relapse", "inactive", "remission", "resolved"]
VerificationStatus = Literal[
    "unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"
]
AllergyStatus = Literal["active", "inactive", "resolved", "entered-in-error"]
MedicationStatus = Literal[
    "active", "completed", "stopped", "on-hold", "intended", "not-taken", "entered-in-error"
]
ItemStatus = Literal["completed", "partial", "health-unknown", "entered-in-error"]
Source = Literal["reported", "clinician", "caregiver", "imported"]
Tobacco = Literal["never", "former", "current-every-day", "current-some-day", "unknown"]
Alcohol = Literal["none", "occasional", "moderate", "heavy", "former", "unknown"]
Living = Literal[
    "alone", "with-family", "with-others", "assisted-living", "nursing-home", "homeless", "unknown"
]
AllergyType = Literal["allergy", "intolerance"]
AllergyCategory = Literal["food", "medication", "environment", "biologic"]
Criticality = Literal["low", "high", "unable-to-assess"]
Severity = Literal["mild", "moderate", "severe"]
EventKind = Literal["hospitalization", "procedure"]
TelecomUse = Literal["mobile", "home", "work"]
RecordStatus = Literal["active", "inactive", "entered-in-error"]


def options(kind: object) -> tuple[str, ...]:
    """The allowed values of a Literal alias, for select boxes."""
    return get_args(kind)
