"""The coordinator's patient screens in a real browser: registering (and the duplicate check),
the chart's banner, health history with the ICD-10-CM type-ahead, search, inline errors and
a stale edit. axe-core checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import re
import string
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from carebridge.db.session import unit_of_work
from carebridge.patients import service
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.security.audit import Actor
from carebridge.web.render import format_age
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.factories import clinic_today

pytestmark = pytest.mark.browser

RACE = re.compile(r"^Race \(")  # the checkbox group, not the "Race and ethnicity" section
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _surname() -> str:
    """A family name no other test uses, so searches and duplicate checks see only ours."""
    return "Q" + "".join(random.choices(string.ascii_lowercase, k=7))


def _label(text: str) -> re.Pattern[str]:
    """A label as shown, with or without the required-field star."""
    return re.compile(rf"^{re.escape(text)}\W*$")


def _existing(live_server: LiveServer, family: str, given: str, born: dt.date) -> PatientRead:
    with unit_of_work(live_server.factory) as db:
        return service.register(
            db,
            Actor.system("test"),
            PatientCreate(
                family_name=family,
                given_names=given,
                birth_date=born,
                sex="female",
                phones=[{"number": "312-555-0148", "use": "mobile"}],
            ),
        )


def _open_intake(page: Page) -> None:
    page.goto("/patients")
    expect(page.get_by_role("heading", level=1)).to_have_text("Patients")
    assert_accessible(page)
    page.get_by_role("link", name="Register a patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a patient")
    assert_accessible(page)


def _fill_intake(page: Page, family: str, given: str, born: str) -> None:
    page.get_by_label(_label("Family name")).fill(family)
    page.get_by_label(_label("Given names")).fill(given)
    page.get_by_label(_label("Date of birth")).fill(born)
    page.get_by_label(_label("Sex")).select_option(label="Female")


def _banner(page: Page) -> Locator:
    return page.locator("section.patient-banner")


def test_coordinator_registers_a_patient_records_history_and_sees_the_banner(
    page: Page, live_server: LiveServer
) -> None:
    family = _surname()
    born = dt.date(1956, 3, 12)
    sign_in(page, "coordinator")
    _open_intake(page)

    _fill_intake(page, family, "Ana Lucia", born.isoformat())
    page.get_by_label("Preferred name").fill("Annie")
    page.get_by_label("Preferred language").select_option(label="Spanish")
    page.get_by_label("Interpreter needed").check()
    page.get_by_role("group", name=RACE).get_by_label("White").check()
    page.get_by_label("Phone", exact=True).fill("(312) 555-0148")
    page.get_by_label("Email").fill("ana.lucia@example.org")
    page.get_by_label("ZIP code").fill("60614")
    page.get_by_label("Contact name").fill("Luis Q")
    page.get_by_label("Relationship to patient").select_option(label="Son")
    page.get_by_label("Contact phone").fill("312 555 0199")
    page.get_by_role("button", name="Register patient").click()

    expect(page).to_have_url(re.compile(rf"/patients/{UUID}$"))
    status = page.get_by_role("status")
    expect(status).to_contain_text(f"Ana Lucia {family} registered with MRN ")
    mrn = re.search(r"MRN (\d{8})", status.inner_text())
    assert mrn, status.inner_text()
    banner = _banner(page)
    expect(banner.get_by_role("heading", level=1)).to_have_text(f"{family}, Ana Lucia “Annie”")
    expect(banner).to_contain_text(format_age(born, live_server.settings.timezone) + " · Female")
    expect(banner).to_contain_text("DOB 12 Mar 1956")
    expect(banner).to_contain_text(f"MRN {mrn.group(1)}")
    expect(banner).to_contain_text("Allergies not recorded")
    expect(banner).to_contain_text("Spanish Interpreter needed")
    expect(banner).to_contain_text("Coordinator Maria Alvarez, RN")
    summary = page.get_by_role("region", name="How to reach them")
    expect(summary).to_contain_text("(312) 555-0148 mobile")
    expect(summary).to_contain_text("Luis Q (son) (312) 555-0199")
    tabs = page.get_by_role("navigation", name="Chart sections")
    expect(tabs.get_by_role("link", name="Summary")).to_have_attribute("aria-current", "page")
    assert_accessible(page)

    # Health history: an allergy, then a problem chosen with the keyboard from the type-ahead.
    tabs.get_by_role("link", name="Health history").click()
    expect(tabs.get_by_role("link", name="Health history")).to_have_attribute(
        "aria-current", "page"
    )
    assert_accessible(page)
    allergies = page.get_by_role("region", name="Allergies and intolerances")
    allergies.get_by_text("Add an allergy").click()
    allergies.get_by_label(_label("Substance")).fill("Penicillin")
    allergies.get_by_label("Reactions").fill("hives, wheezing")
    allergies.get_by_label("Criticality").select_option(label="High")
    allergies.get_by_role("button", name="Add allergy").click()
    expect(page.get_by_role("status")).to_have_text("Allergy added.")
    row = allergies.get_by_role("row").filter(has_text="Penicillin")
    expect(row).to_contain_text("hives, wheezing")
    expect(row).to_contain_text("Active")
    expect(_banner(page)).to_contain_text("Allergies Penicillin")
    assert_accessible(page)

    problems = page.get_by_role("region", name="Problems")
    problems.get_by_text("Add a problem").click()
    code = problems.get_by_role("combobox", name=re.compile(r"^Problem \(ICD-10-CM code\)"))
    code.press_sequentially("type 2 diab", delay=20)
    listbox = page.get_by_role("listbox", name="Matching codes")
    # The server builds its ICD-10-CM index at start-up; allow for a busy machine.
    expect(listbox).to_be_visible(timeout=20_000)
    expect(code).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("Type 2 diabetes")
    assert_accessible(page)  # with the suggestions open
    texts = options.all_inner_texts()
    wanted = next(i for i, t in enumerate(texts) if t.startswith("E11.9 "))
    for _ in range(wanted + 1):
        page.keyboard.press("ArrowDown")
    chosen = options.nth(wanted)
    expect(chosen).to_have_attribute("aria-selected", "true")
    expect(code).to_have_attribute("aria-activedescendant", chosen.get_attribute("id") or "")
    page.keyboard.press("Enter")  # chooses; does not submit
    expect(code).to_have_value("E11.9")
    expect(code).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    expect(problems).to_contain_text("E11.9: Type 2 diabetes mellitus without complications")
    page.keyboard.press("Enter")  # now the form is sent
    expect(page.get_by_role("status")).to_have_text("Problem added.")
    row = problems.get_by_role("row").filter(has_text="E11.9")
    expect(row).to_contain_text("Type 2 diabetes mellitus without complications")
    expect(row.get_by_role("cell").nth(4)).to_have_text("Active")
    assert_accessible(page)

    # The banner follows the patient on every tab.
    tabs.get_by_role("link", name="Summary").click()
    banner = _banner(page)
    expect(banner).to_contain_text(f"{family}, Ana Lucia")
    expect(banner).to_contain_text(format_age(born, live_server.settings.timezone))
    expect(banner).to_contain_text(f"MRN {mrn.group(1)}")
    expect(banner.locator(".chip-danger")).to_have_text(["Penicillin"])
    expect(banner.get_by_text("Interpreter needed")).to_be_visible()
    assert_accessible(page)
    tabs.get_by_role("link", name="Timeline").click()
    timeline = page.get_by_role("region", name="What changed on this chart")
    expect(timeline.get_by_role("row").filter(has_text="Problem added")).to_contain_text(
        "Maria Alvarez, RN"
    )
    assert_accessible(page)


def test_near_duplicate_shows_the_reasons_and_registers_only_with_a_reason(
    page: Page, live_server: LiveServer
) -> None:
    family = _surname()
    born = dt.date(1961, 7, 4)
    existing = _existing(live_server, family, "Margaret", born)
    typo = family[:-1] + ("a" if family[-1] != "a" else "e")  # one letter off
    sign_in(page, "coordinator")
    _open_intake(page)

    _fill_intake(page, typo, "Margaret", born.isoformat())
    page.get_by_role("button", name="Register patient").click()

    warning = page.get_by_role("region", name="This patient may already have a chart")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Nothing has been saved yet.")
    row = warning.get_by_role("row").filter(has_text=existing.mrn)
    expect(row).to_contain_text(f"{family}, Margaret")
    expect(row).to_contain_text("04 Jul 1961")
    expect(row).to_contain_text("Likely")
    reasons = row.get_by_role("listitem")
    expect(reasons).to_contain_text(["last name spelled similarly", "same date of birth"])
    expect(row.get_by_role("link", name=re.compile(r"^Open chart"))).to_have_attribute(
        "href", f"/patients/{existing.id}"
    )
    # What was typed is still in the form.
    expect(page.get_by_label(_label("Family name"))).to_have_value(typo)
    expect(page.get_by_label(_label("Date of birth"))).to_have_value(born.isoformat())
    assert_accessible(page)

    # "Register anyway" needs a reason.
    warning.get_by_role("button", name="Register anyway").click()
    reason = page.get_by_label(_label("Reason to register anyway"))
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile(r"^Say why this is a different"))
    expect(page.get_by_role("alert")).to_contain_text("Please correct 1 field")
    assert_accessible(page)

    reason.fill("Different person: sister-in-law, confirmed by driver's license")
    page.get_by_role("button", name="Register anyway").click()

    expect(page).to_have_url(re.compile(rf"/patients/{UUID}$"))
    assert f"/patients/{existing.id}" not in page.url
    expect(page.get_by_role("status")).to_contain_text(f"Margaret {typo} registered with MRN ")
    expect(page.get_by_role("status")).to_contain_text("reason for registering despite")
    expect(_banner(page).get_by_role("heading", level=1)).to_have_text(f"{typo}, Margaret")
    assert_accessible(page)


def test_search_by_name_prefix_opens_the_chart_in_one_click(
    page: Page, live_server: LiveServer
) -> None:
    family = _surname()
    patient = _existing(live_server, family, "Theodore", dt.date(1948, 11, 30))
    sign_in(page, "coordinator")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")

    page.keyboard.press("/")  # search is one keystroke away
    search = page.get_by_role("searchbox", name="Search patients")
    expect(search).to_be_focused()
    page.keyboard.type(family[:5].lower() + ", the")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Patients")
    results = page.get_by_role("region", name=re.compile("^Patients matching"))
    expect(results.get_by_role("columnheader")).to_have_text(
        ["Patient", "Born", "Sex", "MRN", "Phone", "Status"]
    )
    row = results.get_by_role("row").filter(has_text=patient.mrn)
    expect(row.get_by_role("cell")).to_have_text(
        [
            f"{family}, Theodore",
            re.compile(r"^30 Nov 1948 \(\d+ y\)$"),
            "Female",
            patient.mrn,
            "(312) 555-0148",
            "Active",
        ]
    )
    expect(page.get_by_role("searchbox", name="Find a patient")).to_have_value(
        family[:5].lower() + ", the"
    )
    assert_accessible(page)

    row.get_by_role("link", name=f"{family}, Theodore").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.id}$"))
    expect(_banner(page)).to_contain_text(f"MRN {patient.mrn}")
    assert_accessible(page)

    # Nothing found: the empty state says what to try next.
    page.goto("/patients?q=zzzznobody")
    expect(page.get_by_role("heading", name="No patient matches “zzzznobody”")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Check the spelling")
    assert_accessible(page)


def test_future_birth_date_is_refused_inline_and_keeps_what_was_typed(
    page: Page, live_server: LiveServer
) -> None:
    family = _surname()
    next_year = clinic_today().year + 1
    sign_in(page, "coordinator")
    _open_intake(page)

    _fill_intake(page, family, "Joan", f"{next_year}-02-10")
    page.get_by_label("Preferred language").select_option(label="Vietnamese")
    page.get_by_label("Interpreter needed").check()
    page.get_by_label("Phone", exact=True).fill("312 555 0101")
    page.get_by_label("Street address").fill("1200 W Fullerton Ave")
    page.get_by_role("group", name=RACE).get_by_label("Asian").check()
    page.get_by_role("button", name="Register patient").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please correct 1 field")
    expect(alert).to_be_focused()
    birth = page.get_by_label(_label("Date of birth"))
    expect(birth).to_have_attribute("aria-invalid", "true")
    expect(birth).to_have_accessible_description("Date of birth is in the future; check the year.")
    expect(birth).to_have_value(f"{next_year}-02-10")
    expect(page.get_by_label(_label("Family name"))).to_have_value(family)
    expect(page.get_by_label(_label("Given names"))).to_have_value("Joan")
    expect(page.get_by_label(_label("Sex"))).to_have_value("female")
    expect(page.get_by_label("Preferred language")).to_have_value("vi")
    expect(page.get_by_label("Interpreter needed")).to_be_checked()
    expect(page.get_by_label("Phone", exact=True)).to_have_value("312 555 0101")
    expect(page.get_by_label("Street address")).to_have_value("1200 W Fullerton Ave")
    expect(page.get_by_role("group", name=RACE).get_by_label("Asian")).to_be_checked()
    assert_accessible(page)

    alert.get_by_role("link").click()  # the summary links to the field
    expect(birth).to_be_focused()
    birth.fill("1950-02-10")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("status")).to_contain_text(f"Joan {family} registered")
    assert_accessible(page)


def test_stale_edit_shows_the_conflict_and_keeps_what_was_typed(
    page: Page, other_person: Callable[[], Page], live_server: LiveServer
) -> None:
    family = _surname()
    patient = _existing(live_server, family, "Walter", dt.date(1939, 1, 15))
    sign_in(page, "coordinator")
    page.goto(f"/patients/{patient.id}")
    page.get_by_role("link", name="Edit demographics").click()
    expect(page.get_by_role("heading", name="Edit demographics")).to_be_visible()
    assert_accessible(page)

    colleague = other_person()
    sign_in(colleague, "jchen")
    colleague.goto(f"/patients/{patient.id}/edit")
    colleague.get_by_label("Preferred name").fill("Walt")
    colleague.get_by_role("button", name="Save changes").click()
    expect(colleague.get_by_role("status")).to_have_text("Demographics saved.")

    page.get_by_label("Best times to reach").fill("mornings before 10")
    page.get_by_role("button", name="Save changes").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Someone else saved this chart while you were editing.")
    expect(alert).to_contain_text("Nothing was saved.")
    expect(page.get_by_label("Best times to reach")).to_have_value("mornings before 10")
    assert_accessible(page)

    page.get_by_role("button", name="Save changes").click()  # applies the kept version
    expect(page.get_by_role("status")).to_have_text("Demographics saved.")
    contact = page.get_by_role("region", name="How to reach them")
    expect(contact).to_contain_text("mornings before 10")
    assert_accessible(page)


def test_billing_sees_who_the_patient_is_but_not_their_history(
    page: Page, live_server: LiveServer
) -> None:
    patient = _existing(live_server, _surname(), "Rosa", dt.date(1970, 5, 5))
    sign_in(page, "billing")
    page.goto(f"/patients/{patient.id}")

    expect(_banner(page)).to_contain_text(f"MRN {patient.mrn}")
    expect(_banner(page)).not_to_contain_text("Allergies")
    tabs = page.get_by_role("navigation", name="Chart sections")
    # Coverage is what billing works on (and the rides it pays for); the clinical tabs stay
    # hidden.
    expect(tabs.get_by_role("link")).to_have_text(
        ["Summary", "Contacts & consent", "Rides", "Coverage", "Authorizations", "Billing"]
    )
    expect(page.get_by_role("link", name="Edit demographics")).to_have_count(0)
    expect(page.get_by_role("region", name="Merge a duplicate into this chart")).to_have_count(0)
    assert_accessible(page)

    response = page.goto(f"/patients/{patient.id}/history")
    assert response is not None
    assert response.status == 403
    assert_accessible(page)
