"""The `carebridge` command as an operator runs it: real processes, real databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carebridge.app import create_app
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.security.models import ApiToken
from tests.conftest import TEST_SECRET, make_settings

SECRET_ENV = {"CAREBRIDGE_SECRET_KEY": TEST_SECRET}


def run(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBRIDGE_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "carebridge.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("carebridge: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_bad_database_url_stops_with_one_line(tmp_path: Path) -> None:
    result = run(["serve"], env={**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": "mysql://x/y"})
    one_line_error(result, 2, "CAREBRIDGE_DATABASE_URL", "sqlite and postgresql")
    garbage = run(["db", "upgrade"], env={"CAREBRIDGE_DATABASE_URL": "::not a url::"})
    one_line_error(garbage, 2, "CAREBRIDGE_DATABASE_URL")


def test_unreachable_database_stops_with_one_line() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = run(["serve"], env={**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": url})
    one_line_error(result, 2, "cannot reach database")


def test_default_secret_is_refused_outside_demo(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run(["serve"], env={"CAREBRIDGE_DATABASE_URL": url})
    one_line_error(result, 2, "CAREBRIDGE_SECRET_KEY")


def test_bad_setting_value_is_named() -> None:
    result = run(["serve"], env={**SECRET_ENV, "CAREBRIDGE_SESSION_IDLE_MINUTES": "soon"})
    one_line_error(result, 2, "CAREBRIDGE_SESSION_IDLE_MINUTES")
    zone = run(["serve"], env={**SECRET_ENV, "CAREBRIDGE_TIMEZONE": "Mars/Olympus"})
    one_line_error(zone, 2, "Mars/Olympus")


def test_unmigrated_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run(["user", "list"], env={**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": url})
    one_line_error(result, 2, "carebridge db upgrade")


def test_user_and_token_lifecycle(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    env = {**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": url}
    assert run(["db", "upgrade"], env=env).returncode == 0
    assert "agree" in run(["db", "check"], env=env).stdout
    weak = run(
        ["user", "create", "nurse", "--role", "coordinator", "--password-stdin"],
        env=env,
        stdin="short\n",
    )
    assert weak.returncode == 1
    assert "at least 12 characters" in weak.stderr
    bad_role = run(
        ["user", "create", "nurse", "--role", "chef", "--password-stdin"],
        env=env,
        stdin="long enough password\n",
    )
    assert bad_role.returncode == 1
    assert "role" in bad_role.stderr
    made = run(
        [
            "user",
            "create",
            "nurse",
            "--role",
            "coordinator",
            "--name",
            "Nora Nurse",
            "--password-stdin",
        ],
        env=env,
        stdin="long enough password\n",
    )
    assert made.returncode == 0, made.stderr
    dup = run(
        ["user", "create", "nurse", "--role", "coordinator", "--password-stdin"],
        env=env,
        stdin="long enough password\n",
    )
    assert dup.returncode == 1
    assert "already exists" in dup.stderr
    listing = run(["user", "list"], env=env)
    assert "nurse" in listing.stdout
    assert "Nora Nurse" in listing.stdout

    token = run(["token", "create", "nurse", "--name", "integration"], env=env)
    assert token.returncode == 0
    secret = token.stdout.strip()
    assert secret.startswith("cbt_")
    assert "not shown again" in token.stderr
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as db:
        stored = db.scalars(select(ApiToken)).one()
        assert stored.token_hash != secret
        assert secret not in stored.token_hash
    engine.dispose()
    app = create_app(make_settings(url))
    with TestClient(app) as client:
        assert (
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()[
                "username"
            ]
            == "nurse"
        )
        assert run(["token", "revoke", secret[:12]], env=env).returncode == 0
        assert (
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code
            == 401
        )
    app.state.engine.dispose()
    assert run(["token", "revoke", "cbt_unknown"], env=env).returncode == 1
    assert run(["user", "disable", "nurse"], env=env).returncode == 0
    assert "disabled" in run(["user", "list"], env=env).stdout
    missing = run(["user", "disable", "ghost"], env=env)
    assert missing.returncode == 1
    assert "No user named 'ghost'" in missing.stderr


def test_demo_without_serving_creates_a_database(tmp_path: Path) -> None:
    result = run(
        ["demo", "--db", str(tmp_path / "demo.db"), "--no-serve", "--seed", "7"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "coordinator" in result.stdout
    assert "care-coordination-demo" in result.stdout
    again = run(["demo", "--db", str(tmp_path / "demo.db"), "--no-serve"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # reusing a demo database is fine
    assert (tmp_path / "demo.db").exists()


@pytest.mark.parametrize("args", [["demo", "--port", "0"], ["serve", "--workers", "0"]])
def test_bad_arguments_are_named(args: list[str]) -> None:
    result = run(args)
    assert result.returncode == 2
    assert "Invalid value" in result.stderr


def test_postgres_upgrade_and_check(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("runs once, against PostgreSQL (set CAREBRIDGE_TEST_DATABASE_URL)")
    env = {**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": db_url}
    assert run(["db", "upgrade"], env=env).returncode == 0
    assert run(["db", "check"], env=env).returncode == 0


def test_worker_runs_one_pass(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    env = {**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": url}
    assert run(["db", "upgrade"], env=env).returncode == 0
    result = run(["worker", "--once"], env=env)
    assert result.returncode == 0, result.stderr
    assert "Worker stopped: 0 sent" in result.stdout
