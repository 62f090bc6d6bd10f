"""The synthetic clinic: the generator is deterministic and its values pass our own validation;
its planned visits never overlap; written to SQLite and PostgreSQL, the services find free
times in it and refuse its booked ones, and the database holds no double booking; the demo
seeds a clinic, and `carebridge demo --no-serve` works on a fresh database."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from carebridge import demo
from carebridge.db.history import RecordVersion
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.checksums import npi_is_valid
from carebridge.lib.time import utcnow
from carebridge.patients import bulk
from carebridge.patients import synthetic as people
from carebridge.scheduling import availability, service
from carebridge.scheduling import synthetic as clinics
from carebridge.scheduling.codes import SPECIALTIES
from carebridge.scheduling.models import Appointment, Practitioner, WaitlistEntry
from carebridge.scheduling.schemas import (
    AppointmentTypeCreate,
    AvailabilityRuleCreate,
    BookIn,
    PractitionerCreate,
    SlotQuery,
)
from carebridge.security.audit import Actor
from tests.conftest import BACKENDS, fresh_database, make_settings
from tests.integration.test_cli import run

ACTOR = Actor(user_id=None, username="clinic-test", role="coordinator")
CHICAGO = ZoneInfo("America/Chicago")
START = dt.date(2026, 11, 30)  # a Monday; the pure tests do not depend on today
HOLDING = "('proposed', 'pending', 'booked', 'arrived', 'checked-in', 'fulfilled')"


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=CHICAGO).astimezone(dt.UTC)


# --- the generator ---------------------------------------------------------------------------


def test_same_seed_same_clinic_and_bigger_clinics_extend_smaller_ones() -> None:
    big = clinics.clinic(60, seed=3, start=START, locations=4)
    assert big == clinics.clinic(60, seed=3, start=START, locations=4)
    assert (
        clinics.clinic(25, seed=3, start=START, locations=4).practitioners
        == (big.practitioners[:25])
    )
    other = clinics.clinic(60, seed=4, start=START, locations=4)
    assert (
        sum(a.name == b.name for a, b in zip(big.practitioners, other.practitioners, strict=True))
        < 10
    )
    window = (midnight(START), midnight(START + dt.timedelta(days=7)))
    plan = [
        clinics.plan_visits(
            big, patients=300, start=window[0], end=window[1], now=window[0], fill=0.5, seed=2
        )
        for _ in range(2)
    ]
    assert plan[0] == plan[1]
    assert plan[0]


def test_directory_values_pass_validation() -> None:
    c = clinics.clinic(200, seed=1, start=START, locations=8)
    assert {loc.timezone for loc in c.locations} == {"America/Chicago", "America/New_York"}
    for kind in c.visit_types:
        AppointmentTypeCreate(
            code=kind.code,
            name=kind.name,
            duration_minutes=kind.duration_minutes,
            buffer_minutes=kind.buffer_minutes,
            modality=kind.modality,  # type: ignore[arg-type]
            visit_kind=kind.visit_kind,  # type: ignore[arg-type]
            specialties=list(kind.specialties),
            room_kind=kind.room_kind,
        )
    follow_up = c.visit_type("follow-up")
    assert (follow_up.duration_minutes, follow_up.buffer_minutes) == (20, 10)
    assert c.visit_type("pt-session").room_kind == "therapy-gym"
    assert c.visit_type("video-check-in").modality == "video"
    assert c.visit_type("phone-follow-up").modality == "phone"
    npis = [p.npi for p in c.practitioners]
    assert len(set(npis)) == len(npis)
    assert all(npi_is_valid(n) for n in npis)
    places = {loc.key: loc for loc in c.locations}
    for p in c.practitioners:
        PractitionerCreate(
            name=p.name,
            npi=p.npi,
            specialties=list(p.specialties),
            languages=list(p.languages),
            phone=p.phone,
        )
        assert set(p.specialties) <= set(SPECIALTIES)
        for code in p.visit_types:  # offered only where the visit type's specialties allow
            assert set(c.visit_type(code).specialties) & set(p.specialties), (p, code)
        for hours in p.hours:
            # Stored as given: already the normalized text the service would store.
            assert availability.parse_rrule(hours.rrule, valid_from=hours.valid_from) == (
                hours.rrule
            )
            AvailabilityRuleCreate(
                practitioner_id=uuid.uuid4(),
                location_id=uuid.uuid4(),
                rrule=hours.rrule,
                start_time=hours.start,
                end_time=hours.end,
                valid_from=hours.valid_from,
                valid_until=hours.valid_until,
                exdates=list(hours.exdates),
                modalities=list(hours.modalities),  # type: ignore[arg-type]
            )
        # One practitioner's working hours never overlap each other.
        blocks = sorted(
            interval
            for number, h in enumerate(p.hours)
            for interval in availability.expand(
                availability.WeeklyRule(
                    rrule=h.rrule,
                    start=h.start,
                    end=h.end,
                    valid_from=h.valid_from,
                    valid_until=h.valid_until,
                    zone=places[h.location].timezone,
                    key=number,
                ),
                midnight(START),
                midnight(START + dt.timedelta(days=28)),
            )
        )
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(blocks)), p.name
        for off in p.time_off:
            assert off.starts_at < off.ends_at
    languages = Counter(lang for p in c.practitioners for lang in p.languages)
    assert {"es", "pl", "zh"} <= set(languages)
    assert languages["es"] > languages["pl"]
    rrules = {h.rrule for p in c.practitioners for h in p.hours}
    assert "FREQ=WEEKLY;BYDAY=TU,TH" in rrules
    assert any("INTERVAL=2" in r for r in rrules)
    assert any(h.modalities for p in c.practitioners for h in p.hours)
    specialties = Counter(p.specialties[0] for p in c.practitioners)
    assert set(specialties) == set(clinics.SPECIALTY_WEIGHTS)


def test_small_clinic_still_covers_the_services() -> None:
    c = clinics.clinic(12, seed=1, start=START, locations=2)
    offered = {code for p in c.practitioners for code in p.visit_types}
    assert offered == {kind.code for kind in c.visit_types}
    assert all(loc.timezone == "America/Chicago" for loc in c.locations)
    assert {"es", "pl", "zh"} <= {lang for p in c.practitioners for lang in p.languages}


def test_federal_holidays_with_observed_days() -> None:
    days = {
        h.day: h.name for h in clinics.federal_holidays(dt.date(2026, 1, 1), dt.date(2027, 12, 31))
    }
    assert days[dt.date(2026, 11, 26)] == "Thanksgiving Day"
    assert days[dt.date(2026, 7, 3)] == "Independence Day"  # July 4th 2026 is a Saturday
    assert days[dt.date(2026, 1, 19)] == "Martin Luther King Jr. Day"
    assert days[dt.date(2026, 5, 25)] == "Memorial Day"
    assert days[dt.date(2027, 12, 24)] == "Christmas Day"  # a Saturday in 2027
    assert days[dt.date(2027, 12, 31)] == "New Year's Day"  # 1 January 2028 is a Saturday
    assert len([d for d in days if d.year == 2026]) == 11


def overlaps(visits: list[clinics.PlannedVisit], key: str, until: str) -> int:
    lines: dict[object, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for v in visits:
        if v.status != "cancelled" and getattr(v, key) is not None:
            lines[getattr(v, key)].append((v.starts_at, getattr(v, until)))
    return sum(a[1] > b[0] for line in lines.values() for a, b in itertools.pairwise(sorted(line)))


def test_planned_visits_never_overlap_and_follow_the_clock() -> None:
    c = clinics.clinic(40, seed=2, start=START, locations=3)
    start, end = midnight(START - dt.timedelta(days=7)), midnight(START + dt.timedelta(days=7))
    now = midnight(START) + dt.timedelta(hours=18)  # Monday 12:00 in Chicago
    visits = clinics.plan_visits(
        c,
        patients=200,
        start=start,
        end=end,
        now=now,
        count=600,
        mix=clinics.StatusMix(noshow=0.1, past_cancelled=0.05, cancelled_yesterday=0.05),
    )
    assert len(visits) == 600
    assert overlaps(visits, "practitioner", "held_until") == 0
    assert overlaps(visits, "room", "held_until") == 0
    assert overlaps(visits, "patient", "held_until") == 0
    assert all(start <= v.starts_at and v.held_until <= end for v in visits)
    assert all(v.room is not None for v in visits if v.visit_type == "pt-session")
    past = Counter(v.status for v in visits if v.starts_at < now)
    assert {"fulfilled", "noshow", "cancelled"} <= set(past)
    assert set(Counter(v.status for v in visits if v.starts_at >= now)) <= {"booked", "cancelled"}
    assert all(v.booked_at <= v.changed_at <= max(now, v.changed_at) for v in visits)
    assert all(v.booked_at < now for v in visits)
    by_kind = {kind.code: kind for kind in c.visit_types}
    assert all(v.modality == by_kind[v.visit_type].modality for v in visits)
    starts = {v.starts_at.minute for v in visits}
    assert starts <= {0, 15, 30, 45}  # the slot grid
    capped = clinics.plan_visits(
        c, patients=10, start=start, end=end, now=now, fill=1.0, max_per_patient=3
    )
    assert len(capped) <= 30
    assert max(Counter(v.patient for v in capped).values()) <= 3


# --- in the database -------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def fresh(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A database of its own: the clinic's visit type codes and NPIs are fixed."""
    urls = fresh_database(request.param, tmp_path)
    url = next(urls)
    engine = make_engine(url)
    try:
        yield url, make_sessionmaker(engine)
    finally:
        engine.dispose()
        urls.close()  # drops a PostgreSQL database


def double_bookings(db: Session) -> dict[str, int]:
    found = {}
    for name, column, until in (
        ("practitioner", "practitioner_id", "held_until"),
        ("room", "room_id", "held_until"),
        ("patient", "patient_id", "ends_at"),
    ):
        found[name] = db.execute(
            text(
                f"SELECT count(*) FROM appointments a JOIN appointments b "  # noqa: S608
                f"ON a.{column} = b.{column} AND a.id < b.id "
                f"AND a.starts_at < b.{until} AND b.starts_at < a.{until} "
                f"WHERE a.status IN {HOLDING} AND b.status IN {HOLDING}"
            )
        ).scalar_one()
    return found


def test_seeded_clinic_offers_slots_and_refuses_its_booked_times(
    fresh: tuple[str, sessionmaker[Session]],
) -> None:
    url, factory = fresh
    now = utcnow()
    today = now.astimezone(CHICAGO).date()
    c = clinics.clinic(10, seed=5, start=today, locations=3)
    with unit_of_work(factory) as db:
        patients = bulk.insert_patients(db, ACTOR, people.generate(120, 5))
        seeded = clinics.insert_clinic(db, ACTOR, c)
        visits = clinics.plan_visits(
            c,
            patients=len(patients.patient_ids),
            start=midnight(today + dt.timedelta(days=1)),
            end=midnight(today + dt.timedelta(days=15)),
            now=now,
            count=300,
            mix=clinics.StatusMix(confirmed=0.5, cancelled_yesterday=0.05),
        )
        ids = clinics.insert_visits(db, ACTOR, seeded, visits, patients.patient_ids, batch_size=70)
    assert len(ids) == len(visits) == 300
    with unit_of_work(factory) as db:
        assert double_bookings(db) == {"practitioner": 0, "room": 0, "patient": 0}
        assert db.scalar(select(func.count()).select_from(Practitioner)) == 10
        versions = db.scalar(
            select(func.count())
            .select_from(RecordVersion)
            .where(RecordVersion.entity_type == "Appointment")
        )
        assert versions == 300
        rows = {a.id: a for a in db.scalars(select(Appointment))}
        video = [a for a in rows.values() if a.modality == "video"]
        assert video
        assert all(a.telehealth_token for a in video)
        phone = [a for a in rows.values() if a.modality == "phone"]
        assert phone
        assert all(a.phone_number for a in phone)
        # Slot search over the seeded clinic finds times, none of them booked already.
        slots = service.search_slots(
            db,
            SlotQuery(
                appointment_type_id=seeded.visit_types["follow-up"],
                start=today + dt.timedelta(days=1),
                days=14,
                limit=20,
            ),
            now=now,
        )
        assert len(slots) == 20
        held = [
            (a.practitioner_id, a.starts_at, a.held_until)
            for a in rows.values()
            if a.status != "cancelled"
        ]
        for slot in slots:
            assert not any(
                p == slot.practitioner_id and s < slot.ends_at and slot.starts_at < e
                for p, s, e in held
            )
        pt = service.search_slots(
            db,
            SlotQuery(appointment_type_id=seeded.visit_types["pt-session"], days=14),
            now=now,
        )
        assert pt
        assert all(s.room_id is not None for s in pt)
    settings = make_settings(url, reminder_offsets_hours=[])
    first = slots[0]
    taken = next(v for v in visits if v.status == "booked" and v.visit_type == "follow-up")
    with unit_of_work(factory) as db:
        booked = service.book(
            db,
            ACTOR,
            settings,
            BookIn(
                patient_id=patients.patient_ids[-1],
                appointment_type_id=seeded.visit_types["follow-up"],
                practitioner_id=first.practitioner_id,
                location_id=first.location_id,
                starts_at=first.starts_at,
            ),
        )
        assert booked.status == "booked"
    with unit_of_work(factory) as db, pytest.raises(service.SlotTaken, match="already booked"):
        service.book(
            db,
            ACTOR,
            settings,
            BookIn(
                patient_id=patients.patient_ids[-2],
                appointment_type_id=seeded.visit_types["follow-up"],
                practitioner_id=seeded.practitioners[taken.practitioner],
                location_id=seeded.locations[taken.location],
                starts_at=taken.starts_at,
            ),
        )


def test_demo_seeds_a_clinic_once(fresh: tuple[str, sessionmaker[Session]]) -> None:
    url, factory = fresh
    settings = make_settings(url, demo_mode=True)
    with unit_of_work(factory) as db:
        demo.seed(db)
        demo.seed_patients(db, count=80, settings=settings, history=False)
    with unit_of_work(factory) as db:
        people_ = list(db.scalars(select(Practitioner)))
        assert len(people_) == demo.DEMO_PRACTITIONERS
        assert any(p.user_id is not None and p.name == demo.CLINICIAN_NAME for p in people_)
        statuses = Counter(db.scalars(select(Appointment.status)))
        assert statuses["booked"] > 50
        assert statuses["fulfilled"] > 50
        assert statuses["noshow"] > 0
        assert statuses["cancelled"] > 0
        modalities = Counter(db.scalars(select(Appointment.modality)))
        assert modalities["video"]
        assert modalities["phone"]
        confirmed = db.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.confirmed_at.is_not(None))
        )
        assert confirmed
        assert double_bookings(db) == {"practitioner": 0, "room": 0, "patient": 0}
        entries = Counter(db.scalars(select(WaitlistEntry.status)))
        assert entries == {"waiting": 9, "offered": 1}
        assert demo.seed_schedule(db, settings) is None  # once only
        assert db.scalar(select(func.count()).select_from(Practitioner)) == 12


def test_demo_command_seeds_a_clinic(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    result = run(["demo", "--db", str(database), "--no-serve", "--patients", "50"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as conn:
        practitioners = conn.execute("SELECT count(*) FROM practitioners").fetchone()[0]
        appointments = conn.execute("SELECT count(*) FROM appointments").fetchone()[0]
        waiting = conn.execute("SELECT count(*) FROM waitlist").fetchone()[0]
    assert practitioners == demo.DEMO_PRACTITIONERS
    assert appointments > 100
    assert waiting == len(demo.WAITLIST)
