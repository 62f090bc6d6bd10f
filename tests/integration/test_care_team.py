"""Care teams, barriers to care and team queues through the JSON API and the chart's
"Care team" tab: members of each kind, ending a membership, barriers on the banner; bad
input (an NPI with a wrong check digit, an end before the start, another patient's related
person, a disabled user, an unknown barrier) gets a clear error and stores nothing."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans.models import Barrier, CareTeamMember
from carebridge.db.session import unit_of_work
from carebridge.lib.checksums import luhn_digit
from carebridge.security import service as security
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.tasks.models import QueueMember
from tests.factories import make_token, make_user, post_form, sign_in
from tests.integration.test_sign_in import audit_rows

PROVIDER_NPI = "1234567893"  # CMS's published example of a valid NPI
BAD_NPI = "1234567890"


@pytest.fixture
def api(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    client.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    return client


def patient(api: TestClient, **extra: Any) -> dict[str, Any]:
    name = "Zed" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz", k=9))
    body = {
        "family_name": name,
        "given_names": "Rosa",
        "birth_date": "1948-07-02",
        "sex": "female",
        "emergency_contacts": [{"name": "Ana Ruiz", "relationship": "DAU"}],
        **extra,
    }
    answer = api.post("/api/v1/patients", json=body)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def daughter(api: TestClient, patient_id: str) -> dict[str, Any]:
    people: list[dict[str, Any]] = api.get(f"/api/v1/patients/{patient_id}/related-persons").json()
    return people[0]


def stored(factory: sessionmaker[Session], model: type[Any], patient_id: str) -> int:
    with unit_of_work(factory, write=False) as db:
        found = db.scalar(
            select(func.count()).select_from(model).where(model.patient_id == uuid.UUID(patient_id))
        )
        return found or 0


def field_errors(answer: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in answer.json().get("errors", [])}


def test_npi_example_is_valid() -> None:
    assert luhn_digit("80840" + PROVIDER_NPI[:9]) == PROVIDER_NPI[9]
    assert luhn_digit("80840" + BAD_NPI[:9]) != BAD_NPI[9]


def test_care_team_of_each_kind_and_the_primary_coordinator(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    nurse = make_user(factory, Role.CLINICIAN)
    who = patient(api, primary_coordinator_id=str(coordinator.id))
    base = f"/api/v1/patients/{who['id']}/care-team"

    staff = api.post(
        base,
        json={"member_kind": "staff", "user_id": str(nurse.id), "role": "nurse",
              "start_on": "2026-01-05"},
    )  # fmt: skip
    assert staff.status_code == 201, staff.text
    assert staff.json()["name"] == nurse.display_name
    assert staff.headers["etag"] == 'W/"1"'
    provider = api.post(
        base,
        json={
            "member_kind": "provider",
            "name": "Dr. Omar Haddad",
            "role": "specialist",
            "npi": "1234-567-893",
            "organization": "Lakeshore Cardiology",
            "phone": "(312) 926-4100",
            "start_on": "2026-02-01",
        },
    )
    assert provider.status_code == 201, provider.text
    assert provider.json()["npi"] == PROVIDER_NPI
    assert provider.json()["phone"] == "+13129264100"
    person = daughter(api, who["id"])
    caregiver = api.post(
        base,
        json={"member_kind": "caregiver", "related_person_id": person["id"],
              "role": "caregiver", "start_on": "2026-01-01"},
    )  # fmt: skip
    assert caregiver.status_code == 201, caregiver.text
    assert caregiver.json()["name"] == "Ana Ruiz"

    listed = api.get(base).json()
    assert listed["primary_coordinator_id"] == str(coordinator.id)
    assert listed["primary_coordinator_name"] == coordinator.display_name
    assert [m["role"] for m in listed["members"]] == ["specialist", "nurse", "caregiver"]
    assert audit_rows(
        factory, patient_id=uuid.UUID(who["id"]), entity_type="CareTeamMember", action="read"
    )

    ended = api.patch(
        f"/api/v1/care-team-members/{provider.json()['id']}",
        json={"version": 1, "end_on": "2026-03-01"},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["version"] == 2
    members = api.get(base).json()["members"]
    assert members[-1]["name"] == "Dr. Omar Haddad"  # past members come last
    stale = api.patch(
        f"/api/v1/care-team-members/{provider.json()['id']}",
        json={"version": 1, "note": "Moved practice"},
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["detail"]
    again = api.post(
        base,
        json={"member_kind": "staff", "user_id": str(nurse.id), "role": "nurse",
              "start_on": "2026-04-01"},
    )  # fmt: skip
    assert again.status_code == 409
    assert "already on this patient's care team" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"member_kind": "provider", "name": "Dr. Lee", "npi": BAD_NPI}, "npi", "check digit"),
        ({"member_kind": "provider", "name": "Dr. Lee", "npi": "12345"}, "npi", "10 digits"),
        (
            {"member_kind": "provider", "name": "Dr. Lee", "end_on": "2026-01-01"},
            "end_on",
            "before the start date",
        ),
        ({"member_kind": "provider"}, "name", "name"),
        ({"member_kind": "staff"}, "user_id", "staff member"),
        ({"member_kind": "staff", "user_id": str(uuid.uuid4())}, "user_id", "from the list"),
        ({"member_kind": "provider", "name": "Dr. Lee", "role": "wizard"}, "role", "unknown"),
        ({"member_kind": "caregiver"}, "related_person_id", "type a name"),
        (
            {"member_kind": "provider", "name": "X", "related_person_id": str(uuid.uuid4())},
            "related_person_id",
            "Only a family caregiver",
        ),
    ],
)
def test_bad_member_is_refused_and_nothing_stored(
    api: TestClient,
    factory: sessionmaker[Session],
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    who = patient(api)
    sent = {"role": "specialist", "start_on": "2026-02-01", **body}
    answer = api.post(f"/api/v1/patients/{who['id']}/care-team", json=sent)
    assert answer.status_code == 422, answer.text
    assert words in field_errors(answer)[field]
    assert stored(factory, CareTeamMember, who["id"]) == 0


def test_another_patients_related_person_is_refused(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    mine, theirs = patient(api), patient(api)
    answer = api.post(
        f"/api/v1/patients/{mine['id']}/care-team",
        json={"member_kind": "caregiver", "related_person_id": daughter(api, theirs["id"])["id"],
              "role": "caregiver", "start_on": "2026-01-01"},
    )  # fmt: skip
    assert answer.status_code == 422
    assert "not one of this patient's family" in answer.json()["detail"]
    assert stored(factory, CareTeamMember, mine["id"]) == 0


def test_disabled_user_cannot_join_a_team_or_a_queue(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    leaver = make_user(factory, Role.CLINICIAN)
    with unit_of_work(factory) as db:
        security.set_active(db, Actor.system("test"), security.get_user(db, leaver.id), False)
    who = patient(api)
    answer = api.post(
        f"/api/v1/patients/{who['id']}/care-team",
        json={"member_kind": "staff", "user_id": str(leaver.id), "role": "nurse",
              "start_on": "2026-01-01"},
    )  # fmt: skip
    assert answer.status_code == 422
    assert "disabled" in field_errors(answer)["user_id"]
    assert stored(factory, CareTeamMember, who["id"]) == 0

    queue = api.post("/api/v1/queues", json={"code": f"q-{uuid.uuid4().hex[:8]}", "name": "Q"})
    assert queue.status_code == 201, queue.text
    refused = api.post(
        f"/api/v1/queues/{queue.json()['id']}/members", json={"user_id": str(leaver.id)}
    )
    assert refused.status_code == 422
    assert "disabled" in refused.json()["detail"]
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(func.count()).where(QueueMember.user_id == leaver.id)) == 0
    as_boss = api.patch(
        f"/api/v1/queues/{queue.json()['id']}",
        json={"version": 1, "supervisor_id": str(leaver.id)},
    )
    assert as_boss.status_code == 422
    assert api.get(f"/api/v1/queues/{queue.json()['id']}").json()["supervisor_id"] is None


def test_barriers_are_recorded_resolved_and_checked(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    base = f"/api/v1/patients/{who['id']}/barriers"
    unknown = api.post(base, json={"kind": "weather"})
    assert unknown.status_code == 422
    assert "unknown barrier" in field_errors(unknown)["kind"]
    future = api.post(base, json={"kind": "cost", "identified_on": "2999-01-01"})
    assert future.status_code == 422
    assert "future" in field_errors(future)["identified_on"]
    assert stored(factory, Barrier, who["id"]) == 0

    made = api.post(base, json={"kind": "transport", "note": "No car; bus is 40 minutes"})
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "active"
    twice = api.post(base, json={"kind": "transport"})
    assert twice.status_code == 409
    api.post(base, json={"kind": "language", "identified_on": "2026-01-10"})
    assert [b["kind"] for b in api.get(base).json()] == ["language", "transport"]

    early = api.patch(
        f"/api/v1/barriers/{made.json()['id']}",
        json={"version": 1, "status": "resolved", "resolved_on": "2001-01-01"},
    )
    assert early.status_code == 422
    assert "before it was identified" in field_errors(early)["resolved_on"]
    resolved = api.patch(
        f"/api/v1/barriers/{made.json()['id']}", json={"version": 1, "status": "resolved"}
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved_on"] is not None
    assert [b["status"] for b in api.get(base).json()] == ["active", "resolved"]


def test_queues_api_lists_for_everyone_and_changes_for_directory_keepers(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    boss = make_user(factory, Role.COORDINATOR)
    member = make_user(factory, Role.BILLING)
    admin = {"Authorization": f"Bearer {make_token(factory, boss.username)}"}
    billing = {"Authorization": f"Bearer {make_token(factory, member.username)}"}
    code = f"front-{uuid.uuid4().hex[:6]}"
    made = client.post(
        "/api/v1/queues",
        json={"code": code, "name": "Front desk", "supervisor_id": str(boss.id)},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    queue_id = made.json()["id"]
    assert made.json()["supervisor_name"] == boss.display_name
    taken = client.post("/api/v1/queues", json={"code": code, "name": "Again"}, headers=admin)
    assert taken.status_code == 409
    bad_code = client.post(
        "/api/v1/queues", json={"code": "Front Desk", "name": "X"}, headers=admin
    )
    assert bad_code.status_code == 422
    added = client.post(
        f"/api/v1/queues/{queue_id}/members", json={"user_id": str(member.id)}, headers=admin
    )
    assert added.status_code == 201
    assert [m["user_id"] for m in added.json()["members"]] == [str(member.id)]
    listed = client.get("/api/v1/queues", headers=billing)
    assert listed.status_code == 200
    assert code in {q["code"] for q in listed.json()}
    assert (
        client.post("/api/v1/queues", json={"code": "x", "name": "X"}, headers=billing).status_code
        == 403
    )
    removed = client.delete(f"/api/v1/queues/{queue_id}/members/{member.id}", headers=admin)
    assert removed.status_code == 200
    assert removed.json()["members"] == []
    assert (
        client.delete(f"/api/v1/queues/{queue_id}/members/{member.id}", headers=admin).status_code
        == 404
    )
    renamed = client.patch(
        f"/api/v1/queues/{queue_id}", json={"version": 1, "name": "Front office"}, headers=admin
    )
    assert renamed.status_code == 200
    assert renamed.json()["version"] == 2
    assert (
        client.patch(
            f"/api/v1/queues/{queue_id}", json={"version": 1, "name": "Stale"}, headers=admin
        ).status_code
        == 409
    )


# --- the chart tab ---------------------------------------------------------------------


def test_care_team_tab_adds_ends_and_refuses_with_the_reason(
    client: TestClient, api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    api.headers.pop("Authorization")
    user = make_user(factory, Role.COORDINATOR)
    nurse = make_user(factory, Role.CLINICIAN)
    assert sign_in(client, user.username).status_code == 303
    tab = f"/patients/{who['id']}/care-team"
    page = client.get(tab)
    assert page.status_code == 200
    assert "Nobody is on this patient's care team yet" in page.text
    assert 'aria-current="page">Care team</a>' in page.text

    bad = post_form(
        client,
        tab,
        {"member_kind": "provider", "name": "Dr. Lee", "role": "pcp", "npi": BAD_NPI,
         "start_on": "2026-02-01", "end_on": "2026-01-01"},
        page=tab,
    )  # fmt: skip
    assert bad.status_code == 422
    assert "fails its check digit" in bad.text
    assert 'id="f-provider-npi"' in bad.text
    assert 'value="Dr. Lee"' in bad.text
    assert stored(factory, CareTeamMember, who["id"]) == 0
    late = post_form(
        client,
        tab,
        {"member_kind": "provider", "name": "Dr. Lee", "role": "pcp", "npi": PROVIDER_NPI,
         "start_on": "2026-02-01", "end_on": "2026-01-01"},
        page=tab,
    )  # fmt: skip
    assert late.status_code == 422
    assert "The end date cannot be before the start date." in late.text
    assert stored(factory, CareTeamMember, who["id"]) == 0

    added = post_form(
        client,
        tab,
        {"member_kind": "staff", "user_id": str(nurse.id), "role": "nurse",
         "start_on": "2026-02-01"},
        page=tab,
    )  # fmt: skip
    assert added.status_code == 303
    shown = client.get(tab)
    assert nurse.display_name in shown.text
    assert "Open-ended" in shown.text
    with unit_of_work(factory, write=False) as db:
        member = db.scalars(
            select(CareTeamMember).where(CareTeamMember.patient_id == uuid.UUID(who["id"]))
        ).one()
    ended = post_form(
        client,
        f"{tab}/{member.id}/end",
        {"version": str(member.version), "end_on": "2026-02-10"},
        page=tab,
    )
    assert ended.status_code == 303
    after = client.get(tab).text
    assert "Past members" in after
    assert "10 Feb 2026" in after


def test_barrier_on_the_banner_and_resolved_from_the_tab(
    client: TestClient, api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    tab = f"/patients/{who['id']}/care-team"
    unknown = post_form(client, f"/patients/{who['id']}/barriers", {"kind": "weather"}, page=tab)
    assert unknown.status_code == 422
    assert "Choose the barrier from the list." in unknown.text
    assert stored(factory, Barrier, who["id"]) == 0
    made = post_form(
        client,
        f"/patients/{who['id']}/barriers",
        {"kind": "housing", "note": "Staying with a friend"},
        page=tab,
    )
    assert made.status_code == 303
    chart = client.get(f"/patients/{who['id']}").text
    assert "<dt>Barriers</dt>" in chart
    assert '<span class="chip chip-warn">Housing</span>' in chart
    with unit_of_work(factory, write=False) as db:
        barrier = db.scalars(
            select(Barrier).where(Barrier.patient_id == uuid.UUID(who["id"]))
        ).one()
    done = post_form(
        client,
        f"/patients/{who['id']}/barriers/{barrier.id}/resolve",
        {"version": str(barrier.version)},
        page=tab,
    )
    assert done.status_code == 303
    assert "<dt>Barriers</dt>" not in client.get(f"/patients/{who['id']}").text
    assert "Resolved" in client.get(tab).text


def test_billing_sees_barriers_but_not_the_care_team(
    client: TestClient, api: TestClient, factory: sessionmaker[Session]
) -> None:
    """Who treats a patient can be clinical (a behavioral-health provider): billing sees the
    barriers on the banner, not the care team."""
    who = patient(api)
    added = api.post(
        f"/api/v1/patients/{who['id']}/barriers",
        json={"kind": "cost", "note": "Cannot afford copays"},
    )
    assert added.status_code == 201, added.text
    user = make_user(factory, Role.BILLING)
    assert sign_in(client, user.username).status_code == 303
    assert client.get(f"/patients/{who['id']}/care-team").status_code == 403
    summary = client.get(f"/patients/{who['id']}")
    assert summary.status_code == 200
    assert "Cost" in summary.text
    assert f"/patients/{who['id']}/care-team" not in summary.text


def test_rules_and_queues_pages(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    rules = client.get("/tasks/rules")
    assert rules.status_code == 200
    assert "Routine task a day overdue" in rules.text
    assert "Its priority is raised to Urgent." in rules.text
    page = client.get("/tasks/queues")
    assert page.status_code == 200
    assert "New queue" in page.text
    code = f"calls-{uuid.uuid4().hex[:6]}"
    bad = post_form(
        client, "/tasks/queues", {"code": "No Spaces", "name": "X"}, page="/tasks/queues"
    )
    assert bad.status_code == 422
    assert "lower-case letters" in bad.text
    made = post_form(
        client,
        "/tasks/queues",
        {"code": code, "name": "Call-backs", "supervisor_id": str(user.id)},
        page="/tasks/queues",
    )
    assert made.status_code == 303
    assert code in client.get("/tasks/queues").text
