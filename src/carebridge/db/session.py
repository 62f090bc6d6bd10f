"""Engines and units of work.

Entry points (an HTTP request, a CLI command, a worker job) own the transaction: they open one
unit of work and commit it; services only ``flush()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from carebridge.lib.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "carebridge_write"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite starts transactions only before writes, so reads would see no stable
        # snapshot; SQLAlchemy's documented recipe is to emit BEGIN ourselves.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_begin(conn: Any) -> None:
    # A writing unit of work takes SQLite's single write lock at BEGIN: writers queue on the
    # busy timeout instead of failing when a read snapshot cannot be upgraded, and a check
    # followed by an insert (a booking) cannot interleave with another writer.
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see make_engine)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    from carebridge.fhir import projection  # imports the domains' models: keep it lazy

    projection.install()
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back otherwise.
    ``write=False`` (read-only requests) lets SQLite readers run side by side."""
    session = factory()
    if write:
        session.connection(execution_options={WRITE_OPTION: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def check_reachable(engine: Engine) -> None:
    """Raise a one-line :class:`ConfigError` when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(
            f"cannot reach database {engine.url.render_as_string(hide_password=True)}: {reason}"
        ) from None
