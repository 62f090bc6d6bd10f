"""The ``carebridge`` command. Each command is one unit of work; configuration problems end
the program with a one-line message and exit status 2."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from carebridge.lib.errors import AppError, ConfigError
from carebridge.settings import Settings, load_settings

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.progress import Task
    from rich.text import Text

    from carebridge.patients.bulk import BulkResult, Progress

app = typer.Typer(
    help="Carebridge care coordination platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for /api.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
clearinghouse_app = typer.Typer(help="Clearinghouse tools.", no_args_is_help=True)
app.add_typer(clearinghouse_app, name="clearinghouse")
hl7_app = typer.Typer(help="HL7 v2 interface (the hospitals' ADT feed).", no_args_is_help=True)
app.add_typer(hl7_app, name="hl7")
fhir_app = typer.Typer(help="The FHIR R4 API's stored resources.", no_args_is_help=True)
app.add_typer(fhir_app, name="fhir")
resources_app = typer.Typer(
    help="The community resources directory (Open Referral HSDS).", no_args_is_help=True
)
app.add_typer(resources_app, name="resources")
# Piped output (scripts, `| grep`) gets wide lines so ids are never cut.
out = Console(width=None if sys.stdout.isatty() else 200)


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"carebridge: {message}", err=True)
    return typer.Exit(code)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _ready(settings: Settings, *, require_current: bool = True) -> None:
    """Refuse to start on a default secret, an unreachable or an unmigrated database."""
    from carebridge.db import migrate
    from carebridge.db.session import check_reachable, make_engine

    try:
        settings.check_secret()
        engine = make_engine(settings.database_url)
        try:
            check_reachable(engine)
            if require_current and not migrate.is_current(engine):
                raise ConfigError("the database schema is not current; run `carebridge db upgrade`")
        finally:
            engine.dispose()
    except ConfigError as exc:
        raise fail(str(exc)) from None


@contextmanager
def _work(settings: Settings) -> Iterator[Session]:
    """One unit of work for a command; application errors become one-line messages."""
    from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            yield db
    except AppError as exc:
        fields = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        raise fail(exc.detail + (f" ({fields})" if fields else ""), code=1) from None
    finally:
        engine.dispose()


# --- serve and demo --------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes (PostgreSQL)")] = 1,
) -> None:
    """Serve the web app and APIs (settings from CAREBRIDGE_* variables)."""
    import uvicorn

    settings = _settings()
    _ready(settings)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise fail("several workers need PostgreSQL; SQLite serves one process")
    uvicorn.run(
        "carebridge.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        log_level=settings.log_level.lower(),
    )


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="SQLite file to create or reuse")] = Path(
        "carebridge-demo.db"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    seed: Annotated[int, typer.Option(help="Random seed for the demo data")] = 1,
    serve_app: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server")] = True,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    patients: Annotated[
        int,
        typer.Option(min=0, max=1_000_000, help="Synthetic patients for a new demo database"),
    ] = 2000,
) -> None:
    """Create a demo database with realistic data and serve it."""
    import uvicorn

    from carebridge import demo as demo_data
    from carebridge.app import configure_logging, create_app
    from carebridge.db import migrate

    url = f"sqlite:///{db.resolve()}"
    settings = _settings(database_url=url, demo_mode=True)
    migrate.upgrade(url)
    seeded = None
    with _work(settings) as session:
        users = demo_data.seed(session, seed=seed)
        if patients and not demo_data.has_patients(session):
            with _bulk_progress(patients, "demo patients") as progress:
                seeded = demo_data.seed_patients(
                    session, count=patients, seed=seed, progress=progress
                )
    out.print(f"Demo database: [bold]{db}[/bold]")
    if seeded is not None:
        out.print(f"Added {_seeded_line(seeded)}.")
    out.print(
        f"Sign in at [bold]http://{host}:{port}[/bold] with password "
        f"[bold]{demo_data.DEMO_PASSWORD}[/bold] as one of:"
    )
    for person in users:
        out.print(f"  {person.username:<12} {person.role.value:<12} {person.display_name}")
    if serve_app:
        configure_logging(settings.log_level)
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


# --- synthetic patients ----------------------------------------------------------------


@app.command(
    "seed",
    epilog="Never run it against a database that holds real patients: the phone numbers are "
    "real Chicago-area numbers. On a database that already has patients the sequence "
    "continues, so running it again adds new people rather than copies.",
)
def seed_patients(
    patients: Annotated[
        int, typer.Option(min=1, max=10_000_000, help="How many synthetic patients to add")
    ],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same people")] = 1,
) -> None:
    """Add realistic synthetic patients with full charts (demos, training, load tests)."""
    import time

    from sqlalchemy import func, select

    from carebridge.patients import bulk, synthetic
    from carebridge.patients.models import Patient
    from carebridge.security.audit import Actor

    settings = _settings()
    _ready(settings)
    started = time.perf_counter()
    with _work(settings) as db:
        existing = db.scalar(select(func.count()).select_from(Patient)) or 0
        with _bulk_progress(patients, "patients") as progress:
            result = bulk.insert_patients(
                db,
                Actor.system("cli"),
                synthetic.generate(patients, seed, start=existing),
                progress=progress,
            )
    elapsed = time.perf_counter() - started
    table = Table("table", "rows", title=None)
    for name, count in result.rows.items():
        if count:
            table.add_row(name, f"{count:,}")
    table.add_row("audit_events", f"{result.batches:,}")
    out.print(table)
    out.print(
        f"Seeded {_seeded_line(result)} with seed {seed} in {elapsed:.1f} s "
        f"({result.total_rows / max(elapsed, 1e-9):,.0f} rows/s)."
    )


def _seeded_line(result: BulkResult) -> str:
    duplicates = "" if result.patients < 100 else ", about 1 in 100 a near-duplicate"
    return (
        f"{result.patients:,} synthetic patients (MRN {result.first_mrn} to {result.last_mrn}"
        f"{duplicates}; {result.total_rows:,} rows)"
    )


def _counting_bar(*extra: str) -> Bar:
    """A progress bar on stderr (done of total, time taken, ``extra`` columns) that is gone
    when the work ends, so stdout keeps only the summary."""
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    return Bar(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        *extra,
        console=Console(stderr=True),
        transient=True,
    )


@contextmanager
def _bulk_progress(total: int, label: str) -> Iterator[Progress]:
    """A progress bar on stderr (patients done, rows per second); gone when the work ends."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar
    from rich.text import Text

    class RowsPerSecond(ProgressColumn):
        def render(self, task: Task) -> Text:
            rows = task.fields.get("rows", 0)
            elapsed = task.elapsed or 0.0
            rate = rows / elapsed if elapsed > 0 else 0.0
            return Text(f"{rate:>9,.0f} rows/s", style="progress.data.speed")

    bar = Bar(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        RowsPerSecond(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(label, total=total, rows=0)

    def advance(patients: int, rows: int) -> None:
        bar.update(task, advance=patients, rows=bar.tasks[task].fields["rows"] + rows)

    with bar:
        yield advance


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over what is due, then exit")
    ] = False,
) -> None:
    """Deliver queued email and text messages (reminders) and apply the task rules
    (overdue escalations, care-plan timers); stops on Ctrl-C or SIGTERM."""
    from carebridge.app import configure_logging
    from carebridge.messaging import worker as outbox_worker

    settings = _settings()
    _ready(settings)
    configure_logging(settings.log_level)
    totals = outbox_worker.run(settings, once=once)
    out.print(f"Worker stopped: {totals.summary()}.")


@clearinghouse_app.command("simulate")
def clearinghouse_simulate(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8790,
) -> None:
    """Serve the payer simulator over HTTP, for CAREBRIDGE_CLEARINGHOUSE=http (Ctrl-C stops)."""
    from carebridge.coverage.simulator.server import make_server

    server = make_server(host, port)
    out.print(f"Payer simulator on http://{host}:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("Simulator stopped.")
    finally:
        server.server_close()


@hl7_app.command("listen")
def hl7_listen(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 2575,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate (chain): serve MLLP over TLS")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert")] = None,
    max_connections: Annotated[
        int, typer.Option(min=1, help="Connections beyond this are closed at once")
    ] = 100,
    idle_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds without a message before a connection closes")
    ] = 300,
) -> None:
    """Receive the ADT feed over MLLP: each message is committed before its ACK is sent;
    stops on Ctrl-C or SIGTERM after acknowledging the messages in hand."""
    import ssl

    from carebridge.app import configure_logging
    from carebridge.transitions import mllp

    if (tls_cert is None) != (tls_key is None):
        raise fail("--tls-cert and --tls-key go together: give both or neither")
    settings = _settings()
    _ready(settings)
    configure_logging(settings.log_level)
    context = None
    if tls_cert is not None and tls_key is not None:
        try:
            context = mllp.tls_context(str(tls_cert), str(tls_key))
        except (OSError, ssl.SSLError) as exc:
            raise fail(f"cannot use --tls-cert {tls_cert} / --tls-key {tls_key}: {exc}") from None
    scheme = "MLLP over TLS" if context else "MLLP"

    def ready(bound: int) -> None:
        out.print(f"Listening for HL7 v2 ({scheme}) on {host}:{bound} (Ctrl-C stops)")

    try:
        stats = mllp.serve(
            settings,
            host,
            port,
            ssl=context,
            ready=ready,
            max_connections=max_connections,
            idle_timeout=idle_timeout,
        )
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    out.print(f"Listener stopped: {stats.line()}.")


@hl7_app.command("import")
def hl7_import(
    files: Annotated[
        list[Path], typer.Argument(help="Files of HL7 v2 messages (batch FHS/BHS wrappers allowed)")
    ],
) -> None:
    """Apply HL7 v2 messages from files, each committed on its own; exits 1 when any was
    rejected (they stay on the interface's dead-letter list)."""
    from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
    from carebridge.transitions import inbox

    settings = _settings()
    _ready(settings)
    batches: list[tuple[str, list[str]]] = []
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise fail(f"{path} is not UTF-8 text (byte {exc.start})") from None
        batches.append((str(path), inbox.split_batch(text)))
    counts = {"applied": 0, "duplicate": 0, "rejected": 0}
    problems: list[str] = []
    engine = make_engine(settings.database_url)
    bar = _counting_bar()
    try:
        factory = make_sessionmaker(engine)
        with bar:
            task = bar.add_task("HL7 messages", total=sum(len(m) for _, m in batches))
            for name, messages in batches:
                for number, raw in enumerate(messages, start=1):
                    with unit_of_work(factory) as db:
                        outcome = inbox.receive(
                            db, raw, source="file", peer=f"{name}#{number}", settings=settings
                        )
                    counts[outcome.status] = counts.get(outcome.status, 0) + 1
                    if outcome.status == "rejected":
                        problems.append(f"{name} message {number}: {outcome.code} {outcome.error}")
                    bar.advance(task)
    finally:
        engine.dispose()
    for line in problems:
        typer.echo(f"rejected: {line}", err=True)
    out.print(
        f"{counts['applied']} applied, {counts['duplicate']} duplicate, "
        f"{counts['rejected']} rejected."
    )
    if counts["rejected"]:
        raise typer.Exit(1)


@fhir_app.command("reindex")
def fhir_reindex() -> None:
    """Render every Carebridge record served through FHIR into the FHIR store (after an
    upgrade that adds a resource type; changes made later keep it current by themselves)."""
    from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
    from carebridge.fhir import projection

    settings = _settings()
    _ready(settings)
    engine = make_engine(settings.database_url)
    bar = _counting_bar()
    try:
        with bar, unit_of_work(make_sessionmaker(engine)) as db:
            task = bar.add_task("FHIR resources", total=None)
            rendered = projection.reindex(
                db, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
    finally:
        engine.dispose()
    out.print(f"{rendered} resource(s) rendered.")


@fhir_app.command("import")
def fhir_import(
    paths: Annotated[
        list[Path], typer.Argument(help="Bundle (.json) or NDJSON files, or folders of them")
    ],
    source: Annotated[
        str,
        typer.Option(help="Who sent these files: their ids are remembered per source"),
    ] = "fhir-import",
) -> None:
    """Import FHIR records from elsewhere (transaction or batch Bundles, NDJSON): patients
    become charts, everything else is kept as received and shown in the chart's history.
    Importing the same files again creates nothing new."""
    from carebridge.db.session import make_engine, make_sessionmaker
    from carebridge.fhir import imports
    from carebridge.security.audit import Actor

    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", source):
        raise typer.BadParameter(
            "letters, digits, '.', '_' and '-' only (at most 64)", param_hint="--source"
        )
    files = list(imports.files_in(paths))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}", param_hint="PATHS")
    settings = _settings()
    _ready(settings)
    engine = make_engine(settings.database_url)
    bar = _counting_bar("{task.fields[resources]:>8,} resources")
    started = time.perf_counter()
    try:
        with bar:
            task = bar.add_task("files", total=len(files), resources=0)
            summary = imports.import_files(
                make_sessionmaker(engine),
                Actor.system("cli"),
                files,
                namespace=source,
                progress=lambda _path, count: bar.update(
                    task, advance=1, resources=bar.tasks[task].fields["resources"] + count
                ),
            )
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    table = Table("resource type", "created", "updated", "unchanged")
    for kind in summary.types():
        table.add_row(
            kind,
            str(summary.created[kind]),
            str(summary.updated[kind]),
            str(summary.unchanged[kind]),
        )
    out.print(table)
    out.print(
        f"{summary.resources} resource(s) from {summary.files} file(s) in {seconds:.1f} s, "
        f"{len(summary.warnings)} warning(s), {len(summary.failed)} file(s) failed."
    )
    for warning in summary.warnings[:20]:
        typer.echo(f"warning: {warning}", err=True)
    if len(summary.warnings) > 20:
        typer.echo(f"... and {len(summary.warnings) - 20} more warning(s)", err=True)
    for failure in summary.failed:
        typer.echo(f"failed: {failure}", err=True)
    if summary.failed:
        raise typer.Exit(1)


# --- database --------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations (the only way the schema is made)."""
    from carebridge.db import migrate

    settings = _settings()
    _ready_connect(settings)
    migrate.upgrade(settings.database_url, revision)
    out.print(f"Database at revision {revision}.")


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    from alembic.util import AutogenerateDiffsDetected

    from carebridge.db import migrate

    settings = _settings()
    _ready_connect(settings)
    try:
        migrate.check(settings.database_url)
    except AutogenerateDiffsDetected as exc:
        raise fail(f"models and migrations differ: {exc}", code=1) from None
    out.print("Models and migrations agree.")


def _ready_connect(settings: Settings) -> None:
    from carebridge.db.session import check_reachable, make_engine

    engine = make_engine(settings.database_url)
    try:
        check_reachable(engine)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()


# --- users and tokens ------------------------------------------------------------------


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin, coordinator, clinician, billing or auditor")],
    name: Annotated[str | None, typer.Option(help="Full name (defaults to the username)")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False,
) -> None:
    """Create a user; the password is prompted for (or read from stdin)."""
    from pydantic import ValidationError

    from carebridge.security import service
    from carebridge.security.audit import Actor
    from carebridge.security.schemas import UserCreate

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(
            username=username,
            display_name=name or username,
            role=role,
            password=password,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise fail(f"invalid user: {problems}", code=1) from None
    _ready(settings)
    with _work(settings) as db:
        user = service.create_user(db, Actor.system("cli"), data)
    out.print(f"Created {user.username} ({user.role.value}).")


@user_app.command("list")
def user_list() -> None:
    """List users."""
    from carebridge.security import service

    settings = _settings()
    _ready(settings)
    with _work(settings) as db:
        users = service.list_users(db)
    table = Table("username", "name", "role", "status", "two-step", "last sign-in")
    for u in users:
        table.add_row(
            u.username,
            u.display_name,
            u.role.value,
            "active" if u.is_active else "disabled",
            "yes" if u.totp_enabled else "no",
            u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never",
        )
    out.print(table)


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user and end their sessions."""
    _set_active(username, False)


@user_app.command("enable")
def user_enable(username: str) -> None:
    """Enable a disabled user."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    from carebridge.security import service
    from carebridge.security.audit import Actor

    settings = _settings()
    _ready(settings)
    with _work(settings) as db:
        user = service.set_active(db, Actor.system("cli"), service.find_user(db, username), active)
    out.print(f"{user.username} is {'enabled' if active else 'disabled'}.")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "api",
    scope: Annotated[
        str | None,
        typer.Option(
            help="SMART scopes narrowing it through FHIR, space-separated "
            "(patient/*.read, user/Observation.rs, system/*.read)"
        ),
    ] = None,
    patient: Annotated[
        str | None, typer.Option(help="The patient (chart id) its patient/ scopes are about")
    ] = None,
) -> None:
    """Create an API token for a user and print it once (only its hash is stored)."""
    import uuid

    from carebridge.security import service
    from carebridge.security.audit import Actor

    try:
        patient_id = uuid.UUID(patient) if patient else None
    except ValueError as exc:
        raise typer.BadParameter("a chart id (UUID)", param_hint="--patient") from exc
    settings = _settings()
    _ready(settings)
    with _work(settings) as db:
        secret, token = service.create_token(
            db,
            Actor.system("cli"),
            service.find_user(db, username),
            name,
            scopes=scope,
            patient_id=patient_id,
        )
    typer.echo(secret)
    typer.echo(
        f"Token {token.prefix}… for {token.username} created; it is not shown again.", err=True
    )


@token_app.command("list")
def token_list() -> None:
    """List API tokens (prefixes only)."""
    from carebridge.security import service

    settings = _settings()
    _ready(settings)
    with _work(settings) as db:
        tokens = service.list_tokens(db)
    table = Table("id", "prefix", "user", "name", "created", "last used", "revoked")
    for t in tokens:
        table.add_row(
            str(t.id),
            t.prefix,
            t.username,
            t.name,
            t.created_at.isoformat(timespec="minutes"),
            t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "",
            t.revoked_at.isoformat(timespec="minutes") if t.revoked_at else "",
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(token: Annotated[str, typer.Argument(help="Token id or printed prefix")]) -> None:
    """Revoke an API token at once."""
    from carebridge.security import service
    from carebridge.security.audit import Actor

    settings = _settings()
    _ready(settings)
    with _work(settings) as db:
        revoked = service.revoke_token(db, Actor.system("cli"), token)
    out.print(f"Token {revoked.prefix}… of {revoked.username} is revoked.")


# --- community resources -----------------------------------------------------------------


@resources_app.command("import")
def resources_import(
    path: Annotated[
        Path,
        typer.Argument(help="A folder or zip of HSDS CSV files, or an HSDS 3.0 JSON file"),
    ],
) -> None:
    """Import a community resources directory; a row missing a required field is named (file,
    line, field) and nothing is imported. Importing again updates by HSDS id."""
    from carebridge.community import importer
    from carebridge.security.audit import Actor

    if not path.exists():
        raise typer.BadParameter(f"no such file or folder: {path}", param_hint="PATH")
    settings = _settings()
    _ready(settings)
    with _work(settings) as db:
        summary = importer.import_path(db, Actor.system("cli"), path)
    out.print(f"Imported {', '.join(summary.files)}: {summary.words()}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
