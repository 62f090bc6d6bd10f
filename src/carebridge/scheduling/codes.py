"""Value sets for scheduling."""

from __future__ import annotations

from typing import Literal

Modality = Literal["in-person", "video", "phone"]
VisitKind = Literal["new", "follow-up"]
DayPart = Literal["morning", "afternoon"]

# Specialties a clinic schedules by (a readable subset of the NUCC taxonomy's groupings).
SPECIALTIES: dict[str, str] = {
    "family-medicine": "Family medicine",
    "internal-medicine": "Internal medicine",
    "cardiology": "Cardiology",
    "endocrinology": "Endocrinology",
    "pulmonology": "Pulmonology",
    "nephrology": "Nephrology",
    "behavioral-health": "Behavioral health",
    "physical-therapy": "Physical therapy",
    "nutrition": "Nutrition",
    "pharmacy": "Clinical pharmacy",
    "nursing": "Nursing / care management",
    "laboratory": "Laboratory",
    "social-work": "Social work",
}

# FHIR appointment-cancellation-reason codes a front desk uses.
CANCEL_REASONS: dict[str, str] = {
    "pat": "Patient",
    "pat-crs": "Patient: canceled via automated reminder system",
    "pat-cpp": "Patient: canceled via patient portal",
    "pat-dec": "Patient: deceased",
    "pat-fb": "Patient: feeling better",
    "pat-lt": "Patient: lack of transportation",
    "pat-mt": "Patient: member terminated",
    "pat-mv": "Patient: moved",
    "pat-swl": "Patient: schedule from waitlist",
    "pat-ucp": "Patient: unhappy / changed provider",
    "prov": "Provider",
    "prov-dch": "Provider: discharged",
    "prov-edu": "Provider: educational meeting",
    "prov-hosp": "Provider: hospitalized",
    "prov-labs": "Provider: labs out of acceptable range",
    "maint": "Equipment maintenance or repair",
    "meds-inc": "Prep or medication incomplete",
    "other": "Other",
    "oth-cms": "Other: CMS therapy cap service not authorized",
    "oth-err": "Other: error",
    "oth-fin": "Other: financial",
    "oth-int": "Other: interpreter unavailable",
    "oth-weath": "Other: weather",
}

# Status changes a coordinator or the front desk makes (FHIR AppointmentStatus).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "proposed": ("booked", "cancelled"),
    "pending": ("booked", "cancelled"),
    "booked": ("arrived", "checked-in", "noshow", "cancelled", "fulfilled"),
    "arrived": ("checked-in", "fulfilled", "cancelled"),
    "checked-in": ("fulfilled",),
    "fulfilled": (),
    "cancelled": (),
    "noshow": ("booked",),
    "entered-in-error": (),
}
