"""Exports (analytics.export): CSV and XLSX written as a spreadsheet reads them back, formula
injection defused, every export audited with its patients; and the de-identified extract
screen: the form, what it refuses, a file with no identifiers, the audit rows, who may."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
import zipfile
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.analytics import deidentify, export, measures
from carebridge.analytics.export import Table
from carebridge.db.session import unit_of_work
from carebridge.lib.errors import ValidationFailed
from carebridge.patients.models import Patient
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from carebridge.settings import Settings
from tests.factories import csrf_from, make_user, sign_in
from tests.integration.test_analytics_dashboard import GIVEN, KEY, _discharge, _patient, tag, text

# Discharges in January 2007, a period no other test uses.
JANUARY = ("2007-01-01", "2007-01-31")


@pytest.fixture(scope="module")
def discharged(factory: sessionmaker[Session], settings: Settings) -> list[uuid.UUID]:
    """Two patients discharged in January 2007."""
    with unit_of_work(factory) as db:
        ids = [_patient(db, f"Qx{tag()}".capitalize(), *GIVEN[n]) for n in "ab"]
    for n, patient_id in enumerate(ids):
        out = dt.datetime(2007, 1, 10 + n, 18, tzinfo=dt.UTC)
        _discharge(factory, settings, patient_id, out)
    return ids


TABLE = Table(
    title="Tricky: list/1",
    columns=["Name", "Count", "Day", "When"],
    rows=[
        ['=HYPERLINK("http://x")', 3, dt.date(2008, 2, 1), None],
        ["Zoë -minus", 2.5, None, dt.datetime(2008, 2, 1, 9, 30, tzinfo=dt.UTC)],
        ["@SUM(A1)", 0, dt.date(2008, 3, 31), None],
    ],
    zone="America/Chicago",
)


def test_csv_reads_back_with_formulas_defused() -> None:
    body = export.to_csv(TABLE)
    assert body.startswith(b"\xef\xbb\xbf")  # a byte-order mark for spreadsheet programs
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [
        ["Name", "Count", "Day", "When"],
        ['\'=HYPERLINK("http://x")', "3", "2008-02-01", ""],
        ["Zoë -minus", "2.5", "", "2008-02-01T09:30+00:00"],
        ["'@SUM(A1)", "0", "2008-03-31", ""],
    ]


def test_xlsx_reads_back_with_types_and_a_valid_sheet_title() -> None:
    book = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(TABLE)))
    sheet = book.worksheets[0]
    assert sheet.title == "Tricky  list 1"  # ":" and "/" are not allowed in sheet titles
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["Name", "Count", "Day", "When"]
    # Formula-like text is text: no apostrophe added, the cell typed and marked as a string.
    assert rows[1][0] == '=HYPERLINK("http://x")'
    assert rows[3][0] == "@SUM(A1)"
    for ref in ("A2", "A4"):
        assert sheet[ref].data_type == "s"
        assert sheet[ref].quotePrefix
    assert not sheet["A3"].quotePrefix  # "Zoë -minus" needs no marking
    with zipfile.ZipFile(io.BytesIO(export.to_xlsx(TABLE))) as unzipped:
        xml = unzipped.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml  # no formula anywhere
    assert "<f " not in xml
    assert rows[1][1] == 3
    wall = dt.datetime(2008, 2, 1, tzinfo=dt.UTC).replace(tzinfo=None)
    assert rows[1][2] == wall  # a date cell
    # Excel has no time zones: 09:30 UTC is written as the clinic's wall time, 03:30 in Chicago.
    assert rows[2][3] == wall.replace(hour=3, minute=30)
    assert sheet["A1"].font.b


def test_xlsx_refuses_an_aware_datetime_without_a_zone() -> None:
    table = Table(
        title="No zone",
        columns=["When"],
        rows=[[dt.datetime(2008, 2, 1, 9, 30, tzinfo=dt.UTC)]],
    )
    with pytest.raises(ValueError, match="zone"):
        export.to_xlsx(table)
    wall = dt.datetime(2008, 2, 1, 9, 30, tzinfo=dt.UTC).replace(tzinfo=None)
    naive = Table(title="Naive", columns=["When"], rows=[[wall]])
    sheet = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(naive))).worksheets[0]
    assert sheet["A2"].value == wall  # a wall time, written as is


def test_download_audits_the_export_and_each_patient(factory: sessionmaker[Session]) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    reason = f"export test {uuid.uuid4().hex}"
    table = Table(title="Two", columns=["x"], rows=[["1"], ["2"], ["3"]], patient_ids=[a, b, a])
    with unit_of_work(factory) as db:
        response = export.download(
            db, Actor.system("test"), table, "xlsx", entity_type="TestList", reason=reason
        )
        with pytest.raises(ValidationFailed) as refused:
            export.download(db, Actor.system("test"), table, "pdf", entity_type="T", reason="r")
    assert refused.value.fields == {"format": "Use one of csv, xlsx."}
    assert response.headers["content-disposition"].startswith('attachment; filename="two-')
    assert response.headers["content-disposition"].endswith('.xlsx"')
    with unit_of_work(factory, write=False) as db:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.reason == reason)).all()
    # One row for the export, one per distinct patient.
    assert sorted(str(r.patient_id) for r in rows) == sorted(["None", str(a), str(b)])
    assert {(r.action, r.entity_type) for r in rows} == {("export", "TestList")}


# --- the de-identified extract screen ------------------------------------------------------


def signed_in(client: TestClient, factory: sessionmaker[Session], role: Role) -> str:
    user = make_user(factory, role)
    assert sign_in(client, user.username).status_code == 303
    return user.username


def post_extract(client: TestClient, data: dict[str, str]) -> Any:
    """Post the extract form with the token its own form carries (not the menu's)."""
    page = client.get("/quality/extract").text
    form = page[page.index('<form method="post" action="/quality/extract"') :]
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
    assert token, "the extract form carries no CSRF token"
    return client.post("/quality/extract", data={**data, "csrf_token": token.group(1)})


def test_extract_page_explains_what_is_removed(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    signed_in(client, factory, Role.COORDINATOR)
    page = client.get("/quality/extract")
    assert page.status_code == 200
    body = text(page)
    for words in ("Safe Harbor", "names", "medical record", "ZIP", "90+", "Year only"):
        assert words in body
    assert 'name="csrf_token"' in page.text


def test_extract_refusals_name_the_field(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    signed_in(client, factory, Role.COORDINATOR)
    missing = post_extract(
        client,
        {"population": "measure", "measure": "", "period": "12", "dates": "x", "format": "pdf"},
    )
    assert missing.status_code == 422
    body = text(missing)
    assert "Choose the measure whose denominator to extract." in body
    assert "Choose shifted dates or year only." in body
    assert "Choose CSV or XLSX." in body
    no_token = client.post("/quality/extract", data={"population": "active"})
    assert no_token.status_code == 403


def test_extract_of_a_measure_denominator_has_no_identifiers(
    client: TestClient,
    factory: sessionmaker[Session],
    settings: Settings,
    discharged: list[uuid.UUID],
) -> None:
    username = signed_in(client, factory, Role.COORDINATOR)
    with unit_of_work(factory, write=False) as db:
        result = measures.compute(db, settings, KEY, dt.date(2007, 1, 1), dt.date(2007, 1, 31))
        people = db.scalars(
            select(Patient).where(Patient.id.in_(result.denominator_patients))
        ).all()
        identifiers = [p.mrn for p in people] + [p.family_name for p in people]
        births = {p.birth_date.year for p in people}
    assert set(result.denominator_patients) == set(discharged)
    response = post_extract(
        client,
        {
            "population": "measure",
            "measure": KEY,
            "period": "custom",
            "first": JANUARY[0],
            "last": JANUARY[1],
            "dates": "year",
            "format": "csv",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    # One patient per study id, as many as the denominator's patients.
    assert len({r["study_id"] for r in rows}) == len(result.denominator_patients)
    assert all(r["study_id"].startswith("S") and len(r["study_id"]) == 21 for r in rows)
    # Year only: the birth dates are years, and they are the patients' years.
    assert {int(r["birth_date"]) for r in rows} == births
    for identifier in identifiers:
        assert identifier not in body
    assert "mrn" not in body.splitlines()[0].lower()

    with unit_of_work(factory, write=False) as db:
        audited = db.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "DeidentifiedExtract", AuditEvent.username == username
            )
        ).all()
    # One record per extract, naming the date mode as what it is.
    assert len(audited) == 1
    assert audited[0].action == "export"
    assert audited[0].patient_id is None
    assert audited[0].reason == (
        f"De-identified extract of {len(result.denominator_patients)} patient(s), denominator "
        f"of {KEY} 2007-01-01..2007-01-31, Safe Harbor (years only)"
    )


def test_extract_of_all_active_patients_as_xlsx(
    client: TestClient, factory: sessionmaker[Session], discharged: list[uuid.UUID]
) -> None:
    signed_in(client, factory, Role.COORDINATOR)
    response = post_extract(
        client, {"population": "active", "period": "12", "dates": "shifted", "format": "xlsx"}
    )
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert rows[0][:3] == ["study_id", "age", "birth_date"]
    with unit_of_work(factory, write=False) as db:
        active = len(db.scalars(select(Patient.id).where(Patient.status == "active")).all())
    assert len({r[0] for r in rows[1:]}) == active


def test_extract_reads_outside_the_write_lock_and_is_audited_once(
    client: TestClient,
    factory: sessionmaker[Session],
    discharged: list[uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the extract reads and de-identifies, other writers go on (on SQLite a request's
    write transaction holds the one write lock: before, a write made meanwhile waited out the
    busy timeout and failed with "database is locked"). The audit record is written at the
    end, once, and says that shifted dates are not strict Safe Harbor."""
    username = signed_in(client, factory, Role.COORDINATOR)
    probe = f"written during the extract {uuid.uuid4().hex}"
    real = deidentify.extract

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        with unit_of_work(factory) as other:
            record(other, Actor.system("probe"), Action.READ, entity_type="Probe", reason=probe)
        return real(*args, **kwargs)

    monkeypatch.setattr(deidentify, "extract", meanwhile)
    response = post_extract(
        client, {"population": "active", "period": "12", "dates": "shifted", "format": "csv"}
    )
    assert response.status_code == 200, response.text
    with unit_of_work(factory, write=False) as db:
        assert db.scalars(select(AuditEvent).where(AuditEvent.reason == probe)).all()
        audited = db.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "DeidentifiedExtract", AuditEvent.username == username
            )
        ).all()
    assert len(audited) == 1
    assert audited[0].reason is not None
    assert audited[0].reason.startswith("De-identified extract of ")
    assert audited[0].reason.endswith(
        "all active patients, dates shifted per patient (not strict Safe Harbor)"
    )


def test_only_those_allowed_make_extracts(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    signed_in(client, factory, Role.CLINICIAN)
    assert client.get("/quality/extract").status_code == 403
    token = csrf_from(client.get("/quality", params={"period": "3"}))
    refused = client.post("/quality/extract", data={"population": "active", "csrf_token": token})
    assert refused.status_code == 403
