"""Registries against a real database: who is in each kind, on hand-built patients whose
expected members are worked out here (boundaries: a result exactly N months ago, a value
exactly 9.0 %), the screens (form errors named, list, audit per patient shown, export) and
bulk task creation (idempotent while the task is open)."""

from __future__ import annotations

import datetime as dt
import html
import random
import secrets
import string
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans.models import CarePlan, Goal, GoalMeasurement
from carebridge.db.session import unit_of_work
from carebridge.fhir.imports import Entry, Summary, import_entries
from carebridge.fhir.models import FhirSourceId
from carebridge.patients import service as patients
from carebridge.patients.models import Condition, Patient
from carebridge.patients.schemas import PatientCreate
from carebridge.patients.terminology import ICD10CM
from carebridge.registries import kinds, service, synthetic
from carebridge.registries.models import Registry, RegistryTask
from carebridge.scheduling.models import Appointment, AppointmentType, Location, Practitioner
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Notification, Task
from carebridge.tasks.schemas import TaskCreate
from carebridge.transitions.models import Encounter, Transition
from tests.factories import csrf_from, make_user, sign_in

SYSTEM = Actor.system("test")


def _name() -> str:
    return "Rg" + "".join(random.choices(string.ascii_lowercase, k=9))


def new_patient(factory: sessionmaker[Session], coordinator: uuid.UUID) -> uuid.UUID:
    with unit_of_work(factory) as db:
        return patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=_name().capitalize(),
                given_names="Ada",
                birth_date=dt.date(1958, 5, 6),
                sex="female",
                primary_coordinator_id=coordinator,
            ),
        ).id


def problem(
    factory: sessionmaker[Session], patient_id: uuid.UUID, code: str, status: str = "active"
) -> None:
    with unit_of_work(factory) as db:
        db.add(
            Condition(
                patient_id=patient_id,
                code_system=ICD10CM,
                code=code,
                display="Diabetes mellitus",
                clinical_status=status,
            )
        )


def lab_a1c(
    factory: sessionmaker[Session],
    patient_id: uuid.UUID,
    day: dt.date,
    value: float,
    loinc: str = "4548-4",
) -> None:
    """An HbA1c received from a lab through the FHIR importer (date-only effective)."""
    ident = str(uuid.uuid4())
    resource = {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": "HbA1c"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": day.isoformat(),
        "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org"},
    }
    with unit_of_work(factory) as db:
        entry = Entry(resource, f"urn:uuid:{ident}", "test entry")
        import_entries(db, SYSTEM, [entry], "test-lab", Summary(), "test")


def care_plan(
    factory: sessionmaker[Session], patient_id: uuid.UUID, status: str = "active"
) -> uuid.UUID:
    with unit_of_work(factory) as db:
        plan = CarePlan(
            patient_id=patient_id, title="Diabetes", status=status, start_on=dt.date(2026, 1, 5)
        )
        db.add(plan)
        db.flush()
        return plan.id


def goal_a1c(
    factory: sessionmaker[Session], patient_id: uuid.UUID, day: dt.date, value: str
) -> None:
    plan_id = care_plan(factory, patient_id, status="completed")
    with unit_of_work(factory) as db:
        goal = Goal(care_plan_id=plan_id, description="HbA1c below 7 %", measure="HbA1c", unit="%")
        db.add(goal)
        db.flush()
        db.add(GoalMeasurement(goal_id=goal.id, value=value, measured_on=day))


def coordinator(factory: sessionmaker[Session]) -> uuid.UUID:
    return make_user(factory, Role.COORDINATOR).id


def ctx_for(settings: Settings) -> kinds.Context:
    return service.context(settings)


def found(
    factory: sessionmaker[Session], settings: Settings, kind: str, values: dict[str, Any]
) -> dict[uuid.UUID, kinds.Why]:
    with unit_of_work(factory, write=False) as db:
        return kinds.find(db, ctx_for(settings), kind, kinds.validate(kind, values))


def counted(
    factory: sessionmaker[Session], settings: Settings, kind: str, values: dict[str, Any]
) -> int:
    """What the list of registries shows: counted in SQL where the kind can."""
    with unit_of_work(factory, write=False) as db:
        return kinds.count(db, ctx_for(settings), kind, kinds.validate(kind, values))


# --- diabetes ----------------------------------------------------------------------------------


def test_diabetes_gap_boundaries(factory: sessionmaker[Session], settings: Settings) -> None:
    owner = coordinator(factory)
    ctx = ctx_for(settings)
    six_months = ctx.months_back(6)
    last_month = ctx.today - dt.timedelta(days=30)
    made: dict[str, uuid.UUID] = {}
    for label in "ABCDEFGHI":
        made[label] = new_patient(factory, owner)
    # A: exactly six months ago, 8.0: still within the last six months, not high.
    problem(factory, made["A"], "E11.9")
    lab_a1c(factory, made["A"], six_months, 8.0)
    # B: a day earlier: overdue.
    problem(factory, made["B"], "E11.65")
    lab_a1c(factory, made["B"], six_months - dt.timedelta(days=1), 8.0)
    # C: exactly 9.0 last month (LOINC 17856-6): not above 9.
    problem(factory, made["C"], "E10.9")
    lab_a1c(factory, made["C"], last_month, 9.0, loinc="17856-6")
    # D: 9.1 last month (LOINC 4549-2): above 9.
    problem(factory, made["D"], "E13.9")
    lab_a1c(factory, made["D"], last_month, 9.1, loinc="4549-2")
    # E: diabetic, never tested.
    problem(factory, made["E"], "E11.9")
    # F: no diabetes (hypertension), no result.
    problem(factory, made["F"], "I10")
    # G: diabetes resolved.
    problem(factory, made["G"], "E11.9", status="resolved")
    # H: lab 7.0 five months ago, then a goal reading 9.5 two months ago: the later counts.
    problem(factory, made["H"], "E11.9")
    lab_a1c(factory, made["H"], ctx.months_back(5), 7.0)
    goal_a1c(factory, made["H"], ctx.months_back(2), "9.5")
    # I: lab 9.8 three months ago, then a goal reading 7.2 last week: controlled now.
    problem(factory, made["I"], "E11.9")
    lab_a1c(factory, made["I"], ctx.months_back(3), 9.8)
    goal_a1c(factory, made["I"], ctx.today - dt.timedelta(days=7), "7.2")

    members = found(
        factory,
        settings,
        "diabetes-a1c",
        {"months": "6", "above": "9", "coordinator_id": str(owner)},
    )
    assert set(members) == {made["B"], made["D"], made["E"], made["H"]}
    assert members[made["D"]].cells == (9.1, last_month, "lab result")
    assert members[made["H"]].cells == (9.5, ctx.months_back(2), "goal measurement")
    assert members[made["E"]].said == "No HbA1c on record."
    assert "more than 6 months ago" in members[made["B"]].said

    # Other thresholds move the boundaries: above 8.9 takes in C too; 5 months drops A's
    # result out of the window, so A is overdue.
    wider = found(
        factory,
        settings,
        "diabetes-a1c",
        {"months": "5", "above": "8.9", "coordinator_id": str(owner)},
    )
    assert set(wider) == {made["A"], made["B"], made["C"], made["D"], made["E"], made["H"]}


# --- no primary care visit ---------------------------------------------------------------------


def visit(
    db: Session,
    patient_id: uuid.UUID,
    doctor: uuid.UUID,
    place: uuid.UUID,
    kind: uuid.UUID,
    starts: dt.datetime,
    status: str = "fulfilled",
) -> None:
    db.add(
        Appointment(
            patient_id=patient_id,
            practitioner_id=doctor,
            location_id=place,
            appointment_type_id=kind,
            starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=20),
            held_until=starts + dt.timedelta(minutes=20),
            status=status,
            modality="in-person",
            patient_token=secrets.token_hex(16),
        )
    )


def test_no_pcp_visit_boundaries(factory: sessionmaker[Session], settings: Settings) -> None:
    owner = coordinator(factory)
    ctx = ctx_for(settings)
    zone = ZoneInfo(ctx.zone)
    made = {
        label: new_patient(factory, owner)
        for label in ("exact", "older", "cardio", "booked", "recent", "none")
    }
    with unit_of_work(factory) as db:
        family = Practitioner(name="Dr Family", specialties=["family-medicine"])
        heart = Practitioner(name="Dr Heart", specialties=["cardiology"])
        place = Location(name="Main " + _name(), timezone=ctx.zone)
        kind = AppointmentType(
            code=_name(), name="Visit", duration_minutes=20, modality="in-person"
        )
        db.add_all([family, heart, place, kind])
        db.flush()
        year_ago = ctx.months_back(12)
        at_nine = dt.datetime.combine(year_ago, dt.time(9, 0), zone)
        visit(db, made["exact"], family.id, place.id, kind.id, at_nine)
        visit(db, made["older"], family.id, place.id, kind.id, at_nine - dt.timedelta(days=1))
        month_ago = at_nine + dt.timedelta(days=330)
        visit(db, made["cardio"], heart.id, place.id, kind.id, month_ago)
        later = month_ago + dt.timedelta(hours=1)
        visit(db, made["booked"], family.id, place.id, kind.id, later, status="booked")
        visit(db, made["recent"], family.id, place.id, kind.id, month_ago)
    members = found(
        factory, settings, "no-pcp-visit", {"months": "12", "coordinator_id": str(owner)}
    )
    assert set(members) == {made["older"], made["cardio"], made["booked"], made["none"]}
    assert members[made["older"]].on == year_ago - dt.timedelta(days=1)
    assert members[made["none"]].on is None
    assert counted(
        factory, settings, "no-pcp-visit", {"months": "12", "coordinator_id": str(owner)}
    ) == len(members)
    # The age filter: nobody aged 0 to 30 (all were born in 1958).
    young = found(
        factory,
        settings,
        "no-pcp-visit",
        {"months": "12", "coordinator_id": str(owner), "age_min": "0", "age_max": "30"},
    )
    assert young == {}


# --- high risk without a care plan -------------------------------------------------------------


def stay(db: Session, patient_id: uuid.UUID, admit: dt.datetime, cls: str = "IMP") -> uuid.UUID:
    encounter = Encounter(
        patient_id=patient_id,
        facility="GENERAL",
        visit_number=uuid.uuid4().hex[:10],
        class_code=cls,
        status="finished",
        admit_at=admit,
        discharge_at=admit + dt.timedelta(days=2),
        diagnoses=[],
    )
    db.add(encounter)
    db.flush()
    return encounter.id


def test_high_risk_without_plan(factory: sessionmaker[Session], settings: Settings) -> None:
    owner = coordinator(factory)
    ctx = ctx_for(settings)
    now = dt.datetime.now(dt.UTC)
    made = {
        label: new_patient(factory, owner) for label in ("two", "planned", "lace", "one", "old")
    }
    care_plan(factory, made["planned"])
    with unit_of_work(factory) as db:
        for label in ("two", "planned"):
            stay(db, made[label], now - dt.timedelta(days=40))
            stay(db, made[label], now - dt.timedelta(days=100), cls="EMER")
        encounter = stay(db, made["lace"], now - dt.timedelta(days=20), cls="EMER")
        day = ctx.today - dt.timedelta(days=18)
        db.add(
            Transition(
                patient_id=made["lace"],
                encounter_id=encounter,
                discharged_on=day,
                contact_due_on=day,
                follow_up_due_on=day,
                lace_score=12,
            )
        )
        stay(db, made["one"], now - dt.timedelta(days=10))
        stay(db, made["old"], now - dt.timedelta(days=10))
        stay(db, made["old"], now - dt.timedelta(days=400))
    members = found(
        factory,
        settings,
        "high-risk-no-plan",
        {"months": "12", "stays": "2", "lace": "10", "coordinator_id": str(owner)},
    )
    assert set(members) == {made["two"], made["lace"]}
    assert members[made["two"]].cells[0] == 2
    assert members[made["lace"]].cells[2] == 12
    assert members[made["lace"]].said == "LACE score 12; no active care plan."
    assert counted(
        factory,
        settings,
        "high-risk-no-plan",
        {"months": "12", "stays": "2", "lace": "10", "coordinator_id": str(owner)},
    ) == len(members)
    stays_only = found(
        factory,
        settings,
        "high-risk-no-plan",
        {"months": "12", "stays": "1", "lace": "", "coordinator_id": str(owner)},
    )
    assert set(stays_only) == {made["two"], made["lace"], made["one"], made["old"]}
    assert counted(
        factory,
        settings,
        "high-risk-no-plan",
        {"months": "12", "stays": "1", "lace": "", "coordinator_id": str(owner)},
    ) == len(stays_only)


def test_planned_admission_is_not_a_past_stay(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    """A stay booked for next month is not one of the stays "in the last N months"."""
    owner = coordinator(factory)
    now = dt.datetime.now(dt.UTC)
    booked, twice = new_patient(factory, owner), new_patient(factory, owner)
    with unit_of_work(factory) as db:
        stay(db, booked, now - dt.timedelta(days=10))
        ahead = db.get(Encounter, stay(db, booked, now + dt.timedelta(days=30)))
        assert ahead is not None
        ahead.status, ahead.discharge_at = "planned", None
        stay(db, twice, now - dt.timedelta(days=10))
        stay(db, twice, now - dt.timedelta(days=50))
    values = {"months": "12", "stays": "2", "lace": "", "coordinator_id": str(owner)}
    members = found(factory, settings, "high-risk-no-plan", values)
    assert set(members) == {twice}
    assert counted(factory, settings, "high-risk-no-plan", values) == 1


def test_validation_names_fields() -> None:
    try:
        kinds.validate(
            "diabetes-a1c", {"months": "abc", "above": "30", "age_min": "50", "age_max": "40"}
        )
    except Exception as exc:
        fields = getattr(exc, "fields", {})
    else:
        raise AssertionError("accepted bad settings")
    assert fields["months"] == "Enter a number."
    assert fields["above"] == "Enter a number from 4 to 20."
    assert fields["age_max"] == "The upper age must not be below the lower one."
    good = kinds.validate(
        "diabetes-a1c", {"months": "6", "above": "9.0", "age_min": "18", "age_max": "75"}
    )
    assert good == {"months": 6, "above": 9.0, "age_min": 18, "age_max": 75, "coordinator_id": None}


# --- the screens ---------------------------------------------------------------------------------


def post(client: TestClient, path: str, page: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_from(client.get(page))})


def test_screens_and_bulk_tasks(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    gaps = [new_patient(factory, user.id) for _ in range(3)]
    for patient_id in gaps:
        problem(factory, patient_id, "E11.9")  # never tested: all three are in

    assert "Diabetes: HbA1c overdue or above 9 %" in html.unescape(client.get("/registries").text)

    page = "/registries/new?kind=diabetes-a1c"
    bad = post(
        client,
        "/registries/new",
        page,
        {"kind": "diabetes-a1c", "name": "", "months": "x", "above": "9"},
    )
    assert bad.status_code == 422
    shown = html.unescape(bad.text)
    assert "Enter a name for the registry." in shown
    assert 'id="f-reg-months"' in bad.text
    assert "Enter a number." in shown
    name = "Mine " + _name()
    good = post(
        client,
        "/registries/new",
        page,
        {
            "kind": "diabetes-a1c",
            "name": name,
            "months": "6",
            "above": "9",
            "coordinator_id": str(user.id),
        },
    )
    assert good.status_code == 303
    with unit_of_work(factory, write=False) as db:
        registry = db.scalars(select(Registry).where(Registry.name == name)).one()
    where = f"/registries/{registry.id}"
    assert good.headers["location"] == where

    listed = client.get(where + "?sort=mrn&order=desc")
    assert listed.status_code == 200
    assert "3 patients now" in html.unescape(listed.text).replace("</strong>", "").replace(
        "<strong>", ""
    )
    for patient_id in gaps:
        assert f'href="/patients/{patient_id}"' in listed.text
    with unit_of_work(factory, write=False) as db:
        reads = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_id == str(registry.id), AuditEvent.action == "read")
        )
    assert reads == 3

    csv = client.get(where + "/export?format=csv")
    assert csv.status_code == 200
    assert "Last HbA1c (%)" in csv.text
    assert "No HbA1c on record." in csv.text
    xlsx = client.get(where + "/export?format=xlsx")
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"

    missing = post(client, where + "/tasks", where, {"all": "yes", "title": ""})
    assert missing.status_code == 422
    assert "Enter a title for the tasks." in html.unescape(missing.text)

    order = {
        "title": "Order HbA1c",
        "priority": "routine",
        "kind": "outreach",
        "assign": f"user:{user.id}",
    }
    chosen = client.post(
        where + "/tasks",
        data={**order, "patient": [str(gaps[0])], "csrf_token": csrf_from(client.get(where))},
    )
    assert chosen.status_code == 303
    assert "1 task created" in client.get(where).text
    every = post(client, where + "/tasks", where, {**order, "all": "yes"})
    assert every.status_code == 303
    assert "2 tasks created; 1 skipped" in html.unescape(client.get(where).text)
    again = post(client, where + "/tasks", where, {**order, "all": "yes"})
    assert again.status_code == 303
    assert "0 tasks created; 3 skipped" in html.unescape(client.get(where).text)
    with unit_of_work(factory) as db:
        links = db.scalars(
            select(RegistryTask).where(RegistryTask.registry_id == registry.id)
        ).all()
        assert sorted(link.patient_id for link in links) == sorted(gaps)
        first = db.get(Task, links[0].task_id)
        assert first is not None
        assert (first.title, first.owner_id, first.kind) == ("Order HbA1c", user.id, "outreach")
        first.status = "completed"  # a closed task no longer blocks a new one
    after = post(client, where + "/tasks", where, {**order, "all": "yes"})
    assert after.status_code == 303
    assert "1 task created; 2 skipped" in html.unescape(client.get(where).text)


def test_viewer_without_manage_cannot_save(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    clinician = make_user(factory, Role.CLINICIAN)
    assert sign_in(client, clinician.username).status_code == 303
    assert client.get("/registries").status_code == 200
    assert client.get("/registries/new").status_code == 403


def test_demo_results_seed_once(factory: sessionmaker[Session], settings: Settings) -> None:
    owner = coordinator(factory)
    for _ in range(10):
        problem(factory, new_patient(factory, owner), "E11.9")
    with unit_of_work(factory) as db:
        made = synthetic.seed(db, settings, seed=3)
    assert made > 0
    with unit_of_work(factory) as db:
        stored = db.scalar(
            select(func.count())
            .select_from(FhirSourceId)
            .where(FhirSourceId.namespace == synthetic.SENDER)
        )
        assert stored == made
        assert synthetic.seed(db, settings, seed=3) == 0


# --- bulk tasks: a bounded run, one notice per assignee -------------------------------------------


def notices(factory: sessionmaker[Session], user_id: uuid.UUID) -> list[str]:
    with unit_of_work(factory, write=False) as db:
        return list(
            db.scalars(
                select(Notification.text)
                .where(Notification.user_id == user_id)
                .order_by(Notification.created_at)
            )
        )


def test_create_by_hand_can_leave_the_notice_to_the_caller(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    maker, owner = make_user(factory, Role.COORDINATOR), make_user(factory, Role.COORDINATOR)
    actor = Actor(maker.id, maker.username, maker.role)
    patient_id = new_patient(factory, owner.id)
    data = TaskCreate(title="Call back", patient_id=patient_id, owner_id=owner.id)
    with unit_of_work(factory) as db:
        tasks.create_by_hand(db, actor, data, zone=settings.timezone, notify_owner=False)
    assert notices(factory, owner.id) == []
    with unit_of_work(factory) as db:
        tasks.create_by_hand(db, actor, data, zone=settings.timezone)
    assert notices(factory, owner.id) == [f"{maker.username} gave you a task: Call back"]


def test_bulk_run_is_capped_and_tells_the_assignee_once(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    maker, owner = make_user(factory, Role.COORDINATOR), make_user(factory, Role.COORDINATOR)
    actor = Actor(maker.id, maker.username, maker.role)
    gaps = [new_patient(factory, owner.id) for _ in range(3)]
    for patient_id in gaps:
        problem(factory, patient_id, "E11.9")
    with unit_of_work(factory) as db:
        registry = service.create(
            db,
            actor,
            service.Draft(
                "Bulk " + _name(),
                "diabetes-a1c",
                "",
                {"months": "6", "above": "9", "coordinator_id": str(owner.id)},
            ),
        )
        names = {
            p.id: f"{p.family_name}, {p.given_names}".lower()
            for p in db.scalars(select(Patient).where(Patient.id.in_(gaps)))
        }
    by_name = sorted(gaps, key=names.__getitem__)
    template = TaskCreate(title="Order HbA1c", kind="outreach", owner_id=owner.id)
    ctx = ctx_for(settings)
    with unit_of_work(factory) as db:
        first = service.bulk_tasks(db, actor, ctx, registry.id, None, template, limit=2)
    assert first == service.BulkOutcome(created=2, skipped=0, gone=0, left=1)
    with unit_of_work(factory, write=False) as db:
        raised = set(
            db.scalars(
                select(RegistryTask.patient_id).where(RegistryTask.registry_id == registry.id)
            )
        )
    assert raised == set(by_name[:2])  # the first two in the list's order
    said = f"{maker.username} gave you 2 tasks from the registry {registry.name}: Order HbA1c"
    assert notices(factory, owner.id) == [said]  # one notice for the run, not one per task
    with unit_of_work(factory) as db:
        second = service.bulk_tasks(db, actor, ctx, registry.id, None, template, limit=2)
    assert second == service.BulkOutcome(created=1, skipped=2, gone=0, left=0)
    assert len(notices(factory, owner.id)) == 2
    with unit_of_work(factory) as db:
        third = service.bulk_tasks(db, actor, ctx, registry.id, None, template, limit=2)
    assert third == service.BulkOutcome(created=0, skipped=3, gone=0, left=0)
    assert len(notices(factory, owner.id)) == 2  # nothing raised, nobody told
    assert service.BULK_LIMIT == 500


def test_edit_needs_the_version_read(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    with unit_of_work(factory) as db:
        registry = service.create(
            db,
            Actor(user.id, user.username, user.role),
            service.Draft("Versioned " + _name(), "no-pcp-visit", "", {"months": "12"}),
        )
        version = registry.version
    where = f"/registries/{registry.id}/edit"
    typed = {"name": registry.name, "months": "18"}
    missing = post(client, where, where, typed)
    assert missing.status_code == 422
    assert "Open the registry again and make your change." in html.unescape(missing.text)
    stale = post(client, where, where, {**typed, "version": str(version + 1)})
    assert stale.status_code == 409
    assert "was changed by someone else" in html.unescape(stale.text)
    good = post(client, where, where, {**typed, "version": str(version)})
    assert good.status_code == 303
    with unit_of_work(factory, write=False) as db:
        saved = db.get(Registry, registry.id)
        assert saved is not None
        assert saved.parameters["months"] == 18
