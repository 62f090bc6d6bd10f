"""The one error mapper: RFC 9457 problem+json under /api, an OperationOutcome under /fhir, a
redirect or an error page in the UI. Every response carries the request id; an unexpected
exception is logged with it and never shown as a traceback."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from carebridge.fhir.errors import FhirError
from carebridge.fhir.outcome import outcome_response
from carebridge.lib.errors import AppError, BadRequest, Conflict, Unauthenticated, ValidationFailed
from carebridge.security.deps import is_machine_path, request_id

log = logging.getLogger("carebridge.errors")

PROBLEM_TYPE = "urn:carebridge:problem:"
HTTP_CODES = {413: "payload-too-large", 405: "method-not-allowed", 404: "not-found"}
# HTTP status -> FHIR issue type (http://hl7.org/fhir/issue-type) for errors raised outside
# the FHIR code itself (sign-in, permissions, limits, unknown paths).
FHIR_ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-long",
    422: "processing",
    500: "exception",
}
STATUS_TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    422: "Some fields are not valid",
    500: "Something went wrong",
}


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id(request),
    }
    if fields:
        body["errors"] = [{"field": k, "message": v} for k, v in fields.items()]
    body.update(extensions or {})
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def error_page(
    request: Request, status: int, title: str, detail: str, fields: dict[str, str] | None = None
) -> Response:
    from carebridge.web.render import render  # the renderer imports security; keep this lazy

    return render(
        request,
        "web/error.html",
        {
            "status": status,
            "title": title,
            "detail": detail,
            "fields": fields or {},
            "request_id": request_id(request),
        },
        status_code=status,
    )


def is_fhir_path(path: str) -> bool:
    return path.startswith("/fhir/")


def fhir_outcome(
    status: int, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """An OperationOutcome answer for an error met outside the FHIR code."""
    issue = code or FHIR_ISSUE_TYPES.get(status, "processing")
    response = outcome_response(FhirError(status, issue, detail))
    response.headers.update(headers or {})
    return response


def respond(request: Request, exc: AppError) -> Response:
    if is_fhir_path(request.url.path):
        return fhir_outcome(exc.status, exc.detail, headers=exc.headers)
    if is_machine_path(request.url.path):
        return problem(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            fields=exc.fields,
            headers=exc.headers,
            extensions={k: v for k, v in exc.extra.items() if k != "location"},
        )
    if isinstance(exc, Unauthenticated):
        return RedirectResponse(exc.extra.get("location", "/login"), status_code=303)
    return error_page(request, exc.status, exc.title, exc.detail, exc.fields)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(FhirError)
    async def fhir_error(request: Request, exc: FhirError) -> Response:
        return outcome_response(exc)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        broken = [e for e in errors if e.get("type") == "json_invalid"]
        if broken:
            reason = broken[0].get("ctx", {}).get("error", "not valid JSON")
            return respond(request, BadRequest(f"The request body is not valid JSON: {reason}"))
        fields = {_field_name(tuple(e["loc"])): str(e["msg"]) for e in errors}
        return respond(
            request,
            ValidationFailed(
                "Fix the fields listed and send again: " + ", ".join(fields), fields=fields
            ),
        )

    @app.exception_handler(StaleDataError)
    async def stale(request: Request, exc: StaleDataError) -> Response:
        return respond(
            request,
            Conflict(
                "Someone else changed this record after you opened it; reload and apply your "
                "change again."
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        title = STATUS_TITLES.get(status, "Error")
        detail = str(exc.detail) if exc.detail else title
        if status == 404:
            detail = f"There is nothing at {request.url.path}"
        headers = dict(exc.headers) if exc.headers else None
        if is_fhir_path(request.url.path):
            return fhir_outcome(status, detail, headers=headers)
        if is_machine_path(request.url.path):
            code = HTTP_CODES.get(status, title.lower().replace(" ", "-"))
            return problem(
                request, status=status, code=code, title=title, detail=detail, headers=headers
            )
        return error_page(request, status, title, detail)


async def unexpected(request: Request, exc: Exception) -> Response:
    """An exception nobody expected: logged with its traceback, answered with a request id.
    Called by ``RequestContext`` so the answer still carries our headers."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    detail = (
        f"An unexpected error occurred. Quote request id {request_id(request)} "
        "to your administrator."
    )
    if is_fhir_path(request.url.path):
        return fhir_outcome(500, detail)
    if is_machine_path(request.url.path):
        return problem(
            request, status=500, code="internal-error", title=STATUS_TITLES[500], detail=detail
        )
    try:
        return error_page(request, 500, STATUS_TITLES[500], detail)
    except Exception:  # the page itself failed (e.g. no database): plain text still helps
        return Response(detail, status_code=500, media_type="text/plain")
