"""The quality dashboard over HTTP on hand-built discharges in February and March 2008 (a
period no other test uses), with every expected number worked out below: the figures, the
breakdowns by provider, coordinator and payer, what the filters change, the drill-down
behind each number (audited per patient), the exports, and who may see them.

The scenario (clinic zone America/Chicago), measure follow-up-7d (a fulfilled visit on days
1-7 after discharge):

====  ==========  ==========  =================================  ===========  ===============
pt    discharged  seen        care-team PCP                      coordinator  primary payer
====  ==========  ==========  =================================  ===========  ===============
A     Mar 5       Mar 8 (met) Alpha (staff user), from 2007      -            -
B     Mar 12      never       Beta (outside provider, by NPI)    -            Acme from Jan 1
C     Feb 20      Feb 22 met  -                                  Una          -
D     Mar 20      Mar 24 met  Alpha until Mar 10 (ended)         Una          Acme ended Mar 1
====  ==========  ==========  =================================  ===========  ===============

Period Feb 1 - Mar 31: denominator A B C D = 4, numerator A C D = 3 (75 %).
By provider: Alpha 1/1 (A); Beta 0/1 (B); not attributed 2/2 (C; D's PCP ended before).
By coordinator: Una 2/2 (C D); none 1/2 (A B). By payer: Acme 0/1 (B); none 3/3 (A C D).
By month: Feb 1/1, Mar 2/3.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import io
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.analytics import breakdown, measures, views
from carebridge.analytics.results import Measure, MeasureResult
from carebridge.careplans.models import CareTeamMember
from carebridge.coverage.models import Coverage, Payer
from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.patients.schemas import PatientCreate
from carebridge.scheduling import measures as access_measures
from carebridge.scheduling.models import Appointment, AppointmentType, Location, Practitioner
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from carebridge.settings import Settings
from carebridge.transitions import workflow
from carebridge.transitions.models import Encounter
from tests.factories import make_user, sign_in

SYSTEM = Actor.system("test")
CST = dt.timezone(dt.timedelta(hours=-6))  # Chicago in February and early March 2008
YEAR = 2008
PERIOD = {"period": "custom", "first": "2008-02-01", "last": "2008-03-31"}
KEY = "follow-up-7d"


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(YEAR, month, day, hour, tzinfo=CST).astimezone(dt.UTC)


def tag() -> str:
    return "".join(random.choices("abcdefghijklmnopqrstuvwxyz", k=8))


@dataclass
class Scenario:
    a: uuid.UUID
    b: uuid.UUID
    c: uuid.UUID
    d: uuid.UUID
    alpha: uuid.UUID
    beta: uuid.UUID
    una: uuid.UUID
    acme: uuid.UUID
    names: dict[uuid.UUID, str]
    labels: dict[str, str]


GIVEN = {"a": ("Ada", 1941), "b": ("Bea", 1952), "c": ("Cyrus", 1963), "d": ("Dot", 1974)}


def _patient(db: Session, family: str, given: str, born: int) -> uuid.UUID:
    return patients.register(
        db,
        SYSTEM,
        PatientCreate(
            family_name=family, given_names=given, birth_date=dt.date(born, 1, 2), sex="female"
        ),
    ).id


def _discharge(
    factory: sessionmaker[Session], settings: Settings, patient_id: uuid.UUID, out: dt.datetime
) -> None:
    with unit_of_work(factory) as db:
        encounter = Encounter(
            patient_id=patient_id,
            facility="GENERAL",
            visit_number=uuid.uuid4().hex[:10],
            class_code="IMP",
            status="finished",
            admission_type="R",
            diagnoses=[],
            admit_at=out - dt.timedelta(days=3),
            discharge_at=out,
            discharge_disposition="01",
        )
        db.add(encounter)
        db.flush()
        assert workflow.on_discharge(db, encounter, settings, out) is not None


@pytest.fixture(scope="module")
def scenario(factory: sessionmaker[Session], settings: Settings) -> Scenario:
    return build_scenario(factory, settings)


def build_scenario(factory: sessionmaker[Session], settings: Settings) -> Scenario:
    """The records of the table in the module's docstring (the browser tests use it too)."""
    assert settings.timezone == "America/Chicago"
    suffix = tag()
    staff = make_user(factory, Role.CLINICIAN)
    una = make_user(factory, Role.COORDINATOR)
    with unit_of_work(factory) as db:
        alpha = Practitioner(name=f"Dr Alpha {suffix}", user_id=staff.id)
        beta = Practitioner(
            name=f"Dr Beta {suffix}", npi="9" + "".join(random.choices("0123456789", k=9))
        )
        place = Location(name=f"Clinic {suffix}", timezone="America/Chicago")
        kind = AppointmentType(
            code=f"qd-{suffix}", name="Follow-up", duration_minutes=30, modality="in-person"
        )
        acme = Payer(name=f"Acme Health {suffix}", payer_id=f"ACME{suffix}")
        db.add_all([alpha, beta, place, kind, acme])
        db.flush()
        family = {n: f"Qd{n}{tag()}".capitalize() for n in "abcd"}
        ids = {n: _patient(db, family[n], *GIVEN[n]) for n in "abcd"}
        names = {ids[n]: f"{family[n]}, {GIVEN[n][0]}" for n in ids}  # as the list shows them
        db.add_all(
            [
                CareTeamMember(
                    patient_id=ids["a"],
                    member_kind="staff",
                    user_id=staff.id,
                    name=alpha.name,
                    role="pcp",
                    start_on=dt.date(2007, 1, 1),
                ),
                CareTeamMember(
                    patient_id=ids["b"],
                    member_kind="provider",
                    name="Beta as the hospital spells it",
                    npi=beta.npi,
                    role="pcp",
                    start_on=dt.date(2007, 1, 1),
                ),
                CareTeamMember(
                    patient_id=ids["d"],
                    member_kind="staff",
                    user_id=staff.id,
                    name=alpha.name,
                    role="pcp",
                    start_on=dt.date(2007, 1, 1),
                    end_on=dt.date(2008, 3, 10),
                ),
                # A nurse is not a PCP: C stays unattributed.
                CareTeamMember(
                    patient_id=ids["c"],
                    member_kind="staff",
                    user_id=staff.id,
                    name=alpha.name,
                    role="nurse",
                    start_on=dt.date(2007, 1, 1),
                ),
                Coverage(
                    patient_id=ids["b"],
                    payer_ref=acme.id,
                    member_id="M1",
                    rank=1,
                    start_on=dt.date(2008, 1, 1),
                ),
                Coverage(
                    patient_id=ids["d"],
                    payer_ref=acme.id,
                    member_id="M2",
                    rank=1,
                    start_on=dt.date(2007, 1, 1),
                    end_on=dt.date(2008, 3, 1),
                ),
                # Secondary coverage does not make a payer.
                Coverage(
                    patient_id=ids["a"],
                    payer_ref=acme.id,
                    member_id="M3",
                    rank=2,
                    start_on=dt.date(2007, 1, 1),
                ),
            ]
        )
        for n in "cd":
            chart = db.get(Patient, ids[n])
            assert chart is not None
            chart.primary_coordinator_id = una.id
        scene = Scenario(
            a=ids["a"],
            b=ids["b"],
            c=ids["c"],
            d=ids["d"],
            alpha=alpha.id,
            beta=beta.id,
            una=una.id,
            acme=acme.id,
            names=names,
            labels={"alpha": alpha.name, "beta": beta.name, "acme": acme.name},
        )
        scene.labels["una"] = una.display_name
        place_id, kind_id, doctor = place.id, kind.id, beta.id
    for patient_id, out in (
        (scene.a, at(3, 5)),
        (scene.b, at(3, 12)),
        (scene.c, at(2, 20)),
        (scene.d, at(3, 20)),
    ):
        _discharge(factory, settings, patient_id, out)
    with unit_of_work(factory) as db:
        for patient_id, seen in ((scene.a, at(3, 8)), (scene.c, at(2, 22)), (scene.d, at(3, 24))):
            db.add(
                Appointment(
                    patient_id=patient_id,
                    practitioner_id=doctor,
                    location_id=place_id,
                    appointment_type_id=kind_id,
                    starts_at=seen,
                    ends_at=seen + dt.timedelta(minutes=30),
                    held_until=seen + dt.timedelta(minutes=30),
                    status="fulfilled",
                    modality="in-person",
                    patient_token=uuid.uuid4().hex,
                )
            )
    return scene


def text(response: Any) -> str:
    return html.unescape(response.text)


def signed_in(client: TestClient, factory: sessionmaker[Session], role: Role) -> TestClient:
    user = make_user(factory, role)
    assert sign_in(client, user.username).status_code == 303
    return client


def figures_row(page: str, title: str) -> str:
    """The table row of the measure ``title`` on the dashboard."""
    start = page.index(title)
    return page[start : page.index("</tr>", start)]


# --- the attribution, from the records --------------------------------------------------------


def test_attribution_from_care_team_coverage_and_coordinator(
    factory: sessionmaker[Session], settings: Settings, scenario: Scenario
) -> None:
    s = scenario
    with unit_of_work(factory, write=False) as db:
        result = measures.compute(db, settings, KEY, dt.date(2008, 2, 1), dt.date(2008, 3, 31))
        attribution = breakdown.attribute(db, result.cases)
    assert (result.numerator, result.denominator) == (3, 4)

    def by(dimension: str) -> dict[str, tuple[int, int]]:
        return {
            g.label: (g.figures.numerator, g.figures.denominator)
            for g in breakdown.groups(result.cases, attribution, dimension)
        }

    assert by("provider") == {
        s.labels["alpha"]: (1, 1),
        s.labels["beta"]: (0, 1),
        "Not attributed": (2, 2),
    }
    assert by("coordinator") == {s.labels["una"]: (2, 2), "No primary coordinator": (1, 2)}
    assert by("payer") == {s.labels["acme"]: (0, 1), "No coverage on file": (3, 3)}
    assert by("location") == {"Not attributed": (3, 4)}
    months = breakdown.trend(result.cases, dt.date(2008, 2, 1), dt.date(2008, 3, 31))
    assert [(m.label, m.figures.numerator, m.figures.denominator) for m in months] == [
        ("Feb 2008", 1, 1),
        ("Mar 2008", 2, 3),
    ]
    only_una = breakdown.select_cases(result.cases, attribution, {"coordinator": s.una})
    assert {c.patient_id for c in only_una} == {s.c, s.d}
    unattributed = breakdown.select_cases(result.cases, attribution, {"provider": "none"})
    assert {c.patient_id for c in unattributed} == {s.c, s.d}


# --- the dashboard ---------------------------------------------------------------------------


def test_dashboard_figures_and_filters(
    client: TestClient, factory: sessionmaker[Session], scenario: Scenario
) -> None:
    s = scenario
    signed_in(client, factory, Role.COORDINATOR)
    page = client.get("/quality", params=PERIOD)
    assert page.status_code == 200, page.text
    body = text(page)
    title = measures.REGISTRY[KEY].title
    row = figures_row(body, title)
    assert "75.0 %" in row
    assert ">3</a> / <a" in row
    assert ">4</a>" in row
    assert "1 care gap" in row
    # Every measure of the registry is listed, with its group and direction.
    for measure in measures.REGISTRY.values():
        assert measure.title in body
    assert "Lower is better" in figures_row(body, measures.REGISTRY["readmission-30d"].title)
    # The trend chart is an accessible SVG with the months said in words.
    assert f'id="trend-{KEY}-title"' in body
    assert "Feb 2008: 100 %; Mar 2008: 66.7 %" in body
    assert 'role="img"' in body
    # The breakdown chart, by provider for the first measure unless chosen.
    chosen = client.get("/quality", params={**PERIOD, "chart": KEY, "by": "payer"})
    chosen_body = text(chosen)
    assert f"{s.labels['acme']}: 0.0 % (0 of 1)" in chosen_body
    assert "No coverage on file: 100.0 % (3 of 3)" in chosen_body

    # Filters change the numbers: Alpha's patients (A only) 1/1, Beta's (B) 0/1.
    alpha = text(client.get("/quality", params={**PERIOD, "provider": str(s.alpha)}))
    assert "100.0 %" in figures_row(alpha, title)
    assert ">1</a> / <a" in figures_row(alpha, title)
    beta = text(client.get("/quality", params={**PERIOD, "provider": str(s.beta)}))
    assert "0.0 %" in figures_row(beta, title)
    assert ">0</a> / <a" in figures_row(beta, title)
    una = text(client.get("/quality", params={**PERIOD, "coordinator": str(s.una)}))
    assert ">2</a> / <a" in figures_row(una, title)
    # Filter values stay chosen in the form.
    assert f'<option value="{s.una}" selected>' in una

    # A period without cases: 0 / 0, rate "—".
    empty = text(
        client.get(
            "/quality", params={"period": "custom", "first": "2008-06-01", "last": "2008-06-30"}
        )
    )
    assert "—" in figures_row(empty, title)

    with unit_of_work(factory, write=False) as db:
        read = db.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "QualityDashboard")
        ).all()
    assert read, "the dashboard read is audited"


def test_filters_that_are_wrong_are_named(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    signed_in(client, factory, Role.COORDINATOR)
    bad = client.get(
        "/quality",
        params={"period": "custom", "first": "2008-03-31", "last": "2008-02-01", "payer": "x"},
    )
    assert bad.status_code == 422
    body = text(bad)
    assert "The last day is before the first" in body
    assert "Choose a payer from the list." in body
    assert 'value="2008-03-31"' in body  # what was typed is kept
    too_long = client.get(
        "/quality", params={"period": "custom", "first": "2005-01-01", "last": "2008-01-01"}
    )
    assert too_long.status_code == 422
    assert "at most 731 days" in text(too_long)
    unknown = client.get("/quality/measures/no-such-measure")
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"first": "20080201"}, "first", "Enter the day as YYYY-MM-DD"),
        ({"last": "2008-W13-1"}, "last", "Enter the day as YYYY-MM-DD"),
        ({"by": "colour"}, "by", "Break down by: choose provider, coordinator"),
        ({"chart": "no-such-measure"}, "chart", "Measure to chart: choose one of the measures"),
    ],
)
def test_odd_dates_and_unknown_choices_are_refused_by_name(
    client: TestClient,
    factory: sessionmaker[Session],
    params: dict[str, str],
    field: str,
    message: str,
) -> None:
    """Only YYYY-MM-DD is a day (not 20080201 nor a week date), and an unknown breakdown or
    chart is refused, not silently swapped for the default."""
    signed_in(client, factory, Role.COORDINATOR)
    for path in ("/quality", f"/quality/measures/{KEY}", "/quality/export"):
        refused = client.get(path, params={**PERIOD, **params})
        assert refused.status_code == 422, (path, refused.text)
        assert message in text(refused), path
    assert field in views.read_filters({**PERIOD, **params}, dt.date(2026, 1, 1)).errors


def test_measure_page_definition_trend_and_breakdown(
    client: TestClient, factory: sessionmaker[Session], scenario: Scenario
) -> None:
    s = scenario
    signed_in(client, factory, Role.CLINICIAN)
    page = client.get(f"/quality/measures/{KEY}", params={**PERIOD, "by": "coordinator"})
    assert page.status_code == 200, page.text
    body = text(page)
    measure = measures.REGISTRY[KEY]
    for part in (measure.numerator, measure.denominator, measure.exclusions, measure.period):
        assert part in body
    assert f"{s.labels['una']}: 100.0 % (2 of 2)" in body
    assert "No primary coordinator: 50.0 % (1 of 2)" in body
    assert "Mar 2008: 66.7 %" in body
    # The group's numbers link to their drill-down, with the group as a filter.
    assert (
        f"set=numerator&period=custom&first=2008-02-01&last=2008-03-31&coordinator={s.una}" in body
    )


def _counting(calls: Counter[str]) -> dict[str, Measure]:
    """The registry with each measure's computation counted."""

    def counted(measure: Measure) -> Measure:
        def compute(db: Session, settings: Settings, first: dt.date, last: dt.date) -> Any:
            calls[measure.key] += 1
            return measure.compute(db, settings, first, last)

        return dataclasses.replace(measure, compute=compute)

    return {key: counted(m) for key, m in measures.REGISTRY.items()}


def test_dashboard_computes_each_measure_once_and_no_free_time_search(
    client: TestClient,
    factory: sessionmaker[Session],
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: Counter[str] = Counter()
    monkeypatch.setattr(views, "REGISTRY", _counting(calls))

    def no_search(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the dashboard searched free times (third-next-available)")

    monkeypatch.setattr(access_measures, "access", no_search)
    signed_in(client, factory, Role.COORDINATOR)
    page = client.get("/quality", params={**PERIOD, "chart": KEY, "by": "payer"})
    assert page.status_code == 200, page.text
    assert calls == Counter(dict.fromkeys(measures.REGISTRY, 1))
    body = text(page)
    assert "No coverage on file: 100.0 % (3 of 3)" in body  # the chosen breakdown
    # Third-next-available has its own page, linked from the dashboard and the tabs.
    assert 'id="tnaa-heading"' not in page.text
    assert 'href="/quality/access"' in page.text  # the tab
    assert 'href="/quality/access?period=custom' in page.text  # the link, keeping the filters


def test_access_page_lists_third_next_available_per_practitioner(
    client: TestClient, factory: sessionmaker[Session], scenario: Scenario
) -> None:
    s = scenario
    user = make_user(factory, Role.CLINICIAN)
    assert sign_in(client, user.username).status_code == 303
    page = client.get("/quality/access", params=PERIOD)
    assert page.status_code == 200, page.text
    body = text(page)
    assert "Third-next-available appointment" in body
    assert 'aria-current="page">Access</a>' in page.text
    assert s.labels["alpha"] in body
    assert s.labels["beta"] in body
    alpha = text(client.get("/quality/access", params={**PERIOD, "provider": str(s.alpha)}))
    assert s.labels["alpha"] in alpha
    assert s.labels["beta"] not in alpha.split("</table>")[0].split("<tbody>")[-1]
    wrong = client.get("/quality/access", params={**PERIOD, "first": "20080201"})
    assert wrong.status_code == 422
    assert "Enter the day as YYYY-MM-DD" in text(wrong)
    with unit_of_work(factory, write=False) as db:
        audited = db.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "AccessMeasures", AuditEvent.username == user.username
            )
        ).all()
    assert len(audited) == 2  # one read per page shown, none for the refused one
    assert client.get("/quality/access").status_code == 200  # the default period


# --- the drill-down --------------------------------------------------------------------------


def listed(body: str, scenario: Scenario) -> set[uuid.UUID]:
    return {pid for pid, name in scenario.names.items() if name in body}


def test_drill_down_lists_exactly_the_patients_behind_the_number(
    client: TestClient, factory: sessionmaker[Session], scenario: Scenario
) -> None:
    s = scenario
    signed_in(client, factory, Role.COORDINATOR)
    path = f"/quality/measures/{KEY}/patients"
    numerator = client.get(path, params={**PERIOD, "set": "numerator"})
    assert numerator.status_code == 200
    assert listed(text(numerator), s) == {s.a, s.c, s.d}
    assert "3 cases, 3 patients" in text(numerator)
    for pid in (s.a, s.c, s.d):
        assert f'href="/patients/{pid}"' in numerator.text
    denominator = text(client.get(path, params={**PERIOD, "set": "denominator"}))
    assert listed(denominator, s) == {s.a, s.b, s.c, s.d}
    assert "12 Mar 2008" in denominator  # B's case date
    gap = text(client.get(path, params={**PERIOD, "set": "gap"}))
    assert listed(gap, s) == {s.b}
    assert "Not met" in gap
    # With a filter: the payer Acme's denominator is B alone; nobody's payer, A C D.
    acme = text(client.get(path, params={**PERIOD, "set": "denominator", "payer": str(s.acme)}))
    assert listed(acme, s) == {s.b}
    nobody = text(client.get(path, params={**PERIOD, "set": "denominator", "payer": "none"}))
    assert listed(nobody, s) == {s.a, s.c, s.d}

    with unit_of_work(factory, write=False) as db:
        rows = db.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "QualityDrillDown",
                AuditEvent.patient_id.in_([s.a, s.b, s.c, s.d]),
                AuditEvent.reason.like("numerator %"),
            )
        ).all()
    # One read per patient shown on the numerator page.
    assert sorted(str(r.patient_id) for r in rows) == sorted(str(p) for p in (s.a, s.c, s.d))
    assert {r.action for r in rows} == {"read"}

    wrong = client.get(path, params={**PERIOD, "set": "everyone"})
    assert wrong.status_code == 422
    assert "Choose numerator, denominator or gap." in text(wrong)


def test_drill_down_days_are_rounded_to_one_decimal(
    client: TestClient,
    factory: sessionmaker[Session],
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A median measure's cases carry fractional days (lead time from a booking at 10:00 to a
    visit at 09:00 32 days later is 31.958... days); the list shows one decimal."""
    real = measures.REGISTRY[KEY]

    def with_days(db: Session, settings: Settings, first: dt.date, last: dt.date) -> Any:
        result: MeasureResult = real.compute(db, settings, first, last)
        cases = [dataclasses.replace(c, days=31.958333333333332) for c in result.cases]
        return dataclasses.replace(result, cases=cases)

    fake = dataclasses.replace(real, compute=with_days, median_label="median days")
    monkeypatch.setattr(views, "REGISTRY", {**measures.REGISTRY, KEY: fake})
    signed_in(client, factory, Role.COORDINATOR)
    path = f"/quality/measures/{KEY}/patients"
    page = client.get(path, params={**PERIOD, "set": "numerator"})
    assert page.status_code == 200, page.text
    assert "<td>32.0</td>" in page.text
    assert "31.95" not in page.text
    listed_csv = csv_rows(client.get(f"{path}/export", params={**PERIOD, "format": "csv"}))
    assert listed_csv[0][-1] == "Days"
    assert {r[-1] for r in listed_csv[1:]} == {"32.0"}


def test_drill_down_pages_audit_only_the_patients_shown(
    client: TestClient,
    factory: sessionmaker[Session],
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = scenario
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    path = f"/quality/measures/{KEY}/patients"
    # The denominator's 4 cases sorted by name: 3 on page 1, 1 on page 2.
    first = text(client.get(path, params={**PERIOD, "set": "denominator"}))
    second = text(client.get(path, params={**PERIOD, "set": "denominator", "page": "2"}))
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second
    on_first, on_second = listed(first, s), listed(second, s)
    assert len(on_first) == 3
    assert len(on_second) == 1
    assert on_first | on_second == {s.a, s.b, s.c, s.d}
    with unit_of_work(factory, write=False) as db:
        rows = db.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "QualityDrillDown", AuditEvent.username == user.username
            )
        ).all()
    assert len(rows) == 4  # 3 for page 1, 1 for page 2
    assert {r.patient_id for r in rows} == {s.a, s.b, s.c, s.d}


# --- exports ---------------------------------------------------------------------------------


def csv_rows(response: Any) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response: Any) -> list[list[Any]]:
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def test_exports_parse_back_and_are_audited(
    client: TestClient, factory: sessionmaker[Session], scenario: Scenario
) -> None:
    s = scenario
    signed_in(client, factory, Role.COORDINATOR)
    table = csv_rows(client.get("/quality/export", params={**PERIOD, "format": "csv"}))
    assert table[0][:8] == [
        "Group",
        "Measure",
        "Key",
        "First day",
        "Last day",
        "Numerator",
        "Denominator",
        "Rate %",
    ]
    ours = next(r for r in table if r[2] == KEY)
    assert ours[3:8] == ["2008-02-01", "2008-03-31", "3", "4", "75.0"]
    assert len(table) == 1 + len(measures.REGISTRY)

    sheet = xlsx_rows(client.get("/quality/export", params={**PERIOD, "format": "xlsx"}))
    ours_x = next(r for r in sheet if r[2] == KEY)
    assert ours_x[5:8] == [3, 4, 75.0]

    by_payer = csv_rows(
        client.get(
            f"/quality/measures/{KEY}/export", params={**PERIOD, "by": "payer", "format": "csv"}
        )
    )
    assert by_payer[0][0] == "Payer or month"
    assert [s.labels["acme"], "0", "1", "0.0", "1", ""] in by_payer
    assert ["No coverage on file", "3", "3", "100.0", "3", ""] in by_payer
    assert ["Month 2008-03", "2", "3", "66.7", "3", ""] in by_payer

    gap = client.get(
        f"/quality/measures/{KEY}/patients/export",
        params={**PERIOD, "set": "gap", "format": "xlsx"},
    )
    gap_rows = xlsx_rows(gap)
    assert gap_rows[0] == ["Patient", "MRN", "Case date", "Met"]
    assert [r[0] for r in gap_rows[1:]] == [s.names[s.b]]
    assert gap_rows[1][3] == "no"
    listed_csv = csv_rows(
        client.get(
            f"/quality/measures/{KEY}/patients/export",
            params={**PERIOD, "set": "numerator", "format": "csv"},
        )
    )
    assert sorted(r[0] for r in listed_csv[1:]) == sorted(s.names[p] for p in (s.a, s.c, s.d))
    # Case dates are the discharge dates: A Mar 5, C Feb 20, D Mar 20.
    assert {r[2] for r in listed_csv[1:]} == {"2008-03-05", "2008-02-20", "2008-03-20"}

    with unit_of_work(factory, write=False) as db:
        exported = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "export",
                AuditEvent.entity_type == "QualityDrillDown",
                AuditEvent.patient_id.in_([s.a, s.b, s.c, s.d]),
            )
        ).all()
    assert {e.patient_id for e in exported} == {s.a, s.b, s.c, s.d}

    refused = client.get("/quality/export", params={**PERIOD, "format": "pdf"})
    assert refused.status_code == 422


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        (Role.BILLING, "/quality", 403),
        (Role.BILLING, f"/quality/measures/{KEY}/patients", 403),
        (Role.BILLING, "/quality/export", 403),
        (Role.ADMIN, "/quality", 403),
        (Role.CLINICIAN, "/quality/extract", 403),
        (Role.CLINICIAN, "/quality", 200),
        (Role.COORDINATOR, "/quality/extract", 200),
    ],
)
def test_who_may_open_the_quality_pages(
    client: TestClient, factory: sessionmaker[Session], role: Role, path: str, status: int
) -> None:
    signed_in(client, factory, role)
    assert client.get(path, params=PERIOD if path == "/quality" else {}).status_code == status


def test_signed_out_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/quality")
    assert response.status_code in (303, 401)
    assert re.search(r"/login", response.headers.get("location", "") + response.text)
