"""OperationOutcome: how every FHIR error is answered (and warnings alongside a success)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from carebridge.fhir.errors import FhirError

FHIR_JSON = "application/fhir+json; charset=utf-8"


def operation_outcome(*errors: FhirError) -> dict[str, Any]:
    """The OperationOutcome resource for ``errors`` (each one issue)."""
    issues = []
    for error in errors:
        issue: dict[str, Any] = {
            "severity": error.severity,
            "code": error.code,
            "diagnostics": error.diagnostics,
        }
        if error.expression:
            issue["expression"] = list(error.expression)
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def outcome_response(error: FhirError) -> Response:
    """``error`` as its HTTP status with an OperationOutcome body."""
    return Response(
        orjson.dumps(operation_outcome(error)), status_code=error.status, media_type=FHIR_JSON
    )
