"""Helpers for the browser tests: where Chromium and axe-core are, how to skip without them,
signing in through the form, and the checks every page goes through (axe-core finds no
serious or critical problem; the Content Security Policy blocked nothing of ours)."""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from carebridge.demo import DEMO_PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Error, Page
    from sqlalchemy.orm import Session, sessionmaker

    from carebridge.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
# Installed by .ci/run (and by hand for local runs) with:
#   npm install --prefix .cache/axe axe-core@4
AXE_DEFAULT = REPO / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_INSTALL_HINT = "npm install --prefix .cache/axe axe-core@4"
BLOCKING_IMPACTS = ("serious", "critical")


def browser_required() -> bool:
    """CI sets CAREBRIDGE_TEST_REQUIRE_BROWSER=1: a missing browser or axe-core fails there."""
    return os.environ.get("CAREBRIDGE_TEST_REQUIRE_BROWSER") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail with it when the browser tests are required."""
    if browser_required():
        pytest.fail(f"{reason} (and CAREBRIDGE_TEST_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


def axe_path() -> Path:
    configured = os.environ.get("CAREBRIDGE_TEST_AXE_JS")
    return Path(configured) if configured else AXE_DEFAULT


@lru_cache(maxsize=4)
def axe_source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class LiveServer:
    """The app under test: its address, its settings and a way into its database."""

    url: str
    settings: Settings
    factory: sessionmaker[Session]


# --- what the browser said -------------------------------------------------------------


@dataclass
class PageLog:
    """Console messages and uncaught script errors of one page."""

    console: list[tuple[str, str, str]] = field(default_factory=list)  # (type, text, url)
    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [
            f"{url}: {text}"
            for kind, text, url in self.console
            if kind == "error" and "Content Security Policy" in text
        ]

    def clear(self) -> None:
        self.console.clear()
        self.errors.clear()


_LOGS: weakref.WeakKeyDictionary[Page, PageLog] = weakref.WeakKeyDictionary()


def watch(page: Page) -> PageLog:
    """Start recording what ``page`` logs; :func:`log_of` gives it back."""
    log = PageLog()

    def on_console(message: ConsoleMessage) -> None:
        log.console.append((message.type, message.text, page.url))

    def on_error(error: Error) -> None:
        log.errors.append(f"{page.url}: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    _LOGS[page] = log
    return log


def log_of(page: Page) -> PageLog:
    return _LOGS[page]


def assert_csp_intact(page: Page) -> None:
    """The Content Security Policy refused nothing the app itself tried to load or run."""
    violations = log_of(page).csp_violations()
    assert not violations, "Content Security Policy blocked something:\n" + "\n".join(violations)


# --- accessibility ---------------------------------------------------------------------

_RUN_AXE = """async () => {
  const result = await window.axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


def assert_accessible(page: Page) -> None:
    """axe-core reports no serious or critical violation on the page as it is now, and the
    Content Security Policy has blocked nothing so far.

    axe is injected with ``page.evaluate`` (DevTools evaluation) rather than a script tag:
    the app's CSP rightly refuses inline and foreign scripts, and the tests keep it on."""
    page.wait_for_load_state("load")
    assert_csp_intact(page)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source(axe_path()))
    violations = page.evaluate(_RUN_AXE)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        lines = [f"axe-core found {len(blocking)} serious/critical problem(s) on {page.url}:"]
        for v in blocking:
            lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
            for node in v["nodes"]:
                lines.append(f"    at {node['target']}")
                lines.extend(f"      {part}" for part in node["summary"].splitlines())
        pytest.fail("\n".join(lines), pytrace=False)
    assert_csp_intact(page)


# --- flows -----------------------------------------------------------------------------


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form as a person would (landing page is the caller's to check)."""
    page.goto("/login")
    assert_accessible(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
