"""Quality measures computed from Carebridge's records, with the patients behind each number.

Every measure is a ``Measure`` in ``REGISTRY`` whose fields say its numerator, denominator,
exclusions and period, and a function ``compute(db, settings, first, last)`` over a period of
local dates in the clinic's zone (``Settings.timezone``), both inclusive. Each runs a few set
queries (never one per patient) and gives back a ``MeasureResult`` with the counts, the rate
(None when the denominator is 0) and the patient ids of the numerator and the denominator, for
drill-down.

The measures here cover transitions of care, referrals, access (no-show rate and lead time, by
the same definitions and constants as ``carebridge.scheduling.measures``, whose results they
agree with), prior authorizations, care-plan goals, task deadlines, outreach and social needs.
Patient satisfaction is ``carebridge.surveys.measures``; third-next-available looks forward
from today rather than back over a period, so it stays in ``carebridge.scheduling.measures``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.analytics.results import (
    Compute,
    Measure,
    MeasureResult,
    Tally,
    collector_paused_while,
    local_bounds,
)
from carebridge.authorizations.models import AuthorizationSubmission, PriorAuthorization
from carebridge.careplans.models import CarePlan, Goal
from carebridge.lib.time import as_utc, utcnow
from carebridge.patients.models import Patient
from carebridge.referrals import codes as referral_codes
from carebridge.referrals.models import Referral
from carebridge.scheduling.measures import ATTENDED, LEAD_STATUSES
from carebridge.scheduling.models import Appointment
from carebridge.settings import Settings
from carebridge.social.models import Screening, SocialNeed
from carebridge.surveys.measures import SATISFACTION
from carebridge.tasks.models import OutreachAttempt, Task
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

# --- access ---------------------------------------------------------------------------------

NO_SHOW = "noshow"
# Lead time: a visit within this many days (14 x 24 hours) of booking counts as prompt access.
LEAD_TIME_PROMPT_DAYS = 14
SECONDS_PER_DAY = 86400

# --- prior authorization --------------------------------------------------------------------

# A decision the payer made: the request was approved (in full or in part) or denied. An
# approval that has since run out (expired) was still an approval.
AUTH_DECIDED = ("approved", "partially-approved", "denied", "expired")
AUTH_DENIED = "denied"
# CMS-0057-F decision timeframes: 72 hours for an expedited (urgent) request, 7 calendar days
# (168 hours) for a standard one. Carebridge sends every request at normal (standard) priority
# (the PAS Claim.priority "normal"; the 278 carries no expedited level of service) and keeps no
# urgency on the request, so the standard deadline is the one that applies.
STANDARD_DECISION_DEADLINE = dt.timedelta(days=7)

# --- care plans, tasks, outreach, social needs ----------------------------------------------

GOAL_MET = ("achieved", "sustaining")
GOAL_NOT_COUNTED = ("cancelled", "entered-in-error")
PLAN_ERROR = "entered-in-error"
TASK_NOT_COUNTED = ("cancelled", "entered-in-error")
TASK_DONE = "completed"
# An outreach attempt reached the patient (or their family) when someone answered: they
# took part ("reached") or said no ("declined").
OUTREACH_REACHED = ("reached", "declined")
OUTBOUND = "outbound"
SCREENING_LOOKBACK_MONTHS = 12
SCREENING_ERROR = "entered-in-error"
NEED_ADDRESSED = "addressed"
NEED_DECLINED = "declined"
NEED_ERROR = "entered-in-error"


def _local_day(value: dt.datetime, zone: ZoneInfo) -> dt.date:
    return as_utc(value).astimezone(zone).date()


def _days_between(earlier: dt.datetime, later: dt.datetime) -> float:
    return (as_utc(later) - as_utc(earlier)).total_seconds() / SECONDS_PER_DAY


def no_show_rate(db: Session, settings: Settings, first: dt.date, last: dt.date) -> MeasureResult:
    """No-shows among the visits that started in the period and had an outcome."""
    zone = ZoneInfo(settings.timezone)
    start, end = local_bounds(settings, first, last)
    rows = db.execute(
        select(
            Appointment.patient_id,
            Appointment.status,
            Appointment.starts_at,
            Appointment.practitioner_id,
            Appointment.location_id,
        ).where(
            Appointment.starts_at >= start,
            Appointment.starts_at < min(end, utcnow()),
            Appointment.status.in_((*ATTENDED, NO_SHOW)),
        )
    )
    tally = Tally()
    for patient_id, status, starts_at, practitioner_id, location_id in rows:
        tally.count(
            patient_id,
            met=status == NO_SHOW,
            on=_local_day(starts_at, zone),
            provider_id=practitioner_id,
            location_id=location_id,
        )
    return tally.result("no-show", first, last)


def lead_time(db: Session, settings: Settings, first: dt.date, last: dt.date) -> MeasureResult:
    """Appointments booked in the period that kept their time: days from booking to visit."""
    zone = ZoneInfo(settings.timezone)
    start, end = local_bounds(settings, first, last)
    rows = db.execute(
        select(
            Appointment.patient_id,
            Appointment.created_at,
            Appointment.starts_at,
            Appointment.practitioner_id,
            Appointment.location_id,
        ).where(
            Appointment.created_at >= start,
            Appointment.created_at < end,
            Appointment.status.in_(LEAD_STATUSES),
        )
    )
    tally = Tally()
    for patient_id, created_at, starts_at, practitioner_id, location_id in rows:
        days = _days_between(created_at, starts_at)
        tally.count(
            patient_id,
            met=days <= LEAD_TIME_PROMPT_DAYS,
            on=_local_day(created_at, zone),
            provider_id=practitioner_id,
            location_id=location_id,
            days=days,
        )
    return tally.result("lead-time", first, last)


def _decided_authorizations(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> list[Any]:
    """Requests whose decision was recorded in the period, with their first submission."""
    start, end = local_bounds(settings, first, last)
    in_period = (
        PriorAuthorization.decided_at >= start,
        PriorAuthorization.decided_at < end,
        PriorAuthorization.status.in_((*AUTH_DECIDED, "cancelled")),
    )
    sent = (
        select(
            AuthorizationSubmission.authorization_id,
            func.min(AuthorizationSubmission.created_at).label("sent_at"),
        )
        .where(
            AuthorizationSubmission.authorization_id.in_(
                select(PriorAuthorization.id).where(*in_period)
            )
        )
        .group_by(AuthorizationSubmission.authorization_id)
        .subquery()
    )
    return list(
        db.execute(
            select(
                PriorAuthorization.patient_id,
                PriorAuthorization.status,
                PriorAuthorization.decision_source,
                PriorAuthorization.decided_at,
                PriorAuthorization.ordering_practitioner_id,
                sent.c.sent_at,
            )
            .outerjoin(sent, sent.c.authorization_id == PriorAuthorization.id)
            .where(*in_period)
        )
    )


def prior_auth_turnaround(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> MeasureResult:
    """Decisions within the standard deadline of the first submission."""
    zone = ZoneInfo(settings.timezone)
    tally = Tally()
    for patient_id, status, source, decided_at, practitioner_id, sent_at in _decided_authorizations(
        db, settings, first, last
    ):
        if status == "cancelled" or source == "appeal" or sent_at is None:
            tally.exclude()
            continue
        taken = as_utc(decided_at) - as_utc(sent_at)
        tally.count(
            patient_id,
            met=taken <= STANDARD_DECISION_DEADLINE,
            on=_local_day(decided_at, zone),
            provider_id=practitioner_id,
            days=taken.total_seconds() / SECONDS_PER_DAY,
        )
    return tally.result("prior-auth-turnaround", first, last)


def prior_auth_denial(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> MeasureResult:
    """Denials among the payer decisions recorded in the period."""
    zone = ZoneInfo(settings.timezone)
    tally = Tally()
    for patient_id, status, source, decided_at, practitioner_id, _sent in _decided_authorizations(
        db, settings, first, last
    ):
        if status == "cancelled" or source == "appeal":
            tally.exclude()
            continue
        tally.count(
            patient_id,
            met=status == AUTH_DENIED,
            on=_local_day(decided_at, zone),
            provider_id=practitioner_id,
        )
    return tally.result("prior-auth-denial", first, last)


def goal_attainment(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> MeasureResult:
    """Care-plan goals due in the period that were achieved."""
    rows = db.execute(
        select(
            CarePlan.patient_id,
            CarePlan.status,
            Goal.lifecycle_status,
            Goal.achievement_status,
            Goal.due_on,
        )
        .join(CarePlan, CarePlan.id == Goal.care_plan_id)
        .where(Goal.due_on >= first, Goal.due_on <= last)
    )
    tally = Tally()
    for patient_id, plan_status, lifecycle, achievement, due_on in rows:
        if lifecycle in GOAL_NOT_COUNTED or plan_status == PLAN_ERROR:
            tally.exclude()
            continue
        assert due_on is not None  # the query asks for goals with a target date
        tally.count(patient_id, met=achievement in GOAL_MET, on=due_on)
    return tally.result("goal-attainment", first, last)


def task_sla(db: Session, settings: Settings, first: dt.date, last: dt.date) -> MeasureResult:
    """Patient tasks due in the period completed by their due time."""
    zone = ZoneInfo(settings.timezone)
    start, end = local_bounds(settings, first, last)
    rows = db.execute(
        select(Task.patient_id, Task.status, Task.due_at, Task.completed_at).where(
            Task.due_at >= start,
            Task.due_at < end,
            Task.patient_id.is_not(None),
        )
    )
    tally = Tally()
    for patient_id, status, due_at, completed_at in rows:
        if status in TASK_NOT_COUNTED:
            tally.exclude()
            continue
        assert patient_id is not None  # the query asks for tasks about a patient
        met = (
            status == TASK_DONE
            and completed_at is not None
            and as_utc(completed_at) <= as_utc(due_at)
        )
        tally.count(patient_id, met=met, on=_local_day(due_at, zone))
    return tally.result("task-sla", first, last)


def outreach_success(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> MeasureResult:
    """Outbound outreach attempts made in the period that reached someone."""
    zone = ZoneInfo(settings.timezone)
    start, end = local_bounds(settings, first, last)
    rows = db.execute(
        select(
            OutreachAttempt.patient_id,
            OutreachAttempt.direction,
            OutreachAttempt.outcome,
            OutreachAttempt.occurred_at,
        ).where(OutreachAttempt.occurred_at >= start, OutreachAttempt.occurred_at < end)
    )
    tally = Tally()
    for patient_id, direction, outcome, occurred_at in rows:
        if direction != OUTBOUND:
            tally.exclude()
            continue
        tally.count(patient_id, met=outcome in OUTREACH_REACHED, on=_local_day(occurred_at, zone))
    return tally.result("outreach-success", first, last)


def social_screening(
    db: Session, settings: Settings, first: dt.date, last: dt.date
) -> MeasureResult:
    """Patients seen in the period who were screened for social needs in the 12 months up to
    the end of the period."""
    zone = ZoneInfo(settings.timezone)
    start, end = local_bounds(settings, first, last)
    visits = select(
        Appointment.patient_id,
        Appointment.starts_at,
        Appointment.practitioner_id,
        Appointment.location_id,
    ).where(
        Appointment.starts_at >= start,
        Appointment.starts_at < end,
        Appointment.status.in_(ATTENDED),
    )
    # Each patient is one case, dated by (and belonging to the practitioner and location of)
    # their last visit of the period.
    latest: dict[uuid.UUID, tuple[dt.datetime, uuid.UUID, uuid.UUID]] = {}
    for patient_id, starts_at, practitioner_id, location_id in db.execute(visits):
        when = as_utc(starts_at)
        if patient_id not in latest or when > latest[patient_id][0]:
            latest[patient_id] = (when, practitioner_id, location_id)
    since = last - relativedelta(months=SCREENING_LOOKBACK_MONTHS) + dt.timedelta(days=1)
    screened = set(
        db.scalars(
            select(Screening.patient_id)
            .where(
                Screening.patient_id.in_(visits.with_only_columns(Appointment.patient_id)),
                Screening.status != SCREENING_ERROR,
                Screening.screened_on >= since,
                Screening.screened_on <= last,
            )
            .distinct()
        )
    )
    tally = Tally()
    for patient_id, (when, practitioner_id, location_id) in latest.items():
        tally.count(
            patient_id,
            met=patient_id in screened,
            on=when.astimezone(zone).date(),
            provider_id=practitioner_id,
            location_id=location_id,
        )
    return tally.result("social-screening", first, last)


def needs_met(db: Session, settings: Settings, first: dt.date, last: dt.date) -> MeasureResult:
    """Social needs identified in the period that were addressed."""
    rows = db.execute(
        select(
            SocialNeed.patient_id,
            SocialNeed.status,
            SocialNeed.identified_on,
            SocialNeed.closed_on,
        ).where(
            SocialNeed.identified_on >= first,
            SocialNeed.identified_on <= last,
            SocialNeed.status != NEED_ERROR,
        )
    )
    tally = Tally()
    for patient_id, status, identified_on, closed_on in rows:
        if status == NEED_DECLINED:
            tally.exclude()
            continue
        addressed = status == NEED_ADDRESSED
        tally.count(
            patient_id,
            met=addressed,
            on=identified_on,
            days=(closed_on - identified_on).days if addressed and closed_on else None,
        )
    return tally.result("needs-met", first, last)


NO_SHOW_RATE = Measure(
    key="no-show",
    title="No-show rate",
    numerator=(
        "Appointments in the denominator the patient did not come to (status no-show, as the "
        "front desk or the end-of-day sweep marks them)."
    ),
    denominator=(
        "Appointments that started in the period and have an outcome: no-shows plus visits "
        "that took place (fulfilled, arrived or checked in), any practitioner, location and "
        "visit type. The same definition as the scheduler's access measures, whose no-show "
        "rate it matches."
    ),
    exclusions=(
        "None. Cancelled and rescheduled appointments, appointments entered in error and those "
        "still booked (the time has not come, or nobody recorded an outcome) never enter the "
        "denominator; nor do appointments later than the moment the measure is computed."
    ),
    period=(
        "Appointment start (clinic local date) between the first and last day of the period, "
        "both inclusive."
    ),
    compute=no_show_rate,
    group="Access",
    lower_is_better=True,
)

LEAD_TIME = Measure(
    key="lead-time",
    title=f"Visits within {LEAD_TIME_PROMPT_DAYS} days of booking, and median lead time",
    numerator=(
        f"Appointments in the denominator whose visit starts within {LEAD_TIME_PROMPT_DAYS} "
        f"days ({LEAD_TIME_PROMPT_DAYS} x 24 hours) of the moment it was booked. The result "
        "also gives the median lead time (days from booking to the visit, in hours / 24) over "
        "every appointment in the denominator, the scheduler's lead time, which it matches."
    ),
    denominator=(
        "Appointments booked (created) in the period that kept their time: booked, arrived, "
        "checked in, fulfilled or no-show (the scheduler's lead-time statuses)."
    ),
    exclusions=(
        "None. Cancelled appointments, ones moved to another time (the new appointment is "
        "counted, booked when it was moved) and ones entered in error never enter the "
        "denominator."
    ),
    period=(
        "Booking time (Appointment.created_at as a clinic local date) between the first and "
        "last day of the period, both inclusive; the visit may fall after the period."
    ),
    compute=lead_time,
    group="Access",
    median_label="Median days from booking to visit",
)

PRIOR_AUTH_TURNAROUND = Measure(
    key="prior-auth-turnaround",
    title="Prior authorization decisions on time, and median days to decision",
    numerator=(
        "Requests in the denominator whose decision came within the payer's deadline of the "
        "first submission: 7 calendar days (168 hours) for a standard request under CMS-0057-F. "
        "Carebridge sends every request at standard priority, so that is the deadline applied "
        "(an expedited request would have 72 hours). The result also gives the median days "
        "from first submission to decision (hours / 24) over every request counted."
    ),
    denominator=(
        "Prior authorization requests with a payer decision (approved in full or in part, "
        "denied; approvals since expired count too) recorded in the period, whether it came "
        "back on the electronic channel or was entered by hand from a phone call or fax."
    ),
    exclusions=(
        "Requests cancelled after the decision; requests whose decision came from an appeal "
        "(the appeal's time replaced the first decision's); decisions entered by hand for a "
        "request never sent through Carebridge (no submission time to count from). Pended "
        "requests are still waiting for a decision and are not counted."
    ),
    period=(
        "Decision time (PriorAuthorization.decided_at as a clinic local date) between the "
        "first and last day of the period, both inclusive; the submission may be earlier."
    ),
    compute=prior_auth_turnaround,
    group="Authorizations",
    median_label="Median days to decision",
)

PRIOR_AUTH_DENIAL = Measure(
    key="prior-auth-denial",
    title="Prior authorization denial rate",
    numerator=(
        "Requests in the denominator the payer denied. A partial approval is not a denial: it "
        "lets services be given and is counted in the denominator only (its denied units show "
        "on the request). Denials later overturned on appeal are excluded (see exclusions); "
        "denials upheld on appeal stay denials."
    ),
    denominator=(
        "Prior authorization requests with a payer decision (approved in full or in part, "
        "denied; approvals since expired count too) recorded in the period, electronic or "
        "entered by hand."
    ),
    exclusions=(
        "Requests cancelled after the decision; requests approved on appeal (the first "
        "decision, a denial, was replaced by the appeal's approval and its date is not kept). "
        "Pended requests are still waiting for a decision and are not counted."
    ),
    period=(
        "Decision time (PriorAuthorization.decided_at as a clinic local date) between the "
        "first and last day of the period, both inclusive."
    ),
    compute=prior_auth_denial,
    group="Authorizations",
    lower_is_better=True,
)

GOAL_ATTAINMENT = Measure(
    key="goal-attainment",
    title="Care-plan goals achieved by their target date",
    numerator=(
        "Goals in the denominator whose achievement is achieved or sustaining, as the goal "
        "shows when the measure is computed (set by a person, or worked out from the "
        "measurements recorded against the goal's target)."
    ),
    denominator=(
        "Care-plan goals whose target date (Goal.due_on) falls in the period, in any care plan "
        "of any status. Goals without a target date are not counted."
    ),
    exclusions=("Goals cancelled or entered in error, and goals of a care plan entered in error."),
    period=(
        "Target date of the goal (a calendar date) between the first and last day of the "
        "period, both inclusive. The target date, not the date the goal was closed, dates a "
        "goal, so goals left open past their date still count."
    ),
    compute=goal_attainment,
    group="Care plans",
)

TASK_SLA = Measure(
    key="task-sla",
    title="Tasks completed by their due time",
    numerator=(
        "Tasks in the denominator completed (status completed) at or before their due time "
        "(Task.completed_at <= Task.due_at)."
    ),
    denominator=(
        "Tasks about a patient whose due time falls in the period, whatever their status now: "
        "still open (overdue), completed, rejected or failed. The due time is the task's "
        "current one (an outreach attempt that plans the next try moves it)."
    ),
    exclusions=(
        "Tasks cancelled or entered in error. Tasks about no patient (team chores) are not counted."
    ),
    period=(
        "Due time (Task.due_at as a clinic local date) between the first and last day of the "
        "period, both inclusive."
    ),
    compute=task_sla,
    group="Tasks",
)

OUTREACH_SUCCESS = Measure(
    key="outreach-success",
    title="Outreach attempts that reached the patient",
    numerator=(
        "Attempts in the denominator that reached the patient or their family: outcome "
        "reached, or declined (someone answered and said no)."
    ),
    denominator=(
        "Outbound outreach attempts (call, text, email, letter, in person) logged in the "
        "period; each attempt counts, so a patient called three times counts three times. "
        "No answer, voicemail, wrong number and one-way messages sent are not reached."
    ),
    exclusions=(
        "Inbound contacts (the patient got in touch with us), which are logged in the same "
        "outreach log but are not attempts of ours."
    ),
    period=(
        "Time of the attempt (OutreachAttempt.occurred_at as a clinic local date) between the "
        "first and last day of the period, both inclusive."
    ),
    compute=outreach_success,
    group="Outreach",
)

SOCIAL_SCREENING = Measure(
    key="social-screening",
    title="Patients seen who were screened for social needs",
    numerator=(
        "Patients in the denominator with a social needs screening (any instrument, not "
        f"entered in error) dated in the {SCREENING_LOOKBACK_MONTHS} months up to and "
        "including the last day of the period (for a period ending June 30, 2024: July 1, "
        "2023 to June 30, 2024)."
    ),
    denominator=(
        "Patients with at least one visit that took place (fulfilled, arrived or checked in) "
        "starting in the period; each patient counts once, dated by their last visit."
    ),
    exclusions=("None. Screenings entered in error do not count for the numerator."),
    period=(
        "Visit start (clinic local date) between the first and last day of the period, both "
        f"inclusive; the screening may be up to {SCREENING_LOOKBACK_MONTHS} months earlier."
    ),
    compute=social_screening,
    group="Social needs",
)

NEEDS_MET = Measure(
    key="needs-met",
    title="Social needs addressed",
    numerator=(
        "Needs in the denominator marked addressed (help given or arranged), whenever that "
        "happened. The result also gives the median days from identification to the day the "
        "need was marked addressed."
    ),
    denominator=(
        "Social needs (food, housing, transport, utilities, safety...) identified by a "
        "positive screening domain in the period, open or addressed."
    ),
    exclusions=(
        "Needs the patient declined help with (their choice, not a gap in care). Needs entered "
        "in error, with the screening that found them, are not counted at all."
    ),
    period=(
        "Date identified (SocialNeed.identified_on, the clinic day of the screening) between "
        "the first and last day of the period, both inclusive; it may be addressed later."
    ),
    compute=needs_met,
    group="Social needs",
    median_label="Median days to address",
)

REGISTRY: dict[str, Measure] = {
    m.key: dataclasses.replace(m, compute=collector_paused_while(m.compute))
    for m in (
        _follow_up(7),
        _follow_up(30),
        READMISSION,
        CONTACT,
        REFERRAL_CLOSURE,
        NO_SHOW_RATE,
        LEAD_TIME,
        PRIOR_AUTH_TURNAROUND,
        PRIOR_AUTH_DENIAL,
        GOAL_ATTAINMENT,
        TASK_SLA,
        OUTREACH_SUCCESS,
        SOCIAL_SCREENING,
        NEEDS_MET,
        SATISFACTION,
    )
}


def compute(
    db: Session, settings: Settings, key: str, first: dt.date, last: dt.date
) -> MeasureResult:
    """The measure ``key`` of ``REGISTRY`` over ``first``..``last`` (local, inclusive)."""
    return REGISTRY[key].compute(db, settings, first, last)
