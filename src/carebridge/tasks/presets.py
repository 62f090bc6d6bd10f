"""Templates for tasks people create by hand: the common coordination jobs with their type,
priority, when they fall due and what doing them involves. Creating a task "from a
template" fills in whatever the person left out.

Deadlines in business days follow common practice: transitional care management expects an
interactive contact within two business days of discharge, so that call is due by the end of
the second business day after today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

END_OF_BUSINESS = dt.time(17, 0)


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    kind: str
    priority: str
    description: str
    business_days: int = 0  # due at the end of the Nth business day after today
    hours: int = 0  # or: due this many hours from now

    @property
    def due_words(self) -> str:
        if self.business_days:
            days = "business day" if self.business_days == 1 else "business days"
            return f"end of business in {self.business_days} {days}"
        return f"in {self.hours} hours"


PRESETS: tuple[Preset, ...] = (
    Preset(
        key="post-discharge-call",
        title="Post-discharge call within 2 business days",
        kind="transition",
        priority="urgent",
        business_days=2,
        description=(
            "Call the patient (or their caregiver) after the hospital discharge. Ask how they "
            "feel and about warning signs; go through the discharge medicines against what "
            "they take at home; check they have the follow-up visit booked (within 7 days for "
            "high complexity, 14 days otherwise), transport to it, and any equipment or home "
            "services that were ordered. Log the call and its outcome."
        ),
    ),
    Preset(
        key="medication-reconciliation",
        title="Medication reconciliation",
        kind="follow-up",
        priority="urgent",
        business_days=3,
        description=(
            "Compare the medication list in the chart with what the patient actually takes "
            "(ask them to read the labels or bring the bottles) and with the latest discharge "
            "or specialist list. Note every difference, stopped or duplicated medicine and "
            "dose change, and send discrepancies to the clinician."
        ),
    ),
    Preset(
        key="schedule-follow-up",
        title="Schedule follow-up visit",
        kind="scheduling",
        priority="routine",
        business_days=2,
        description=(
            "Book the follow-up visit that was asked for, at a time the patient can make; "
            "offer a video or phone visit when travel is hard. Put the patient on the "
            "waitlist if nothing suitable is free."
        ),
    ),
    Preset(
        key="prior-authorization-status",
        title="Check prior authorization status",
        kind="authorization",
        priority="routine",
        business_days=1,
        description=(
            "Check with the payer whether the prior authorization was decided. Record the "
            "decision, reference number and approved dates or units; if more information is "
            "needed, tell the ordering clinician what and by when."
        ),
    ),
    Preset(
        key="confirm-referral-appointment",
        title="Confirm referral appointment",
        kind="referral",
        priority="routine",
        business_days=3,
        description=(
            "Confirm with the specialist's office that the referral arrived and the patient "
            "has an appointment. Note the date, and that the patient knows where to go and "
            "what to bring; ask the office to send the consult report afterwards."
        ),
    ),
    Preset(
        key="send-education-material",
        title="Send education material",
        kind="education",
        priority="routine",
        business_days=5,
        description=(
            "Send the patient education material in their preferred language and reading "
            "level, by the channel they allow. At the next contact, ask whether they read it "
            "and what questions they have (teach-back)."
        ),
    ),
    Preset(
        key="benefits-check",
        title="Benefits check",
        kind="general",
        priority="routine",
        business_days=2,
        description=(
            "Check the patient's coverage is active and what the planned care will cost them "
            "(copay, deductible left, whether a referral or authorization is needed). Tell the "
            "patient and note it; flag cost as a barrier if they cannot afford it."
        ),
    ),
    Preset(
        key="call-patient",
        title="Call the patient",
        kind="call",
        priority="routine",
        business_days=1,
        description="Call the patient about the matter in the notes and log the outcome.",
    ),
    Preset(
        key="arrange-transport",
        title="Arrange transport to a visit",
        kind="social",
        priority="urgent",
        hours=24,
        description=(
            "Book transport for the patient's next visit (plan benefit, community service or "
            "paratransit), confirm the pick-up time with the patient and note it on the task."
        ),
    ),
)
BY_KEY = {p.key: p for p in PRESETS}


def add_business_days(day: dt.date, count: int, closed: Collection[dt.date] = ()) -> dt.date:
    """``count`` business days after ``day``: weekends and ``closed`` days do not count."""
    current = day
    left = count
    while left > 0:
        current += dt.timedelta(days=1)
        if current.isoweekday() < 6 and current not in closed:
            left -= 1
    return current


def due_at(
    preset: Preset, now: dt.datetime, zone: str, closed: Collection[dt.date] = ()
) -> dt.datetime:
    """When a task made from ``preset`` now falls due (UTC)."""
    if not preset.business_days:
        return now + dt.timedelta(hours=preset.hours)
    tz = ZoneInfo(zone)
    day = add_business_days(now.astimezone(tz).date(), preset.business_days, closed)
    return dt.datetime.combine(day, END_OF_BUSINESS, tzinfo=tz).astimezone(dt.UTC)
