"""Text messages through a gateway chosen by ``CAREBRIDGE_SMS_GATEWAY``:

- ``file``: appends one JSON line ``{"to", "body", "at"}`` to ``CAREBRIDGE_SMS_FILE`` (demo,
  or a hand-off to another program);
- ``webhook``: POSTs ``{"to", "body", "id"}`` as JSON to ``CAREBRIDGE_SMS_WEBHOOK_URL``; any
  2xx answer is acceptance (its JSON ``id``, when given, is the gateway's id);
- ``none``: every text message fails with "no SMS gateway configured", and is recorded as
  such, never dropped in silence.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

import httpx

from carebridge.lib.time import utcnow
from carebridge.messaging.models import OutboxMessage
from carebridge.messaging.service import Accepted, DeliveryError
from carebridge.settings import Settings

TIMEOUT_SECONDS = 15.0
_FILE_LOCK = threading.Lock()


class SmsGateway(Protocol):
    """Something that takes a text message and says whether it accepted it."""

    def send(self, message: OutboxMessage) -> Accepted: ...


class FileGateway:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, message: OutboxMessage) -> Accepted:
        line = json.dumps(
            {"to": message.recipient, "body": message.body, "at": utcnow().isoformat()},
            ensure_ascii=False,
        )
        try:
            with _FILE_LOCK, self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")  # one write in append mode: lines never interleave
        except OSError as exc:
            raise DeliveryError(f"cannot append to SMS file {self.path}: {exc}") from exc
        return Accepted(provider_id=f"file:{message.id}", detail=f"appended to {self.path}")


class WebhookGateway:
    def __init__(self, url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, message: OutboxMessage) -> Accepted:
        payload = {"to": message.recipient, "body": message.body, "id": str(message.id)}
        try:
            response = httpx.post(self.url, json=payload, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway {self.url} unreachable: {exc}") from exc
        text = response.text.strip()
        if not response.is_success:
            raise DeliveryError(
                f"SMS gateway {self.url} answered {response.status_code}: {text[:500]}"
            )
        return Accepted(
            provider_id=_gateway_id(response) or str(message.id),
            detail=f"{response.status_code} {text[:500]}".strip(),
        )


def _gateway_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value not in (None, "") else None


class NoGateway:
    def send(self, message: OutboxMessage) -> Accepted:
        raise DeliveryError(
            "no SMS gateway configured (set CAREBRIDGE_SMS_GATEWAY to file or webhook)"
        )


def gateway_for(settings: Settings) -> SmsGateway:
    if settings.sms_gateway == "file":
        return FileGateway(settings.sms_file)
    if settings.sms_gateway == "webhook":
        if not settings.sms_webhook_url:
            return _Misconfigured("webhook chosen but CAREBRIDGE_SMS_WEBHOOK_URL is not set")
        return WebhookGateway(settings.sms_webhook_url)
    return NoGateway()


class _Misconfigured:
    def __init__(self, problem: str) -> None:
        self.problem = problem

    def send(self, message: OutboxMessage) -> Accepted:
        raise DeliveryError(f"SMS gateway misconfigured: {self.problem}")
