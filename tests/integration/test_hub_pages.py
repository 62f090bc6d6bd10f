"""The messaging screens over HTTP, as a browser without JavaScript uses them: the chart's
Messages tab, a new message about a patient with a mention, the inbox (unread first, the
filters), opening a thread (marks it read), replying, an attachment downloaded; billing
staff refused on a patient's threads; a file too large refused naming the limit, with what
was typed kept and nothing stored."""

from __future__ import annotations

import html
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.hub import service
from carebridge.hub.models import TeamAttachment, TeamMessage, TeamThread
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.tasks.models import Notification
from tests.factories import csrf_from, make_user, sign_in
from tests.integration.test_hub_api import count
from tests.integration.test_patients_api import new_patient

SYSTEM = Actor.system("test")


def a_patient(factory: sessionmaker[Session]) -> tuple[uuid.UUID, str]:
    with unit_of_work(factory) as db:
        found = patients.register(db, SYSTEM, PatientCreate.model_validate(new_patient()))
        return found.id, found.mrn


def text(response: Any) -> str:
    return html.unescape(response.text)


def send(client: TestClient, page: str, path: str, data: dict[str, Any], files: Any = None) -> Any:
    token = csrf_from(client.get(page))
    return client.post(path, data={**data, "csrf_token": token}, files=files)


def switch(client: TestClient, username: str) -> None:
    client.cookies.clear()
    assert sign_in(client, username).status_code == 303


def test_message_a_colleague_about_a_patient(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    clinician = make_user(factory, Role.CLINICIAN)
    colleague = make_user(factory, Role.COORDINATOR)
    patient_id, mrn = a_patient(factory)
    switch(client, coordinator.username)

    tab = client.get(f"/patients/{patient_id}/messages")
    assert tab.status_code == 200
    assert "You are in no message threads about this patient" in text(tab)
    found = text(client.get("/messages/new", params={"q": mrn}))
    assert f'<option value="{patient_id}">' in found
    assert f"MRN {mrn}" in found
    form = client.get(f"/messages/new?patient_id={patient_id}")
    assert f"MRN {mrn}" in text(form)
    assert clinician.username in text(form)

    sent = send(
        client,
        f"/messages/new?patient_id={patient_id}",
        "/messages",
        {
            "patient_id": str(patient_id),
            "to": clinician.username,
            "subject": "Insulin titration",
            "text": f"Fasting sugars 220s.\n@{colleague.username} FYI for the home visit.",
        },
        files={"attachment": ("log.csv", b"day,glucose\n1,220\n", "text/csv")},
    )
    assert sent.status_code == 303, text(sent)
    thread_url = sent.headers["location"]
    thread_id = uuid.UUID(thread_url.rsplit("/", 1)[-1])
    page = client.get(thread_url)
    assert "Insulin titration" in text(page)
    assert "Fasting sugars 220s.<br>" in page.text
    assert "log.csv" in text(page)
    assert "Insulin titration" in text(client.get(f"/patients/{patient_id}/messages"))

    switch(client, clinician.username)
    inbox = text(client.get("/messages?show=unread"))
    assert "Insulin titration" in inbox
    assert "1 unread" in inbox
    opened = client.get(thread_url)
    assert opened.status_code == 200
    assert "Insulin titration" not in text(client.get("/messages?show=unread"))
    with unit_of_work(factory) as db:
        file = db.scalar(
            select(TeamAttachment)
            .join(TeamMessage, TeamMessage.id == TeamAttachment.message_id)
            .where(TeamMessage.thread_id == thread_id)
        )
        assert file is not None
        attachment_id = file.id
    got = client.get(f"/messages/{thread_id}/attachments/{attachment_id}")
    assert got.status_code == 200
    assert got.content == b"day,glucose\n1,220\n"
    assert got.headers["content-disposition"].startswith('attachment; filename="log.csv"')

    replied = send(client, thread_url, f"/messages/{thread_id}/reply", {"text": "Up glargine 2u."})
    assert replied.status_code == 303
    assert "Up glargine 2u." in text(client.get(thread_url))

    with unit_of_work(factory) as db:
        assert service.unread_count(db, coordinator.id) == 1
        assert service.unread_count(db, colleague.id) == 2
        assert db.scalar(select(Notification.link).where(Notification.user_id == colleague.id)) == (
            thread_url
        )


def test_billing_is_refused_on_patient_threads(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    billing = make_user(factory, Role.BILLING)
    clinician = make_user(factory, Role.CLINICIAN)
    patient_id, _ = a_patient(factory)
    with unit_of_work(factory) as db:
        actor = Actor(coordinator.id, coordinator.username, coordinator.role)
        about = service.start(
            db,
            actor,
            subject="Fall at home",
            to=[clinician.username],
            patient_id=patient_id,
            text="Bruised hip, no fracture.",
        )
        plain = service.start(
            db, actor, subject="Statement run", to=[billing.username], patient_id=None, text="Hi"
        )
    switch(client, billing.username)
    assert client.get(f"/patients/{patient_id}/messages").status_code == 403
    assert client.get(f"/messages/{about.id}").status_code == 403
    assert client.get(f"/messages/new?patient_id={patient_id}").status_code == 403
    inbox = text(client.get("/messages"))
    assert "Statement run" in inbox
    assert "Fall at home" not in inbox
    form = text(client.get("/messages/new"))
    assert "About patient" not in form
    assert client.get(f"/messages/{plain.id}").status_code == 200


def test_file_too_large_is_refused_naming_the_limit(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    clinician = make_user(factory, Role.CLINICIAN)
    switch(client, coordinator.username)
    before = (
        count(factory, TeamThread),
        count(factory, TeamMessage),
        count(factory, TeamAttachment),
    )
    refused = send(
        client,
        "/messages/new",
        "/messages",
        {"to": clinician.username, "subject": "Scan", "text": "See the scan."},
        files={
            "attachment": ("scan.pdf", b"x" * (service.MAX_ATTACHMENT_BYTES + 1), "application/pdf")
        },
    )
    assert refused.status_code == 422
    page = text(refused)
    assert "“scan.pdf” is too large: attachments may be at most 5.0 MB" in page
    assert "See the scan." in page  # what was typed is kept
    after = (
        count(factory, TeamThread),
        count(factory, TeamMessage),
        count(factory, TeamAttachment),
    )
    assert after == before

    unknown = send(
        client,
        "/messages/new",
        "/messages",
        {"to": clinician.username, "subject": "Cover", "text": "@no-such-colleague-zz cover?"},
    )
    assert unknown.status_code == 422
    assert "No colleague has the username @no-such-colleague-zz" in text(unknown)
    assert count(factory, TeamThread) == before[0]
