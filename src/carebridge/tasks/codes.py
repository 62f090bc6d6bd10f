"""Task vocabularies: FHIR TaskStatus and request priority, our task kinds, and the
outreach channels and outcomes."""

from __future__ import annotations

# FHIR R4 TaskStatus. The first group is work still to do.
OPEN_STATUSES = ("draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold")
CLOSED_STATUSES = ("completed", "cancelled", "rejected", "failed", "entered-in-error")
STATUSES = OPEN_STATUSES + CLOSED_STATUSES

# FHIR request-priority, most urgent first; urgency is the sort key (0 sorts first).
PRIORITIES = ("stat", "asap", "urgent", "routine")
URGENCY = {p: i for i, p in enumerate(PRIORITIES)}
PRIORITY_WORDS = {"stat": "Stat", "asap": "ASAP", "urgent": "Urgent", "routine": "Routine"}

KINDS = {
    "general": "General",
    "call": "Call the patient",
    "follow-up": "Follow-up",
    "scheduling": "Scheduling",
    "care-plan": "Care plan",
    "referral": "Referral",
    "authorization": "Authorization",
    "transition": "Transition of care",
    "outreach": "Outreach",
    "delivery": "Message delivery",
    "education": "Education",
    "social": "Social needs",
}

OUTREACH_CHANNELS = {
    "phone": "Phone call",
    "sms": "Text message",
    "email": "Email",
    "letter": "Letter",
    "in-person": "In person",
}
OUTREACH_OUTCOMES = {
    "reached": "Reached",
    "voicemail": "Left voicemail",
    "no-answer": "No answer",
    "wrong-number": "Wrong number",
    "declined": "Declined",
    "sent": "Sent",
}
