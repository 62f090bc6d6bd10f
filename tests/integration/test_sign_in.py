"""Sign-in, lockout, sessions, CSRF, second factor and cookies, as a browser sees them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from carebridge.app import create_app
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.security.models import AuditEvent, User, UserSession
from carebridge.security.roles import Role
from carebridge.security.service import SIGN_IN_FAILED
from carebridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import PASSWORD, csrf_from, make_user, post_form, sign_in


def audit_rows(factory: sessionmaker[Session], **where: object) -> list[AuditEvent]:
    with unit_of_work(factory) as db:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(db.scalars(query))


def live_sessions(factory: sessionmaker[Session], username: str) -> list[UserSession]:
    with unit_of_work(factory) as db:
        return list(
            db.scalars(
                select(UserSession)
                .join(User)
                .where(User.username == username, UserSession.ended_at.is_(None))
            )
        )


def enable_totp(factory: sessionmaker[Session], user_id: uuid.UUID) -> None:
    with unit_of_work(factory) as db:
        db.execute(
            update(User)
            .where(User.id == user_id)
            .values(totp_secret=pyotp.random_base32(), totp_enabled=True)
        )


def age_sessions(factory: sessionmaker[Session], user_id: uuid.UUID, **ago: timedelta) -> None:
    """Move a user's session timestamps into the past, as if time had passed."""
    with unit_of_work(factory) as db:
        db.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id)
            .values({column: utcnow() - delta for column, delta in ago.items()})
        )


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory)
    wrong = sign_in(client, user.username, "not the password at all")
    unknown = sign_in(client, "nobody-by-this-name", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert SIGN_IN_FAILED in response.text
        assert "cb_session" not in response.cookies
    assert client.get("/").status_code == 303
    reasons = [e.reason for e in audit_rows(factory, action="failed-login")]
    assert "wrong password" in reasons
    assert "unknown user" in reasons
    assert live_sessions(factory, user.username) == []


def test_lockout_after_five_failures_then_unlocks(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory)
    for _ in range(5):
        assert sign_in(client, user.username, "wrong password guess").status_code == 401
    locked = sign_in(client, user.username, PASSWORD)
    assert locked.status_code == 401
    assert SIGN_IN_FAILED in locked.text
    events = audit_rows(factory, username=user.username, action="failed-login")
    assert events[-1].reason == "account locked"
    assert "locked for 15 minutes" in (events[-2].reason or "")
    with unit_of_work(factory) as db:  # fifteen minutes later
        db.execute(
            update(User)
            .where(User.id == user.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert sign_in(client, user.username, PASSWORD).status_code == 303


def test_disabled_user_cannot_sign_in_and_is_signed_out(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    admin = make_user(factory, Role.ADMIN)
    user = make_user(factory)
    with (
        TestClient(app, follow_redirects=False) as victim,
        TestClient(app, follow_redirects=False) as boss,
    ):
        assert sign_in(victim, user.username).status_code == 303
        assert victim.get("/").status_code == 200
        assert sign_in(boss, admin.username).status_code == 303
        done = post_form(boss, f"/admin/users/{user.id}/disable", page="/admin/users")
        assert done.status_code == 303
        assert victim.get("/").status_code == 303  # session ended at once
        assert sign_in(victim, user.username).status_code == 401
    assert audit_rows(factory, username=user.username, action="failed-login")[-1].reason == (
        "account disabled"
    )


def test_idle_session_is_ended_and_says_why(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory)
    sign_in(client, user.username)
    age_sessions(factory, user.id, last_seen_at=timedelta(minutes=16))
    response = client.get("/audit?action=login")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/audit%3Faction%3Dlogin&idle=1"
    page = client.get(response.headers["location"])
    assert "signed out after 15 minutes without activity" in page.text
    with unit_of_work(factory) as db:
        row = db.scalar(select(UserSession).where(UserSession.user_id == user.id))
        assert row is not None
        assert row.end_reason == "idle-timeout"


def test_sign_out_ends_the_session(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory)
    sign_in(client, user.username)
    cookie = client.cookies.get("cb_session")
    out = post_form(client, "/logout")
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    client.cookies.set("cb_session", cookie or "")  # a copied cookie is dead too
    assert client.get("/").status_code == 303
    assert audit_rows(factory, username=user.username, action="logout")


@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_form_without_valid_csrf_is_refused_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], token: str | None
) -> None:
    admin = make_user(factory, Role.ADMIN)
    sign_in(client, admin.username)
    data = {"username": "csrf-victim", "display_name": "X", "role": "admin", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/admin/users", data=data)
    assert response.status_code == 403
    assert "form has expired" in response.text
    assert client.get("/admin/users").text.count("csrf-victim") == 0
    assert audit_rows(factory, reason="CSRF token missing or invalid")


def test_csrf_token_of_another_browser_is_refused(
    app: FastAPI, client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory)
    with TestClient(app, follow_redirects=False) as other:
        foreign = csrf_from(other.get("/login"))
    sign_in(client, user.username)
    response = client.post("/logout", data={"csrf_token": foreign})
    assert response.status_code == 403
    assert client.get("/").status_code == 200


def test_session_cookie_flags(app: FastAPI, factory: sessionmaker[Session]) -> None:
    user = make_user(factory)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as secure:
        response = sign_in(secure, user.username)
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "secure" in header
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_pages_carry_security_headers(client: TestClient) -> None:
    page = client.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # no inline script anywhere


def test_next_never_leaves_the_site(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory)
    token = csrf_from(client.get("/login"))
    response = client.post(
        "/login",
        data={
            "username": user.username,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/"


def test_reset_password_forces_a_change(app: FastAPI, factory: sessionmaker[Session]) -> None:
    admin = make_user(factory, Role.ADMIN)
    user = make_user(factory)
    temporary = "temporary pass phrase 1"
    with TestClient(app, follow_redirects=False) as boss:
        sign_in(boss, admin.username)
        reset = post_form(
            boss,
            f"/admin/users/{user.id}/reset-password",
            {"password": temporary},
            page="/admin/users",
        )
        assert reset.status_code == 303
    with TestClient(app, follow_redirects=False) as person:
        assert sign_in(person, user.username, temporary).headers["location"] == (
            "/account/password"
        )
        assert person.get("/").headers["location"] == "/account/password"
        weak = post_form(
            person,
            "/account/password",
            {"current": temporary, "new": "short", "confirm": "short"},
            page="/account/password",
        )
        assert weak.status_code == 422
        assert "at least 12 characters" in weak.text
        new = "a brand new pass phrase"
        ok = post_form(
            person,
            "/account/password",
            {"current": temporary, "new": new, "confirm": new},
            page="/account/password",
        )
        assert ok.status_code == 303
        assert person.get("/").status_code == 200


def test_totp_enrolment_then_required_at_sign_in(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory, Role.CLINICIAN)
    with TestClient(app, follow_redirects=False) as browser:
        sign_in(browser, user.username)
        setup = browser.get("/account/totp")
        assert "Enter this key" in setup.text
        with unit_of_work(factory) as db:
            secret = db.scalar(select(User.totp_secret).where(User.id == user.id))
        assert secret
        bad = post_form(browser, "/account/totp", {"code": "000000"}, page="/account/totp")
        assert bad.status_code == 422
        good = post_form(
            browser, "/account/totp", {"code": pyotp.TOTP(secret).now()}, page="/account/totp"
        )
        assert good.status_code == 303
    with TestClient(app, follow_redirects=False) as browser:
        step = sign_in(browser, user.username)
        assert step.headers["location"] == "/login/totp"
        assert browser.get("/").headers["location"] == "/login/totp"  # not signed in yet
        wrong = post_form(browser, "/login/totp", {"code": "123456"}, page="/login/totp")
        assert wrong.status_code == 401
        right = post_form(
            browser, "/login/totp", {"code": pyotp.TOTP(secret).now()}, page="/login/totp"
        )
        assert right.headers["location"] == "/"
        assert browser.get("/").status_code == 200
    assert audit_rows(factory, username=user.username, reason="wrong TOTP code")


def test_role_that_requires_totp_must_enrol_first(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    strict = create_app(make_settings(settings.database_url, totp_required_roles=["billing"]))
    user = make_user(factory, Role.BILLING)
    with TestClient(strict, follow_redirects=False) as browser:
        assert sign_in(browser, user.username).headers["location"] == "/account/totp"
        assert browser.get("/").headers["location"] == "/account/totp"
        assert "Your role requires two-step sign-in" in browser.get("/account/totp").text
    strict.state.engine.dispose()


def test_wrong_totp_codes_count_towards_lockout(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory)
    enable_totp(factory, user.id)
    with TestClient(app, follow_redirects=False) as browser:
        assert sign_in(browser, user.username).headers["location"] == "/login/totp"
        for _ in range(4):
            wrong = post_form(browser, "/login/totp", {"code": "000000"}, page="/login/totp")
            assert wrong.status_code == 401
        locked = post_form(browser, "/login/totp", {"code": "000000"}, page="/login/totp")
        assert locked.headers["location"] == "/login"  # session ended, back to the start
        assert sign_in(browser, user.username).status_code == 401
    reasons = [e.reason for e in audit_rows(factory, username=user.username)]
    assert "wrong TOTP code; locked for 15 minutes" in reasons
    assert reasons[-1] == "account locked"


def test_admin_can_turn_off_a_lost_second_factor(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    admin = make_user(factory, Role.ADMIN)
    user = make_user(factory)
    enable_totp(factory, user.id)
    with TestClient(app, follow_redirects=False) as boss:
        sign_in(boss, admin.username)
        done = post_form(boss, f"/admin/users/{user.id}/reset-totp", page="/admin/users")
        assert done.status_code == 303
    with TestClient(app, follow_redirects=False) as person:
        assert sign_in(person, user.username).headers["location"] == "/"


def test_user_added_by_admin_must_choose_own_password(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    admin = make_user(factory, Role.ADMIN)
    name = f"new-{admin.username[-8:]}"
    with TestClient(app, follow_redirects=False) as boss:
        sign_in(boss, admin.username)
        added = post_form(
            boss,
            "/admin/users",
            {
                "username": name,
                "display_name": "New Person",
                "role": "billing",
                "password": PASSWORD,
            },
            page="/admin/users",
        )
        assert added.status_code == 303
    with TestClient(app, follow_redirects=False) as person:
        assert sign_in(person, name).headers["location"] == "/account/password"


def test_idle_sign_out_is_audited(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory)
    sign_in(client, user.username)
    age_sessions(factory, user.id, last_seen_at=timedelta(hours=1))
    client.get("/")
    logout = audit_rows(factory, username=user.username, action="logout")
    assert [e.reason for e in logout] == ["idle-timeout"]


def test_sessions_have_a_maximum_lifetime(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory)
    sign_in(client, user.username)
    age_sessions(factory, user.id, created_at=timedelta(hours=13))
    bounced = client.get("/")
    assert bounced.headers["location"] == "/login?next=/&expired=1"
    assert "Sessions last at most 12 hours" in client.get(bounced.headers["location"]).text
    assert [e.reason for e in audit_rows(factory, username=user.username, action="logout")] == [
        "max-lifetime"
    ]


def test_pending_second_step_can_be_cancelled(app: FastAPI, factory: sessionmaker[Session]) -> None:
    user = make_user(factory)
    enable_totp(factory, user.id)
    with TestClient(app, follow_redirects=False) as browser:
        sign_in(browser, user.username)
        page = browser.get("/login/totp")
        assert "Cancel and sign out" in page.text
        out = browser.post("/logout", data={"csrf_token": csrf_from(page)})
        assert out.headers["location"] == "/login"
        assert browser.get("/login/totp").headers["location"].startswith("/login?next=")


def test_password_alone_does_not_clear_wrong_codes(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory)
    enable_totp(factory, user.id)
    for _ in range(5):
        with TestClient(app, follow_redirects=False) as browser:
            assert sign_in(browser, user.username).headers["location"] == "/login/totp"
            post_form(browser, "/login/totp", {"code": "000000"}, page="/login/totp")
    with unit_of_work(factory) as db:
        locked_until = db.scalar(select(User.locked_until).where(User.id == user.id))
    assert locked_until is not None
