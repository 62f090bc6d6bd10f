"""The patient's share of a planned service, estimated from the latest eligibility answer.

The reading of the 271 (``EligibilityCheck.result``, see ``coverage.eligibility``) gives the
plan's copays, coinsurance, deductible and out-of-pocket maximum. The estimate works as
payers usually do for a professional service:

1. the allowed amount is the fee schedule's charge (or the amount typed);
2. when the plan has a copay for the service type, the patient pays the copay (never more
   than the allowed amount) and nothing else;
3. otherwise the remaining deductible is paid first, then the coinsurance on the rest;
4. what the patient pays is capped by what is left of the out-of-pocket maximum.

Every step is a sentence in plain words, so a coordinator can read it to the patient. This
module is pure: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from carebridge.billing.codes import SERVICE_TYPE_NAMES

CENT = Decimal("0.01")
GENERAL = "30"  # health benefit plan coverage: what applies when nothing more specific does
REMAINING = "29"


def money(value: Decimal) -> str:
    """$1,234.50"""
    return f"${value.quantize(CENT, ROUND_HALF_UP):,.2f}"


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


@dataclass(slots=True)
class Estimate:
    available: bool
    allowed: Decimal
    patient_pays: Decimal = Decimal(0)
    plan_pays: Decimal = Decimal(0)
    steps: list[str] = field(default_factory=list)
    # Said when no estimate can be made, with what to do about it.
    message: str = ""


def _amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value))


def _pick(
    benefits: list[dict[str, Any]], kind: str, service_type: str, period: str | None = None
) -> dict[str, Any] | None:
    """The benefit of ``kind`` for the service type (or the plan in general), in network
    before out of network, the individual's before the family's."""
    found = [
        b
        for b in benefits
        if b.get("kind") == kind
        and b.get("in_network") is not False
        and (period is None or b.get("time_period") == period)
    ]

    def rank(benefit: dict[str, Any]) -> tuple[int, int]:
        types = benefit.get("service_types") or []
        specific = 0 if service_type in types else 1 if (not types or GENERAL in types) else 9
        return specific, 0 if benefit.get("coverage_level") in ("IND", "", None) else 1

    ranked = sorted((rank(b), i) for i, b in enumerate(found))
    for (specific, _), index in ranked:
        if specific < 9:
            return found[index]
    return None


def _value(benefit: dict[str, Any] | None, key: str) -> Decimal | None:
    return None if benefit is None else _amount(benefit.get(key))


def estimate(
    result: dict[str, Any] | None, allowed: Decimal, service_type: str = GENERAL
) -> Estimate:
    """The patient's share of ``allowed`` under the plan ``result`` describes; with no
    answered eligibility check (``result`` None) the estimate says so and what to do."""
    allowed = allowed.quantize(CENT, ROUND_HALF_UP)
    what = SERVICE_TYPE_NAMES.get(service_type, "this service")
    if result is None:
        return Estimate(
            available=False,
            allowed=allowed,
            message=(
                "There is no answered eligibility check for the patient's primary insurance, "
                "so the plan's copay, deductible and coinsurance are not known. Check "
                "eligibility on the Coverage tab, then make the estimate again."
            ),
        )
    if result.get("rejections"):
        return Estimate(
            available=False,
            allowed=allowed,
            message=(
                "The latest eligibility check was rejected by the payer, so the benefits are "
                "not known. Correct the coverage as the check explains and check again."
            ),
        )
    if result.get("active") is False:
        return Estimate(
            available=True,
            allowed=allowed,
            patient_pays=allowed,
            steps=[
                "The payer says this insurance is not active, so it would pay nothing: "
                f"the patient would owe the whole {money(allowed)}. Ask the patient for "
                "their current insurance and check eligibility again."
            ],
        )
    benefits: list[dict[str, Any]] = list(result.get("benefits") or [])
    steps = [f"The allowed amount for {what} is {money(allowed)}."]
    copay = _value(_pick(benefits, "copay", service_type), "amount")
    if copay is not None:
        pays = min(copay, allowed)
        steps.append(
            f"Your plan has a {money(copay)} copay for {what}, so you pay {money(pays)} "
            "and the deductible and coinsurance do not apply."
        )
        return _done(allowed, pays, steps, benefits)
    deductible_left = _value(_pick(benefits, "deductible", service_type, REMAINING), "amount")
    if deductible_left is None:
        deductible_left = _value(_pick(benefits, "deductible", service_type), "amount")
        if deductible_left is not None:
            steps.append(
                "The payer did not say how much of the deductible is met, so we counted the "
                f"whole {money(deductible_left)} as still to pay."
            )
    deductible_part = min(deductible_left or Decimal(0), allowed)
    if deductible_left is None:
        steps.append("The payer did not state a deductible, so none is counted.")
    elif deductible_left == 0:
        steps.append("You have met your deductible for the year.")
    else:
        steps.append(
            f"You have {money(deductible_left)} left of your deductible, so you pay the first "
            f"{money(deductible_part)} of this service."
        )
    rest = allowed - deductible_part
    rate = _value(_pick(benefits, "coinsurance", service_type), "percent")
    coinsurance = Decimal(0)
    if rest > 0:
        if rate is None:
            steps.append(
                f"The payer did not state a coinsurance, so the plan is counted as paying the "
                f"remaining {money(rest)}."
            )
        else:
            coinsurance = (rest * rate).quantize(CENT, ROUND_HALF_UP)
            steps.append(
                f"Your coinsurance is {_percent(rate)} of the remaining {money(rest)}: "
                f"{money(coinsurance)}."
            )
    return _done(allowed, deductible_part + coinsurance, steps, benefits)


def _done(
    allowed: Decimal, pays: Decimal, steps: list[str], benefits: list[dict[str, Any]]
) -> Estimate:
    left = _value(_pick(benefits, "out_of_pocket", GENERAL, REMAINING), "amount")
    if left is not None and pays > left:
        steps.append(
            f"You have only {money(left)} left before your out-of-pocket maximum, so you pay "
            f"{money(left)} instead of {money(pays)}."
        )
        pays = left
    pays = pays.quantize(CENT, ROUND_HALF_UP)
    steps.append(
        f"Estimated: you pay {money(pays)} and your plan pays {money(allowed - pays)}. "
        "This is an estimate; the payer decides the final amounts when it processes the claim."
    )
    return Estimate(True, allowed, pays, allowed - pays, steps)
