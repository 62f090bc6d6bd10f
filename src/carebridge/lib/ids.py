"""Identifiers: UUIDs for records, URL-safe random strings for secrets."""

from __future__ import annotations

import hashlib
import secrets
import uuid


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (tokens, session keys); never used for passwords."""
    return hashlib.sha256(secret.encode()).hexdigest()
