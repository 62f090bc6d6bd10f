"""The access, authorization, care-plan, task, outreach and social-needs measures on
hand-built records: every expected number is worked out in the comments beside it.

The records are dated in 2007, a year no other test uses, so each measure's period holds only
the rows made here. The clinic's zone is America/Chicago: every period below falls in daylight
time (CDT, UTC-5; 2007's DST ran March 11 to November 4), so 23:30 CDT on the last day of a
month is 04:30 UTC on the next day, and belongs to the month it is local to."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from carebridge.analytics import measures
from carebridge.analytics.results import MeasureResult, local_bounds
from carebridge.authorizations.models import AuthorizationSubmission, PriorAuthorization
from carebridge.careplans.models import CarePlan, Goal
from carebridge.coverage.models import Coverage, Payer
from carebridge.db.session import unit_of_work
from carebridge.scheduling import measures as access
from carebridge.scheduling.models import Appointment, AppointmentType, Location, Practitioner
from carebridge.settings import Settings
from carebridge.social.models import Screening, SocialNeed
from carebridge.tasks.models import OutreachAttempt, Task
from tests.integration.test_analytics_measures import new_patient

YEAR = 2007
CHICAGO = ZoneInfo("America/Chicago")


def at(month: int, day: int, hour: int = 12, minute: int = 0, year: int = YEAR) -> dt.datetime:
    """A Chicago wall-clock time, in UTC."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHICAGO).astimezone(dt.UTC)


def day(month: int, d: int, year: int = YEAR) -> dt.date:
    return dt.date(year, month, d)


def month(number: int) -> tuple[dt.date, dt.date]:
    following = day(number + 1, 1) if number < 12 else day(1, 1, YEAR + 1)
    return day(number, 1), following - dt.timedelta(days=1)


def run(
    factory: sessionmaker[Session], settings: Settings, key: str, period: tuple[dt.date, dt.date]
) -> MeasureResult:
    with unit_of_work(factory) as db:
        return measures.compute(db, settings, key, *period)


def counts(result: MeasureResult) -> tuple[int, int, int]:
    return result.numerator, result.denominator, result.excluded


def add(factory: sessionmaker[Session], *rows: Any) -> None:
    with unit_of_work(factory) as db:
        db.add_all(rows)


class Clinic:
    """Two practitioners at two locations, and appointments made with explicit booking times
    (so no appointment counts in a period of today)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        with unit_of_work(factory) as db:
            kind = AppointmentType(
                code=f"qm7-{uuid.uuid4().hex[:8]}",
                name="Office visit",
                duration_minutes=30,
                modality="in-person",
            )
            north = Location(name="North clinic", timezone="America/Chicago")
            south = Location(name="South clinic", timezone="America/Chicago")
            ann = Practitioner(name="Dr Ann Measure")
            bob = Practitioner(name="Dr Bob Measure")
            db.add_all([kind, north, south, ann, bob])
            db.flush()
            self.kind = kind.id
            self.north, self.south = north.id, south.id
            self.ann, self.bob = ann.id, bob.id

    def visit(
        self,
        patient_id: uuid.UUID,
        start: dt.datetime,
        status: str = "fulfilled",
        booked: dt.datetime | None = None,
        bob: bool = False,
    ) -> uuid.UUID:
        with unit_of_work(self.factory) as db:
            made = Appointment(
                patient_id=patient_id,
                practitioner_id=self.bob if bob else self.ann,
                location_id=self.south if bob else self.north,
                appointment_type_id=self.kind,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=30),
                held_until=start + dt.timedelta(minutes=30),
                status=status,
                modality="in-person",
                patient_token=uuid.uuid4().hex,
                created_at=booked or start - dt.timedelta(days=20),
            )
            db.add(made)
            db.flush()
            return made.id


def test_new_measures_are_registered_and_grouped() -> None:
    groups = {key: m.group for key, m in measures.REGISTRY.items()}
    assert (
        groups
        | {
            "no-show": "Access",
            "lead-time": "Access",
            "prior-auth-turnaround": "Authorizations",
            "prior-auth-denial": "Authorizations",
            "goal-attainment": "Care plans",
            "task-sla": "Tasks",
            "outreach-success": "Outreach",
            "social-screening": "Social needs",
            "needs-met": "Social needs",
        }
        == groups
    )
    lower = {key for key, m in measures.REGISTRY.items() if m.lower_is_better}
    assert lower == {"readmission-30d", "no-show", "prior-auth-denial"}
    medians = {key for key, m in measures.REGISTRY.items() if m.median_label}
    assert medians == {"referral-closure", "lead-time", "prior-auth-turnaround", "needs-met"}
    for measure in measures.REGISTRY.values():
        assert measure.group


def test_no_show_rate_agrees_with_the_scheduler(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    clinic = Clinic(factory)
    may = month(5)
    p1, p2, p3, p4, p5, p6, p7, p8 = (new_patient(factory) for _ in range(8))
    # P1: a visit at 00:30 CDT on May 1 (the first minute of the period that counts), and a
    # no-show on May 10: one case each.
    clinic.visit(p1, at(5, 1, 0, 30))
    clinic.visit(p1, at(5, 10, 9), status="noshow")
    # P2 arrived, P3 checked in: visits that took place.
    clinic.visit(p2, at(5, 15, 9), status="arrived")
    clinic.visit(p3, at(5, 20, 9), status="checked-in", bob=True)
    # P4: a no-show at 23:30 CDT on May 31 (June 1, 04:30 UTC): a May case.
    clinic.visit(p4, at(5, 31, 23, 30), status="noshow", bob=True)
    # P5 cancelled and P6 still booked: no outcome, never counted.
    clinic.visit(p5, at(5, 12, 9), status="cancelled")
    clinic.visit(p6, at(5, 13, 9), status="booked")
    # P7: a no-show at 23:30 CDT on April 30 (May 1, 04:30 UTC): April, not May.
    clinic.visit(p7, at(4, 30, 23, 30), status="noshow")
    # P8: seen at 00:30 CDT on June 1: June.
    clinic.visit(p8, at(6, 1, 0, 30))

    result = run(factory, settings, "no-show", may)

    # Denominator: P1 twice, P2, P3, P4 = 5 appointments; numerator the no-shows of P1 and P4.
    assert counts(result) == (2, 5, 0)
    assert result.rate == 2 / 5
    assert set(result.numerator_patients) == {p1, p4}
    assert set(result.denominator_patients) == {p1, p2, p3, p4}
    assert result.median_days is None
    # Cases carry the local date, the practitioner and the location of the appointment.
    by_day = {(c.on, c.met): (c.provider_id, c.location_id) for c in result.cases}
    assert by_day == {
        (day(5, 1), False): (clinic.ann, clinic.north),
        (day(5, 10), True): (clinic.ann, clinic.north),
        (day(5, 15), False): (clinic.ann, clinic.north),
        (day(5, 20), False): (clinic.bob, clinic.south),
        (day(5, 31), True): (clinic.bob, clinic.south),
    }

    # The scheduler's access measures count the same: Ann 1 no-show of 3, Bob 1 of 2.
    low, high = local_bounds(settings, *may)
    with unit_of_work(factory) as db:
        rates = access.no_show_rates(db, low, high, dt.datetime.now(dt.UTC))
    assert (rates[clinic.ann].noshow, rates[clinic.ann].attended) == (1, 2)
    assert (rates[clinic.bob].noshow, rates[clinic.bob].attended) == (1, 1)
    assert sum(r.noshow for r in rates.values()) == result.numerator
    assert sum(r.noshow + r.attended for r in rates.values()) == result.denominator


def test_lead_time_agrees_with_the_scheduler(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    clinic = Clinic(factory)
    august = month(8)
    q1, q2, q3, q4, q5, q6 = (new_patient(factory) for _ in range(6))
    # Q1: booked at 00:30 CDT on Aug 1 (first day), visit 7 days later: 7.0 days, prompt.
    clinic.visit(q1, at(8, 8, 0, 30), status="booked", booked=at(8, 1, 0, 30))
    # Q2: booked Aug 10 09:00, seen Aug 24 09:00: exactly 14.0 days, still prompt.
    clinic.visit(q2, at(8, 24, 9), status="fulfilled", booked=at(8, 10, 9))
    # Q3: booked Aug 10 09:00, no-show Aug 24 10:00: 14 days 1 hour = 14.041667, not prompt.
    clinic.visit(q3, at(8, 24, 10), status="noshow", booked=at(8, 10, 9), bob=True)
    # Q4: booked 23:30 CDT Aug 31 (Sept 1 UTC), an August booking; visit Sept 30 23:30: 30.0.
    clinic.visit(q4, at(9, 30, 23, 30), status="booked", booked=at(8, 31, 23, 30))
    # Q5: booked in August, then cancelled: not counted.
    clinic.visit(q5, at(8, 20, 9), status="cancelled", booked=at(8, 15, 9))
    # Q6: booked 23:30 CDT July 31 (Aug 1 UTC): a July booking.
    clinic.visit(q6, at(8, 5, 9), status="booked", booked=at(7, 31, 23, 30))

    result = run(factory, settings, "lead-time", august)

    # Denominator Q1..Q4 = 4; numerator (within 14 days) Q1, Q2 = 2.
    assert counts(result) == (2, 4, 0)
    assert set(result.numerator_patients) == {q1, q2}
    assert set(result.denominator_patients) == {q1, q2, q3, q4}
    assert sorted(c.days or 0 for c in result.cases) == pytest.approx(
        [7.0, 14.0, 14 + 1 / 24, 30.0]
    )
    assert {c.on for c in result.cases} == {day(8, 1), day(8, 10), day(8, 31)}
    # Median over all four: (14.0 + 14.041667) / 2 = 14.020833.
    assert result.median_days == pytest.approx(14 + 1 / 48)

    # The scheduler's lead time: Ann has Q1, Q2, Q4 (median 14.0), Bob Q3 (14.04 -> 14.0);
    # over everyone the figures are the same four, median 14.02, shown as 14.0.
    low, high = local_bounds(settings, *august)
    with unit_of_work(factory) as db:
        lead = access.lead_times(db, low, high)
    assert (lead[clinic.ann].appointments, lead[clinic.ann].median_days) == (3, 14.0)
    assert (lead[clinic.bob].appointments, lead[clinic.bob].median_days) == (1, 14.0)
    assert sum(x.appointments for x in lead.values()) == result.denominator
    assert result.median_days is not None
    assert round(result.median_days, 1) == 14.0


class Authorizations:
    """Prior authorization requests as the authorizations service leaves them: submissions
    with their sending time, and the decision's status, source and time."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        with unit_of_work(factory) as db:
            payer = Payer(name="Measure Health", payer_id=f"MH{uuid.uuid4().hex[:10]}")
            doctor = Practitioner(name="Dr Ordering")
            db.add_all([payer, doctor])
            db.flush()
            self.payer, self.doctor = payer.id, doctor.id

    def request(
        self,
        patient_id: uuid.UUID,
        status: str,
        decided_at: dt.datetime,
        sent: tuple[dt.datetime, ...] = (),
        source: str = "payer",
    ) -> None:
        with unit_of_work(self.factory) as db:
            coverage = Coverage(
                patient_id=patient_id,
                payer_ref=self.payer,
                member_id=uuid.uuid4().hex[:12],
                start_on=day(1, 1),
            )
            db.add(coverage)
            db.flush()
            auth = PriorAuthorization(
                number=uuid.uuid4().hex[:12],
                patient_id=patient_id,
                coverage_id=coverage.id,
                ordering_practitioner_id=self.doctor,
                status=status,
                requested_start=day(7, 1),
                requested_end=day(12, 31),
                decided_at=decided_at,
                decision_source=source,
                created_at=(sent[0] if sent else decided_at) - dt.timedelta(days=1),
            )
            db.add(auth)
            db.flush()
            for n, moment in enumerate(sent, start=1):
                db.add(
                    AuthorizationSubmission(
                        authorization_id=auth.id,
                        channel="x12-278",
                        trace_number=f"{auth.number}S{n}",
                        request_payload="ISA*...~",
                        status="answered",
                        created_at=moment,
                    )
                )


def test_prior_authorization_turnaround_and_denials(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    book = Authorizations(factory)
    june = month(6)
    p, a2, a4, a5, a6, a7, a8, a9, a10 = (new_patient(factory) for _ in range(9))
    # A1 (patient P): sent June 1 09:00, approved June 5 09:00: 4.0 days, on time.
    book.request(p, "approved", at(6, 5, 9), sent=(at(6, 1, 9),))
    # A2: sent May 28 09:00, denied June 4 09:00: exactly 7 days (168 h), on time; a denial.
    book.request(a2, "denied", at(6, 4, 9), sent=(at(5, 28, 9),))
    # A3 (patient P again): sent June 10 09:00, partly approved June 17 10:00: 7 days 1 hour
    # = 7.041667, late; a partial approval is not a denial.
    book.request(p, "partially-approved", at(6, 17, 10), sent=(at(6, 10, 9),))
    # A4: sent June 20 09:00, pended and sent again June 25, denied 23:30 CDT June 30 (July 1,
    # 04:30 UTC; a June decision). Counted from the first sending: 10 days 14.5 hours
    # = 10.604167, late; a denial.
    book.request(a4, "denied", at(6, 30, 23, 30), sent=(at(6, 20, 9), at(6, 25, 9)))
    # A5: sent May 31 12:00, approved 00:30 CDT June 1, since expired: 12.5 hours = 0.520833
    # days, on time; an approval.
    book.request(a5, "expired", at(6, 1, 0, 30), sent=(at(5, 31, 12),))
    # A6: approved June 12, then cancelled: excluded from both.
    book.request(a6, "cancelled", at(6, 12, 9), sent=(at(6, 8, 9),))
    # A7: denied, then approved on appeal June 14 (the decision time is the appeal's):
    # excluded from both.
    book.request(a7, "approved", at(6, 14, 9), sent=(at(5, 2, 9),), source="appeal")
    # A8: denied by phone June 15, entered by hand, never sent through Carebridge: no
    # submission time, so excluded from turnaround; a denial all the same.
    book.request(a8, "denied", at(6, 15, 9), source="manual")
    # A9: pended June 16, still waiting: not counted.
    book.request(a9, "pended", at(6, 16, 9), sent=(at(6, 14, 9),))
    # A10: approved 23:30 CDT May 31 (June 1 UTC): a May decision.
    book.request(a10, "approved", at(5, 31, 23, 30), sent=(at(5, 30, 9),))

    turnaround = run(factory, settings, "prior-auth-turnaround", june)
    # Denominator A1..A5 = 5; on time A1, A2, A5 = 3; excluded A6, A7, A8 = 3.
    assert counts(turnaround) == (3, 5, 3)
    assert set(turnaround.numerator_patients) == {p, a2, a5}
    assert set(turnaround.denominator_patients) == {p, a2, a4, a5}
    assert sorted(c.days or 0 for c in turnaround.cases) == pytest.approx(
        [12.5 / 24, 4.0, 7.0, 7 + 1 / 24, 10 + 14.5 / 24]
    )
    # Median of the five figures: the third, 7.0.
    assert turnaround.median_days == pytest.approx(7.0)
    assert {c.on for c in turnaround.cases} == {
        day(6, 1),
        day(6, 4),
        day(6, 5),
        day(6, 17),
        day(6, 30),
    }
    assert {c.provider_id for c in turnaround.cases} == {book.doctor}

    denial = run(factory, settings, "prior-auth-denial", june)
    # Denominator A1..A5 and A8 = 6; denied A2, A4, A8 = 3; excluded A6, A7 = 2.
    assert counts(denial) == (3, 6, 2)
    assert denial.rate == 0.5
    assert set(denial.numerator_patients) == {a2, a4, a8}
    assert set(denial.denominator_patients) == {p, a2, a4, a5, a8}
    assert a9 not in denial.denominator_patients
    assert a10 not in denial.denominator_patients


def care_plan(factory: sessionmaker[Session], patient_id: uuid.UUID, status: str = "active") -> Any:
    with unit_of_work(factory) as db:
        plan = CarePlan(patient_id=patient_id, title="Diabetes", status=status, start_on=day(1, 2))
        db.add(plan)
        db.flush()
        return plan.id


def goal(
    factory: sessionmaker[Session],
    plan_id: uuid.UUID,
    due_on: dt.date | None,
    achievement: str,
    lifecycle: str = "active",
) -> None:
    add(
        factory,
        Goal(
            care_plan_id=plan_id,
            description="HbA1c below 7 %",
            measure="HbA1c",
            unit="%",
            comparator="<",
            target_high=Decimal("7"),
            due_on=due_on,
            lifecycle_status=lifecycle,
            achievement_status=achievement,
        ),
    )


def test_goal_attainment(factory: sessionmaker[Session], settings: Settings) -> None:
    july = month(7)
    g1, g2, g4, g5, g6, g7, g8 = (new_patient(factory) for _ in range(7))
    plan1 = care_plan(factory, g1)
    # G1: due July 1 (first day), achieved: met.
    goal(factory, plan1, day(7, 1), "achieved")
    # G2: due July 31 (last day), sustaining: met.
    goal(factory, care_plan(factory, g2), day(7, 31), "sustaining")
    # G3 (same plan as G1): due July 15, closed not achieved: counted, not met.
    goal(factory, plan1, day(7, 15), "not-achieved", lifecycle="completed")
    # G4: due July 20, still in progress: counted, not met.
    goal(factory, care_plan(factory, g4), day(7, 20), "in-progress")
    # G5 cancelled, G6 entered in error: excluded.
    goal(factory, care_plan(factory, g5), day(7, 10), "achieved", lifecycle="cancelled")
    goal(factory, care_plan(factory, g6), day(7, 12), "achieved", lifecycle="entered-in-error")
    # G7: achieved, but its care plan was entered in error: excluded.
    goal(factory, care_plan(factory, g7, status="entered-in-error"), day(7, 12), "achieved")
    # G8: due June 30 and Aug 1, or with no target date: outside the period.
    plan8 = care_plan(factory, g8)
    goal(factory, plan8, day(6, 30), "achieved")
    goal(factory, plan8, day(8, 1), "achieved")
    goal(factory, plan8, None, "achieved")

    result = run(factory, settings, "goal-attainment", july)

    # Denominator G1, G2, G3, G4 = 4; numerator G1, G2 = 2; excluded G5, G6, G7 = 3.
    assert counts(result) == (2, 4, 3)
    assert result.rate == 0.5
    assert set(result.numerator_patients) == {g1, g2}
    assert set(result.denominator_patients) == {g1, g2, g4}
    assert sorted(c.on for c in result.cases) == [day(7, 1), day(7, 15), day(7, 20), day(7, 31)]


@pytest.fixture
def open_tasks(factory: sessionmaker[Session]) -> Iterator[list[uuid.UUID]]:
    """Open tasks made by a test, cancelled afterwards so no worker scan of overdue tasks in
    another test meets them."""
    made: list[uuid.UUID] = []
    yield made
    with unit_of_work(factory) as db:
        for task_id in made:
            task = db.get(Task, task_id)
            assert task is not None
            task.status = "cancelled"


def task(
    factory: sessionmaker[Session],
    patient_id: uuid.UUID | None,
    due_at: dt.datetime,
    status: str,
    completed_at: dt.datetime | None = None,
) -> uuid.UUID:
    with unit_of_work(factory) as db:
        made = Task(
            patient_id=patient_id,
            title="Call about the visit",
            kind="call",
            status=status,
            due_at=due_at,
            completed_at=completed_at,
            created_at=due_at - dt.timedelta(days=3),
        )
        db.add(made)
        db.flush()
        return made.id


def test_task_sla(
    factory: sessionmaker[Session], settings: Settings, open_tasks: list[uuid.UUID]
) -> None:
    september = month(9)
    t1, t2, t3, t4, t5, t6, t7, t9 = (new_patient(factory) for _ in range(8))
    # T1: due 00:30 CDT Sept 1 (first day), completed the evening before: met.
    task(factory, t1, at(9, 1, 0, 30), "completed", at(8, 31, 18))
    # T2: due Sept 10 17:00, completed at 17:00 exactly: met.
    task(factory, t2, at(9, 10, 17), "completed", at(9, 10, 17))
    # T3: due Sept 12 17:00, completed next morning: late.
    task(factory, t3, at(9, 12, 17), "completed", at(9, 13, 9))
    # T4: due Sept 14 and still open (overdue): not met.
    open_tasks.append(task(factory, t4, at(9, 14, 17), "in-progress"))
    # T5: due 23:30 CDT Sept 30 (Oct 1 UTC), a September task, failed: not met.
    task(factory, t5, at(9, 30, 23, 30), "failed")
    # T6 cancelled, T7 entered in error: excluded.
    task(factory, t6, at(9, 15, 17), "cancelled")
    task(factory, t7, at(9, 16, 17), "entered-in-error")
    # A team chore about no patient: not counted.
    task(factory, None, at(9, 17, 17), "completed", at(9, 17, 9))
    # T9: due 23:30 CDT Aug 31 (Sept 1 UTC): an August task.
    task(factory, t9, at(8, 31, 23, 30), "completed", at(8, 31, 9))

    result = run(factory, settings, "task-sla", september)

    # Denominator T1..T5 = 5; numerator T1, T2 = 2; excluded T6, T7 = 2.
    assert counts(result) == (2, 5, 2)
    assert set(result.numerator_patients) == {t1, t2}
    assert set(result.denominator_patients) == {t1, t2, t3, t4, t5}
    assert sorted(c.on for c in result.cases) == [
        day(9, 1),
        day(9, 10),
        day(9, 12),
        day(9, 14),
        day(9, 30),
    ]


def attempt(
    patient_id: uuid.UUID,
    occurred_at: dt.datetime,
    outcome: str,
    channel: str = "phone",
    direction: str = "outbound",
) -> OutreachAttempt:
    return OutreachAttempt(
        patient_id=patient_id,
        channel=channel,
        direction=direction,
        outcome=outcome,
        occurred_at=occurred_at,
        created_at=occurred_at,
    )


def test_outreach_success(factory: sessionmaker[Session], settings: Settings) -> None:
    october = month(10)
    x, y, z, w, v, u = (new_patient(factory) for _ in range(6))
    add(
        factory,
        # X: reached at 00:30 CDT Oct 1 (first day), voicemail Oct 5: one met of two.
        attempt(x, at(10, 1, 0, 30), "reached"),
        attempt(x, at(10, 5, 10), "voicemail"),
        # Z: answered and declined Oct 6: reached (someone answered).
        attempt(z, at(10, 6, 10), "declined"),
        # Y: a text sent one way Oct 7, a wrong number Oct 8: not reached.
        attempt(y, at(10, 7, 10), "sent", channel="sms"),
        attempt(y, at(10, 8, 10), "wrong-number"),
        # W called us back Oct 9: inbound, excluded.
        attempt(w, at(10, 9, 10), "reached", direction="inbound"),
        # V: a letter answered, logged 23:30 CDT Oct 31 (Nov 1 UTC): an October attempt, met.
        attempt(v, at(10, 31, 23, 30), "reached", channel="letter"),
        # U: reached 23:30 CDT Sept 30 (Oct 1 UTC): September.
        attempt(u, at(9, 30, 23, 30), "reached"),
    )

    result = run(factory, settings, "outreach-success", october)

    # Denominator: X twice, Z, Y twice, V = 6; reached X (Oct 1), Z, V = 3; W excluded.
    assert counts(result) == (3, 6, 1)
    assert result.rate == 0.5
    assert set(result.numerator_patients) == {x, z, v}
    assert set(result.denominator_patients) == {x, y, z, v}
    assert sorted(c.on for c in result.cases if c.met) == [day(10, 1), day(10, 6), day(10, 31)]


def screening(
    patient_id: uuid.UUID, on: dt.date, status: str = "completed", positive: bool = False
) -> Screening:
    return Screening(
        id=uuid.uuid4(),
        patient_id=patient_id,
        instrument="ahc-hrsn",
        instrument_version="2021",
        status=status,
        respondent="patient",
        language="en",
        mode="in-person",
        answers={},
        results=[],
        positive=positive,
        screened_at=dt.datetime.combine(on, dt.time(10), CHICAGO).astimezone(dt.UTC),
        screened_on=on,
        rescreen_due_on=on + dt.timedelta(days=365),
    )


def test_social_screening(factory: sessionmaker[Session], settings: Settings) -> None:
    clinic = Clinic(factory)
    october = month(10)
    # The look-back for a period ending Oct 31, 2007: Nov 1, 2006 to Oct 31, 2007.
    s1, s2, s3, s4, s5, s6, s7 = (new_patient(factory) for _ in range(7))
    # S1: seen Oct 3, screened Nov 1, 2006 (first day of the look-back): met.
    clinic.visit(s1, at(10, 3, 9))
    # S2: seen Oct 3 and Oct 20 (counted once, dated Oct 20, Bob's visit); screened
    # Oct 31, 2006, one day too early: not met.
    clinic.visit(s2, at(10, 3, 10))
    clinic.visit(s2, at(10, 20, 9), status="arrived", bob=True)
    # S3: checked in 23:30 CDT Oct 31 (Nov 1 UTC), an October visit; screened that day: met.
    clinic.visit(s3, at(10, 31, 23, 30), status="checked-in")
    # S4: seen Oct 10, its screening entered in error: not met.
    clinic.visit(s4, at(10, 10, 9))
    # S5: seen Oct 12, screened Nov 5, after the period: not met.
    clinic.visit(s5, at(10, 12, 9))
    # S6: a no-show: no visit took place, not in the denominator.
    clinic.visit(s6, at(10, 12, 10), status="noshow")
    # S7: seen 23:30 CDT Sept 30 (Oct 1 UTC): a September visit.
    clinic.visit(s7, at(9, 30, 23, 30))
    add(
        factory,
        screening(s1, day(11, 1, YEAR - 1)),
        screening(s2, day(10, 31, YEAR - 1)),
        screening(s3, day(10, 31)),
        screening(s4, day(10, 10), status="entered-in-error"),
        screening(s5, day(11, 5)),
        screening(s6, day(10, 12)),
        screening(s7, day(10, 1)),
    )

    result = run(factory, settings, "social-screening", october)

    # Denominator S1..S5 = 5 patients; screened in the look-back S1, S3 = 2.
    assert counts(result) == (2, 5, 0)
    assert set(result.numerator_patients) == {s1, s3}
    assert set(result.denominator_patients) == {s1, s2, s3, s4, s5}
    s2_case = next(c for c in result.cases if c.patient_id == s2)
    assert (s2_case.on, s2_case.provider_id, s2_case.location_id) == (
        day(10, 20),
        clinic.bob,
        clinic.south,
    )
    s3_case = next(c for c in result.cases if c.patient_id == s3)
    assert (s3_case.on, s3_case.met) == (day(10, 31), True)


def test_social_needs_met(factory: sessionmaker[Session], settings: Settings) -> None:
    november = month(11)
    n1, n2, n3, n4, n5, n6 = (new_patient(factory) for _ in range(6))
    found = [screening(p, day(11, 1), positive=True) for p in (n1, n2, n3, n4, n5, n6)]
    screenings = {s.patient_id: s.id for s in found}
    add(factory, *found)

    def need(
        patient_id: uuid.UUID, identified: dt.date, status: str, closed: dt.date | None = None
    ) -> SocialNeed:
        return SocialNeed(
            patient_id=patient_id,
            screening_id=screenings[patient_id],
            domain="food",
            status=status,
            identified_on=identified,
            closed_on=closed,
        )

    add(
        factory,
        # N1: identified Nov 1 (first day), addressed Nov 11: met, 10 days.
        need(n1, day(11, 1), "addressed", day(11, 11)),
        # N2: identified Nov 30 (last day), addressed Dec 2, after the period: met, 2 days.
        need(n2, day(11, 30), "addressed", day(12, 2)),
        # N3: identified Nov 5, still open: not met. A second need of N3, Nov 15, addressed
        # Nov 19: met, 4 days.
        need(n3, day(11, 5), "open"),
        need(n3, day(11, 15), "addressed", day(11, 19)),
        # N4: the patient declined help: excluded.
        need(n4, day(11, 6), "declined", day(11, 6)),
        # N5: entered in error with its screening: not counted at all.
        need(n5, day(11, 7), "entered-in-error", day(11, 8)),
        # N6: identified Oct 31: October.
        need(n6, day(10, 31), "addressed", day(11, 2)),
    )

    result = run(factory, settings, "needs-met", november)

    # Denominator N1, N2, N3 twice = 4; addressed N1, N2, N3's second = 3; N4 excluded.
    assert counts(result) == (3, 4, 1)
    assert result.rate == 0.75
    assert set(result.numerator_patients) == {n1, n2, n3}
    assert set(result.denominator_patients) == {n1, n2, n3}
    # Median days to address over the addressed ones: 10, 2, 4 -> 4.
    assert result.median_days == 4.0


@pytest.mark.parametrize(
    "key",
    [
        "no-show",
        "lead-time",
        "prior-auth-turnaround",
        "prior-auth-denial",
        "goal-attainment",
        "task-sla",
        "outreach-success",
        "social-screening",
        "needs-met",
    ],
)
def test_an_empty_period_has_no_rate(
    factory: sessionmaker[Session], settings: Settings, key: str
) -> None:
    # February 2007: nothing is dated then.
    result = run(factory, settings, key, month(2))
    assert (result.numerator, result.denominator, result.rate, result.median_days) == (
        0,
        0,
        None,
        None,
    )
    assert result.numerator_patients == result.denominator_patients == []
