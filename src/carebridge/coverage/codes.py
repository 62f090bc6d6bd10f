"""Coded values of insurance coverage, each with the code the X12 270/271 (005010X279A1) and
HL7/FHIR use for it, so an eligibility request can be built from a coverage without a guess."""

from __future__ import annotations

# Kinds of plan, as coordinators say them. The X12 code is the insurance type code (EB04 /
# 2000C INS-less 270s leave it out; kept for the 271 reading and the 837P SBR09).
PLAN_TYPES: dict[str, str] = {
    "commercial": "Commercial",
    "hmo": "HMO",
    "ppo": "PPO",
    "epo": "EPO",
    "pos": "POS",
    "medicare": "Medicare",
    "medicare-advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "medicaid-managed-care": "Medicaid managed care",
    "tricare": "TRICARE",
    "workers-comp": "Workers' compensation",
    "other": "Other",
}
# X12 claim filing indicator (SBR09 / 837P) for each plan type.
PLAN_TYPE_X12: dict[str, str] = {
    "commercial": "CI",
    "hmo": "HM",
    "ppo": "12",
    "epo": "14",
    "pos": "13",
    "medicare": "MB",
    "medicare-advantage": "16",
    "medicaid": "MC",
    "medicaid-managed-care": "MC",
    "tricare": "CH",
    "workers-comp": "WC",
    "other": "ZZ",
}

# The patient's relationship to the subscriber: the FHIR subscriber-relationship code as
# stored, with its label and the X12 individual relationship code (INS02).
RELATIONSHIPS: dict[str, str] = {
    "self": "Self (the patient is the subscriber)",
    "spouse": "Spouse",
    "child": "Child",
    "other": "Other",
}
RELATIONSHIP_X12: dict[str, str] = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}

# Order of benefits: which coverage pays first. FHIR Coverage.order; X12 SBR01 P/S/T.
RANKS: dict[int, str] = {1: "Primary", 2: "Secondary", 3: "Tertiary"}
RANK_X12: dict[int, str] = {1: "P", 2: "S", 3: "T"}

# FHIR Coverage.status (financial resource status codes), minus "draft".
STATUSES: dict[str, str] = {
    "active": "Active",
    "cancelled": "Cancelled",
    "entered-in-error": "Entered in error",
}

# Subscriber's sex as the 270 carries it (DMG03): F, M or U.
SEXES: dict[str, str] = {"female": "Female", "male": "Male", "unknown": "Unknown"}
SEX_X12: dict[str, str] = {"female": "F", "male": "M", "unknown": "U"}

# How a payer takes prior authorization requests (Payer.prior_auth_channel).
PRIOR_AUTH_CHANNELS: dict[str, str] = {
    "x12-278": "X12 278 through the clearinghouse",
    "fhir-pas": "FHIR (Da Vinci Prior Authorization Support)",
}

# Where an eligibility check is (EligibilityCheck.status).
CHECK_STATUSES: dict[str, str] = {
    "pending": "Waiting for the payer",
    "complete": "Answered",
    "rejected": "Rejected by the payer",
    "failed": "Could not be completed",
}
