"""Settings from ``CAREBRIDGE_*`` environment variables (and an optional ``.env``).

Nothing reads settings at import time: call :func:`get_settings` (cached) or build a
:class:`Settings` directly (tests, the demo command).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from functools import lru_cache
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from carebridge.lib.errors import ConfigError

DEFAULT_SECRET = "carebridge-insecure-default-secret"  # noqa: S105 - refused outside demo mode
ROLES = ("admin", "coordinator", "clinician", "billing", "auditor")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAREBRIDGE_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        "sqlite:///./carebridge.db",
        description="SQLAlchemy URL: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
    )
    secret_key: str = Field(DEFAULT_SECRET, description="Signs cookies and CSRF tokens")
    demo_mode: bool = Field(False, description="Allows the default secret; set by `demo` only")
    clinic_name: str = "Carebridge Clinic"
    timezone: str = "America/Chicago"
    session_idle_minutes: int = Field(15, ge=1, le=720)
    session_max_hours: int = Field(12, ge=1, le=168, description="Sign in again after this")
    lockout_attempts: int = Field(5, ge=1, le=100)
    lockout_minutes: int = Field(15, ge=1, le=1440)
    totp_required_roles: list[str] = Field(default_factory=list)
    cookie_secure: bool | None = Field(
        None, description="Force the Secure cookie flag; by default set when served over https"
    )
    # Room for a 5 MB scanned consent form or card image in a multipart upload.
    max_body_bytes: int = Field(6_291_456, ge=1024)
    db_pool_size: int = Field(10, ge=1, le=200)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    public_url: str = Field(
        "http://127.0.0.1:8000", description="How patients reach this server (links in messages)"
    )
    telehealth_url_template: str = Field(
        "https://video.example.org/carebridge/{token}",
        description="Join link of a video visit; {token} is replaced by the visit's secret",
    )
    reminder_offsets_hours: list[int] = Field(default_factory=lambda: [72, 24])
    quiet_hours_start: int = Field(21, ge=0, le=23, description="Local hour messages stop")
    quiet_hours_end: int = Field(8, ge=0, le=23, description="Local hour messages resume")
    ride_buffer_minutes: int = Field(
        60, ge=10, le=480, description="Default minutes between a ride's pickup and the visit"
    )
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Carebridge Clinic <no-reply@carebridge.invalid>"
    sms_gateway: Literal["none", "file", "webhook"] = "none"
    sms_file: str = Field("carebridge-sms.log", description="Where the file gateway appends SMS")
    sms_webhook_url: str | None = None
    delivery_max_attempts: int = Field(5, ge=1, le=20)
    worker_poll_seconds: float = Field(5.0, gt=0, le=300)
    # Who we are on claims, eligibility and authorization requests (X12 and FHIR).
    clinic_npi: str = Field("1245319599", description="Billing provider NPI (type 2)")
    clinic_tax_id: str = Field("741234567", description="Federal tax id (EIN), 9 digits")
    clinic_address: str = Field("1200 Main Street", description="Billing provider street")
    clinic_city: str = "Austin"
    clinic_state: str = Field("TX", min_length=2, max_length=2)
    clinic_zip: str = Field("787011234", description="ZIP+4 without the dash, as 837P asks")
    clinic_phone: str = "5125550100"
    x12_sender_id: str = Field("CAREBRIDGE", max_length=15, description="ISA06 we send as")
    x12_receiver_id: str = Field("CLEARINGHOUSE", max_length=15, description="ISA08 we send to")
    clearinghouse: Literal["simulator", "http"] = Field(
        "simulator", description="simulator answers like a payer; http posts to the URL"
    )
    clearinghouse_url: str | None = Field(None, description="Where the http connector posts X12")
    clearinghouse_token: str | None = Field(None, description="Bearer token for the URL")
    clearinghouse_timeout_seconds: float = Field(30.0, gt=0, le=300)
    clearinghouse_max_attempts: int = Field(
        4, ge=1, le=20, description="Tries before a request is left failed and a task raised"
    )
    hl7_application: str = Field("CAREBRIDGE", description="MSH-3 of the ACKs we send")
    hl7_facility: str = Field("CAREBRIDGE", description="MSH-4 of the ACKs we send")
    clinic_holidays: list[dt.date] = Field(
        default_factory=list,
        description="Days the clinic is closed besides US federal holidays (business days)",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Proxy addresses whose X-Forwarded-For is believed"
    )

    @field_validator("database_url")
    @classmethod
    def _url_parses(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite and postgresql databases are supported")
        return value

    @field_validator("totp_required_roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
        return value

    @field_validator("reminder_offsets_hours")
    @classmethod
    def _offsets(cls, value: list[int]) -> list[int]:
        if any(h <= 0 or h > 24 * 30 for h in value):
            raise ValueError("each offset is a number of hours before the visit, 1 to 720")
        return sorted(set(value), reverse=True)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("give the address patients use, e.g. https://care.example.org")
        return value.rstrip("/")

    @field_validator("clinic_npi")
    @classmethod
    def _npi(cls, value: str) -> str:
        from carebridge.lib.checksums import npi_is_valid

        if not npi_is_valid(value):
            raise ValueError(f"{value!r} is not a valid NPI (10 digits with a check digit)")
        return value

    @field_validator("clinic_tax_id")
    @classmethod
    def _ein(cls, value: str) -> str:
        if not re.fullmatch(r"\d{9}", value):
            raise ValueError("the tax id is 9 digits without a dash")
        return value

    @field_validator("clearinghouse_url")
    @classmethod
    def _clearinghouse_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("give the clearinghouse endpoint as an http(s) URL")
        return value

    @field_validator("telehealth_url_template")
    @classmethod
    def _has_token(cls, value: str) -> str:
        if "{token}" not in value:
            raise ValueError("the template must contain {token}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _http_needs_url(self) -> Settings:
        if self.clearinghouse == "http" and not self.clearinghouse_url:
            raise ValueError("CAREBRIDGE_CLEARINGHOUSE=http needs CAREBRIDGE_CLEARINGHOUSE_URL")
        return self

    def check_secret(self) -> None:
        """Outside demo mode a real secret is required."""
        if self.demo_mode:
            return
        if self.secret_key == DEFAULT_SECRET:
            raise ConfigError(
                "CAREBRIDGE_SECRET_KEY is the insecure default; set a random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if len(self.secret_key) < 32:
            raise ConfigError("CAREBRIDGE_SECRET_KEY must be at least 32 characters long")


# Variables the test and CI tooling reads; not settings of the application.
TOOLING_PREFIX = "CAREBRIDGE_TEST_"


def _check_environment() -> None:
    """A misspelt variable would silently leave a default in force: name it instead."""
    known = {"CAREBRIDGE_" + name.upper() for name in Settings.model_fields}
    dotenv = dotenv_values(".env") if os.path.exists(".env") else {}
    for name in [*os.environ, *dotenv]:
        if not name.startswith("CAREBRIDGE_") or name.startswith(TOOLING_PREFIX):
            continue
        if name == "CAREBRIDGE_DEMO_MODE":
            raise ConfigError("CAREBRIDGE_DEMO_MODE cannot be set; run `carebridge demo` instead")
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"unknown setting {name}{hint}")


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning every problem into a one-line :class:`ConfigError`."""
    _check_environment()
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as exc:  # a list setting that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        name = "CAREBRIDGE_" + found.group(1).upper() if found else "a list setting"
        raise ConfigError(
            f'invalid setting {name}: write lists as JSON, e.g. ["admin","auditor"]'
        ) from None
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["loc"]:
                name = "CAREBRIDGE_" + "_".join(str(p) for p in err["loc"]).upper()
                msg = f"{name}: {msg}"
            parts.append(msg)
        raise ConfigError("invalid setting " + "; ".join(parts)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
