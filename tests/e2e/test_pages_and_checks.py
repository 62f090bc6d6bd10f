"""Error pages, and proof that the checks every page goes through (axe-core, CSP) bite."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import LiveServer, assert_accessible, log_of, sign_in

pytestmark = pytest.mark.browser


def test_coordinator_opening_the_audit_log_gets_the_not_allowed_page(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, "coordinator")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    assert_accessible(page)

    response = page.goto("/audit")

    assert response is not None
    assert response.status == 403
    expect(page).to_have_title("Not allowed · Carebridge Clinic")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("main")).to_contain_text("may not do this")
    expect(page.get_by_role("main")).to_contain_text("Error 403")
    expect(page.get_by_text("matching event")).to_have_count(0)  # no audit data leaked
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()  # still signed in
    assert_accessible(page)

    page.get_by_role("link", name="Back to My day").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    assert_accessible(page)


def test_unknown_address_shows_the_not_found_page(page: Page, live_server: LiveServer) -> None:
    response = page.goto("/no/such/page")

    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("main")).to_contain_text("There is nothing at /no/such/page")
    expect(page.get_by_role("main")).to_contain_text("Error 404")
    assert_accessible(page)

    page.get_by_role("link", name="Back to My day").click()  # signed out: sign in first
    expect(page).to_have_url(f"{live_server.url}/login?next=/")
    assert_accessible(page)


def test_csp_blocks_injected_inline_script(page: Page, live_server: LiveServer) -> None:
    """The policy really is enforced, so the CSP checks on every other page mean something."""
    response = page.goto("/login")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert_accessible(page)

    with page.expect_console_message(
        lambda m: m.type == "error" and "Content Security Policy" in m.text
    ) as refused:
        page.evaluate(
            """() => {
                const s = document.createElement("script");
                s.textContent = "window.injected = true";
                document.body.append(s);
            }"""
        )

    assert "inline script" in refused.value.text
    assert page.evaluate("() => window.injected") is None
    assert log_of(page).csp_violations(), "the CSP check would not have noticed"
    log_of(page).clear()  # expected here; any other page with such a message fails

    # Our own stylesheet is allowed (our script is too: see the focused error summary in
    # test_users).
    expect(page.get_by_role("button", name="Sign in")).to_have_css(
        "background-color", "rgb(11, 92, 173)"
    )


def test_accessibility_check_reports_a_serious_problem(page: Page, live_server: LiveServer) -> None:
    """axe-core really runs: a button nobody can name fails the check, by rule and element."""
    page.goto("/login")
    assert_accessible(page)
    page.evaluate(
        """() => {
            const b = document.createElement("button");
            b.id = "nameless";
            document.querySelector("main").append(b);
        }"""
    )

    with pytest.raises(pytest.fail.Exception) as failed:
        assert_accessible(page)

    report = str(failed.value)
    assert "button-name" in report
    assert "#nameless" in report
    assert "[critical]" in report
