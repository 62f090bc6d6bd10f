"""Errors a FHIR interaction answers with an OperationOutcome: the HTTP status, the issue
type code (http://hl7.org/fhir/issue-type) and what is wrong, in words a client's developer
can act on."""

from __future__ import annotations


class FhirError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        expression: list[str] | None = None,
        severity: str = "error",
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression or []
        self.severity = severity
