"""Eligibility checks through the API, the coverage tab and the worker, answered by the
built-in payer simulator: active, inactive, rejected and dependent answers stored with their
raw X12 and plain reading; bad input refused with nothing stored; the audit trail; the
nightly batch for tomorrow's appointments, run twice without checking anyone twice."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.coverage import eligibility, eligibility_batch
from carebridge.coverage.clearinghouse import ClearinghouseError
from carebridge.coverage.models import EligibilityCheck
from carebridge.db.session import unit_of_work
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.settings import Settings
from tests.factories import make_token, make_user, post_form, sign_in
from tests.integration.test_care_team import patient, stored
from tests.integration.test_coverage_api import api, coverage_body, payer  # noqa: F401
from tests.integration.test_scheduling_api import book, clinic, next_weekday  # noqa: F401
from tests.integration.test_sign_in import audit_rows


def covered(api: TestClient, member_id: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:  # noqa: F811
    who = patient(api)
    made = api.post(
        f"/api/v1/patients/{who['id']}/coverage",
        json=coverage_body(payer(api)["id"], member_id=member_id, **extra),
    )
    assert made.status_code == 201, made.text
    return who, made.json()


def start(api: TestClient, coverage_id: str, **body: Any) -> Any:  # noqa: F811
    return api.post(f"/api/v1/coverage/{coverage_id}/eligibility-checks", json=body or None)


def test_active_check_is_stored_with_raw_x12_and_plain_reading(
    api: TestClient,  # noqa: F811
    factory: sessionmaker[Session],
) -> None:
    who, coverage = covered(api, "XQK48192045")
    answer = start(api, coverage["id"], service_date="2026-12-01")
    assert answer.status_code == 201, answer.text
    check = answer.json()
    assert check["status"] == "complete"
    assert check["active"] is True
    assert check["attempts"] == 1
    assert check["service_date"] == "2026-12-01"
    result = check["result"]
    assert result["plan_description"] == "Prairie Mutual Health HMO"
    assert result["member_id"] == "XQK48192045"
    assert result["trace_numbers"] == [check["trace_number"]]
    assert result["primary_care_provider"]["last_name"] == "WELLS"
    copays = [b["amount"] for b in result["benefits"] if b["kind"] == "copay"]
    assert copays == ["15.00", "40.00"]
    assert check["request_x12"].startswith("ISA*")
    assert "DTP*291*D8*20261201~" in check["request_x12"]
    assert "EB*1*IND*30*HM*Prairie Mutual Health HMO~" in check["response_x12"]
    read = api.get(f"/api/v1/eligibility-checks/{check['id']}")
    assert read.status_code == 200
    assert read.json()["response_x12"] == check["response_x12"]
    actions = {
        (e.action, e.entity_id)
        for e in audit_rows(
            factory, entity_type="EligibilityCheck", patient_id=uuid.UUID(who["id"])
        )
    }
    assert {("create", check["id"]), ("update", check["id"]), ("read", check["id"])} <= actions
    with unit_of_work(factory, write=False) as db:
        row = db.get(EligibilityCheck, uuid.UUID(check["id"]))
        assert row is not None
        assert row.control_number == check["control_number"]


def test_inactive_dependent_rejected_and_history(api: TestClient) -> None:  # noqa: F811
    _, inactive = covered(api, "XQK48192040")
    assert start(api, inactive["id"]).json()["active"] is False
    _, dependent = covered(
        api, "XQK48192052", relationship="child", subscriber_family_name="Ruiz",
        subscriber_given_names="Ana", subscriber_birth_date="1980-01-02",
        subscriber_sex="female",
    )  # fmt: skip
    made = start(api, dependent["id"]).json()
    assert made["status"] == "complete"
    assert made["result"]["level"] == "dependent"
    assert "HL*4*3*23*0~" in made["request_x12"]
    _, unknown = covered(api, "XQK481920399")
    rejected = start(api, unknown["id"]).json()
    assert rejected["status"] == "rejected"
    assert rejected["active"] is None
    [why] = rejected["result"]["rejections"]
    assert why["code"] == "75"
    assert "check the payer, member id, name and birth date" in why["explanation"]
    again = start(api, unknown["id"]).json()
    listed = api.get(f"/api/v1/coverage/{unknown['id']}/eligibility-checks", params={"size": 1})
    assert listed.status_code == 200
    page = listed.json()
    assert [c["id"] for c in page["items"]] == [again["id"]]
    assert page["has_more"] is True
    assert "response_x12" not in page["items"][0]


def test_bad_input_is_refused_and_nothing_is_stored(
    api: TestClient,  # noqa: F811
    factory: sessionmaker[Session],
) -> None:
    who, coverage = covered(api, "XQK48192011")
    far = start(api, coverage["id"], service_date="2031-01-01")
    assert far.status_code == 422
    assert "service_date" in far.text
    assert start(api, str(uuid.uuid4())).status_code == 404
    assert api.get(f"/api/v1/eligibility-checks/{uuid.uuid4()}").status_code == 404
    assert start(api, coverage["id"], service_date="not a date").status_code == 422
    ended = api.patch(
        f"/api/v1/coverage/{coverage['id']}", json={"version": 1, "status": "cancelled"}
    )
    assert ended.status_code == 200, ended.text
    refused = start(api, coverage["id"])
    assert refused.status_code == 409
    assert "cancelled" in refused.text
    assert stored(factory, EligibilityCheck, who["id"]) == 0


def test_auditor_can_neither_read_nor_start(
    api: TestClient,  # noqa: F811
    client: TestClient,
    factory: sessionmaker[Session],
) -> None:
    _, coverage = covered(api, "XQK48192012")
    check = start(api, coverage["id"]).json()
    auditor = make_user(factory, Role.AUDITOR)
    headers = {"Authorization": f"Bearer {make_token(factory, auditor.username)}"}
    read = client.get(f"/api/v1/eligibility-checks/{check['id']}", headers=headers)
    assert read.status_code == 403
    forbidden = client.post(
        f"/api/v1/coverage/{coverage['id']}/eligibility-checks", headers=headers, json={}
    )
    assert forbidden.status_code == 403


def test_coverage_tab_button_result_and_detail_page(
    api: TestClient,  # noqa: F811
    app: Any,
    factory: sessionmaker[Session],
) -> None:
    who, coverage = covered(api, "XQK48192035")
    _, rejected = covered(api, "XQK4-81")
    user = make_user(factory, Role.COORDINATOR)
    with TestClient(app, follow_redirects=False) as browser:
        assert sign_in(browser, user.username).status_code == 303
        tab = f"/patients/{who['id']}/coverage"
        assert "has not been checked" in browser.get(tab).text
        posted = post_form(
            browser, f"{tab}/{coverage['id']}/eligibility-checks", {"service_date": ""}, tab
        )
        assert posted.status_code == 303
        page = browser.get(tab).text
        assert "Eligibility checked: coverage is active" in page
        assert "$15.00 per office visit" in page
        assert "10% after the deductible" in page
        assert "$150.00 met, $350.00 remaining" in page
        assert "Required for physical therapy, occupational therapy, MRI and CT scans" in page
        assert "Grace Wells" in page
        with unit_of_work(factory, write=False) as db:
            check_id = db.scalar(
                select(EligibilityCheck.id).where(
                    EligibilityCheck.patient_id == uuid.UUID(who["id"])
                )
            )
        detail = browser.get(f"/patients/{who['id']}/eligibility-checks/{check_id}")
        assert detail.status_code == 200
        assert "Inquiry sent (270)" in detail.text
        assert "ST*271*0001*005010X279A1~" in detail.text
        other = f"/patients/{rejected['patient_id']}/coverage"
        post_form(browser, f"{other}/{rejected['id']}/eligibility-checks", {}, other)
        text = browser.get(other).text
        assert "The payer rejected the inquiry" in text
        assert "re-enter it exactly as on the insurance card" in text
        bad = post_form(
            browser, f"{tab}/{coverage['id']}/eligibility-checks", {"service_date": "31/12"}, tab
        )
        assert bad.status_code == 303
        assert "Enter the date of service as a date" in browser.get(tab).text


def test_batch_checks_tomorrows_patients_once(
    api: TestClient,  # noqa: F811
    clinic: dict[str, Any],  # noqa: F811
    factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    visit_day = next_weekday(1)
    start_at = dt.datetime.combine(visit_day, dt.time(10, 0), ZoneInfo("America/Chicago"))
    booked = book(api, clinic, start_at)
    assert booked.status_code == 201, booked.text
    who = clinic["patient"]
    made = api.post(
        f"/api/v1/patients/{who['id']}/coverage",
        json=coverage_body(payer(api)["id"], member_id="XQK48192023"),
    )
    assert made.status_code == 201, made.text
    day_before = visit_day - dt.timedelta(days=1)
    first = eligibility_batch.Summary()
    eligibility_batch.check_tomorrow(factory, settings, first, today=day_before)
    second = eligibility_batch.Summary()
    eligibility_batch.check_tomorrow(factory, settings, second, today=day_before)
    with unit_of_work(factory, write=False) as db:
        rows = db.scalars(
            select(EligibilityCheck).where(EligibilityCheck.patient_id == uuid.UUID(who["id"]))
        ).all()
        assert len(rows) == 1
        assert rows[0].trigger == "batch"
        assert rows[0].status == "complete"
        assert rows[0].service_date == visit_day
        assert str(rows[0].appointment_id) == booked.json()["id"]
        total = db.scalar(
            select(func.count()).where(EligibilityCheck.service_date == visit_day,
                                       EligibilityCheck.trigger == "batch")
        )  # fmt: skip
    assert first.batch_checked >= 1
    assert second.batch_checked == 0
    assert total == first.batch_checked


def test_pending_and_failed_checks_on_the_tab(
    api: TestClient,  # noqa: F811
    app: Any,
    factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    who, coverage = covered(api, "XQK48192013")
    actor = Actor.system("test")
    with unit_of_work(factory) as db:
        made = eligibility.start(
            db, actor, settings, uuid.UUID(coverage["id"]), dt.date(2026, 12, 2), "manual"
        )
        check_id = made.id
    with unit_of_work(factory) as db:
        waiting = eligibility.record(
            db, actor, settings, check_id,
            eligibility.Reply(error=ClearinghouseError("the clearinghouse answered HTTP 502",
                                                       transient=True)),
        )  # fmt: skip
        assert waiting.status == "pending"
        assert waiting.attempts == 1
    user = make_user(factory, Role.COORDINATOR)
    with TestClient(app, follow_redirects=False) as browser:
        assert sign_in(browser, user.username).status_code == 303
        tab = browser.get(f"/patients/{who['id']}/coverage").text
        assert "Waiting for the clearinghouse" in tab
        assert "after 1 attempt." in tab
        assert "HTTP 502" in tab
        with unit_of_work(factory) as db:
            failed = eligibility.record(
                db, actor, settings, check_id,
                eligibility.Reply(error=ClearinghouseError("HTTP 401: bad token",
                                                           transient=False)),
            )  # fmt: skip
            assert failed.status == "failed"
            task_id = failed.task_id
        assert task_id is not None
        tab = browser.get(f"/patients/{who['id']}/coverage").text
        assert "The check could not be completed." in tab
        assert "The clearinghouse refused the inquiry: HTTP 401: bad token" in tab
        assert f"/tasks/{task_id}" in tab
        detail = browser.get(f"/patients/{who['id']}/eligibility-checks/{check_id}").text
        assert "No answer was received" in detail
        other = patient(api)
        assert (
            browser.get(f"/patients/{other['id']}/eligibility-checks/{check_id}").status_code == 404
        )
