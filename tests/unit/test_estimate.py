"""The patient's share of a planned service, on numbers worked by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from carebridge.billing.codes import service_type
from carebridge.billing.estimate import estimate, money


def _benefit(
    kind: str,
    service: str = "30",
    period: str = "",
    amount: str | None = None,
    percent: str | None = None,
    in_network: bool | None = True,
) -> dict[str, Any]:
    return {
        "code": {"copay": "B", "coinsurance": "A", "deductible": "C", "out_of_pocket": "G"}[kind],
        "kind": kind,
        "coverage_level": "IND",
        "service_types": [service],
        "insurance_type": "PR",
        "plan_description": "",
        "time_period": period,
        "amount": amount,
        "percent": percent,
        "authorization_required": None,
        "in_network": in_network,
    }


def _result(*benefits: dict[str, Any], active: bool | None = True) -> dict[str, Any]:
    return {"level": "subscriber", "active": active, "benefits": list(benefits), "rejections": []}


# A PPO as the simulator answers it: $25 office copay, 20%, $1,500 deductible with $350 left,
# $6,000 out-of-pocket maximum with $4,200 left.
PPO = _result(
    _benefit("copay", "98", "27", "25.00"),
    _benefit("coinsurance", "30", "27", percent="0.2"),
    _benefit("deductible", "30", "23", "1500.00"),
    _benefit("deductible", "30", "29", "350.00"),
    _benefit("out_of_pocket", "30", "23", "6000.00"),
    _benefit("out_of_pocket", "30", "29", "4200.00"),
    # Out of network: never used for the estimate.
    _benefit("copay", "98", "27", "90.00", in_network=False),
)


def test_office_visit_pays_the_copay_only() -> None:
    found = estimate(PPO, Decimal(125), service_type("99213"))
    assert found.available
    assert found.patient_pays == Decimal("25.00")
    assert found.plan_pays == Decimal("100.00")
    assert "$25.00 copay for an office visit" in found.steps[1]


def test_copay_is_never_more_than_the_allowed_amount() -> None:
    found = estimate(PPO, Decimal(15), "98")
    assert found.patient_pays == Decimal("15.00")
    assert found.plan_pays == Decimal(0)


def test_deductible_first_then_coinsurance() -> None:
    # MRI $900: $350 deductible, then 20% of $550 = $110 -> $460; plan pays $440.
    found = estimate(PPO, Decimal(900), service_type("73721"))
    assert found.patient_pays == Decimal("460.00")
    assert found.plan_pays == Decimal("440.00")
    assert "You have $350.00 left of your deductible" in found.steps[1]
    assert "20% of the remaining $550.00: $110.00" in found.steps[2]


def test_service_cheaper_than_the_deductible_left() -> None:
    found = estimate(PPO, Decimal(45), service_type("97110"))
    assert found.patient_pays == Decimal("45.00")
    assert found.plan_pays == Decimal(0)


def test_met_deductible_leaves_coinsurance_with_cents_rounded() -> None:
    plan = _result(
        _benefit("coinsurance", "30", "27", percent="0.3"),
        _benefit("deductible", "30", "29", "0.00"),
    )
    # 30% of $47.35 = $14.205 -> $14.21 (half up).
    found = estimate(plan, Decimal("47.35"), "PT")
    assert found.patient_pays == Decimal("14.21")
    assert found.plan_pays == Decimal("33.14")
    assert "You have met your deductible" in found.steps[1]


def test_out_of_pocket_maximum_caps_the_share() -> None:
    plan = _result(
        _benefit("coinsurance", "30", "27", percent="0.2"),
        _benefit("deductible", "30", "29", "1000.00"),
        _benefit("out_of_pocket", "30", "29", "300.00"),
    )
    found = estimate(plan, Decimal(2000), "62")
    # Would be $1,000 + 20% of $1,000 = $1,200; only $300 left before the maximum.
    assert found.patient_pays == Decimal("300.00")
    assert found.plan_pays == Decimal("1700.00")
    assert any("only $300.00 left before your out-of-pocket maximum" in s for s in found.steps)


def test_deductible_total_only_counts_it_all_and_says_so() -> None:
    plan = _result(
        _benefit("coinsurance", "30", "27", percent="0.1"),
        _benefit("deductible", "30", "23", "500.00"),
    )
    found = estimate(plan, Decimal(600), "30")
    assert found.patient_pays == Decimal("510.00")  # 500 + 10% of 100
    assert any("did not say how much of the deductible is met" in s for s in found.steps)


def test_no_eligibility_says_what_to_do() -> None:
    found = estimate(None, Decimal(125), "98")
    assert not found.available
    assert "Check eligibility on the Coverage tab" in found.message


def test_rejected_eligibility_is_no_estimate() -> None:
    rejected = {**_result(), "rejections": [{"code": "72"}]}
    found = estimate(rejected, Decimal(125), "98")
    assert not found.available
    assert "rejected" in found.message


def test_inactive_coverage_means_the_patient_owes_it_all() -> None:
    found = estimate(_result(active=False), Decimal(125), "98")
    assert found.patient_pays == Decimal("125.00")
    assert "not active" in found.steps[0]


def test_money_format() -> None:
    assert money(Decimal("1234.5")) == "$1,234.50"
    assert service_type("99213") == "98"
    assert service_type("90837") == "MH"
