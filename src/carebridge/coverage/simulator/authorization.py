"""Simulated payer answers to prior authorization requests: X12 278 (005010X217) and Da Vinci
PAS bundles, by the same rules, from the request alone.

Rules, per service line (in this order):

1. **Excluded**: a code in ``EXCLUDED`` (the simulated plan does not cover a sleep study,
   95811, nor a home hospital bed, E0260) is not certified: action A3, reason ``AA``.
2. **Imaging without records**: an imaging code (70000-79999) on a request that carries no
   supporting document (278 PWK segment, PAS ``supportingInfo``) is pended: action A4,
   reason ``0U`` (additional information needed). Attach the records and resubmit.
3. **Too many units**: more than ``UNIT_LIMIT`` (12) units are certified in part: action A2,
   12 units approved.
4. Otherwise certified in total: action A1, the units asked for.

The whole request is pended when any line is, not certified when every line is, certified
in total when every line is, and certified in part otherwise. The authorization number is
``SIM`` and the first 8 hex digits of the SHA-256 of the request's trace number, so the
same request always gets the same number; the approved dates are the requested dates.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from carebridge.authorizations import pas
from carebridge.coverage.clearinghouse import ClearinghouseError
from carebridge.coverage.x12.authorization import LineAnswer, build_278_response
from carebridge.coverage.x12.codec import X12Error, parse

EXCLUDED = frozenset({"95811", "E0260"})
UNIT_LIMIT = 12
IMAGING = ("70000", "79999")


def auth_number(trace: str) -> str:
    return "SIM" + hashlib.sha256(trace.encode()).hexdigest()[:8].upper()


def decide(code: str, units: int, has_documents: bool) -> tuple[str, int, str]:
    """One line's (action, units approved, reason)."""
    if code in EXCLUDED:
        return "A3", 0, "AA"
    if code.isdigit() and IMAGING[0] <= code <= IMAGING[1] and not has_documents:
        return "A4", 0, "0U"
    if units > UNIT_LIMIT:
        return "A2", UNIT_LIMIT, ""
    return "A1", units, ""


def overall(actions: list[str]) -> str:
    found = set(actions)
    if "A4" in found:
        return "A4"
    if found == {"A1"}:
        return "A1"
    if found == {"A3"}:
        return "A3"
    return "A2"


def _reason(action: str, lines: list[tuple[str, int, str]]) -> str:
    if action in ("A3", "A4"):
        return next((why for act, _, why in lines if act == action and why), "")
    return ""


def answer_278(x12: str) -> str:
    try:
        interchange = parse(x12)
    except X12Error as exc:
        raise ClearinghouseError(
            f"the simulator cannot read the 278: {exc}", transient=False
        ) from None
    body = interchange.groups[0].transactions[0].body
    trace = body[0].element(3) if body and body[0].id == "BHT" else ""
    if not trace:
        raise ClearinghouseError("the 278 has no BHT03 reference number", transient=False)
    has_documents = any(s.id == "PWK" for s in body)
    lines = [
        decide(s.component(1, 2), int(s.element(4) or "0"), has_documents)
        for s in body
        if s.id == "SV1"
    ]
    if not lines:
        raise ClearinghouseError("the 278 requests no service (SV1)", transient=False)
    action = overall([a for a, _, _ in lines])
    dates = next((s.element(3) for s in body if s.id == "DTP" and s.element(1) == "AAH"), "")
    first, _, last = dates.partition("-")
    start = datetime.strptime(first, "%Y%m%d").replace(tzinfo=UTC).date()
    end = datetime.strptime(last or first, "%Y%m%d").replace(tzinfo=UTC).date()
    number = auth_number(trace) if action in ("A1", "A2") else ""
    control = int(interchange.control_number) % 999_999_999 + 1
    return build_278_response(
        x12,
        action=action,
        auth_number=number,
        reason=_reason(action, lines),
        lines=[LineAnswer("", a, units, why) for a, units, why in lines],
        start=start,
        end=end,
        control_number=control,
        now=datetime.now(UTC),
    )


def answer_pas(bundle_json: str) -> str:
    try:
        bundle = json.loads(bundle_json)
        claim = pas.claim_of(bundle)
    except (json.JSONDecodeError, pas.PasError) as exc:
        raise ClearinghouseError(
            f"the simulator cannot read the PAS bundle: {exc}", transient=False
        ) from None
    trace = str((claim.get("identifier") or [{}])[0].get("value", ""))
    has_documents = bool(claim.get("supportingInfo"))
    lines = []
    for item in claim.get("item") or []:
        coding = ((item.get("productOrService") or {}).get("coding") or [{}])[0]
        units = int((item.get("quantity") or {}).get("value", 0))
        lines.append(decide(str(coding.get("code", "")), units, has_documents))
    if not lines:
        raise ClearinghouseError("the PAS claim requests no item", transient=False)
    action = overall([a for a, _, _ in lines])
    answer = pas.build_claim_response(
        bundle,
        action=action,
        auth_number=auth_number(trace) if action in ("A1", "A2") else "",
        reason=_reason(action, lines),
        item_answers=lines,
        now=datetime.now(UTC),
    )
    return json.dumps(answer)
