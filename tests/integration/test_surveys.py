"""The post-visit survey against a real database: the worker's invitations (after the delay,
once per visit and once per patient in 30 days, only with consent and an address, in the
patient's language), the public link (answered once, bad input kept, expired and unknown
links), the staff page, and the satisfaction measure on hand-built answers.

The timer tests run their clock in April 2013 and the measure's answers are in October 2010,
periods no other test uses; the survey links are made now, since the pages use the real clock.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.messaging.models import OutboxMessage
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.patients.schemas import ContactConsentCreate, PatientCreate
from carebridge.scheduling.models import Appointment, AppointmentType, Location, Practitioner
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from carebridge.settings import Settings
from carebridge.surveys import items, service, timers
from carebridge.surveys.measures import SATISFACTION
from carebridge.surveys.models import SurveyInvitation, SurveyResponse
from tests.conftest import make_settings
from tests.factories import csrf_from, make_user, sign_in

SYSTEM = Actor.system("test")
CHICAGO = ZoneInfo("America/Chicago")
T0 = dt.datetime(2013, 4, 9, 10, 0, tzinfo=CHICAGO).astimezone(dt.UTC)  # a visit's end
LINK = re.compile(r"http://127\.0\.0\.1:8000/survey/([\w-]+)")


class World:
    """A practitioner and a location of their own, and patients and visits on demand."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        tag = uuid.uuid4().hex[:8]
        with unit_of_work(factory) as db:
            kind = AppointmentType(
                code=f"sv-{tag}", name="Office visit", duration_minutes=30, modality="in-person"
            )
            place = Location(name=f"Survey clinic {tag}", timezone="America/Chicago")
            doctor = Practitioner(name=f"Dr. Rivera {tag}")
            other = Practitioner(name=f"Dr. Okafor {tag}")
            db.add_all([kind, place, doctor, other])
            db.flush()
            self.kind, self.place = kind.id, place.id
            self.doctor, self.other = doctor.id, other.id
            self.doctor_name = doctor.name

    def patient(
        self,
        *,
        email: bool = True,
        mobile: bool = False,
        language: str = "en",
        consents: dict[str, str] | None = None,
        phone: str = "312-555-0142",
    ) -> uuid.UUID:
        family = "Sv" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz", k=9))
        with unit_of_work(self.factory) as db:
            made = patients.register(
                db,
                SYSTEM,
                PatientCreate(
                    family_name=family,
                    given_names="Rosa",
                    birth_date=dt.date(1950, 2, 3),
                    sex="female",
                    language=language,
                    email=f"{family.lower()}@example.org" if email else None,
                    phones=[{"number": phone, "use": "mobile"}] if mobile else [],
                ),
            )
            for channel, decision in (consents or {}).items():
                patients.record_contact_consent(
                    db,
                    SYSTEM,
                    made.id,
                    ContactConsentCreate(
                        channel=channel,
                        decision=decision,
                        effective_from=dt.date(2000, 1, 1),
                    ),
                )
            return made.id

    def visit(
        self,
        patient_id: uuid.UUID,
        ends: dt.datetime,
        status: str = "fulfilled",
        doctor: uuid.UUID | None = None,
    ) -> uuid.UUID:
        with unit_of_work(self.factory) as db:
            row = Appointment(
                patient_id=patient_id,
                practitioner_id=doctor or self.doctor,
                location_id=self.place,
                appointment_type_id=self.kind,
                starts_at=ends - dt.timedelta(minutes=30),
                ends_at=ends,
                held_until=ends,
                status=status,
                modality="in-person",
                patient_token=uuid.uuid4().hex,
            )
            db.add(row)
            db.flush()
            return row.id


def invitations(factory: sessionmaker[Session], patient_id: uuid.UUID) -> list[SurveyInvitation]:
    with unit_of_work(factory, write=False) as db:
        return list(
            db.scalars(
                select(SurveyInvitation)
                .where(SurveyInvitation.patient_id == patient_id)
                .order_by(SurveyInvitation.created_at)
            )
        )


def message(factory: sessionmaker[Session], invitation: SurveyInvitation) -> OutboxMessage:
    with unit_of_work(factory, write=False) as db:
        row = db.get(OutboxMessage, invitation.outbox_id)
        assert row is not None
        return row


# --- the worker's invitations ------------------------------------------------------------


def test_invited_once_after_two_hours_then_not_again_for_30_days(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    world = World(factory)
    ana = world.patient(consents={"email": "permit"})
    first = world.visit(ana, T0)

    timers.run(factory, settings, T0 + dt.timedelta(hours=1, minutes=59))
    assert invitations(factory, ana) == []  # too soon after the visit

    timers.run(factory, settings, T0 + dt.timedelta(hours=2))
    [invited] = invitations(factory, ana)
    assert (invited.appointment_id, invited.channel, invited.language) == (first, "email", "en")
    assert invited.expires_at == T0 + dt.timedelta(hours=2, days=30)
    sent = message(factory, invited)
    assert (sent.channel, sent.status, sent.focus_id) == ("email", "pending", invited.id)
    assert sent.subject == "How was your visit with Carebridge Clinic?"
    assert "Tuesday 9 April 2013" in sent.body
    token = LINK.search(sent.body)
    assert token is not None, sent.body
    assert invited.token_hash == service.hash_token(token.group(1))
    assert token.group(1) not in invited.token_hash  # only the hash is kept

    for minutes in (1, 2, 3):  # once a minute: nothing more
        timers.run(factory, settings, T0 + dt.timedelta(hours=2, minutes=minutes))
    assert len(invitations(factory, ana)) == 1

    # Another visit 10 days later: within 30 days of the invitation, so no second one.
    world.visit(ana, T0 + dt.timedelta(days=10))
    timers.run(factory, settings, T0 + dt.timedelta(days=10, hours=3))
    assert len(invitations(factory, ana)) == 1
    # A visit 31 days after the first: invited again.
    third = world.visit(ana, T0 + dt.timedelta(days=31))
    timers.run(factory, settings, T0 + dt.timedelta(days=31, hours=2))
    assert [i.appointment_id for i in invitations(factory, ana)] == [first, third]


def test_only_fulfilled_visits_of_reachable_consenting_patients(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    world = World(factory)
    ends = T0 + dt.timedelta(days=60)
    no_consent = world.patient()
    denied = world.patient(consents={"email": "deny", "sms": "deny"})
    no_address = world.patient(email=False, consents={"email": "permit"})
    texter = world.patient(email=False, mobile=True, consents={"sms": "permit"})
    spanish = world.patient(language="es", consents={"email": "permit"})
    no_show = world.patient(consents={"email": "permit"})
    stale = world.patient(consents={"email": "permit"})
    # One practitioner: the visits follow one another, half an hour each.
    for n, person in enumerate((no_consent, denied, no_address, texter, spanish)):
        world.visit(person, ends - dt.timedelta(minutes=30 * n))
    world.visit(no_show, ends - dt.timedelta(hours=3), status="noshow")
    world.visit(stale, ends - dt.timedelta(days=8))  # older than the look-back

    summary = timers.run(factory, settings, ends + dt.timedelta(hours=2))
    assert summary.invited >= 2
    for person in (no_consent, denied, no_address, no_show, stale):
        assert invitations(factory, person) == [], person
    [text] = invitations(factory, texter)
    sms = message(factory, text)
    assert (text.channel, sms.channel, sms.recipient) == ("sms", "sms", "+13125550142")
    assert sms.subject is None
    assert "Five quick questions: http://127.0.0.1:8000/survey/" in sms.body
    [es] = invitations(factory, spanish)
    note = message(factory, es)
    assert es.language == "es"
    assert note.subject == "¿Cómo fue su visita a Carebridge Clinic?"
    assert "Gracias por visitar Carebridge Clinic el sábado 8 de junio de 2013" in note.body

    # Without any configured channel nothing is invited, even with consent.
    quiet = make_settings(settings.database_url, smtp_host=None, sms_gateway="none")
    late = world.patient(consents={"email": "permit"})
    world.visit(late, ends + dt.timedelta(days=1))
    timers.run(factory, quiet, ends + dt.timedelta(days=1, hours=3))
    assert invitations(factory, late) == []
    timers.run(factory, settings, ends + dt.timedelta(days=1, hours=3))
    assert len(invitations(factory, late)) == 1


def test_the_timer_asks_nothing_per_patient(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    """Consent, phones, practitioner and location come with the candidates: the statements
    reading them do not grow with the number of patients invited."""
    world = World(factory)
    ends = dt.datetime(2012, 3, 6, 10, 0, tzinfo=CHICAGO).astimezone(dt.UTC)
    people = [world.patient(consents={"email": "permit"}) for _ in range(3)]
    texter = world.patient(
        email=False, mobile=True, consents={"sms": "permit"}, phone="312-555-0199"
    )
    people.append(texter)
    people.append(world.patient(consents={"email": "deny"}))
    for n, person in enumerate(people):
        world.visit(person, ends - dt.timedelta(minutes=30 * n))
    engine = factory.kw["bind"]
    assert isinstance(engine, Engine)
    selects: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        summary = timers.run(factory, settings, ends + dt.timedelta(hours=2))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert summary.invited >= 4
    assert [len(invitations(factory, p)) for p in people] == [1, 1, 1, 1, 0]
    assert invitations(factory, people[3])[0].channel == "sms"

    def reading(table: str) -> int:
        return sum(1 for sql in selects if re.search(rf"\b{table}\b", sql))

    assert reading("contact_consents") == 1, selects  # the candidate query only
    assert reading("practitioners") == 1, selects
    assert reading("locations") == 1, selects
    assert reading("patient_telecoms") == 2, selects  # the candidate query, then the phones at once


# --- the public link ---------------------------------------------------------------------


def open_invitation(
    factory: sessionmaker[Session], settings: Settings, world: World, language: str = "en"
) -> tuple[uuid.UUID, str]:
    person = world.patient(language=language, consents={"email": "permit"})
    visit_id = world.visit(person, utcnow() - dt.timedelta(hours=3))
    with unit_of_work(factory) as db:
        visit = db.get(Appointment, visit_id)
        patient = db.get(Patient, person)
        assert visit is not None
        assert patient is not None
        invitation, token = service.invite(db, settings, visit, patient, "email")
        return invitation.id, token


FULL = {
    "overall": "10",
    "recommend": "definitely-yes",
    "explained": "yes-definitely",
    "listened": "yes-somewhat",
    "timely": "no",
    "comment": "The nurse was lovely.",
}


def audit_rows(factory: sessionmaker[Session], entity_id: uuid.UUID | str) -> list[AuditEvent]:
    with unit_of_work(factory, write=False) as db:
        return list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_id == str(entity_id))
                .order_by(AuditEvent.occurred_at, AuditEvent.id)
            )
        )


def test_answered_once_from_the_link(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    world = World(factory)
    invitation_id, token = open_invitation(factory, settings, world)

    page = client.get(f"/survey/{token}")
    assert page.status_code == 200
    assert page.headers["x-robots-tag"] == "noindex"
    assert "How was your visit?" in page.text
    assert world.doctor_name in page.text
    assert "<legend>1. How would you rate the provider you saw at this visit?" in page.text
    assert page.text.count('type="radio" name="overall"') == 11
    csrf = csrf_from(page)

    # Two questions left out: the form comes back naming them, with the choices kept.
    partial = {**FULL, "recommend": "", "timely": "", "csrf_token": csrf}
    refused = client.post(f"/survey/{token}", data=partial)
    assert refused.status_code == 422
    assert "Please answer 2 more question(s)" in refused.text
    assert "Please choose an answer to: Would you suggest our office" in refused.text
    assert "Please choose an answer to: Were you able to get this appointment" in refused.text
    assert 'value="10" id="q-overall-10" checked' in refused.text
    assert 'value="yes-somewhat" id="q-listened-yes-somewhat" checked' in refused.text
    assert "The nurse was lovely.</textarea>" in refused.text
    with unit_of_work(factory, write=False) as db:
        assert (
            db.scalar(select(SurveyResponse).where(SurveyResponse.invitation_id == invitation_id))
            is None
        )

    done = client.post(f"/survey/{token}", data={**FULL, "csrf_token": csrf})
    assert done.status_code == 303
    assert done.headers["location"] == f"/survey/{token}?sent=1"
    thanks = client.get(done.headers["location"])
    assert "Thank you for answering" in thanks.text

    again = client.get(f"/survey/{token}")
    assert again.status_code == 200
    assert "This survey has already been answered" in again.text
    assert '<form method="post" action="/survey/' not in again.text
    twice = client.post(f"/survey/{token}", data={**FULL, "overall": "0", "csrf_token": csrf})
    assert "already been answered" in twice.text

    with unit_of_work(factory, write=False) as db:
        [response] = db.scalars(
            select(SurveyResponse).where(SurveyResponse.invitation_id == invitation_id)
        ).all()
        invitation = db.get(SurveyInvitation, invitation_id)
        assert invitation is not None
        assert invitation.answered_at == response.answered_at
    assert response.overall == 10
    assert response.answers == {
        "overall": 10,
        "recommend": "definitely-yes",
        "explained": "yes-definitely",
        "listened": "yes-somewhat",
        "timely": "no",
    }
    assert response.comment == "The nurse was lovely."
    [answered] = audit_rows(factory, response.id)
    assert (answered.action, answered.username, answered.role) == (
        "create",
        "patient-link",
        "patient",
    )
    assert answered.patient_id == response.patient_id
    opened = [r for r in audit_rows(factory, invitation_id) if r.action == "read"]
    assert len(opened) == 1  # the first visit; the closed pages show nothing of the patient


def test_the_form_needs_its_csrf_token(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    invitation_id, token = open_invitation(factory, settings, World(factory))
    client.get(f"/survey/{token}")
    forged = client.post(f"/survey/{token}", data={**FULL, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    with unit_of_work(factory, write=False) as db:
        invitation = db.get(SurveyInvitation, invitation_id)
        assert invitation is not None
        assert invitation.answered_at is None


def test_spanish_survey(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    _, token = open_invitation(factory, settings, World(factory), language="es")
    page = client.get(f"/survey/{token}")
    assert 'lang="es"' in page.text
    assert "¿Cómo fue su visita?" in page.text
    assert "Sí, totalmente" in page.text
    refused = client.post(f"/survey/{token}", data={"overall": "8", "csrf_token": csrf_from(page)})
    assert refused.status_code == 422
    assert "Por favor responda 4 pregunta(s) más" in refused.text


def test_unknown_and_expired_links(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    missing = client.get("/survey/no-such-token")
    assert missing.status_code == 404
    assert "This link does not work" in missing.text

    invitation_id, token = open_invitation(factory, settings, World(factory))
    with unit_of_work(factory) as db:
        invitation = db.get(SurveyInvitation, invitation_id)
        assert invitation is not None
        invitation.expires_at = utcnow() - dt.timedelta(minutes=1)
    expired = client.get(f"/survey/{token}")
    assert expired.status_code == 410
    assert "This survey link has expired" in expired.text
    csrf = csrf_from(client.get("/login"))
    late = client.post(f"/survey/{token}", data={**FULL, "csrf_token": csrf})
    assert late.status_code == 410
    with unit_of_work(factory, write=False) as db:
        count = db.scalar(
            select(func.count(SurveyResponse.id)).where(
                SurveyResponse.invitation_id == invitation_id
            )
        )
    assert count == 0


def test_a_submit_that_loses_the_race_sees_the_survey_answered(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    """Two submits at once (PostgreSQL lets both read the open invitation): the loser's copy of
    the invitation is stale. ``answer`` gives None and the copy is read again, so the page
    says "already answered" (200), not "expired" (410)."""
    invitation_id, token = open_invitation(factory, settings, World(factory))
    given, errors = items.validate(FULL, "en")
    assert errors == {}
    with unit_of_work(factory) as db:
        stale = service.find(db, token)
        assert stale is not None
        assert service.state(stale) == "open"
        # The other submit: its response and answered_at, written past this copy of the row.
        then = utcnow()
        db.add(
            SurveyResponse(
                invitation_id=invitation_id,
                patient_id=stale.patient_id,
                appointment_id=stale.appointment_id,
                answered_at=then,
                overall=9,
                answers={"overall": 9},
            )
        )
        db.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.id == invitation_id)
            .values(answered_at=then)
            .execution_options(synchronize_session=False)
        )
        assert stale.answered_at is None

        assert service.answer(db, SYSTEM, stale, given) is None
        assert stale.answered_at is not None
        assert service.state(stale) == "answered"
    with unit_of_work(factory, write=False) as db:
        kept = db.scalars(
            select(SurveyResponse).where(SurveyResponse.invitation_id == invitation_id)
        ).all()
    assert [r.overall for r in kept] == [9]  # the first submit's answers, unchanged


# --- staff page and measure --------------------------------------------------------------

# (answered at, Chicago wall clock: the year is set per test; overall; practitioner)
ANSWERS: list[tuple[dt.datetime, int, str]] = [
    (dt.datetime(2010, 9, 30, 23, 30, tzinfo=CHICAGO), 10, "doctor"),  # the day before: out
    (dt.datetime(2010, 10, 1, 0, 30, tzinfo=CHICAGO), 10, "doctor"),  # first day: in, top
    (dt.datetime(2010, 10, 5, 12, 0, tzinfo=CHICAGO), 9, "doctor"),  # top
    (dt.datetime(2010, 10, 12, 9, 0, tzinfo=CHICAGO), 8, "other"),  # not top
    (dt.datetime(2010, 10, 20, 15, 0, tzinfo=CHICAGO), 3, "other"),  # not top
    (dt.datetime(2010, 10, 31, 23, 30, tzinfo=CHICAGO), 9, "other"),  # last day: in, top
    (dt.datetime(2010, 11, 1, 0, 30, tzinfo=CHICAGO), 2, "doctor"),  # the day after: out
]


def hand_built(factory: sessionmaker[Session], world: World, year: int) -> list[uuid.UUID]:
    """One patient per answer (the third patient answers twice: the 5th and the 20th), in
    ``year``'s October (each test its own year: the database is shared)."""
    people = [world.patient() for _ in range(len(ANSWERS))]
    people[4] = people[2]
    for person, (then, overall, who) in zip(people, ANSWERS, strict=True):
        when = then.replace(year=year)
        doctor = world.doctor if who == "doctor" else world.other
        visit_id = world.visit(
            person, when.astimezone(dt.UTC) - dt.timedelta(days=1), doctor=doctor
        )
        with unit_of_work(factory) as db:
            invitation = SurveyInvitation(
                patient_id=person,
                appointment_id=visit_id,
                token_hash=service.hash_token(service.new_token()),
                channel="email",
                language="en",
                expires_at=when + dt.timedelta(days=29),
                created_at=when - dt.timedelta(hours=20),
                answered_at=when,
            )
            db.add(invitation)
            db.flush()
            db.add(
                SurveyResponse(
                    invitation_id=invitation.id,
                    patient_id=person,
                    appointment_id=visit_id,
                    answered_at=when,
                    overall=overall,
                    answers={
                        "overall": overall,
                        "recommend": "definitely-yes" if overall >= 9 else "probably-no",
                    },
                    comment=f"Comment rated {overall}" if overall in (3, 9) else None,
                )
            )
    return people


def test_satisfaction_measure_on_hand_built_answers(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    world = World(factory)
    people = hand_built(factory, world, 2010)
    first, last = dt.date(2010, 10, 1), dt.date(2010, 10, 31)
    with unit_of_work(factory, write=False) as db:
        result = SATISFACTION.compute(db, settings, first, last)
    # In the period: answers 2-6 (10, 9, 8, 3, 9) -> 5 responses, 3 rated 9 or 10.
    assert (result.key, result.numerator, result.denominator) == ("satisfaction", 3, 5)
    assert result.rate == 3 / 5
    assert result.excluded == 0
    assert set(result.denominator_patients) == {people[1], people[2], people[3], people[5]}
    assert set(result.numerator_patients) == {people[1], people[2], people[5]}
    assert [(c.on, c.met) for c in result.cases] == [
        (dt.date(2010, 10, 1), True),
        (dt.date(2010, 10, 5), True),
        (dt.date(2010, 10, 12), False),
        (dt.date(2010, 10, 20), False),
        (dt.date(2010, 10, 31), True),
    ]
    assert [c.provider_id for c in result.cases] == [world.doctor] * 2 + [world.other] * 3
    assert {c.location_id for c in result.cases} == {world.place}
    assert SATISFACTION.group == "Patient experience"
    # One day only: the 31st.
    with unit_of_work(factory, write=False) as db:
        day = SATISFACTION.compute(db, settings, last, last)
    assert (day.numerator, day.denominator) == (1, 1)


def test_staff_page_shows_the_period(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    world = World(factory)
    people = hand_built(factory, world, 2009)
    coordinator = make_user(factory, Role.COORDINATOR)
    sign_in(client, coordinator.username)
    page = client.get("/surveys?start=2009-10-01&end=2009-10-31")
    assert page.status_code == 200
    text = page.text
    # Invitations go out 20 hours before each answer: the 1st and 2nd on 30 Sep (out), the
    # 3rd to 7th in October (the 7th's on 31 Oct at 04:30): 5 sent, all answered.
    assert "<dt>Invitations sent</dt><dd>5</dd>" in text
    assert "<dt>Response rate</dt><dd>100 %</dd>" in text
    assert "<dt>Responses received</dt><dd>5</dd>" in text
    # Overall 9-10: 3 of 5; recommend: 3 of 5 "definitely yes"; the others unanswered.
    assert re.search(r"Overall rating 9-10.*?<td>3</td>\s*<td>5</td>\s*<td>60 %</td>", text, re.S)
    assert re.search(r"Would recommend the office.*?<td>3</td>\s*<td>5</td>", text, re.S)
    assert re.search(r"Provider listened.*?<td>0</td>\s*<td>0</td>\s*<td>—</td>", text, re.S)
    assert "Comment rated 9" in text
    assert "Comment rated 3" in text
    assert f'href="/patients/{people[5]}"' in text
    with unit_of_work(factory, write=False) as db:
        shown = set(
            db.scalars(
                select(AuditEvent.patient_id).where(
                    AuditEvent.username == coordinator.username,
                    AuditEvent.entity_type == "SurveyResponse",
                )
            )
        )
    assert shown == {None, people[2], people[5]}

    bad = client.get("/surveys?start=2009-10-31&end=2009-10-01")
    assert bad.status_code == 422
    assert "The period ends before it starts" in bad.text


def test_staff_page_takes_exact_days_and_at_most_731_of_them(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    sign_in(client, make_user(factory, Role.COORDINATOR).username)
    for typed in ("20091001", "2009-W40-4", "2009-10-1"):
        page = client.get(f"/surveys?start={typed}&end=2009-10-31")
        assert page.status_code == 422, typed
        assert "Enter the day as YYYY-MM-DD" in page.text
        assert f'value="{typed}"' in page.text  # what was typed is kept
        assert "Invitations sent" not in page.text

    long = client.get("/surveys?start=2007-10-30&end=2009-10-31")  # 732 days
    assert long.status_code == 422
    assert "Choose a period of at most 731 days." in long.text
    assert 'id="f-s-start-error"' in long.text  # named on the field
    assert "Invitations sent" not in long.text
    longest = client.get("/surveys?start=2007-10-31&end=2009-10-31")  # 731 days
    assert longest.status_code == 200
    assert "Invitations sent" in longest.text


def test_billing_may_not_see_survey_results(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    clerk = make_user(factory, Role.BILLING)
    sign_in(client, clerk.username)
    assert client.get("/surveys").status_code == 403
