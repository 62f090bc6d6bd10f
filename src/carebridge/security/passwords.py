"""Argon2id password hashing and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from carebridge.lib.errors import ValidationFailed

MIN_LENGTH = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
# Verified against when the user does not exist, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("carebridge-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def check_strength(password: str, *, username: str, field: str = "password") -> None:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"use at least {MIN_LENGTH} characters")
    if username and username.lower() in password.lower():
        problems.append("do not include the username")
    if len(set(password)) < 5:
        problems.append("use more varied characters")
    if problems:
        raise ValidationFailed(
            "Password is too weak", fields={field: "Password too weak: " + "; ".join(problems)}
        )
