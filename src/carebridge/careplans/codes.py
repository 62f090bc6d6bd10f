"""Care-team, barrier and care-plan vocabularies (FHIR R4 value sets where one exists)."""

from __future__ import annotations

MEMBER_KINDS = {
    "staff": "Our staff",
    "provider": "Outside provider",
    "caregiver": "Family caregiver",
}

TEAM_ROLES = {
    "coordinator": "Care coordinator",
    "pcp": "Primary care provider",
    "specialist": "Specialist",
    "nurse": "Nurse",
    "pharmacist": "Pharmacist",
    "social-worker": "Social worker",
    "behavioral-health": "Behavioral health",
    "therapist": "Therapist",
    "dietitian": "Dietitian",
    "home-health": "Home health",
    "community-health-worker": "Community health worker",
    "caregiver": "Caregiver",
    "other": "Other",
}

BARRIERS = {
    "transport": "Transport",
    "cost": "Cost",
    "language": "Language",
    "health-literacy": "Health literacy",
    "housing": "Housing",
    "caregiver": "Caregiver support",
    "technology": "Technology",
    "other": "Other",
}

PLAN_STATUSES = ("draft", "active", "on-hold", "completed", "revoked", "entered-in-error")
GOAL_LIFECYCLE = ("proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled")
GOAL_ACHIEVEMENT = (
    "in-progress",
    "improving",
    "worsening",
    "no-change",
    "achieved",
    "sustaining",
    "not-achieved",
    "no-progress",
    "not-attainable",
)
ACTIVITY_KINDS = {
    "appointment": "Appointment",
    "referral": "Referral",
    "education": "Education",
    "task": "Task",
    "other": "Other",
}
ACTIVITY_STATUSES = (
    "not-started",
    "scheduled",
    "in-progress",
    "on-hold",
    "completed",
    "cancelled",
    "stopped",
)
COMPARATORS = ("<", "<=", ">", ">=", "=", "between")
