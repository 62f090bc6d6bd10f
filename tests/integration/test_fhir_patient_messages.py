"""A message sent to a patient or their family is a FHIR Communication beside the outreach
log's: a letter is in preparation until mailed; an email is in progress until the worker
delivers it, then completed with when it was sent; billing staff cannot read them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.communications import starters
from carebridge.db.session import unit_of_work
from carebridge.messaging import worker
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from tests.conftest import make_settings
from tests.integration.test_communications import a_patient, api, clinic
from tests.integration.test_fhir_read import bearer
from tests.integration.test_scheduling_api import ok
from tests.integration.test_worker import Inbox, consent, noon, smtp_server
from tests.oracles import support

__all__ = ["api", "clinic"]  # fixtures


def fhir(api: TestClient, path: str) -> Any:
    return ok(api.get(f"/fhir/R4/{path}"))


def test_a_letter_and_an_email_are_communications_that_follow_their_delivery(
    db_url: str, api: TestClient, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as db:
        starters.install(db, Actor.system("test"))
    patient = a_patient(api)
    url = f"/api/v1/patients/{patient['id']}/communications"
    consent(api, patient["id"], "mail")
    letter = ok(api.post(url, json={"channel": "letter", "template_code": "welcome"}), 201)
    drafted = fhir(api, f"Communication/{letter['message']['id']}")
    assert drafted["status"] == "preparation"
    assert drafted["recipient"][0]["reference"] == f"Patient/{patient['id']}"
    assert drafted["medium"][0]["coding"][0]["code"] == "MAILWRIT"
    assert drafted["payload"][0]["contentString"]

    consent(api, patient["id"], "email")
    email = ok(
        api.post(url, json={"channel": "email", "subject": "Hello", "body": "See you soon."}), 201
    )["message"]
    queued = fhir(api, f"Communication/{email['id']}")
    assert queued["status"] == "in-progress"
    assert "sent" not in queued
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = make_settings(db_url, smtp_host="127.0.0.1", smtp_port=port)
        done = worker.run_once(factory, settings, now=noon(), only=[uuid.UUID(email["outbox_id"])])
    assert done.sent == 1
    delivered = fhir(api, f"Communication/{email['id']}")
    assert delivered["status"] == "completed"
    assert delivered["meta"]["versionId"] == "2"
    assert dt.datetime.fromisoformat(delivered["sent"].replace("Z", "+00:00"))
    found = fhir(api, f"Communication?patient={patient['id']}&status=completed")
    assert [e["resource"]["id"] for e in found["entry"]] == [email["id"]]

    billing = api.get(
        f"/fhir/R4/Communication/{email['id']}", headers=bearer(factory, Role.BILLING)
    )
    assert billing.status_code == 403
    # What is served parses with fhirclient's strict R4 models.
    if not support.oracles_disabled():
        served = [fhir(api, f"Communication/{letter['message']['id']}"), delivered]
        assert support.fhir_strict_errors_batch(served) == [[], []]
