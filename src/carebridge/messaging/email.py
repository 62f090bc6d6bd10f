"""Email through an SMTP server (``CAREBRIDGE_SMTP_*``): plain, STARTTLS or implicit TLS,
optional login. A message counts as delivered only when the server accepts its DATA; the
server's reply (with its queue id when it gives one) is what the outbox records."""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from urllib.parse import urlparse

from carebridge.lib.time import utcnow
from carebridge.messaging.models import OutboxMessage
from carebridge.messaging.service import Accepted, DeliveryError
from carebridge.settings import Settings

TIMEOUT_SECONDS = 30
QUEUE_ID = re.compile(r"queued as ([^\s;,]+)", re.IGNORECASE)


def build(settings: Settings, message: OutboxMessage) -> EmailMessage:
    """The MIME message: a plain-text body, attachments (the .ics) as their own parts.
    The Message-ID is the outbox id, so a retried message keeps its identity."""
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "carebridge.invalid"
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = message.recipient
    mail["Subject"] = message.subject or settings.clinic_name
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = f"<{message.id}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    mail.set_content(message.body)
    # An HTML copy of the body (a weekly report) is the body's alternative, not a file; the
    # alternative goes in before the attachments, so readers show it in place of the text.
    parts = [p for p in message.attachments if not _is_html_alternative(p)]
    for part in message.attachments:
        if _is_html_alternative(part):
            mail.add_alternative(str(part.get("content", "")), subtype="html")
    for part in parts:
        filename = str(part.get("filename") or "attachment")
        content_type = str(part.get("content_type") or "application/octet-stream")
        maintype, _, subtype = content_type.partition("/")
        content = part.get("content", "")
        if part.get("encoding") == "base64":
            mail.add_attachment(
                base64.b64decode(str(content)),
                maintype=maintype,
                subtype=subtype,
                filename=filename,
            )
        elif maintype == "text":
            mail.add_attachment(str(content), subtype=subtype, filename=filename)
        else:
            mail.add_attachment(
                str(content).encode(), maintype=maintype, subtype=subtype, filename=filename
            )
    return mail


def _is_html_alternative(part: Mapping[str, object]) -> bool:
    return bool(part.get("alternative")) and part.get("content_type") == "text/html"


def _connect(settings: Settings, host: str) -> smtplib.SMTP:
    # Say our own name in EHLO: looking up this machine's FQDN can stall without DNS.
    local = urlparse(settings.public_url).hostname or "localhost"
    if settings.smtp_security == "tls":
        return smtplib.SMTP_SSL(
            host,
            settings.smtp_port,
            local_hostname=local,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(host, settings.smtp_port, local_hostname=local, timeout=TIMEOUT_SECONDS)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def send(settings: Settings, message: OutboxMessage) -> Accepted:
    """Deliver one email; :class:`DeliveryError` with the server's words when it refuses or
    cannot be reached."""
    host = settings.smtp_host
    if not host:
        raise DeliveryError("no SMTP server configured (set CAREBRIDGE_SMTP_HOST)")
    where = f"{host}:{settings.smtp_port}"
    mail = build(settings, message)
    sender = parseaddr(settings.smtp_from)[1]
    try:
        smtp = _connect(settings, host)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"cannot reach SMTP server {where}: {exc}") from exc
    try:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        code, reply = smtp.mail(sender)
        if code != 250:
            raise DeliveryError(
                f"SMTP server {where} refused sender {sender}: {code} {_text(reply)}"
            )
        code, reply = smtp.rcpt(message.recipient)
        if code not in (250, 251):
            raise DeliveryError(
                f"SMTP server {where} refused recipient {message.recipient}: {code} {_text(reply)}"
            )
        code, reply = smtp.data(mail.as_bytes(policy=SMTP))
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"SMTP server {where} answered {exc.smtp_code} {_text(exc.smtp_error)}"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP conversation with {where} failed: {exc}") from exc
    finally:
        _quit(smtp)
    answer = _text(reply)
    found = QUEUE_ID.search(answer)
    provider_id = found.group(1) if found else str(mail["Message-ID"])
    return Accepted(provider_id=provider_id, detail=f"{code} {answer}")


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; a failure here cannot undo an accepted message, so it is ignored."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
