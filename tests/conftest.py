"""Shared fixtures: a migrated database per backend (SQLite always, PostgreSQL when
CAREBRIDGE_TEST_DATABASE_URL is set), the app on it, and an HTTP client."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from carebridge.app import create_app
from carebridge.db import migrate
from carebridge.db.session import make_engine, make_sessionmaker
from carebridge.settings import Settings

TEST_SECRET = "test-secret-" + "x" * 40
PG_URL = os.environ.get("CAREBRIDGE_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _fresh_postgres() -> Iterator[str]:
    """A new, migrated database on the test server, dropped afterwards."""
    assert PG_URL
    base = make_url(PG_URL)
    name = f"cb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fresh_database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "postgresql":
        yield from _fresh_postgres()
        return
    url = f"sqlite:///{tmp / 'carebridge-test.db'}"
    migrate.upgrade(url)
    yield url


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from fresh_database(request.param, tmp_path_factory.mktemp(request.param))


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "secret_key": TEST_SECRET,
        # Both channels configured, so reminders are planned; nothing listens on this port
        # and worker tests bring their own SMTP server and SMS file.
        "smtp_host": "127.0.0.1",
        "smtp_port": 9,
        "sms_gateway": "file",
        "sms_file": os.path.join(tempfile.gettempdir(), "carebridge-test-sms.log"),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="session")
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()
