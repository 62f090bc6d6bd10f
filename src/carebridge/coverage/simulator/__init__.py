"""The built-in payer simulator: answers eligibility inquiries (270 -> 271), prior
authorization requests (278 -> 278 response, or a Da Vinci PAS bundle -> ClaimResponse
bundle) and claims (837P -> 999 acknowledgement) deterministically, from the request alone,
so the demo and the tests see the same answers every time.

``answer`` is what the simulator connector calls in process; ``server`` serves the same
answers over HTTP for the http connector (``carebridge clearinghouse simulate``).
Each transaction's rules live in its own module, documented there.
"""

from __future__ import annotations

from collections.abc import Callable

from carebridge.coverage.clearinghouse import FHIR_JSON, X12, ClearinghouseError
from carebridge.coverage.x12.codec import X12Error, parse


def _answerer(kind: str) -> Callable[[str], str] | None:
    # Imported on use: each module pulls in its own builders and readers.
    if kind == "270":
        from carebridge.coverage.simulator import eligibility

        return eligibility.answer
    if kind in {"278", "fhir-pas"}:
        from carebridge.coverage.simulator import authorization

        return authorization.answer_278 if kind == "278" else authorization.answer_pas
    if kind == "837":
        from carebridge.coverage.simulator import claims

        return claims.answer
    return None


def answer(payload: str, content_type: str) -> str:
    """The simulated payer's reply; ClearinghouseError (not transient) for what it cannot take."""
    if content_type == FHIR_JSON:
        kind = "fhir-pas"
    elif content_type == X12:
        try:
            groups = parse(payload).groups
        except X12Error as exc:
            raise ClearinghouseError(
                f"the simulator cannot read the X12: {exc}", transient=False
            ) from None
        codes = {t.code for g in groups for t in g.transactions}
        if len(codes) != 1:
            raise ClearinghouseError(
                "the simulator answers one kind of transaction per interchange", transient=False
            )
        kind = codes.pop()
    else:
        raise ClearinghouseError(f"the simulator does not take {content_type}", transient=False)
    answerer = _answerer(kind)
    if answerer is None:
        raise ClearinghouseError(f"the simulator does not answer {kind}", transient=False)
    return answerer(payload)
