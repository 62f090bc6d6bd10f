"""Messages to patients and families through the API and the pages: templates with checked
placeholders (an unknown one refused, naming it), the patient's language chosen, consent and
addresses checked before anything is written, email delivered by the worker to a real SMTP
server (aiosmtpd), letters as a page and a PDF, and the communication log beside the
outreach log."""

from __future__ import annotations

import datetime as dt
import html
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.communications import service, starters
from carebridge.communications.models import MessageTemplate, PatientCommunication
from carebridge.communications.schemas import MessageCreate
from carebridge.db.session import unit_of_work
from carebridge.messaging import worker
from carebridge.messaging.models import OutboxMessage
from carebridge.patients import service as patients
from carebridge.patients.schemas import ContactConsentCreate, PatientCreate, RelatedPersonCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from tests.conftest import make_settings
from tests.factories import clinic_today, csrf_from, make_user, sign_in
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import CHICAGO, book, next_weekday, ok
from tests.integration.test_sign_in import audit_rows
from tests.integration.test_worker import Inbox, consent, noon, smtp_server

api = scheduling.api
clinic = scheduling.clinic


def a_patient(api: TestClient, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        api.post("/api/v1/patients", json=new_patient(family_name=unique_name(), **extra)), 201
    )
    return result


def template(
    api: TestClient, code: str, channel: str, language: str, body: str, **extra: Any
) -> Any:
    return api.post(
        "/api/v1/communication-templates",
        json={
            "code": code,
            "name": f"Test {code}",
            "channel": channel,
            "language": language,
            "body": body,
            **extra,
        },
    )


def code() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def fields(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


def count(factory: sessionmaker[Session], model: Any, **where: Any) -> int:
    with unit_of_work(factory, write=False) as db:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(db.scalar(query) or 0)


def test_a_template_with_an_unknown_placeholder_is_refused_naming_it(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    name = code()
    refused = template(api, name, "sms", "en", "Hi {{patient.first_name}}, see {{ doctor.name }}")
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert "{{doctor.name}}" in problem["detail"]
    assert "{{doctor.name}}" in fields(refused)["body"]
    assert count(factory, MessageTemplate, code=name) == 0
    unclosed = template(api, name, "sms", "en", "Hi {{patient.first_name}")
    assert unclosed.status_code == 422
    assert "not closed" in unclosed.json()["detail"]
    no_subject = template(api, name, "email", "en", "Hello")
    assert no_subject.status_code == 422
    assert "subject" in fields(no_subject)

    made = ok(template(api, name, "sms", "en", "Hi {{ patient.first_name }}"), 201)
    assert ok(template(api, name, "sms", "en", "Again"), 409) is not None
    changed = api.patch(
        f"/api/v1/communication-templates/{made['id']}",
        json={"version": made["version"], "body": "Call {{clinic.fax}}"},
    )
    assert changed.status_code == 422
    assert "{{clinic.fax}}" in changed.json()["detail"]
    stale = api.patch(
        f"/api/v1/communication-templates/{made['id']}", json={"version": 99, "name": "Late"}
    )
    assert stale.status_code == 409
    assert api.delete(f"/api/v1/communication-templates/{made['id']}").status_code == 204
    listed = ok(api.get("/api/v1/communication-templates", params={"channel": "sms"}))
    assert made["id"] not in [t["id"] for t in listed]


def test_spanish_is_chosen_for_a_spanish_speaking_patient_and_sms_needs_consent(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    name = code()
    ok(template(api, name, "sms", "en", "Hi {{patient.first_name}}, call {{clinic.phone}}"), 201)
    ok(
        template(api, name, "sms", "es", "Hola {{patient.first_name}}, llame al {{clinic.phone}}"),
        201,
    )
    maria = a_patient(api, language="es", given_names="María Elena")
    url = f"/api/v1/patients/{maria['id']}/communications"

    # No consent to texts yet: refused with the reason, nothing written or queued.
    before = count(factory, OutboxMessage, patient_id=uuid.UUID(maria["id"]))
    refused = api.post(url, json={"channel": "sms", "template_code": name})
    assert refused.status_code == 422, refused.text
    assert "has not consented to text messages" in refused.json()["detail"]
    assert "channel" in fields(refused)
    assert count(factory, OutboxMessage, patient_id=uuid.UUID(maria["id"])) == before
    assert count(factory, PatientCommunication, patient_id=uuid.UUID(maria["id"])) == 0

    consent(api, maria["id"], "sms")
    sent = ok(api.post(url, json={"channel": "sms", "template_code": name}), 201)
    assert sent["message"]["language"] == "es"
    assert sent["message"]["body"] == "Hola María, llame al (512) 555-0100"
    assert any("Spanish" in note for note in sent["notes"])
    with unit_of_work(factory, write=False) as db:
        queued = db.get(OutboxMessage, uuid.UUID(sent["message"]["outbox_id"]))
        assert queued is not None
        assert (queued.channel, queued.status) == ("sms", "pending")
        assert queued.recipient.startswith("+1")

    # An English speaker gets the English version; a language without one falls back.
    john = a_patient(api, language="en", given_names="John")
    consent(api, john["id"], "sms")
    english = ok(
        api.post(
            f"/api/v1/patients/{john['id']}/communications",
            json={"channel": "sms", "template_code": name},
        ),
        201,
    )
    assert english["message"]["language"] == "en"
    assert english["message"]["body"].startswith("Hi John,")
    only_english = code()
    ok(template(api, only_english, "sms", "en", "Hello {{patient.last_name}}"), 201)
    fallback = ok(api.post(url, json={"channel": "sms", "template_code": only_english}), 201)
    assert fallback["message"]["language"] == "en"
    assert any("no Spanish version" in note for note in fallback["notes"])


def test_refusals_name_the_reason(api: TestClient, factory: sessionmaker[Session]) -> None:
    patient = a_patient(api, email=None)
    url = f"/api/v1/patients/{patient['id']}/communications"
    consent(api, patient["id"], "email")
    no_address = api.post(url, json={"channel": "email", "subject": "Hi", "body": "Hello"})
    assert no_address.status_code == 422
    assert "no email address on file" in no_address.json()["detail"]
    consent(api, patient["id"], "sms")
    name = code()
    ok(template(api, name, "sms", "en", "Your visit is {{appointment.date}}"), 201)
    no_visit = api.post(url, json={"channel": "sms", "template_code": name})
    assert no_visit.status_code == 422
    assert "none booked" in no_visit.json()["detail"]
    unknown = api.post(url, json={"channel": "sms", "body": "Hi {{patient.nickname}}"})
    assert unknown.status_code == 422
    assert "{{patient.nickname}}" in unknown.json()["detail"]
    missing = api.post(url, json={"channel": "sms", "template_code": "no-such-template"})
    assert missing.status_code == 422
    assert "no-such-template" in missing.json()["detail"]
    assert count(factory, PatientCommunication, patient_id=uuid.UUID(patient["id"])) == 0


def test_email_to_a_family_member_is_delivered_by_the_worker_and_logged(
    db_url: str, api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    patient = clinic["patient"]
    consent(api, patient["id"], "email")
    start = dt.datetime.combine(next_weekday(3, weeks_ahead=2), dt.time(10, 0), CHICAGO)
    ok(book(api, clinic, start), 201)
    person = ok(
        api.post(
            f"/api/v1/patients/{patient['id']}/related-persons",
            json={
                "name": "Rosa Delgado",
                "relationship": "DAU",
                "email": "rosa.delgado@example.org",
                "caregiver": True,
            },
        ),
        201,
    )
    name = code()
    ok(
        template(
            api,
            name,
            "email",
            "en",
            "Dear {{recipient.name}}, {{patient.first_name}} is seen on {{appointment.date}} "
            "at {{appointment.time}}, {{appointment.place}}.",
            subject="Visit at {{clinic.name}}",
        ),
        201,
    )
    ok(
        template(
            api,
            name,
            "email",
            "es",
            "Estimada {{recipient.name}}: la cita es el {{appointment.date}} a las "
            "{{appointment.time}}.",
            subject="Cita en {{clinic.name}}",
        ),
        201,
    )
    sent = ok(
        api.post(
            f"/api/v1/patients/{patient['id']}/communications",
            json={"channel": "email", "template_code": name, "related_person_id": person["id"]},
        ),
        201,
    )
    message = sent["message"]
    assert message["recipient_name"] == "Rosa Delgado"
    assert message["address"] == "rosa.delgado@example.org"
    assert clinic["location"]["name"] in message["body"] or message["language"] == "es"

    inbox = Inbox()
    outbox_id = uuid.UUID(message["outbox_id"])
    with smtp_server(inbox) as port:
        settings = make_settings(db_url, smtp_host="127.0.0.1", smtp_port=port)
        totals = worker.run_once(factory, settings, now=noon(), only=[outbox_id])
    assert totals.sent == 1
    [mail] = inbox.received
    assert mail["To"] == "rosa.delgado@example.org"
    assert mail["Subject"] == message["subject"]

    log = ok(api.get(f"/api/v1/patients/{patient['id']}/communications"))
    ours = [e for e in log if e["id"] == message["id"]]
    assert ours
    assert ours[0]["status"] == "sent"
    assert ours[0]["attempts"][0]["outcome"] == "accepted"
    assert "queued as" in ours[0]["attempts"][0]["detail"]
    one = ok(api.get(f"/api/v1/patients/{patient['id']}/communications/{message['id']}"))
    assert one["status"] == "sent"


def test_the_log_shows_messages_and_outreach_newest_first_filtered_by_channel(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient = a_patient(api)
    consent(api, patient["id"], "sms")
    ok(
        api.post(
            f"/api/v1/patients/{patient['id']}/outreach",
            json={"channel": "phone", "outcome": "voicemail", "note": "Left a message"},
        ),
        201,
    )
    sent = ok(
        api.post(
            f"/api/v1/patients/{patient['id']}/communications",
            json={"channel": "sms", "body": "Please call us back, {{patient.first_name}}."},
        ),
        201,
    )
    log = ok(api.get(f"/api/v1/patients/{patient['id']}/communications"))
    kinds = [(e["kind"], e["channel"]) for e in log]
    assert kinds == [("message", "sms"), ("outreach", "phone")]
    assert log[1]["summary"] == "Left a message"
    assert log[0]["id"] == sent["message"]["id"]
    phone_only = ok(
        api.get(f"/api/v1/patients/{patient['id']}/communications", params={"channel": "phone"})
    )
    assert [e["kind"] for e in phone_only] == ["outreach"]
    bad = api.get(f"/api/v1/patients/{patient['id']}/communications", params={"channel": "fax"})
    assert bad.status_code == 422


def test_a_letter_prints_as_a_page_and_a_pdf_and_is_marked_mailed(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as db:
        starters.install(db, Actor.system("test"))
    patient = a_patient(api, language="es")
    url = f"/api/v1/patients/{patient['id']}/communications"
    refused = api.post(url, json={"channel": "letter", "template_code": "welcome"})
    assert refused.status_code == 422
    assert "letters by mail" in refused.json()["detail"]
    consent(api, patient["id"], "mail")
    sent = ok(api.post(url, json={"channel": "letter", "template_code": "welcome"}), 201)
    letter = sent["message"]
    assert letter["status"] == "ready"
    assert letter["language"] == "es"
    assert letter["outbox_id"] is None
    assert "W Harrison St" in letter["address"]
    api.headers.pop("Authorization")  # the pages: as a signed-in coordinator
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(api, user.username).status_code == 303
    page = api.get(f"/patients/{patient['id']}/communications/{letter['id']}/letter")
    assert page.status_code == 200
    assert "Bienvenido/a" in html.unescape(page.text)
    pdf = api.get(f"/patients/{patient['id']}/communications/{letter['id']}/letter.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    marked = api.post(
        f"/patients/{patient['id']}/communications/{letter['id']}/mailed",
        data={"csrf_token": csrf_from(page)},
    )
    assert marked.status_code == 303
    log_page = html.unescape(
        api.get(f"/patients/{patient['id']}/communications?channel=letter").text
    )
    assert "Mailed" in log_page
    assert "Bienvenido/a" in log_page
    with unit_of_work(factory, write=False) as db:
        row = db.get(PatientCommunication, uuid.UUID(letter["id"]))
        assert row is not None
        assert row.status == "mailed"
        assert row.mailed_at is not None


def test_sending_from_the_chart_page(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    with unit_of_work(factory) as db:
        patient_id = patients.register(
            db, Actor.system("test"), PatientCreate.model_validate(new_patient(language="en"))
        ).id
    page_url = f"/patients/{patient_id}/communications"
    page = client.get(page_url)
    assert page.status_code == 200
    assert "No messages, letters or outreach" in page.text
    typed = {"channel": "sms", "body": "We have your results. Please call us."}
    refused = client.post(page_url, data={**typed, "csrf_token": csrf_from(page)})
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "has not consented to text messages" in text
    assert "We have your results. Please call us." in text  # what was typed is kept
    assert count(factory, PatientCommunication, patient_id=patient_id) == 0

    templates = client.get("/communications/templates")
    assert templates.status_code == 200
    bad = client.post(
        "/communications/templates",
        data={
            "code": code(),
            "name": "Bad",
            "channel": "sms",
            "language": "en",
            "body": "Hi {{patient.age}}",
            "csrf_token": csrf_from(templates),
        },
    )
    assert bad.status_code == 422
    assert "{{patient.age}}" in html.unescape(bad.text)

    # With consent, a text to the patient's son goes to his number, and shows in the log.
    with unit_of_work(factory) as db:
        patients.record_contact_consent(
            db,
            Actor.system("test"),
            patient_id,
            ContactConsentCreate(channel="sms", decision="permit", effective_from=clinic_today()),
        )
        son = patients.add_related_person(
            db,
            Actor.system("test"),
            patient_id,
            RelatedPersonCreate.model_validate(
                {"name": "Luis Ortega", "relationship": "SON", "phone": "312-555-0199"}
            ),
        )
    page = client.get(page_url)
    assert "Luis Ortega" in page.text
    sent = client.post(
        page_url,
        data={**typed, "related_person_id": str(son.id), "csrf_token": csrf_from(page)},
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == page_url
    log = html.unescape(client.get(page_url).text)
    assert "Luis Ortega (+13125550199)" in log
    assert "We have your results. Please call us." in log


def test_quiet_hours_hold_the_message_in_the_outbox_and_the_screen_says_so(
    db_url: str, api: TestClient, factory: sessionmaker[Session]
) -> None:
    patient = a_patient(api, language="en")
    consent(api, patient["id"], "sms")
    settings = make_settings(db_url)
    late = dt.datetime.combine(clinic_today(), dt.time(22, 30), CHICAGO).astimezone(dt.UTC)
    with unit_of_work(factory) as db:
        sent = service.send(
            db,
            Actor.system("test"),
            settings,
            uuid.UUID(patient["id"]),
            MessageCreate(channel="sms", body="Your forms are ready, {{patient.first_name}}."),
            now=late,
        )
        outbox_id = sent.message.outbox_id
    assert outbox_id is not None
    assert any("quiet hours" in note and "08:00" in note for note in sent.notes)
    sms_file = Path(settings.sms_file)
    before = sms_file.read_text() if sms_file.exists() else ""
    held = worker.run_once(factory, settings, now=late + dt.timedelta(minutes=1), only=[outbox_id])
    assert (held.sent, held.held) == (0, 1)
    with unit_of_work(factory, write=False) as db:
        row = db.get(OutboxMessage, outbox_id)
        assert row is not None
        assert row.status == "pending"
        assert row.next_attempt_at.astimezone(CHICAGO).hour == 8
    morning = dt.datetime.combine(
        clinic_today() + dt.timedelta(days=1), dt.time(8, 5), CHICAGO
    ).astimezone(dt.UTC)
    assert worker.run_once(factory, settings, now=morning, only=[outbox_id]).sent == 1
    assert "Your forms are ready" in sms_file.read_text()[len(before) :]
    log = ok(api.get(f"/api/v1/patients/{patient['id']}/communications"))
    assert [a["outcome"] for a in log[0]["attempts"]] == ["skipped", "accepted"]
    assert "quiet hours" in log[0]["attempts"][0]["detail"]
    reads = audit_rows(
        factory, patient_id=uuid.UUID(patient["id"]), entity_type="PatientCommunication"
    )
    assert {r.action for r in reads} == {"create", "read"}
