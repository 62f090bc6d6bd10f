"""The prior authorization screens over HTTP, as a browser without JavaScript uses them: the
chart tab, a new request (and a refused one, kept as typed with nothing stored), the page
with submit, a decision by hand, an appeal, the board with its filters; and the payer page
(edit, channel, deactivate a payer and a plan)."""

from __future__ import annotations

import html
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.authorizations.models import PriorAuthorization
from carebridge.security.roles import Role
from tests.factories import csrf_from, make_token, make_user, sign_in
from tests.integration.test_authorizations_api import admin, count, world

__all__ = ["admin", "world"]  # fixtures used here


@pytest.fixture
def api(app: FastAPI, factory: sessionmaker[Session]) -> TestClient:
    """A second client, by API token, to set the scene (the browser is ``coordinator``)."""
    user = make_user(factory, Role.COORDINATOR)
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    return c


@pytest.fixture
def coordinator(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    return client


def post(client: TestClient, path: str, page: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get(page))
    return client.post(path, data={**data, "csrf_token": token})


def text(response: Any) -> str:
    return html.unescape(response.text)


def form(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "coverage_id": world["coverage"]["id"],
        "ordering_practitioner_id": world["doctor"]["id"],
        "diagnoses": "M54.50, M62.81",
        "code_1": "97110",
        "modifiers_1": "GP",
        "units_1": "6",
        "requested_start": "2026-12-01",
        "requested_end": "2027-02-28",
        **extra,
    }


def test_new_request_submit_and_board(coordinator: TestClient, world: dict[str, Any]) -> None:
    pid = world["patient"]["id"]
    tab = coordinator.get(f"/patients/{pid}/authorizations")
    assert tab.status_code == 200
    assert "No prior authorizations for this patient" in text(tab)
    new = coordinator.get(f"/patients/{pid}/authorizations/new")
    assert new.status_code == 200
    assert "Ordering provider" in new.text
    made = post(
        coordinator,
        f"/patients/{pid}/authorizations",
        f"/patients/{pid}/authorizations/new",
        form(world),
    )
    assert made.status_code == 303, made.text
    page_url = made.headers["location"]
    page = coordinator.get(page_url)
    assert "saved as a draft" in text(page)
    assert "Submit to payer" in page.text
    version = page.text.split('name="version" value="')[1].split('"')[0]
    sent = post(coordinator, page_url + "/submit", page_url, {"version": version})
    assert sent.status_code == 303
    after = coordinator.get(page_url)
    assert "answered: Approved" in text(after)
    assert "SIM" in after.text
    assert "ST*278*0001*005010X217" in after.text
    board = coordinator.get("/authorizations")
    assert board.status_code == 200
    number = after.text.split("<strong>SIM")[1].split("<")[0]
    assert f"SIM{number}" in board.text
    approved_only = coordinator.get("/authorizations?status=approved")
    assert f"SIM{number}" in approved_only.text
    chart = coordinator.get(f"/patients/{pid}/authorizations")
    assert "97110: 0 used / 6 approved / 6 left" in text(chart)


def test_refused_request_keeps_what_was_typed(
    coordinator: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    pid = world["patient"]["id"]
    before = count(factory, PriorAuthorization)
    bad = post(
        coordinator,
        f"/patients/{pid}/authorizations",
        f"/patients/{pid}/authorizations/new",
        form(world, code_1="9711X"),
    )
    assert bad.status_code == 422
    assert "9711X" in text(bad)
    assert "Line 1" in text(bad)
    assert 'value="M54.50, M62.81"' in bad.text
    no_dx = post(
        coordinator,
        f"/patients/{pid}/authorizations",
        f"/patients/{pid}/authorizations/new",
        form(world, diagnoses="Q99.99X"),
    )
    assert no_dx.status_code == 422
    assert "Q99.99X" in text(no_dx)
    assert count(factory, PriorAuthorization) == before


def test_denial_appeal_and_manual_decision_pages(
    coordinator: TestClient, world: dict[str, Any]
) -> None:
    pid = world["patient"]["id"]
    made = post(
        coordinator,
        f"/patients/{pid}/authorizations",
        f"/patients/{pid}/authorizations/new",
        form(world, code_1="95811", units_1="1"),
    )
    url = made.headers["location"]
    page = coordinator.get(url)
    version = page.text.split('name="version" value="')[1].split('"')[0]
    post(coordinator, url + "/submit", url, {"version": version})
    denied = coordinator.get(url)
    assert "Why it was denied" in denied.text
    assert "Appeal the denial" in denied.text
    version = denied.text.split('name="version" value="')[1].split('"')[0]
    appealed = post(
        coordinator,
        url + "/appeals",
        url,
        {
            "version": version,
            "level": "first",
            "submitted_on": "2026-11-20",
            "reason": "Records show apnea.",
        },
    )
    assert appealed.status_code == 303
    shown = coordinator.get(url)
    assert "Record outcome" in shown.text
    empty_reason = post(coordinator, url + "/cancel", url, {"version": "0", "reason": ""})
    assert empty_reason.status_code in (409, 422)
    # A fresh request, decided by hand.
    other = post(
        coordinator,
        f"/patients/{pid}/authorizations",
        f"/patients/{pid}/authorizations/new",
        form(world),
    )
    url2 = other.headers["location"]
    page2 = coordinator.get(url2)
    version = page2.text.split('name="version" value="')[1].split('"')[0]
    refused = post(
        coordinator, url2 + "/decision", url2, {"version": version, "decision": "approved"}
    )
    assert refused.status_code == 422
    assert "authorization number" in text(refused)
    done = post(
        coordinator,
        url2 + "/decision",
        url2,
        {"version": version, "decision": "approved", "auth_number": "TEL-551"},
    )
    assert done.status_code == 303
    assert "TEL-551" in coordinator.get(url2).text


def test_payer_page_edit_and_deactivate(
    coordinator: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    payer = world["fhir"]
    url = f"/coverage/payers/{payer['id']}"
    page = coordinator.get(url)
    assert page.status_code == 200
    assert "Prior authorization channel" in page.text
    saved = post(
        coordinator,
        url,
        url,
        {
            "version": str(payer["version"]),
            "name": payer["name"],
            "payer_id": payer["payer_id"],
            "prior_auth_channel": "x12-278",
            "active": "",
        },
    )
    assert saved.status_code == 303
    assert "deactivated" in text(coordinator.get("/coverage/payers"))
    stale = post(
        coordinator,
        url,
        url,
        {
            "version": str(payer["version"]),
            "name": "Old",
            "payer_id": payer["payer_id"],
            "prior_auth_channel": "x12-278",
            "active": "yes",
        },
    )
    assert stale.status_code == 409
    assert "changed by someone else" in text(stale)
    assert uuid.UUID(payer["id"])
