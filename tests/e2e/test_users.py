"""User administration in a real browser: adding people, inline errors, temporary passwords."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from carebridge.security.roles import Role
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _open_users(page: Page) -> None:
    sign_in(page, "admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    assert_accessible(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    assert_accessible(page)


def _user_row(page: Page, username: str) -> Locator:
    table = page.get_by_role("region", name="People who can sign in").get_by_role("table")
    return table.get_by_role("row").filter(has_text=re.compile(rf"\b{re.escape(username)}\b"))


def _add_user(page: Page, username: str, full_name: str, role: str, password: str) -> None:
    form = page.get_by_role("region", name="Add a user")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Full name").fill(full_name)
    form.get_by_label("Role").select_option(label=role)
    form.get_by_label("Temporary password").fill(password)
    form.get_by_role("button", name="Add user").click()
    page.wait_for_load_state("load")


def test_admin_adds_a_user_after_fixing_a_too_short_password(
    page: Page, live_server: LiveServer
) -> None:
    username = f"rn-{uuid.uuid4().hex[:6]}"
    _open_users(page)

    _add_user(page, username, "Grace Ojukwu, RN", "Clinician", "short-1")

    form = page.get_by_role("region", name="Add a user")
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("Please correct 1 field")
    expect(alert).to_be_focused()  # so a screen reader announces what to fix
    password = form.get_by_label("Temporary password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(
        re.compile(r"^Password too weak: use at least 12 characters")
    )
    expect(form.locator(".field-error")).to_have_text(
        ["Password too weak: use at least 12 characters"]
    )
    # Everything typed is still there, except the password.
    expect(form.get_by_label("Username")).to_have_value(username)
    expect(form.get_by_label("Full name")).to_have_value("Grace Ojukwu, RN")
    expect(form.get_by_label("Role")).to_have_value("clinician")
    expect(password).to_have_value("")
    expect(_user_row(page, username)).to_have_count(0)
    assert_accessible(page)

    # The error list links to the field it describes.
    alert.get_by_role("link").click()
    expect(password).to_be_focused()
    page.keyboard.type("a temporary phrase 4 Grace")
    form.get_by_role("button", name="Add user").click()

    expect(page).to_have_url(f"{live_server.url}/admin/users")
    expect(page.get_by_role("status")).to_have_text(
        f"User {username} added. Give them the temporary password in person; "
        "they must change it at first sign-in."
    )
    row = _user_row(page, username)
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(0)).to_have_accessible_name(f"Grace Ojukwu, RN {username}")
    expect(row.get_by_role("cell").nth(1)).to_have_text("Clinician")
    expect(row.get_by_role("cell").nth(2)).to_have_text("Active Must change password")
    expect(row.get_by_role("cell").nth(3)).to_have_text("Never")
    expect(page.get_by_role("region", name="Add a user").get_by_role("alert")).to_have_count(0)
    assert_accessible(page)


def test_password_reset_by_admin_forces_a_new_password_at_next_sign_in(
    page: Page, other_person: Callable[[], Page], live_server: LiveServer
) -> None:
    user = make_user(live_server.factory, Role.COORDINATOR)
    temporary = "temporary phrase for today 7"
    _open_users(page)

    row = _user_row(page, user.username)
    row.get_by_text(f"Reset password for {user.username}").click()
    expect(row.get_by_label("Temporary password")).to_be_visible()
    assert_accessible(page)  # with the reset form open
    row.get_by_label("Temporary password").fill(temporary)
    row.get_by_role("button", name="Set temporary password").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Temporary password set for {user.username}; they must change it at next sign-in."
    )
    expect(_user_row(page, user.username)).to_contain_text("Must change password")
    assert_accessible(page)

    person = other_person()
    sign_in(person, user.username, PASSWORD)  # the old password no longer works
    expect(person.get_by_role("alert")).to_contain_text("Sign-in failed.")
    assert_accessible(person)
    _sign_in_forced_and_change(person, live_server, user.username, temporary)


def _sign_in_forced_and_change(
    page: Page, live_server: LiveServer, username: str, temporary: str
) -> None:
    """Sign in with a temporary password: only the change-password page opens until a new
    password is chosen, and then My day does."""
    sign_in(page, username, temporary)
    expect(page).to_have_url(f"{live_server.url}/account/password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change password")
    expect(page.get_by_role("status")).to_contain_text("temporary password")
    assert_accessible(page)

    page.goto("/")  # nothing else opens yet
    expect(page).to_have_url(f"{live_server.url}/account/password")
    assert_accessible(page)

    page.get_by_label("Current password").fill(temporary)
    page.get_by_label(re.compile(r"^New password\W*$")).fill("my own long passphrase 42")
    page.get_by_label("New password again").fill("my own long passphrase 42")
    page.get_by_role("button", name="Change password").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    expect(page.get_by_role("status")).to_have_text("Your password has been changed.")
    assert_accessible(page)


def test_new_user_must_change_the_temporary_password_at_first_sign_in(
    page: Page, other_person: Callable[[], Page], live_server: LiveServer
) -> None:
    username = f"cc-{uuid.uuid4().hex[:6]}"
    temporary = "first day temporary words 3"
    _open_users(page)
    _add_user(page, username, "Tomas Reyes", "Care coordinator", temporary)
    expect(page.get_by_role("status")).to_contain_text(f"User {username} added.")
    assert_accessible(page)

    _sign_in_forced_and_change(other_person(), live_server, username, temporary)


def test_users_page_fits_a_phone_width_screen(page: Page, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _open_users(page)

    # The wide table scrolls inside its panel; the page itself never scrolls sideways.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["My day", "Resources", "Message templates", "Interface queue", "FHIR import", "Users"]
    )
    table_panel = page.get_by_role("region", name="People who can sign in")
    assert table_panel.evaluate("el => el.scrollWidth > el.clientWidth")
    # A keyboard user can reach it with Tab and scroll it with the arrow keys.
    expect(table_panel).to_have_attribute("tabindex", "0")
    table_panel.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("panel => panel.scrollLeft > 0", arg=table_panel.element_handle())
    assert_accessible(page)

    page.set_viewport_size({"width": 1280, "height": 844})  # wide enough: no extra tab stop
    expect(table_panel).not_to_have_attribute("tabindex", "0")
    assert_accessible(page)
