"""Quality measures computed from Carebridge's records, with the patients behind each number.

Every measure is a ``Measure`` in ``REGISTRY`` whose fields say its numerator, denominator,
exclusions and period, and a function ``compute(db, settings, first, last)`` over a period of
local dates in the clinic's zone (``Settings.timezone``), both inclusive. Each runs a few set
queries (never one per patient) and gives back a ``MeasureResult`` with the counts, the rate
(None when the denominator is 0) and the patient ids of the numerator and the denominator, for
drill-down.

Access measures (no-show rate, lead time, third-next-available) are computed by
``carebridge.scheduling.measures``; they are not repeated here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.analytics.results import Compute, Measure, MeasureResult, Tally, local_bounds
from carebridge.lib.time import as_utc
from carebridge.patients.models import Patient
from carebridge.referrals import codes as referral_codes
from carebridge.referrals.models import Referral
from carebridge.scheduling.models import Appointment
from carebridge.settings import Settings
from carebridge.transitions import codes
from carebridge.transitions.models import Encounter, Transition

# PV1-36 (NUBC) dispositions to hospice: the patient is not expected at a clinic visit.
HOSPICE_DISPOSITIONS = frozenset({"50", "51"})
AGAINST_ADVICE = frozenset({"07"})
VISIT_DONE = ("fulfilled",)
LIVE_ENCOUNTER = ("planned", "in-progress", "finished")


def _disposition(value: str | None) -> str:
    return (value or "").strip().zfill(2)[:2]


def _readmissions(db: Session, encounters_in: Any) -> dict[uuid.UUID, list[dt.datetime]]:
    """Admission times of the stays linked as readmissions of the given encounters."""
    found: dict[uuid.UUID, list[dt.datetime]] = defaultdict(list)
    for of_id, admit_at in db.execute(
        select(Encounter.readmission_of_id, Encounter.admit_at).where(
            Encounter.readmission_of_id.in_(encounters_in),
            Encounter.status.in_(LIVE_ENCOUNTER),
            Encounter.admit_at.is_not(None),
        )
    ):
        assert of_id is not None
        assert admit_at is not None
        found[of_id].append(as_utc(admit_at))
    for times in found.values():
        times.sort()
    return found


def follow_up_after_discharge(
    days: int,
) -> Compute:
    """The follow-up measure with a window of ``days`` days after discharge."""

    def compute(db: Session, settings: Settings, first: dt.date, last: dt.date) -> MeasureResult:
        zone = ZoneInfo(settings.timezone)
        window = dt.timedelta(days=days)
        index = (
            select(
                Transition.id,
                Transition.patient_id,
                Transition.encounter_id,
                Transition.discharged_on,
                Encounter.discharge_at,
                Encounter.discharge_disposition,
                Patient.deceased_date,
            )
            .join(Encounter, Encounter.id == Transition.encounter_id)
            .join(Patient, Patient.id == Transition.patient_id)
            .where(
                Transition.status != "cancelled",
                Transition.discharged_on >= first,
                Transition.discharged_on <= last,
            )
        )
        rows = db.execute(index).all()
        patients_in = index.with_only_columns(Transition.patient_id).scalar_subquery()
        encounters_in = index.with_only_columns(Transition.encounter_id).scalar_subquery()
        start, _ = local_bounds(settings, first, last)
        _, end = local_bounds(settings, first, last + window)
        visits: dict[uuid.UUID, list[dt.datetime]] = defaultdict(list)
        for patient_id, starts_at in db.execute(
            select(Appointment.patient_id, Appointment.starts_at).where(
                Appointment.patient_id.in_(patients_in),
                Appointment.status.in_(VISIT_DONE),
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
        ):
            visits[patient_id].append(as_utc(starts_at))
        readmitted = _readmissions(db, encounters_in)

        tally = Tally()
        for _id, patient_id, encounter_id, discharged_on, discharge_at, disposition, died in rows:
            last_day = discharged_on + window
            after = as_utc(discharge_at) if discharge_at is not None else None
            seen = sorted(
                v
                for v in visits.get(patient_id, [])
                if (after is None or v > after)
                and discharged_on < v.astimezone(zone).date() <= last_day
            )
            back = sorted(
                a for a in readmitted.get(encounter_id, []) if a.astimezone(zone).date() <= last_day
            )
            if (
                _disposition(disposition) in HOSPICE_DISPOSITIONS
                or (died is not None and died <= last_day)
                or (back and (not seen or back[0] < seen[0]))
            ):
                tally.exclude()
                continue
            tally.count(patient_id, met=bool(seen), on=discharged_on)
        return tally.result(f"follow-up-{days}d", first, last)

    return compute


def readmission_within_30_days(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> MeasureResult:
    """30-day all-cause readmission rate over the index stays discharged in the period."""
    window = dt.timedelta(days=codes.READMISSION_DAYS)
    index = (
        select(
            Transition.patient_id,
            Encounter.id,
            Transition.discharged_on,
            Encounter.discharge_at,
            Encounter.discharge_disposition,
        )
        .join(Encounter, Encounter.id == Transition.encounter_id)
        .where(
            Transition.status != "cancelled",
            Transition.discharged_on >= first,
            Transition.discharged_on <= last,
            Encounter.class_code.in_(codes.ADMISSION_CLASSES),
        )
    )
    rows = db.execute(index).all()
    patients_in = index.with_only_columns(Transition.patient_id).scalar_subquery()
    start, end = local_bounds(settings, first, last)
    admissions: dict[uuid.UUID, list[tuple[uuid.UUID, dt.datetime]]] = defaultdict(list)
    for patient_id, encounter_id, admit_at in db.execute(
        select(Encounter.patient_id, Encounter.id, Encounter.admit_at).where(
            Encounter.patient_id.in_(patients_in),
            Encounter.class_code.in_(codes.ADMISSION_CLASSES),
            Encounter.status.in_(LIVE_ENCOUNTER),
            Encounter.admit_at >= start,
            Encounter.admit_at < end + window + dt.timedelta(days=1),
        )
    ):
        assert admit_at is not None
        admissions[patient_id].append((encounter_id, as_utc(admit_at)))

    tally = Tally()
    for patient_id, encounter_id, discharged_on, discharge_at, disposition in rows:
        if _disposition(disposition) in AGAINST_ADVICE or discharge_at is None:
            tally.exclude()
            continue
        out = as_utc(discharge_at)
        back = any(
            other != encounter_id and out <= admit <= out + window
            for other, admit in admissions.get(patient_id, [])
        )
        tally.count(patient_id, met=back, on=discharged_on)
    return tally.result("readmission-30d", first, last)


def contact_within_two_business_days(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> MeasureResult:
    """Interactive contact recorded by the transition's contact due date."""
    zone = ZoneInfo(settings.timezone)
    index = (
        select(
            Transition.patient_id,
            Transition.encounter_id,
            Transition.discharged_on,
            Transition.contact_due_on,
            Transition.contacted_at,
            Patient.deceased_date,
        )
        .join(Patient, Patient.id == Transition.patient_id)
        .where(
            Transition.status != "cancelled",
            Transition.discharged_on >= first,
            Transition.discharged_on <= last,
        )
    )
    rows = db.execute(index).all()
    readmitted = _readmissions(
        db, index.with_only_columns(Transition.encounter_id).scalar_subquery()
    )

    tally = Tally()
    for patient_id, encounter_id, discharged_on, due_on, contacted_at, died in rows:
        contacted = as_utc(contacted_at) if contacted_at is not None else None
        back = [a for a in readmitted.get(encounter_id, []) if a.astimezone(zone).date() <= due_on]
        if (died is not None and died <= due_on) or (
            back and (contacted is None or back[0] < contacted)
        ):
            tally.exclude()
            continue
        tally.count(
            patient_id,
            met=contacted is not None and contacted.astimezone(zone).date() <= due_on,
            on=discharged_on,
        )
    return tally.result("contact-2bd", first, last)


def referral_loop_closure(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> MeasureResult:
    """Outgoing referrals sent in the period, closed with the consultant's report."""
    zone = ZoneInfo(settings.timezone)
    start, end = local_bounds(settings, first, last)
    rows = db.execute(
        select(
            Referral.patient_id,
            Referral.status,
            Referral.sent_at,
            Referral.report_received_on,
            Referral.closed_at,
        ).where(
            Referral.direction == "outgoing",
            Referral.service_kind != referral_codes.COMMUNITY_SERVICE,
            Referral.sent_at >= start,
            Referral.sent_at < end,
        )
    ).all()
    tally = Tally()
    for patient_id, status, sent_at, report_on, closed_at in rows:
        if status == "cancelled" or sent_at is None:
            tally.exclude()
            continue
        sent_on = as_utc(sent_at).astimezone(zone).date()
        closed = closed_at if status == "closed" and report_on is not None else None
        days = (as_utc(closed).astimezone(zone).date() - sent_on).days if closed else None
        tally.count(patient_id, met=closed is not None, on=sent_on, days=days)
    return tally.result("referral-closure", first, last)


def _follow_up(days: int) -> Measure:
    return Measure(
        key=f"follow-up-{days}d",
        title=f"Follow-up visit within {days} days of discharge",
        numerator=(
            "Discharges in the denominator followed by a fulfilled visit (any clinic "
            "appointment of the patient with status fulfilled) on one of the days 1 to "
            f"{days} after the discharge date (local dates); a visit on the day of discharge "
            "does not count, as in HEDIS FUH."
        ),
        denominator=(
            "Discharges with a transition (not cancelled) whose discharge date falls in the "
            "period: inpatient, observation and emergency stays of our panel patients that "
            "start a follow-up (transitions.workflow.follows_up)."
        ),
        exclusions=(
            "Discharged to hospice (PV1-36 50 or 51); died on or before the last day of the "
            "window (Patient.deceased_date); readmitted (a stay linked by readmission_of_id) "
            "within the window before any follow-up visit. Deaths at discharge and transfers "
            "never start a transition."
        ),
        period=(
            "Discharge date (Transition.discharged_on, clinic local date) between the first "
            "and last day of the period, both inclusive; visits may fall after the period."
        ),
        compute=follow_up_after_discharge(days),
        group="Transitions of care",
    )


READMISSION = Measure(
    key="readmission-30d",
    title="30-day readmission rate",
    numerator=(
        "Index stays followed by an inpatient or observation admission of the same patient "
        "(any cause, not cancelled or entered in error) within 30 days (30 x 24 hours) of "
        "the index discharge time."
    ),
    denominator=(
        "Index stays: inpatient or observation stays (class IMP or OBSENC) of our panel "
        "patients with a transition (not cancelled) whose discharge date falls in the "
        "period. A readmission is itself an index stay when discharged in the period."
    ),
    exclusions=(
        "Left against medical advice (PV1-36 07). Deaths in hospital and transfers to another "
        "inpatient setting never start a transition. Planned readmissions are not told apart "
        "(the feed does not say which are planned)."
    ),
    period=(
        "Index discharge date (Transition.discharged_on, clinic local date) between the first "
        "and last day of the period, both inclusive; readmissions may fall after the period."
    ),
    compute=readmission_within_30_days,
    group="Transitions of care",
    lower_is_better=True,
)

CONTACT = Measure(
    key="contact-2bd",
    title="Interactive contact within 2 business days of discharge",
    numerator=(
        "Discharges in the denominator whose transition records the interactive contact "
        "(Transition.contacted_at) on or before its contact due date, the 2nd business day "
        "after discharge (clinic time zone; weekends, US federal and clinic holidays skipped, "
        "as transitions.workflow sets Transition.contact_due_on)."
    ),
    denominator=(
        "Discharges with a transition (not cancelled) whose discharge date falls in the "
        "period (inpatient, observation and emergency stays of our panel patients)."
    ),
    exclusions=(
        "Died on or before the contact due date; readmitted (a stay linked by "
        "readmission_of_id) on or before the due date, before any contact."
    ),
    period=(
        "Discharge date (Transition.discharged_on, clinic local date) between the first and "
        "last day of the period, both inclusive."
    ),
    compute=contact_within_two_business_days,
    group="Transitions of care",
)

REFERRAL_CLOSURE = Measure(
    key="referral-closure",
    title="Referral loop closure rate and median days to close",
    numerator=(
        "Referrals in the denominator closed (status closed) with the consultant's report "
        "received (Referral.report_received_on), whenever that happened. The result also "
        "gives the median calendar days from the local date sent to the local date closed, "
        "over these referrals."
    ),
    denominator=(
        "Outgoing referrals to an outside provider (not community-service referrals, whose "
        "loop closes on the organization's confirmation, without a report) sent in the period."
    ),
    exclusions=(
        "Cancelled referrals. Declined referrals stay in the denominator: their loop closes "
        "without a report, so they are not in the numerator. Drafts never sent are not counted."
    ),
    period=(
        "Date sent (Referral.sent_at as a clinic local date) between the first and last day "
        "of the period, both inclusive; the closing may fall after the period."
    ),
    compute=referral_loop_closure,
    group="Referrals",
    median_label="Median days to close",
)

REGISTRY: dict[str, Measure] = {
    m.key: m for m in (_follow_up(7), _follow_up(30), READMISSION, CONTACT, REFERRAL_CLOSURE)
}


def compute(
    db: Session, settings: Settings, key: str, first: dt.date, last: dt.date
) -> MeasureResult:
    """The measure ``key`` of ``REGISTRY`` over ``first``..``last`` (local, inclusive)."""
    return REGISTRY[key].compute(db, settings, first, last)
