"""Code lists of prior authorization and its lifecycle, as data, with the X12 278 (005010X217)
and Da Vinci PAS codes each status is read from."""

from __future__ import annotations

STATUSES: dict[str, str] = {
    "draft": "Draft",
    "submitted": "Submitted",
    "pended": "Pended (more information requested)",
    "approved": "Approved",
    "partially-approved": "Partially approved",
    "denied": "Denied",
    "expired": "Expired",
    "cancelled": "Cancelled",
}
# Statuses a coordinator is still working; the board lists these unless asked otherwise.
OPEN_STATUSES = ("draft", "submitted", "pended", "approved", "partially-approved", "denied")
# An authorization that lets services be given (units counted, booking allowed).
GRANTED = ("approved", "partially-approved")
# May be edited (details, services) and then submitted.
EDITABLE = ("draft", "pended")
# May be cancelled: anything not already over.
CANCELLABLE = ("draft", "submitted", "pended", "approved", "partially-approved", "denied")

# Decisions a person records by hand (phone or fax answers) or a payer sends.
DECISIONS: dict[str, str] = {
    "approved": "Approved in full",
    "partially-approved": "Partially approved",
    "denied": "Denied",
    "pended": "Pended (more information requested)",
}

# HCR01 action codes of the 278 response (Health Care Services Review decision reason).
HCR_ACTIONS: dict[str, str] = {
    "A1": "approved",  # certified in total
    "A2": "partially-approved",  # certified, partial
    "A3": "denied",  # not certified
    "A4": "pended",
    "A6": "approved",  # modified
    "CT": "pended",  # contact payer
    "NA": "approved",  # no action required
}
ACTION_OF: dict[str, str] = {
    "approved": "A1",
    "partially-approved": "A2",
    "denied": "A3",
    "pended": "A4",
}

# Da Vinci PAS ClaimResponse review action codes (X12 306 values as PAS carries them).
PAS_REVIEW: dict[str, str] = {
    "A1": "approved",
    "A2": "partially-approved",
    "A3": "denied",
    "A4": "pended",
    "A6": "approved",
}

# HCR03 reasons (code list 1 of the X217 guide, as the simulator and payers send them).
DENIAL_REASONS: dict[str, str] = {
    "0U": "Additional information is needed: send the requested records and resubmit.",
    "35": "Benefit maximum reached for this service.",
    "41": "Authorization is not required for this service.",
    "42": "The payer's system cannot review this now: resubmit later.",
    "T5": "Not medically necessary per the payer's criteria: consider an appeal.",
    "AA": "The service is not covered by the member's plan (excluded).",
    "T6": "The service is not covered by the member's plan.",
    "AF": "The requesting provider is not in the payer's network.",
}

APPEAL_LEVELS: dict[str, str] = {
    "first": "First-level (internal) appeal",
    "second": "Second-level appeal",
    "external": "External review",
}
APPEAL_OUTCOMES: dict[str, str] = {
    "pending": "Pending",
    "overturned": "Overturned (approved)",
    "upheld": "Upheld (still denied)",
}

SUBMISSION_STATUSES: dict[str, str] = {
    "pending": "Waiting to be sent again",
    "answered": "Answered",
    "failed": "Could not be completed",
}

# Service type code (UM03) per procedure range; the 278 needs one. 3 = consultation,
# 4 = diagnostic X-ray (imaging), PT = physical therapy, 1 = medical care.
IMAGING = ("70000", "79999")


def service_type(code: str) -> str:
    if code.isdigit() and IMAGING[0] <= code <= IMAGING[1]:
        return "4"
    if code.startswith("97"):
        return "PT"
    return "1"
