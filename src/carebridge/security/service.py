"""Security use cases: users, sign-in with lockout and TOTP, sessions, API tokens, audit search.

Functions take a session and an actor, flush but never commit (the entry point commits).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pyotp
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from carebridge.lib.errors import Conflict, NotFound, ValidationFailed
from carebridge.lib.ids import digest, new_secret
from carebridge.lib.paging import Page
from carebridge.lib.time import utcnow
from carebridge.security import passwords
from carebridge.security.audit import Action, Actor, Outcome, record
from carebridge.security.models import ApiToken, AuditEvent, User, UserSession
from carebridge.security.schemas import AuditEventRead, AuditFilter, TokenRead, UserCreate, UserRead
from carebridge.settings import Settings

TOKEN_PREFIX = "cbt_"  # noqa: S105 - a marker, not a secret
SIGN_IN_FAILED = (
    "Sign-in failed. Check your username and password; after several failed attempts "
    "an account is locked for a while."
)


# --- users -----------------------------------------------------------------------------


def create_user(
    db: Session, actor: Actor, data: UserCreate, *, temporary_password: bool = False
) -> UserRead:
    """Add a user. A password chosen by someone else (an administrator) is temporary: the
    user must replace it at first sign-in."""
    passwords.check_strength(data.password, username=data.username)
    if db.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Conflict(
            f"A user named {data.username!r} already exists",
            fields={"username": "This username is taken; choose another."},
        )
    user = User(
        username=data.username,
        display_name=data.display_name,
        role=data.role.value,
        password_hash=passwords.hash_password(data.password),
        must_change_password=temporary_password,
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    db.add(user)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="User", entity_id=user.id)
    return UserRead.model_validate(user)


def list_users(db: Session) -> list[UserRead]:
    users = db.scalars(select(User).order_by(User.username))
    return [UserRead.model_validate(u) for u in users]


def get_user(db: Session, user_id: uuid.UUID) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}")
    return user


def find_user(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"No user named {username!r}")
    return user


def set_active(db: Session, actor: Actor, user: User, active: bool) -> UserRead:
    if not active and user.id == actor.user_id:
        raise ValidationFailed("You cannot disable your own account")
    user.is_active = active
    user.updated_by = actor.user_id
    if not active:
        _end_all_sessions(db, user.id, "disabled")
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="User",
        entity_id=user.id,
        reason="enabled" if active else "disabled",
    )
    return UserRead.model_validate(user)


def reset_password(db: Session, actor: Actor, user: User, new_password: str) -> None:
    """An administrator sets a temporary password; the user must change it at next sign-in."""
    passwords.check_strength(new_password, username=user.username)
    user.password_hash = passwords.hash_password(new_password)
    user.must_change_password = True
    user.failed_attempts = 0
    user.locked_until = None
    user.updated_by = actor.user_id
    _end_all_sessions(db, user.id, "password-reset")
    db.flush()
    record(db, actor, Action.UPDATE, entity_type="User", entity_id=user.id, reason="password reset")


def change_password(db: Session, actor: Actor, current: str, new: str, confirm: str) -> None:
    assert actor.user_id is not None
    user = get_user(db, actor.user_id)
    if not passwords.verify_password(user.password_hash, current):
        raise ValidationFailed(
            "Current password is wrong", fields={"current": "This is not your current password."}
        )
    if new != confirm:
        raise ValidationFailed(
            "Passwords differ", fields={"confirm": "Type the same new password twice."}
        )
    if new == current:
        raise ValidationFailed(
            "Password unchanged", fields={"new": "Choose a password you have not just used."}
        )
    passwords.check_strength(new, username=user.username, field="new")
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.updated_by = actor.user_id
    db.flush()
    record(
        db, actor, Action.UPDATE, entity_type="User", entity_id=user.id, reason="password changed"
    )


# --- sign-in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """The result of checking a password: a user to start a session for, or a failure."""

    user: User | None
    next_stage: str = "active"


def authenticate(
    db: Session,
    settings: Settings,
    username: str,
    password: str,
    *,
    client_addr: str | None,
    request_id: str | None,
) -> SignIn:
    """Check a password with lockout. Every failure gets the same answer for the user; the
    audit row says what really happened."""
    now = utcnow()
    name = username.strip().lower()
    user = db.scalar(select(User).where(User.username == name)) if name else None
    ok = passwords.verify_password(user.password_hash if user else None, password)

    def fail(reason: str) -> SignIn:
        record(
            db,
            None,
            Action.FAILED_LOGIN,
            entity_type="User",
            entity_id=user.id if user else None,
            outcome=Outcome.FAILURE,
            reason=reason,
            username=name[:64] or None,
            client_addr=client_addr,
            request_id=request_id,
        )
        return SignIn(user=None)

    if user is None:
        return fail("unknown user")
    if not user.is_active:
        return fail("account disabled")
    if user.locked_until is not None and user.locked_until > now:
        return fail("account locked")
    if not ok:
        return fail(count_failure(db, settings, user, "wrong password"))

    user.locked_until = None
    if user.totp_enabled:
        # The failure count is cleared only once the code is right too, so wrong codes
        # cannot be retried forever by re-entering the password.
        return SignIn(user=user, next_stage="totp")
    user.failed_attempts = 0
    if user.role in settings.totp_required_roles:
        return SignIn(user=user, next_stage="enroll")
    return SignIn(user=user)


def count_failure(db: Session, settings: Settings, user: User, reason: str) -> str:
    """Count a failed password or code; lock the account after too many. Returns the
    audit reason, saying so when this failure locked it."""
    user.failed_attempts += 1
    if user.failed_attempts >= settings.lockout_attempts:
        user.locked_until = utcnow() + timedelta(minutes=settings.lockout_minutes)
        user.failed_attempts = 0
        reason += f"; locked for {settings.lockout_minutes} minutes"
        _end_all_sessions(db, user.id, "locked")
    db.flush()
    return reason


def check_totp_step(db: Session, settings: Settings, user: User, code: str) -> str | None:
    """The second sign-in step. Returns None when the code is right, else the audit reason;
    wrong codes count towards the same lockout as wrong passwords."""
    if user.locked_until is not None and user.locked_until > utcnow():
        _end_all_sessions(db, user.id, "locked")
        return "account locked"
    if verify_totp(user, code):
        user.failed_attempts = 0
        return None
    return count_failure(db, settings, user, "wrong TOTP code")


def reset_totp(db: Session, actor: Actor, user: User) -> None:
    """Turn off a user's second factor (lost phone); they set it up again at next need."""
    user.totp_enabled = False
    user.totp_secret = None
    user.updated_by = actor.user_id
    _end_all_sessions(db, user.id, "totp-reset")
    db.flush()
    record(db, actor, Action.UPDATE, entity_type="User", entity_id=user.id, reason="TOTP reset")


def complete_sign_in(db: Session, user: User, actor: Actor) -> None:
    user.last_login_at = utcnow()
    db.flush()
    record(db, actor, Action.LOGIN, entity_type="User", entity_id=user.id)


# --- sessions --------------------------------------------------------------------------


def start_session(
    db: Session, user: User, *, stage: str, client_addr: str | None, user_agent: str | None
) -> str:
    """Create a session and return the cookie key (shown once; only its hash is stored)."""
    key = new_secret()
    db.add(
        UserSession(
            user_id=user.id,
            key_hash=digest(key),
            stage=stage,
            client_addr=client_addr,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    db.flush()
    return key


@dataclass(frozen=True)
class SessionLookup:
    session: UserSession | None
    expired: bool = False
    ended: UserSession | None = None


def resolve_session(
    db: Session, key: str, *, idle_minutes: int, max_hours: int = 12, touch: bool = True
) -> SessionLookup:
    """Find the live session for a cookie key; end it if idle too long or its user is gone.
    ``touch=False`` (background refreshes) does not count as activity."""
    row = db.scalar(
        select(UserSession).where(
            UserSession.key_hash == digest(key), UserSession.ended_at.is_(None)
        )
    )
    if row is None:
        return SessionLookup(None)
    now = utcnow()
    if not row.user.is_active:
        end_session(db, row, "disabled")
        return SessionLookup(None)
    if now - row.last_seen_at > timedelta(minutes=idle_minutes):
        end_session(db, row, "idle-timeout")
        return SessionLookup(None, expired=True, ended=row)
    if now - row.created_at > timedelta(hours=max_hours):
        end_session(db, row, "max-lifetime")
        return SessionLookup(None, expired=True, ended=row)
    # Touch at most every 30 s: keeps sliding expiry without a write per request.
    if touch and now - row.last_seen_at > timedelta(seconds=30):
        row.last_seen_at = now
    return SessionLookup(row)


def end_session(db: Session, row: UserSession, reason: str) -> None:
    row.ended_at = utcnow()
    row.end_reason = reason
    db.flush()


def _end_all_sessions(db: Session, user_id: uuid.UUID, reason: str) -> None:
    db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


# --- second factor ---------------------------------------------------------------------


def totp_uri(user: User, issuer: str) -> str:
    assert user.totp_secret is not None
    return str(
        pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)
    )


def begin_totp_enrollment(db: Session, user: User) -> str:
    """Give the user a fresh secret to put in an authenticator app; not active until confirmed."""
    if not user.totp_secret or user.totp_enabled:
        user.totp_secret = str(pyotp.random_base32())
        db.flush()
    return user.totp_secret


def verify_totp(user: User, code: str) -> bool:
    code = code.strip().replace(" ", "")
    if not user.totp_secret or not code.isdigit():
        return False
    return bool(pyotp.TOTP(user.totp_secret).verify(code, valid_window=1))


def confirm_totp_enrollment(db: Session, actor: Actor, user: User, code: str) -> None:
    if not verify_totp(user, code):
        raise ValidationFailed(
            "Code not accepted",
            fields={"code": "The 6-digit code did not match; check the app's clock and retry."},
        )
    user.totp_enabled = True
    db.flush()
    record(db, actor, Action.UPDATE, entity_type="User", entity_id=user.id, reason="TOTP enabled")


# --- API tokens ------------------------------------------------------------------------


def create_token(
    db: Session,
    actor: Actor,
    user: User,
    name: str,
    *,
    scopes: str | None = None,
    patient_id: uuid.UUID | None = None,
) -> tuple[str, TokenRead]:
    """Create a bearer token; the plaintext is returned once and never stored. ``scopes``
    (SMART, space-separated) narrow what it may do through FHIR; ``patient_id`` is the
    patient its ``patient/`` scopes are about."""
    from carebridge.fhir import scopes as smart
    from carebridge.patients.models import Patient

    if not user.is_active:
        raise ValidationFailed(f"User {user.username!r} is disabled")
    try:
        parsed = smart.parse(scopes) if scopes is not None else ()
    except ValueError as exc:
        raise ValidationFailed(str(exc), fields={"scopes": str(exc)}) from exc
    if scopes is not None and not parsed:
        raise ValidationFailed("Give at least one resource scope", fields={"scopes": "empty"})
    patient_scoped = any(s.context == "patient" for s in parsed)
    if patient_scoped and patient_id is None:
        raise ValidationFailed("patient/ scopes need the patient the token is for")
    if patient_id is not None and db.get(Patient, patient_id) is None:
        raise ValidationFailed(f"No patient {patient_id}")
    secret = TOKEN_PREFIX + new_secret()
    token = ApiToken(
        user_id=user.id,
        name=name.strip() or "api",
        prefix=secret[:12],
        token_hash=digest(secret),
        created_by=actor.user_id,
        scopes=" ".join(scopes.split()) if scopes is not None else None,
        patient_id=patient_id,
    )
    db.add(token)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="ApiToken", entity_id=token.id)
    return secret, _token_read(token)


def list_tokens(db: Session) -> list[TokenRead]:
    return [_token_read(t) for t in db.scalars(select(ApiToken).order_by(ApiToken.created_at))]


def revoke_token(db: Session, actor: Actor, token_ref: str) -> TokenRead:
    """Revoke by id or by the printed prefix (``cbt_`` and the next eight characters)."""
    query = select(ApiToken)
    try:
        query = query.where(ApiToken.id == uuid.UUID(token_ref))
    except ValueError:
        query = query.where(ApiToken.prefix == token_ref[:12])
    tokens = db.scalars(query).all()
    if not tokens:
        raise NotFound(f"No API token matches {token_ref!r}")
    if len(tokens) > 1:
        raise Conflict(f"{len(tokens)} tokens share the prefix {token_ref!r}; give the id")
    token = tokens[0]
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.flush()
        record(db, actor, Action.DELETE, entity_type="ApiToken", entity_id=token.id)
    return _token_read(token)


def resolve_token(db: Session, secret: str) -> ApiToken | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token


def _token_read(token: ApiToken) -> TokenRead:
    return TokenRead(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        username=token.user.username,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
        scopes=token.scopes,
        patient_id=token.patient_id,
    )


# --- audit search ----------------------------------------------------------------------


def _audit_query(flt: AuditFilter, zone: str) -> Select[AuditEvent]:
    """Dates are whole days in the clinic's time zone, as the screen shows them."""
    tz = ZoneInfo(zone)
    query = select(AuditEvent)
    if flt.username:
        query = query.where(AuditEvent.username == flt.username.lower())
    if flt.patient_id:
        query = query.where(AuditEvent.patient_id == flt.patient_id)
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.date_from:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(flt.date_from, time(), tz))
    if flt.date_to:
        end = datetime.combine(flt.date_to + timedelta(days=1), time(), tz)
        query = query.where(AuditEvent.occurred_at < end)
    return query


def search_audit(
    db: Session, flt: AuditFilter, page: Page, zone: str = "UTC"
) -> tuple[list[AuditEventRead], int]:
    query = _audit_query(flt, zone)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(AuditEvent.id.desc()).offset(page.offset).limit(page.size))
    return [AuditEventRead.model_validate(r) for r in rows], total


def iter_audit(
    db: Session, flt: AuditFilter, zone: str = "UTC", batch: int = 1000
) -> Iterator[AuditEventRead]:
    """Every matching event, oldest first, streamed in batches (for CSV export)."""
    last_id = 0
    while True:
        rows = db.scalars(
            _audit_query(flt, zone)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield AuditEventRead.model_validate(row)
        last_id = rows[-1].id
