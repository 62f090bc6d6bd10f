"""Care-team messaging through the JSON API: a thread about a patient written to a clinician,
a mention that adds a colleague and notifies them, read state and unread counts, who may
read what (billing staff on a patient thread -> 403, a non-participant -> 403), audit rows,
and bad input (an unknown username, a billing colleague on a patient thread, a file too
large) refused with nothing stored."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.hub import service
from carebridge.hub.models import TeamAttachment, TeamMessage, TeamThread, ThreadParticipant
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from carebridge.security.schemas import UserRead
from carebridge.tasks.models import Notification
from tests.factories import make_token, make_user
from tests.integration.test_patients_api import new_patient

Caller = Callable[[UserRead], TestClient]


@pytest.fixture
def as_user(client: TestClient, factory: sessionmaker[Session]) -> Caller:
    """A client speaking with ``user``'s API token (the one client, re-pointed per call)."""
    tokens: dict[uuid.UUID, str] = {}

    def switch(user: UserRead) -> TestClient:
        if user.id not in tokens:
            tokens[user.id] = make_token(factory, user.username)
        client.headers["Authorization"] = f"Bearer {tokens[user.id]}"
        return client

    return switch


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def count(factory: sessionmaker[Session], model: Any) -> int:
    with unit_of_work(factory) as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def a_patient(api: TestClient) -> dict[str, Any]:
    result: dict[str, Any] = ok(api.post("/api/v1/patients", json=new_patient()), 201)
    return result


def test_thread_about_a_patient_mention_read_state_and_audit(
    as_user: Caller, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    clinician = make_user(factory, Role.CLINICIAN)
    colleague = make_user(factory, Role.COORDINATOR)
    api = as_user(coordinator)
    patient = a_patient(api)

    thread = ok(
        api.post(
            "/api/v1/threads",
            json={
                "subject": "Home oxygen before discharge",
                "to": [clinician.username],
                "patient_id": patient["id"],
                "text": "Could you sign the oxygen order today?\nSats 87% on room air.",
            },
        ),
        201,
    )
    assert thread["patient"]["mrn"] == patient["mrn"]
    assert [p["person"]["username"] for p in thread["participants"]] == [
        coordinator.username,
        clinician.username,
    ]
    assert thread["messages"][0]["text"] == (
        "Could you sign the oxygen order today?\nSats 87% on room air."
    )
    assert thread["unread"] == 0  # the author has read what they wrote

    # The clinician sees it unread, opens it (still unread), then marks it read.
    api = as_user(clinician)
    inbox = ok(api.get("/api/v1/threads"))
    assert [(t["id"], t["unread"]) for t in inbox] == [(thread["id"], 1)]
    assert ok(api.get("/api/v1/threads", params={"unread": "true"}))[0]["id"] == thread["id"]
    with unit_of_work(factory) as db:
        assert service.unread_count(db, clinician.id) == 1
    ok(api.get(f"/api/v1/threads/{thread['id']}"))
    state = ok(api.post(f"/api/v1/threads/{thread['id']}/read"))
    assert state == {"thread_id": thread["id"], "read_seq": 1, "unread": 0, "unread_total": 0}
    assert ok(api.get("/api/v1/threads", params={"unread": "true"})) == []

    # A reply mentioning a colleague adds them and notifies them.
    reply = ok(
        api.post(
            f"/api/v1/threads/{thread['id']}/messages",
            json={"text": f"Signed. @{colleague.username} please arrange delivery."},
        ),
        201,
    )
    assert reply["seq"] == 2
    assert reply["mentions"] == [colleague.username.lower()]
    with unit_of_work(factory) as db:
        joined = db.get(ThreadParticipant, (uuid.UUID(thread["id"]), colleague.id))
        assert joined is not None
        assert joined.joined_as == "mention"
        notes = list(db.scalars(select(Notification).where(Notification.user_id == colleague.id)))
        assert [n.link for n in notes] == [f"/messages/{thread['id']}"]
        assert "Home oxygen before discharge" in notes[0].text
        assert service.unread_count(db, colleague.id) == 2
        assert service.unread_count(db, coordinator.id) == 1

    api = as_user(colleague)
    seen = ok(api.get(f"/api/v1/threads/{thread['id']}"))
    assert [m["author"]["username"] for m in seen["messages"]] == [
        coordinator.username,
        clinician.username,
    ]

    with unit_of_work(factory) as db:
        rows = list(
            db.scalars(select(AuditEvent).where(AuditEvent.patient_id == uuid.UUID(patient["id"])))
        )
    posts = [r for r in rows if r.entity_type == "TeamMessage" and r.action == "create"]
    reads = [r for r in rows if r.entity_type == "TeamThread" and r.action == "read"]
    assert {r.username for r in posts} == {coordinator.username, clinician.username}
    assert {r.username for r in reads if r.entity_id == thread["id"]} == {
        clinician.username,
        colleague.username,
    }


def test_billing_uses_threads_not_about_a_patient_only(
    as_user: Caller, factory: sessionmaker[Session]
) -> None:
    coordinator = make_user(factory, Role.COORDINATOR)
    billing = make_user(factory, Role.BILLING)
    api = as_user(coordinator)
    patient = a_patient(api)
    about = ok(
        api.post(
            "/api/v1/threads",
            json={
                "subject": "Wound care plan",
                "to": [make_user(factory, Role.CLINICIAN).username],
                "patient_id": patient["id"],
                "text": "Dressing change twice weekly.",
            },
        ),
        201,
    )
    before = count(factory, TeamThread)
    refused = problem(
        api.post(
            "/api/v1/threads",
            json={
                "subject": "Copay question",
                "to": [billing.username],
                "patient_id": patient["id"],
                "text": "Can you look at this?",
            },
        ),
        422,
    )
    assert billing.username in refused["detail"]
    assert "may not read patient records" in refused["detail"]
    assert count(factory, TeamThread) == before

    plain = ok(
        api.post(
            "/api/v1/threads",
            json={
                "subject": "Clinic closing early Friday",
                "to": [billing.username],
                "text": "FYI",
            },
        ),
        201,
    )
    api = as_user(billing)
    assert [t["id"] for t in ok(api.get("/api/v1/threads"))] == [plain["id"]]
    ok(api.post(f"/api/v1/threads/{plain['id']}/messages", json={"text": "Thanks!"}), 201)
    denied = problem(api.get(f"/api/v1/threads/{about['id']}"), 403)
    assert "may not read threads about a patient" in denied["detail"]
    problem(api.get("/api/v1/threads", params={"patient_id": patient["id"]}), 403)
    with unit_of_work(factory) as db:
        kept = db.scalar(
            select(AuditEvent).where(
                AuditEvent.username == billing.username,
                AuditEvent.action == "access-denied",
                AuditEvent.entity_id == about["id"],
            )
        )
        assert kept is not None
        assert kept.patient_id == uuid.UUID(patient["id"])


def test_only_participants_read_a_thread(as_user: Caller, factory: sessionmaker[Session]) -> None:
    author = make_user(factory, Role.COORDINATOR)
    outsider = make_user(factory, Role.COORDINATOR)
    api = as_user(author)
    thread = ok(
        api.post(
            "/api/v1/threads",
            json={
                "subject": "Staffing",
                "to": [make_user(factory, Role.CLINICIAN).username],
                "text": "Who covers Monday?",
            },
        ),
        201,
    )
    api = as_user(outsider)
    assert (
        "not in this thread" in problem(api.get(f"/api/v1/threads/{thread['id']}"), 403)["detail"]
    )
    problem(api.post(f"/api/v1/threads/{thread['id']}/messages", json={"text": "me!"}), 403)
    problem(api.get(f"/api/v1/threads/{uuid.uuid4()}"), 404)


def test_bad_input_is_refused_and_nothing_is_stored(
    as_user: Caller, factory: sessionmaker[Session]
) -> None:
    author = make_user(factory, Role.COORDINATOR)
    clinician = make_user(factory, Role.CLINICIAN)
    api = as_user(author)
    thread = ok(
        api.post(
            "/api/v1/threads",
            json={"subject": "Labs", "to": [clinician.username], "text": "A1c came back 9.1"},
        ),
        201,
    )
    before = (count(factory, TeamMessage), count(factory, ThreadParticipant))

    unknown = problem(
        api.post(
            f"/api/v1/threads/{thread['id']}/messages",
            json={"text": "@nobody-by-this-name please review"},
        ),
        422,
    )
    assert "@nobody-by-this-name" in unknown["detail"]

    bad64 = problem(
        api.post(
            f"/api/v1/threads/{thread['id']}/messages",
            json={
                "text": "see file",
                "attachments": [{"filename": "a.txt", "content_base64": "@@"}],
            },
        ),
        422,
    )
    assert "base64" in bad64["detail"]
    empty = problem(api.post(f"/api/v1/threads/{thread['id']}/messages", json={"text": "   "}), 422)
    assert "Write a message" in empty["detail"]
    assert (count(factory, TeamMessage), count(factory, ThreadParticipant)) == before


def test_attachment_is_kept_and_served_as_a_download(
    as_user: Caller, factory: sessionmaker[Session]
) -> None:
    author = make_user(factory, Role.COORDINATOR)
    clinician = make_user(factory, Role.CLINICIAN)
    api = as_user(author)
    content = b"%PDF-1.4 discharge summary"
    thread = ok(
        api.post(
            "/api/v1/threads",
            json={
                "subject": "Discharge summary",
                "to": [clinician.username],
                "text": "Attached.",
                "attachments": [
                    {
                        "filename": "summary <1>.pdf",
                        "content_type": "application/pdf",
                        "content_base64": base64.b64encode(content).decode(),
                    }
                ],
            },
        ),
        201,
    )
    file = thread["messages"][0]["attachments"][0]
    assert file["size"] == len(content)
    assert file["content_type"] == "application/pdf"
    api = as_user(clinician)
    got = api.get(f"/api/v1/threads/{thread['id']}/attachments/{file['id']}")
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["content-disposition"].startswith("attachment;")
    problem(api.get(f"/api/v1/threads/{uuid.uuid4()}/attachments/{file['id']}"), 404)
    with unit_of_work(factory) as db:
        assert db.get(TeamAttachment, uuid.UUID(file["id"])) is not None


def test_too_large_file_names_the_limit() -> None:
    with pytest.raises(service.ValidationFailed) as refused:
        service.check_files([service.NewFile("scan.pdf", "application/pdf", b"x" * 2048)], 1024)
    assert "“scan.pdf” is 0.0 MB; attachments may be at most 0.0 MB (1024 bytes)" in (
        refused.value.detail
    )


def test_concurrent_replies_each_get_their_own_place(
    as_user: Caller, factory: sessionmaker[Session]
) -> None:
    """Two colleagues replying at the same moment: both messages are kept, numbered 2 and 3,
    and nobody gets a conflict (the thread's counter moves by one atomic UPDATE)."""
    author = make_user(factory, Role.COORDINATOR)
    clinician = make_user(factory, Role.CLINICIAN)
    api = as_user(author)
    thread = ok(
        api.post(
            "/api/v1/threads",
            json={"subject": "Who calls back?", "to": [clinician.username], "text": "Anyone?"},
        ),
        201,
    )
    thread_id = uuid.UUID(thread["id"])
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def reply(user: UserRead, words: str) -> None:
        try:
            start.wait(timeout=10)
            with unit_of_work(factory) as db:
                service.post(db, Actor(user.id, user.username, user.role), thread_id, words)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [
        threading.Thread(target=reply, args=(author, "I will.")),
        threading.Thread(target=reply, args=(clinician, "I can.")),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert errors == []
    with unit_of_work(factory) as db:
        seqs = sorted(db.scalars(select(TeamMessage.seq).where(TeamMessage.thread_id == thread_id)))
        found = db.get(TeamThread, thread_id)
        assert found is not None
        assert found.message_count == 3
    assert seqs == [1, 2, 3]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("@jchen please call", ["jchen"]),
        ("Thanks @drpatel. And @JChen, too.", ["drpatel", "jchen"]),
        ("write to ana@clinic.org", []),
        ("@m.alvarez-2 and @m.alvarez-2 again", ["m.alvarez-2"]),
        ("meet @ 3pm", []),
    ],
)
def test_mentions_are_found(text: str, names: list[str]) -> None:
    assert service.mentioned(text) == names
