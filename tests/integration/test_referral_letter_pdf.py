"""The referral letter as a PDF: the same content as the printable page, for the same readers,
audited as a read of the referral."""

from __future__ import annotations

import re
import uuid
import zlib

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.referrals.letter_pdf import latin1
from carebridge.referrals.models import OutsideProvider
from carebridge.security.roles import Role
from tests.factories import make_user, sign_in
from tests.integration.test_patients_api import letters, new_patient
from tests.integration.test_referrals_api import valid_npi
from tests.integration.test_referrals_pages import SYSTEM, add_provider, post
from tests.integration.test_sign_in import audit_rows

STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def pdf_text(body: bytes) -> str:
    """The text shown on the pages: every content stream, inflated, as Latin-1 (the core
    fonts' encoding), with PDF string escapes undone."""
    shown = []
    for raw in STREAM.findall(body):
        try:
            data = zlib.decompress(raw)
        except zlib.error:
            data = raw
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", data):
            shown.append(re.sub(rb"\\(.)", rb"\1", literal).decode("latin-1"))
    return "\n".join(shown)


def a_referral(client: TestClient, factory: sessionmaker[Session], family: str) -> tuple[str, str]:
    """(referral id, receiving provider's name), for a new patient named ``José {family}``."""
    body = new_patient(family_name=family, given_names="José")
    with unit_of_work(factory) as db:
        patient_id = patients.register(db, SYSTEM, PatientCreate.model_validate(body)).id
    npi = valid_npi()
    provider = f"Dr Ortega {uuid.uuid4().hex[:6]}"
    assert add_provider(client, provider, npi).status_code == 303
    with unit_of_work(factory) as db:
        provider_id = db.scalar(select(OutsideProvider.id).where(OutsideProvider.npi == npi))
    made = post(
        client,
        f"/patients/{patient_id}/referrals",
        f"/patients/{patient_id}/referrals/new",
        {
            "provider_id": str(provider_id),
            "direction": "outgoing",
            "service_kind": "specialist",
            "urgency": "urgent",
            "reason": "Palpitations with syncope \u2013 please see within a week",  # en dash
            "diagnoses": "I49.9, R55",
        },
    )
    assert made.status_code == 303, made.text
    return made.headers["location"].rsplit("/", 1)[1], provider


def test_letter_pdf_has_the_letter_and_is_audited(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    family = "Nguyễn" + letters(6)  # not Latin-1: written without the accents
    referral_id, provider = a_referral(client, factory, family)

    page = client.get(f"/referrals/{referral_id}/letter")
    assert f'href="/referrals/{referral_id}/letter.pdf"' in page.text
    assert "Download PDF" in page.text

    before = len(audit_rows(factory, entity_id=referral_id, action="read"))
    response = client.get(f"/referrals/{referral_id}/letter.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"%PDF-")
    assert response.content.rstrip().endswith(b"%%EOF")
    shown = pdf_text(response.content)
    assert f"José {latin1(family)}" in shown
    assert latin1(family) == "Nguyen" + family[6:]
    assert provider in shown
    assert "I49.9" in shown
    assert "Syncope and collapse" in shown
    assert "Urgency: Urgent" in shown
    assert "Palpitations with syncope - please see within a week" in shown
    after = audit_rows(factory, entity_id=referral_id, action="read")
    assert len(after) == before + 1
    assert after[-1].user_id == user.id


def test_letter_pdf_needs_referral_read(client: TestClient, factory: sessionmaker[Session]) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, coordinator.username).status_code == 303
    referral_id, _provider = a_referral(client, factory, "Okafor" + letters(6))
    client.cookies.clear()

    billing = make_user(factory, Role.BILLING)  # sees claims, not clinical referrals
    assert sign_in(client, billing.username).status_code == 303
    refused = client.get(f"/referrals/{referral_id}/letter.pdf")
    assert refused.status_code == 403
    assert not refused.content.startswith(b"%PDF")
    client.cookies.clear()

    missing = make_user(factory, Role.CLINICIAN)
    assert sign_in(client, missing.username).status_code == 303
    assert client.get(f"/referrals/{uuid.uuid4()}/letter.pdf").status_code == 404
