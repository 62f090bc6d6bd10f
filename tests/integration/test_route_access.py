"""Every route is called by every role (and by nobody) and must answer as it declares."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from carebridge.app import operations
from carebridge.security.deps import Access, is_machine_path, route_access
from carebridge.security.roles import Role, allows
from tests.factories import PASSWORD, csrf_from, make_token, make_user, sign_in

# Served paths that are not our operations: the schema and static files, both public.
NON_OPERATION_PATHS = {"/api/openapi.json", "/static"}


def method_pairs() -> list[tuple[APIRoute, str]]:
    return [(r, m) for r in operations() for m in sorted(r.methods)]


def test_every_served_route_is_one_of_ours(app: FastAPI) -> None:
    ours = {route.path for route in operations()}
    served = {getattr(route, "path", None) for route in app.routes} - {None}
    assert served - ours <= NON_OPERATION_PATHS
    probe = TestClient(app)
    assert probe.get("/static/carebridge.css").status_code == 200
    assert probe.get("/api/openapi.json").status_code == 200


def test_every_route_declares_its_access() -> None:
    for route in operations():
        access = route_access(route)
        declared = [access.public, access.permission is not None, access.sign_in_step is not None]
        assert sum(declared) == 1, f"{route.path} must declare exactly one access rule: {access}"
        if "POST" in route.methods and not is_machine_path(route.path):
            assert access.csrf, f"form route {route.path} lacks CSRF protection"


def _call(client: TestClient, route: APIRoute, method: str, headers: dict[str, str]) -> Response:
    path = re.sub(r"\{\w+_id\}", lambda _: str(uuid.uuid4()), route.path)
    if method == "GET":
        return client.get(path, headers=headers)
    if is_machine_path(path):
        body = {
            "username": f"u{uuid.uuid4().hex[:8]}",
            "display_name": "Route Test",
            "role": "clinician",
            "password": PASSWORD,
        }
        return client.request(method, path, json=body, headers=headers)
    token = csrf_from(client.get("/login"))
    return client.post(path, data={"csrf_token": token}, headers=headers)


def _refused_sign_in(response: Response) -> bool:
    if response.status_code == 401:
        return True
    return response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def _expected(access: Access, role: str | None) -> str:
    if access.public:
        return "allowed"
    if role is None:
        return "sign-in"
    if access.permission is None or allows(role, access.permission):
        return "allowed"
    return "forbidden"


def _outcome(response: Response) -> str:
    if _refused_sign_in(response):
        return "sign-in"
    if response.status_code == 403:
        return "forbidden"
    assert response.status_code < 500, response.text
    return "allowed"


@pytest.mark.parametrize("role", [None, *[r.value for r in Role]])
def test_route_answers_as_declared_for_role(
    app: FastAPI, factory: sessionmaker[Session], role: str | None
) -> None:
    user = make_user(factory, role) if role else None
    api_headers = {"Authorization": f"Bearer {make_token(factory, user.username)}"} if user else {}
    mismatches = []
    # One signed-in browser for the whole walk; signing out comes last so it ends nothing early.
    pairs = sorted(method_pairs(), key=lambda pair: pair[0].path == "/logout")
    with TestClient(app, follow_redirects=False) as client:
        if user is not None:
            assert sign_in(client, user.username).status_code == 303
        for route, method in pairs:
            access = route_access(route)
            headers = api_headers if is_machine_path(route.path) else {}
            response = _call(client, route, method, headers)
            want = _expected(access, role)
            # A public route may itself answer 401 (the sign-in form on a failed attempt);
            # what matters is that it is never forbidden nor bounced to sign-in.
            got = (
                _outcome(response)
                if not access.public
                else (
                    "allowed"
                    if response.status_code != 403 and "location" not in response.headers
                    else "refused"
                )
            )
            if got != want:
                mismatches.append(f"{method} {route.path}: expected {want}, got {got}")
    assert not mismatches, "\n".join(mismatches)
