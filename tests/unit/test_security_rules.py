from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carebridge.lib.errors import ValidationFailed
from carebridge.lib.paging import Page
from carebridge.security import passwords
from carebridge.security.deps import csrf_token_for
from carebridge.security.roles import Permission, Role, allows
from carebridge.security.views import _cell, _safe_next
from carebridge.web.render import format_when


def test_passwords_hash_with_argon2id_and_verify() -> None:
    hashed = passwords.hash_password("a long pass phrase")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "a long pass phrase")
    assert not passwords.verify_password(hashed, "a long pass phrasE")
    assert not passwords.verify_password(None, "a long pass phrase")
    assert not passwords.verify_password("not-a-hash", "x")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 12"),
        ("maria-alvarez-2026", "username"),
        ("aaaaaaaaaaaaaaaa", "varied"),
    ],
)
def test_weak_passwords_are_explained(password: str, problem: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        passwords.check_strength(password, username="maria-alvarez")
    assert problem in caught.value.fields["password"]


def test_roles_and_permissions() -> None:
    assert allows("admin", Permission.USERS_MANAGE)
    assert not allows("admin", Permission.AUDIT_READ)
    assert allows("auditor", Permission.AUDIT_EXPORT)
    assert not allows("coordinator", Permission.USERS_MANAGE)
    assert not allows("superuser", Permission.WORKLIST_VIEW)
    assert all(allows(role.value, Permission.WORKLIST_VIEW) for role in Role)


def test_csrf_tokens_are_bound_to_the_cookie_and_secret() -> None:
    token = csrf_token_for("secret-one", "cookie-a")
    assert token == csrf_token_for("secret-one", "cookie-a")
    assert token != csrf_token_for("secret-one", "cookie-b")
    assert token != csrf_token_for("secret-two", "cookie-a")


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/audit?x=1", "/audit?x=1"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_next_targets_stay_on_site(target: str | None, safe: str) -> None:
    assert _safe_next(target) == safe


def test_csv_cells_cannot_start_formulas() -> None:
    assert _cell("=SUM(A1)") == "'=SUM(A1)"
    assert _cell("@cmd") == "'@cmd"
    assert _cell("plain") == "plain"
    assert _cell(None) == ""


def test_times_show_zone_explicitly() -> None:
    moment = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)
    assert format_when(moment, "America/Chicago") == "Tue 24 Nov 2026, 14:30 (America/Chicago)"


def test_paging_bounds() -> None:
    assert Page(3, 20).offset == 40
    with pytest.raises(ValueError, match="page size"):
        Page(1, 0)
    with pytest.raises(ValueError, match="starts at 1"):
        Page(0, 10)
