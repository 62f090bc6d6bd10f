"""The discharge workflow through its hooks (and once through the ADT feed): the transition,
its tasks and their due dates, the risk, cancellation by A13 and reopening, admission notices
and the readmission link."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans import team
from carebridge.careplans.team_schemas import CareTeamMemberCreate
from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.models import Condition
from carebridge.patients.schemas import PatientCreate
from carebridge.scheduling.models import Holiday
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Notification, Task, TaskComment
from carebridge.tasks.schemas import TaskUpdate
from carebridge.transitions import inbox, workflow
from carebridge.transitions.models import Encounter, Hl7Message, Transition
from tests.factories import make_user

SYSTEM = Actor.system("test")
CHICAGO_CDT = dt.timezone(dt.timedelta(hours=-5))


def at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    """A Chicago summer (CDT) wall-clock time, in UTC."""
    return dt.datetime(year, month, day, hour, tzinfo=CHICAGO_CDT).astimezone(dt.UTC)


def new_patient(factory: sessionmaker[Session], coordinator: uuid.UUID | None = None) -> uuid.UUID:
    name = "Wf" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz", k=10))
    with unit_of_work(factory) as db:
        return patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=name,
                given_names="Ada",
                birth_date=dt.date(1948, 5, 6),
                sex="female",
                primary_coordinator_id=coordinator,
            ),
        ).id


def stay(factory: sessionmaker[Session], patient_id: uuid.UUID, **values: Any) -> uuid.UUID:
    fields: dict[str, Any] = {
        "facility": "GENERAL",
        "visit_number": uuid.uuid4().hex[:10],
        "class_code": "IMP",
        "status": "finished",
        "diagnoses": [],
    }
    fields.update(values)
    with unit_of_work(factory) as db:
        encounter = Encounter(patient_id=patient_id, **fields)
        db.add(encounter)
        db.flush()
        return encounter.id


def discharge(
    factory: sessionmaker[Session], settings: Settings, encounter_id: uuid.UUID
) -> uuid.UUID | None:
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, encounter_id)
        assert encounter is not None
        made = workflow.on_discharge(db, encounter, settings, dt.datetime.now(dt.UTC))
        return made.id if made is not None else None


def transition(factory: sessionmaker[Session], transition_id: uuid.UUID) -> Transition:
    with unit_of_work(factory, write=False) as db:
        found = db.get(Transition, transition_id)
        assert found is not None
        db.expunge(found)
        return found


def tasks_of(factory: sessionmaker[Session], transition_id: uuid.UUID) -> list[Task]:
    with unit_of_work(factory, write=False) as db:
        found = tasks.for_focus(db, "Transition", transition_id)
        for task in found:
            db.expunge(task)
        return found


def by_step(found: list[Task]) -> dict[str, Task]:
    return {str(t.dedupe_key).split(":")[2]: t for t in found if t.is_open}


def test_friday_discharge_before_labor_day(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    patient_id = new_patient(factory, coordinator.id)
    # An ED visit two months before (E = 1) and an active condition on the chart.
    stay(
        factory,
        patient_id,
        class_code="EMER",
        admit_at=at(2026, 7, 1, 9),
        discharge_at=at(2026, 7, 1, 15),
    )
    with unit_of_work(factory) as db:
        db.add(
            Condition(
                patient_id=patient_id,
                code_system="http://hl7.org/fhir/sid/icd-10-cm",
                code="E11.22",
                display="Type 2 diabetes mellitus with diabetic chronic kidney disease",
                clinical_status="active",
            )
        )
    # Emergency admission Monday 31 Aug 2026, discharged Friday 4 Sep 15:00; Monday 7 Sep
    # is Labor Day.
    encounter_id = stay(
        factory,
        patient_id,
        admission_type="E",
        admit_at=at(2026, 8, 31, 8),
        discharge_at=at(2026, 9, 4, 15),
        discharge_disposition="01",
        diagnoses=[
            {"code": "I50.9", "text": "Heart failure", "system": "ICD-10", "type": "A"},
            {"code": "J44.9", "text": "COPD", "system": "I10", "type": "F"},
            {"code": "428.0", "text": "CHF (ICD-9)", "system": "ICD-9", "type": "F"},
        ],
    )
    transition_id = discharge(factory, settings, encounter_id)
    assert transition_id is not None
    made = transition(factory, transition_id)
    assert made.status == "open"
    assert made.discharged_on == dt.date(2026, 9, 4)
    # Friday + 2 business days, skipping the weekend and Labor Day: Wednesday 9 Sep.
    assert made.contact_due_on == dt.date(2026, 9, 9)
    # L: 31 Aug -> 4 Sep = 4 days -> 4; A: emergency -> 3; C: CHF 1 + COPD 1 + diabetes with
    # complication 2 = 4 -> 5; E: 1 ED visit -> 1. LACE = 4 + 3 + 5 + 1 = 13.
    lace = made.risk["lace"]
    assert {k: v["points"] for k, v in lace["components"].items()} == {
        "L": 4,
        "A": 3,
        "C": 5,
        "E": 1,
    }
    assert made.lace_score == lace["score"] == 13
    assert made.risk["charlson"]["score"] == 4
    assert made.risk["hospital"]["computed"] is False
    assert "haemoglobin" in made.risk["hospital"]["reason"]
    assert made.complexity == "high"
    assert made.follow_up_due_on == dt.date(2026, 9, 11)
    assert set(made.checklist) == {"home-health", "equipment", "transport", "pharmacy"}
    steps = by_step(tasks_of(factory, transition_id))
    assert set(steps) == {"contact", "medications", "follow-up", "services", "summary"}
    contact = steps["contact"]
    # Due at the end of Wednesday 9 Sep in Chicago (23:59 CDT = 04:59 UTC on the 10th).
    assert contact.due_at.replace(tzinfo=dt.UTC) == dt.datetime(2026, 9, 10, 4, 59, tzinfo=dt.UTC)
    assert contact.priority == "urgent"
    assert contact.owner_id == coordinator.id
    assert contact.patient_id == patient_id
    assert steps["follow-up"].due_at.replace(tzinfo=dt.UTC) == dt.datetime(
        2026, 9, 12, 4, 59, tzinfo=dt.UTC
    )
    assert all(t.focus_type == "Transition" for t in steps.values())
    # Idempotent: the same discharge again changes nothing.
    assert discharge(factory, settings, encounter_id) == transition_id
    assert len(tasks_of(factory, transition_id)) == 5


def test_moderate_risk_elective_stay(factory: sessionmaker[Session], settings: Settings) -> None:
    patient_id = new_patient(factory)
    encounter_id = stay(
        factory,
        patient_id,
        admission_type="R",
        admit_at=at(2026, 3, 10, 9),
        discharge_at=at(2026, 3, 12, 11),
    )
    transition_id = discharge(factory, settings, encounter_id)
    assert transition_id is not None
    made = transition(factory, transition_id)
    # L 2 days = 2, A 0, C 0, E 0: LACE 2, moderate: visit within 14 days.
    assert made.lace_score == 2
    assert made.complexity == "moderate"
    assert made.contact_due_on == dt.date(2026, 3, 16)  # Thursday -> Friday, Monday
    assert made.follow_up_due_on == dt.date(2026, 3, 26)
    steps = by_step(tasks_of(factory, transition_id))
    assert steps["contact"].priority == "routine"
    assert steps["contact"].owner_id is None


def test_clinic_holiday_rows_and_settings_move_the_contact(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(factory) as db:
        if db.scalar(select(Holiday).where(Holiday.day == dt.date(2030, 6, 11))) is None:
            db.add(Holiday(day=dt.date(2030, 6, 11), name="Clinic retreat"))
    closed = settings.model_copy(update={"clinic_holidays": [dt.date(2030, 6, 12)]})
    patient_id = new_patient(factory)
    encounter_id = stay(
        factory,
        patient_id,
        admit_at=at(2030, 6, 8, 9),
        discharge_at=at(2030, 6, 10, 11),  # Monday
    )
    transition_id = discharge(factory, closed, encounter_id)
    assert transition_id is not None
    # Tuesday (clinic retreat) and Wednesday (settings) are closed: Thursday, Friday.
    assert transition(factory, transition_id).contact_due_on == dt.date(2030, 6, 14)


def test_cancelled_discharge_cancels_and_a_later_discharge_reopens(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = new_patient(factory)
    encounter_id = stay(
        factory, patient_id, admit_at=at(2026, 4, 6, 9), discharge_at=at(2026, 4, 8, 10)
    )
    transition_id = discharge(factory, settings, encounter_id)
    assert transition_id is not None
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, encounter_id)
        assert encounter is not None
        encounter.status, encounter.discharge_at = "in-progress", None
        workflow.on_discharge_cancelled(db, encounter, settings, dt.datetime.now(dt.UTC))
        # A second A13 changes nothing more.
        workflow.on_discharge_cancelled(db, encounter, settings, dt.datetime.now(dt.UTC))
    assert transition(factory, transition_id).status == "cancelled"
    first = tasks_of(factory, transition_id)
    assert len(first) == 5
    assert {t.status for t in first} == {"cancelled"}
    with unit_of_work(factory, write=False) as db:
        notes = db.scalars(select(TaskComment.text).where(TaskComment.task_id == first[0].id))
        assert any("A13" in note for note in notes)
    # Discharged again, two days later.
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, encounter_id)
        assert encounter is not None
        encounter.status, encounter.discharge_at = "finished", at(2026, 4, 10, 10)
    assert discharge(factory, settings, encounter_id) == transition_id
    again = transition(factory, transition_id)
    assert again.status == "open"
    assert again.discharged_on == dt.date(2026, 4, 10)
    assert again.contact_due_on == dt.date(2026, 4, 14)  # Friday -> Monday, Tuesday
    found = tasks_of(factory, transition_id)
    assert len(found) == 10
    assert len(by_step(found)) == 5


def test_admission_notifies_the_team_and_a_readmission_is_linked(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    nurse = make_user(factory, Role.CLINICIAN)
    patient_id = new_patient(factory, coordinator.id)
    with unit_of_work(factory) as db:
        team.add_member(
            db,
            SYSTEM,
            patient_id,
            CareTeamMemberCreate(
                member_kind="staff", role="nurse", user_id=nurse.id, start_on=dt.date(2020, 1, 1)
            ),
        )
    first_id = stay(
        factory, patient_id, admit_at=at(2026, 5, 4, 9), discharge_at=at(2026, 5, 6, 12)
    )
    first_transition = discharge(factory, settings, first_id)
    assert first_transition is not None
    # Admitted again 12 days after that discharge.
    second_id = stay(
        factory,
        patient_id,
        status="in-progress",
        admit_at=at(2026, 5, 18, 22),
        location="4E^412^B",
    )
    for _ in range(2):  # the A01 resent: still one notice each, one task
        with unit_of_work(factory) as db:
            encounter = db.get(Encounter, second_id)
            assert encounter is not None
            workflow.on_admit(db, encounter, settings, at(2026, 5, 18, 22))
    with unit_of_work(factory, write=False) as db:
        second = db.get(Encounter, second_id)
        assert second is not None
        assert second.readmission_of_id == first_id
        told = db.scalars(
            select(Notification.user_id).where(Notification.dedupe_key.like(f"admit:{second_id}:%"))
        ).all()
        assert sorted(told) == sorted([coordinator.id, nurse.id])
        note = db.scalar(select(Notification).where(Notification.user_id == nurse.id))
        assert note is not None
        assert "admitted to 4E^412^B" in note.text
        assert "readmission" in note.text
        flagged = db.scalars(
            select(Task).where(Task.dedupe_key == f"readmission:{second_id}")
        ).all()
        assert len(flagged) == 1
        assert flagged[0].priority == "urgent"
        assert (flagged[0].focus_type, flagged[0].focus_id) == ("Transition", first_transition)
    assert transition(factory, first_transition).risk["readmitted_as"] == str(second_id)
    # Its discharge: a readmission, so high complexity and urgent contact whatever LACE says.
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, second_id)
        assert encounter is not None
        encounter.status, encounter.discharge_at = "finished", at(2026, 5, 20, 10)
    second_transition = discharge(factory, settings, second_id)
    assert second_transition is not None
    made = transition(factory, second_transition)
    assert made.readmission is True
    assert made.complexity == "high"
    assert made.follow_up_due_on == dt.date(2026, 5, 27)
    assert by_step(tasks_of(factory, second_transition))["contact"].priority == "urgent"


def test_no_follow_up_for_others(factory: sessionmaker[Session], settings: Settings) -> None:
    patient_id = new_patient(factory)
    died = stay(
        factory,
        patient_id,
        admit_at=at(2026, 6, 1),
        discharge_at=at(2026, 6, 3),
        discharge_disposition="20",
    )
    assert discharge(factory, settings, died) is None
    clinic = stay(
        factory, patient_id, class_code="AMB", admit_at=at(2026, 6, 5), discharge_at=at(2026, 6, 5)
    )
    assert discharge(factory, settings, clinic) is None
    # A chart the feed registered and nobody has reviewed yet is not on our panel.
    stranger = new_patient(factory)
    with unit_of_work(factory) as db:
        review = tasks.create(
            db,
            SYSTEM,
            title="Review chart",
            patient_id=stranger,
            dedupe_key=f"hl7-new-chart:{stranger}",
        )
        review_id = review.id
    unreviewed = stay(factory, stranger, admit_at=at(2026, 6, 1), discharge_at=at(2026, 6, 3))
    assert discharge(factory, settings, unreviewed) is None
    with unit_of_work(factory) as db:
        tasks.update(db, SYSTEM, review_id, TaskUpdate(status="completed"), version=1)
    assert discharge(factory, settings, unreviewed) is not None


def test_unknown_admission_time_names_what_is_missing(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = new_patient(factory)
    encounter_id = stay(factory, patient_id, admit_at=None, discharge_at=at(2026, 6, 10))
    transition_id = discharge(factory, settings, encounter_id)
    assert transition_id is not None
    made = transition(factory, transition_id)
    assert made.lace_score is None
    assert made.risk["lace"]["reason"] == "not computed: admission time"
    assert made.complexity == "moderate"


def test_discharge_through_the_feed_with_labs(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    pid, visit = uuid.uuid4().hex[:10].upper(), uuid.uuid4().hex[:10].upper()

    def adt(event: str, extra: list[str], discharge_time: str = "") -> str:
        pv1 = ["PV1", "1", "I", "5W^501^A"] + [""] * 42
        pv1[4], pv1[10], pv1[19], pv1[36] = "E", "ONC", visit, "01" if discharge_time else ""
        pv1[44], pv1[45] = "20260601080000-0500", discharge_time
        return "\r".join(
            [
                f"MSH|^~\\&|ADT1|GENERAL|CB|CB|20260601080000-0500||ADT^{event}|"
                f"{uuid.uuid4().hex[:12]}|P|2.5.1",
                f"EVN|{event}|20260601080000-0500",
                f"PID|1||{pid}^^^GEN^MR||{pid}^Lab||19500101|M",
                "|".join(pv1),
                *extra,
            ]
        )

    with unit_of_work(factory) as db:
        admitted = inbox.receive(db, adt("A01", []), source="file", peer="t", settings=settings)
    assert admitted.code == "AA", admitted.error
    with unit_of_work(factory) as db:
        message = db.get(Hl7Message, admitted.message_id)
        assert message is not None
        assert message.patient_id is not None
        patient_id = message.patient_id
        review = db.scalar(select(Task).where(Task.dedupe_key == f"hl7-new-chart:{patient_id}"))
        assert review is not None
        tasks.update(db, SYSTEM, review.id, TaskUpdate(status="completed"), version=review.version)
    labs = [
        "OBX|1|NM|718-7^Hemoglobin^LN||10.9|g/dL|||||F",
        "OBX|2|NM|2951-2^Sodium^LN||138|mmol/L|||||F",
    ]
    with unit_of_work(factory) as db:
        discharged = inbox.receive(
            db, adt("A03", labs, "20260607140000-0500"), source="file", peer="t", settings=settings
        )
    assert discharged.code == "AA", discharged.error
    with unit_of_work(factory, write=False) as db:
        found = db.scalar(select(Transition).where(Transition.patient_id == patient_id))
        assert found is not None
        score = found.risk["hospital"]
        # H 1 (10.9) + O 2 (ONC) + S 0 (138) + P 0 (none reported) + I 1 (E) + T 0
        # + A 2 (6 days) = 6.
        assert score["computed"] is True
        assert score["score"] == 6
        assert score["band"] == "Intermediate"
        # LACE: 6 days -> 4, emergency 3, Charlson 0, no ED visits: 7.
        assert found.lace_score == 7
        assert found.contact_due_on == dt.date(2026, 6, 9)  # Sunday 7 June -> Mon, Tue


def test_emergency_visit_changed_to_inpatient_is_acute(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = new_patient(factory)
    # ED visits: 7 months before (outside the 6 months: not counted), 3 months before
    # (counted), and the ED visit the evening before admission (it led to the admission: not
    # counted among earlier visits).
    for start in (at(2025, 11, 1), at(2026, 3, 1), at(2026, 6, 14, 20)):
        stay(factory, patient_id, class_code="EMER", admit_at=start, discharge_at=start)
    # The stay starts as an emergency visit and is changed to inpatient (A06).
    encounter_id = stay(
        factory, patient_id, class_code="EMER", status="in-progress", admit_at=at(2026, 6, 15, 2)
    )
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, encounter_id)
        assert encounter is not None
        encounter.class_code = "IMP"
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, encounter_id)
        assert encounter is not None
        encounter.status, encounter.discharge_at = "finished", at(2026, 6, 16, 10)
    with unit_of_work(factory, write=False) as db:
        encounter = db.get(Encounter, encounter_id)
        assert encounter is not None
        assert workflow.was_emergency(db, encounter)  # from the stay's own history
    transition_id = discharge(factory, settings, encounter_id)
    assert transition_id is not None
    lace = transition(factory, transition_id).risk["lace"]["components"]
    # L 1 day = 1, A acute (began in the ED) = 3, C 0, E 1 earlier ED visit = 1: 5.
    assert (lace["L"]["points"], lace["A"]["points"], lace["C"]["points"]) == (1, 3, 0)
    assert (lace["E"]["value"], lace["E"]["points"]) == (1, 1)
