"""Acknowledgments (original mode): MSH, MSA and, for an error, ERR.

MSA-1 is AA (applied), AE (a well-formed message we could not apply) or AR (rejected: not
HL7, unsupported type, event or version); MSA-2 echoes the sender's control id. ERR carries
where (ERR-2, e.g. ``PID^1^3``), the HL7 table 0357 code (ERR-3), the severity (ERR-4, E) and
a plain-language message (ERR-8). MSA-3 repeats the message for v2.3-era receivers.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from carebridge.lib.time import utcnow
from carebridge.transitions.hl7 import CODE_TEXT, Header

SEPARATORS = "|^~\\&"
_LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:-(\d+))?(?:\.(\d+))?$")


def escape(text: str) -> str:
    """Escape our standard separators in free text (HL7 escape sequences)."""
    out = text.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("~", "R"), ("&", "T")):
        out = out.replace(char, f"\\{code}\\")
    return out.replace("\r", " ").replace("\n", " ")


def error_location(location: str | None) -> str:
    """``PID-3.1`` as an ERL: ``PID^1^3^^1``; anything else is left out."""
    if not location:
        return ""
    match = _LOCATION.match(location)
    if match is None:
        return ""
    segment, number, component = match.groups()
    parts = [segment, "1", number or "", "", component or ""]
    return "^".join(parts).rstrip("^")


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S+0000")


def build(
    code: str,
    *,
    application: str,
    facility: str,
    head: Header | None,
    error: str | None = None,
    location: str | None = None,
    error_code: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The full ACK, segments joined by carriage returns. Without a readable header (garbage
    in) MSH-5/6 and MSA-2 are left empty."""
    now = now or utcnow()
    version = head.version if head is not None and head.version else "2.5.1"
    event = head.event if head is not None else ""
    msh = [
        "MSH",
        SEPARATORS[1:],
        escape(application),
        escape(facility),
        escape(head.sending_application) if head else "",
        escape(head.sending_facility) if head else "",
        _stamp(now),
        "",
        f"ACK^{event}^ACK" if event else "ACK",
        uuid.uuid4().hex[:20].upper(),
        (head.processing_id if head is not None and head.processing_id else "P"),
        version,
    ]
    control = escape(head.control_id) if head is not None else ""
    msa = ["MSA", code, control]
    segments = ["|".join(msh)]
    if error:
        msa.append(escape(error[:80]))
    segments.append("|".join(msa))
    if error:
        number = error_code or "207"
        err = [
            "ERR",
            "",
            error_location(location),
            f"{number}^{escape(CODE_TEXT.get(number, 'Error'))}^HL70357",
            "E",
            "",
            "",
            "",
            escape(error),
        ]
        segments.append("|".join(err))
    return "\r".join(segments)
