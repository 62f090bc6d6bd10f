"""Scheduled reports against a real database: the worker's timer sends a report once per
week at its local weekday and hour (across a change to daylight saving time too), one outbox
email per recipient, with the figures ``analytics.measures.compute`` gives for that week;
the screens validate and name bad fields, send now, preview and deactivate.

The records are made in 2013 (a year no other test uses) in the clinic's zone,
America/Chicago. Every report a test makes is deactivated afterwards, so the timer of the
next test sees only its own."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from carebridge import demo
from carebridge.analytics import measures
from carebridge.db.history import RecordVersion
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.errors import ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.messaging.models import OutboxMessage
from carebridge.patients.models import Patient
from carebridge.reports import service, synthetic, timers
from carebridge.reports.models import ReportAddress, ScheduledReport
from carebridge.reports.schemas import ReportIn
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent, User
from carebridge.security.roles import Role
from carebridge.settings import Settings
from carebridge.transitions import workflow
from carebridge.transitions.models import Encounter
from tests.conftest import fresh_database, make_settings
from tests.factories import csrf_from, make_user, post_form, sign_in
from tests.integration.test_analytics_measures import Clinic, new_patient, stay

SYSTEM = Actor.system("test")
CHICAGO = ZoneInfo("America/Chicago")


def local(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A Chicago wall-clock time, in UTC."""
    return dt.datetime(y, m, d, hour, minute, tzinfo=CHICAGO).astimezone(dt.UTC)


@pytest.fixture(autouse=True)
def _quiet_reports(factory: sessionmaker[Session]) -> Iterator[None]:
    """Each test's reports stop when it ends, so another test's timer never sends them."""
    yield
    with unit_of_work(factory) as db:
        db.execute(update(ScheduledReport).values(is_active=False))


def _people(factory: sessionmaker[Session], count: int) -> list[uuid.UUID]:
    return [make_user(factory, Role.COORDINATOR).id for _ in range(count)]


def _report(
    factory: sessionmaker[Session],
    recipients: list[uuid.UUID],
    *,
    created: dt.datetime,
    weekday: int = 0,
    hour: int = 7,
    keys: tuple[str, ...] = ("follow-up-7d", "referral-closure"),
) -> uuid.UUID:
    data = ReportIn(
        name=f"Weekly {uuid.uuid4().hex[:6]}",
        measure_keys=list(keys),
        recipient_ids=recipients,
        addresses={u: f"user-{str(u)[:8]}@clinic.example" for u in recipients},
        weekday=weekday,
        hour=hour,
    )
    with unit_of_work(factory) as db:
        return service.create(db, SYSTEM, data, now=created).id


def _messages(factory: sessionmaker[Session], report_id: uuid.UUID) -> list[OutboxMessage]:
    with unit_of_work(factory, write=False) as db:
        rows = list(
            db.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.focus_id == report_id)
                .order_by(OutboxMessage.created_at, OutboxMessage.recipient)
            )
        )
        db.expunge_all()
        return rows


def _last_sent(factory: sessionmaker[Session], report_id: uuid.UUID) -> dt.date | None:
    with unit_of_work(factory, write=False) as db:
        report = db.get(ScheduledReport, report_id)
        assert report is not None
        return report.last_sent_for


def test_sent_once_a_week_at_the_local_hour(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    people = _people(factory, 2)
    # Mondays at 07:00 Chicago (CDT, UTC-5 in June); made on Wednesday 5 June 2013.
    report = _report(factory, people, created=local(2013, 6, 5, 9))

    # Monday 10 June, 06:59: not yet. (Made after the 3 June send time: no catch-up email.)
    assert timers.run(factory, settings, local(2013, 6, 10, 6, 59)) == 0
    assert _messages(factory, report) == []
    # 07:00 local is 12:00 UTC: sent, one email per recipient, for Mon 3 - Sun 9 June.
    assert local(2013, 6, 10, 7) == dt.datetime(2013, 6, 10, 12, tzinfo=dt.UTC)
    assert timers.run(factory, settings, local(2013, 6, 10, 7)) == 1
    first = _messages(factory, report)
    assert sorted(m.recipient for m in first) == sorted(
        f"user-{str(u)[:8]}@clinic.example" for u in people
    )
    assert {m.channel for m in first} == {"email"}
    assert all(m.status == "pending" and m.patient_id is None for m in first)
    assert all("week of Mon 03 Jun 2013" in (m.subject or "") for m in first)
    assert _last_sent(factory, report) == dt.date(2013, 6, 3)
    # Later passes that week send nothing more.
    for later in (local(2013, 6, 10, 7, 1), local(2013, 6, 12, 15), local(2013, 6, 16, 23, 59)):
        assert timers.run(factory, settings, later) == 0
    assert len(_messages(factory, report)) == 2
    # The next Monday at 07:00: the week of 10 June.
    assert timers.run(factory, settings, local(2013, 6, 17, 7, 30)) == 1
    assert len(_messages(factory, report)) == 4
    assert _last_sent(factory, report) == dt.date(2013, 6, 10)
    # Every send is in the report's history and the audit trail.
    with unit_of_work(factory, write=False) as db:
        versions = db.scalars(
            select(RecordVersion.data)
            .where(RecordVersion.entity_id == report)
            .order_by(RecordVersion.version)
        ).all()
        assert [v["last_sent_for"] for v in versions] == [None, "2013-06-03", "2013-06-10"]
        sends = db.scalars(
            select(AuditEvent.reason).where(
                AuditEvent.entity_id == str(report), AuditEvent.action == "export"
            )
        ).all()
        assert len(sends) == 2
        assert all("emailed to 2 recipient(s)" in (r or "") for r in sends)


def test_local_hour_kept_across_the_change_to_daylight_saving_time(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    people = _people(factory, 1)
    report = _report(factory, people, created=local(2013, 2, 27, 9))
    # Monday 4 March 2013 07:00 CST is 13:00 UTC.
    assert timers.run(factory, settings, dt.datetime(2013, 3, 4, 12, 59, tzinfo=dt.UTC)) == 0
    assert timers.run(factory, settings, dt.datetime(2013, 3, 4, 13, 0, tzinfo=dt.UTC)) == 1
    # Clocks go forward on Sunday 10 March: Monday 11 March 07:00 CDT is 12:00 UTC, an hour
    # earlier in UTC than the week before. The week covered (4-10 March) holds the change.
    assert timers.run(factory, settings, dt.datetime(2013, 3, 11, 11, 59, tzinfo=dt.UTC)) == 0
    assert timers.run(factory, settings, dt.datetime(2013, 3, 11, 12, 0, tzinfo=dt.UTC)) == 1
    assert _last_sent(factory, report) == dt.date(2013, 3, 4)
    # And back on Sunday 3 November: Monday 4 November 07:00 CST is 13:00 UTC again.
    with unit_of_work(factory) as db:
        row = db.get(ScheduledReport, report)
        assert row is not None
        row.last_sent_for = dt.date(2013, 10, 21)
    assert timers.run(factory, settings, dt.datetime(2013, 11, 4, 12, 59, tzinfo=dt.UTC)) == 0
    assert timers.run(factory, settings, dt.datetime(2013, 11, 4, 13, 0, tzinfo=dt.UTC)) == 1
    assert _last_sent(factory, report) == dt.date(2013, 10, 28)
    assert len(_messages(factory, report)) == 3


def test_two_workers_at_once_send_a_week_once(
    factory: sessionmaker[Session], db_url: str, settings: Settings
) -> None:
    people = _people(factory, 3)
    report = _report(factory, people, created=local(2013, 7, 3), weekday=2, hour=18)
    now = local(2013, 7, 10, 18, 5)
    engines = [make_engine(db_url) for _ in range(4)]
    results: list[int] = []
    barrier = threading.Barrier(len(engines))

    def worker(index: int) -> None:
        barrier.wait()
        results.append(timers.run(make_sessionmaker(engines[index]), settings, now))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for engine in engines:
        engine.dispose()
    assert sorted(results) == [0, 0, 0, 1]
    sent = _messages(factory, report)
    assert len(sent) == 3
    assert len({m.recipient for m in sent}) == 3


def _discharge(factory: sessionmaker[Session], settings: Settings, when: dt.datetime) -> uuid.UUID:
    patient_id = new_patient(factory)
    encounter_id = stay(
        factory,
        patient_id,
        admit_at=when - dt.timedelta(days=3),
        discharge_at=when,
        discharge_disposition="01",
    )
    with unit_of_work(factory) as db:
        encounter = db.get(Encounter, encounter_id)
        assert encounter is not None
        assert workflow.on_discharge(db, encounter, settings, when) is not None
    return patient_id


def test_figures_are_the_measures_of_each_week(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    clinic = Clinic(factory)
    # Week of Mon 9 Sep 2013: three discharges, two seen within 7 days (4/3 and 5 days).
    seen = [_discharge(factory, settings, local(2013, 9, d, 11)) for d in (9, 11)]
    missed = _discharge(factory, settings, local(2013, 9, 13, 11))
    clinic.visit(seen[0], local(2013, 9, 13, 9))
    clinic.visit(seen[1], local(2013, 9, 16, 9))
    # Two weeks earlier (week of 26 Aug): one discharge, seen on day 2.
    early = _discharge(factory, settings, local(2013, 8, 27, 11))
    clinic.visit(early, local(2013, 8, 29, 9))
    people = _people(factory, 2)
    report = _report(factory, people, created=local(2013, 9, 1), weekday=1, hour=8)

    assert timers.run(factory, settings, local(2013, 9, 17, 8)) == 1
    sent = _messages(factory, report)
    assert len(sent) == 2
    assert sent[0].body == sent[1].body
    body = sent[0].body
    html = sent[0].attachments[0]
    assert html["content_type"] == "text/html"
    assert html["alternative"] is True
    with unit_of_work(factory, write=False) as db:
        for key in ("follow-up-7d", "referral-closure"):
            for back in range(5):
                monday = dt.date(2013, 9, 9) - dt.timedelta(weeks=back)
                result = measures.compute(db, settings, key, monday, monday + dt.timedelta(days=6))
                figure = service.week_figure(db, settings, key, monday)
                assert (figure.numerator, figure.denominator) == (
                    result.numerator,
                    result.denominator,
                )
                row = f"{figure.week_text:<28} {figure.counts_text:>9}  {figure.rate_text:>8}"
                assert row in body, row
                assert figure.counts_text in html["content"]
        week = measures.compute(
            db, settings, "follow-up-7d", dt.date(2013, 9, 9), dt.date(2013, 9, 15)
        )
        names = [
            p.family_name
            for p in db.scalars(select(Patient).where(Patient.id.in_([*seen, missed, early])))
        ]
    # The hand-worked week: 3 discharges in the denominator, 2 seen within 7 days.
    assert (week.numerator, week.denominator) == (2, 3)
    assert "This week: 66.7% (2/3 met)" in body
    assert "66.7%" in html["content"]
    # Figures only: no patient's name or id in either part.
    for text in (body, html["content"]):
        for name in names:
            assert name not in text
        for patient_id in (*seen, missed, early):
            assert str(patient_id) not in text
    assert "/quality" in body
    assert 'href="http://' in html["content"] or 'href="https://' in html["content"]


def test_service_names_recipients_who_cannot_receive_it(factory: sessionmaker[Session]) -> None:
    reachable, no_address, disabled = _people(factory, 3)
    with unit_of_work(factory) as db:
        db.add(ReportAddress(id=reachable, email="on-file@clinic.example"))
        user = db.get(User, disabled)
        assert user is not None
        user.is_active = False
    data = ReportIn(
        name="Check",
        measure_keys=["follow-up-7d"],
        recipient_ids=[reachable, no_address, disabled],
        weekday=0,
        hour=7,
    )
    with unit_of_work(factory) as db, pytest.raises(ValidationFailed) as caught:
        service.create(db, SYSTEM, data)
    fields = caught.value.fields
    assert "has no email address" in fields[f"email-{no_address}"]
    assert "disabled" in fields["recipient_ids"]
    assert f"email-{reachable}" not in fields  # its address is on file


def _form(people: list[uuid.UUID], **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "Manager's Monday report",
        "measure_keys": ["follow-up-7d", "readmission-30d"],
        "recipient_ids": [str(p) for p in people],
        **{f"email-{p}": f"m-{str(p)[:8]}@clinic.example" for p in people},
        "weekday": "0",
        "hour": "7",
    }
    form.update(changes)
    return form


def test_screens_validate_create_send_now_preview_and_deactivate(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    people = _people(factory, 2)
    sign_in(client, coordinator.username)
    page = client.get("/reports/new")
    assert page.status_code == 200
    token = csrf_from(page)

    # Unknown measure, a recipient without an address, a bad hour: each named.
    bad = _form(
        people,
        measure_keys=["follow-up-7d", "made-up"],
        hour="25",
        **{f"email-{people[1]}": ""},
    )
    answer = client.post("/reports", data={**bad, "csrf_token": token})
    assert answer.status_code == 422
    assert "Unknown measure made-up" in answer.text
    assert "Choose the hour to send at, from 00:00 to 23:00." in answer.text
    assert "Manager&#39;s Monday report" in answer.text  # what was typed is kept
    answer = client.post(
        "/reports", data={**_form(people, **{f"email-{people[1]}": ""}), "csrf_token": token}
    )
    assert answer.status_code == 422
    assert "has no email address" in answer.text
    assert f'id="f-email-{people[1]}"' in answer.text
    answer = client.post(
        "/reports", data={**_form(people, **{f"email-{people[0]}": "nope"}), "csrf_token": token}
    )
    assert answer.status_code == 422
    assert "is not a valid email address" in answer.text
    answer = client.post("/reports", data={**_form([]), "csrf_token": token})
    assert answer.status_code == 422
    assert "Tick at least one recipient." in answer.text
    with unit_of_work(factory, write=False) as db:
        assert (
            db.scalar(
                select(ScheduledReport).where(ScheduledReport.name == "Manager's Monday report")
            )
            is None
        )

    # A good one.
    answer = client.post("/reports", data={**_form(people), "csrf_token": token})
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    match = re.fullmatch(r"/reports/([0-9a-f-]{36})", location)
    assert match
    report_id = uuid.UUID(match.group(1))
    with unit_of_work(factory, write=False) as db:
        report = db.get(ScheduledReport, report_id)
        assert report is not None
        assert report.measure_keys == ["follow-up-7d", "readmission-30d"]
        assert (report.weekday, report.hour, report.is_active) == (0, 7, True)
        assert report.created_by == coordinator.id
        assert service.addresses(db, people)[people[0]] == f"m-{str(people[0])[:8]}@clinic.example"
    listing = client.get("/reports")
    assert listing.status_code == 200
    assert "Manager&#39;s Monday report" in listing.text

    # Preview: the email's figures, for the last full week; nothing queued.
    shown = client.get(f"/reports/{report_id}/preview")
    assert shown.status_code == 200
    assert "30-day readmission rate" in shown.text
    assert _messages(factory, report_id) == []

    # Send now: one email per recipient, for the last full week.
    answer = post_form(client, f"/reports/{report_id}/send", page=location)
    assert answer.status_code == 303
    sent = _messages(factory, report_id)
    assert sorted(m.recipient for m in sent) == sorted(
        f"m-{str(p)[:8]}@clinic.example" for p in people
    )
    assert _last_sent(factory, report_id) is not None

    # Edit: a stale version is refused, the current one saves.
    with unit_of_work(factory, write=False) as db:
        version = db.get(ScheduledReport, report_id).version  # type: ignore[union-attr]
    token = csrf_from(client.get(location))
    stale = client.post(
        location, data={**_form(people, hour="9"), "version": "1", "csrf_token": token}
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text
    saved = client.post(
        location,
        data={**_form(people[:1], hour="9"), "version": str(version), "csrf_token": token},
    )
    assert saved.status_code == 303
    with unit_of_work(factory, write=False) as db:
        report = db.get(ScheduledReport, report_id)
        assert report is not None
        assert (report.hour, report.recipient_ids) == (9, [str(people[0])])

    # Deactivate: the timer leaves it alone.
    answer = post_form(client, f"/reports/{report_id}/active", {"active": "no"}, page=location)
    assert answer.status_code == 303
    with unit_of_work(factory, write=False) as db:
        report = db.get(ScheduledReport, report_id)
        assert report is not None
        assert report.is_active is False


def test_only_report_managers_open_the_screens(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    clinician = make_user(factory, Role.CLINICIAN)
    sign_in(client, clinician.username)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/new").status_code == 403


def _other_writer(factory: sessionmaker[Session], report_id: uuid.UUID) -> str:
    """Whether another writer can get in now: "free", or why not. It takes the database's
    write lock (SQLite: BEGIN IMMEDIATE, which waits out the busy timeout) and the report's
    row (PostgreSQL: FOR UPDATE NOWAIT fails at once on a row another transaction locked)."""
    try:
        with unit_of_work(factory) as other:
            other.execute(
                select(ScheduledReport.id)
                .where(ScheduledReport.id == report_id)
                .with_for_update(nowait=True)
            )
    except OperationalError as exc:
        return f"blocked: {exc.orig}"
    return "free"


def _probe_during_figures(
    monkeypatch: pytest.MonkeyPatch,
    factory: sessionmaker[Session],
    report_id: uuid.UUID,
    then: dict[str, object] | None = None,
) -> list[str]:
    """While the report's figures are computed, try another writer once (and, with ``then``,
    change the report through it). Returns what it found."""
    found: list[str] = []
    real = service.figures

    def probing(
        db: Session, settings: Settings, keys: Sequence[str], monday: dt.date
    ) -> list[service.MeasureLine]:
        if not found:
            found.append(_other_writer(factory, report_id))
            if then and found == ["free"]:
                with unit_of_work(factory) as other:
                    other.execute(
                        update(ScheduledReport)
                        .where(ScheduledReport.id == report_id)
                        .values(**then, version=ScheduledReport.version + 1)
                    )
        return real(db, settings, keys, monday)

    monkeypatch.setattr(service, "figures", probing)
    return found


def test_the_timer_computes_the_figures_outside_the_write_lock(
    factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _people(factory, 1)
    report = _report(factory, people, created=local(2013, 4, 3))
    found = _probe_during_figures(monkeypatch, factory, report)
    assert timers.run(factory, settings, local(2013, 4, 8, 7)) == 1
    # Other writers (the app's requests, other workers) are not held up by the figures.
    assert found == ["free"]
    assert _last_sent(factory, report) == dt.date(2013, 4, 1)
    assert len(_messages(factory, report)) == 1


def test_the_timer_checks_the_report_again_before_sending(
    factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _people(factory, 1)
    report = _report(factory, people, created=local(2013, 4, 10))
    # The report's measures change while the figures are computed: the figures are stale,
    # so this pass sends nothing and the next one sends the new measures.
    found = _probe_during_figures(
        monkeypatch, factory, report, then={"measure_keys": ["readmission-30d"]}
    )
    assert timers.run(factory, settings, local(2013, 4, 15, 7)) == 0
    assert found == ["free"]
    assert _messages(factory, report) == []
    assert _last_sent(factory, report) is None
    assert timers.run(factory, settings, local(2013, 4, 15, 7, 1)) == 1
    sent = _messages(factory, report)
    assert len(sent) == 1
    assert "30-day readmission rate" in sent[0].body
    assert "Follow-up" not in sent[0].body


def test_send_now_computes_the_figures_outside_the_write_lock(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    people = _people(factory, 1)
    report = _report(factory, people, created=local(2013, 4, 17))
    sign_in(client, coordinator.username)
    found = _probe_during_figures(monkeypatch, factory, report)
    answer = post_form(client, f"/reports/{report}/send", page=f"/reports/{report}")
    assert answer.status_code == 303
    assert found == ["free"]
    assert len(_messages(factory, report)) == 1
    assert _last_sent(factory, report) is not None


def test_send_now_refused_when_the_measures_changed_meanwhile(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    people = _people(factory, 1)
    report = _report(factory, people, created=local(2013, 4, 24))
    sign_in(client, coordinator.username)
    _probe_during_figures(monkeypatch, factory, report, then={"measure_keys": ["no-show"]})
    answer = post_form(client, f"/reports/{report}/send", page=f"/reports/{report}")
    assert answer.status_code == 303
    shown = client.get(answer.headers["location"])
    assert "Not sent: the report&#39;s measures were changed" in shown.text
    assert _messages(factory, report) == []
    assert _last_sent(factory, report) is None


def test_send_now_to_nobody_leaves_the_week_to_the_schedule(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    people = _people(factory, 1)
    # Mondays at 00:00: this week's send time has always come by now.
    report = _report(factory, people, created=local(2013, 5, 1), hour=0)
    with unit_of_work(factory) as db:
        db.execute(update(User).where(User.id == people[0]).values(is_active=False))
    sign_in(client, coordinator.username)
    answer = post_form(client, f"/reports/{report}/send", page=f"/reports/{report}")
    assert answer.status_code == 303
    shown = client.get(answer.headers["location"])
    assert "Not sent: none of the recipients is an active user" in shown.text
    # Nothing queued, the week not marked sent, no send in the audit log.
    assert _messages(factory, report) == []
    assert _last_sent(factory, report) is None
    with unit_of_work(factory, write=False) as db:
        sends = db.scalars(
            select(AuditEvent.reason).where(
                AuditEvent.entity_id == str(report), AuditEvent.action == "export"
            )
        ).all()
    assert sends == []
    # Once the recipient can receive it, the scheduled send covers the week.
    with unit_of_work(factory) as db:
        db.execute(update(User).where(User.id == people[0]).values(is_active=True))
    now = utcnow()
    assert timers.run(factory, settings, now) == 1
    assert _last_sent(factory, report) == service.last_full_week(settings, now)
    assert len(_messages(factory, report)) == 1


def test_the_timer_computes_nothing_for_nobody(
    factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _people(factory, 1)
    report = _report(factory, people, created=local(2013, 5, 8))
    with unit_of_work(factory) as db:
        db.execute(update(User).where(User.id == people[0]).values(is_active=False))
    found = _probe_during_figures(monkeypatch, factory, report)
    assert timers.run(factory, settings, local(2013, 5, 13, 7)) == 0
    assert found == []  # no figures computed
    assert _last_sent(factory, report) is None
    with unit_of_work(factory) as db:
        db.execute(update(User).where(User.id == people[0]).values(is_active=True))
    assert timers.run(factory, settings, local(2013, 5, 14, 9)) == 1  # later that week
    assert _last_sent(factory, report) == dt.date(2013, 5, 6)


def test_an_address_change_is_audited_naming_the_user(factory: sessionmaker[Session]) -> None:
    people = _people(factory, 2)
    report = _report(factory, people, created=local(2013, 5, 15))
    with unit_of_work(factory, write=False) as db:
        users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(people)))}
    data = ReportIn(
        name="Redirected",
        measure_keys=["follow-up-7d"],
        recipient_ids=people,
        addresses={
            people[0]: "someone@elsewhere.example",  # changed
            people[1]: f"user-{str(people[1])[:8]}@clinic.example",  # as on file
        },
        weekday=0,
        hour=7,
    )
    with unit_of_work(factory) as db:
        service.update(db, SYSTEM, report, data)
    with unit_of_work(factory, write=False) as db:
        events = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "ReportAddress")
            .where(AuditEvent.entity_id.in_([str(p) for p in people]))
            .order_by(AuditEvent.occurred_at)
        ).all()
    # Two when the report was made (addresses set), one for the change; none for the same.
    changed = [e for e in events if e.entity_id == str(people[0])]
    assert [e.action for e in changed] == ["update", "update"]
    reason = changed[-1].reason or ""
    assert users[people[0]].username in reason
    assert users[people[0]].display_name in reason
    assert "someone@elsewhere.example" in reason
    assert f"user-{str(people[0])[:8]}@clinic.example" in reason  # what it was
    assert len([e for e in events if e.entity_id == str(people[1])]) == 1


def test_demo_reports(tmp_path: Path) -> None:
    for url in fresh_database("sqlite", tmp_path):
        settings = make_settings(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        try:
            with unit_of_work(factory) as db:
                demo.seed(db)
                made = synthetic.seed(db, settings)
                assert [r.name for r in made] == [
                    "Transitions of care, weekly",
                    "Referral loop closure, weekly",
                ]
                assert synthetic.seed(db, settings) == []  # idempotent
                people = service.recipients_of(db, made[0])
                assert len(people) == 3
                assert all(p.reachable for p in people)
        finally:
            engine.dispose()
