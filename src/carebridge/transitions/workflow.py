"""What the ADT feed sets going: the care team hears of an admission, a discharge starts the
transitional-care follow-up, a cancelled discharge stops it, and a readmission is flagged.

The ADT engine (``transitions.adt``) calls these hooks inside the transaction that applies
the message; each may be called again for the same encounter (a resent or replayed message)
and then changes nothing more.

Who is "on our panel": an active chart, not merged away, that is not waiting for review as
a chart the feed itself registered (the feed raises a review task with the dedupe key
``hl7-new-chart:<patient>``; while that task is open the chart is not ours yet, once it is
completed the chart is). A discharge of anyone else starts nothing.

A discharge starts a follow-up for inpatient, observation and emergency stays (class IMP,
OBSENC, EMER) with a discharge time, unless the disposition (PV1-36) says the patient died
or went on to another inpatient setting (``codes.NO_FOLLOW_UP_DISPOSITIONS``). It creates one
``Transition`` per encounter and raises its tasks through ``tasks.service.create`` with
dedupe keys ``transition:<id>:<step>:<cycle>`` (the cycle counts re-openings after an A13):

- interactive contact by the end of the 2nd business day after discharge (clinic time zone;
  weekends, US federal holidays as observed, and clinic holidays skipped); urgent when the
  LACE index is 10 or more or this is a readmission, else routine;
- medication reconciliation and the post-discharge services checklist, due the same day;
- the follow-up visit within 7 days (high complexity: LACE >= 10 or a readmission) or 14 days
  (moderate), due the end of that day;
- attach the discharge summary, due with the follow-up visit.

Risk (``Transition.risk``): the LACE index with its components (``lace``, with the Charlson
index from ``charlson``) and the HOSPITAL score where its inputs are present
(``hospital_score``), else why not.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.careplans.models import CareTeamMember
from carebridge.db.history import RecordVersion
from carebridge.lib.time import as_utc
from carebridge.patients.models import Condition, Patient
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task
from carebridge.tasks.notifications import notify
from carebridge.tasks.schemas import TaskUpdate
from carebridge.transitions import codes, pending
from carebridge.transitions.business_days import add_business_days, end_of_day, local_date
from carebridge.transitions.charlson import charlson
from carebridge.transitions.hospital_score import hospital, is_oncology, labs_from_messages
from carebridge.transitions.lace import lace
from carebridge.transitions.models import Encounter, Hl7Message, Transition

FEED = Actor.system("hl7")
ED_LOOKBACK = dt.timedelta(days=182)  # "the previous 6 months"
ADMISSIONS_LOOKBACK = dt.timedelta(days=365)  # HOSPITAL: "the previous 12 months"
# An ED visit that ends this close before an admission is the one that led to it: it makes
# the admission acute and is not counted among the earlier ED visits.
ED_LEADS_TO_ADMISSION = dt.timedelta(hours=24)
ADMIT_SOURCE_ER = "7"  # HL7 table 0023: emergency room
ICD10_SYSTEMS = ("ICD-10", "ICD-10-CM", "I10", "I10C", "ICD10", "ICD10CM")
LIVE_ENCOUNTER = ("planned", "in-progress", "finished")
TRANSITION_LINK = "/patients/{patient}/transitions/{transition}"
STEP_KIND = {"contact": "call", "follow-up": "scheduling"}


# --- who and what ---------------------------------------------------------------------------


def on_panel(db: Session, patient: Patient) -> bool:
    """Our patient: an active, unmerged chart not awaiting review as one the feed made."""
    if patient.status != "active" or patient.merged_into_id is not None:
        return False
    review = db.scalar(select(Task).where(Task.dedupe_key == f"hl7-new-chart:{patient.id}"))
    return review is None or review.status == "completed"


def _disposition(encounter: Encounter) -> str:
    return (encounter.discharge_disposition or "").strip().zfill(2)[:2]


def follows_up(encounter: Encounter) -> bool:
    """A stay whose discharge starts a follow-up (class, discharge time, disposition)."""
    return (
        encounter.class_code in codes.FOLLOW_UP_CLASSES
        and encounter.status == "finished"
        and encounter.discharge_at is not None
        and _disposition(encounter) not in codes.NO_FOLLOW_UP_DISPOSITIONS
    )


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return as_utc(value) if value is not None else None


# --- admission ------------------------------------------------------------------------------


def care_team_users(db: Session, patient: Patient, today: dt.date) -> list[uuid.UUID]:
    """Our staff on the patient's care team today, and the primary coordinator."""
    members = db.scalars(
        select(CareTeamMember.user_id).where(
            CareTeamMember.patient_id == patient.id,
            CareTeamMember.user_id.is_not(None),
            CareTeamMember.start_on <= today,
            (CareTeamMember.end_on.is_(None)) | (CareTeamMember.end_on >= today),
        )
    )
    users = [u for u in members if u is not None]
    if patient.primary_coordinator_id is not None:
        users.insert(0, patient.primary_coordinator_id)
    return list(dict.fromkeys(users))


def on_admit(db: Session, encounter: Encounter, settings: Settings, now: dt.datetime) -> None:
    """A01: tell the care team (in-app notification, once per person and encounter) and
    flag a readmission. Without anyone on the team, the task queue hears of it instead
    (a task to the patient's coordinator's queue) so the admission is not missed."""
    patient = db.get(Patient, encounter.patient_id)
    if patient is None or not on_panel(db, patient):
        return
    previous = detect_readmission(db, encounter)
    where = encounter.location or encounter.facility or "hospital"
    text = (
        f"{patient.family_name}, {patient.given_names} ({patient.mrn}) was admitted to "
        f"{where}" + (" (readmission within 30 days)" if previous is not None else "")
    )
    users = care_team_users(db, patient, local_date(now, settings))
    for user_id in users:
        notify(
            db,
            user_id,
            text,
            link=f"/patients/{patient.id}/transitions",
            patient_id=patient.id,
            dedupe_key=f"admit:{encounter.id}:{user_id}",
        )
    if not users:
        tasks.create(
            db,
            FEED,
            title=f"{patient.family_name}, {patient.given_names} admitted to {where}"[:200],
            description="The patient was admitted to hospital and has no care team on file to "
            "tell; let the right people know and plan for the discharge.",
            patient_id=patient.id,
            priority="routine",
            due_at=end_of_day(
                add_business_days(local_date(now, settings), 1, settings, db), settings
            ),
            focus_type="Patient",
            focus_id=patient.id,
            dedupe_key=f"admit:{encounter.id}",
            kind="transition",
        )
    record(
        db,
        FEED,
        Action.READ,
        entity_type="Encounter",
        entity_id=encounter.id,
        patient_id=patient.id,
        reason=f"admission notice to {len(users)} care team member(s)",
    )


# --- readmission ----------------------------------------------------------------------------


def detect_readmission(db: Session, encounter: Encounter) -> Encounter | None:
    """Flag ``encounter`` as a readmission when it is an inpatient or observation stay
    admitted within 30 days of an earlier such stay's discharge; link it (``readmission_of_id``,
    the earlier transition's ``risk["readmitted_as"]``), raise a task once, and give back
    the earlier stay."""
    if encounter.readmission_of_id is not None:
        return db.get(Encounter, encounter.readmission_of_id)
    admit = _utc(encounter.admit_at)
    if encounter.class_code not in codes.ADMISSION_CLASSES or admit is None:
        return None
    earliest = admit - dt.timedelta(days=codes.READMISSION_DAYS)
    previous = db.scalar(
        select(Encounter)
        .where(
            Encounter.patient_id == encounter.patient_id,
            Encounter.id != encounter.id,
            Encounter.class_code.in_(codes.ADMISSION_CLASSES),
            Encounter.status == "finished",
            Encounter.discharge_at.is_not(None),
            Encounter.discharge_at <= admit,
            Encounter.discharge_at >= earliest,
        )
        .order_by(Encounter.discharge_at.desc())
        .limit(1)
    )
    if previous is None:
        return None
    encounter.readmission_of_id = previous.id
    earlier = db.scalar(select(Transition).where(Transition.encounter_id == previous.id))
    if earlier is not None:
        earlier.risk = {**earlier.risk, "readmitted_as": str(encounter.id)}
    db.flush()
    discharged = _utc(previous.discharge_at)
    assert discharged is not None
    days = (admit - discharged).days
    patient = db.get(Patient, encounter.patient_id)
    name = f"{patient.family_name}, {patient.given_names}" if patient else "Patient"
    tasks.create(
        db,
        FEED,
        title=f"{name} readmitted {days} day(s) after discharge"[:200],
        description=(
            f"Admitted {admit:%Y-%m-%d} to {encounter.location or encounter.facility or 'hospital'}"
            f", {days} day(s) after the discharge of {discharged:%Y-%m-%d}. Review what happened "
            "after that discharge and tell the inpatient team what we know."
        ),
        patient_id=encounter.patient_id,
        priority="urgent",
        due_at=admit + dt.timedelta(days=1),
        focus_type="Transition" if earlier is not None else "Patient",
        focus_id=earlier.id if earlier is not None else encounter.patient_id,
        dedupe_key=f"readmission:{encounter.id}",
        kind="transition",
    )
    record(
        db,
        FEED,
        Action.UPDATE,
        entity_type="Encounter",
        entity_id=encounter.id,
        patient_id=encounter.patient_id,
        reason=f"readmission within {days} day(s) of encounter {previous.id}",
    )
    return previous


# --- risk -----------------------------------------------------------------------------------


def _icd10_codes(db: Session, encounter: Encounter) -> list[str]:
    found = []
    for dx in encounter.diagnoses or []:
        code = str(dx.get("code") or "").strip()
        system = str(dx.get("system") or "").strip().upper()
        if code and (system in ICD10_SYSTEMS or system.startswith("ICD-10") or not system):
            found.append(code)
    conditions = db.scalars(
        select(Condition.code).where(
            Condition.patient_id == encounter.patient_id,
            Condition.clinical_status == "active",
            Condition.code_system.ilike("%icd-10%"),
        )
    )
    found.extend(conditions)
    return found


def _acute(db: Session, encounter: Encounter, admit: dt.datetime | None) -> bool:
    if (encounter.admission_type or "").upper() in codes.ACUTE_ADMISSION_TYPES:
        return True
    if encounter.class_code == "EMER" or (encounter.admit_source or "") == ADMIT_SOURCE_ER:
        return True
    if was_emergency(db, encounter):
        return True
    if admit is None:
        return False
    lead = db.scalar(
        select(func.count())
        .select_from(Encounter)
        .where(*_ed_visit(encounter, admit - ED_LEADS_TO_ADMISSION, admit + dt.timedelta(hours=1)))
    )
    return bool(lead)


def was_emergency(db: Session, encounter: Encounter) -> bool:
    """Whether this stay began as an emergency visit (class EMER, changed by A06)."""
    earlier = db.scalars(
        select(RecordVersion.data).where(
            RecordVersion.entity_type == "Encounter", RecordVersion.entity_id == encounter.id
        )
    )
    return any(isinstance(d, dict) and d.get("class_code") == "EMER" for d in earlier)


def _ed_visit(encounter: Encounter, start: dt.datetime, end: dt.datetime) -> list[Any]:
    return [
        Encounter.patient_id == encounter.patient_id,
        Encounter.id != encounter.id,
        Encounter.class_code == "EMER",
        Encounter.status.in_(LIVE_ENCOUNTER),
        Encounter.admit_at >= start,
        Encounter.admit_at < end,
    ]


def _ed_visits(db: Session, encounter: Encounter, admit: dt.datetime) -> int:
    """EMER encounters in the 6 months before admission, less the one that led to it."""
    visits = db.scalar(
        select(func.count())
        .select_from(Encounter)
        .where(*_ed_visit(encounter, admit - ED_LOOKBACK, admit - ED_LEADS_TO_ADMISSION))
    )
    return int(visits or 0)


def _admissions_last_year(db: Session, encounter: Encounter, admit: dt.datetime) -> int:
    count = db.scalar(
        select(func.count())
        .select_from(Encounter)
        .where(
            Encounter.patient_id == encounter.patient_id,
            Encounter.id != encounter.id,
            Encounter.class_code.in_(codes.ADMISSION_CLASSES),
            Encounter.status.in_(LIVE_ENCOUNTER),
            Encounter.admit_at >= admit - ADMISSIONS_LOOKBACK,
            Encounter.admit_at < admit,
        )
    )
    return int(count or 0)


def _stay_messages(db: Session, encounter: Encounter) -> list[str]:
    """Raw messages of the stay, oldest first: those stored, then those of the batch being
    applied (not written yet), the one being applied now last."""
    stored = db.scalars(
        select(Hl7Message.raw)
        .where(Hl7Message.encounter_id == encounter.id)
        .order_by(Hl7Message.received_at)
    ).all()
    in_flight = pending.of(db)
    return list(stored) + (in_flight.raws_of(encounter.id) if in_flight else [])


def assess(
    db: Session, encounter: Encounter, settings: Settings, readmission: bool
) -> dict[str, Any]:
    """The risk of this discharge: LACE (or why not) and HOSPITAL (or why not)."""
    admit, discharge = _utc(encounter.admit_at), _utc(encounter.discharge_at)
    codes_found = _icd10_codes(db, encounter)
    comorbidity = charlson(codes_found)
    risk: dict[str, Any] = {"charlson": comorbidity.as_dict(), "readmission": readmission}
    if admit is None or discharge is None or discharge < admit:
        missing = "admission time" if admit is None else "a discharge after the admission"
        risk["lace"] = {"score": None, "computed": False, "reason": f"not computed: {missing}"}
        risk["hospital"] = {"score": None, "computed": False, "reason": f"not computed: {missing}"}
        return risk
    days = (local_date(discharge, settings) - local_date(admit, settings)).days
    acute = _acute(db, encounter, admit)
    index = lace(days, acute, comorbidity.score, _ed_visits(db, encounter, admit))
    risk["lace"] = {**index.as_dict(), "computed": True}
    labs = labs_from_messages(_stay_messages(db, encounter))
    risk["hospital"] = hospital(
        labs,
        oncology=is_oncology(encounter.hospital_service),
        urgent=acute,
        admissions_last_year=_admissions_last_year(db, encounter, admit),
        length_of_stay_days=days,
    ).as_dict()
    return risk


# --- discharge ------------------------------------------------------------------------------


def _cycle(db: Session, transition: Transition) -> int:
    """How many times the contact task has been raised for this transition."""
    count = db.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.dedupe_key.like(f"transition:{transition.id}:contact:%"))
    )
    return int(count or 0)


def _plan(db: Session, transition: Transition, encounter: Encounter, settings: Settings) -> None:
    """Set dates, risk and complexity from the encounter as it now stands."""
    discharge = _utc(encounter.discharge_at)
    assert discharge is not None
    discharged_on = local_date(discharge, settings)
    previous = detect_readmission(db, encounter)
    readmission = previous is not None
    risk = assess(db, encounter, settings, readmission)
    if "readmitted_as" in transition.risk:
        risk["readmitted_as"] = transition.risk["readmitted_as"]
    score = risk["lace"]["score"]
    high = readmission or (score is not None and score >= codes.LACE_HIGH)
    complexity = "high" if high else "moderate"
    transition.discharged_on = discharged_on
    transition.contact_due_on = add_business_days(
        discharged_on, codes.CONTACT_BUSINESS_DAYS, settings, db
    )
    transition.complexity = complexity
    transition.follow_up_due_on = discharged_on + dt.timedelta(
        days=codes.FOLLOW_UP_DAYS[complexity]
    )
    transition.lace_score = score
    transition.risk = risk
    transition.readmission = readmission


def _raise_tasks(
    db: Session,
    transition: Transition,
    encounter: Encounter,
    patient: Patient,
    settings: Settings,
    cycle: int,
) -> list[Task]:
    name = f"{patient.family_name}, {patient.given_names}"
    high = transition.complexity == "high"
    score = transition.lace_score
    risk_words = (
        f"LACE {score} ({codes.lace_band(score)} risk)"
        if score is not None
        else "LACE not computed"
    )
    contact_due = end_of_day(transition.contact_due_on, settings)
    follow_due = end_of_day(transition.follow_up_due_on, settings)
    where = encounter.facility or "hospital"
    discharged = f"{transition.discharged_on:%a %d %b %Y}"
    disposition = codes.DISCHARGE_DISPOSITIONS.get(_disposition(encounter))
    steps: list[tuple[str, str, str, dt.datetime, str]] = [
        (
            "contact",
            f"Call {name}: discharged {discharged}, contact by "
            f"{transition.contact_due_on:%a %d %b}",
            f"Discharged from {where} on {discharged}"
            + (f" ({disposition})" if disposition else "")
            + f". Make interactive contact (phone, video or in person) within "
            f"{codes.CONTACT_BUSINESS_DAYS} business days. {risk_words}."
            + (" This is a readmission." if transition.readmission else ""),
            contact_due,
            "urgent" if high else "routine",
        ),
        (
            "medications",
            f"Reconcile medications for {name} after discharge",
            "Compare the discharge medication list with what the patient takes now; record "
            "changes and tell the prescribers.",
            contact_due,
            "urgent" if high else "routine",
        ),
        (
            "follow-up",
            f"Follow-up visit for {name} by {transition.follow_up_due_on:%a %d %b}",
            f"{codes.COMPLEXITIES[transition.complexity]}: book a visit on or before "
            f"{transition.follow_up_due_on:%Y-%m-%d}.",
            follow_due,
            "urgent" if high else "routine",
        ),
        (
            "services",
            f"Arrange post-discharge services for {name}",
            "Check each: " + ", ".join(codes.CHECKLIST_ITEMS.values()).lower() + ".",
            contact_due,
            "routine",
        ),
        (
            "summary",
            f"Attach the discharge summary for {name}",
            f"Get the discharge summary from {where} and attach it to the transition before "
            "the follow-up visit.",
            follow_due,
            "routine",
        ),
    ]
    raised = []
    for step, title, description, due_at, priority in steps:
        raised.append(
            tasks.create(
                db,
                FEED,
                title=title[:200],
                description=description,
                patient_id=patient.id,
                priority=priority,
                owner_id=patient.primary_coordinator_id,
                due_at=due_at,
                focus_type="Transition",
                focus_id=transition.id,
                dedupe_key=f"transition:{transition.id}:{step}:{cycle}",
                business_status=codes.STEPS[step][:64],
                kind=STEP_KIND.get(step, "transition"),
                risk=score or 0,
            )
        )
    return raised


def on_discharge(
    db: Session, encounter: Encounter, settings: Settings, now: dt.datetime
) -> Transition | None:
    """A03: start (or restart, after an A13) the follow-up of this discharge; None when
    there is none to do (not our patient, a stay that needs none)."""
    patient = db.get(Patient, encounter.patient_id)
    if patient is None or not on_panel(db, patient) or not follows_up(encounter):
        return None
    transition = db.scalar(select(Transition).where(Transition.encounter_id == encounter.id))
    created = transition is None
    reopened = transition is not None and transition.status == "cancelled"
    if transition is None:
        transition = Transition(
            patient_id=patient.id,
            encounter_id=encounter.id,
            status="open",
            checklist=codes.empty_checklist(),
            risk={},
        )
        _plan(db, transition, encounter, settings)
        db.add(transition)
        db.flush()
    elif reopened:
        transition.status = "open"
        _plan(db, transition, encounter, settings)
        db.flush()
    raised = _cycle(db, transition)
    cycle = raised + 1 if created or reopened else max(raised, 1)
    if transition.status == "open":
        _raise_tasks(db, transition, encounter, patient, settings, cycle)
    if created or reopened:
        record(
            db,
            FEED,
            Action.CREATE if created else Action.UPDATE,
            entity_type="Transition",
            entity_id=transition.id,
            patient_id=patient.id,
            reason=f"{'started' if created else 'reopened'} after discharge on "
            f"{transition.discharged_on}; LACE {transition.lace_score}",
        )
    return transition


def on_discharge_cancelled(
    db: Session, encounter: Encounter, settings: Settings, now: dt.datetime
) -> None:
    """A13: the open follow-up of this encounter is cancelled, and its open tasks with a
    reason; a later A03 reopens it."""
    transition = db.scalar(select(Transition).where(Transition.encounter_id == encounter.id))
    if transition is None or transition.status != "open":
        return
    reason = "The hospital cancelled the discharge (ADT A13); the patient is still in hospital."
    for task in tasks.for_focus(db, "Transition", transition.id):
        if task.is_open and (task.dedupe_key or "").startswith(f"transition:{transition.id}:"):
            tasks.update(
                db,
                FEED,
                task.id,
                TaskUpdate(status="cancelled", reason=reason),
                version=task.version,
                now=now,
            )
    transition.status = "cancelled"
    db.flush()
    record(
        db,
        FEED,
        Action.UPDATE,
        entity_type="Transition",
        entity_id=transition.id,
        patient_id=transition.patient_id,
        reason="cancelled: discharge cancelled (A13)",
    )
