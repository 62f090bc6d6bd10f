"""Records imported from another system appear on the patient's chart: a hospital's bundle is
imported into the test server's database, and in Chromium the coordinator finds the chart's
"Imported records" tab, narrows it to immunizations, and opens one to read it in words and
as received."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.fhir import imports
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _bundle(family: str) -> dict[str, object]:
    pid = str(uuid.uuid4())
    resources = [
        {
            "resourceType": "Patient",
            "id": pid,
            "name": [{"family": family, "given": ["Inés"]}],
            "gender": "female",
            "birthDate": "1948-02-11",
        },
        {
            "resourceType": "Immunization",
            "id": str(uuid.uuid4()),
            "status": "completed",
            "vaccineCode": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/cvx",
                        "code": "140",
                        "display": "Influenza, seasonal, injectable, preservative free",
                    }
                ]
            },
            "patient": {"reference": f"urn:uuid:{pid}"},
            "occurrenceDateTime": "2019-03-12T09:30:00-05:00",
        },
        {
            "resourceType": "Observation",
            "id": str(uuid.uuid4()),
            "status": "final",
            "code": {
                "coding": [
                    {"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}
                ]
            },
            "subject": {"reference": f"urn:uuid:{pid}"},
            "effectiveDateTime": "2024-05-02",
            "valueQuantity": {"value": 7.9, "unit": "%"},
        },
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": f"urn:uuid:{r['id']}", "resource": r, "request": {"method": "POST"}}
            for r in resources
        ],
    }


def test_imported_history_is_read_on_the_chart(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    family = "Imported" + uuid.uuid4().hex[:6]
    source = tmp_path / "county-hospital.json"
    source.write_text(json.dumps(_bundle(family)))
    summary = imports.import_files(
        live_server.factory, Actor.system("e2e"), [source], namespace="county-hospital"
    )
    assert summary.failed == []

    with unit_of_work(live_server.factory, write=False) as db:
        chart = db.scalars(select(Patient.id).where(Patient.family_name == family)).one()

    sign_in(page, "coordinator")
    page.goto(f"/patients/{chart}")
    page.get_by_role("navigation", name="Chart sections").get_by_role(
        "link", name="Imported records"
    ).click()
    expect(page.get_by_role("heading", name="Imported records")).to_be_visible()
    assert_accessible(page)
    table = page.get_by_role("table")
    expect(table).to_contain_text("Hemoglobin A1c")
    expect(table).to_contain_text("7.9 %")
    expect(table).to_contain_text("Influenza, seasonal")

    page.get_by_role("link", name="county-hospital").click()
    expect(
        page.get_by_role("heading", name="Patient record as county-hospital sent it")
    ).to_be_visible()
    expect(
        page.get_by_label("The patient record as county-hospital sent it, in FHIR JSON")
    ).to_contain_text('"birthDate": "1948-02-11"')
    assert_accessible(page)
    page.get_by_role("link", name="All imported records").click()
    page.get_by_role("navigation", name="Record types").get_by_role(
        "link", name="Immunization (1)"
    ).click()
    expect(table).not_to_contain_text("Hemoglobin A1c")
    page.get_by_role("link", name="Influenza, seasonal, injectable, preservative free").click()
    expect(page.get_by_role("heading", name="As received")).to_be_visible()
    expect(page.get_by_text("county-hospital")).to_be_visible()
    expect(page.get_by_label("The record as the sender gave it, in FHIR JSON")).to_contain_text(
        '"vaccineCode"'
    )
    assert_accessible(page)


def test_an_administrator_imports_files_from_the_import_page(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    family = "Uploaded" + uuid.uuid4().hex[:6]
    bundle = tmp_path / "hospital-export.json"
    bundle.write_text(json.dumps(_bundle(family)))
    wrong = tmp_path / "notes.txt"
    wrong.write_text("not FHIR")

    sign_in(page, "admin")
    page.get_by_role("link", name="FHIR import").click()
    expect(page.get_by_role("heading", name="FHIR import", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Sender").fill("county-hospital")
    page.get_by_label("Files").set_input_files(str(wrong))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Not a .json or .ndjson file: notes.txt")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Files").set_input_files(str(bundle))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Import from county-hospital")).to_be_visible()
    # The page follows the import until it is done (it refreshes itself every few seconds).
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible(timeout=20_000)
    table = page.get_by_role("table", name="What the import did, per resource type")
    expect(table.get_by_role("row", name="Immunization 1 0 0")).to_be_visible()
    expect(table.get_by_role("row", name="Patient 1 0 0")).to_be_visible()
    assert_accessible(page)
    with unit_of_work(live_server.factory, write=False) as db:
        assert db.scalars(select(Patient.id).where(Patient.family_name == family)).one()
