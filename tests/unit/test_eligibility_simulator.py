"""The payer simulator's 271s: read back with our own 271 reader, each rule as documented."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from carebridge.coverage.clearinghouse import X12, ClearinghouseError
from carebridge.coverage.simulator import answer
from carebridge.coverage.x12.eligibility import (
    Dependent,
    EligibilityRequest,
    EligibilityResult,
    build_270,
    read_271,
)


def ask(member_id: str, dependent: Dependent | None = None) -> list[EligibilityResult]:
    request = EligibilityRequest(
        "Prairie Mutual Health", "PMH01", "Carebridge Clinic", "1245319599", "RUIZ", "ANA",
        member_id, dt.date(1980, 1, 2), "female", dt.date(2026, 11, 27), "TRACE42",
        "1741234567", dependent=dependent,
    )  # fmt: skip
    now = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)
    x12 = build_270(
        request, control_number=17, sender_id="CAREBRIDGE", receiver_id="CLEARINGHOUSE", now=now
    )
    return read_271(answer(x12, X12))


def amounts(result: EligibilityResult, kind: str) -> list[Decimal | None]:
    return [b.amount for b in result.benefits if b.kind == kind]


def test_active_hmo_with_primary_care_provider_and_remaining_amounts() -> None:
    [result] = ask("W123456735")  # ends in 5: HMO; second-to-last 3: 30% met
    assert result.active is True
    assert result.plan_description == "Prairie Mutual Health HMO"
    assert result.trace_numbers == ["TRACE42"]
    assert result.member_id == "W123456735"
    assert amounts(result, "copay") == [Decimal("15.00"), Decimal("40.00")]
    assert amounts(result, "deductible") == [Decimal("500.00"), Decimal("350.00")]
    assert amounts(result, "out_of_pocket") == [Decimal("4000.00"), Decimal("2800.00")]
    assert [b.percent for b in result.benefits if b.kind == "coinsurance"] == [Decimal("0.1")]
    assert result.primary_care_provider is not None
    assert result.primary_care_provider.last_name == "WELLS"
    needs = {s for b in result.benefits if b.authorization_required for s in b.service_types}
    assert needs == {"PT", "AD", "62"}


def test_ppo_has_no_primary_care_provider_and_mri_needs_no_authorization() -> None:
    [result] = ask("W123456702")
    assert result.active is True
    assert result.primary_care_provider is None
    assert amounts(result, "deductible") == [Decimal("1500.00"), Decimal("1500.00")]
    needs = {s for b in result.benefits if b.authorization_required for s in b.service_types}
    assert needs == {"PT", "AD"}


def test_inactive_and_rejections() -> None:
    [inactive] = ask("W123456780")
    assert inactive.active is False
    assert not inactive.rejections
    [unknown] = ask("W1234567899")
    assert [r.code for r in unknown.rejections] == ["75"]
    assert unknown.trace_numbers == ["TRACE42"]
    [malformed] = ask("W12-45")
    assert [(r.code, r.follow_up) for r in malformed.rejections] == [("72", "C")]
    assert "member id" in malformed.rejections[0].explanation


def test_dependent_is_answered_in_the_dependent_loop() -> None:
    results = ask("W123456752", Dependent("RUIZ", "LUCIA", dt.date(2015, 3, 4), "female"))
    assert [r.level for r in results] == ["subscriber", "dependent"]
    subscriber, dependent = results
    assert subscriber.benefits == []
    assert dependent.first_name == "LUCIA"
    assert dependent.member_id == "W123456752"
    assert dependent.trace_numbers == ["TRACE42"]
    assert dependent.active is True
    assert dependent.plan_description == "Prairie Mutual Health PPO"


def test_answers_are_deterministic_and_garbage_is_refused() -> None:
    assert ask("W123456745") == ask("W123456745")
    with pytest.raises(ClearinghouseError, match="cannot read the X12") as caught:
        answer("NOT X12 AT ALL", X12)
    assert caught.value.transient is False
