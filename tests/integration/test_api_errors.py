"""The API's answers to good and bad requests: tokens, problem+json, limits, request ids."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.app import create_app
from carebridge.db.session import unit_of_work
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.security.roles import Role
from carebridge.security.service import revoke_token
from carebridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_token, make_user
from tests.integration.test_sign_in import audit_rows


def bearer(factory: sessionmaker[Session], role: Role = Role.ADMIN) -> dict[str, str]:
    user = make_user(factory, role)
    return {"Authorization": f"Bearer {make_token(factory, user.username)}"}


def user_count(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as db:
        return db.scalar(select(func.count()).select_from(User)) or 0


def is_problem(response: object, status: int) -> dict[str, object]:
    assert getattr(response, "status_code", None) == status
    headers = getattr(response, "headers", {})
    assert headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["request_id"] == headers["x-request-id"]
    assert str(body["type"]).startswith("urn:carebridge:problem:")
    return body


def test_token_identifies_its_user(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory, Role.BILLING)
    token = make_token(factory, user.username)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"id": str(user.id), "username": user.username, "role": "billing"}


def test_missing_invalid_and_revoked_tokens(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    missing = is_problem(client.get("/api/v1/me"), 401)
    assert "Bearer" in str(missing["detail"])
    is_problem(client.get("/api/v1/me", headers={"Authorization": "Bearer cbt_nope"}), 401)
    is_problem(client.get("/api/v1/me", headers={"Authorization": "Basic eDp5"}), 401)
    user = make_user(factory)
    token = make_token(factory, user.username)
    with unit_of_work(factory) as db:
        revoke_token(db, Actor.system("test"), token[:12])
    revoked = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    is_problem(revoked, 401)
    assert revoked.headers["www-authenticate"].startswith("Bearer")
    assert audit_rows(factory, reason="invalid or revoked API token")


def test_wrong_role_is_403(client: TestClient, factory: sessionmaker[Session]) -> None:
    body = is_problem(client.get("/api/v1/users", headers=bearer(factory, Role.COORDINATOR)), 403)
    assert "users:manage" in str(body["detail"])


def test_create_user_and_conflict(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = bearer(factory)
    name = f"api-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "display_name": "Api User", "role": "clinician", "password": PASSWORD}
    created = client.post("/api/v1/users", json=body, headers=headers)
    assert created.status_code == 201
    assert created.json()["username"] == name
    again = is_problem(client.post("/api/v1/users", json=body, headers=headers), 409)
    assert again["errors"] == [
        {"field": "username", "message": "This username is taken; choose another."}
    ]


def test_malformed_and_invalid_bodies_change_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), "content-type": "application/json"}
    before = user_count(factory)
    broken = is_problem(
        client.post("/api/v1/users", content=b'{"username": ', headers=headers), 400
    )
    assert "not valid JSON" in str(broken["detail"])
    invalid = is_problem(
        client.post("/api/v1/users", json={"username": "A B", "role": "chef"}, headers=headers), 422
    )
    fields = {e["field"] for e in invalid["errors"]}  # type: ignore[attr-defined]
    assert {"username", "role", "display_name", "password"} <= fields
    weak = is_problem(
        client.post(
            "/api/v1/users",
            headers=headers,
            json={
                "username": "weakling",
                "display_name": "W",
                "role": "billing",
                "password": "short",
            },
        ),
        422,
    )
    assert "at least 12 characters" in str(weak["errors"])
    assert user_count(factory) == before


def test_oversized_body_is_413(settings: Settings, factory: sessionmaker[Session]) -> None:
    small = create_app(make_settings(settings.database_url, max_body_bytes=2048))
    with TestClient(small) as client:
        headers = bearer(factory)
        declared = client.post(
            "/api/v1/users",
            content=b"x" * 5000,
            headers={**headers, "content-type": "application/json"},
        )
        is_problem(declared, 413)

        def chunks() -> object:
            for _ in range(10):
                yield b"x" * 1000

        streamed = client.post(
            "/api/v1/users",
            content=chunks(),  # type: ignore[arg-type]
            headers={**headers, "content-type": "application/json"},
        )
        is_problem(streamed, 413)
    small.state.engine.dispose()


def test_unknown_routes(client: TestClient) -> None:
    body = is_problem(client.get("/api/v1/no-such-thing"), 404)
    assert body["instance"] == "/api/v1/no-such-thing"
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "There is nothing at /no-such-page" in page.text
    assert is_problem(client.delete("/api/v1/me"), 405)


def test_request_id_is_kept_or_made(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-12345678"}).headers["x-request-id"]
        == "abc-12345678"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
    assert len(made) == 32


def test_unexpected_error_is_500_without_traceback(settings: Settings) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/api/v1/explode")
    def explode() -> None:
        raise RuntimeError("secret internals")

    @app.get("/explode")
    def explode_page() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        body = is_problem(client.get("/api/v1/explode"), 500)
        assert "secret internals" not in str(body)
        assert str(body["request_id"]) in str(body["detail"])
        page = client.get("/explode")
        assert page.status_code == 500
        assert "secret internals" not in page.text
        assert "Traceback" not in page.text
        assert page.headers["x-request-id"] in page.text
    app.state.engine.dispose()


def test_health_reports_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["migrations"] == "current"


def test_health_reports_unreachable_database() -> None:
    broken = create_app(make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    with TestClient(broken) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"]["status"] == "unreachable"
