"""The simulated clearinghouse's answer to a professional claim (837P): a 999 acknowledgement.

The answer depends on the request alone. Each 837 transaction set is accepted (IK5 A) unless
one of these rules rejects it (IK5 R, with the segment and element at fault):

* the claim total (CLM02) is not the sum of its service lines' charges (SV102):
  IK3 CLM, IK4 CLM02 code 8 ... reported as "segment has data element errors";
* the subscriber's member id (2010BA NM109) begins with ``ERR``: IK3 NM1 in loop 2010BA,
  IK4 NM109 code 7 "invalid code value" (the demo's way of showing a rejection that a
  corrected member id fixes);
* a service date (DTP*472) is after the day the interchange was made (GS04): IK3 DTP in
  loop 2400, IK4 DTP03 code 8 "invalid date".

The 999 comes back from the receiver to the sender (ISA06/ISA08 swapped) with the request's
own interchange control number, so the same claim always gets the same acknowledgement.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from carebridge.coverage.x12.claim import ACK_VERSION, VERSION
from carebridge.coverage.x12.codec import Segment, TransactionSet, build_interchange, parse, write

REJECTED_MEMBER_PREFIX = "ERR"


def _amount(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(-1)


def _errors(transaction: TransactionSet, made_on: str) -> list[Segment]:
    """IK3/IK4 pairs for what the rules above find wrong in one transaction set."""
    found: list[Segment] = []
    total_at: tuple[int, str] | None = None
    charges = Decimal(0)
    loop = ""
    for position, segment in enumerate(transaction.segments, start=1):
        if segment.id == "NM1" and segment.element(1) == "IL":
            loop = "2010BA"
            if segment.element(9).upper().startswith(REJECTED_MEMBER_PREFIX):
                found += [
                    Segment("IK3", ("NM1", str(position), loop, "8")),
                    Segment("IK4", ("9", "67", "7", segment.element(9))),
                ]
        elif segment.id == "CLM":
            loop = "2300"
            total_at = (position, segment.element(2))
        elif segment.id == "LX":
            loop = "2400"
        elif segment.id == "SV1":
            charges += _amount(segment.element(2))
        elif segment.id == "DTP" and segment.element(1) == "472" and segment.element(3) > made_on:
            found += [
                Segment("IK3", ("DTP", str(position), loop, "8")),
                Segment("IK4", ("3", "1251", "8", segment.element(3))),
            ]
    if total_at is None:
        found.append(Segment("IK3", ("CLM", str(len(transaction.segments)), "2300", "3")))
    elif _amount(total_at[1]) != charges:
        found += [
            Segment("IK3", ("CLM", str(total_at[0]), "2300", "8")),
            Segment("IK4", ("2", "782", "8", total_at[1])),
        ]
    return found


def answer(x12_837: str) -> str:
    """The 999 for every 837 transaction set of the interchange."""
    interchange = parse(x12_837)
    isa = interchange.header
    body: list[Segment] = []
    accepted = 0
    count = 0
    for group in interchange.groups:
        body.append(Segment("AK1", (group.header.element(1), group.control_number, VERSION)))
        for transaction in group.transactions:
            count += 1
            errors = _errors(transaction, group.header.element(4))
            body.append(Segment("AK2", ("837", transaction.control_number, VERSION)))
            body += errors
            body.append(Segment("IK5", ("R", "5") if errors else ("A",)))
            accepted += not errors
    status = "A" if accepted == count else ("P" if accepted else "R")
    body.append(Segment("AK9", (status, str(count), str(count), str(accepted))))
    made = datetime.strptime(isa.element(9) + isa.element(10), "%y%m%d%H%M")  # noqa: DTZ007
    reply = build_interchange(
        [("999", body)],
        sender_id=isa.element(8).strip(),
        receiver_id=isa.element(6).strip(),
        control_number=int(interchange.control_number),
        functional_code="FA",
        version=ACK_VERSION,
        created=made,
    )
    return write(reply)
