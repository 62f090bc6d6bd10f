from __future__ import annotations

import pytest

from carebridge.lib.errors import ConfigError
from carebridge.settings import DEFAULT_SECRET, load_settings


def test_defaults_are_sane() -> None:
    settings = load_settings(_env_file=None)
    assert settings.session_idle_minutes == 15
    assert settings.lockout_attempts == 5
    assert settings.lockout_minutes == 15
    assert settings.database_url.startswith("sqlite")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"database_url": "oracle://scott@tiger/db"}, "CAREBRIDGE_DATABASE_URL"),
        ({"database_url": "not a url"}, "CAREBRIDGE_DATABASE_URL"),
        ({"session_idle_minutes": 0}, "CAREBRIDGE_SESSION_IDLE_MINUTES"),
        ({"totp_required_roles": ["admin", "wizard"]}, "wizard"),
        ({"timezone": "Europe/Nowhere"}, "Europe/Nowhere"),
        ({"log_level": "CHATTY"}, "CAREBRIDGE_LOG_LEVEL"),
    ],
)
def test_bad_settings_give_one_line_naming_the_setting(
    overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


def test_default_secret_only_in_demo_mode() -> None:
    with pytest.raises(ConfigError, match="CAREBRIDGE_SECRET_KEY"):
        load_settings(secret_key=DEFAULT_SECRET).check_secret()
    with pytest.raises(ConfigError, match="at least 32"):
        load_settings(secret_key="short").check_secret()
    load_settings(secret_key=DEFAULT_SECRET, demo_mode=True).check_secret()
    load_settings(secret_key="s" * 40).check_secret()


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREBRIDGE_LOCKOUT_ATTEMPTS", "3")
    monkeypatch.setenv("CAREBRIDGE_TOTP_REQUIRED_ROLES", '["admin","auditor"]')
    settings = load_settings()
    assert settings.lockout_attempts == 3
    assert settings.totp_required_roles == ["admin", "auditor"]


def test_misspelt_variable_is_named_with_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREBRIDGE_SESION_IDLE_MINUTES", "5")
    with pytest.raises(ConfigError, match="did you mean CAREBRIDGE_SESSION_IDLE_MINUTES"):
        load_settings()


def test_demo_mode_cannot_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREBRIDGE_DEMO_MODE", "true")
    with pytest.raises(ConfigError, match="carebridge demo"):
        load_settings()


def test_list_setting_that_is_not_json_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREBRIDGE_TOTP_REQUIRED_ROLES", "admin")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "CAREBRIDGE_TOTP_REQUIRED_ROLES" in str(caught.value)
    assert "JSON" in str(caught.value)


def test_settings_roles_match_the_role_enum() -> None:
    from carebridge.security.roles import Role
    from carebridge.settings import ROLES

    assert set(ROLES) == {role.value for role in Role}
