"""Code lists of the billing domain and the claim lifecycle, as data."""

from __future__ import annotations

from decimal import Decimal

# The clinic's fee schedule: what it charges for a service (CPT/HCPCS), before any payer's
# allowed amount. A claim line and an estimate start from it; both can be typed over.
FEES: dict[str, Decimal] = {
    "99202": Decimal("110.00"),
    "99203": Decimal("165.00"),
    "99204": Decimal("245.00"),
    "99212": Decimal("85.00"),
    "99213": Decimal("125.00"),
    "99214": Decimal("180.00"),
    "99215": Decimal("250.00"),
    "99495": Decimal("230.00"),
    "99496": Decimal("310.00"),
    "99490": Decimal("65.00"),
    "97110": Decimal("45.00"),
    "97112": Decimal("48.00"),
    "97116": Decimal("42.00"),
    "97140": Decimal("44.00"),
    "97161": Decimal("110.00"),
    "97162": Decimal("120.00"),
    "90834": Decimal("140.00"),
    "90837": Decimal("185.00"),
    "36415": Decimal("15.00"),
    "83036": Decimal("35.00"),
    "G0108": Decimal("60.00"),
    "G0439": Decimal("175.00"),
    "93306": Decimal("420.00"),
    "72148": Decimal("650.00"),
    "73721": Decimal("600.00"),
    "70553": Decimal("900.00"),
}

# The X12 service type (EB03 of the 271) a procedure falls under, for the estimate's copay.
SERVICE_TYPE_NAMES: dict[str, str] = {
    "98": "an office visit",
    "PT": "physical therapy",
    "MH": "mental health care",
    "5": "a laboratory test",
    "62": "an MRI",
    "4": "imaging",
    "30": "this service",
}


def service_type(code: str) -> str:
    """The 271 service type code under which a payer states the benefit for ``code``."""
    if code.startswith("992") or code in ("99495", "99496", "99490", "G0439"):
        return "98"
    if code.startswith("971"):
        return "PT"
    if code.startswith("908"):
        return "MH"
    if code in ("36415", "83036"):
        return "5"
    if code.startswith("705") or code.startswith("721") or code.startswith("737"):
        return "62"
    if code.startswith("93"):
        return "4"
    return "30"


# --- claims --------------------------------------------------------------------------------

CLAIM_STATUSES: dict[str, str] = {
    "draft": "Draft",
    "ready": "Ready to send",
    "submitted": "Submitted",
    "accepted": "Accepted by the clearinghouse",
    "rejected": "Rejected by the clearinghouse",
    "paid": "Paid",
    "partially-paid": "Partially paid",
    "denied": "Denied",
}
OPEN_CLAIM_STATUSES = ("draft", "ready", "submitted", "accepted", "rejected")
# Details (lines, diagnoses, attachments) may change only while the claim is with us.
EDITABLE_CLAIM_STATUSES = ("draft", "ready", "rejected")
# The decisions a person records once the payer has answered (the remittance).
OUTCOMES: dict[str, str] = {
    "paid": "Paid",
    "partially-paid": "Partially paid",
    "denied": "Denied",
}
# Steps a person takes: the statuses each is allowed from and where it leads. Submitting
# leads to accepted or rejected by the 999; recording the outcome to one of OUTCOMES.
CLAIM_ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "ready": (("draft",), "ready"),
    "reopen": (("ready", "rejected"), "draft"),
    "submit": (("ready", "rejected"), "submitted"),
    "outcome": (("accepted",), "paid"),
}
CLAIM_ACTION_WORDS: dict[str, str] = {
    "ready": "Mark ready to send",
    "reopen": "Back to draft to correct",
    "submit": "Send to the clearinghouse",
    "outcome": "Record the payer's decision",
}

# Modality of the visit -> place of service.
PLACE_OF_SERVICE: dict[str, str] = {"in-person": "11", "video": "10", "phone": "10"}

# Attachments a claim commonly needs, with their PWK01 report type.
ATTACHMENT_KINDS: dict[str, tuple[str, str]] = {
    "operative-note": ("Operative note", "OB"),
    "prior-authorization-letter": ("Prior authorization letter", "CT"),
    "referral": ("Referral", "B4"),
    "progress-note": ("Progress note", "09"),
    "therapy-notes": ("Physical therapy notes", "PN"),
    "lab-results": ("Laboratory results", "LA"),
    "other": ("Other supporting document", "OZ"),
}

# --- billing inquiries ---------------------------------------------------------------------

CASE_TOPICS: dict[str, str] = {
    "statement": "A statement or bill",
    "denied-claim": "A denied claim",
    "estimate": "An estimate",
    "payment-plan": "A payment plan",
    "insurance": "Insurance",
    "other": "Other",
}
CASE_STATUSES: dict[str, str] = {
    "open": "Open",
    "waiting-payer": "Waiting on payer",
    "waiting-patient": "Waiting on patient",
    "resolved": "Resolved",
}
OPEN_CASE_STATUSES = ("open", "waiting-payer", "waiting-patient")

# --- payment plans -------------------------------------------------------------------------

PLAN_STATUSES: dict[str, str] = {
    "active": "Active",
    "completed": "Paid in full",
    "cancelled": "Cancelled",
}
FREQUENCIES: dict[str, str] = {"monthly": "Monthly"}
