"""The chart's "Coverage" tab and the payers page: adding a coverage with a card image,
editing it, and forms that come back with the reason and nothing saved (the uploaded image
included) when something is wrong."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.coverage.models import Coverage, Payer
from carebridge.db.session import unit_of_work
from carebridge.patients.models import Document
from carebridge.security.roles import Role
from tests.factories import csrf_from, make_token, make_user, post_form, sign_in
from tests.integration.test_care_team import patient, stored
from tests.integration.test_coverage_api import PNG, payer, plan


def _signed_in_with_patient(
    client: TestClient, factory: sessionmaker[Session], role: Role = Role.COORDINATOR
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    coordinator = make_user(factory, Role.COORDINATOR)
    client.headers["Authorization"] = f"Bearer {make_token(factory, coordinator.username)}"
    who, made = patient(client), payer(client)
    made_plan = plan(client, made["id"], "hmo")
    client.headers.pop("Authorization")
    user = make_user(factory, role)
    assert sign_in(client, user.username).status_code == 303
    return who, made, made_plan


def test_add_a_coverage_with_its_card_then_edit_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    who, made, made_plan = _signed_in_with_patient(client, factory, Role.BILLING)
    tab = f"/patients/{who['id']}/coverage"
    page = client.get(tab)
    assert page.status_code == 200
    assert 'aria-current="page">Coverage</a>' in page.text
    assert "No coverage in force today" in page.text
    assert f"{made['name']} · Choice Plus (HMO)" in page.text

    fields = {"payer_ref": made["id"], "plan_id": made_plan["id"], "member_id": "ZX 1204",
              "rank": "1", "relationship": "self", "start_on": "2026-01-01",
              "group_number": "77A"}  # fmt: skip
    token = csrf_from(client.get(tab))
    image = {"card_front": ("front.png", PNG, "image/png")}
    bad = client.post(tab, data={**fields, "csrf_token": token}, files=image)
    assert bad.status_code == 422
    assert "A member id has no spaces" in bad.text
    assert 'value="ZX 1204"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    assert stored(factory, Coverage, who["id"]) == 0
    assert stored(factory, Document, who["id"]) == 0

    not_image = client.post(
        tab,
        data={**fields, "member_id": "ZX1204", "csrf_token": token},
        files={"card_back": ("back.txt", b"hello", "text/plain")},
    )
    assert not_image.status_code == 422
    assert "Card back: upload a PNG or JPEG photo of the card." in not_image.text
    assert stored(factory, Document, who["id"]) == 0

    added = client.post(
        tab, data={**fields, "member_id": "ZX1204", "csrf_token": token}, files=image
    )
    assert added.status_code == 303, added.text
    shown = client.get(tab).text
    assert "Primary" in shown
    assert "ZX1204" in shown
    assert 'class="chip chip-ok">Active' in shown
    assert ">Front<" in shown
    assert stored(factory, Document, who["id"]) == 1

    with unit_of_work(factory, write=False) as db:
        coverage = db.scalars(
            select(Coverage).where(Coverage.patient_id == uuid.UUID(who["id"]))
        ).one()
    edit = f"{tab}/{coverage.id}/edit"
    form = client.get(edit)
    assert form.status_code == 200
    assert f"Front of the {made['name']} insurance card" in form.text
    assert 'value="ZX1204"' in form.text
    changed = {**fields, "member_id": "ZX1204", "status": "active", "end_on": "2026-03-31"}
    stale = post_form(client, f"{tab}/{coverage.id}", {**changed, "version": "9"}, page=edit)
    assert stale.status_code == 422
    assert "changed by someone else" in stale.text
    backwards = post_form(
        client,
        f"{tab}/{coverage.id}",
        {**changed, "end_on": "2025-01-01", "version": "1"},
        page=edit,
    )
    assert backwards.status_code == 422
    assert "The end date cannot be before the start date." in backwards.text
    saved = post_form(client, f"{tab}/{coverage.id}", {**changed, "version": "1"}, page=edit)
    assert saved.status_code == 303
    after = client.get(tab).text
    assert "31 Mar 2026" in after
    with unit_of_work(factory, write=False) as db:
        kept = db.get(Coverage, coverage.id)
        assert kept is not None
        assert kept.card_front_id is not None
        assert kept.version == 2


def test_dependent_without_subscriber_is_refused_on_the_form(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    who, made, _ = _signed_in_with_patient(client, factory)
    tab = f"/patients/{who['id']}/coverage"
    answer = post_form(
        client,
        tab,
        {"payer_ref": made["id"], "member_id": "W100", "rank": "2", "relationship": "spouse",
         "start_on": "2026-01-01", "subscriber_family_name": "Ruiz"},
        page=tab,
    )  # fmt: skip
    assert answer.status_code == 422
    assert "Enter the subscriber&#39;s date of birth." in answer.text
    assert 'value="Ruiz"' in answer.text
    assert stored(factory, Coverage, who["id"]) == 0


def test_payers_page_adds_payers_and_plans(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _signed_in_with_patient(client, factory, Role.BILLING)
    page = client.get("/coverage/payers")
    assert page.status_code == 200
    code = "NW" + uuid.uuid4().hex[:6].upper()
    bad = post_form(
        client,
        "/coverage/payers",
        {"name": "North Woods", "payer_id": "N W"},
        page="/coverage/payers",
    )
    assert bad.status_code == 422
    assert "letters, digits and dashes only" in bad.text
    good = post_form(
        client,
        "/coverage/payers",
        {"name": "North Woods Health", "payer_id": code},
        page="/coverage/payers",
    )
    assert good.status_code == 303
    taken = post_form(
        client, "/coverage/payers", {"name": "Copy", "payer_id": code}, page="/coverage/payers"
    )
    assert taken.status_code == 422
    assert "Already used by North Woods Health." in taken.text
    with unit_of_work(factory, write=False) as db:
        made = db.scalars(select(Payer).where(Payer.payer_id == code)).one()
        assert db.scalar(select(func.count()).where(Payer.name == "Copy")) == 0
    unknown = post_form(
        client, "/coverage/plans", {"payer_ref": str(made.id), "name": "Gold", "plan_type": "gold"},
        page="/coverage/payers",
    )  # fmt: skip
    assert unknown.status_code == 422
    assert "Choose the plan type from the list." in unknown.text
    added = post_form(
        client, "/coverage/plans", {"payer_ref": str(made.id), "name": "Gold", "plan_type": "pos"},
        page="/coverage/payers",
    )  # fmt: skip
    assert added.status_code == 303
    assert "Gold" in client.get("/coverage/payers").text
