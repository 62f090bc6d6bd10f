"""Browser end-to-end fixtures: the app served by uvicorn on a free loopback port over a fresh,
migrated SQLite database with the demo data, and Debian's Chromium driven by Playwright (one
browser per session, a fresh context per test)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from carebridge.app import create_app
from carebridge.db import migrate
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.demo import seed
from carebridge.settings import Settings
from tests.e2e.support import (
    AXE_INSTALL_HINT,
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    axe_path,
    log_of,
    unavailable,
    watch,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

SECRET = "e2e-secret-" + "x" * 40
STARTUP_SECONDS = 20.0


def _settings(url: str, public_url: str) -> Settings:
    # Everything the tests assert on is pinned here, so CAREBRIDGE_* variables in the
    # environment (or a developer's .env) cannot change what the pages say.
    return Settings(
        database_url=url,
        secret_key=SECRET,
        session_idle_minutes=15,
        lockout_attempts=5,
        totp_required_roles=[],
        cookie_secure=False,
        log_level="WARNING",
        public_url=public_url,
    )


def _wait_until_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last: object = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting; see its log above")
        try:
            answer = httpx.get(f"{url}/healthz", timeout=2)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text}"
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"the test server did not answer /healthz in time: {last}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder: Path = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'carebridge-e2e.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as db:
        seed(db)

    # Bind first, so the port is ours before the server starts (no pick-then-bind race), and
    # the server's own links (FHIR next pages, Location) name it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = _settings(url, f"http://127.0.0.1:{port}")
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="e2e-uvicorn", daemon=True
    )
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base, thread)
        yield LiveServer(url=base, settings=settings, factory=factory)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.engine.dispose()
        engine.dispose()
    assert not thread.is_alive(), "the test server did not shut down"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium')")
    if not axe_path().is_file():
        unavailable(f"axe-core not found at {axe_path()}; install it with `{AXE_INSTALL_HINT}`")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Debian's Chromium only: Playwright must never download a browser of its own.
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=live_server.url, accept_downloads=True)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def _browser_problems(tab: Page) -> list[str]:
    log = log_of(tab)
    return log.csp_violations() + [f"script error {e}" for e in log.errors]


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page whose console is recorded; the test fails if the Content Security Policy
    blocked anything or a script threw, even on a page nobody ran axe on."""
    tab = context.new_page()
    watch(tab)
    yield tab
    problems = _browser_problems(tab)
    assert not problems, "the browser reported:\n" + "\n".join(problems)


@pytest.fixture
def other_person(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[], Page]]:
    """Opens a page in a context of its own: a second person at another computer."""
    tabs: list[Page] = []

    def open_page() -> Page:
        ctx = browser.new_context(base_url=live_server.url, accept_downloads=True)
        ctx.set_default_timeout(10_000)
        tab = ctx.new_page()
        watch(tab)
        tabs.append(tab)
        return tab

    yield open_page
    problems = [p for tab in tabs for p in _browser_problems(tab)]
    for tab in tabs:
        tab.context.close()
    assert not problems, "the browser reported:\n" + "\n".join(problems)
