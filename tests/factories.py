"""Test data builders: real rows through the real services, unique per call."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.security import service
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.security.schemas import UserCreate, UserRead
from carebridge.settings import Settings

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def clinic_today() -> dt.date:
    """Today where the test clinic is: the server's date is a day ahead in the UTC evening."""
    zone = ZoneInfo(Settings.model_fields["timezone"].default)
    return dt.datetime.now(dt.UTC).astimezone(zone).date()


def make_user(
    factory: sessionmaker[Session],
    role: Role | str = Role.COORDINATOR,
    password: str = PASSWORD,
    username: str | None = None,
) -> UserRead:
    name = username or f"{Role(role).value}-{uuid.uuid4().hex[:8]}"
    with unit_of_work(factory) as db:
        return service.create_user(
            db,
            Actor.system("test"),
            UserCreate(
                username=name, display_name=name.title(), role=Role(role), password=password
            ),
        )


def make_token(factory: sessionmaker[Session], username: str) -> str:
    with unit_of_work(factory) as db:
        secret, _ = service.create_token(
            db, Actor.system("test"), service.find_user(db, username), "test"
        )
    return secret


def csrf_from(page: Response) -> str:
    match = CSRF_RE.search(page.text)
    assert match, "page carries no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    token = csrf_from(client.get("/login"))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
    )


def post_form(
    client: TestClient, path: str, data: dict[str, str] | None = None, page: str = "/"
) -> Response:
    """Post a form the way a browser does: with the CSRF token of a page it just opened."""
    token = csrf_from(client.get(page))
    return client.post(path, data={**(data or {}), "csrf_token": token})
