"""Quality measures on hand-built discharges: every expected number is worked out below.

The records are made in June 2011 (a period no other test uses) in the clinic's zone,
America/Chicago (CDT, UTC-5 in summer)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.analytics import measures
from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.patients.schemas import PatientCreate
from carebridge.referrals import directory
from carebridge.referrals import service as referrals
from carebridge.referrals.schemas import ProviderCreate, ReferralCreate, ReferralTransition
from carebridge.scheduling.models import Appointment, AppointmentType, Location, Practitioner
from carebridge.security.audit import Actor
from carebridge.settings import Settings
from carebridge.transitions import service as transitions
from carebridge.transitions import workflow
from carebridge.transitions.models import Encounter, Transition
from carebridge.transitions.schemas import TransitionUpdate

SYSTEM = Actor.system("test")
CDT = dt.timezone(dt.timedelta(hours=-5))
YEAR = 2011
ZONE = "America/Chicago"


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    """A Chicago summer wall-clock time, in UTC."""
    return dt.datetime(YEAR, month, day, hour, tzinfo=CDT).astimezone(dt.UTC)


def new_patient(factory: sessionmaker[Session]) -> uuid.UUID:
    name = "Qm" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz", k=10))
    with unit_of_work(factory) as db:
        return patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=name,
                given_names="Ada",
                birth_date=dt.date(1948, 5, 6),
                sex="female",
            ),
        ).id


def stay(factory: sessionmaker[Session], patient_id: uuid.UUID, **values: Any) -> uuid.UUID:
    fields: dict[str, Any] = {
        "facility": "GENERAL",
        "visit_number": uuid.uuid4().hex[:10],
        "class_code": "IMP",
        "status": "finished",
        "admission_type": "R",
        "diagnoses": [],
    }
    fields.update(values)
    with unit_of_work(factory) as db:
        encounter = Encounter(patient_id=patient_id, **fields)
        db.add(encounter)
        db.flush()
        return encounter.id


def discharged(
    factory: sessionmaker[Session],
    settings: Settings,
    day: tuple[int, int],
    hour: int = 11,
    disposition: str = "01",
    class_code: str = "IMP",
    patient_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A patient (new unless given) discharged on ``day`` (month, day) after a three-day
    stay, with the transition the workflow starts."""
    patient_id = patient_id or new_patient(factory)
    out = at(*day, hour)
    encounter_id = stay(
        factory,
        patient_id,
        class_code=class_code,
        admit_at=out - dt.timedelta(days=3),
        discharge_at=out,
        discharge_disposition=disposition,
    )
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, encounter_id)
        assert encounter is not None
        made = workflow.on_discharge(db, encounter, settings, out)
        assert made is not None
    return patient_id, encounter_id


class Clinic:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        with unit_of_work(factory) as db:
            kind = AppointmentType(
                code=f"qm-{uuid.uuid4().hex[:8]}",
                name="Post-discharge visit",
                duration_minutes=30,
                modality="in-person",
            )
            place = Location(name="Quality clinic", timezone="America/Chicago")
            doctor = Practitioner(name="Dr Quality")
            db.add_all([kind, place, doctor])
            db.flush()
            self.kind, self.place, self.doctor = kind.id, place.id, doctor.id

    def visit(self, patient_id: uuid.UUID, start: dt.datetime, status: str = "fulfilled") -> None:
        with unit_of_work(self.factory) as db:
            db.add(
                Appointment(
                    patient_id=patient_id,
                    practitioner_id=self.doctor,
                    location_id=self.place,
                    appointment_type_id=self.kind,
                    starts_at=start,
                    ends_at=start + dt.timedelta(minutes=30),
                    held_until=start + dt.timedelta(minutes=30),
                    status=status,
                    modality="in-person",
                    patient_token=uuid.uuid4().hex,
                )
            )


def test_follow_up_after_discharge(factory: sessionmaker[Session], settings: Settings) -> None:
    assert settings.timezone == "America/Chicago"
    clinic = Clinic(factory)
    june = (dt.date(YEAR, 6, 1), dt.date(YEAR, 6, 30))

    # A: discharged June 10, seen June 15 (day 5): in both numerators.
    a, _ = discharged(factory, settings, (6, 10))
    clinic.visit(a, at(6, 15, 9))
    # B: discharged June 10, seen June 25 (day 15): 30-day only.
    b, _ = discharged(factory, settings, (6, 10))
    clinic.visit(b, at(6, 25, 9))
    # C: discharged June 10, a visit booked on June 12 but not kept (no-show): neither.
    c, _ = discharged(factory, settings, (6, 10))
    clinic.visit(c, at(6, 12, 9), status="noshow")
    # D: discharged June 10 to hospice at home (50): excluded from both.
    d, _ = discharged(factory, settings, (6, 10), disposition="50")
    # E: discharged June 10, readmitted June 13 before any visit, seen June 20: excluded.
    e, e_stay = discharged(factory, settings, (6, 10))
    again = stay(factory, e, admit_at=at(6, 13, 8), status="in-progress")
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, again)
        assert encounter is not None
        assert workflow.detect_readmission(db, encounter) is not None
        assert encounter.readmission_of_id == e_stay
    clinic.visit(e, at(6, 20, 9))
    # F: discharged June 10, died June 20: in the 7-day denominator (the window ends June 17,
    # before the death), not seen; excluded from the 30-day one (window ends July 10).
    f, _ = discharged(factory, settings, (6, 10))
    with unit_of_work(factory) as db:
        patient = db.get(Patient, f)
        assert patient is not None
        patient.status = "deceased"
        patient.deceased_date = dt.date(YEAR, 6, 20)
    # G: discharged May 31, outside the period; seen June 2: counted nowhere.
    g, _ = discharged(factory, settings, (5, 31))
    clinic.visit(g, at(6, 2, 9))
    # H: discharged June 30 at 23:00 CDT (July 1 04:00 UTC): a June discharge. Seen July 7
    # at 22:00 CDT (July 8 UTC), the 7th local day after: in both numerators. A visit on the
    # morning of the discharge day, before the discharge, does not count.
    h, _ = discharged(factory, settings, (6, 30), hour=23)
    clinic.visit(h, at(6, 30, 8))
    clinic.visit(h, at(7, 7, 22))
    # I: discharged June 20, seen July 21 (day 31): too late for both.
    i, _ = discharged(factory, settings, (6, 20))
    clinic.visit(i, at(7, 21, 9))

    with unit_of_work(factory) as db:
        week = measures.compute(db, settings, "follow-up-7d", *june)
        month = measures.compute(db, settings, "follow-up-30d", *june)

    # 7 days: denominator A B C F H I = 6 (D, E excluded); numerator A H = 2.
    assert (week.numerator, week.denominator, week.excluded) == (2, 6, 2)
    assert week.rate == 2 / 6
    assert set(week.numerator_patients) == {a, h}
    assert set(week.denominator_patients) == {a, b, c, f, h, i}
    # 30 days: denominator A B C H I = 5 (D, E, F excluded); numerator A B H = 3.
    assert (month.numerator, month.denominator, month.excluded) == (3, 5, 3)
    assert month.rate == 3 / 5
    assert set(month.numerator_patients) == {a, b, h}
    assert set(month.denominator_patients) == {a, b, c, h, i}
    assert d not in month.denominator_patients
    assert e not in month.denominator_patients
    assert g not in month.denominator_patients

    with unit_of_work(factory) as db:
        empty = measures.compute(
            db, settings, "follow-up-30d", dt.date(YEAR, 2, 1), dt.date(YEAR, 2, 28)
        )
    assert (empty.numerator, empty.denominator, empty.rate) == (0, 0, None)


def test_registry_documents_every_measure() -> None:
    for key, measure in measures.REGISTRY.items():
        assert measure.key == key
        for text in (measure.numerator, measure.denominator, measure.exclusions, measure.period):
            assert len(text) > 40


def transition_of(factory: sessionmaker[Session], encounter_id: uuid.UUID) -> Transition:
    with unit_of_work(factory) as db:
        found = db.scalar(select(Transition).where(Transition.encounter_id == encounter_id))
        assert found is not None
        db.expunge(found)
        return found


def readmit(factory: sessionmaker[Session], patient_id: uuid.UUID, admit: dt.datetime) -> None:
    """An inpatient admission, linked by the workflow to the stay it follows (if any)."""
    again = stay(factory, patient_id, admit_at=admit, status="in-progress")
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, again)
        assert encounter is not None
        workflow.detect_readmission(db, encounter)


def test_readmission_within_30_days(factory: sessionmaker[Session], settings: Settings) -> None:
    september = (dt.date(YEAR, 9, 1), dt.date(YEAR, 9, 30))
    # P: discharged Sept 5, readmitted Sept 20 (15 days): in the numerator. That second
    # stay, discharged Sept 25 and not followed by another, is an index stay too.
    p, _ = discharged(factory, settings, (9, 5), hour=11)
    again = stay(factory, p, admit_at=at(9, 20, 8), discharge_at=at(9, 25, 11))
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, again)
        assert encounter is not None
        assert workflow.on_discharge(db, encounter, settings, at(9, 25, 11)) is not None
    # Q: discharged Sept 10 11:00, readmitted Oct 10 10:00 (29 days 23 hours): numerator,
    # though the readmission falls after the period.
    q, _ = discharged(factory, settings, (9, 10), hour=11)
    readmit(factory, q, at(10, 10, 10))
    # R: discharged Sept 10 11:00, readmitted Oct 10 12:00 (30 days 1 hour): too late.
    r, _ = discharged(factory, settings, (9, 10), hour=11)
    readmit(factory, r, at(10, 10, 12))
    # S: an emergency visit (EMER) is not an index stay, even if an admission follows.
    s, _ = discharged(factory, settings, (9, 12), class_code="EMER")
    readmit(factory, s, at(9, 14, 8))
    # T: left against medical advice Sept 15, readmitted Sept 17: excluded.
    t, _ = discharged(factory, settings, (9, 15), disposition="07")
    readmit(factory, t, at(9, 17, 8))
    # U: discharged Aug 31 (before the period), readmitted Sept 3: counted nowhere.
    u, _ = discharged(factory, settings, (8, 31))
    readmit(factory, u, at(9, 3, 8))
    # V: discharged Sept 18, then an emergency visit Sept 20 that is not an admission.
    v, _ = discharged(factory, settings, (9, 18))
    stay(factory, v, class_code="EMER", admit_at=at(9, 20, 8), discharge_at=at(9, 20, 14))

    with unit_of_work(factory) as db:
        result = measures.compute(db, settings, "readmission-30d", *september)
    # Denominator: P (Sept 5), P (Sept 25), Q, R, V = 5; T excluded; numerator P (Sept 5), Q.
    assert (result.numerator, result.denominator, result.excluded) == (2, 5, 1)
    assert result.rate == 2 / 5
    assert set(result.numerator_patients) == {p, q}
    assert set(result.denominator_patients) == {p, q, r, v}
    assert not {s, t, u} & set(result.denominator_patients)


def contact(factory: sessionmaker[Session], encounter_id: uuid.UUID, when: dt.datetime) -> None:
    made = transition_of(factory, encounter_id)
    with unit_of_work(factory) as db:
        transitions.update(
            db,
            SYSTEM,
            made.id,
            TransitionUpdate(version=made.version, contacted=True),
            "America/Chicago",
            now=when,
        )


def test_contact_within_two_business_days(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    october = (dt.date(YEAR, 10, 1), dt.date(YEAR, 10, 31))
    # K: discharged Monday Oct 3 (due Wednesday Oct 5), reached Oct 5 at 23:00 CDT
    # (Oct 6 UTC): on time.
    k, k_stay = discharged(factory, settings, (10, 3))
    assert transition_of(factory, k_stay).contact_due_on == dt.date(YEAR, 10, 5)
    contact(factory, k_stay, at(10, 5, 23))
    # L: discharged Oct 3, reached Thursday Oct 6: late.
    l_, l_stay = discharged(factory, settings, (10, 3))
    contact(factory, l_stay, at(10, 6, 9))
    # M: discharged Friday Oct 7; Monday Oct 10 is Columbus Day, so due Wednesday Oct 12;
    # reached Oct 12: on time.
    m, m_stay = discharged(factory, settings, (10, 7))
    assert transition_of(factory, m_stay).contact_due_on == dt.date(YEAR, 10, 12)
    contact(factory, m_stay, at(10, 12, 10))
    # N: discharged Oct 3, never reached.
    n, _ = discharged(factory, settings, (10, 3))
    # O: discharged Oct 3, died Oct 4: excluded.
    o, _ = discharged(factory, settings, (10, 3))
    with unit_of_work(factory) as db:
        patient = db.get(Patient, o)
        assert patient is not None
        patient.status = "deceased"
        patient.deceased_date = dt.date(YEAR, 10, 4)
    # W: discharged Oct 3, readmitted Oct 4 before any contact: excluded.
    w, _ = discharged(factory, settings, (10, 3))
    readmit(factory, w, at(10, 4, 8))

    with unit_of_work(factory) as db:
        result = measures.compute(db, settings, "contact-2bd", *october)
    # Denominator K L M N = 4 (O, W excluded); numerator K M = 2.
    assert (result.numerator, result.denominator, result.excluded) == (2, 4, 2)
    assert result.rate == 0.5
    assert set(result.numerator_patients) == {k, m}
    assert set(result.denominator_patients) == {k, l_, m, n}
    assert not {o, w} & set(result.denominator_patients)


class Referrals:
    """Outgoing referrals walked through their lifecycle by the referral service."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        with unit_of_work(factory) as db:
            self.provider = directory.create(
                db, SYSTEM, ProviderCreate(name="Dr Outside", kind="specialist")
            ).id

    def new(
        self, when: dt.datetime | None, service_kind: str = "specialist"
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """A new patient's referral, sent at ``when`` (a draft when None)."""
        patient_id = new_patient(self.factory)
        with unit_of_work(self.factory) as db:
            made = referrals.create(
                db,
                SYSTEM,
                patient_id,
                ReferralCreate(
                    provider_id=self.provider,
                    service_kind=service_kind,
                    reason="Cardiology opinion",
                ),
                ZONE,
            )
        if when is not None:
            self.step(made.id, "send", when)
        return patient_id, made.id

    def step(self, referral_id: uuid.UUID, action: str, when: dt.datetime, **extra: Any) -> None:
        with unit_of_work(self.factory) as db:
            version = referrals.get(db, SYSTEM, referral_id, ZONE).version
            referrals.transition(
                db,
                SYSTEM,
                referral_id,
                ReferralTransition(action=action, version=version, **extra),
                ZONE,
                now=when,
            )

    def closed_with_report(
        self, referral_id: uuid.UUID, seen: dt.date, closed: dt.datetime
    ) -> None:
        self.step(referral_id, "schedule", closed, scheduled_for=seen)
        self.step(referral_id, "seen", closed, seen_on=seen)
        self.step(referral_id, "report", closed)
        self.step(referral_id, "close", closed)


def test_referral_loop_closure(factory: sessionmaker[Session], settings: Settings) -> None:
    april = (dt.date(YEAR, 4, 1), dt.date(YEAR, 4, 30))
    book = Referrals(factory)
    # R1: sent April 4, seen April 8, report and closing April 15: 11 days.
    r1, one = book.new(at(4, 4, 10))
    book.closed_with_report(one, dt.date(YEAR, 4, 8), at(4, 15, 10))
    # R2: sent April 6, closed May 6 (after the period): 30 days.
    r2, two = book.new(at(4, 6, 10))
    book.closed_with_report(two, dt.date(YEAR, 5, 2), at(5, 6, 10))
    # R3: sent April 30 at 23:00 CDT (May 1 UTC), an April referral; closed May 3: 3 days.
    r3, three = book.new(at(4, 30, 23))
    book.closed_with_report(three, dt.date(YEAR, 5, 2), at(5, 3, 10))
    # R4: sent April 10, seen, no report yet: open.
    r4, four = book.new(at(4, 10, 10))
    book.step(four, "schedule", at(4, 11, 10), scheduled_for=dt.date(YEAR, 4, 20))
    book.step(four, "seen", at(4, 20, 10), seen_on=dt.date(YEAR, 4, 20))
    # R5: sent April 11, declined April 13, closed April 14 without a report.
    r5, five = book.new(at(4, 11, 10))
    book.step(five, "decline", at(4, 13, 10), reason="Not taking new patients")
    book.step(five, "close", at(4, 14, 10))
    # R6: sent April 12, cancelled April 13: excluded.
    r6, six = book.new(at(4, 12, 10))
    book.step(six, "cancel", at(4, 13, 10), reason="Patient moved away")
    # R7: sent March 31 (before the period), closed April 20: counted nowhere.
    r7, seven = book.new(at(3, 31, 10))
    book.closed_with_report(seven, dt.date(YEAR, 4, 18), at(4, 20, 10))
    # R8: a draft never sent; R9: a community referral confirmed: counted nowhere.
    r8, _ = book.new(None)
    r9, nine = book.new(at(4, 5, 10), service_kind="community-service")
    book.step(nine, "confirm", at(4, 7, 10))

    with unit_of_work(factory) as db:
        result = measures.compute(db, settings, "referral-closure", *april)
    # Denominator R1..R5 = 5 (R6 excluded); numerator R1 R2 R3 = 3; median of 11, 30, 3 = 11.
    assert (result.numerator, result.denominator, result.excluded) == (3, 5, 1)
    assert result.rate == 3 / 5
    assert result.median_days == 11
    assert set(result.numerator_patients) == {r1, r2, r3}
    assert set(result.denominator_patients) == {r1, r2, r3, r4, r5}
    assert not {r6, r7, r8, r9} & set(result.denominator_patients)

    with unit_of_work(factory) as db:
        empty = measures.compute(db, settings, "referral-closure", *(dt.date(YEAR, 2, 1),) * 2)
    assert (empty.denominator, empty.rate, empty.median_days) == (0, None, None)
