"""Typed application errors. One mapper (``carebridge.web.errors``) renders them."""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """An error the user can act on: a stable code, an HTTP status and the fields at fault."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request could not be processed"

    def __init__(
        self,
        detail: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}
        self.headers = headers or {}
        self.extra = extra or {}


class ValidationFailed(AppError):
    code = "validation-failed"
    status = 422
    title = "Some fields are not valid"


class BadRequest(AppError):
    code = "bad-request"
    status = 400
    title = "Bad request"


class Unauthenticated(AppError):
    code = "unauthenticated"
    status = 401
    title = "Sign-in required"


class Forbidden(AppError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class CsrfFailed(Forbidden):
    code = "csrf-failed"
    title = "Form expired"


class NotFound(AppError):
    code = "not-found"
    status = 404
    title = "Not found"


class Conflict(AppError):
    code = "conflict"
    status = 409
    title = "Conflict"


def check_version(what: str, current: int, sent: int, **extra: object) -> None:
    """Optimistic concurrency: refuse a change made to a copy older than the stored ``what``
    (e.g. "This appointment"), saying which version is current."""
    if current != sent:
        raise Conflict(
            f"{what} was changed by someone else (now version {current}, you had {sent}); "
            "reload it and apply your change again. Nothing was saved.",
            extra={"current_version": current, **extra},
        )


class PayloadTooLarge(AppError):
    code = "payload-too-large"
    status = 413
    title = "Request body too large"


class ServiceUnavailable(AppError):
    code = "service-unavailable"
    status = 503
    title = "Service unavailable"


class ConfigError(Exception):
    """A setting is wrong; the program stops with this one-line message."""
