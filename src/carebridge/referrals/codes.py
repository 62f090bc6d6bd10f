"""Code lists of the referral domain and the referral lifecycle, as data."""

from __future__ import annotations

# What kind of outside provider a directory entry is.
PROVIDER_KINDS: dict[str, str] = {
    "specialist": "Specialist",
    "behavioral-health": "Behavioral health",
    "therapy": "Therapy (physical, occupational, speech)",
    "home-health": "Home health",
    "community-service": "Community service",
    "hospital": "Hospital",
    "other": "Other",
}
# What the patient is referred for.
SERVICE_KINDS: dict[str, str] = {
    "specialist": "Specialist consultation",
    "behavioral-health": "Behavioral health",
    "therapy": "Therapy",
    "home-health": "Home health",
    "community-service": "Community service",
    "other": "Other",
}
DIRECTIONS: dict[str, str] = {"outgoing": "Outgoing (we refer)", "incoming": "Incoming (to us)"}
URGENCIES: dict[str, str] = {"routine": "Routine", "urgent": "Urgent", "stat": "Stat"}

STATUSES: dict[str, str] = {
    "draft": "Draft",
    "sent": "Sent",
    "accepted": "Accepted",
    "declined": "Declined",
    "scheduled": "Scheduled",
    "seen": "Seen",
    "report-received": "Report received",
    "closed": "Closed",
    "cancelled": "Cancelled",
}
# A referral still being worked: it can be cancelled (with a reason) from any of these.
OPEN_STATUSES = ("draft", "sent", "accepted", "scheduled", "seen", "report-received")
DONE_STATUSES = ("declined", "closed", "cancelled")

# The lifecycle: each action, the statuses it may be taken from, and where it leads.
# "schedule" from "scheduled" re-books (a new date or appointment).
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "send": (("draft",), "sent"),
    "accept": (("sent",), "accepted"),
    "decline": (("sent", "accepted"), "declined"),
    "schedule": (("sent", "accepted", "scheduled"), "scheduled"),
    "seen": (("scheduled",), "seen"),
    "report": (("seen",), "report-received"),
    "close": (("report-received", "declined"), "closed"),
    "cancel": (OPEN_STATUSES, "cancelled"),
    # A community referral's loop closes when the organization confirms it took the
    # patient on (recorded by the coordinator, or posted by the organization).
    "confirm": (("sent", "accepted", "scheduled", "seen"), "closed"),
}
# Actions only a community referral (service kind "community-service") takes.
COMMUNITY_ACTIONS = ("confirm",)
COMMUNITY_SERVICE = "community-service"
ACTION_WORDS: dict[str, str] = {
    "send": "Mark sent",
    "accept": "Mark accepted",
    "decline": "Mark declined",
    "schedule": "Mark scheduled",
    "seen": "Mark seen",
    "report": "Report received",
    "close": "Close the referral",
    "cancel": "Cancel the referral",
    "confirm": "Organization confirmed",
}


def actions_from(status: str, service_kind: str | None = None) -> list[str]:
    """The actions a referral in ``status`` (for ``service_kind``) allows, in lifecycle
    order; "confirm" only for a community referral."""
    return [
        action
        for action, (sources, _) in ACTIONS.items()
        if status in sources
        and (action not in COMMUNITY_ACTIONS or service_kind == COMMUNITY_SERVICE)
    ]
