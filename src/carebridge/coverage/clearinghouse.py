"""Clearinghouse connectors: how an X12 interchange or a FHIR bundle leaves Carebridge and
what comes back.

A connector only moves text. Building the request, reading the answer, retrying and
recording the outcome belong to the service that sent it (eligibility, prior authorization,
claims); a connector says whether a failure is worth retrying (``transient``).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import httpx

from carebridge.settings import Settings

X12 = "application/edi-x12"
FHIR_JSON = "application/fhir+json"


class ClearinghouseError(Exception):
    """The exchange did not produce an answer. ``transient`` failures (timeouts, 5xx, refused
    connections) are tried again later; the others need a person."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Connector(Protocol):
    name: str

    def exchange(self, payload: str, content_type: str) -> str:
        """Send ``payload`` and return the reply's text, or raise ClearinghouseError."""
        ...


class SimulatorConnector:
    """The built-in payer simulator, answered in process (see ``coverage.simulator``)."""

    name = "simulator"

    def exchange(self, payload: str, content_type: str) -> str:
        from carebridge.coverage import simulator

        return simulator.answer(payload, content_type)


class HttpConnector:
    """Posts the payload to the clearinghouse's real-time endpoint and returns its body."""

    name = "http"

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def exchange(self, payload: str, content_type: str) -> str:
        headers = {"Content-Type": content_type, "Accept": f"{content_type}, text/plain"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = httpx.post(
                self.url, content=payload.encode(), headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise ClearinghouseError(
                f"the clearinghouse did not answer within {self.timeout:g} s", transient=True
            ) from None
        except httpx.HTTPError as exc:
            raise ClearinghouseError(
                f"could not reach the clearinghouse: {exc}", transient=True
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ClearinghouseError(
                f"the clearinghouse answered HTTP {response.status_code}", transient=True
            )
        if response.status_code >= 400:
            raise ClearinghouseError(
                f"the clearinghouse refused the request with HTTP {response.status_code}: "
                f"{response.text[:200]}",
                transient=False,
            )
        return response.text


def connector_for(settings: Settings) -> Connector:
    if settings.clearinghouse == "http":
        assert settings.clearinghouse_url  # the settings refuse http without a URL
        return HttpConnector(
            settings.clearinghouse_url,
            token=settings.clearinghouse_token,
            timeout=settings.clearinghouse_timeout_seconds,
        )
    return SimulatorConnector()


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failed ones: 2, 8, 32 minutes... capped at
    two hours, so a clearinghouse outage is not hammered and a short one costs little."""
    return min(dt.timedelta(minutes=2 * 4 ** max(attempts - 1, 0)), dt.timedelta(hours=2))
