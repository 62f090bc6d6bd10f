"""Vocabulary of transitions of care, as data: encounter classes and statuses, the HL7 v2
tables the feed uses (patient class, admission type, discharge disposition), the transition
statuses, the follow-up steps and the post-discharge services checklist.

Screens, the ADT engine and the workflow all read these names from here, so a label is
written once."""

from __future__ import annotations

# FHIR v3 ActCode encounter classes we store (Encounter.class_code).
ENCOUNTER_CLASSES: dict[str, str] = {
    "IMP": "Inpatient",
    "OBSENC": "Observation",
    "EMER": "Emergency",
    "AMB": "Ambulatory",
    "PRENC": "Pre-admission",
}
# Stays whose discharge starts a transitional-care follow-up.
FOLLOW_UP_CLASSES = ("IMP", "OBSENC", "EMER")
# Stays that count as a hospital admission for readmission detection.
ADMISSION_CLASSES = ("IMP", "OBSENC")

# HL7 table 0004 (PV1-2 patient class) -> FHIR encounter class.
PATIENT_CLASS_TO_ENCOUNTER: dict[str, str] = {
    "I": "IMP",
    "E": "EMER",
    "O": "AMB",
    "R": "AMB",
    "B": "IMP",  # obstetrics: an inpatient stay
    "P": "PRENC",
}
PATIENT_CLASSES: dict[str, str] = {
    "E": "Emergency",
    "I": "Inpatient",
    "O": "Outpatient",
    "P": "Preadmit",
    "R": "Recurring patient",
    "B": "Obstetrics",
    "C": "Commercial account",
    "N": "Not applicable",
    "U": "Unknown",
}

# FHIR EncounterStatus values we use (Encounter.status).
ENCOUNTER_STATUSES: dict[str, str] = {
    "planned": "Planned",
    "in-progress": "In hospital",
    "finished": "Discharged",
    "cancelled": "Cancelled",
    "entered-in-error": "Entered in error",
}

# HL7 table 0007 (PV1-4 admission type).
ADMISSION_TYPES: dict[str, str] = {
    "A": "Accident",
    "C": "Elective",
    "E": "Emergency",
    "L": "Labor and delivery",
    "N": "Newborn",
    "R": "Routine",
    "U": "Urgent",
}
# Admission types that make an admission acute (emergent) for the LACE index.
ACUTE_ADMISSION_TYPES = frozenset({"E", "U", "A"})

# HL7 table 0112 (PV1-36 discharge disposition), the UB-04 patient status codes.
DISCHARGE_DISPOSITIONS: dict[str, str] = {
    "01": "Home or self care",
    "02": "Another short-term general hospital",
    "03": "Skilled nursing facility",
    "04": "Intermediate care facility",
    "05": "Another type of institution",
    "06": "Home with home health services",
    "07": "Left against medical advice",
    "08": "Home with home IV provider",
    "09": "Admitted as an inpatient to this hospital",
    "20": "Expired",
    "21": "Court or law enforcement",
    "30": "Still a patient",
    "40": "Expired at home (hospice)",
    "41": "Expired in a medical facility (hospice)",
    "42": "Expired, place unknown (hospice)",
    "43": "Federal health care facility",
    "50": "Hospice, home",
    "51": "Hospice, medical facility",
    "61": "Swing bed in this hospital",
    "62": "Inpatient rehabilitation facility",
    "63": "Long-term care hospital",
    "64": "Nursing facility (Medicaid, not Medicare)",
    "65": "Psychiatric hospital or unit",
    "66": "Critical access hospital",
    "70": "Another type of health care institution",
}
# Dispositions after which there is nobody to follow up at home: the patient died, or
# stays in (or went on to) another inpatient setting that will discharge them later.
NO_FOLLOW_UP_DISPOSITIONS = frozenset(
    {"02", "09", "20", "21", "30", "40", "41", "42", "43", "61", "62", "63", "65", "66"}
)
DECEASED_DISPOSITIONS = frozenset({"20", "40", "41", "42"})
# Dispositions that suggest home health services are needed.
HOME_HEALTH_DISPOSITIONS = frozenset({"06", "08"})

# Transition (our follow-up of one discharge) statuses.
TRANSITION_STATUSES: dict[str, str] = {
    "open": "Open",
    "done": "Done",
    "cancelled": "Cancelled",
}
COMPLEXITIES: dict[str, str] = {
    "high": "High complexity (visit within 7 days)",
    "moderate": "Moderate complexity (visit within 14 days)",
}
FOLLOW_UP_DAYS: dict[str, int] = {"high": 7, "moderate": 14}
# Interactive contact is due within this many business days of discharge.
CONTACT_BUSINESS_DAYS = 2
# A new admission within this many days of a discharge is a readmission.
READMISSION_DAYS = 30
# LACE at or above this is high risk: urgent contact, high complexity.
LACE_HIGH = 10

# The follow-up steps; each is one task (dedupe key transition:<id>:<step>).
STEPS: dict[str, str] = {
    "contact": "Interactive contact within 2 business days",
    "medications": "Reconcile medications",
    "follow-up": "Book the follow-up visit",
    "services": "Arrange post-discharge services",
    "summary": "Attach the discharge summary",
    "readmission": "Review the readmission",
}

# Post-discharge services checklist (Transition.checklist: {item: {"state": ..., ...}}).
CHECKLIST_ITEMS: dict[str, str] = {
    "home-health": "Home health",
    "equipment": "Medical equipment",
    "transport": "Transport",
    "pharmacy": "Pharmacy (medications picked up)",
}
CHECKLIST_STATES: dict[str, str] = {
    "to-check": "To check",
    "needed": "Needed",
    "arranged": "Arranged",
    "not-needed": "Not needed",
}
# States that settle an item.
CHECKLIST_DONE = frozenset({"arranged", "not-needed"})

# Risk bands shown beside the LACE index (van Walraven 2010: >= 10 is high risk).
LACE_BANDS: tuple[tuple[int, str], ...] = ((10, "High"), (5, "Moderate"), (0, "Low"))


def lace_band(score: int | None) -> str | None:
    """``High`` / ``Moderate`` / ``Low`` for a LACE index, None when it was not computed."""
    if score is None:
        return None
    for floor, word in LACE_BANDS:
        if score >= floor:
            return word
    return "Low"


def empty_checklist() -> dict[str, dict[str, str | None]]:
    """A new checklist: every item still to check."""
    return {item: {"state": "to-check", "note": None} for item in CHECKLIST_ITEMS}
