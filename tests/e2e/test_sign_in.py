"""Signing in and out in a real browser: the form, the keyboard, the user menu, idle sign-out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.security.models import UserSession
from carebridge.security.roles import Role
from carebridge.security.service import SIGN_IN_FAILED
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_coordinator_signs_in_and_lands_on_my_day(page: Page, live_server: LiveServer) -> None:
    sign_in(page, "coordinator")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page).to_have_title("My day · Carebridge Clinic")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    worklist = page.get_by_role("region", name="Worklist")
    expect(worklist.get_by_role("columnheader")).to_have_text(
        ["Patient", "What", "Due", "Priority", "Owner", "Status"]
    )
    expect(worklist).to_contain_text("Nothing to do yet.")
    expect(worklist).to_contain_text("overdue first, then due today")
    nav = page.get_by_role("navigation", name="Main")
    # No Users, no Audit log.
    expect(nav.get_by_role("link")).to_have_text(
        [
            "My day",
            re.compile(r"^Messages( \d+ unread)?$"),  # the count of unread messages, if any
            "Patients",
            "Schedule",
            "Transitions",
            "Referrals",
            "Resources",
            "Education",
            "Rides",
            "Authorizations",
            "Billing",
            "Quality",
            "Message templates",
            "Interface queue",
        ]
    )
    expect(nav.get_by_role("link", name="My day")).to_have_attribute("aria-current", "page")
    expect(page.locator(".user-menu > summary")).to_contain_text("coordinator")
    expect(page.locator(".user-menu > summary")).to_contain_text("Care coordinator")
    expect(page.get_by_role("contentinfo")).to_contain_text("Signed in as coordinator")
    assert_accessible(page)


def test_wrong_password_shows_the_generic_error_and_does_not_sign_in(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, "coordinator", "not-the-password-at-all")

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text(SIGN_IN_FAILED)
    expect(page.get_by_label("Username")).to_have_value("coordinator")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Password")).to_be_focused()  # ready to type it again
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    assert_accessible(page)

    # An unknown user gets word for word the same answer: nothing tells who exists.
    sign_in(page, "nobody-by-this-name", "not-the-password-at-all")
    expect(page.get_by_role("alert")).to_have_text(SIGN_IN_FAILED)
    assert_accessible(page)

    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/login?next=/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert_accessible(page)


def test_sign_in_by_keyboard_alone(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    assert_accessible(page)
    username = page.get_by_label("Username")
    password = page.get_by_label("Password")
    sign_in_button = page.get_by_role("button", name="Sign in")

    expect(username).to_be_focused()  # the cursor is in the first field on arrival
    page.keyboard.type("coordinator")
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type("care-coordination-demo")
    page.keyboard.press("Tab")
    expect(sign_in_button).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(password).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    assert_accessible(page)

    # The first Tab on a page reaches "Skip to content", which moves focus to the content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_sign_out_through_the_user_menu(page: Page, live_server: LiveServer) -> None:
    sign_in(page, "coordinator")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")

    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_hidden()
    page.locator(".user-menu > summary").click()
    expect(sign_out).to_be_visible()
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    assert_accessible(page)  # with the menu open
    sign_out.click()

    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert_accessible(page)

    page.reload()  # the message is shown once
    expect(page.get_by_text("You have signed out.")).to_have_count(0)
    page.goto("/")  # and the session is really over
    expect(page).to_have_url(f"{live_server.url}/login?next=/")
    assert_accessible(page)


def test_idle_session_is_signed_out_and_returns_to_the_page_after_sign_in(
    page: Page, live_server: LiveServer
) -> None:
    user = make_user(live_server.factory, Role.AUDITOR)
    sign_in(page, user.username, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    assert_accessible(page)

    # The person walks away: the session was last used longer ago than the idle limit.
    idle = live_server.settings.session_idle_minutes
    with unit_of_work(live_server.factory) as db:
        db.execute(
            update(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .values(last_seen_at=utcnow() - timedelta(minutes=idle + 1))
        )
    page.reload()

    expect(page).to_have_url(re.compile(r"/login\?next=/audit&idle=1$"))
    expect(page.get_by_role("status")).to_have_text(
        f"You were signed out after {idle} minutes without activity."
    )
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.get_by_text("matching event")).to_have_count(0)  # nothing of the page is left
    assert_accessible(page)

    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    assert_accessible(page)
