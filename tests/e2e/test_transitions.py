"""A discharge reported by a hospital over MLLP reaches the coordinator's screens: the
listener runs against the test server's database, python-hl7's own MLLP client sends the
admit and the discharge, and in Chromium the patient appears on the transitions board under
"Discharged, awaiting contact" with the LACE score; the transition page shows every LACE
component and the contact task, and the contact is recorded there."""

from __future__ import annotations

import datetime as dt
import random
import string
import threading
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hl7.client import MLLPClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.security.audit import Actor
from carebridge.transitions import mllp
from carebridge.transitions.models import Transition
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def listener(live_server: LiveServer) -> Iterator[int]:
    """The MLLP listener on a free loopback port, writing to the test server's database."""
    ports: list[int] = []
    ready = threading.Event()
    stop = threading.Event()

    def on_ready(port: int) -> None:
        ports.append(port)
        ready.set()

    thread = threading.Thread(
        target=mllp.serve,
        args=(live_server.settings, "127.0.0.1", 0),
        kwargs={"ready": on_ready, "stop": stop},
        name="e2e-mllp",
        daemon=True,
    )
    thread.start()
    assert ready.wait(20), "the MLLP listener did not start"
    try:
        yield ports[0]
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive(), "the MLLP listener did not stop"


def _patient(live_server: LiveServer) -> PatientRead:
    # A private generator: the global one is seeded by the demo, and other tests' names
    # depend on its sequence.
    rng = random.Random(uuid.uuid4().int)
    family = "H" + "".join(rng.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        return patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Rosa",
                birth_date=dt.date(1944, 1, 1) + dt.timedelta(days=rng.randrange(3000)),
                sex="female",
                phones=[{"number": f"312-555-{rng.randrange(10000):04d}", "use": "mobile"}],
            ),
        )


def _messages(who: PatientRead, settings_facility: str, zone: str) -> list[str]:
    now = utcnow().astimezone(ZoneInfo(zone))
    admit = (now - dt.timedelta(days=6)).strftime("%Y%m%d%H%M%S%z")
    left = (now - dt.timedelta(hours=20)).strftime("%Y%m%d%H%M%S%z")
    tag = uuid.uuid4().hex[:8]
    pid = (
        f"PID|1||{who.mrn}^^^{settings_facility}^MR||{who.family_name}^{who.given_names}||"
        f"{who.birth_date:%Y%m%d}|F"
    )

    def pv1(discharge: str, disposition: str) -> str:
        fields = [""] * 46
        fields[:5] = ["PV1", "1", "I", "4W^412^B^MERCY", "E"]
        fields[10] = "MED"
        fields[14] = "7"
        fields[19] = f"V{tag}"
        fields[36] = disposition
        fields[44] = admit
        fields[45] = discharge
        return "|".join(fields).rstrip("|")

    dg1 = [
        "DG1|1||I50.9^Heart failure, unspecified^I10|||A",
        "DG1|2||J44.1^COPD with acute exacerbation^I10|||F",
        "DG1|3||N18.4^Chronic kidney disease, stage 4^I10|||F",
    ]
    head = "MSH|^~\\&|EPIC|MERCY|CAREBRIDGE|CAREBRIDGE|{at}||ADT^{ev}|E2E{tag}{ev}|P|2.5"
    return [
        "\r".join(
            [head.format(at=admit, ev="A01", tag=tag), f"EVN|A01|{admit}", pid, pv1("", ""), *dg1]
        ),
        "\r".join(
            [head.format(at=left, ev="A03", tag=tag), f"EVN|A03|{left}", pid, pv1(left, "01"), *dg1]
        ),
    ]


def test_a_discharge_over_mllp_reaches_the_board(
    page: Page, live_server: LiveServer, listener: int
) -> None:
    who = _patient(live_server)
    settings = live_server.settings
    with MLLPClient("127.0.0.1", listener) as client:
        for message in _messages(who, settings.hl7_facility, settings.timezone):
            ack = client.send_message(message).decode()
            assert "MSA|AA|" in ack, ack
    with unit_of_work(live_server.factory) as db:
        transition = db.scalar(select(Transition).where(Transition.patient_id == who.id))
        assert transition is not None, "the discharge started no transition"
        lace = transition.lace_score
    assert lace is not None

    sign_in(page, "coordinator")
    page.goto("/transitions")
    assert_accessible(page)
    waiting = page.locator(
        "section", has=page.get_by_role("heading", name="Discharged, awaiting contact")
    )
    row = waiting.get_by_role("row", name=who.family_name)
    expect(row).to_contain_text(f"LACE {lace}")
    row.get_by_role("link", name=who.family_name).click()

    expect(page.get_by_role("heading", name="Readmission risk")).to_contain_text(f"LACE {lace}")
    for part in ("Length of stay", "Acute (emergent) admission", "Charlson comorbidity index"):
        expect(page.get_by_role("cell", name=part)).to_be_visible()
    tasks = page.locator("section", has=page.get_by_role("heading", name="Tasks"))
    expect(tasks.get_by_role("link", name=f"Call {who.family_name}")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("What was discussed (optional)").fill("Spoke with Rosa; feeling better")
    page.get_by_role("button", name="Record contact").click()
    expect(page.get_by_text("Contact recorded.")).to_be_visible()
    expect(page.get_by_text("Spoke with Rosa; feeling better")).to_be_visible()
    expect(tasks.get_by_role("row", name=f"Call {who.family_name}")).to_contain_text("Completed")
    assert_accessible(page)

    page.goto("/transitions")
    follow = page.locator(
        "section", has=page.get_by_role("heading", name="Contacted, follow-up open")
    )
    expect(follow.get_by_role("row", name=who.family_name)).to_be_visible()


def test_a_rejected_message_is_corrected_in_the_queue(
    page: Page, live_server: LiveServer, listener: int
) -> None:
    who = _patient(live_server)
    settings = live_server.settings
    admit, _ = _messages(who, settings.hl7_facility, settings.timezone)
    broken = "\r".join(s for s in admit.split("\r") if not s.startswith("PID"))
    with MLLPClient("127.0.0.1", listener) as client:
        ack = client.send_message(broken).decode()
    assert "MSA|AA|" not in ack, ack

    sign_in(page, "admin")
    page.goto("/hl7/messages?status=rejected")
    assert_accessible(page)
    page.get_by_role("row", name="PID").first.get_by_role("link").click()
    expect(page.get_by_text("The message has no PID segment")).to_be_visible()
    assert_accessible(page)
    box = page.get_by_label("Message, one segment a line")
    pid = next(s for s in admit.split("\r") if s.startswith("PID"))
    box.fill(box.input_value().replace("\nPV1|", f"\n{pid}\nPV1|"))
    page.get_by_role("button", name="Replay as corrected").click()
    expect(page.get_by_text("Replayed and applied")).to_be_visible()
    expect(page.get_by_role("link", name="the message received")).to_be_visible()
    assert_accessible(page)
